package jobcode_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/jobcode"
)

// FuzzRun checks that Run neither panics nor outlives its timeout on arbitrary code, and
// that it always returns either a result within its limits or a classified *Error.
func FuzzRun(f *testing.F) {
	f.Add(seedSnippet)
	f.Add("return [1, 'a', None]")
	lim := jobcode.Limits{MaxSteps: 10_000, Timeout: time.Second, MaxLogBytes: 256,
		MaxResultBytes: 256, MaxCodeBytes: 4096, MaxAllocBytes: 1 << 16}
	sdk := &fakeSDK{results: map[string]any{"sdk_get_jobs": []any{map[string]any{"id": "j", "n": 1.0}}},
		errs: map[string]error{"sdk_delete_job": errNotFound}}
	kinds := []error{jobcode.ErrSyntax, jobcode.ErrRuntime, jobcode.ErrLimit, jobcode.ErrTimeout, jobcode.ErrCanceled}
	f.Fuzz(func(t *testing.T, code string) {
		start := time.Now()
		res, err := jobcode.Run(context.Background(), code, sdk, lim)
		if elapsed := time.Since(start); elapsed > lim.Timeout+2*time.Second {
			t.Errorf("Run took %v", elapsed)
		}
		if len(res.Log) > lim.MaxLogBytes+100 {
			t.Errorf("log of %d bytes", len(res.Log))
		}
		if err != nil {
			var e *jobcode.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *jobcode.Error", err, err)
			}
			for _, k := range kinds {
				if e.Kind == k {
					return
				}
			}
			t.Fatalf("unknown kind in %v", err)
		}
		if len(res.JSON) > lim.MaxResultBytes || !json.Valid([]byte(res.JSON)) {
			t.Errorf("bad JSON result %q", res.JSON)
		}
	})
}
