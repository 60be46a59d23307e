package httpapi

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestARequestNetHTTPCannotReadIsAnsweredWithTheJSONErrorBody: net/http answers such a
// request before any handler, in plain text; through JSONRawErrors the answer is JSON.
func TestARequestNetHTTPCannotReadIsAnsweredWithTheJSONErrorBody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "a handler's own plain answer")
	}), MaxHeaderBytes: 4096}
	go func() { _ = srv.Serve(JSONRawErrors(ln)) }()
	t.Cleanup(func() { _ = srv.Close() })
	ask := func(raw string) (*http.Response, string) {
		t.Helper()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	for _, c := range []struct {
		name, raw, code, msg string
		status               int
	}{
		{"a control character in a header", "GET / HTTP/1.1\r\nHost: x\r\nX-User-Id: a\x01b\r\n\r\n", "invalid", "400 Bad Request", 400},
		{"a malformed request line", "GET\r\n\r\n", "invalid", "400 Bad Request", 400},
		{"headers over the limit", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8192) + "\r\n\r\n", "too_large", "431", 431},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := ask(c.raw)
			var e struct{ Error apiError }
			if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/json" ||
				json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != c.code || !strings.Contains(e.Error.Message, c.msg) {
				t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		})
	}
	// A handler's answer goes through untouched, even plain text that closes.
	if resp, body := ask("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 || body != "a handler's own plain answer" {
		t.Fatalf("a handler's answer was changed: %d %q", resp.StatusCode, body)
	}
}
