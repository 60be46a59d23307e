package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api/internal/access"
	"github.com/jobcenter/jobcenter/services/api/internal/httpapi"
)

// fakeBus stands in for NATS: it records each stream's subscription and delivers what
// a test publishes to every subscription whose subjects match.
type fakeBus struct {
	mu     sync.Mutex
	subs   map[int]fakeSub
	next   int
	closed []int
}

type fakeSub struct {
	subjects []string
	deliver  func(subject string, data []byte)
}

func (b *fakeBus) subscribe(subjects []string, deliver func(string, []byte)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[int]fakeSub{}
	}
	id := b.next
	b.next++
	b.subs[id] = fakeSub{subjects, deliver}
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, id)
		b.closed = append(b.closed, id)
	}, nil
}

// publish delivers data on subject to the matching subscriptions, as NATS would
// (the subjects here are the tenants' "….>" wildcards).
func (b *fakeBus) publish(subject string, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.subs {
		for _, w := range s.subjects {
			if strings.HasPrefix(subject, strings.TrimSuffix(w, ">")) {
				s.deliver(subject, data)
			}
		}
	}
}

func (b *fakeBus) state() (open int, closed int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs), len(b.closed)
}

func (b *fakeBus) subjects() [][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out [][]string
	for _, s := range b.subs {
		out = append(out, s.subjects)
	}
	return out
}

func eventServer(t *testing.T, keys string, stopping chan struct{}) (*httptest.Server, *fakeBus) {
	t.Helper()
	k, err := access.ParseKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	bus := &fakeBus{}
	srv := httptest.NewServer(httpapi.New(httpapi.Deps{
		Log: zerolog.Nop(), Keys: k, Events: bus.subscribe, Stopping: stopping, Heartbeat: 50 * time.Millisecond,
	}))
	t.Cleanup(srv.Close)
	return srv, bus
}

// openStream opens GET /api/v1/events with query and headers (name, value pairs).
func openStream(t *testing.T, ctx context.Context, base, query string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/events"+query, nil)
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
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// sse is one server-sent event as read from a stream.
type sse struct{ name, data string }

// readEvents reads events (comments are returned with the name ":") until stop says so,
// the stream ends or the deadline passes.
func readEvents(t *testing.T, body io.Reader, within time.Duration, stop func([]sse) bool) []sse {
	t.Helper()
	out := make(chan []sse, 1)
	go func() {
		var got []sse
		cur := sse{}
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.name != "" || cur.data != "" {
					got = append(got, cur)
				}
				cur = sse{}
			case strings.HasPrefix(line, ":"):
				got = append(got, sse{name: ":", data: strings.TrimSpace(line[1:])})
			case strings.HasPrefix(line, "event: "):
				cur.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				cur.data += line[len("data: "):]
			}
			if stop(got) {
				break
			}
		}
		out <- got
	}()
	select {
	case got := <-out:
		return got
	case <-time.After(within):
		t.Fatalf("the stream did not give what was expected within %v", within)
		return nil
	}
}

func named(events []sse, name string) []sse {
	var out []sse
	for _, e := range events {
		if e.name == name {
			out = append(out, e)
		}
	}
	return out
}

