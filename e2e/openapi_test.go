package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/jobcenter/jobcenter/contracts"
)

// The HTTP contract, contracts/openapi.json, is checked on every request the tests (and
// the executors' sdk_* calls) send to an api: TestMain puts a validating RoundTripper
// in http.DefaultTransport, which http.DefaultClient and every client without a
// Transport of its own use.
//
//   - A request the document accepts must be answered as the document says: a
//     documented status, its required headers, a body valid against its schema.
//   - A request the document refuses (the bad-input tests send them on purpose) must be
//     answered with a documented 4xx, its body valid against the facade's error schema.
//   - A request no documented operation matches (an unknown route, a wrong method) must
//     be answered with a 4xx error body of the facade.
//   - A 500 is a defect, whatever the document says.
//   - An event stream (text/event-stream, GET /api/v1/events) is checked by its status
//     and headers when it opens; its body never ends, so it is passed on unread.
//
// A failure is reported by the test whose api answered (see watchContract), or else by
// TestMain, which then fails the run.
//
// Other processes (jobctl, the Python SDK and its examples, the browser) do not use this
// process's transport: their tests point them at a contractProxy instead, a reverse proxy
// to the api whose transport is the same validating one; its failures are the test's
// that started it.

// contract is the checker TestMain installs.
var contract *contractChecker

func TestMain(m *testing.M) {
	var err error
	if contract, err = newContractChecker(contracts.OpenAPI); err != nil {
		fmt.Fprintf(os.Stderr, "contracts/openapi.json: %v\n", err)
		os.Exit(2)
	}
	http.DefaultTransport = &contractTransport{base: http.DefaultTransport, check: contract}
	code := m.Run()
	if orphans := contract.orphanFailures(); len(orphans) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d answers broke contracts/openapi.json:\n", len(orphans))
		for _, f := range orphans {
			fmt.Fprintf(os.Stderr, "  %s\n", f)
		}
		code = 1
	}
	if testing.Verbose() {
		if missed := contract.unexercised(); len(missed) > 0 {
			fmt.Fprintf(os.Stderr, "contracts/openapi.json: operations no test exercised: %s\n", strings.Join(missed, ", "))
		}
	}
	os.Exit(code)
}

// watchContract makes t report the contract failures of the api at apiURL (its
// requests are answered by that host), when t ends.
func watchContract(t *testing.T, apiURL string) {
	u, err := url.Parse(apiURL)
	if err != nil {
		t.Fatalf("api url %q: %v", apiURL, err)
	}
	c := contract
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.watchers[u.Host]; w != nil && w.t == t {
		return // the same test's api, restarted on its address
	}
	w := &contractWatch{t: t}
	c.watchers[u.Host] = w
	t.Cleanup(func() {
		c.mu.Lock()
		if c.watchers[u.Host] == w {
			delete(c.watchers, u.Host)
		}
		failures := w.failures
		w.failures = nil
		c.mu.Unlock()
		for _, f := range failures {
			t.Errorf("contracts/openapi.json: %s", f)
		}
	})
}

type contractWatch struct {
	t        *testing.T
	failures []string
}

// contractChecker validates exchanges against the document.
type contractChecker struct {
	doc    *openapi3.T
	router routers.Router
	// errors are the facades' error schemas, for answers no operation describes.
	jobError, quartzError *openapi3.Schema

	mu       sync.Mutex
	watchers map[string]*contractWatch // by the api's host:port
	orphans  []string                  // failures of an api no running test watches
	seen     map[string]bool           // operation ids exercised
}

// loadContract loads and validates an OpenAPI 3.1 document.
func loadContract(data []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("does not load: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("is not valid OpenAPI: %w", err)
	}
	return doc, nil
}

func newContractChecker(data []byte) (*contractChecker, error) {
	doc, err := loadContract(data)
	if err != nil {
		return nil, err
	}
	// The tests' apis listen on random ports: match the paths on any host.
	doc.Servers = nil
	// The console's files are text, checked against their documented string schema.
	for _, ct := range []string{"text/html", "text/javascript", "text/css"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	c := &contractChecker{doc: doc, router: router, watchers: map[string]*contractWatch{}, seen: map[string]bool{}}
	for name, dst := range map[string]**openapi3.Schema{"Error": &c.jobError, "QuartzError": &c.quartzError} {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			return nil, fmt.Errorf("has no components.schemas.%s", name)
		}
		*dst = ref.Value
	}
	return c, nil
}

func (c *contractChecker) fail(host, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.watchers[host]; w != nil {
		w.failures = append(w.failures, msg)
		return
	}
	c.orphans = append(c.orphans, msg)
}

func (c *contractChecker) orphanFailures() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.orphans)
}

