package job_test

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The domain knows nothing of HTTP, NATS or MongoDB: besides the standard library it
// imports only the cron parser and the calendars (domain themselves).
func TestTheDomainImportsNoTransportOrStorage(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && path != "github.com/jobcenter/jobcenter/shared/cron" && path != "github.com/jobcenter/jobcenter/shared/calendar" {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
