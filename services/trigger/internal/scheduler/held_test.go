package scheduler_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
	"github.com/jobcenter/jobcenter/shared/job"
)

// The scheduler keeps jobs packed (ids in binary, shared strings once); what it fires
// must still be the job as it was put, whatever shape its ids have.
func TestAFireCarriesTheJobAsItWasPutWhateverItsIdsLookLike(t *testing.T) {
	t.Parallel()
	ids := []struct{ name, id, key string }{
		{"UUIDs", "0b7c6d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e", "9e8d7c6b-5a49-4837-a261-5f4e3d2c1b0a"},
		{"uppercase UUIDs", "0B7C6D1E-2F3A-4B5C-8D9E-0F1A2B3C4D5E", "9E8D7C6B-5A49-4837-A261-5F4E3D2C1B0A"},
		{"hex", "0b7c6d1e2f3a4b5c8d9e0f1a2b3c4d5e", "abcdef"},
		{"odd-length hex and a prefix", "abc", "quartz-0b7c6d1e2f3a4b5c8d9e0f1a2b3c4d5e"},
		{"hex with a dash misplaced", "0b7c6d1e2-f3a-4b5c-8d9e-0f1a2b3c4d5e", "-"},
		{"empty key", "j-1", ""},
	}
	targets := []job.Target{{Code: `log_print("周期任务", "INFO")`}, {FlowID: "flow-7"}, {BizCode: "1202494946997833818"}}
	for _, c := range ids {
		for _, tg := range targets {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					s, rec := start(t)
					j := job.Job{ID: c.id, Key: c.key, Tenant: "tenant-α", State: job.Started, StartedAt: t0, Version: 3,
						Spec: job.Spec{Name: "调度名称 7", Trigger: job.Trigger{Kind: job.Interval, Every: time.Second}, Target: tg,
							Policy: job.Policy{Coalesce: true, MaxInstances: 3, Retries: 2, RetryBackoff: 5 * time.Second, Timeout: 2 * time.Second}}}
					s.Put(j)
					settled(t, "queued", func() bool { _, q := s.Len(context.Background()); return q == 1 })
					advance(time.Second)
					settled(t, "fire", func() bool { f, _ := rec.snapshot(); return len(f) == 1 })
					f, _ := rec.snapshot()
					want := contracts.Fire{V: contracts.Version, FireID: job.FireID(c.id, t0.Add(time.Second)), JournalID: job.JournalID(c.id, 1),
						Seq: 1, Tenant: "tenant-α", JobID: c.id, JobKey: c.key, Name: "调度名称 7", RunType: contracts.RunTypeTrigger,
						ScheduledAt: t0.Add(time.Second), FiredAt: t0.Add(time.Second),
						Target:    contracts.Target{Code: tg.Code, FlowID: tg.FlowID, BizCode: tg.BizCode},
						TimeoutMs: 2000, TriggerStatus: contracts.TriggerFired, MaxInstances: 3, Retries: 2, RetryBackoffMs: 5000}
					if got := f[0]; !got.ScheduledAt.Equal(want.ScheduledAt) || !got.FiredAt.Equal(want.FiredAt) {
						t.Fatalf("fire at %v, fired %v; want %v", got.ScheduledAt, got.FiredAt, want.ScheduledAt)
					}
					got := f[0]
					got.ScheduledAt, got.FiredAt = want.ScheduledAt, want.FiredAt
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("fire\n%+v\nwant\n%+v", got, want)
					}
				})
			})
		}
	}
}

func TestAJobThatRunsOutIsFinishedWithItsIdsTenantAndVersion(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := job.Job{ID: "0b7c6d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e", Key: "k", Tenant: "t7", State: job.Started, StartedAt: t0, Version: 9,
			Spec: job.Spec{Trigger: job.Trigger{Kind: job.Date, RunAt: t0.Add(time.Minute)}, Target: job.Target{Code: "x"}, Policy: job.DefaultPolicy()}}
		_, rec := start(t, j)
		advance(time.Minute)
		settled(t, "finish", func() bool { _, fin := rec.snapshot(); return len(fin) == 1 })
		rec.mu.Lock()
		got := rec.jobs[0]
		rec.mu.Unlock()
		if got.ID != j.ID || got.Key != j.Key || got.Tenant != j.Tenant || got.Version != 9 || got.State != job.Started ||
			got.Spec.Trigger.Kind != job.Date || !got.Spec.Trigger.RunAt.Equal(j.Spec.Trigger.RunAt) || got.Spec.Target != j.Spec.Target {
			t.Fatalf("finished %+v", got)
		}
	})
}

