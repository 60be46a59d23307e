// Package logging builds the one zerolog logger a process uses: JSON lines, or
// human-readable console lines when the output is a terminal.
package logging

import (
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// New returns a logger writing to w at level ("debug", "info", "warn", "error"), its
// lines marked with the service's name unless it is empty.
func New(w io.Writer, level, service string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Nop(), err
	}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	ctx := zerolog.New(w).Level(lvl).With().Timestamp()
	if service != "" {
		ctx = ctx.Str("service", service)
	}
	return ctx.Logger(), nil
}
