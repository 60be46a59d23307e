package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
)

// targetsBench is the executor's own benchmark (services/executor, BenchmarkRuns) at one
// concurrency: the executor alone over an embedded broker, every run's end stored.
const targetsBench = "BenchmarkRuns/concurrency=64$"

// targetKinds are what a run may be, as the benchmark's settings choose it.
var targetKinds = []struct{ label, env string }{
	{"code (pass)", ""},
	{"HTTP call", "BENCH_HTTP=1"},
	{"1 worker", "BENCH_WORKERS=1"},
	{"2 workers", "BENCH_WORKERS=2"},
}

// targetsSection: runs a second and CPU a run for each kind of target, side by side.
func targetsSection(o options, w io.Writer) (*section, error) {
	s := &section{Name: "targets",
		Title: "9. Runs by target: code, HTTP jobs and workers (the executor alone)",
		Workload: fmt.Sprintf("Workload: `go test -run '^$' -bench '%s' -benchtime 3000x -count %d ./services/executor`: 3,000 fires, "+
			"each of a job of its own, run by one executor of concurrency 64 over the embedded broker, timed until every run's end is stored. "+
			"code runs `pass`; an HTTP call GETs a receiver on this machine (200); workers are clients/go/worker workers "+
			"in the benchmark's process (a handler that returns at once, least_busy), and their time includes storing the fires. "+
			"CPU a run is the process's (the broker's, the executor's, the receiver's or the workers'). Median of %d runs.",
			targetsBench, o.runs, o.runs),
	}
	rate, cpu := row{Label: "runs a second"}, row{Label: "CPU a run"}
	for _, k := range targetKinds {
		s.Columns = append(s.Columns, k.label)
		fmt.Fprintf(w, "targets: %s, %d runs (load %s) ...\n", k.label, o.runs, loadAvg())
		perSec, cpuUS, err := benchRuns(k.env, o.runs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.label, err)
		}
		rate.Values = append(rate.Values, newValue("/s", perSec))
		cpu.Values = append(cpu.Values, newValue("µs", cpuUS))
	}
	s.Rows = []row{rate, cpu}
	s.Notes = append(s.Notes, "each run stores 3 broker messages whatever its target (its fire, its running report, its end); "+
		"a worker's task and answer are 2 core NATS messages, not stored")
	return s, nil
}

var benchLine = regexp.MustCompile(`(?m)^` + "BenchmarkRuns/concurrency=64" + `\S*\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) cpu-µs/op`)

// benchRuns runs the executor's benchmark count times with env set, and gives each run's
// runs a second and CPU µs a run.
func benchRuns(env string, count int) (perSec, cpuUS []float64, err error) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", targetsBench, "-benchtime", "3000x", "-count", strconv.Itoa(count), ".")
	cmd.Dir = "services/executor"
	cmd.Env = os.Environ()
	if env != "" {
		cmd.Env = append(cmd.Env, env)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, nil, fmt.Errorf("%v\n%s", err, out)
	}
	for _, m := range benchLine.FindAllStringSubmatch(string(out), -1) {
		ns, _ := strconv.ParseFloat(m[1], 64)
		us, _ := strconv.ParseFloat(m[2], 64)
		perSec, cpuUS = append(perSec, 1e9/ns), append(cpuUS, us)
	}
	if len(perSec) != count {
		return nil, nil, fmt.Errorf("found %d of %d results in:\n%s", len(perSec), count, out)
	}
	return perSec, cpuUS, nil
}
