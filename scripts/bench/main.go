// Command bench measures Job Center (issue 6, Performance) and prints one table per
// section, with the machine at the top; it writes the same figures as JSON under
// bench/results/<timestamp>.json (and bench/results/latest.json). Each figure is the
// median of -runs runs, every run listed in the JSON. It is `make bench`, never part of
// `make test`.
//
// Sections:
//
//	scheduler  the trigger's scheduler alone, no I/O: memory per job, schedule operations
//	           a second, dispatch lateness at 100,000 fires a second
//	steady     the all-in-one program firing N interval jobs every second: lateness to the
//	           fire stored, the run started and the run journaled, rates, CPU and memory
//	burst      the all-in-one program with 100,000 date jobs due at one instant
//	api        the all-in-one program under a 64-connection load generator
//	journal    one job with 1,000,000 journal entries: its first and last page over HTTP
//	restart    the all-in-one program killed (kill -9) with 1,000,000 jobs scheduled, and
//	           started again: how long until it fires on time
//	soak       the all-in-one program running interval jobs for half an hour with the
//	           journal kept 10 minutes: CPU, stored messages and disk a run, heap growth,
//	           and whether the data folder levels off
//	writes     what start/stop requests leave in the broker, against its retention
//	targets    the executor alone: runs a second and CPU a run for code, an HTTP call
//	           and workers, side by side
//
//	go run ./scripts/bench -only scheduler,api -runs 3 -api-for 30s
//	go run ./scripts/bench -only steady -steady-jobs 1000 -steady-for 10s -runs 1
//
// Sections steady, burst, journal and restart seed the program's store before it starts
// (its job and journal documents, written as mongostore writes them), since adding that
// many jobs through the api would take hours; each says so in its workload.
//
// The machine's load average is printed before and after each section: other work on
// the machine shows in the figures, and this is how to tell.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// sections in the order they run, which is the README's numbering (1 to 8).
var sections = []string{"scheduler", "steady", "burst", "api", "journal", "restart", "soak", "writes", "targets"}

type options struct {
	runs      int
	only      map[string]bool
	jobs      int
	ops       int
	fireRate  int
	fireFor   time.Duration
	apiFor    time.Duration
	apiMatch  string
	conns     int
	jobcenter string
	out       string
	profile   string

	steadyJobs   []int
	steadyFor    time.Duration
	steadyWarmup time.Duration
	steadyDrain  time.Duration

	burstJobs int
	burstWait time.Duration

	journalEntries  int
	journalRequests int

	restartJobs   int
	restartProbes int
	restartOnTime time.Duration
	restartSettle time.Duration

	soakJobs                     int
	soakFor, soakEvery, soakKeep time.Duration
	writesFor                    time.Duration
	writesRate                   float64

	// env is extra settings for the all-in-one program: what-if runs, not make run's.
	env []string
	// keep leaves the data folders in place, to look into a failed run.
	keep bool
}

