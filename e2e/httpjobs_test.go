package e2e_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/shared/egress"
)

// seen is what an HTTP job's receiver was sent.
type seen struct {
	method, path, auth, body, fireID, contentType string
}

// receiver answers by path: /ok 200 "hello", /teapot 418, /big 10 KiB, /slow after 3 s.
func receiver(t *testing.T) (*httptest.Server, func() []seen) {
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), string(body), r.Header.Get("X-Jobcenter-Fire-Id"), r.Header.Get("Content-Type")})
		mu.Unlock()
		switch r.URL.Path {
		case "/ok":
			_, _ = io.WriteString(w, "hello from the receiver")
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.WriteString(w, "short and stout")
		case "/big":
			_, _ = io.WriteString(w, strings.Repeat("é", 5<<10))
		case "/slow":
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return append([]seen(nil), got...)
	}
}

func httpJob(name, url string, call map[string]any) map[string]any {
	call["url"] = url
	return map[string]any{"pid": pid, "name": name, "description": "", "trigger": "interval", "seconds": 300, "http": call}
}

func TestAnHTTPJobCallsItsURLJournalsTheAnswerAndNeverShowsItsSecrets(t *testing.T) {
	c := newCenterWith(t, func(cfg *api.Config) { cfg.HTTPReach = egress.Any }, func(cfg *executor.Config) { cfg.HTTPReach = egress.Any })
	srv, got := receiver(t)
	add := httpJob("report", srv.URL+"/ok", map[string]any{
		"method": "post", "headers": map[string]string{"authorization": "Bearer s3cret", "Content-Type": "application/json"}, "body": `{"day":"today"}`,
	})
	job := c.do("POST", "/api/v1/jobs", "p", add).must(t, 201).obj(t)
	id := job["id"].(string)
	// Every read shows the call with its credentials masked.
	wantShown := func(where string, j map[string]any) {
		t.Helper()
		call, _ := j["http"].(map[string]any)
		h, _ := call["headers"].(map[string]any)
		if call["method"] != "POST" || call["url"] != srv.URL+"/ok" || h["Authorization"] != "***" || h["Content-Type"] != "application/json" || call["body"] != `{"day":"today"}` {
			t.Fatalf("%s shows the call as %s", where, mustJSON(j))
		}
	}
	wantShown("the add's answer", job)
	wantShown("a read", c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200).obj(t))
	var list []map[string]any
	c.do("GET", "/api/v1/jobs?pid="+pid, "p", nil).must(t, 200).json(t, &list)
	wantShown("the list", list[0])
	export := c.do("GET", "/api/v1/export", "p", nil).must(t, 200)
	if strings.Contains(string(export.body), "s3cret") {
		t.Fatalf("the export shows the secret: %s", export.body)
	}

	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	e := c.waitJournal("p", id, 1).Data[0]
	detail, _ := e["exedes"].(string)
	if e["exestatus"] != "success" || !strings.HasPrefix(detail, "POST "+srv.URL+"/ok → 200 OK (") || !strings.Contains(detail, "\nhello from the receiver") || strings.Contains(detail, "s3cret") {
		t.Fatalf("the run's journal entry: %s", mustJSON(e))
	}
	r := got()[0]
	if r.method != "POST" || r.auth != "Bearer s3cret" || r.body != `{"day":"today"}` || r.contentType != "application/json" || r.fireID == "" {
		t.Fatalf("the receiver was sent %+v", r)
	}

	// An update that sends the masked value back keeps the secret; a masked value for a
	// header the job does not have is refused, and changes nothing.
	upd := httpJob("report, renamed", srv.URL+"/ok", map[string]any{"method": "POST", "headers": map[string]string{"Authorization": "***", "Content-Type": "application/json"}, "body": `{"day":"today"}`})
	wantShown("the update's answer", c.do("PUT", "/api/v1/jobs/"+id, "p", upd).must(t, 200).obj(t))
	bad := httpJob("report, renamed again", srv.URL+"/ok", map[string]any{"headers": map[string]string{"X-Token": "***"}})
	if _, field := c.do("PUT", "/api/v1/jobs/"+id, "p", bad).must(t, 400).errField(t); field != "http.headers.X-Token" {
		t.Fatalf("a masked value for a new header: field %q", field)
	}
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	c.waitJournal("p", id, 2)
	if r := got()[1]; r.auth != "Bearer s3cret" {
		t.Fatalf("after the update the receiver was sent %+v", r)
	}
	// The export, imported into this center, keeps the secret too.
	c.do("POST", "/api/v1/import", "p", string(export.body)).must(t, 200)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	c.waitJournal("p", id, 3)
	if r := got()[2]; r.auth != "Bearer s3cret" {
		t.Fatalf("after the import the receiver was sent %+v", r)
	}

	// The answer's status decides: the statuses a job expects, else any 2xx; the journal
	// keeps the start of a long answer; a call past the job's timeout fails as timed out.
	for _, tc := range []struct {
		path   string
		call   map[string]any
		status string
		detail []string
	}{
		{"/teapot", map[string]any{"expect_status": []int{418}}, "success", []string{"GET " + srv.URL + "/teapot → 418 I'm a teapot", "short and stout"}},
		{"/teapot", map[string]any{}, "failure", []string{"HTTP 418, expected 2xx", "short and stout"}},
		{"/big", map[string]any{}, "success", []string{"…(the answer goes on)"}},
		{"/slow", map[string]any{}, "failure", []string{"timeout"}},
	} {
		body := httpJob("status "+tc.path, srv.URL+tc.path, tc.call)
		body["timeout"] = 1
		jid := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)["id"].(string)
		c.do("POST", "/api/v1/jobs/"+jid+"/exec", "p", nil).must(t, 200)
		e := c.waitJournal("p", jid, 1).Data[0]
		detail, _ := e["exedes"].(string)
		for _, want := range tc.detail {
			if e["exestatus"] != tc.status || !strings.Contains(detail, want) {
				t.Fatalf("%s %v: want %s with %q: %s", tc.path, tc.call, tc.status, want, mustJSON(e))
			}
		}
		if len(detail) > 5<<10 {
			t.Fatalf("%s: the journal kept %d bytes of the answer", tc.path, len(detail))
		}
	}
}

