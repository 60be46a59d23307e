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
//	api        the all-in-one program under a 64-connection load generator
//
//	go run ./scripts/bench -only scheduler,api -runs 3 -api-for 30s
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
	"strings"
	"time"
)

// sections in the order they run; the issue numbers them 1 and 4 (2, 3, 5 and 6, the
// embedded stack's fire path, burst, journal and restart, are still to come).
var sections = []string{"scheduler", "api"}

type options struct {
	runs      int
	only      map[string]bool
	jobs      int
	ops       int
	fireRate  int
	fireFor   time.Duration
	apiFor    time.Duration
	conns     int
	jobcenter string
	out       string
	profile   string
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
	flag.IntVar(&o.conns, "conns", 64, "api: concurrent connections of the load generator")
	flag.StringVar(&o.jobcenter, "jobcenter", "", "api: the all-in-one program (empty: go build ./cmd/jobcenter into a temporary folder)")
	flag.StringVar(&o.out, "out", "bench/results", "folder for the JSON results")
	flag.StringVar(&o.profile, "profile", "", "folder for profiles, taken in an extra run that is not measured: pprof CPU and heap of the scheduler; perf of the api's process")
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
	if o.runs < 1 {
		fmt.Fprintln(os.Stderr, "bench: -runs must be at least 1")
		os.Exit(2)
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
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
		fn := map[string]sectionFunc{"scheduler": schedulerSection, "api": apiSection}[name]
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