// unexercised lists the operations no request reached.
func (c *contractChecker) unexercised() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, item := range c.doc.Paths.Map() {
		for _, op := range item.Operations() {
			if !c.seen[op.OperationID] {
				out = append(out, op.OperationID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// concerns tells whether an answer is an api's: the api sets X-Request-Id on every
// answer; the facades' paths are the api's whoever answers. Other servers the tests
// reach (flow runners, the trigger's and executor's health) are not checked.
func concerns(req *http.Request, resp *http.Response) bool {
	p := req.URL.Path
	return resp.Header.Get("X-Request-Id") != "" || strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/task/quartz/")
}

func schemaOptions() []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{openapi3.EnableJSONSchema2020(), openapi3.SetSchemaErrorMessageCustomizer(schemaMessage)}
}

// schemaMessage words a schema error briefly: where, and what, without the schema.
func schemaMessage(err *openapi3.SchemaError) string {
	reason := err.Reason
	if reason == "" {
		reason = "does not match the schema's " + err.SchemaField
	}
	if p := err.JSONPointer(); len(p) > 0 {
		return "at /" + strings.Join(p, "/") + ": " + reason
	}
	return reason
}

// check validates one exchange; reqBody and respBody are the bodies sent and received.
// Its failures are reported by the watcher of owner, the api's host:port if empty.
func (c *contractChecker) check(owner string, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	if owner == "" {
		owner = req.URL.Host
	}
	status := resp.StatusCode
	where := fmt.Sprintf("%s %s → %d", req.Method, clipText(req.URL.RequestURI(), 200), status)
	failf := func(format string, args ...any) {
		c.fail(owner, where+": "+fmt.Sprintf(format, args...)+"\n    body: "+clipText(string(respBody), 600))
	}
	if status == http.StatusInternalServerError {
		failf("a 500 is a defect of the api")
	}
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		// No documented operation: the api must refuse it with its facade's error.
		if status < 400 || status > 499 {
			failf("no operation in the document matches (%v), yet the api answered %d", err, status)
			return
		}
		schema := c.jobError
		if strings.HasPrefix(req.URL.Path, "/task/quartz/") {
			schema = c.quartzError
		}
		var v any
		if err := json.Unmarshal(respBody, &v); err != nil {
			failf("the error answer of an undocumented route is not JSON: %v", err)
		} else if err := schema.VisitJSON(v, schemaOptions()...); err != nil {
			failf("the error answer of an undocumented route is not the facade's error: %v", err)
		}
		return
	}
	c.mu.Lock()
	c.seen[route.Operation.OperationID] = true
	c.mu.Unlock()

	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		SkipSettingDefaults:   true,
	}
	opts.WithCustomSchemaErrorFunc(schemaMessage)
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	ctx := context.Background()
	if reqErr := openapi3filter.ValidateRequest(ctx, in); reqErr != nil && (status < 400 || status > 499) {
		failf("the document refuses the request (%v), yet the api answered %d\n    request: %s",
			reqErr, status, clipText(string(reqBody), 300))
	}
	if isEventStream(resp) {
		opts.ExcludeResponseBody = true // an endless stream: status and headers are checked
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: resp.Header, Options: opts}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		failf("the answer is not as %s (operation %s) documents it: %v", route.Path, route.Operation.OperationID, err)
	}
}

// contractTransport sends requests with base and checks each exchange with an api.
type contractTransport struct {
	base  http.RoundTripper
	check *contractChecker
	// owner is the host:port whose watcher reports the failures; empty, the api's.
	owner string
}

func (t *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	out := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil || !concerns(req, resp) {
		return resp, err
	}
	if isEventStream(resp) {
		t.check.check(t.owner, req, body, resp, nil)
		return resp, nil
	}
	data, readErr := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = &replayBody{Reader: bytes.NewReader(data), err: readErr}
	if readErr == nil {
		t.check.check(t.owner, req, body, resp, data)
	}
	return resp, nil
}

// contractProxy starts a reverse proxy to the api at apiURL for another process to use
// (jobctl, the Python SDK, the browser), and returns its URL. Every exchange through it
// is checked as the tests' own are, and its failures are t's. Event streams pass through
// unbuffered and unread. The proxy is closed, its connections cut, when t ends.
func contractProxy(t *testing.T, apiURL string) string {
	t.Helper()
	target, err := url.Parse(apiURL)
	if err != nil {
		t.Fatalf("api url %q: %v", apiURL, err)
	}
	base := http.DefaultTransport
	if ct, ok := base.(*contractTransport); ok {
		base = ct.base
	}
	tr := &contractTransport{base: base, check: contract}
	var proxied atomic.Int64
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			proxied.Add(1)
			r.SetURL(target)
		},
		Transport:     tr,
		FlushInterval: -1, // server-sent events go out as they come
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil {
				t.Logf("contract proxy: %s %s: %v", r.Method, r.URL.RequestURI(), err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	srv := httptest.NewUnstartedServer(rp)
	tr.owner = srv.Listener.Addr().String() // before any request can read it
	srv.Start()
	watchContract(t, srv.URL)
	t.Cleanup(func() {
		srv.CloseClientConnections() // an event stream still open would hold Close
		srv.Close()
		t.Logf("contract proxy %s → %s: %d requests", srv.URL, apiURL, proxied.Load())
	})
	return srv.URL
}

// isEventStream tells an answer that is a stream of server-sent events.
func isEventStream(resp *http.Response) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mt == "text/event-stream"
}