func TestHTTPJobsStayWithinTheirReachAndBadCallsAreRefused(t *testing.T) {
	// The api lets the job be written; the executors, in the default reach, refuse to dial.
	c := newCenterWith(t, func(cfg *api.Config) { cfg.HTTPReach = egress.Any }, nil)
	srv, got := receiver(t)
	id := c.do("POST", "/api/v1/jobs", "p", httpJob("inside", srv.URL+"/ok", map[string]any{})).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	e := c.waitJournal("p", id, 1).Data[0]
	if detail, _ := e["exedes"].(string); e["exestatus"] != "failure" || !strings.Contains(detail, "is loopback") || !strings.Contains(detail, "JOBCENTER_HTTP_JOBS_REACH") {
		t.Fatalf("a call to loopback in the default reach: %s", mustJSON(e))
	}
	if n := len(got()); n != 0 {
		t.Fatalf("the receiver on loopback was reached %d times", n)
	}

	// In the default reach the api refuses such a host as it is written.
	d := newCenter(t)
	for _, tc := range []struct {
		call  map[string]any
		url   string
		field string
	}{
		{map[string]any{}, "http://127.0.0.1:9/x", "http.url"},
		{map[string]any{}, "http://localhost/x", "http.url"},
		{map[string]any{}, "http://169.254.169.254/latest/meta-data", "http.url"},
		{map[string]any{}, "https://user:pw@example.com/", "http.url"},
		{map[string]any{}, "ftp://example.com/", "http.url"},
		{map[string]any{"method": "FETCH"}, "https://example.com/", "http.method"},
		{map[string]any{"headers": map[string]string{"Host": "other"}}, "https://example.com/", "http.headers.Host"},
		{map[string]any{"headers": map[string]string{"X-A": "line\nbreak"}}, "https://example.com/", "http.headers.X-A"},
		{map[string]any{"expect_status": []int{99}}, "https://example.com/", "http.expect_status"},
		{map[string]any{"body": strings.Repeat("x", 65<<10)}, "https://example.com/", "http.body"},
	} {
		r := d.do("POST", "/api/v1/jobs", "p", httpJob("bad", tc.url, tc.call)).must(t, 400)
		if _, field := r.errField(t); field != tc.field {
			t.Fatalf("%s %v: field %q, want %q: %s", tc.url, tc.call, field, tc.field, r.body)
		}
	}
	both := httpJob("both", "https://example.com/", map[string]any{})
	both["code"] = "return 1"
	if _, field := d.do("POST", "/api/v1/jobs", "p", both).must(t, 400).errField(t); field != "http" {
		t.Fatalf("code and http: field %q", field)
	}
	if n := d.do("GET", "/api/v1/jobs", "p", nil).must(t, 200).header.Get("X-Total-Count"); n != "0" {
		t.Fatalf("refused writes left %s jobs", n)
	}
}
