package scheduler_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
)

var t0 = time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)

var policy = scheduler.Policy{MaxCatchUp: 3}

func intervalJob(every time.Duration, coalesce bool) *job.Job {
	return &job.Job{ID: "j", Tenant: "t", State: job.Started, StartedAt: t0,
		Spec: job.Spec{Name: "n", Trigger: job.Trigger{Kind: job.Interval, Every: every}, Target: job.Target{Code: "x"},
			Policy: job.Policy{Coalesce: coalesce, MaxInstances: 1}}}
}

func secs(ts []time.Time) []int {
	out := make([]int, len(ts))
	for i, t := range ts {
		out[i] = int(t.Sub(t0) / time.Second)
	}
	return out
}

func TestDueRunsACoalescingJobOnceForAllItsDueInstantsAndOthersEachUpToABound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		coalesce    bool
		next, now   time.Duration
		wantFires   []int
		wantNext    int
		wantDropped int
	}{
		{"on time", true, 10 * time.Second, 10 * time.Second, []int{10}, 20, 0},
		{"late, coalescing: two due at once run once", true, 10 * time.Second, 24 * time.Second, []int{20}, 30, 1},
		{"after downtime, coalescing: one catch-up fire", true, 10 * time.Second, 100 * time.Second, []int{100}, 110, 9},
		{"after a long downtime, coalescing: still one", true, 10 * time.Second, 10 * 24 * time.Hour, []int{864000}, 864010, 86399},
		{"late, not coalescing: each", false, 10 * time.Second, 24 * time.Second, []int{10, 20}, 30, 0},
		{"after downtime, not coalescing: each up to the bound", false, 10 * time.Second, 100 * time.Second, []int{10, 20, 30}, 110, 7},
		{"not yet due", true, 10 * time.Second, 9 * time.Second, []int{}, 10, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fires, next, ok, dropped := scheduler.Due(intervalJob(10*time.Second, tc.coalesce), t0.Add(tc.next), t0.Add(tc.now), policy)
			if !ok || int(next.Sub(t0)/time.Second) != tc.wantNext || dropped != tc.wantDropped || !equal(secs(fires), tc.wantFires) {
				t.Fatalf("fires %v next %v dropped %d; want %v, %d, %d", secs(fires), next.Sub(t0), dropped, tc.wantFires, tc.wantNext, tc.wantDropped)
			}
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// recorder is a Publisher and Finisher that remembers what it was given.
type recorder struct {
	mu       sync.Mutex
	fires    []contracts.Fire
	finished []string
	jobs     []job.Job // as finished
}

func (r *recorder) Publish(f contracts.Fire) {
	r.mu.Lock()
	r.fires = append(r.fires, f)
	r.mu.Unlock()
}
func (r *recorder) Finish(j job.Job) {
	r.mu.Lock()
	r.finished = append(r.finished, j.ID)
	r.jobs = append(r.jobs, j)
	r.mu.Unlock()
}
func (r *recorder) snapshot() ([]contracts.Fire, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]contracts.Fire(nil), r.fires...), append([]string(nil), r.finished...)
}

// The loop's tests run in a synctest bubble, on its clock: time there moves only when
// every goroutine in the bubble waits, so a test decides when time passes, and after
// synctest.Wait the loop has done all it will until time moves again.

// start runs, in t's synctest bubble, a scheduler on the bubble's clock moved to t0,
// holding load as stored jobs that never fired, and recording what it publishes and
// finishes. Its loop ends with the test.
func start(t *testing.T, load ...job.Job) (*scheduler.Scheduler, *recorder) {
	t.Helper()
	rec := &recorder{}
	s := startAt(t, t0, rec, func(s *scheduler.Scheduler) {
		for _, j := range load {
			s.Load(j, job.Progress{})
		}
	})
	return s, rec
}

