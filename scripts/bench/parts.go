package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// cpuParts names the parts of the all-in-one program a profile's CPU is put to, each by
// the prefixes of its functions' symbols (perf escapes the dot of "nats.go" as %2e).
var cpuParts = []struct {
	name     string
	prefixes []string
}{
	{"the store: SQLite (modernc.org/sqlite)", []string{"modernc.org/"}},
	{"the store: FerretDB", []string{"github.com/FerretDB/"}},
	{"the broker: NATS server", []string{"github.com/nats-io/nats-server/"}},
	{"NATS client (api, trigger, executor, journal)", []string{"github.com/nats-io/nats%2ego", "github.com/nats-io/nats.go"}},
	{"MongoDB driver", []string{"go.mongodb.org/"}},
	{"ours: the journal projection", []string{"github.com/jobcenter/jobcenter/services/trigger/internal/journal."}},
	{"ours: the fire publisher", []string{"github.com/jobcenter/jobcenter/services/trigger/internal/firing."}},
	{"ours: the trigger (scheduler, commands, image)", []string{"github.com/jobcenter/jobcenter/services/trigger"}},
	{"ours: the executor and its snippets", []string{"github.com/jobcenter/jobcenter/services/executor", "github.com/jobcenter/jobcenter/shared/jobcode", "go.starlark.net/"}},
	{"ours: the api (and net/http)", []string{"github.com/jobcenter/jobcenter/services/api", "github.com/labstack/echo", "net/http."}},
	{"ours: shared packages", []string{"github.com/jobcenter/jobcenter/"}},
}

// cpuByPart reads a perf recording's stacks and puts each sample to the innermost frame
// that belongs to a part, so that time in the allocator, the kernel or encoding/json
// counts for the code that asked for it. A sample with no such frame is the runtime's
// own: the collector's workers, or scheduling goroutines and threads.
func cpuByPart(ctx context.Context, perf, data string) (string, error) {
	out, err := exec.CommandContext(ctx, perf, "script", "-i", data, "-F", "ip,sym").Output()
	if err != nil {
		return "", fmt.Errorf("perf script: %w", err)
	}
	counts := map[string]int{}
	total := 0
	var stack []string
	flush := func() {
		if len(stack) == 0 {
			return
		}
		total++
		counts[partOf(stack)]++
		stack = stack[:0]
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		frame := strings.TrimSpace(line)
		if frame == "" || line == frame { // a blank line or a sample's header ends a stack
			flush()
			continue
		}
		if _, sym, ok := strings.Cut(frame, " "); ok {
			stack = append(stack, sym)
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return "", err
	}
	if total == 0 {
		return "", fmt.Errorf("perf script: no samples in %s", data)
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return counts[b] - counts[a] })
	var b strings.Builder
	fmt.Fprintf(&b, "# CPU by part: each of %d samples put to the innermost frame of its stack that belongs to a part\n", total)
	for _, n := range names {
		fmt.Fprintf(&b, "# %5.1f%%  %s\n", 100*float64(counts[n])/float64(total), n)
	}
	return b.String() + "#\n", nil
}

// partOf is the part a stack (innermost frame first) is put to.
func partOf(stack []string) string {
	for _, sym := range stack {
		for _, p := range cpuParts {
			for _, prefix := range p.prefixes {
				if strings.HasPrefix(sym, prefix) {
					return p.name
				}
			}
		}
	}
	for _, sym := range stack {
		if strings.HasPrefix(sym, "runtime.gcBgMarkWorker") {
			return "runtime: the collector's workers"
		}
	}
	return "runtime and kernel: scheduling, other"
}
