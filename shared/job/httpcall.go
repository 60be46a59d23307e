package job

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// HTTPCall is what an HTTP job's run sends: Dkron's http executor, XXL-JOB's
// httpJobHandler. Its answer's status says whether the run succeeded.
type HTTPCall struct {
	// Method is upper case: one of HTTPMethods.
	Method string
	URL    string
	// Headers, by canonical name. Their values are written, never read back (Redacted),
	// but for the few that never carry a credential.
	Headers map[string]string
	Body    string
	// ExpectStatus are the statuses that are a success; none: any 2xx.
	ExpectStatus []int
}

// Limits on an HTTP call's parts.
const (
	MaxURLBytes         = 2048
	MaxHeaders          = 32
	MaxHeaderValueBytes = 4096
	MaxHTTPBodyBytes    = 64 << 10
	MaxExpectStatus     = 16
)

// HTTPMethods are the methods a call may use; the first is the default.
var HTTPMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions}

// Masked is what a read shows of a secret: secrets are written, never read back.
const Masked = "***"

// shownHeaders never carry a credential: reads show their values.
var shownHeaders = map[string]bool{
	"Accept": true, "Accept-Charset": true, "Accept-Encoding": true, "Accept-Language": true, "Cache-Control": true,
	"Content-Language": true, "Content-Type": true, "If-Match": true, "If-None-Match": true, "User-Agent": true,
}

// setByTheCenter are headers the call may not set: the client writes them from the call.
var setByTheCenter = map[string]bool{"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Upgrade": true, "Te": true, "Trailer": true}

// HTTPInput is an HTTP call as a request gives it.
type HTTPInput struct {
	Method       string
	URL          string
	Headers      map[string]string
	Body         string
	ExpectStatus []int
}

// call reads in, canonical: the method upper case (GET when absent), header names
// canonical (two that are the same name are refused). A header sent Masked keeps the
// value old has under that name, so a call read, edited and written keeps its secrets.
func (in HTTPInput) call(old *HTTPCall) (HTTPCall, error) {
	c := HTTPCall{Method: strings.ToUpper(strings.TrimSpace(in.Method)), URL: strings.TrimSpace(in.URL), Body: in.Body}
	if len(in.ExpectStatus) > 0 {
		c.ExpectStatus = slices.Clone(in.ExpectStatus)
	}
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	if len(in.Headers) > 0 {
		c.Headers = make(map[string]string, len(in.Headers))
	}
	for _, name := range slices.Sorted(maps.Keys(in.Headers)) {
		v := in.Headers[name]
		canon := http.CanonicalHeaderKey(strings.TrimSpace(name))
		if _, twice := c.Headers[canon]; twice {
			return HTTPCall{}, invalid("http.headers."+name, "names the header %s a second time", canon)
		}
		if v == Masked {
			was, ok := "", false
			if old != nil {
				was, ok = old.Headers[canon]
			}
			if !ok {
				return HTTPCall{}, invalid("http.headers."+name, "send the value itself: %s keeps a value stored under this name only", Masked)
			}
			v = was
		}
		c.Headers[canon] = v
	}
	return c, c.check()
}

// check applies the call's bounds; Validate runs it on every definition.
func (c HTTPCall) check() error {
	if !slices.Contains(HTTPMethods, c.Method) {
		return invalid("http.method", "%q is not one of %s", Clip(c.Method, 20), strings.Join(HTTPMethods, ", "))
	}
	if err := CheckHTTPURL(c.URL); err != nil {
		return err
	}
	if len(c.Headers) > MaxHeaders {
		return invalid("http.headers", "has %d headers, at most %d are allowed", len(c.Headers), MaxHeaders)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		v := c.Headers[name]
		switch {
		case !HeaderName(name) || name != http.CanonicalHeaderKey(name):
			return invalid("http.headers", "%q is not a header name", Clip(name, 40))
		case setByTheCenter[name]:
			return invalid("http.headers."+name, "is set by the center from the call itself")
		case len(v) > MaxHeaderValueBytes:
			return invalid("http.headers."+name, "is %d bytes, at most %d are allowed", len(v), MaxHeaderValueBytes)
		case !utf8.ValidString(v) || strings.ContainsAny(v, "\r\n\x00"):
			return invalid("http.headers."+name, "holds a line break, a NUL or bytes that are not UTF-8")
		}
	}
	if n := len(c.Body); n > MaxHTTPBodyBytes {
		return invalid("http.body", "is %d bytes, at most %d are allowed", n, MaxHTTPBodyBytes)
	}
	if !utf8.ValidString(c.Body) {
		return invalid("http.body", "is not valid UTF-8")
	}
	if len(c.ExpectStatus) > MaxExpectStatus {
		return invalid("http.expect_status", "lists %d statuses, at most %d are allowed", len(c.ExpectStatus), MaxExpectStatus)
	}
	for i, s := range c.ExpectStatus {
		if s < 100 || s > 599 {
			return invalid("http.expect_status", "%d is not an HTTP status (100 to 599)", s)
		}
		if slices.Contains(c.ExpectStatus[:i], s) {
			return invalid("http.expect_status", "lists %d twice", s)
		}
	}
	return nil
}

// CheckHTTPURL refuses a URL that is not http(s) with a host, or that carries a user
// and password (they would be read back: credentials go in headers).
func CheckHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return invalid("http.url", "is required: the http or https URL the job calls")
	case len(raw) > MaxURLBytes:
		return invalid("http.url", "is %d bytes, at most %d are allowed", len(raw), MaxURLBytes)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(raw, " \t\r\n"):
		return invalid("http.url", "must be an http or https URL with a host, such as https://api.example.com/reports/daily")
	case u.User != nil:
		return invalid("http.url", "may not carry a user or password: put credentials in a header (its value is never read back)")
	}
	return nil
}

// Succeeded reports whether status is one the call expects.
func (c HTTPCall) Succeeded(status int) bool {
	if len(c.ExpectStatus) == 0 {
		return status/100 == 2
	}
	return slices.Contains(c.ExpectStatus, status)
}

// Expected says which statuses the call expects, for a failure's message.
func (c HTTPCall) Expected() string {
	if len(c.ExpectStatus) == 0 {
		return "2xx"
	}
	s := make([]string, len(c.ExpectStatus))
	for i, n := range c.ExpectStatus {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// Redacted is the call as reads show it: every header's value masked but those that
// never carry a credential.
func (c HTTPCall) Redacted() HTTPCall {
	if len(c.Headers) == 0 {
		return c
	}
	h := make(map[string]string, len(c.Headers))
	for k, v := range c.Headers {
		if !shownHeaders[http.CanonicalHeaderKey(k)] {
			v = Masked
		}
		h[k] = v
	}
	c.Headers = h
	return c
}

// HeaderName reports whether s may name a header of a call a tenant configures (an HTTP
// job's, an alert webhook's): an HTTP token, RFC 9110's field-name.
func HeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
