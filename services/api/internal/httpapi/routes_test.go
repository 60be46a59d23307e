package httpapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// A known path asked with a method it does not take is a 405 naming the methods it
// does take, in each facade's error style; an unknown path is a 404 naming the path.
func TestAWrongMethodIsA405NamingTheMethodsThePathTakes(t *testing.T) {
	t.Parallel()
	h := newRouter()
	tests := []struct {
		method, path string
		status       int
		code, says   string
	}{
		{"PATCH", "/api/v1/jobs", 405, "method_not_allowed", "PATCH is not allowed on /api/v1/jobs; it takes GET, POST"},
		{"POST", "/api/v1/jobs/j1/journal", 405, "method_not_allowed", "it takes GET"},
		{"GET", "/api/v1/jobs/j1/start", 405, "method_not_allowed", "it takes POST"},
		{"GET", "/task/quartz/bizcronjob", 405, "method_not_allowed", "GET is not allowed on /task/quartz/bizcronjob; it takes POST"},
		{"GET", "/api/v1/jobs/j1/nothing", 404, "not_found", "no such path: GET /api/v1/jobs/j1/nothing"},
		{"POST", "/task/quartz/nothing", 404, "not_found", "no such path: POST /task/quartz/nothing"},
	}
	for _, tc := range tests {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Header.Set("X-Project-Id", "p")
		req.Header.Set("tecode", "T1")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body struct {
			Error    struct{ Code, Message string }
			RespCode string `json:"resp_code"`
			RespMsg  string `json:"resp_msg"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		code, msg := body.Error.Code, body.Error.Message
		if strings.HasPrefix(tc.path, "/task/quartz/") {
			code, msg = body.RespCode, body.RespMsg
		}
		if rec.Code != tc.status || code != tc.code || !strings.Contains(msg, tc.says) {
			t.Errorf("%s %s: %d %s; want %d %s saying %q", tc.method, tc.path, rec.Code, rec.Body, tc.status, tc.code, tc.says)
		}
	}
}

// The event stream takes its project from the header or, for EventSource, the query:
// asked with neither, its 400 names both.
func TestTheEventStreamWithoutAProjectNamesBothWaysToGiveIt(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	newRouter().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/events", nil))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "X-Project-Id header, or the project query parameter, is required") {
		t.Fatalf("GET /api/v1/events: %d %s", rec.Code, rec.Body)
	}
}