// Thousands of jobs added and removed in a random order, as the index's probing and
// backward-shift deletion see them: each is found exactly while it is held.
func TestJobsAreFoundExactlyWhileTheyAreHeld(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, _ := start(t)
		ctx := context.Background()
		const n = 5000
		held := map[int]bool{}
		put := func(i int, st job.State) {
			s.Put(job.Job{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i*7), Tenant: "t", State: st,
				Spec: job.Spec{Trigger: job.Trigger{Kind: job.Interval, Every: time.Hour}, Policy: job.DefaultPolicy()}})
			held[i] = st != job.Deleted
		}
		for i := range n {
			put(i, job.Stopped)
		}
		r := rand.New(rand.NewPCG(1, 2))
		for _, i := range r.Perm(n) {
			if r.IntN(2) == 0 {
				put(i, job.Deleted)
			}
		}
		for i := range n / 4 {
			put(i, job.Stopped) // back again, or replaced
		}
		want := 0
		for i := range n {
			id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i*7)
			f, ok := s.FireNow(ctx, id, "c")
			if ok != held[i] || ok && f.JobID != id {
				t.Fatalf("job %d: held %v, exec found it %v (%s)", i, held[i], ok, f.JobID)
			}
			if held[i] {
				want++
			}
		}
		if h, q := s.Len(ctx); h != want || q != 0 {
			t.Fatalf("held %d queued %d; want %d, 0", h, q, want)
		}
	})
}

func TestWhatJobsShareIsLetGoWhenTheLastOfThemIsDeleted(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, _ := start(t)
		var jobs []job.Job
		for i := range 300 {
			j := job.Job{ID: fmt.Sprint("j", i), Tenant: fmt.Sprint("tenant", i%7), State: job.Started, StartedAt: t0,
				Spec: job.Spec{Policy: job.DefaultPolicy()}}
			if i%2 == 0 {
				j.Spec.Trigger = job.Trigger{Kind: job.Cron, Cron: fmt.Sprintf("%d * * ? * *", i%60), Zone: "Asia/Shanghai"}
				j.Spec.Target.BizCode = fmt.Sprint(i)
			} else {
				j.Spec.Trigger = job.Trigger{Kind: job.Interval, Every: time.Hour}
				j.Spec.Target.Code = fmt.Sprint("snippet ", i%5)
			}
			jobs = append(jobs, j)
			s.Put(j)
		}
		shared := func(plans, tenants, texts int) func() bool {
			return func() bool {
				p, tn, tx := scheduler.Shared(s)
				return p == plans && tn == tenants && tx == texts
			}
		}
		// 30 cron expressions and one interval plan, 7 tenants, 5 snippets.
		settled(t, "all held", shared(31, 7, 5))
		for _, j := range jobs {
			j.Tenant = "other"
			s.Put(j) // replaced: the old tenant's count drops
		}
		settled(t, "tenants replaced", shared(31, 1, 5))
		for _, j := range jobs {
			j.State = job.Deleted
			s.Put(j)
		}
		settled(t, "all let go", shared(0, 0, 0))
	})
}

// Jobs of one cron expression share its computations; each must still get its own next
// instant.
func TestCronJobsOfOneExpressionStartedApartFireEachOnItsOwnSchedule(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, rec := start(t)
		cronJob := func(id string, started time.Time) job.Job {
			return job.Job{ID: id, Tenant: "t", State: job.Started, StartedAt: started,
				Spec: job.Spec{Trigger: job.Trigger{Kind: job.Cron, Cron: "*/10 * * ? * *", Zone: "Asia/Shanghai"},
					Target: job.Target{BizCode: id}, Policy: job.DefaultPolicy()}}
		}
		s.Put(cronJob("a", t0))
		s.Put(cronJob("b", t0.Add(15*time.Second)))
		settled(t, "queued", func() bool { _, q := s.Len(context.Background()); return q == 2 })
		advance(10 * time.Second)
		settled(t, "a's first fire", func() bool { f, _ := rec.snapshot(); return len(f) == 1 })
		advance(10 * time.Second)
		settled(t, "both fire", func() bool { f, _ := rec.snapshot(); return len(f) == 3 })
		fires, _ := rec.snapshot()
		var got []string
		for _, f := range fires {
			got = append(got, fmt.Sprint(f.JobID, "@", int(f.ScheduledAt.Sub(t0)/time.Second), " ", f.ScheduledAt.Location()))
		}
		slices.Sort(got)
		if want := "a@10 Asia/Shanghai,a@20 Asia/Shanghai,b@20 Asia/Shanghai"; strings.Join(got, ",") != want {
			t.Fatalf("fires %v; want %s", got, want)
		}
	})
}

