package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func testLog(t *testing.T) zerolog.Logger {
	if os.Getenv("E2E_LOG") != "" {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
	}
	return zerolog.Nop()
}

// center is the three services running in the test process over one stack.
type center struct {
	t     *testing.T
	stack *teststack.Stack
	clk   *clock.Fake
	url   string
	stops map[string]func()
	// apiOpts and execOpts are applied at every (re)start of the service.
	apiOpts  []func(*api.Config)
	execOpts []func(*executor.Config)
	trigOpts []func(*trigger.Config)
}

var streams = bus.StreamsConfig{Replicas: 1, Duplicates: 2 * time.Minute}

// newCenter starts api, trigger and executor; the trigger's clock is a fake one starting
// at the real now, so a test moves schedule time by hand.
func newCenter(t *testing.T) *center { t.Helper(); return newCenterWith(t, nil, nil) }

// newCenterWith starts a center whose api and executor configurations are amended.
func newCenterWith(t *testing.T, apiOpt func(*api.Config), execOpt func(*executor.Config)) *center {
	t.Helper()
	return newCenterWithAll(t, apiOpt, execOpt, nil)
}

// newCenterWithAll starts a center whose three services' configurations are amended.
func newCenterWithAll(t *testing.T, apiOpt func(*api.Config), execOpt func(*executor.Config), trigOpt func(*trigger.Config)) *center {
	t.Helper()
	c := &center{t: t, stack: teststack.Start(t), clk: clock.NewFake(time.Now()), stops: map[string]func(){}}
	if trigOpt != nil {
		c.trigOpts = append(c.trigOpts, trigOpt)
	}
	watchMessages(t, c) // every message on NATS is checked against contracts/schemas (schemas_test.go)
	if apiOpt != nil {
		c.apiOpts = append(c.apiOpts, apiOpt)
	}
	if execOpt != nil {
		c.execOpts = append(c.execOpts, execOpt)
	}
	c.startAPI()
	c.startTrigger()
	c.startExecutor()
	c.waitReady()
	return c
}

func (c *center) run(name string, svc interface{ Run(context.Context) error }) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			c.t.Errorf("%s stopped with %v", name, err)
		}
	}
	c.stops[name] = stop
	c.t.Cleanup(func() {
		if s, ok := c.stops[name]; ok {
			delete(c.stops, name)
			s()
		}
	})
}

// stop stops one service, as a crash-free shutdown would.
func (c *center) stop(name string) {
	c.t.Helper()
	s, ok := c.stops[name]
	if !ok {
		c.t.Fatalf("%s is not running", name)
	}
	delete(c.stops, name)
	s()
}

func (c *center) startAPI() {
	c.t.Helper()
	ctx := context.Background()
	cfg := api.Config{
		HTTPAddr: "127.0.0.1:0", NATSURL: c.stack.NATSURL, MongoURI: c.stack.MongoURI, MongoDB: c.stack.DB,
		Streams: streams, Loc: shanghai, ApplyWait: 2 * time.Second, BrokerTimeout: time.Second,
		StoreTimeout: 3 * time.Second, BodyLimit: 1 << 20, Log: testLog(c.t).With().Str("service", "api").Logger(),
		Clock: c.clk, CacheJobs: 100_000,
	}
	if c.url != "" {
		cfg.HTTPAddr = c.url[len("http://"):]
	}
	for _, o := range c.apiOpts {
		o(&cfg)
	}
	svc, err := api.New(ctx, cfg)
	if err != nil {
		c.t.Fatalf("api: %v", err)
	}
	c.url = "http://" + svc.Addr()
	watchContract(c.t, c.url) // every exchange with the api is checked against contracts/openapi.json (openapi_test.go)
	c.run("api", svc)
}

func (c *center) startTrigger(opts ...func(*trigger.Config)) {
	c.t.Helper()
	cfg := trigger.Config{
		NATSURL: c.stack.NATSURL, MongoURI: c.stack.MongoURI, MongoDB: c.stack.DB, Streams: streams,
		ExecTimeout: 5 * time.Second, MaxCatchUp: 100, FlushInterval: 50 * time.Millisecond,
		StoreTimeout: 3 * time.Second, Clock: c.clk, Log: testLog(c.t).With().Str("service", "trigger").Logger(),
	}
	for _, o := range append(c.trigOpts, opts...) {
		o(&cfg)
	}
	svc, err := trigger.New(context.Background(), cfg)
	if err != nil {
		c.t.Fatalf("trigger: %v", err)
	}
	c.run("trigger", svc)
	select {
	case <-svc.Ready():
	case <-time.After(30 * time.Second):
		c.t.Fatal("trigger not ready")
	}
}

func (c *center) startExecutor(opts ...func(*executor.Config)) {
	c.t.Helper()
	cfg := executor.Config{
		NATSURL: c.stack.NATSURL, Streams: streams, APIURL: c.url, Timeout: 5 * time.Second, Concurrency: 4,
		Log: testLog(c.t).With().Str("service", "executor").Logger(),
	}
	for _, o := range append(c.execOpts, opts...) {
		o(&cfg)
	}
	svc, err := executor.New(cfg)
	if err != nil {
		c.t.Fatalf("executor: %v", err)
	}
	c.run("executor", svc)
}

func (c *center) waitReady() {
	c.t.Helper()
	teststack.Eventually(c.t, 20*time.Second, "GET /readyz never answered 200", func() bool {
		resp, err := http.Get(c.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %s", r.status, err, r.body)
	}
}

// obj decodes the answer as an object.
func (r reply) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.json(t, &m)
	return m
}

// errField returns the error body's field and code.
func (r reply) errField(t *testing.T) (code, field string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message, Field string } `json:"error"`
	}
	r.json(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("answer %d is not an error body: %s", r.status, r.body)
	}
	return e.Error.Code, e.Error.Field
}

// do sends a request as project (none when ""), with body as JSON unless it is a string
// (sent as is) or nil.
func (c *center) do(method, path, project string, body any, headers ...string) reply {
	c.t.Helper()
	r, err := c.request(method, path, project, body, headers...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// request is do for goroutines: it returns a failure instead of ending the test.
func (c *center) request(method, path, project string, body any, headers ...string) (reply, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if project != "" {
		req.Header.Set("X-Project-Id", project)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: data}, err
}

// must fails unless the answer has the status.
func (r reply) must(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// journal reads a job's journal page.
func (c *center) journal(project, id string, page, size int) journalPage {
	c.t.Helper()
	var p journalPage
	c.do("GET", "/api/v1/jobs/"+id+"/journal?page="+itoa(page)+"&size="+itoa(size), project, nil).must(c.t, 200).json(c.t, &p)
	return p
}

type journalPage struct {
	PageSize    int              `json:"pageSize"`
	PageIndex   int              `json:"pageIndex"`
	ResultCount int              `json:"resultCount"`
	PageCount   int              `json:"pageCount"`
	Data        []map[string]any `json:"data"`
}

// waitJournal waits until the job's newest page shows n entries all finished: success,
// failure, or one of the extra final statuses given.
func (c *center) waitJournal(project, id string, n int, final ...string) journalPage {
	c.t.Helper()
	final = append(final, "success", "failure")
	var p journalPage
	teststack.Eventually(c.t, 15*time.Second, "journal never showed the runs", func() bool {
		p = c.journal(project, id, 1, 100)
		if p.ResultCount != n || len(p.Data) != n {
			return false
		}
		for _, e := range p.Data {
			if !slices.Contains(final, e["exestatus"].(string)) {
				return false
			}
		}
		return true
	})
	return p
}

func itoa(n int) string { return strconv.Itoa(n) }