func main() {
	var o options
	only := flag.String("only", strings.Join(sections, ","), "sections to run, comma-separated: "+strings.Join(sections, ", "))
	flag.IntVar(&o.runs, "runs", 3, "runs of each measure; each figure is their median")
	flag.IntVar(&o.jobs, "jobs", 1_000_000, "scheduler: jobs held (half interval, half cron)")
	flag.IntVar(&o.ops, "ops", 200_000, "scheduler: operations of each kind timed")
	flag.IntVar(&o.fireRate, "fire-rate", 100_000, "scheduler: jobs due every second for the lateness measure")
	flag.DurationVar(&o.fireFor, "fire-for", 5*time.Second, "scheduler: how long lateness is recorded, per run")
	flag.DurationVar(&o.apiFor, "api-for", 30*time.Second, "api: how long each workload runs, per run")
	flag.StringVar(&o.apiMatch, "api-match", "", "api: run only the workloads whose label contains this (empty: all)")
	flag.IntVar(&o.conns, "conns", 64, "api: concurrent connections of the load generator")
	steadyJobs := flag.String("steady-jobs", "1000,10000,100000", "steady: the numbers of interval jobs (every 1 s) to measure, comma-separated")
	flag.DurationVar(&o.steadyFor, "steady-for", 60*time.Second, "steady: the measured window of scheduled instants, per run")
	flag.DurationVar(&o.steadyWarmup, "steady-warmup", 5*time.Second, "steady: fires before the window, after the scheduler has loaded every job")
	flag.DurationVar(&o.steadyDrain, "steady-drain", 30*time.Second, "steady: the longest wait after the window for the executors and the journal")
	flag.IntVar(&o.burstJobs, "burst-jobs", 100_000, "burst: date jobs due at the same instant")
	flag.DurationVar(&o.burstWait, "burst-wait", 3*time.Minute, "burst: the longest wait after the instant for every run to be journaled")
	flag.IntVar(&o.journalEntries, "journal-entries", 1_000_000, "journal: entries in the one job's journal")
	flag.IntVar(&o.journalRequests, "journal-requests", 10, "journal: requests of each page, one after another, per run")
	flag.IntVar(&o.restartJobs, "restart-jobs", 1_000_000, "restart: jobs scheduled (all started), of which -restart-probes fire every second")
	flag.IntVar(&o.restartProbes, "restart-probes", 100, "restart: jobs firing every second, whose fires tell when the scheduler is on time")
	flag.DurationVar(&o.restartOnTime, "restart-on-time", 100*time.Millisecond, "restart: a probe fire stored within this of its instant is on time")
	flag.DurationVar(&o.restartSettle, "restart-settle", 10*time.Second, "restart: how long every probe fire must be on time for the scheduler to count as on time")
	flag.IntVar(&o.soakJobs, "soak-jobs", 500, "soak: interval jobs firing every second")
	flag.DurationVar(&o.soakFor, "soak-for", 30*time.Minute, "soak: how long each run lasts")
	flag.DurationVar(&o.writesFor, "writes-for", 4*time.Minute, "writes: how long each run writes")
	flag.Float64Var(&o.writesRate, "writes-rate", 500, "writes: start/stop requests a second")
	flag.DurationVar(&o.soakEvery, "soak-every", 30*time.Second, "soak: how often it is measured")
	flag.DurationVar(&o.soakKeep, "soak-keep", 10*time.Minute, "soak: the journal's and the runs stream's retention (JOBCENTER_JOURNAL_MAX_AGE, JOBCENTER_RUNS_MAX_AGE)")
	env := flag.String("env", "", "steady, burst, journal, restart: extra settings for the all-in-one program, KEY=VALUE,…; the figures are then not `make run`'s, and the workload says so")
	flag.BoolVar(&o.keep, "keep", false, "steady, burst, journal, restart: leave the data folders in place (gigabytes: for looking into a failed run)")
	flag.StringVar(&o.jobcenter, "jobcenter", "", "api, steady, burst, journal, restart: the all-in-one program (empty: go build ./cmd/jobcenter into a temporary folder)")
	flag.StringVar(&o.out, "out", "bench/results", "folder for the JSON results")
	flag.StringVar(&o.profile, "profile", "", "folder for profiles, taken in an extra run that is not measured: pprof CPU and heap of the scheduler; perf of the all-in-one program for api, steady, burst, journal, restart, its report headed by the CPU by part")
	flag.Parse()
	o.only = map[string]bool{}
	for s := range strings.SplitSeq(*only, ",") {
		s = strings.TrimSpace(s)
		if !contains(sections, s) {
			fmt.Fprintf(os.Stderr, "bench: unknown section %q (known: %s)\n", s, strings.Join(sections, ", "))
			os.Exit(2)
		}
		o.only[s] = true
	}
	var err error
	if o.steadyJobs, err = intList(*steadyJobs); err != nil {
		fmt.Fprintln(os.Stderr, "bench: -steady-jobs:", err)
		os.Exit(2)
	}
	if o.steadyFor < time.Second || o.steadyFor%time.Second != 0 {
		fmt.Fprintln(os.Stderr, "bench: -steady-for must be a whole number of seconds")
		os.Exit(2)
	}
	for kv := range strings.SplitSeq(*env, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		if k, _, ok := strings.Cut(kv, "="); !ok || !strings.HasPrefix(k, "JOBCENTER_") {
			fmt.Fprintf(os.Stderr, "bench: -env: %q is not JOBCENTER_…=value\n", kv)
			os.Exit(2)
		}
		o.env = append(o.env, kv)
	}
	if o.runs < 1 {
		fmt.Fprintln(os.Stderr, "bench: -runs must be at least 1")
		os.Exit(2)
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// intList parses "1000,10000": positive whole numbers.
func intList(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive whole number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// report is the JSON written under -out.
type report struct {
	Time     time.Time  `json:"time"`
	Machine  machine    `json:"machine"`
	Command  string     `json:"command"`
	Runs     int        `json:"runs"`
	Sections []*section `json:"sections"`
}

type machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	MemTotalKB int64  `json:"mem_total_kb"`
	CPUModel   string `json:"cpu_model"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Commit     string `json:"commit"`
	LoadAvg    string `json:"loadavg_at_start"`
}

func run(o options, w io.Writer) error {
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}
	r := report{Time: time.Now(), Runs: o.runs, Command: "go run ./scripts/bench " + strings.Join(os.Args[1:], " "),
		Machine: machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), MemTotalKB: memTotalKB(),
			CPUModel: cpuModel(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Commit: commit(), LoadAvg: loadAvg()}}
	m := r.Machine
	fmt.Fprintf(w, "machine: %d cores (GOMAXPROCS %d, %s), %.1f GiB memory, %s, %s, commit %s\n",
		m.CPUs, m.GOMAXPROCS, m.CPUModel, float64(m.MemTotalKB)/(1<<20), m.Go, m.OS, m.Commit)
	fmt.Fprintf(w, "load average at start (1, 5, 15 min): %s; every figure is the median of %d runs\n\n", m.LoadAvg, o.runs)
	type sectionFunc func(options, io.Writer) (*section, error)
	for _, name := range sections {
		if !o.only[name] {
			continue
		}
		fn := map[string]sectionFunc{"scheduler": schedulerSection, "steady": steadySection, "burst": burstSection,
			"api": apiSection, "journal": journalSection, "restart": restartSection, "soak": soakSection, "writes": writesSection,
			"targets": targetsSection}[name]
		before := loadAvg()
		s, err := fn(o, w)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		s.LoadAvg = [2]string{before, loadAvg()}
		s.print(w)
		r.Sections = append(r.Sections, s)
		if err := save(o.out, r); err != nil { // after each section: a later failure keeps it
			return err
		}
	}
	fmt.Fprintf(w, "results: %s\n", filepath.Join(o.out, r.Time.Format("20060102-150405")+".json"))
	return nil
}

func save(dir string, r report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := os.WriteFile(filepath.Join(dir, r.Time.Format("20060102-150405")+".json"), b, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "latest.json"), b, 0o644)
}

// memTotalKB reads MemTotal from /proc/meminfo (0 where there is none).
func memTotalKB() int64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb)
			return kb
		}
	}
	return 0
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown cpu"
}

// loadAvg is the 1, 5 and 15 minute load averages of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// load1 is the 1-minute load average (0 when unknown).
func load1() float64 {
	var x float64
	fmt.Sscan(loadAvg(), &x)
	return x
}

// commit is the checked-out commit, "+dirty" when the tree has changes.
func commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			return rev[:min(12, len(rev))] + dirty
		}
	}
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, _ := exec.Command("git", "status", "--porcelain").Output(); len(st) > 0 {
		rev += "+dirty"
	}
	return rev
}
