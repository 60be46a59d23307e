package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTheConsoleIsServedAtUIWithItsFilesAndNoKey(t *testing.T) {
	t.Parallel()
	h := newRouter()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	page := get("/ui")
	if page.Code != 200 || !strings.HasPrefix(page.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(page.Body.String(), `src="ui/console.js"`) {
		t.Fatalf("GET /ui: %d %q", page.Code, page.Header().Get("Content-Type"))
	}
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("GET /ui: Content-Security-Policy %q", csp)
	}
	for path, ct := range map[string]string{"/ui/console.js": "text/javascript", "/ui/i18n.js": "text/javascript", "/ui/console.css": "text/css"} {
		rec := get(path)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), ct) || rec.Body.Len() == 0 {
			t.Errorf("GET %s: %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	for _, path := range []string{"/ui/nothing.js", "/ui/index.html", "/ui/..%2fconsole.go", "/ui/static"} {
		if rec := get(path); rec.Code != 404 || !strings.Contains(rec.Body.String(), `"not_found"`) {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}
}
