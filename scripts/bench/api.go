package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The api section's projects: one of 10,000 jobs to read and list, one for start/stop and
// the journal, one that add fills, and a Quartz tenant of 100 behaviours' schedules.
const (
	readProject  = "bench-read"
	writeProject = "bench-write"
	addProject   = "bench-add"
	quartzTenant = "bench-quartz"
	listJobs     = 10000
	listPage     = 100
	schedules    = 100
	journalRuns  = 100
	journalPage  = 20
	// pacedGets is the rate of the paced get: the target's 10,000 reads a second.
	pacedGets = 10000
)

// center is the all-in-one program, run for the section.
type center struct {
	cmd  *exec.Cmd
	url  string
	nats string // its embedded broker
	dir  string
	http *http.Client
}

// apiSection is the part 4: the api under load.
func apiSection(o options, w io.Writer) (*section, error) {
	dir, err := os.MkdirTemp("", "jobcenter-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := o.jobcenter
	if bin == "" {
		bin = filepath.Join(dir, "jobcenter")
		fmt.Fprintln(w, "api: go build ./cmd/jobcenter ...")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/jobcenter").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/jobcenter: %w\n%s", err, out)
		}
	}
	c, err := startCenter(bin, dir, o.conns)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	fmt.Fprintf(w, "api: the all-in-one program is up at %s (pid %d); setting up ...\n", c.url, c.cmd.Process.Pid)
	fx, err := c.setup(o.conns)
	if err != nil {
		return nil, fmt.Errorf("setup: %w (log: %s)", err, filepath.Join(dir, "jobcenter.log"))
	}

	s := &section{Name: "api",
		Title: "4. API under load (the all-in-one program, cmd/jobcenter: embedded NATS JetStream and FerretDB on SQLite)",
		Workload: fmt.Sprintf("Workload: %d concurrent connections (one goroutine each, keep-alive, each waiting for its answer "+
			"before the next request) for %s per run, median of %d runs; JOBCENTER_RATE_LIMIT=0; the load generator runs on "+
			"the same machine (its CPU is not the server's). Latency: request sent to answer read. Server CPU: the process's "+
			"user+system time ÷ wall time, in cores. The read project holds %s jobs (pid %q); the write project %d jobs plus one "+
			"job with %d runs in its journal; the Quartz tenant %q %d behaviours' schedules. Workloads run in the order listed, on one store.",
			o.conns, o.apiFor, o.runs, group(listJobs, 0), fx.pid, o.conns, journalRuns, quartzTenant, schedules),
		Columns: []string{"store jobs", "req/s", "p50", "p99", "errors (non-2xx)", "202 accepted", "server CPU", "server RSS"}}

	type workload struct {
		label    string
		req      string
		target   string
		met      func(rps, p99 float64) bool
		do       func(worker, i int, rng *rand.Rand) (int, error)
		addsJobs bool
		// rate, when not 0, paces the requests (see drive).
		rate float64
	}
	getJob := func(_, _ int, rng *rand.Rand) (int, error) {
		return c.call("GET", "/api/v1/jobs/"+fx.read[rng.IntN(len(fx.read))], readProject, "")
	}
	workloads := []workload{
		{label: "get job", req: "GET /api/v1/jobs/{id}, a random one of the read project's 10,000, as fast as the connections go",
			target: "≥ 10,000/s", met: func(r, _ float64) bool { return r >= 10000 }, do: getJob},
		{label: "get job, paced", req: fmt.Sprintf("the same requests sent at %s a second, each at its own instant; latency from that instant, so a request sent late because the connections were all waiting counts its wait", group(pacedGets, 0)),
			target: fmt.Sprintf("p99 ≤ 10 ms at %s/s", group(pacedGets, 0)), rate: pacedGets,
			met: func(r, p float64) bool { return r >= 0.99*pacedGets && p <= 10 }, do: getJob},
		{label: "list a project of 10,000 jobs", req: fmt.Sprintf("GET /api/v1/jobs?pid=…&page=N&size=%d, N a random page of the read project's %s jobs", listPage, group(listJobs, 0)),
			target: "p99 ≤ 50 ms", met: func(_, p float64) bool { return p <= 50 },
			do: func(_, _ int, rng *rand.Rand) (int, error) {
				page := 1 + rng.IntN(listJobs/listPage)
				return c.call("GET", fmt.Sprintf("/api/v1/jobs?pid=%s&page=%d&size=%d", fx.pid, page, listPage), readProject, "")
			}},
		{label: "Quartz status of 100 codes", req: fmt.Sprintf("POST /task/quartz/queryjobstatus, the %d behaviours of tenant %q", schedules, quartzTenant),
			target: "p99 ≤ 20 ms", met: func(_, p float64) bool { return p <= 20 },
			do: func(_, _ int, _ *rand.Rand) (int, error) {
				st, _, err := c.doAs("POST", "/task/quartz/queryjobstatus", "tecode", quartzTenant, fx.codes)
				return st, err
			}},
		{label: "journal page 1", req: fmt.Sprintf("GET /api/v1/jobs/{id}/journal?page=1&size=%d of a job with %d runs", journalPage, journalRuns),
			target: "p99 ≤ 20 ms", met: func(_, p float64) bool { return p <= 20 },
			do: func(_, _ int, _ *rand.Rand) (int, error) {
				return c.call("GET", fmt.Sprintf("/api/v1/jobs/%s/journal?page=1&size=%d", fx.journal, journalPage), writeProject, "")
			}},
		{label: "journal, last page", req: fmt.Sprintf("GET /api/v1/jobs/{id}/journal?page=%d&size=%d: its oldest runs", journalRuns/journalPage, journalPage),
			target: "p99 ≤ 20 ms", met: func(_, p float64) bool { return p <= 20 },
			do: func(_, _ int, _ *rand.Rand) (int, error) {
				return c.call("GET", fmt.Sprintf("/api/v1/jobs/%s/journal?page=%d&size=%d", fx.journal, journalRuns/journalPage, journalPage), writeProject, "")
			}},
		{label: "start/stop", req: "POST /api/v1/jobs/{id}/start, then /stop, in turn; each connection its own interval job (86,400 s)",
			target: "≥ 3,000/s, p99 ≤ 50 ms (writes)", met: func(r, p float64) bool { return r >= 3000 && p <= 50 },
			do: func(worker, i int, _ *rand.Rand) (int, error) {
				op := "/start"
				if i%2 == 1 {
					op = "/stop"
				}
				return c.call("POST", "/api/v1/jobs/"+fx.write[worker]+op, writeProject, "")
			}},
		{label: "add job", req: "POST /api/v1/jobs: an interval job (86,400 s, a snippet), stopped", addsJobs: true,
			target: "≥ 3,000/s, p99 ≤ 50 ms (writes)", met: func(r, p float64) bool { return r >= 3000 && p <= 50 },
			do: func(worker, i int, _ *rand.Rand) (int, error) {
				return c.call("POST", "/api/v1/jobs", addProject, fmt.Sprintf(
					`{"pid":"bench","name":"bench %d-%d","trigger":"interval","seconds":86400,"code":"return 1"}`, worker, i))
			}},
	}
	stored := listJobs + o.conns + 1 + schedules
	for _, wl := range workloads {
		if !strings.Contains(wl.label, o.apiMatch) {
			continue
		}
		var rps, p50, p99, accepted, cpu, rss, nerr []float64
		errs := map[int]int{}
		s.Notes = append(s.Notes, fmt.Sprintf("%s: %s", wl.label, wl.req))
		atStart := float64(stored)
		for i := range o.runs {
			fmt.Fprintf(w, "api: %s, run %d of %d ...\n", wl.label, i+1, o.runs)
			cpu0 := procCPU(c.cmd.Process.Pid)
			r := drive(o.conns, o.apiFor, wl.rate, wl.do)
			cpu1 := procCPU(c.cmd.Process.Pid)
			rps = append(rps, float64(r.ok+r.failed())/r.elapsed.Seconds())
			p50 = append(p50, ms(r.quantile(0.5)))
			p99 = append(p99, ms(r.quantile(0.99)))
			accepted = append(accepted, float64(r.status[http.StatusAccepted]))
			nerr = append(nerr, float64(r.failed()))
			cpu = append(cpu, (cpu1-cpu0).Seconds()/r.elapsed.Seconds())
			rss = append(rss, float64(procRSSKB(c.cmd.Process.Pid))/1024)
			for st, n := range r.status {
				if st < 200 || st > 299 {
					errs[st] += n
				}
			}
			if wl.addsJobs {
				stored += r.ok
			}
		}
		ev := newValue("", nerr)
		ev.Text = errorText(errs, o.runs)
		rv := row{Label: wl.label, Values: []value{newValue("", []float64{atStart}), newValue("/s", rps), newValue("ms", p50), newValue("ms", p99), ev,
			newValue("", accepted), newValue("cores", cpu), newValue("MiB", rss)}, Target: wl.target}
		if wl.met != nil {
			rv.Met = met(wl.met(rv.Values[1].Median, rv.Values[3].Median))
		}
		s.Rows = append(s.Rows, rv)
		if o.profile != "" {
			path, err := c.profile(o, wl.label, func(d time.Duration) { drive(o.conns, d, wl.rate, wl.do) })
			if err != nil {
				fmt.Fprintf(w, "api: no profile: %v\n", err)
			} else {
				s.Notes = append(s.Notes, fmt.Sprintf("profile of %q (an extra run, not measured): %s", wl.label, path))
			}
		}
	}
	s.Notes = append(s.Notes, "store jobs: jobs in the store when the workload's first run began; errors: summed over all runs; status 0 is a request that got no answer (the client's 30 s timeout, a refused connection)",
		"202 accepted (median of the runs): a write whose command was stored but which the trigger had not applied within JOBCENTER_APPLY_WAIT (2 s); counted as a success")
	return s, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func errorText(errs map[int]int, runs int) string {
	if len(errs) == 0 {
		return "none"
	}
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%d×%s", st, group(float64(errs[st]), 0)))
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" (%d runs)", runs)
}

