package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/mongo"
	mopts "go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/embedded"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// What sections 2, 3, 5 and 6 share: a data folder for the all-in-one program, seeded
// before the program starts; the program started, stopped and killed on it; and the
// broker and the store read from outside the program.

// The store's database and the collections mongostore keeps jobs and the journal in.
// mongostore does not export them; seed checks, through mongostore's own reads, that
// what it wrote is what the program will find.
const (
	storeDB       = "jobcenter"
	colJobs       = "jobs"
	colJournal    = "journal"
	colJournalRun = "journal_runs"
	seedBatch     = 5000
)

// Consumer names of the runs stream: the executors' and the journal projection's.
const (
	executorConsumer = "executor"
	journalConsumer  = "journal"
)

// stack is one data folder and the all-in-one program run on it. Its addresses stay the
// same across restarts, so that a client can find the program again.
type stack struct {
	bin      string
	dir      string
	natsAddr string
	httpAddr string
	env      []string
	keep     bool
	c        *center
	exited   chan struct{}
	// started is when the program was last executed.
	started time.Time
}

var builtOnce struct {
	sync.Once
	path string
	err  error
}

// centerBinary is -jobcenter, or the program built once for the whole bench.
func centerBinary(o options, w io.Writer) (string, error) {
	if o.jobcenter != "" {
		return o.jobcenter, nil
	}
	builtOnce.Do(func() {
		dir, err := os.MkdirTemp("", "jobcenter-bench-bin-")
		if err != nil {
			builtOnce.err = err
			return
		}
		builtOnce.path = filepath.Join(dir, "jobcenter")
		fmt.Fprintln(w, "go build ./cmd/jobcenter ...")
		if out, err := exec.Command("go", "build", "-o", builtOnce.path, "./cmd/jobcenter").CombinedOutput(); err != nil {
			builtOnce.err = fmt.Errorf("go build ./cmd/jobcenter: %w\n%s", err, out)
		}
	})
	return builtOnce.path, builtOnce.err
}

// newStack makes an empty data folder; remove it with remove.
func newStack(o options, w io.Writer, name string) (*stack, error) {
	bin, err := centerBinary(o, w)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "jobcenter-bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	s := &stack{bin: bin, dir: dir, env: o.env, keep: o.keep, natsAddr: freeAddr(), httpAddr: freeAddr()}
	if s.natsAddr == "" || s.httpAddr == "" {
		os.RemoveAll(dir)
		return nil, errors.New("no free port")
	}
	return s, nil
}

func (s *stack) data() string { return filepath.Join(s.dir, "data") }
func (s *stack) log() string  { return filepath.Join(s.dir, "jobcenter.log") }

