package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTheCheckPassesOnlyOn2xx(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable","reason":"starting"}`))
		}
	}))
	defer srv.Close()
	if err := run(context.Background(), []string{srv.URL + "/healthz"}, srv.Client()); err != nil {
		t.Fatalf("200: %v", err)
	}
	err := run(context.Background(), []string{srv.URL + "/readyz"}, srv.Client())
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "starting") {
		t.Fatalf("503: %v", err)
	}
	if err := run(context.Background(), []string{"http://127.0.0.1:1/healthz"}, srv.Client()); err == nil {
		t.Fatal("no server: passed")
	}
	if err := run(context.Background(), nil, srv.Client()); err == nil {
		t.Fatal("no URL: passed")
	}
}
