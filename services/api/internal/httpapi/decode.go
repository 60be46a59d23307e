package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/shared/egress"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/jobcode"
)

// jobBody is the body of sdk_add_job and sdk_update_job.
type jobBody struct {
	Pid         *string         `json:"pid"`
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Trigger     *string         `json:"trigger"`
	Seconds     json.RawMessage `json:"seconds"`
	RunDate     *string         `json:"run_date"`
	// A cron trigger's, beyond the SDK's fields: a Quartz expression and its zone.
	Cron     *string `json:"cron,omitempty"`
	Timezone *string `json:"timezone,omitempty"`
	// An interval or cron job's lifetime, beyond the SDK's fields.
	StartDate *string `json:"start_date,omitempty"`
	EndDate   *string `json:"end_date,omitempty"`
	// Seconds each fire is spread over after its instant, beyond the SDK's fields.
	Jitter json.RawMessage `json:"jitter,omitempty"`
	// An interval counted from the end of its last run, beyond the SDK's fields.
	FixedDelay *bool `json:"fixed_delay,omitempty"`
	// The project's calendars whose excluded times are no fire, beyond the SDK's fields.
	Calendars *[]string `json:"calendars,omitempty"`
	FlowID    *string   `json:"flow_id"`
	Code      *string   `json:"code"`
	// An HTTP job's call, beyond the SDK's fields.
	HTTP *httpBody `json:"http,omitempty"`
	// APScheduler's policy options, beyond the SDK's fields.
	Coalesce     *bool           `json:"coalesce"`
	MisfireGrace json.RawMessage `json:"misfire_grace_time"`
	MaxInstances json.RawMessage `json:"max_instances"`
	Retries      json.RawMessage `json:"retries"`
	RetryBackoff json.RawMessage `json:"retry_backoff"`
	Timeout      json.RawMessage `json:"timeout"`
	// What follows a run: a pause after failures, child jobs.
	PauseAfterFailures json.RawMessage `json:"pause_after_failures"`
	OnSuccess          *[]string       `json:"on_success"`
	OnFailure          *[]string       `json:"on_failure"`
	// What a fire does while the job's run goes on (Temporal's overlap policies).
	Overlap *string `json:"overlap,omitempty"`
	// The tenant's worker group that runs the job, and how a fire picks its worker.
	WorkerGroup *string `json:"worker_group,omitempty"`
	Route       *string `json:"route,omitempty"`
}

// input converts the body to the domain's input, checking seconds is a whole number.
func (b jobBody) input() (job.Input, error) {
	in := job.Input{
		Pid: deref(b.Pid), Name: deref(b.Name), Description: deref(b.Description),
		Trigger: deref(b.Trigger), RunDate: deref(b.RunDate), Cron: deref(b.Cron), Timezone: deref(b.Timezone),
		StartDate: deref(b.StartDate), EndDate: deref(b.EndDate),
		FlowID: deref(b.FlowID), Code: deref(b.Code),
		HTTP:     b.HTTP.input(),
		Coalesce: b.Coalesce, OnSuccess: b.OnSuccess, OnFailure: b.OnFailure, Overlap: b.Overlap, FixedDelay: b.FixedDelay, Calendars: b.Calendars,
		WorkerGroup: b.WorkerGroup, Route: b.Route,
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  **int64
	}{
		{"seconds", b.Seconds, &in.Seconds},
		{"jitter", b.Jitter, &in.Jitter},
		{"misfire_grace_time", b.MisfireGrace, &in.MisfireGrace},
		{"max_instances", b.MaxInstances, &in.MaxInstances},
		{"retries", b.Retries, &in.Retries},
		{"retry_backoff", b.RetryBackoff, &in.RetryBackoff},
		{"timeout", b.Timeout, &in.Timeout},
		{"pause_after_failures", b.PauseAfterFailures, &in.PauseAfterFailures},
	} {
		n, err := wholeNumber(f.name, f.raw)
		if err != nil {
			return job.Input{}, err
		}
		*f.dst = n
	}
	return in, nil
}

// httpBody is an HTTP job's call, in a job's body and as reads show it (headers masked).
type httpBody struct {
	Method       string            `json:"method,omitempty"`
	URL          string            `json:"url"`
	Headers      map[string]string `json:"headers,omitempty"`
	Body         string            `json:"body,omitempty"`
	ExpectStatus []int             `json:"expect_status,omitempty"`
}

func (b *httpBody) input() *job.HTTPInput {
	if b == nil {
		return nil
	}
	return &job.HTTPInput{Method: b.Method, URL: b.URL, Headers: b.Headers, Body: b.Body, ExpectStatus: b.ExpectStatus}
}