func TestTheEventStreamCarriesItsProjectsEventsNamedByKindWithHeartbeats(t *testing.T) {
	t.Parallel()
	srv, bus := eventServer(t, "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	resp := openStream(t, ctx, srv.URL, "", "X-Project-Id", "p.1")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") ||
		resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("GET /api/v1/events: %d %v", resp.StatusCode, resp.Header)
	}
	want := []string{contracts.TenantEvents("p.1"), contracts.TenantFires("p.1"), contracts.TenantRuns("p.1"), contracts.TenantLogs("p.1")}
	if got := bus.subjects(); len(got) != 1 || !slices.Equal(got[0], want) {
		t.Fatalf("subscribed to %v, want %v", got, want)
	}
	bus.publish(contracts.EventSubject("p.1", "j", "started"), []byte(`{"v":1,"type":"started","job_id":"j"}`))
	bus.publish(contracts.FireSubject("p.1", "j"), []byte(`{"v":1,"fire_id":"f","job_id":"j"}`))
	bus.publish(contracts.RunSubject("p.1", "j", "success"), []byte("{\"v\":1,\n\"status\":\"success\"}"))
	bus.publish(contracts.RunSubject("p.1", "j", "failure"), []byte(`not json`))
	bus.publish(contracts.LogSubject("p.1", "j"), []byte(`{"v":1,"fire_id":"f","seq":1,"lines":["INFO a"]}`))
	events := readEvents(t, resp.Body, 5*time.Second, func(got []sse) bool {
		return len(named(got, "log")) == 1 && len(named(got, ":")) >= 3 // connected + two pings
	})
	for _, w := range []sse{
		{"lifecycle", `{"v":1,"type":"started","job_id":"j"}`},
		{"fire", `{"v":1,"fire_id":"f","job_id":"j"}`},
		{"run", `{"v":1,"status":"success"}`}, // a payload's lines are data lines, joined again by the client
		{"log", `{"v":1,"fire_id":"f","seq":1,"lines":["INFO a"]}`},
	} {
		if got := named(events, w.name); len(got) != 1 || got[0] != w {
			t.Errorf("%s events: %+v, want %+v", w.name, got, w)
		}
	}
	if pings := named(events, ":"); pings[0].data != "connected" || pings[1].data != "ping" {
		t.Errorf("comments: %+v", pings)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if open, closed := bus.state(); open == 0 && closed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the subscription outlived its client")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTheEventStreamIsGuardedByProjectAndKeyFromHeadersOrQuery(t *testing.T) {
	t.Parallel()
	pKey, pLine := access.Mint("p")
	qKey, qLine := access.Mint("q")
	srv, bus := eventServer(t, pLine+"\n"+qLine, nil)
	tests := []struct {
		name    string
		query   string
		headers []string
		status  int
	}{
		{"no key", "?project=p", nil, 401},
		{"a wrong key", "?project=p&key=jc_wrong", nil, 401},
		{"a wrong key in the header", "", []string{"X-Project-Id", "p", "Authorization", "Bearer jc_wrong"}, 401},
		{"another project's key", "?project=p&key=" + url.QueryEscape(qKey), nil, 403},
		{"another project's key in the header", "?project=p", []string{"Authorization", "Bearer " + qKey}, 403},
		{"no project", "?key=" + url.QueryEscape(pKey), nil, 400},
		{"the project's key in the query", "?project=p&key=" + url.QueryEscape(pKey), nil, 200},
		{"the project's key in the headers", "", []string{"X-Project-Id", "p", "Authorization", "Bearer " + pKey}, 200},
		{"the header's project wins over the query's", "?project=q&key=" + url.QueryEscape(pKey), []string{"X-Project-Id", "p"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp := openStream(t, ctx, srv.URL, tc.query, tc.headers...)
			if resp.StatusCode != tc.status {
				body, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				body, _ := io.ReadAll(resp.Body)
				if !strings.Contains(string(body), `"error"`) {
					t.Fatalf("not an error body: %s", body)
				}
			}
		})
	}
	// Only the admitted streams subscribed, each to project p's subjects.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if open, closed := bus.state(); open == 0 && closed == 3 {
			break
		}
		if time.Now().After(deadline) {
			open, closed := bus.state()
			t.Fatalf("subscriptions: %d open, %d closed; want 0 and 3", open, closed)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestASlowClientIsDroppedWithoutEverBlockingTheBus(t *testing.T) {
	t.Parallel()
	srv, bus := eventServer(t, "", nil)
	resp := openStream(t, context.Background(), srv.URL, "?project=p")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// Far more than the socket buffers and the client's queue hold, unread.
	payload := fmt.Sprintf(`{"v":1,"detail":%q}`, strings.Repeat("x", 4096))
	const n = 20000
	start := time.Now()
	for range n {
		bus.publish(contracts.RunSubject("p", "j", "success"), []byte(payload))
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("delivering %d events took %v: the bus waited for the client", n, took)
	}
	events := readEvents(t, resp.Body, 30*time.Second, func([]sse) bool { return false })
	if o := named(events, "overflow"); len(o) != 1 {
		t.Fatalf("no overflow event at the end of the stream (%d events read)", len(events))
	}
	if runs := len(named(events, "run")); runs >= n {
		t.Fatalf("all %d events arrived; the client should have been dropped", runs)
	}
}

func TestTheEventStreamsEndWhenTheServerStops(t *testing.T) {
	t.Parallel()
	stopping := make(chan struct{})
	srv, _ := eventServer(t, "", stopping)
	resp := openStream(t, context.Background(), srv.URL, "?project=p")
	close(stopping)
	readEvents(t, resp.Body, 5*time.Second, func([]sse) bool { return false }) // returns at the end of the stream
}

func TestTheEventStreamAnswers503WithoutABus(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(httpapi.New(httpapi.Deps{Log: zerolog.Nop()}))
	defer srv.Close()
	resp := openStream(t, context.Background(), srv.URL, "?project=p")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
}

func TestATenantMayHoldOnlyMaxStreamsEventStreams(t *testing.T) {
	t.Parallel()
	bus := &fakeBus{}
	srv := httptest.NewServer(httpapi.New(httpapi.Deps{Log: zerolog.Nop(), Events: bus.subscribe, MaxStreams: 2}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	first := openStream(t, ctx, srv.URL, "?project=p")
	openStream(t, context.Background(), srv.URL, "?project=p")
	if r := openStream(t, context.Background(), srv.URL, "?project=p"); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a third stream of p: %d, want 429 with Retry-After", r.StatusCode)
	}
	if r := openStream(t, context.Background(), srv.URL, "?project=q"); r.StatusCode != http.StatusOK {
		t.Fatalf("another project's stream: %d, want 200", r.StatusCode)
	}
	// One of p's streams ends: p may open another.
	cancel()
	_, _ = io.Copy(io.Discard, first.Body)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := openStream(t, context.Background(), srv.URL, "?project=p")
		if r.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a stream ended, p still gets %d", r.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An HTTP job's call travels in its lifecycle events and fires: the stream shows its
// header values as every read does, masked but for those that never carry a credential.
func TestTheEventStreamMasksTheSecretsOfHTTPCalls(t *testing.T) {
	t.Parallel()
	srv, bus := eventServer(t, "", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := openStream(t, ctx, srv.URL, "", "X-Project-Id", "p")
	call := `{"method":"GET","url":"https://example.com/","headers":{"Authorization":"Bearer s3cret","Content-Type":"text/plain"}}`
	bus.publish(contracts.EventSubject("p", "j", "created"), []byte(`{"v":1,"type":"created","job":{"spec":{"http":`+call+`}}}`))
	bus.publish(contracts.FireSubject("p", "j"), []byte(`{"v":1,"fire_id":"f","target":{"http":`+call+`}}`))
	events := readEvents(t, resp.Body, 5*time.Second, func(got []sse) bool { return len(named(got, "fire")) == 1 })
	for _, name := range []string{"lifecycle", "fire"} {
		got := named(events, name)
		if len(got) != 1 || strings.Contains(got[0].data, "s3cret") || !strings.Contains(got[0].data, `"Authorization":"***"`) ||
			!strings.Contains(got[0].data, `"Content-Type":"text/plain"`) {
			t.Errorf("%s events: %+v", name, got)
		}
	}
}
