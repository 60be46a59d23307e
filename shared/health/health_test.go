package health_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/shared/health"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestTheHealthServerAnswersHealthReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	var broken atomic.Pointer[error]
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "jobcenter_up 1\n") })
	addr := freeAddr(t)
	srv, err := health.Serve(addr, started, func(context.Context) error {
		if e := broken.Load(); e != nil {
			return *e
		}
		return nil
	}, metrics, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := "http://" + addr
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "starting") {
		t.Fatalf("/readyz before the start: %d %s", code, body)
	}
	close(started)
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz: %d", code)
	}
	e := errors.New("nats: not connected")
	broken.Store(&e)
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "nats") {
		t.Fatalf("/readyz with the broker away: %d %s", code, body)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || body != "jobcenter_up 1\n" {
		t.Fatalf("/metrics: %d %q", code, body)
	}
}

func TestWithoutAMetricsHandlerThereIsNoMetricsRoute(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	srv, err := health.Serve(addr, make(chan struct{}), func(context.Context) error { return nil }, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if code, _ := get(t, "http://"+addr+"/metrics"); code != 404 {
		t.Fatalf("/metrics: %d, want 404", code)
	}
}