// startAt is start on the bubble's clock moved to now, publishing and finishing to pf,
// loaded by load before its loop runs.
func startAt(t *testing.T, now time.Time, pf interface {
	scheduler.Publisher
	scheduler.Finisher
}, load func(*scheduler.Scheduler)) *scheduler.Scheduler {
	t.Helper()
	// Made inside the bubble: waiting on a channel made outside it is not durable.
	s := scheduler.New(scheduler.Config{Clock: clock.Real{}, Sleep: time.Sleep, Publisher: pf, Finisher: pf, Policy: policy,
		ExecTimeout: time.Second, Log: zerolog.Nop()})
	load(s)
	time.Sleep(now.Sub(time.Now()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	// A bubble's cleanups run inside it: the loop has returned before the bubble ends.
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// advance moves the bubble's clock on by d and lets the loop do all it will by then.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// settled fails the test, naming what, unless cond holds once the bubble is idle: with
// every goroutine waiting, a condition that does not hold now never will.
func settled(t *testing.T, what string, cond func() bool) {
	t.Helper()
	synctest.Wait()
	if !cond() {
		t.Fatalf("not so once the loop was idle: %s", what)
	}
}

func TestTheLoopFiresEachIntervalOnceWithNumberedRunsAsTheClockMoves(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, rec := start(t)
		s.Put(*intervalJob(time.Second, true))
		held := func() bool { h, q := s.Len(context.Background()); return h == 1 && q == 1 }
		settled(t, "the job queued", held)
		for i := 1; i <= 5; i++ {
			advance(time.Second)
			settled(t, fmt.Sprintf("fire %d, on time", i), func() bool { f, _ := rec.snapshot(); return len(f) == i })
		}
		fires, _ := rec.snapshot()
		for i, f := range fires {
			want := t0.Add(time.Duration(i+1) * time.Second)
			if !f.ScheduledAt.Equal(want) || !f.FiredAt.Equal(want) || f.Seq != int64(i+1) || f.FireID != job.FireID("j", want) || f.JournalID != job.JournalID("j", int64(i+1)) || f.RunType != contracts.RunTypeTrigger {
				t.Fatalf("fire %d: %+v", i, f)
			}
		}
	})
}

func TestStoppingOrDeletingAJobEndsItsFires(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, rec := start(t)
		j := intervalJob(time.Second, true)
		s.Put(*j)
		settled(t, "queued", func() bool { _, q := s.Len(context.Background()); return q == 1 })
		stopped := *j
		stopped.State = job.Stopped
		s.Put(stopped)
		settled(t, "unqueued", func() bool { h, q := s.Len(context.Background()); return h == 1 && q == 0 })
		advance(10 * time.Second)
		if f, _ := rec.snapshot(); len(f) != 0 {
			t.Fatalf("a stopped job fired: %+v", f)
		}
		started := *j
		started.StartedAt = t0.Add(10 * time.Second)
		s.Put(started)
		advance(time.Second)
		settled(t, "fired once started again", func() bool { f, _ := rec.snapshot(); return len(f) == 1 })
		deleted := *j
		deleted.State = job.Deleted
		s.Put(deleted)
		settled(t, "removed", func() bool { h, _ := s.Len(context.Background()); return h == 0 })
		advance(10 * time.Second)
		if f, _ := rec.snapshot(); len(f) != 1 {
			t.Fatalf("a deleted job fired: %+v", f[1:])
		}
	})
}

func TestAnExecFiresOnceNowWithTheNextRunNumberAndLeavesTheScheduleAlone(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := intervalJob(time.Minute, true)
		j.State = job.Stopped
		s, _ := start(t, *j)
		f, ok := s.FireNow(context.Background(), "j", "cmd1")
		if !ok || f.FireID != job.ManualFireID("j", "cmd1") || f.RunType != contracts.RunTypeManual || f.Seq != 1 || !f.ScheduledAt.Equal(t0) {
			t.Fatalf("exec fire: %+v", f)
		}
		// A fire that was not stored gives its run number back.
		s.Unfire("j", 1)
		if f, _ := s.FireNow(context.Background(), "j", "cmd2"); f.Seq != 1 {
			t.Fatalf("run number after Unfire: %d, want 1", f.Seq)
		}
		if _, ok := s.FireNow(context.Background(), "nope", "cmd3"); ok {
			t.Fatal("exec of an unknown job")
		}
		if _, q := s.Len(context.Background()); q != 0 {
			t.Fatal("an exec must not start a stopped job")
		}
	})
}