// replayBody gives back a body already read, then the error its reading met.
type replayBody struct {
	*bytes.Reader
	err error
}

func (b *replayBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	if err == io.EOF && b.err != nil {
		return n, b.err
	}
	return n, err
}

func (b *replayBody) Close() error { return nil }

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d bytes)", len(s))
}

func TestTheAPIServesItsOpenAPIDocumentAndItIsValidOpenAPI31(t *testing.T) {
	c := newCenter(t)
	r := c.do("GET", "/openapi.json", "", nil).must(t, 200)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	if !bytes.Equal(r.body, contracts.OpenAPI) {
		t.Fatal("GET /openapi.json is not contracts/openapi.json")
	}
	doc, err := loadContract(r.body)
	if err != nil {
		t.Fatalf("the served document %v", err)
	}
	// Every operation has an id, and every answer but the metrics' carries the request id.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
			}
			for status, resp := range op.Responses.Map() {
				if _, ok := resp.Value.Headers["X-Request-Id"]; !ok && path != "/metrics" {
					t.Errorf("%s %s → %s does not declare X-Request-Id", method, path, status)
				}
			}
		}
	}
	// The routes of operations: each answers without a key, through the checking transport.
	c.do("GET", "/healthz", "", nil).must(t, 200)
	c.do("GET", "/readyz", "", nil).must(t, 200)
	if m := c.do("GET", "/metrics", "", nil).must(t, 200); !strings.HasPrefix(m.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: Content-Type %q", m.header.Get("Content-Type"))
	}
}

func TestAnAnswerThatBreaksTheDocumentIsCaught(t *testing.T) {
	c := contract
	exchange := func(method, target, reqBody string, status int, header http.Header, respBody string) []string {
		req, _ := http.NewRequest(method, "http://contract.invalid"+target, strings.NewReader(reqBody))
		req.Header.Set("X-Project-Id", "p")
		if reqBody != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		h := http.Header{"X-Request-Id": {"r"}, "Content-Type": {"application/json"}}
		for k, v := range header {
			h[k] = v
		}
		w := &contractWatch{t: t}
		c.mu.Lock()
		c.watchers[req.URL.Host] = w
		c.mu.Unlock()
		c.check("", req, []byte(reqBody), &http.Response{StatusCode: status, Header: h}, []byte(respBody))
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.watchers, req.URL.Host)
		return w.failures
	}
	valid := `{"error":{"code":"not_found","message":"job not found"}}`
	if f := exchange("GET", "/api/v1/jobs/x", "", 404, nil, valid); len(f) != 0 {
		t.Fatalf("a documented 404 was flagged: %v", f)
	}
	tests := []struct {
		name, method, target, reqBody string
		status                        int
		header                        http.Header
		respBody                      string
	}{
		{"an undocumented field", "GET", "/api/v1/jobs/x", "", 404, nil, `{"error":{"code":"not_found","message":"m","extra":1}}`},
		{"a wrong error code for the status", "GET", "/api/v1/jobs/x", "", 404, nil, `{"error":{"code":"conflict","message":"m"}}`},
		{"an undocumented status", "GET", "/api/v1/jobs/x", "", 418, nil, valid},
		{"a missing required header", "GET", "/api/v1/jobs", "", 200, nil, `[]`},
		{"a 2xx to a request the document refuses", "GET", "/api/v1/jobs?size=0", "", 200, http.Header{"X-Total-Count": {"0"}}, `[]`},
		{"a non-JSON error of an unknown route", "GET", "/api/v2/nothing", "", 404, nil, `not found`},
		{"a Quartz answer in the job-center style", "POST", "/task/quartz/queryjobstatus", `{"codes":"a"}`, 400, nil, `{"error":{"code":"invalid","message":"m"}}`},
		{"a 500", "GET", "/api/v1/jobs/x", "", 500, nil, `{"error":{"code":"internal","message":"internal error"}}`},
	}
	for _, tc := range tests {
		if f := exchange(tc.method, tc.target, tc.reqBody, tc.status, tc.header, tc.respBody); len(f) == 0 {
			t.Errorf("%s was not caught", tc.name)
		} else {
			t.Logf("%s: %s", tc.name, f[0])
		}
	}
}
