package embedded

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// The lazy handler writes what the handler it wraps would, attributes and groups in order.
func TestALazyHandlerWritesWhatItsHandlerWould(t *testing.T) {
	var direct, deferred bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	for _, l := range []*slog.Logger{
		slog.New(slog.NewTextHandler(&direct, opts)),
		slog.New(lazy(slog.NewTextHandler(&deferred, opts))),
	} {
		c := l.With("conn", 7).WithGroup("cmd").With("name", "update")
		c.Info("below the level")
		c.Error("failed", "err", "boom")
		l.Warn("plain")
	}
	if direct.String() != deferred.String() || !strings.Contains(direct.String(), "cmd.name=update") {
		t.Fatalf("direct:\n%s\nlazy:\n%s", direct.String(), deferred.String())
	}
}
