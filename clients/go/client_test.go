package jobcenter_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
	"github.com/jobcenter/jobcenter/contracts"
)

// The end-to-end tests (e2e/client_test.go) drive every call against a real center;
// these pin what a real center does not easily show: retries, odd answers, headers.

func TestAWriteIsRetriedOn503WithOneIdempotencyKey(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		if r.Header.Get("X-Project-Id") != "p" || r.Header.Get("Authorization") != "Bearer k" || r.Header.Get("X-User-Id") != "u" {
			t.Errorf("headers: %v", r.Header)
		}
		if len(keys) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":"unavailable","message":"the broker is away"}}`))
			return
		}
		w.Header().Set("X-Fire-Id", "f1")
		_, _ = w.Write([]byte(`{"id":"a","jobId":"b","next_run_time":"2025-06-15 21:30:02"}`))
	}))
	defer srv.Close()
	c, err := jobcenter.New(jobcenter.WithBaseURL(srv.URL), jobcenter.WithProject("p"), jobcenter.WithUser("u"),
		jobcenter.WithAPIKey("k"), jobcenter.WithRetries(3, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.ExecJob(context.Background(), "a")
	if err != nil || j.FireID != "f1" || !j.Started() {
		t.Fatalf("exec: %+v %v", j, err)
	}
	if len(keys) != 3 || keys[0] == "" || keys[0] != keys[1] || keys[1] != keys[2] {
		t.Fatalf("keys sent: %q, want one key three times", keys)
	}
}

func TestErrorsOfEitherFacadeBecomeAnAPIError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		status     int
		want       jobcenter.APIError
		is         error
	}{
		{"job-center", `{"error":{"code":"invalid","message":"seconds: must be greater than 0","field":"seconds"}}`, 400,
			jobcenter.APIError{Status: 400, Code: "invalid", Message: "seconds: must be greater than 0", Field: "seconds"}, jobcenter.ErrInvalid},
		{"quartz", `{"resp_code":"not_found","resp_msg":"jobinfoid: no schedule x"}`, 404,
			jobcenter.APIError{Status: 404, Code: "not_found", Message: "jobinfoid: no schedule x"}, jobcenter.ErrNotFound},
		{"a proxy's page", `<html>bad gateway</html>`, 502,
			jobcenter.APIError{Status: 502, Message: "Bad Gateway: <html>bad gateway</html>"}, nil},
		{"a bare 404", ``, 404, jobcenter.APIError{Status: 404, Message: "Not Found"}, jobcenter.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "r1")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, _ := jobcenter.New(jobcenter.WithBaseURL(srv.URL), jobcenter.WithProject("p"))
			_, err := c.GetJob(context.Background(), "x")
			var ae *jobcenter.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("%v is not an *APIError", err)
			}
			tc.want.RequestID = "r1"
			if *ae != tc.want {
				t.Fatalf("got %+v, want %+v", *ae, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("errors.Is(%v, %v) is false", err, tc.is)
			}
			if errors.Is(err, jobcenter.ErrConflict) {
				t.Fatal("matches a sentinel of another code")
			}
		})
	}
}

func TestA429IsRetriedAfterTheTimeTheServerAsks(t *testing.T) {
	t.Parallel()
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n++; n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	c, _ := jobcenter.New(jobcenter.WithBaseURL(srv.URL), jobcenter.WithProject("p"), jobcenter.WithRetries(1, time.Millisecond))
	began := time.Now()
	if _, err := c.ListJobs(context.Background(), jobcenter.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < time.Second {
		t.Fatalf("retried after %v, before the second Retry-After asked", took)
	}
}

func TestSettingsAreChecked(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "localhost:8001", "ftp://x", "http://"} {
		if _, err := jobcenter.New(jobcenter.WithBaseURL(u)); err == nil {
			t.Fatalf("base URL %q accepted", u)
		}
	}
	c, _ := jobcenter.New()
	if _, err := c.GetJob(context.Background(), "x"); err == nil || c.BaseURL() != jobcenter.DefaultBaseURL {
		t.Fatalf("no project: %v", err)
	}
}

