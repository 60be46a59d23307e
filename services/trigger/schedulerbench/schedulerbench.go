// Package schedulerbench measures the trigger's scheduler on its own, without I/O: what a
// scheduled job costs in memory, how many schedule operations a second its loop applies,
// and how late it hands fires to its Publisher. It drives the scheduler only through the
// scheduler's own API (Load, Put, Len, Run), with a Publisher and a Finisher that do
// nothing but record, so the figures are the scheduler's and nothing else's.
//
// It is a package rather than a test file because `make bench` (scripts/bench, in the
// root module) runs it and prints and stores its figures, and a program cannot import a
// test file nor, from another module, an internal package; living in the trigger module,
// this package can import internal/scheduler. It holds measurement code only: nothing in
// the trigger imports it. The scheduler's `go test -bench` benchmarks share its workload.
package schedulerbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
)

// CronExpressions is how many distinct cron expressions the workload's cron jobs share:
// below the 4,096 parsed expressions shared/job keeps, as a real population of Quartz
// schedules (mostly the same few dozen shapes) would be.
const CronExpressions = 2000

// Zone is the cron jobs' time zone, the default JOBCENTER_TZ.
const Zone = "Asia/Shanghai"

// Jobs returns n started jobs shaped like jobs loaded from the store: even ones the SDK's
// interval jobs running a snippet, odd ones Quartz cron schedules running a behaviour.
// Every string is a fresh allocation, as decoding each job from the store makes it. No
// job fires within an hour of start: intervals are 1 to 24 hours from start, and each
// cron expression fires once a year, on the first of a month six months after start's.
// Three jobs in ten use a schedule feature (Mix). first numbers the jobs, so that
// workloads built apart do not share ids.
func Jobs(n, first int, start time.Time) []job.Job {
	jobs := make([]job.Job, n)
	month := (int(start.Month())+5)%12 + 1
	for i := range jobs {
		k := first + i
		j := job.Job{
			ID:          uuid(k, 1),
			Tenant:      uuid(k/1000, 2), // a thousand jobs a tenant
			State:       job.Started,
			StartedAt:   start,
			CreatedAt:   start.Add(-time.Hour),
			UpdatedAt:   start,
			CreatedBy:   "fa11e670" + strconv.Itoa(k%10),
			UpdatedBy:   "fa11e670" + strconv.Itoa(k%10),
			Version:     2,
			LastCommand: hex32(k, 3),
			Spec:        job.Spec{Policy: job.DefaultPolicy()},
		}
		if k%2 == 0 {
			j.Key = hex32(k, 4)
			j.Spec.Pid = uuid(k/1000, 5)
			j.Spec.Name = "SDK周期任务 " + strconv.Itoa(k)
			j.Spec.Description = "SDK周期任务, description"
			j.Spec.Trigger = job.Trigger{Kind: job.Interval, Every: time.Hour + time.Duration(k%82800)*time.Second}
			j.Spec.Target.Code = `log_print("周期任务", "INFO")` + " " // a fresh string
		} else {
			c := k % CronExpressions
			j.Key = "quartz-" + hex32(k, 4)
			j.Spec.Name = "调度名称 " + strconv.Itoa(k)
			j.Spec.Trigger = job.Trigger{Kind: job.Cron, Zone: Zone,
				Cron: fmt.Sprintf("%d %d %d 1 %d ?", c%60, c/60%60, c%24, month)}
			j.Spec.Target.BizCode = strconv.Itoa(1202494946997833818 + k)
		}
		mix(&j, k, start)
		jobs[i] = j
	}
	return jobs
}

// Mix says which schedule features the workload's jobs use, by k mod 20: a lifetime on
// cron jobs 1 (one of 50 end dates) and interval jobs 8, a jitter on cron jobs 3 and
// interval jobs 2, a fixed delay on interval jobs 4, an overlap policy on interval jobs 6.
const Mix = "3 jobs in 10 with a schedule feature: a lifetime (1 in 10, among 50 end dates for crons), a jitter (1 in 10), " +
	"a fixed delay (1 in 20), an overlap policy (1 in 20)"