func TestADateJobFiresOnceThenAsksToBeFinished(t *testing.T) {
	t.Parallel()
	j := job.Job{ID: "d", Tenant: "t", State: job.Started, StartedAt: t0,
		Spec: job.Spec{Trigger: job.Trigger{Kind: job.Date, RunAt: t0.Add(time.Hour)}, Target: job.Target{Code: "x"}, Policy: job.DefaultPolicy()}}
	synctest.Test(t, func(t *testing.T) {
		_, rec := start(t, j)
		advance(time.Hour)
		settled(t, "fire and finish", func() bool { f, fin := rec.snapshot(); return len(f) == 1 && len(fin) == 1 })
		advance(time.Hour)
		if f, _ := rec.snapshot(); len(f) != 1 {
			t.Fatalf("a date job fired twice: %+v", f)
		}
	})
}

// startAfterDowntime is start with the clock at now and j loaded with the progress it had
// before the downtime.
func startAfterDowntime(t *testing.T, now time.Time, j *job.Job, p job.Progress) *recorder {
	t.Helper()
	rec := &recorder{}
	startAt(t, now, rec, func(s *scheduler.Scheduler) { s.Load(*j, p) })
	return rec
}

func TestAfterDowntimeALoadedJobCatchesUpOnceThenKeepsItsBeat(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// Last fired at t0+10s, run 1; the process was away for an hour.
		rec := startAfterDowntime(t, t0.Add(time.Hour), intervalJob(10*time.Second, true), job.Progress{Seq: 1, LastFire: t0.Add(10 * time.Second)})
		// One fire, now, stands for the 359 due while the scheduler was away.
		settled(t, "one catch-up fire", func() bool { f, _ := rec.snapshot(); return len(f) == 1 })
		advance(10 * time.Second)
		settled(t, "the next fire", func() bool { f, _ := rec.snapshot(); return len(f) == 2 })
		fires, _ := rec.snapshot()
		want := []time.Duration{time.Hour, time.Hour + 10*time.Second}
		for i, f := range fires {
			if !f.ScheduledAt.Equal(t0.Add(want[i])) || f.Seq != int64(i+2) {
				t.Fatalf("fire %d: scheduled %v seq %d; want %v seq %d", i, f.ScheduledAt.Sub(t0), f.Seq, want[i], i+2)
			}
		}
	})
}

// A job that does not coalesce catches up one fire after another: each fire that runs
// names the one before it that runs, so the executors run them in order rather than
// finding the job's max_instances slot taken; fires beyond the grace time, which do not
// run, are in no such chain, nor is the next fire on the beat.
func TestACatchUpThatDoesNotCoalesceChainsTheFiresThatRun(t *testing.T) {
	t.Parallel()
	j := intervalJob(10*time.Second, false)
	j.Spec.Policy.MisfireGrace = 35 * time.Second
	synctest.Test(t, func(t *testing.T) {
		// Last fired at t0+10s: 20 s, 30 s and 40 s are due (policy: three at most), 20 s
		// beyond the grace time.
		rec := startAfterDowntime(t, t0.Add(60*time.Second), j, job.Progress{Seq: 1, LastFire: t0.Add(10 * time.Second)})
		settled(t, "three catch-up fires", func() bool { f, _ := rec.snapshot(); return len(f) == 3 })
		advance(10 * time.Second)
		settled(t, "the next fire", func() bool { f, _ := rec.snapshot(); return len(f) == 4 })
		fires, _ := rec.snapshot()
		want := []struct {
			at     int
			status string
			after  string
		}{
			{20, contracts.TriggerMissed, ""},
			{30, contracts.TriggerFired, ""},
			{40, contracts.TriggerFired, job.FireID("j", t0.Add(30*time.Second))},
			{70, contracts.TriggerFired, ""},
		}
		for i, f := range fires {
			w := want[i]
			if got := int(f.ScheduledAt.Sub(t0) / time.Second); got != w.at || f.TriggerStatus != w.status || f.AfterFireID != w.after {
				t.Errorf("fire %d: at %ds %s after %q; want at %ds %s after %q", i, got, f.TriggerStatus, f.AfterFireID, w.at, w.status, w.after)
			}
		}
	})
}