// loadResult is what one run of a workload got.
type loadResult struct {
	ok      int
	status  map[int]int // every answer's status; 0 for no answer
	lat     []time.Duration
	elapsed time.Duration
}

func (r loadResult) failed() int {
	n := 0
	for st, c := range r.status {
		if st < 200 || st > 299 {
			n += c
		}
	}
	return n
}

func (r loadResult) quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat))*q+0.5) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

// drive runs conns workers for d, each calling do in a loop, and gathers their answers.
// With rate 0 each worker sends its next request as soon as it has the last answer: the
// most the server answers, its latency the queue that makes. With a rate, request i is
// due at start+i/rate and is sent by the first worker free, and its latency runs from
// that instant: a request that waited for a free connection counts its wait (no
// coordinated omission).
func drive(conns int, d time.Duration, rate float64, do func(worker, i int, rng *rand.Rand) (int, error)) loadResult {
	type part struct {
		lat    []time.Duration
		status map[int]int
	}
	parts := make([]part, conns)
	start := time.Now()
	deadline := start.Add(d)
	var next atomic.Int64
	var wg sync.WaitGroup
	for wk := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(wk), uint64(start.UnixNano())))
			p := part{status: map[int]int{}}
			for i := 0; time.Now().Before(deadline); i++ {
				t := time.Now()
				if rate > 0 {
					t = start.Add(time.Duration(float64(next.Add(1)-1) / rate * float64(time.Second)))
					if !t.Before(deadline) {
						break
					}
					time.Sleep(time.Until(t))
				}
				st, _ := do(wk, i, rng)
				p.lat = append(p.lat, time.Since(t))
				p.status[st]++
			}
			parts[wk] = p
		}()
	}
	wg.Wait()
	r := loadResult{status: map[int]int{}, elapsed: time.Since(start)}
	for _, p := range parts {
		r.lat = append(r.lat, p.lat...)
		for st, n := range p.status {
			r.status[st] += n
			if st >= 200 && st <= 299 {
				r.ok += n
			}
		}
	}
	slices.Sort(r.lat)
	return r
}