func TestEventsAreParsedFromTheTenantsSubjects(t *testing.T) {
	t.Parallel()
	streams := jobcenter.TenantStreams("a.>", "")
	if len(streams) != 3 || streams[0].Subject != contracts.TenantEvents("a.>") || streams[1].Stream != contracts.StreamRuns {
		t.Fatalf("streams: %+v", streams)
	}
	e, err := jobcenter.ParseEvent(contracts.RunSubject("a.>", "j", "success"), []byte(`{"v":1,"fire_id":"f","status":"success","attempts":2,"detail":"ok"}`))
	if err != nil || e.Kind != jobcenter.KindRun || e.Tenant != "a.>" || e.JobID != "j" || e.Type != "success" || e.Run.FireID != "f" ||
		e.Summary() != "f, attempt 2: ok" {
		t.Fatalf("run event: %+v %v", e, err)
	}
	e, err = jobcenter.ParseEvent(contracts.EventSubject("t", "j", "started"), []byte(`{"v":1,"type":"started","user":"u","job":{"spec":{"name":"n"}}}`))
	if err != nil || e.Kind != jobcenter.KindLifecycle || e.Type != "started" || e.Summary() != "n by u" {
		t.Fatalf("lifecycle event: %+v %v", e, err)
	}
	for _, s := range []string{"jobcenter.cmd.t", "other.fire.t.j", "jobcenter.fire.t"} {
		if _, err := jobcenter.ParseEvent(s, []byte(`{}`)); err == nil {
			t.Fatalf("%s parsed", s)
		}
	}
	if _, err := jobcenter.ParseEvent(contracts.FireSubject("t", "j"), []byte(`{`)); err == nil {
		t.Fatal("a broken payload parsed")
	}
}