var everySecondCron = &job.Job{ID: "c", Tenant: "t", State: job.Started, StartedAt: t0,
	Spec: job.Spec{Trigger: job.Trigger{Kind: job.Cron, Cron: "* * * ? * * *", Zone: "UTC"}, Target: job.Target{BizCode: "b"}, Policy: job.DefaultPolicy()}}

func TestACronJobCatchesUpAMonthOfDowntimeWithOneFire(t *testing.T) {
	t.Parallel()
	fires, next, ok, dropped := scheduler.Due(everySecondCron, t0.Add(time.Second), t0.Add(30*24*time.Hour), policy)
	if !ok || len(fires) != 1 || !fires[0].Equal(t0.Add(30*24*time.Hour)) || !next.Equal(t0.Add(30*24*time.Hour+time.Second)) {
		t.Fatalf("fires %v next %v", fires, next)
	}
	if dropped != scheduler.MaxMissedCounted {
		t.Fatalf("missed instants counted %d, want the bound %d", dropped, scheduler.MaxMissedCounted)
	}
}

// TestACronJobsMissedInstantsAreCountedAsAnIntervalsAre: after 65 s down, an
// every-5-seconds schedule runs once, and the 13 instants it did not run are reported.
func TestACronJobsMissedInstantsAreCountedAsAnIntervalsAre(t *testing.T) {
	t.Parallel()
	every5 := *everySecondCron
	every5.Spec.Trigger.Cron = "*/5 * * ? * * *"
	for _, c := range []struct {
		down         time.Duration
		wantDropped  int
		wantFireSecs int
	}{{0, 0, 5}, {4 * time.Second, 0, 5}, {5 * time.Second, 1, 10}, {65 * time.Second, 13, 70}, {time.Hour, 720, 3605}} {
		fires, _, ok, dropped := scheduler.Due(&every5, t0.Add(5*time.Second), t0.Add(5*time.Second+c.down), policy)
		if !ok || dropped != c.wantDropped || len(fires) != 1 || secs(fires)[0] != c.wantFireSecs {
			t.Errorf("down %v: fires %v, %d missed; want [%d], %d", c.down, secs(fires), dropped, c.wantFireSecs, c.wantDropped)
		}
	}
}

// slowPublisher takes a while with each fire, as a broker slower than the fires does.
type slowPublisher struct {
	recorder
	each time.Duration
}

func (p *slowPublisher) Publish(f contracts.Fire) {
	time.Sleep(p.each)
	p.recorder.Publish(f)
}

// A loop that is always behind (every pass finds fires due) must still take changes: a
// deleted job stops firing and an exec is answered. The publisher's 200 µs a fire pass on
// the bubble's clock too: 200 jobs due every 20 ms take the loop 40 ms, so every pass
// finds the next fires already due.
func TestChangesAreTakenWhileTheLoopIsAlwaysBehind(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pub := &slowPublisher{each: 200 * time.Microsecond}
		jobs := make([]job.Job, 200)
		s := startAt(t, t0, pub, func(s *scheduler.Scheduler) {
			for i := range jobs {
				j := *intervalJob(20*time.Millisecond, true)
				j.ID = fmt.Sprintf("j%d", i)
				jobs[i] = j
				s.Load(j, job.Progress{})
			}
		})
		time.Sleep(150 * time.Millisecond)
		settled(t, "passes of fires, each behind", func() bool { f, _ := pub.snapshot(); return len(f) > 400 })

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if f, ok := s.FireNow(ctx, "j1", "exec-1"); !ok || f.JobID != "j1" {
			t.Fatalf("exec while the loop is behind: %+v %v", f, ok)
		}
		gone := jobs[0]
		gone.State = job.Deleted
		s.Put(gone)
		// Applied by the time an exec queued after it is answered.
		if _, ok := s.FireNow(ctx, "j2", "exec-2"); !ok {
			t.Fatal("exec after the delete was not answered")
		}
		before, _ := pub.snapshot()
		time.Sleep(200 * time.Millisecond)
		after, _ := pub.snapshot()
		if len(after)-len(before) < 400 {
			t.Fatalf("%d fires in the 200 ms after the delete; the loop stopped", len(after)-len(before))
		}
		for _, f := range after[len(before):] {
			if f.JobID == "j0" {
				t.Fatalf("the deleted job fired at %v, after its delete was applied", f.ScheduledAt)
			}
		}
	})
}
