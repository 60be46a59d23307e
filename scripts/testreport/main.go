// Command testreport reads `go test -json` on its standard input and prints what plain
// `go test` prints — a line per package, and the whole output of each test that failed —
// then the tests that were skipped, with why: a machine without Chromium or Compose skips
// the browser and deployment tests, and that must not go unseen. It exits 1 when a test,
// a package or a build failed.
//
//	go test -json ./... 2>&1 | go run ./scripts/testreport
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

type skip struct{ pkg, test, why string }

func main() {
	failed, err := report(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// report copies in to out as plain `go test` would show it and reports whether anything
// failed.
func report(in io.Reader, out io.Writer) (failed bool, err error) {
	outputs := map[string][]string{} // a test's lines so far, by package and test
	var skipped []skip
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(out, "%s\n", line) // the go command's own messages
			continue
		}
		key := e.Package + " " + e.Test
		switch {
		case e.Action == "build-output":
			fmt.Fprint(out, e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Test == "" && e.Action == "output":
			// A package's own lines: its summary, and what a test printed outside a test.
			if t := strings.TrimSpace(e.Output); t != "PASS" && t != "FAIL" && !strings.HasPrefix(t, "=== ") {
				fmt.Fprint(out, e.Output)
			}
		case e.Test == "" && e.Action == "fail":
			// A package that timed out or crashed ends no test: show what its tests printed
			// (the panic, the goroutines) that no test's end showed.
			failed = true
			for _, k := range slices.Sorted(maps.Keys(outputs)) {
				if strings.HasPrefix(k, e.Package+" ") {
					for _, l := range outputs[k] {
						fmt.Fprint(out, l)
					}
					delete(outputs, k)
				}
			}
		case e.Test == "":
			// A package's pass, or its skip: it has no tests (its "?" line says so).
		case e.Action == "output":
			outputs[key] = append(outputs[key], e.Output)
		case e.Action == "fail":
			failed = true
			for _, l := range outputs[key] {
				fmt.Fprint(out, l)
			}
			delete(outputs, key)
		case e.Action == "skip":
			skipped = append(skipped, skip{e.Package, e.Test, why(outputs[key])})
			delete(outputs, key)
		case e.Action == "pass":
			delete(outputs, key)
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	if len(skipped) == 0 {
		fmt.Fprintln(out, "skipped tests: none")
		return failed, nil
	}
	fmt.Fprintf(out, "skipped tests: %d\n", len(skipped))
	for _, s := range skipped {
		fmt.Fprintf(out, "  %s %s: %s\n", s.pkg, s.test, s.why)
	}
	return failed, nil
}

// why is the reason a skipped test gave: its lines other than the harness's own.
func why(lines []string) string {
	var r []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		r = append(r, t)
	}
	if len(r) == 0 {
		return "(no reason given)"
	}
	return strings.Join(r, " ")
}
