package main

import (
	"os"
	"strings"
	"testing"
)

// testdata/run.jsonl is `go test -json` of a package with a passing, a skipped, a failing
// test and a skipped subtest, and of a package without tests.
func TestTheReportShowsFailuresLikeGoTestAndListsEverySkippedTest(t *testing.T) {
	out := failedReport(t, "testdata/run.jsonl")
	for _, want := range []string{
		"x_test.go:5: boom\n--- FAIL: TestFail",
		"FAIL\ttr\t",
		"?   \tempty\t[no test files]\n", // a package without tests is not a skipped test
		"skipped tests: 2\n  tr TestSkip: x_test.go:4: no chromium on this machine\n  tr TestSub/inner: x_test.go:6: inner reason\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "quiet") {
		t.Errorf("a passing test's output is shown:\n%s", out)
	}
}

// testdata/timeout.jsonl is `go test -json -timeout 2s` of a test that hangs: no event
// ends the test, so its output is shown when its package fails.
func TestATestThatHangsUntilTheTimeoutIsShownWithThePanic(t *testing.T) {
	out := failedReport(t, "testdata/timeout.jsonl")
	for _, want := range []string{"x_test.go:3: before the hang", "panic: test timed out after 2s", "FAIL\ttr2\t"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}

// failedReport is the report of the recorded run in file, which must have failed.
func failedReport(t *testing.T, file string) string {
	t.Helper()
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out strings.Builder
	failed, err := report(in, &out)
	if err != nil || !failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	return out.String()
}
