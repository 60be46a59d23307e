package jobcenter

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is where `make run` serves the API.
const DefaultBaseURL = "http://127.0.0.1:8001"

// maxAnswer bounds how much of an answer the client reads: far above any page of 1000
// journal entries, so that a broken proxy cannot make it read forever.
const maxAnswer = 64 << 20

// Client calls one Job Center as one project (tenant). It is safe for concurrent use;
// ForProject derives a client for another project sharing the same settings.
type Client struct {
	base    *url.URL
	project string
	user    string
	apiKey  string
	hc      *http.Client
	retries int
	backoff time.Duration
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets the server's address, such as "http://127.0.0.1:8001" (the default).
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("jobcenter: base URL %q must be http:// or https:// with a host", raw)
		}
		c.base = u
		return nil
	}
}

// WithProject sets the tenant: X-Project-Id of the job-center routes, tecode of the
// Quartz routes. Every call but CronNext and Ready needs one.
func WithProject(project string) Option {
	return func(c *Client) error { c.project = project; return nil }
}

// WithUser sets X-User-Id, which becomes a job's createUser / updateUser.
func WithUser(user string) Option {
	return func(c *Client) error { c.user = user; return nil }
}

// WithAPIKey sends key as "Authorization: Bearer <key>" (needed when the server has
// JOBCENTER_API_KEYS). An empty key sends nothing.
func WithAPIKey(key string) Option {
	return func(c *Client) error { c.apiKey = strings.TrimSpace(key); return nil }
}

// WithHTTPClient sets the HTTP client (default: one with a 30 s timeout).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("jobcenter: nil http.Client")
		}
		c.hc = hc
		return nil
	}
}

// WithRetries makes each call try again, up to n more times, when the server cannot
// be reached, answers 503 (the broker or store is away) or 429 (waiting as Retry-After
// says); waits start at backoff and double. Every write then carries an Idempotency-Key
// (a random one unless the call gives its own), the same on each try, so that a write
// the server did store is applied once however often it is sent.
func WithRetries(n int, backoff time.Duration) Option {
	return func(c *Client) error {
		if n < 0 || backoff < 0 {
			return errors.New("jobcenter: retries and backoff must not be negative")
		}
		c.retries, c.backoff = n, backoff
		return nil
	}
}

// New returns a client; without options it calls DefaultBaseURL with no project.
func New(opts ...Option) (*Client, error) {
	c := &Client{hc: &http.Client{Timeout: 30 * time.Second}, backoff: 200 * time.Millisecond}
	if err := WithBaseURL(DefaultBaseURL)(c); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// ForProject returns a client like c acting as another project.
func (c *Client) ForProject(project string) *Client {
	cp := *c
	cp.project = project
	return &cp
}

// Project is the tenant the client acts as.
func (c *Client) Project() string { return c.project }

// BaseURL is the server's address.
func (c *Client) BaseURL() string { return c.base.String() }

// CallOption configures one call.
type CallOption func(*call)

type call struct {
	idempotencyKey string
}

// IdempotencyKey sends the Idempotency-Key header on a write: a write repeated with the
// same key (same route, job and body) is applied once and answered with the first
// outcome — a repeated add returns the same job.
func IdempotencyKey(key string) CallOption {
	return func(c *call) { c.idempotencyKey = key }
}

// facade says which tenant header and error shape a route has.
type facade int

const (
	facadeJobs   facade = iota // X-Project-Id; {"error": {...}}
	facadeQuartz               // tecode; {"resp_code", "resp_msg"}
	facadeOpen                 // no tenant
)

// request is one HTTP exchange.
type request struct {
	facade facade
	method string
	path   string
	query  url.Values
	body   any
	write  bool
	opts   []CallOption
}

// answer is a successful exchange.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends r, retrying as configured, and returns a 2xx answer or an error: an
// *APIError for any other status, the transport's error otherwise.
func (c *Client) do(ctx context.Context, r request) (answer, error) {
	var cl call
	for _, o := range r.opts {
		o(&cl)
	}
	if r.write && cl.idempotencyKey == "" && c.retries > 0 {
		cl.idempotencyKey = randomKey()
	}
	if r.facade != facadeOpen && c.project == "" {
		return answer{}, errors.New("jobcenter: no project: set one with WithProject (jobctl: --project or JOBCENTER_PROJECT)")
	}
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return answer{}, fmt.Errorf("jobcenter: encode request: %w", err)
		}
	}
	wait := c.backoff
	for attempt := 0; ; attempt++ {
		a, err := c.once(ctx, r, body, cl)
		if err == nil {
			return a, nil
		}
		retry, after := retriable(err)
		if !retry || attempt >= c.retries || ctx.Err() != nil {
			return answer{}, err
		}
		if after < wait {
			after = wait
		}
		wait *= 2
		select {
		case <-ctx.Done():
			return answer{}, err
		case <-time.After(after):
		}
	}
}

func (c *Client) once(ctx context.Context, r request, body []byte, cl call) (answer, error) {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + r.path
	u.RawQuery = r.query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), rd)
	if err != nil {
		return answer{}, fmt.Errorf("jobcenter: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch r.facade {
	case facadeJobs:
		req.Header.Set("X-Project-Id", c.project)
	case facadeQuartz:
		req.Header.Set("tecode", c.project)
	}
	if c.user != "" && r.facade != facadeOpen {
		req.Header.Set("X-User-Id", c.user)
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if cl.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", cl.idempotencyKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return answer{}, fmt.Errorf("jobcenter: read the answer to %s %s: %w", r.method, r.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return answer{}, decodeError(resp, data)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// retriable says whether err may pass if the request is sent again, and how long the
// server asked to wait.
func retriable(err error) (bool, time.Duration) {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusTooManyRequests, ae.RetryAfter
	}
	// Not an answer: the server could not be reached or the answer was cut off.
	return true, 0
}

// decode reads a successful answer's JSON into v.
func (a answer) decode(v any) error {
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("jobcenter: the answer (%d) is not the expected JSON: %w", a.status, err)
	}
	return nil
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "jobcenter-go-" + hex.EncodeToString(b)
}

func pageQuery(page, size int) url.Values {
	q := url.Values{}
	if page > 0 {
		q.Set("page", strconv.Itoa(page))
	}
	if size > 0 {
		q.Set("size", strconv.Itoa(size))
	}
	return q
}
