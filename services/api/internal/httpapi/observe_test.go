package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

type recorded struct {
	method, route string
	status        int
}

type recorder struct {
	mu   sync.Mutex
	seen []recorded
}

func (r *recorder) Request(method, route string, status int, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, recorded{method, route, status})
}

// TestRequestsAreCountedByRoutePatternAndLoggedWithTheirIDs sends requests that need
// no store: each is counted under its route pattern (never the raw path), and its log
// lines carry the request id, the tenant and the job.
func TestRequestsAreCountedByRoutePatternAndLoggedWithTheirIDs(t *testing.T) {
	var logs bytes.Buffer
	rec := &recorder{}
	h := New(Deps{Log: zerolog.New(&logs).Level(zerolog.DebugLevel), Metrics: rec,
		MetricsHandler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("m 1\n")) })})
	h.Logger.SetOutput(&bytes.Buffer{}) // Recover's stack trace
	send := func(method, path, tenant string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		if tenant != "" {
			req.Header.Set("X-Project-Id", tenant)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	send("GET", "/api/v1/jobs/job-1", "")               // no tenant header: 400
	send("GET", "/api/v1/jobs/job-2", "p1")             // no store here: the handler panics, a 500
	send("GET", "/no/such/job-3", "p1")                 // no route: 404
	send("BREW", "/api/v1/cron/next?expr=nonsense", "") // 405
	if w := send("GET", "/metrics", ""); w.Code != 200 || w.Body.String() != "m 1\n" {
		t.Fatalf("/metrics: %d %q", w.Code, w.Body)
	}
	want := []recorded{
		{"GET", "/api/v1/jobs/:id", 400},
		{"GET", "/api/v1/jobs/:id", 500},
		{"GET", "", 404},
		{"BREW", "/api/v1/cron/next", 405}, // the path is a route, the method is not
		{"GET", "/metrics", 200},
	}
	if len(rec.seen) != len(want) {
		t.Fatalf("recorded %v, want %v", rec.seen, want)
	}
	for i := range want {
		if rec.seen[i] != want[i] {
			t.Errorf("request %d recorded as %+v, want %+v", i, rec.seen[i], want[i])
		}
	}

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		lines = append(lines, m)
	}
	var failed, access map[string]any
	for _, l := range lines {
		switch {
		case l["message"] == "request failed":
			failed = l
		case l["message"] == "http" && l["job_id"] == "job-2":
			access = l
		}
	}
	for name, l := range map[string]map[string]any{"error line": failed, "access line": access} {
		if l == nil {
			t.Fatalf("no %s in %s", name, logs.String())
		}
		if id, _ := l["request_id"].(string); id == "" || l["tenant"] != "p1" || l["job_id"] != "job-2" || l["route"] != "/api/v1/jobs/:id" {
			t.Errorf("%s lacks its request's ids: %v", name, l)
		}
	}
	if access != nil && access["status"] != float64(500) {
		t.Errorf("access line of the panicked request: %v", access)
	}
}