func mix(j *job.Job, k int, start time.Time) {
	tr, p := &j.Spec.Trigger, &j.Spec.Policy
	switch k % 20 {
	case 1:
		tr.End = start.AddDate(1, 0, 35+k/20%50)
	case 8:
		tr.End = start.AddDate(0, 0, 30)
	case 2:
		tr.Jitter = 5 * time.Minute
	case 3:
		tr.Jitter = time.Minute
	case 4:
		tr.FixedDelay = true
	case 6:
		p.Overlap = job.OverlapBufferOne
	}
}

// Every returns n started interval jobs (the Jobs shape) firing every period; Anchor
// says when.
func Every(n, offset int, period time.Duration) []job.Job {
	jobs := Jobs(n, offset, time.Time{})
	for i := range jobs {
		jobs[i].Spec.Trigger = job.Trigger{Kind: job.Interval, Every: period}
		jobs[i].Spec.Target = job.Target{Code: `log_print("周期任务", "INFO")`}
	}
	return jobs
}

// Anchor starts interval jobs so that job i first fires at first + i·spread/len(jobs):
// spread 0 makes them all due at once (as cron jobs on the same second are), spread =
// their period spreads them evenly over it.
func Anchor(jobs []job.Job, spread time.Duration, first time.Time) {
	for i := range jobs {
		jobs[i].StartedAt = first.Add(-jobs[i].Spec.Trigger.Every + spread*time.Duration(i)/time.Duration(len(jobs)))
	}
}

func uuid(k, salt int) string {
	h := hex32(k, salt)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

func hex32(k, salt int) string {
	x := uint64(k)*0x9e3779b97f4a7c15 + uint64(salt)*0xbf58476d1ce4e5b9
	y := x*0x94d049bb133111eb + 0x2545f4914f6cdd1d
	return fmt.Sprintf("%016x%016x", x, y)
}

// Discard is a Publisher and Finisher that drops what it is given.
type Discard struct{}

// Publish drops the fire.
func (Discard) Publish(contracts.Fire) {}

// Finish drops the job.
func (Discard) Finish(job.Job) {}

// New returns a scheduler over clk that hands its fires to pub and drops its finished
// jobs, with the trigger's default policy and nothing logged or counted.
func New(clk clock.Clock, pub scheduler.Publisher) *scheduler.Scheduler {
	return scheduler.New(scheduler.Config{Clock: clk, Publisher: pub, Finisher: Discard{},
		Policy: scheduler.Policy{MaxCatchUp: 100}, ExecTimeout: 30 * time.Second, Log: zerolog.Nop()})
}

// Load loads jobs into s as the trigger does at start, none fired yet.
func Load(s *scheduler.Scheduler, jobs []job.Job) {
	for _, j := range jobs {
		s.Load(j, job.Progress{})
	}
}

// Memory is what n scheduled jobs cost, measured as the Go heap in use after a
// collection (runtime.MemStats.HeapInuse) before and after loading them.
type Memory struct {
	Jobs int
	// PerJob is everything a job costs while scheduled: the scheduler's structures and
	// the job's own strings, which the scheduler keeps alive.
	PerJob float64
	// PerJobLive is the same counted in live bytes (MemStats.HeapAlloc after a
	// collection): PerJob less the free room in the spans the heap holds.
	PerJobLive float64
	// PerJobStructures is the scheduler's part alone, in live bytes, measured with the
	// built jobs still alive: its entry, record, index and heap slots and its share of
	// what jobs share (HeapInuse cannot tell it, as Load reuses the room the building of
	// the jobs left free). The scheduler keeps none of the jobs' own strings, so this is
	// PerJobLive again.
	PerJobStructures float64
	// LoadPerSecond is the rate of Load, the start-up path (no hand-over: before Run).
	LoadPerSecond float64
}

// MeasureMemory loads n Jobs into a scheduler on a fake clock and reports their cost.
func MeasureMemory(n int) Memory {
	start := time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)
	h0 := heap()
	jobs := Jobs(n, 0, start)
	h1 := heap()
	s := New(clock.NewFake(start), Discard{})
	t := time.Now()
	for _, j := range jobs {
		s.Load(j, job.Progress{})
	}
	took := time.Since(t)
	h2 := heap()
	runtime.KeepAlive(jobs) // until h2: the copies the scheduler made are what it adds
	jobs = nil
	h3 := heap()
	runtime.KeepAlive(s)
	per := func(a, b uint64) float64 { return float64(int64(b)-int64(a)) / float64(n) }
	return Memory{Jobs: n,
		PerJob:           per(h0.HeapInuse, h3.HeapInuse),
		PerJobLive:       per(h0.HeapAlloc, h3.HeapAlloc),
		PerJobStructures: per(h1.HeapAlloc, h2.HeapAlloc),
		LoadPerSecond:    float64(n) / took.Seconds()}
}