// logTail is the last n bytes of the program's log: the data folder, log included, is
// removed when a section fails.
func (s *stack) logTail(n int64) string {
	f, err := os.Open(s.log())
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		_, _ = f.Seek(-n, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// remove stops the program if it runs and deletes the data folder: the runs of the steady
// section write gigabytes.
func (s *stack) remove() {
	if s.c != nil {
		s.kill()
	}
	if s.keep {
		fmt.Fprintf(os.Stderr, "bench: -keep: the data folder stays at %s\n", s.dir)
		return
	}
	os.RemoveAll(s.dir)
}

// diskMiB is the data folder's size.
func (s *stack) diskMiB() float64 {
	var n int64
	_ = filepath.Walk(s.data(), func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return float64(n) / (1 << 20)
}

// start runs the program on the data folder, as `make run` does (its defaults), with
// JOBCENTER_LOG_LEVEL=warn and -env, and waits until it answers /healthz.
func (s *stack) start() error {
	logf, err := os.OpenFile(s.log(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.bin)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JOBCENTER_") && !strings.HasPrefix(kv, "NATS_URL=") && !strings.HasPrefix(kv, "MONGO_URI=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "JOBCENTER_DATA_DIR="+s.data(), "JOBCENTER_HTTP_ADDR="+s.httpAddr,
		"JOBCENTER_NATS_LISTEN="+s.natsAddr, "JOBCENTER_RATE_LIMIT=0", "JOBCENTER_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.c = &center{cmd: cmd, url: "http://" + s.httpAddr, dir: s.dir, http: &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.exited = exited
	// /healthz, not /readyz: readiness waits for the trigger to have loaded every job
	// (minutes at 1,000,000), and says "no instance is pulling" while the executors are
	// all busy; the sections wait for what they need.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if st, _ := s.c.call("GET", "/healthz", "", ""); st == http.StatusOK {
			return nil
		}
		select {
		case <-exited:
			s.c = nil
			return fmt.Errorf("the all-in-one program exited at start; its log ends:\n%s", s.logTail(4000))
		default:
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("the all-in-one program did not answer /healthz within 3 minutes; its log ends:\n%s", s.logTail(4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *stack) pid() int { return s.c.cmd.Process.Pid }

// stop ends the program with SIGTERM (a clean shutdown), or kills it after 60 s.
func (s *stack) stop() {
	if s.c == nil {
		return
	}
	_ = s.c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		_ = s.c.cmd.Process.Kill()
		<-s.exited
	}
	s.c = nil
}

// kill is kill -9.
func (s *stack) kill() {
	if s.c == nil {
		return
	}
	_ = s.c.cmd.Process.Kill()
	<-s.exited
	s.c = nil
}

// dial connects to the program's broker from outside, as any subscriber would.
func (s *stack) dial() (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect("nats://"+s.natsAddr, nats.Name("jobcenter-bench"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// jobsHeld reads the active trigger's scheduler size from /metrics: every live job held,
// and those scheduled to fire.
func (s *stack) jobsHeld() (held, scheduled float64, ok bool) {
	m, ok := s.metrics("jobcenter_jobs{")
	if !ok {
		return 0, 0, false
	}
	ok = false
	for k, v := range m {
		switch {
		case strings.Contains(k, `state="held"`):
			held, ok = v, true
		case strings.Contains(k, `state="scheduled"`):
			scheduled = v
		}
	}
	return held, scheduled, ok
}

// waitImage waits until the running program has stored an image of its scheduler, and
// returns when it did.
func (s *stack) waitImage(limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if m, ok := s.metrics("jobcenter_scheduler_image_timestamp_seconds"); ok {
			for _, v := range m {
				if v > 0 {
					return time.UnixMilli(int64(v * 1000)), nil
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("no scheduler image stored within %s (log: %s)", limit, s.log())
}

// metrics reads the program's /metrics samples whose names begin with prefix, by the
// sample's name and labels.
func (s *stack) metrics(prefix string) (map[string]float64, bool) {
	st, b, err := s.c.do("GET", "/metrics", "", "")
	if err != nil || st != http.StatusOK {
		return nil, false
	}
	m := map[string]float64{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(line, prefix) || line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil && len(f) == 2 {
			m[f[0]] = v
		}
	}
	return m, true
}

// seedAndStart seeds n jobs made by mk, starts the program and waits until its scheduler
// holds them all, which it returns the time of.
func (s *stack) seedAndStart(w io.Writer, section string, n int, mk func(i int) job.Job) (time.Time, error) {
	t := time.Now()
	if err := s.seedStore(func(ctx context.Context, db *mongo.Database, ms *mongostore.Store) error {
		return insertJobs(ctx, ms, n, mk)
	}); err != nil {
		return time.Time{}, fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(w, "%s: seeded %s jobs in %s\n", section, group(float64(n), 0), time.Since(t).Round(time.Millisecond))
	if err := s.start(); err != nil {
		return time.Time{}, err
	}
	return s.waitLoaded(n, 10*time.Minute)
}

// waitLoaded waits until the scheduler holds n jobs and returns when it first saw that.
func (s *stack) waitLoaded(n int, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for {
		if held, _, ok := s.jobsHeld(); ok && held >= float64(n) {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			held, _, _ := s.jobsHeld()
			return time.Time{}, fmt.Errorf("the scheduler holds %.0f of %d jobs after %s (log: %s)", held, n, limit, s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// usage samples the program's CPU time and resident memory while a measure runs.
type usage struct {
	pid  int
	t0   time.Time
	cpu0 time.Duration
	mu   sync.Mutex
	rss  int64 // the most seen, KiB
	stop chan struct{}
	done chan struct{}
}

func watchUsage(pid int) *usage {
	u := &usage{pid: pid, t0: time.Now(), cpu0: procCPU(pid), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(u.done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			r := procRSSKB(pid)
			u.mu.Lock()
			u.rss = max(u.rss, r)
			u.mu.Unlock()
			select {
			case <-u.stop:
				return
			case <-t.C:
			}
		}
	}()
	return u
}

// end returns the cores used on average since watchUsage and the largest RSS in MiB.
func (u *usage) end() (cores, rssMiB float64) {
	cpu := procCPU(u.pid) - u.cpu0
	wall := time.Since(u.t0)
	close(u.stop)
	<-u.done
	return cpu.Seconds() / wall.Seconds(), float64(u.rss) / 1024
}

// floorSample is a consumer's ack floor (the stream sequence at and below which every
// message is acknowledged) and when it was read.
type floorSample struct {
	at    time.Time
	floor uint64
}

// floorWatch reads a consumer's ack floor every interval. The journal projection acks a
// message only once its records are written, so the first read at or past a message's
// sequence bounds from above when the message was journaled.
type floorWatch struct {
	mu      sync.Mutex
	samples []floorSample
	stop    context.CancelFunc
	done    chan struct{}
}

func watchFloor(js jetstream.JetStream, consumer string, every time.Duration) *floorWatch {
	ctx, cancel := context.WithCancel(context.Background())
	f := &floorWatch{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		var cons jetstream.Consumer
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if cons == nil {
				cons, _ = js.Consumer(ctx, contracts.StreamRuns, consumer)
			}
			if cons != nil {
				rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
				info, err := cons.Info(rctx)
				rcancel()
				if err == nil {
					f.mu.Lock()
					f.samples = append(f.samples, floorSample{at: time.Now(), floor: info.AckFloor.Stream})
					f.mu.Unlock()
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return f
}

func (f *floorWatch) end() { f.stop(); <-f.done }

// last is the latest floor read (0 if none yet).
func (f *floorWatch) last() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.samples) == 0 {
		return 0
	}
	return f.samples[len(f.samples)-1].floor
}

// when is the first read at which the floor covered seq.
func (f *floorWatch) when(seq uint64) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, _ := slices.BinarySearchFunc(f.samples, seq, func(s floorSample, seq uint64) int {
		if s.floor < seq {
			return -1
		}
		return 1
	})
	if i == len(f.samples) {
		return time.Time{}, false
	}
	return f.samples[i].at, true
}

// consumerFloor reads a consumer's ack floor and what it has still to do once.
func consumerState(ctx context.Context, js jetstream.JetStream, name string) (floor uint64, pending, ackPending int, err error) {
	cons, err := js.Consumer(ctx, contracts.StreamRuns, name)
	if err != nil {
		return 0, 0, 0, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	return info.AckFloor.Stream, int(info.NumPending), info.NumAckPending, nil
}

func lastSeq(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	st, err := js.Stream(ctx, contracts.StreamRuns)
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// lastFireSeq is the stream sequence of the last fire stored so far.
func lastFireSeq(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	seq, _, err := lastOn(ctx, js, contracts.FireSubjects)
	return seq, err
}

// lastOn is the stream sequence and store time of the last message on filter (0 if none).
func lastOn(ctx context.Context, js jetstream.JetStream, filter string) (uint64, time.Time, error) {
	st, err := js.Stream(ctx, contracts.StreamRuns)
	if err != nil {
		return 0, time.Time{}, err
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverLastPolicy,
	})
	if err != nil {
		return 0, time.Time{}, err
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, nats.ErrTimeout) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, err
	}
	md, err := msg.Metadata()
	if err != nil {
		return 0, time.Time{}, err
	}
	return md.Sequence.Stream, md.Timestamp, nil
}

// streamMsg is one message read back from the runs stream.
type streamMsg struct {
	subject string
	data    []byte
	seq     uint64
	stored  time.Time
}

// readBack opens the data folder's broker with a NATS server of the bench's own (the
// program must be stopped) and reads the runs stream's messages on filter from the first
// stored at or after from, in stream order, until fn returns false or the stream ends.
// Reading after the measure keeps the reading off the machine while the program is
// measured; the stored timestamps are the broker's own.
func (s *stack) readBack(filter string, from time.Time, fn func(m streamMsg) bool) error {
	ns, err := embedded.StartNATS("127.0.0.1:0", filepath.Join(s.data(), "nats"), nil)
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx := context.Background()
	// Stop at the filter's last message: after it, a pull would wait for ever.
	last, lastStored, err := lastOn(ctx, js, filter)
	if err != nil || last == 0 || lastStored.Before(from) {
		return err
	}
	st, err := js.Stream(ctx, contracts.StreamRuns)
	if err != nil {
		return err
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &from,
	})
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return err
	}
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			return err
		}
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		if !fn(streamMsg{subject: msg.Subject(), data: msg.Data(), seq: md.Sequence.Stream, stored: md.Timestamp}) || md.Sequence.Stream >= last {
			return nil
		}
	}
}

// fireFields are what a read-back needs of a fire.
type fireFields struct {
	FireID      string    `json:"fire_id"`
	JobID       string    `json:"job_id"`
	ScheduledAt time.Time `json:"scheduled_at"`
}

// runFields are what a read-back needs of a run report.
type runFields struct {
	FireID    string     `json:"fire_id"`
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
}

// seedStore opens the data folder's store with a FerretDB of the bench's own, before the
// program first starts, and hands fn the database the program will use.
func (s *stack) seedStore(fn func(ctx context.Context, db *mongo.Database, st *mongostore.Store) error) error {
	f, err := embedded.StartFerret("127.0.0.1:0", filepath.Join(s.data(), "ferret"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer f.Stop()
	ctx := context.Background()
	client, err := mongo.Connect(mopts.Client().ApplyURI(f.URI()).SetTimeout(10 * time.Minute))
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(ctx) }()
	st, err := mongostore.Open(ctx, f.URI(), storeDB, 10*time.Minute)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close(ctx) }()
	// The indexes the program declares at start, made while the collections are empty as
	// in a store that grew through the program (made at the first start over 1,000,000
	// documents, they take longer than the program's store timeout).
	if err := st.EnsureIndexes(ctx); err != nil {
		return err
	}
	return fn(ctx, client.Database(storeDB), st)
}

// insertJobs writes n jobs made by mk (each of version 1) as the program's store keeps
// them, through mongostore's own writes, seedBatch at a time: each batch is one insert.
// Key documents (only the api's lookups by jobId need them) are not written.
func insertJobs(ctx context.Context, st *mongostore.Store, n int, mk func(i int) job.Job) error {
	ws := make([]mongostore.JobWrite, 0, seedBatch)
	for i := range n {
		j := mk(i)
		if j.Version != 1 {
			return fmt.Errorf("insertJobs: job %d is of version %d; only new jobs (1) are inserted at once", i, j.Version)
		}
		ws = append(ws, mongostore.JobWrite{Job: j})
		if len(ws) == seedBatch || i == n-1 {
			if err := st.PutJobs(ctx, ws); err != nil {
				return fmt.Errorf("insert jobs: %w", err)
			}
			ws = ws[:0]
		}
	}
	// The program must read the jobs as the jobs mk made.
	for _, i := range []int{n - 1, n / 2} {
		want := mk(i)
		got, err := st.GetJob(ctx, want.ID)
		if err != nil {
			return fmt.Errorf("read back job %d: %w", i, err)
		}
		g := got.Job
		if g.Key != want.Key || g.Spec.Name != want.Spec.Name || !g.StartedAt.Equal(want.StartedAt.Truncate(time.Millisecond)) ||
			g.Spec.Trigger.Every != want.Spec.Trigger.Every || !g.Spec.Trigger.RunAt.Equal(want.Spec.Trigger.RunAt.Truncate(time.Millisecond)) ||
			g.State != want.State || !reflect.DeepEqual(g.Spec.Target, want.Spec.Target) {
			return fmt.Errorf("job %d reads back as %+v, not %+v", i, g, want)
		}
	}
	return nil
}

// benchID is a job id shaped as the api makes them (a UUID), numbered i, of the section
// numbered sec.
func benchID(sec, i int) string {
	return fmt.Sprintf("b%07d-0000-4000-8000-%012d", sec, i)
}

func benchKey(sec, i int) string {
	return fmt.Sprintf("c%07d-0000-4000-8000-%012d", sec, i)
}

// benchJob is a started job of the default policy running a snippet that does nothing.
func benchJob(sec, i int, tenant string, tr job.Trigger, startedAt, created time.Time) job.Job {
	return job.Job{
		ID: benchID(sec, i), Key: benchKey(sec, i), Tenant: tenant,
		Spec: job.Spec{Pid: "bench", Name: "bench " + strconv.Itoa(i), Trigger: tr,
			Target: job.Target{Code: "pass"}, Policy: job.DefaultPolicy()},
		State: job.Started, StartedAt: startedAt,
		CreatedAt: created, UpdatedAt: created, Version: 1, LastCommand: "bench-seed",
	}
}

// latencies are one run's delays of n expected events, some perhaps never seen.
type latencies struct {
	d        []time.Duration // sorted
	expected int
}

func newLatencies(d []time.Duration, expected int) latencies {
	slices.Sort(d)
	return latencies{d: d, expected: max(expected, len(d))}
}

// quantile in ms, +Inf when it falls among the events never seen.
func (l latencies) quantile(q float64) float64 {
	if l.expected == 0 {
		return math.Inf(1)
	}
	i := int(math.Ceil(float64(l.expected)*q)) - 1
	i = min(max(i, 0), l.expected-1)
	if i >= len(l.d) {
		return math.Inf(1)
	}
	return ms(l.d[i])
}

// within counts the events seen within d.
func (l latencies) within(d time.Duration) int {
	n, _ := slices.BinarySearch(l.d, d+1)
	return n
}

// msValue is a latency figure of several runs; a run whose quantile was never seen is
// recorded as -1 (JSON has no infinity), and a median among them reads notSeen.
func msValue(runs []float64, notSeen string) value {
	v := newValue("ms", runs)
	if math.IsInf(v.Median, 1) {
		v.Text = notSeen
	}
	if math.IsInf(v.Median, 1) {
		v.Median = -1
	}
	for i, r := range v.Runs {
		if math.IsInf(r, 1) {
			v.Runs[i] = -1
		}
	}
	return v
}

// textValue is a figure best said in words, with the run figures kept for the JSON.
func textValue(unit string, runs []float64, text string) value {
	v := newValue(unit, runs)
	v.Text = text
	return v
}

// perfRecord samples the program's stacks with perf for d and writes perf's report
// beside the recording, headed by the CPU by part (cpuByPart); it returns the report's
// path.
func perfRecord(o options, pid int, name string, d time.Duration) (string, error) {
	perf, err := exec.LookPath("perf")
	if err != nil {
		return "", errors.New("perf is not installed")
	}
	data := filepath.Join(o.profile, name+".perf.data")
	ctx, cancel := context.WithTimeout(context.Background(), d+2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, perf, "record", "-F", "499", "-g", "-o", data, "-p", strconv.Itoa(pid),
		"--", "sleep", strconv.Itoa(int(d/time.Second))).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("perf record: %w: %s", err, out)
	}
	report := filepath.Join(o.profile, name+".txt")
	rep, err := exec.CommandContext(ctx, perf, "report", "-i", data, "--stdio", "--no-children", "--sort", "symbol",
		"--percent-limit", "0.5", "-g", "none").Output()
	if err != nil {
		return "", fmt.Errorf("perf report: %w", err)
	}
	parts, err := cpuByPart(ctx, perf, data)
	if err != nil {
		// perf's own report is still worth having.
		parts = fmt.Sprintf("# CPU by part: not computed: %v\n#\n", err)
	}
	return report, os.WriteFile(report, append([]byte(parts), rep...), 0o644)
}

// decode is json.Unmarshal for read-backs, where a message that does not decode is a
// bug of the bench or the program, worth stopping for.
func decode(m streamMsg, v any) error {
	if err := json.Unmarshal(m.data, v); err != nil {
		return fmt.Errorf("message %d on %s: %w", m.seq, m.subject, err)
	}
	return nil
}

// sleepUntil sleeps until t.
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// printLogSummary says what the program logged at warn and above, counted by service,
// part and message: a failing projection shows here before it shows in the figures.
func printLogSummary(w io.Writer, s *stack) {
	f, err := os.Open(s.log())
	if err != nil {
		return
	}
	defer f.Close()
	counts := map[string]int{}
	examples := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var l struct {
			Level, Service, Part, Message, Error string
		}
		// A line that is not JSON (FerretDB's own, a panic) is not counted.
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Level == "" {
			continue
		}
		k := fmt.Sprintf("%s %s/%s: %s", l.Level, l.Service, l.Part, l.Message)
		counts[k]++
		if examples[k] == "" {
			examples[k] = l.Error
		}
	}
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b string) int { return counts[b] - counts[a] })
	for i, k := range keys {
		if i == 6 {
			fmt.Fprintf(w, "  log: … %d more kinds\n", len(keys)-i)
			break
		}
		e := examples[k]
		if len(e) > 160 {
			e = e[:160] + "…"
		}
		fmt.Fprintf(w, "  log: %d× %s (%s)\n", counts[k], k, e)
	}
}

// settings says how the program was configured, for a workload's text.
func settings(o options) string {
	if len(o.env) == 0 {
		return "The program as `make run` runs it (JOBCENTER_LOG_LEVEL=warn)"
	}
	return "The program as `make run` runs it (JOBCENTER_LOG_LEVEL=warn) but with " + strings.Join(o.env, ", ") + " (-env: not make run's settings)"
}
