package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/services/api/internal/commander"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// apiError is an answer with a status and the error body
// {"error": {"code": "...", "message": "...", "field": "..."}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func badRequest(field, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: msg, Field: field}
}

// invalidField is a 400 about one field whose message opens with the field's name, as
// the domain's rule errors do ("seconds: must be …").
func invalidField(field, format string, args ...any) *apiError {
	return badRequest(field, field+": "+fmt.Sprintf(format, args...))
}

// errKeyReused answers a request whose Idempotency-Key was used before for the same
// operation on the same job with another body (the IETF Idempotency-Key draft's 422).
var errKeyReused = &apiError{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Field: "Idempotency-Key",
	Message: "Idempotency-Key: this key was used before for this operation with a different body; send the same body to repeat that request, or use a new key"}

var errJobNotFound = &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "job not found"}

// storeUnavailable reports a store call that failed: the store is away or too slow.
func storeUnavailable(err error) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the store is unavailable: " + err.Error()}
}

// toAPIError is the one place where errors become HTTP answers.
func toAPIError(err error) *apiError {
	var ae *apiError
	var fe *job.FieldError
	var ce *job.ConflictError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &fe):
		return badRequest(fe.Field, fe.Error())
	case errors.As(err, &ce):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: ce.Msg, Field: ce.Field}
	case errors.Is(err, job.ErrNotFound), errors.Is(err, mongostore.ErrNotFound):
		return errJobNotFound
	case errors.Is(err, job.ErrInvalid):
		return badRequest("", err.Error())
	case errors.Is(err, commander.ErrKeyReused):
		return errKeyReused
	case errors.Is(err, commander.ErrUnavailable):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the broker did not confirm the write in time, so it may or may not be applied; send it again with the same Idempotency-Key to be sure it is applied once: " + err.Error()}
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok {
			msg = m
		}
		return &apiError{Status: he.Code, Code: codeOf(he.Code), Message: msg}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

// codeOf is the error code of an answer of status that no rule of ours decided (the
// router's, the HTTP server's own).
func codeOf(status int) string {
	code := map[int]string{
		http.StatusNotFound: "not_found", http.StatusMethodNotAllowed: "method_not_allowed",
		http.StatusRequestEntityTooLarge: "too_large", http.StatusRequestHeaderFieldsTooLarge: "too_large",
		http.StatusUnsupportedMediaType: "unsupported_media_type",
		http.StatusTooManyRequests:      "rate_limited", http.StatusUnauthorized: "unauthorized", http.StatusForbidden: "forbidden",
	}[status]
	switch {
	case code != "":
		return code
	case status >= 500:
		return "internal"
	}
	return "invalid"
}

// errorHandler answers every error as JSON.
func errorHandler(log zerolog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ae := toAPIError(err)
		req := c.Request()
		switch {
		case errors.Is(err, echo.ErrMethodNotAllowed):
			// Allow names OPTIONS too, which every path answers; the message names the rest.
			allow := strings.ReplaceAll(c.Response().Header().Get(echo.HeaderAllow), "OPTIONS, ", "")
			ae.Message = req.Method + " is not allowed on " + req.URL.Path + "; it takes " + allow
		case errors.Is(err, echo.ErrNotFound):
			ae.Message = "no such path: " + req.Method + " " + req.URL.Path
		}
		if ae.Status >= 500 {
			requestFields(log.Error().Err(err), c).Str("method", c.Request().Method).Str("route", c.Path()).Msg("request failed")
		}
		if strings.HasPrefix(c.Request().URL.Path, "/task/quartz/") {
			// The Quartz API's own style.
			_ = c.JSON(ae.Status, map[string]string{"resp_code": ae.Code, "resp_msg": ae.Message})
			return
		}
		_ = c.JSON(ae.Status, map[string]*apiError{"error": ae})
	}
}