// heap collects garbage, then reads the heap's figures.
func heap() runtime.MemStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// Op is one kind of schedule operation, as the trigger's command path makes it: a Put
// of the job as the command left it.
type Op string

// The operations MeasureOps times.
const (
	Schedule   Op = "schedule"   // Put of a new started job (an add with start, a start)
	Reschedule Op = "reschedule" // Put of a started job with a new start (an update)
	Unschedule Op = "unschedule" // Put of the job stopped (a stop): held, not queued
	Remove     Op = "remove"     // Put of the job deleted: no longer held
)

// Ops lists the operations in the order MeasureOps applies them.
var Ops = []Op{Schedule, Reschedule, Unschedule, Remove}

// MeasureOps loads held Jobs into a running scheduler on a fake clock (nothing falls
// due), then for each operation Puts n further jobs from one goroutine, as the trigger's
// command applier does, and waits until the loop has applied the last: Put compiles
// each job on the calling goroutine and queues it for the loop, so the rate includes
// both, the hand-over and the loop's work. It returns operations per second by
// operation.
func MeasureOps(held, n int) map[Op]float64 {
	start := time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)
	s := New(clock.NewFake(start), Discard{})
	for _, j := range Jobs(held, 0, start) {
		s.Load(j, job.Progress{})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	s.Len(ctx) // the loop is running

	jobs := Jobs(n, held, start)
	runtime.GC()
	out := map[Op]float64{}
	for _, op := range Ops {
		for i := range jobs {
			switch op {
			case Reschedule:
				jobs[i].StartedAt = start.Add(time.Minute)
				jobs[i].Version++
			case Unschedule:
				jobs[i].State = job.Stopped
			case Remove:
				jobs[i].State = job.Deleted
			}
		}
		t := time.Now()
		for _, j := range jobs {
			s.Put(j)
		}
		s.Len(ctx) // ops are applied in order: when this answers, every Put was applied
		out[op] = float64(n) / time.Since(t).Seconds()
	}
	return out
}

// Image is what an image of the scheduler costs with n jobs held (the trigger stores one
// every JOBCENTER_IMAGE_INTERVAL; a start takes it up instead of loading every job).
type Image struct {
	// Cut is how long the loop is held while it copies its table.
	Cut time.Duration
	// Write is writing the image out (to memory here), off the loop; Bytes its size.
	Write time.Duration
	Bytes int
	// Import is taking it up into a new scheduler, as a start does.
	Import time.Duration
}

// MeasureImage loads n Jobs into a running scheduler on a fake clock, then cuts, writes
// and imports an image of it.
func MeasureImage(n int) (Image, error) {
	start := time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	s := New(clk, Discard{})
	Load(s, Jobs(n, 0, start))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	s.Len(ctx) // the loop is running
	runtime.GC()
	var m Image
	t := time.Now()
	im, err := s.Cut(ctx)
	if err != nil {
		return m, err
	}
	m.Cut = time.Since(t)
	var buf bytes.Buffer
	t = time.Now()
	if _, err := im.WriteTo(&buf); err != nil {
		return m, err
	}
	m.Write, m.Bytes = time.Since(t), buf.Len()
	runtime.GC()
	t = time.Now()
	got, err := New(clk, Discard{}).Import(&buf)
	if err != nil {
		return m, err
	}
	if got != n {
		return m, fmt.Errorf("image: %d jobs taken up of %d", got, n)
	}
	m.Import = time.Since(t)
	return m, nil
}