// startCenter starts the all-in-one program in dir, with env added to its settings.
func startCenter(bin, dir string, conns int, env ...string) (*center, error) {
	httpAddr, natsAddr := freeAddr(), freeAddr()
	if httpAddr == "" || natsAddr == "" {
		return nil, errors.New("no free port")
	}
	logf, err := os.Create(filepath.Join(dir, "jobcenter.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JOBCENTER_") && !strings.HasPrefix(kv, "NATS_URL=") && !strings.HasPrefix(kv, "MONGO_URI=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "JOBCENTER_DATA_DIR="+filepath.Join(dir, "data"), "JOBCENTER_HTTP_ADDR="+httpAddr,
		"JOBCENTER_NATS_LISTEN="+natsAddr, "JOBCENTER_RATE_LIMIT=0", "JOBCENTER_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &center{cmd: cmd, url: "http://" + httpAddr, nats: "nats://" + natsAddr, dir: dir, http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}}}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if st, _ := c.call("GET", "/readyz", "", ""); st == http.StatusOK {
			return c, nil
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("the all-in-one program was not ready within 90 s (log: %s)", logf.Name())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *center) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// call makes one request and reads its answer whole; the status is 0 without one.
func (c *center) call(method, path, project, body string) (int, error) {
	st, _, err := c.do(method, path, project, body)
	return st, err
}

func (c *center) do(method, path, project, body string) (int, []byte, error) {
	return c.doAs(method, path, "X-Project-Id", project, body)
}

// doAs makes a request as tenant, named in header (X-Project-Id, or Quartz's tecode),
// with more headers as name, value pairs.
func (c *center) doAs(method, path, header, tenant, body string, more ...string) (int, []byte, error) {
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if tenant != "" {
		req.Header.Set(header, tenant)
	}
	for i := 0; i+1 < len(more); i += 2 {
		req.Header.Set(more[i], more[i+1])
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// fixtures are the jobs the workloads use.
type fixtures struct {
	pid     string
	read    []string // the read project's jobs
	write   []string // one per connection, for start/stop
	journal string   // a job with journalRuns runs
	codes   string   // the body of a Quartz status of the schedules
}

func (c *center) setup(conns int) (fixtures, error) {
	fx := fixtures{pid: "bench-pid"}
	add := func(project, name string) (string, error) {
		st, b, err := c.do("POST", "/api/v1/jobs", project,
			fmt.Sprintf(`{"pid":%q,"name":%q,"trigger":"interval","seconds":86400,"code":"return 1"}`, fx.pid, name))
		if err != nil || st != http.StatusCreated {
			return "", fmt.Errorf("add job: %d %s %v", st, b, err)
		}
		var j struct{ ID string }
		if err := json.Unmarshal(b, &j); err != nil || j.ID == "" {
			return "", fmt.Errorf("add job: %s", b)
		}
		return j.ID, nil
	}
	// The read project's 1,000 jobs, 16 at a time.
	fx.read = make([]string, listJobs)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for wk := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := wk; i < listJobs; i += 16 {
				id, err := add(readProject, "read "+strconv.Itoa(i))
				mu.Lock()
				fx.read[i] = id
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return fx, first
	}
	for i := range conns {
		id, err := add(writeProject, "start-stop "+strconv.Itoa(i))
		if err != nil {
			return fx, err
		}
		fx.write = append(fx.write, id)
	}
	var codes []string
	for i := range schedules {
		code := fmt.Sprintf("bench-b%d", i)
		// On February 29th at noon only: no fire during the bench.
		st, b, err := c.doAs("POST", "/task/quartz/bizcronjob", "tecode", quartzTenant, fmt.Sprintf(
			`{"xw_quartz":{"opttype":"save","jobname":"s%d","cronexpression":"0 0 12 29 2 ?","bizcode":%q}}`, i, code))
		if err != nil || st != http.StatusOK {
			return fx, fmt.Errorf("save schedule: %d %s %v", st, b, err)
		}
		codes = append(codes, code)
	}
	fx.codes = fmt.Sprintf(`{"codes":%q,"jobtype":""}`, strings.Join(codes, ","))
	id, err := add(writeProject, "journal")
	if err != nil {
		return fx, err
	}
	fx.journal = id
	for range journalRuns {
		if st, b, err := c.do("POST", "/api/v1/jobs/"+id+"/exec", writeProject, ""); err != nil || st != http.StatusOK {
			return fx, fmt.Errorf("exec: %d %s %v", st, b, err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, b, _ := c.do("GET", "/api/v1/jobs/"+id+"/journal?page=1&size=20", writeProject, "")
		var page struct{ ResultCount int }
		_ = json.Unmarshal(b, &page)
		if page.ResultCount >= journalRuns {
			return fx, nil
		}
		if time.Now().After(deadline) {
			return fx, fmt.Errorf("the journal holds %d of %d runs after 2 minutes", page.ResultCount, journalRuns)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// profile runs the workload once more, for at most 10 s, with perf sampling the
// all-in-one process's stacks (perfRecord).
func (c *center) profile(o options, label string, load func(time.Duration)) (string, error) {
	if _, err := exec.LookPath("perf"); err != nil {
		return "", errors.New("perf is not installed")
	}
	d := min(o.apiFor, 10*time.Second)
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(strings.SplitN(label, ":", 2)[0]))
	done := make(chan struct{})
	go func() {
		defer close(done)
		load(d)
	}()
	path, err := perfRecord(o, c.cmd.Process.Pid, "api-"+name, d)
	<-done
	return path, err
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ""
	}
	defer l.Close()
	return l.Addr().String()
}

// procCPU is a process's user and system time so far, from /proc/<pid>/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: the fields that matter come after its ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// procRSSKB is a process's resident memory, from /proc/<pid>/status.
func procRSSKB(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}
