package jobcenter

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIError is an answer that is not a success. Both facades' error bodies become one:
// {"error": {"code", "message", "field"}} of the job-center routes and
// {"resp_code", "resp_msg"} of the Quartz routes (which name no field).
type APIError struct {
	// Status is the HTTP status, such as 400, 404 or 503.
	Status int `json:"status"`
	// Code is the server's code: invalid, not_found, conflict, unauthorized, forbidden,
	// too_large, unsupported_media_type, rate_limited, unavailable, internal; empty when
	// the body was not the server's JSON (a proxy's page, say).
	Code string `json:"code"`
	// Message says what was wrong.
	Message string `json:"message"`
	// Field names the request field at fault, when there is one.
	Field string `json:"field,omitempty"`
	// RetryAfter is how long the server asked to wait (429), when it said.
	RetryAfter time.Duration `json:"-"`
	// RequestID is the server's X-Request-Id, for its logs.
	RequestID string `json:"-"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "jobcenter: %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Field != "" && !strings.Contains(e.Message, e.Field) {
		b.WriteString(" (field " + e.Field + ")")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) and the other sentinels match by code, or by
// status when the body had no code.
func (e *APIError) Is(target error) bool {
	s, ok := target.(*sentinel)
	if !ok {
		return false
	}
	if e.Code != "" {
		return e.Code == s.code
	}
	return e.Status == s.status
}

type sentinel struct {
	code   string
	status int
}

func (s *sentinel) Error() string { return "jobcenter: " + s.code }

// Sentinels to match an *APIError with errors.Is.
var (
	ErrInvalid      error = &sentinel{"invalid", http.StatusBadRequest}
	ErrUnauthorized error = &sentinel{"unauthorized", http.StatusUnauthorized}
	ErrForbidden    error = &sentinel{"forbidden", http.StatusForbidden}
	ErrNotFound     error = &sentinel{"not_found", http.StatusNotFound}
	ErrConflict     error = &sentinel{"conflict", http.StatusConflict}
	ErrTooLarge     error = &sentinel{"too_large", http.StatusRequestEntityTooLarge}
	ErrRateLimited  error = &sentinel{"rate_limited", http.StatusTooManyRequests}
	ErrUnavailable  error = &sentinel{"unavailable", http.StatusServiceUnavailable}
)

// decodeError reads an error answer in either facade's shape (both are tried: what a
// route answers before its handler, such as a 404 for an unknown path, is the other's).
func decodeError(resp *http.Response, data []byte) *APIError {
	e := &APIError{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	var jobs struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	var q struct {
		Code    string `json:"resp_code"`
		Message string `json:"resp_msg"`
	}
	var ready struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	switch {
	case json.Unmarshal(data, &jobs) == nil && jobs.Error != nil:
		e.Code, e.Message, e.Field = jobs.Error.Code, jobs.Error.Message, jobs.Error.Field
	case json.Unmarshal(data, &q) == nil && (q.Code != "" || q.Message != ""):
		e.Code, e.Message = q.Code, q.Message
	case json.Unmarshal(data, &ready) == nil && ready.Reason != "":
		e.Code, e.Message = ready.Status, ready.Reason
	default:
		e.Message = http.StatusText(resp.StatusCode)
		if s := strings.TrimSpace(string(data)); s != "" {
			if len(s) > 200 {
				s = s[:200] + "…"
			}
			e.Message += ": " + s
		}
	}
	return e
}

// IsNotFound reports whether err is a 404: no such job or schedule, or another
// tenant's (which the server does not tell apart).
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
