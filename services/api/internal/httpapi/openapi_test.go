package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api/internal/httpapi"
)

// newRouter builds the api's handler with every optional route on; nothing it needs at
// construction touches the broker or the store.
func newRouter() *echo.Echo {
	return httpapi.New(httpapi.Deps{Log: zerolog.Nop(), MetricsHandler: http.NotFoundHandler()})
}

// documented lists the document's operations as "METHOD /path/{param}".
func documented(t *testing.T) []string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(contracts.OpenAPI, &doc); err != nil {
		t.Fatalf("contracts/openapi.json is not JSON: %v", err)
	}
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

var echoParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

func TestEveryRouteIsInTheOpenAPIDocumentAndEveryDocumentedRouteIsServed(t *testing.T) {
	var served []string
	for _, r := range newRouter().Routes() {
		if r.Method == echo.RouteNotFound {
			continue // the groups' catch-alls, so that their middleware runs on a 404
		}
		served = append(served, r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(served)
	served = slices.Compact(served)
	docs := documented(t)
	for _, op := range served {
		if !slices.Contains(docs, op) {
			t.Errorf("%s is served but not in contracts/openapi.json", op)
		}
	}
	for _, op := range docs {
		if !slices.Contains(served, op) {
			t.Errorf("%s is in contracts/openapi.json but not served", op)
		}
	}
}

func TestGetOpenAPIJSONAnswersTheDocumentWithoutAKey(t *testing.T) {
	rec := httptest.NewRecorder()
	newRouter().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !slices.Equal(rec.Body.Bytes(), contracts.OpenAPI) {
		t.Fatal("GET /openapi.json answered something else than contracts.OpenAPI")
	}
}