func TestAnExecWithParamsSendsThemAndOneWithoutSendsNoBody(t *testing.T) {
	t.Parallel()
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		w.Header().Set("X-Fire-Id", "f1")
		_, _ = w.Write([]byte(`{"id":"a","jobId":"b","next_run_time":null}`))
	}))
	defer srv.Close()
	c, err := jobcenter.New(jobcenter.WithBaseURL(srv.URL), jobcenter.WithProject("p"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.ExecJobWithParams(ctx, "a", map[string]any{"day": "2026-12-01"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecJobWithParams(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 || bodies[0] != `{"params":{"day":"2026-12-01"}}` || bodies[1] != "" {
		t.Fatalf("bodies sent: %q", bodies)
	}
}

func TestAKillPostsToTheRunAndALogLineParses(t *testing.T) {
	t.Parallel()
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.Method + " " + r.URL.EscapedPath()
		_, _ = w.Write([]byte(`{"triggerid":"j@manual-1","status":"killed","killed":{"by":"alice","at":"2026-12-07T08:00:00.000+0000"}}`))
	}))
	defer srv.Close()
	c, err := jobcenter.New(jobcenter.WithBaseURL(srv.URL), jobcenter.WithProject("p"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.KillRun(context.Background(), "j", "j@manual-1")
	if err != nil || k.Status != jobcenter.KillDone || k.Killed.By == nil || *k.Killed.By != "alice" {
		t.Fatalf("kill: %+v %v", k, err)
	}
	if path != "POST /api/v1/jobs/j/runs/j@manual-1/kill" {
		t.Fatalf("sent %s", path)
	}
	e, err := jobcenter.ParseEvent(contracts.LogSubject("p", "j"), []byte(`{"v":1,"fire_id":"f","seq":1,"lines":["INFO a","INFO b"]}`))
	if err != nil || e.Kind != jobcenter.KindLog || e.JobID != "j" || e.Log == nil || len(e.Log.Lines) != 2 || e.Summary() != "f: INFO a | INFO b" {
		t.Fatalf("log event: %+v %v", e, err)
	}
	if got := jobcenter.LogSubjects("p", ""); got != contracts.TenantLogs("p") {
		t.Fatalf("LogSubjects: %s", got)
	}
}

// An HTTP job's call is sent under "http" in the API's names, without the fields left
// empty, and a job of another target sends none (e2e/client_test.go runs one on a real
// center).
func TestAnHTTPJobsCallIsSentInTheAPIsNames(t *testing.T) {
	t.Parallel()
	spec := jobcenter.JobSpec{Pid: "f", Name: "ping", Trigger: jobcenter.TriggerInterval, Seconds: 60,
		HTTP: &jobcenter.HTTPCall{Method: "POST", URL: "https://api.example.com/x", Headers: map[string]string{"Authorization": jobcenter.MaskedValue},
			Body: `{"a":1}`, ExpectStatus: []int{200, 204}}}
	b, err := json.Marshal(spec)
	want := `{"pid":"f","name":"ping","description":"","trigger":"interval","http":{"method":"POST","url":"https://api.example.com/x",` +
		`"headers":{"Authorization":"***"},"body":"{\"a\":1}","expect_status":[200,204]},"seconds":60}`
	if err != nil || string(b) != want {
		t.Fatalf("sent %s, want %s (%v)", b, want, err)
	}
	spec.HTTP = &jobcenter.HTTPCall{URL: "https://api.example.com/x"}
	if b, _ := json.Marshal(spec); !strings.Contains(string(b), `"http":{"url":"https://api.example.com/x"}`) {
		t.Fatalf("a bare call sent as %s", b)
	}
	spec.HTTP, spec.Code = nil, "return 1"
	if b, _ := json.Marshal(spec); strings.Contains(string(b), "http") {
		t.Fatalf("a code job sent %s", b)
	}
}

func TestWorkersAreReadAndAJobsWorkerGroupIsSentOnlyWhenSet(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.EscapedPath() {
		case "/api/v1/workers":
			_, _ = w.Write([]byte(`{"groups":[{"group":"g","workers":[{"id":"w1","host":"h","version":"v1","since":"2026-01-02T03:04:05Z",` +
				`"running":1,"capacity":8,"handles":["hello"],"last_heartbeat":"2026-01-02T03:04:07.5Z","leaving":true}]}]}`))
		case "/api/v1/workers/none":
			_, _ = w.Write([]byte(`{"group":"none","workers":[]}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	c, err := jobcenter.New(jobcenter.WithBaseURL(srv.URL), jobcenter.WithProject("p"))
	if err != nil {
		t.Fatal(err)
	}
	gs, err := c.Workers(context.Background())
	if err != nil || len(gs) != 1 || len(gs[0].Workers) != 1 {
		t.Fatalf("workers: %+v %v", gs, err)
	}
	w := gs[0].Workers[0]
	if w.ID != "w1" || w.Running != 1 || w.Capacity != 8 || !w.Leaving || len(w.Handles) != 1 ||
		!w.Since.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || w.LastHeartbeat.Sub(w.Since) != 2500*time.Millisecond {
		t.Fatalf("the worker read: %+v", w)
	}
	g, err := c.WorkerGroup(context.Background(), "none")
	if err != nil || g.Group != "none" || g.Workers == nil || len(g.Workers) != 0 {
		t.Fatalf("an empty group: %+v %v", g, err)
	}

	body := func(s jobcenter.JobSpec) map[string]any {
		t.Helper()
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	s := jobcenter.JobSpec{Name: "x", Trigger: jobcenter.TriggerInterval, Seconds: 60, FlowID: "f"}
	if m := body(s); m["worker_group"] != nil || m["route"] != nil {
		t.Fatalf("a spec without workers sends %v", m)
	}
	group := "g"
	s.WorkerGroup, s.Route = &group, jobcenter.RouteSharding
	if m := body(s); m["worker_group"] != "g" || m["route"] != "sharding" {
		t.Fatalf("a spec with workers sends %v", m)
	}
	none := ""
	s.WorkerGroup, s.Route = &none, ""
	if m, has := body(s)["worker_group"]; !has || m != "" {
		t.Fatalf("a spec removing the group sends %v", body(s))
	}
}
