// Package health serves /healthz (the process is alive), /readyz (it is started and its
// broker and store answer) and /metrics (Prometheus) for services that have no HTTP face
// of their own.
package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// Serve listens on addr in the background until the returned server is closed. metrics,
// when not nil, answers GET /metrics.
func Serve(addr string, started <-chan struct{}, check func(context.Context) error, metrics http.Handler, log zerolog.Logger) (*http.Server, error) {
	mux := http.NewServeMux()
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-started:
		default:
			write(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "starting"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := check(ctx); err != nil {
			write(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
		write(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("JOBCENTER_HEALTH_ADDR=%q: listen: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error().Err(err).Msg("health server failed")
		}
	}()
	log.Info().Str("addr", ln.Addr().String()).Msg("health endpoints serving")
	return srv, nil
}

func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
