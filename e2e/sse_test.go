package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// sseEvent is one server-sent event of GET /api/v1/events, its data decoded.
type sseEvent struct {
	Name string
	Data map[string]any
}

// eventStream reads an open GET /api/v1/events in the background.
type eventStream struct {
	mu     sync.Mutex
	events []sseEvent
	done   chan struct{}
}

// openEvents opens the event stream with query and headers (name, value pairs) through
// the contract-checking transport, and reads it until the test ends.
func openEvents(t *testing.T, c *center, query string, headers ...string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/api/v1/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /api/v1/events%s: %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &eventStream{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var name, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "" && name != "":
				var m map[string]any
				if err := json.Unmarshal([]byte(data), &m); err != nil {
					t.Errorf("event %s: data is not JSON: %q", name, data)
				}
				s.mu.Lock()
				s.events = append(s.events, sseEvent{name, m})
				s.mu.Unlock()
				name, data = "", ""
			case strings.HasPrefix(line, "event: "):
				name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				data += line[len("data: "):]
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-s.done })
	return s
}

func (s *eventStream) snapshot() []sseEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sseEvent(nil), s.events...)
}

// has tells whether an event of the name concerns the job, and (when given) has the type
// or status.
func (s *eventStream) has(name, jobID, kind string) bool {
	for _, e := range s.snapshot() {
		if e.Name == name && e.Data["job_id"] == jobID && (kind == "" || e.Data["type"] == kind || e.Data["status"] == kind) {
			return true
		}
	}
	return false
}

func TestSSEStreamsAProjectsOwnEventsOnlyAndRefusesAWrongKey(t *testing.T) {
	// The other project's id holds '.' and '>', which a subject would read as wildcards.
	const p, q = "sse-p", "sse-p.>"
	keyP, lineP := api.MintKey(p)
	keyQ, lineQ := api.MintKey(q)
	c := newCenterWith(t, func(cfg *api.Config) { cfg.Keys = lineP + "\n" + lineQ }, nil)

	// EventSource's way (the query) and a program's way (headers).
	sp := openEvents(t, c, "?project="+url.QueryEscape(p)+"&key="+url.QueryEscape(keyP))
	sq := openEvents(t, c, "", "X-Project-Id", q, "Authorization", "Bearer "+keyQ)

	// Refused: no key, a wrong key, another project's key.
	c.do("GET", "/api/v1/events?project="+url.QueryEscape(p), "", nil).must(t, 401)
	c.do("GET", "/api/v1/events?project="+url.QueryEscape(p)+"&key=jc_wrong", "", nil).must(t, 401)
	c.do("GET", "/api/v1/events", p, nil, "Authorization", "Bearer jc_wrong").must(t, 401)
	if code, _ := c.do("GET", "/api/v1/events?project="+url.QueryEscape(p)+"&key="+url.QueryEscape(keyQ), "", nil).must(t, 403).errField(t); code != "forbidden" {
		t.Fatalf("another project's key: %s", code)
	}

	run := func(project, key string) string {
		auth := []string{"Authorization", "Bearer " + key}
		id := c.do("POST", "/api/v1/jobs", project, intervalBody(), auth...).must(t, 201).obj(t)["id"].(string)
		c.do("POST", "/api/v1/jobs/"+id+"/start", project, nil, auth...).must(t, 200)
		c.do("POST", "/api/v1/jobs/"+id+"/exec", project, nil, auth...).must(t, 200)
		return id
	}
	jp, jq := run(p, keyP), run(q, keyQ)
	for _, w := range []struct {
		s         *eventStream
		job, name string
	}{{sp, jp, p}, {sq, jq, q}} {
		teststack.Eventually(t, 15*time.Second, w.name+"'s stream never showed its job's events", func() bool {
			return w.s.has("lifecycle", w.job, "created") && w.s.has("lifecycle", w.job, "started") &&
				w.s.has("fire", w.job, "") && w.s.has("run", w.job, "success")
		})
	}
	// Let anything misrouted arrive, then check the wall both ways.
	time.Sleep(300 * time.Millisecond)
	for _, w := range []struct {
		s           *eventStream
		tenant, job string
	}{{sp, p, jp}, {sq, q, jq}} {
		for _, e := range w.s.snapshot() {
			if e.Data["tenant"] != w.tenant || e.Data["job_id"] != w.job {
				t.Errorf("%s's stream carried another project's event: %s %v", w.tenant, e.Name, e.Data)
			}
		}
	}

	// Shutting the api down ends the open streams at once: they do not hold up the drain.
	start := time.Now()
	c.stop("api")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the api took %v to stop with two event streams open", took)
	}
	for _, s := range []*eventStream{sp, sq} {
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			t.Fatal("an event stream outlived the api")
		}
	}
}