// Lateness is how late fires reached the Publisher: from each fire's scheduled instant
// to Publish being called with it, on the real clock.
type Lateness struct {
	// Expected is the fires scheduled in the measured window; Handed those published.
	Expected, Handed    int
	P50, P99, P999, Max time.Duration
	// GCs is how many garbage collections ended during the window.
	GCs uint32
	// Stolen is the CPU time the hypervisor took from the machine's CPUs during the
	// window, all CPUs together (Linux's steal time; 0 where it cannot be read): a
	// virtual machine's CPU taken away stops the loop whatever it does.
	Stolen time.Duration
}

// MeasureLateness runs a scheduler on the real clock holding idle Jobs that do not fall
// due and firing jobs due every second (Every, spread over the second as given), and
// records the lateness of every fire scheduled in the window of d that follows a second
// of warm-up.
func MeasureLateness(idle, firing int, spread, d time.Duration) (Lateness, error) {
	rec := &lateness{}
	s := New(clock.Real{}, rec)
	for _, j := range Jobs(idle, 0, time.Now()) {
		s.Load(j, job.Progress{})
	}
	jobs := Every(firing, idle, time.Second)
	runtime.GC()
	// The first fire comes two to three seconds from now: time to load and start the loop.
	first := time.Now().Truncate(time.Second).Add(3 * time.Second)
	Anchor(jobs, spread, first)
	for _, j := range jobs {
		s.Load(j, job.Progress{})
	}
	jobs = nil
	rec.from, rec.to = first.Add(time.Second), first.Add(time.Second+d)
	rec.got = make([]time.Duration, 0, firing*int(d/time.Second+1))
	rec.done = make(chan struct{})
	if late := time.Since(first); late > -500*time.Millisecond {
		return Lateness{}, fmt.Errorf("loading took too long: the first fire is %s away", -late)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = s.Run(ctx) }()
	time.Sleep(time.Until(rec.from))
	stolen0 := stolen()
	select {
	case <-rec.done:
	case <-time.After(time.Until(rec.to) + 30*time.Second):
	}
	stolen1 := stolen()
	cancel()
	<-stopped
	runtime.ReadMemStats(&after)
	got := rec.got
	slices.Sort(got)
	l := Lateness{Expected: firing * int(d/time.Second), Handed: len(got), GCs: after.NumGC - before.NumGC,
		Stolen: stolen1 - stolen0}
	if len(got) > 0 {
		l.P50, l.P99, l.P999, l.Max = Quantile(got, 0.5), Quantile(got, 0.99), Quantile(got, 0.999), got[len(got)-1]
	}
	return l, nil
}

// stolen reads the CPU time the hypervisor has taken from this machine's CPUs since
// boot: the steal column of /proc/stat, in the kernel's 100 ticks a second.
func stolen() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	ticks, err := strconv.ParseInt(f[8], 10, 64)
	if err != nil {
		return 0
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// lateness is a Publisher that records how late each fire in [from, to) arrived. The
// scheduler calls it from its loop only, so it needs no lock.
type lateness struct {
	from, to time.Time
	got      []time.Duration
	done     chan struct{}
	closed   bool
}

func (r *lateness) Publish(f contracts.Fire) {
	now := time.Now()
	switch {
	case f.ScheduledAt.Before(r.from):
	case f.ScheduledAt.Before(r.to):
		r.got = append(r.got, now.Sub(f.ScheduledAt))
	case !r.closed:
		r.closed = true
		close(r.done)
	}
}

// Quantile returns the q-quantile of sorted (nearest rank).
func Quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