// On the real clock the loop waits for near fires by sleeping the thread, not on a
// timer; it must still never fire before the due instant. It stays on the real clock
// and the thread sleep: what it checks is how precisely a real thread wakes, which a
// synctest bubble, whose clock jumps to each wake-up, cannot show.
func TestOnTheRealClockNoFireIsHandedOverBeforeItsInstant(t *testing.T) {
	t.Parallel()
	pub := &timed{}
	s := scheduler.New(scheduler.Config{Publisher: pub, Finisher: &recorder{}, Log: zerolog.Nop()})
	first := time.Now().Add(30 * time.Millisecond)
	for i := range 50 {
		s.Load(job.Job{ID: fmt.Sprint(i), State: job.Started, StartedAt: first.Add(time.Duration(i)*157*time.Microsecond - 10*time.Millisecond),
			Spec: job.Spec{Trigger: job.Trigger{Kind: job.Interval, Every: 10 * time.Millisecond}, Policy: job.DefaultPolicy()}}, job.Progress{})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	waitFor(t, "fires", func() bool { pub.mu.Lock(); defer pub.mu.Unlock(); return pub.n >= 500 })
	cancel()
	<-done
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if len(pub.early) > 0 {
		t.Fatalf("%d fires handed over early, e.g. by %v", len(pub.early), pub.early[0])
	}
}

// waitFor polls until cond holds, for a loop on the real clock.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type timed struct {
	mu    sync.Mutex
	n     int
	early []time.Duration
}

func (p *timed) Publish(f contracts.Fire) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if now.Before(f.ScheduledAt) {
		p.early = append(p.early, f.ScheduledAt.Sub(now))
	}
}

// A cron whose Quartz arithmetic goes back in time (an increment that overflows) is
// decided in a few steps, its backward instant no fire: the scheduler's loop, which every
// job shares, never spins on it.
func TestACronGoingBackInTimeDoesNotHoldTheLoop(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	for _, coalesce := range []bool{true, false} {
		j := &job.Job{ID: "j", State: job.Started, StartedAt: t0,
			Spec: job.Spec{Trigger: job.Trigger{Kind: job.Cron, Cron: "5-10/2147483647 * * ? * *", Zone: "UTC"},
				Policy: job.Policy{Coalesce: coalesce, MaxInstances: 1}}}
		done := make(chan struct{})
		go func() {
			defer close(done)
			scheduler.Due(j, t0.Add(5*time.Second), t0.Add(time.Hour), scheduler.Policy{MaxCatchUp: 100})
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("coalesce %v: Due did not return", coalesce)
		}
	}
}

// A job whose life ended during a downtime catches up once, at its last instant, and has
// no instant after it.
func TestACatchUpAcrossTheEndOfALifeRunsItsLastInstant(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	end := t0.Add(30*24*time.Hour + 500*time.Millisecond)
	for _, tr := range []job.Trigger{
		{Kind: job.Interval, Every: time.Second, End: end},
		{Kind: job.Cron, Cron: "* * * * * ?", Zone: "UTC", End: end},
	} {
		j := &job.Job{ID: "j", State: job.Started, StartedAt: t0, Spec: job.Spec{Trigger: tr, Policy: job.DefaultPolicy()}}
		fires, _, ok, dropped := scheduler.Due(j, t0.Add(time.Second), t0.Add(60*24*time.Hour), scheduler.Policy{MaxCatchUp: 100})
		if len(fires) != 1 || !fires[0].Equal(end.Truncate(time.Second)) || ok || dropped == 0 {
			t.Fatalf("%s: fires %v, more %v, dropped %d; want one at %v and no more", tr.Kind, fires, ok, dropped, end.Truncate(time.Second))
		}
	}
}