// shownHTTP is a call as reads show it: its secrets masked.
func shownHTTP(c *job.HTTPCall) *httpBody {
	if c == nil {
		return nil
	}
	r := c.Redacted()
	return &httpBody{Method: r.Method, URL: r.URL, Headers: r.Headers, Body: r.Body, ExpectStatus: r.ExpectStatus}
}

// checkReach refuses an HTTP job whose URL names a host its calls may not reach
// (JOBCENTER_HTTP_JOBS_REACH; the executors check each address they dial too).
func checkReach(s job.Spec, reach egress.Reach) error {
	if s.Target.HTTP == nil {
		return nil
	}
	u, err := url.Parse(s.Target.HTTP.URL)
	if err != nil {
		return invalidField("http.url", "is not a URL")
	}
	if why := egress.BlockedHost(u.Hostname(), reach.Or()); why != "" {
		return invalidField("http.url", "%s (an operator may widen the reach of HTTP jobs with %s)", why, egress.Setting)
	}
	return nil
}

// checkCode refuses code that does not compile, when the body sets it: code that cannot
// run is refused when it is written, not each time it fires. It is checked here, at the
// edge, after the rest of the body: the trigger does not compile code, so jobs written
// before this check still replay and run.
func (b jobBody) checkCode() error {
	if b.Code == nil || *b.Code == "" {
		return nil
	}
	if err := jobcode.Check(*b.Code); err != nil {
		return invalidField("code", "%v", err)
	}
	return nil
}

// wholeNumber reads an optional JSON integer; absent or null is nil.
func wholeNumber(field string, raw json.RawMessage) (*int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return nil, invalidField(field, "must be a whole number, got %s", clip(string(raw)))
	}
	return &n, nil
}

// maxDrain and drainFor bound how much of a body over the limit is read and thrown away,
// and for how long, so that its client reads the 413: 64 MiB (the largest
// JOBCENTER_BODY_LIMIT), 10 s.
const (
	maxDrain = 64 << 20
	drainFor = 10 * time.Second
)

// decodeBody reads a JSON object into v strictly: the content type must be JSON (or
// absent), the body at most limit bytes of valid UTF-8, one object, no unknown field, no
// key in another case or given twice, no half of a surrogate pair (strictJSON).
func decodeBody(c echo.Context, limit int64, v any) error {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != echo.MIMEApplicationJSON {
			return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
				Message: fmt.Sprintf("Content-Type must be application/json, got %q", clip(ct))}
		}
	}
	data, err := io.ReadAll(io.LimitReader(c.Request().Body, limit+1))
	if err != nil {
		return badRequest("", "the body could not be read: "+err.Error())
	}
	if int64(len(data)) > limit {
		// Read what the client is still sending, up to a bound, before answering: a
		// connection closed with unread data is reset, and a client still writing its body
		// would never read the 413. Past the bound it is closed all the same.
		// A client that waits for "100 Continue" has sent nothing more and reads the answer
		// as it is; a slow one is read for drainFor at most.
		if !strings.EqualFold(c.Request().Header.Get("Expect"), "100-continue") {
			_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Now().Add(drainFor))
			_, _ = io.CopyN(io.Discard, c.Request().Body, maxDrain)
		}
		c.Response().Header().Set(echo.HeaderConnection, "close")
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body is larger than %d bytes", limit)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errEmptyBody
	}
	if !utf8.Valid(data) {
		return badRequest("", "the body is not valid UTF-8")
	}
	if err := strictJSON(data, reflect.TypeOf(v)); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	c.Set(bodyKey, hex.EncodeToString(sum[:16]))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return badRequest("", "the body holds more than one JSON value")
	}
	return nil
}

// errEmptyBody is a request whose body is empty or blank.
var errEmptyBody = badRequest("", "the body is empty: send a JSON object")

// bodyKey holds a digest of the request body: an idempotent command's fingerprint.
const bodyKey = "body-hash"

// jsonError names the field a decoding error is about.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return badRequest("", "the body must be a JSON object")
		}
		return invalidField(field, "must be of type %s, got a JSON %s", friendlyType(te.Type), te.Value)
	case errors.As(err, &se):
		return badRequest("", fmt.Sprintf("the body is not valid JSON (at byte %d): %v", se.Offset, se))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(field, fmt.Sprintf("unknown field %q", field))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "the body is not valid JSON: it ends too early")
	}
	return badRequest("", "the body is not valid JSON: "+err.Error())
}

// friendlyType names a Go type as JSON does: a request never hears of our types.
func friendlyType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[json.RawMessage]():
		return "number"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() == reflect.Struct || t.Kind() == reflect.Map:
		return "object"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "array"
	}
	return "number"
}

// queryInt reads an optional whole-number query parameter within [lo, hi].
func queryInt(c echo.Context, name string, def, lo, hi int64) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, invalidField(name, "must be a whole number from %d to %d, got %q", lo, hi, clip(v))
	}
	return n, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func clip(s string) string { return job.Clip(s, 60) }
