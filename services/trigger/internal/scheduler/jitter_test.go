package scheduler_test

import (
	"bytes"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
	"github.com/jobcenter/jobcenter/shared/job"
)

// jittered are started jobs whose fires are spread: an interval spread over more than
// its period (so each offset is cut short of the next instant), a cron spread over part
// of its period, and one with the overlap policy the fire carries.
func jittered() []job.Job {
	mk := func(id string, tr job.Trigger) job.Job {
		return job.Job{ID: id, Key: id + "-key", Tenant: "t", State: job.Started, StartedAt: t0, Version: 1,
			Spec: job.Spec{Name: id, Trigger: tr, Target: job.Target{Code: "x"}, Policy: job.DefaultPolicy()}}
	}
	buffered := mk("b1", job.Trigger{Kind: job.Interval, Every: 7 * time.Second, Jitter: 3 * time.Second})
	buffered.Spec.Policy.Overlap = job.OverlapBufferOne
	return []job.Job{
		mk("i1", job.Trigger{Kind: job.Interval, Every: 10 * time.Second, Jitter: 30 * time.Second}),
		mk("c1", job.Trigger{Kind: job.Cron, Cron: "0/15 * * ? * *", Zone: "Asia/Shanghai", Jitter: 5 * time.Second}),
		buffered,
	}
}

// Each fire of a jittered job runs at its instant plus the job's offset — named by the
// instant, scheduled at the spread time, which is what job.Job.Next (the API's
// next_run_time) says — and a scheduler taking up an image or loading the job with its
// last fire goes on with the same fires.
func TestJitteredFiresRunAtTheirSpreadTimeEverywhereNamedByTheirInstant(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		jobs := jittered()
		a, recA := start(t, jobs...)
		for range 60 {
			advance(time.Second)
		}
		data := cutImage(t, a)
		firedA, _ := recA.snapshot()
		if len(firedA) < 12 {
			t.Fatalf("%d fires in a minute, want at least 12", len(firedA))
		}
		byID := map[string]job.Job{}
		for _, j := range jobs {
			byID[j.ID] = j
		}
		last := map[string]time.Time{}
		spread := 0
		for _, f := range firedA {
			j := byID[f.JobID]
			s := j.Spec.Trigger.Compile(j.StartedAt)
			prev, ok := last[f.JobID]
			if !ok {
				prev = t0
			}
			at, _ := s.Next(prev)
			if want, _ := j.Next(prev); !f.ScheduledAt.Equal(want) || f.FireID != job.FireID(j.ID, at) {
				t.Fatalf("fire %s scheduled at %v; want %s at %v", f.FireID, f.ScheduledAt, job.FireID(j.ID, at), want)
			}
			if !f.FiredAt.Equal(f.ScheduledAt) {
				t.Fatalf("fire %s fired at %v, scheduled at %v", f.FireID, f.FiredAt, f.ScheduledAt)
			}
			following, _ := s.Next(at)
			if off := f.ScheduledAt.Sub(at); off < 0 || off >= s.Jitter || !f.ScheduledAt.Before(following) {
				t.Fatalf("fire %s spread %v after its instant, following instant %v", f.FireID, off, following)
			} else if off > 0 {
				spread++
			}
			if want := string(j.Spec.Policy.Overlap); f.Overlap != want {
				t.Fatalf("fire %s carries overlap %q, want %q", f.FireID, f.Overlap, want)
			}
			last[f.JobID] = f.ScheduledAt
		}
		if spread < len(firedA)-1 {
			t.Fatalf("only %d of %d fires spread", spread, len(firedA))
		}

		recB := &recorder{}
		b := startAt(t, time.Now(), recB, func(b *scheduler.Scheduler) {
			if n, err := b.Import(bytes.NewReader(data)); err != nil || n != len(jobs) {
				t.Fatalf("import: %d jobs, %v", n, err)
			}
		})
		recC := &recorder{}
		startAt(t, time.Now(), recC, func(c *scheduler.Scheduler) {
			for _, j := range jobs {
				var seq int64
				for _, f := range firedA {
					if f.JobID == j.ID {
						seq++
					}
				}
				c.Load(j, job.Progress{Seq: seq, LastFire: last[j.ID]})
			}
		})
		settle(b)
		for range 60 {
			advance(time.Second)
		}
		allA, _ := recA.snapshot()
		afterA := utc(allA[len(firedA):])
		afterB, _ := recB.snapshot()
		afterC, _ := recC.snapshot()
		if len(afterA) < 12 || !equalFires(afterA, utc(afterB)) || !equalFires(afterA, utc(afterC)) {
			t.Fatalf("fires after the cut differ:\ncut from %v\nimported %v\nloaded %v", ids(afterA), ids(afterB), ids(afterC))
		}
	})
}

func equalFires(a, b []contracts.Fire) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].FireID != b[i].FireID || !a[i].ScheduledAt.Equal(b[i].ScheduledAt) || a[i].Seq != b[i].Seq {
			return false
		}
	}
	return true
}

func ids(fs []contracts.Fire) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.FireID + " " + f.ScheduledAt.Format("15:04:05.000")
	}
	return out
}

func jitterJob(id string, tr job.Trigger, coalesce bool) job.Job {
	p := job.DefaultPolicy()
	p.Coalesce = coalesce
	return job.Job{ID: id, Key: id + "-key", Tenant: "t", State: job.Started, StartedAt: t0, Version: 1,
		Spec: job.Spec{Name: id, Pid: "p", Trigger: tr, Target: job.Target{Code: "x"}, Policy: p}}
}

// spreadBy finds a job id whose fire of instant at (the next instant following) is spread
// by at least min.
func spreadBy(t *testing.T, prefix string, tr job.Trigger, at, following time.Time, min time.Duration) (string, time.Duration) {
	t.Helper()
	s := tr.Compile(t0)
	for i := range 100_000 {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if off := s.Offset(id, at, following, true); off >= min {
			return id, off
		}
	}
	t.Fatal("no id spread that far")
	return "", 0
}

// backPressure blocks 15 ms on the blocker's second fire: back-pressure, as a Publisher
// may, which makes the loop late for the fires after it.
type backPressure struct{ recorder }

func (r *backPressure) Publish(f contracts.Fire) {
	if f.JobID == "blocker" && f.Seq == 2 {
		time.Sleep(15 * time.Millisecond)
	}
	r.recorder.Publish(f)
}

// A loop late by less than a jitter fires an instant spread almost to the next instant
// when its spread time is due — not dropped as coalesced with the next instant, which
// fires at its own spread time, not early.
func TestALateLoopFiresASpreadInstantAndNotTheNextEarly(t *testing.T) {
	t.Parallel()
	tr := job.Trigger{Kind: job.Interval, Every: time.Second, Jitter: time.Second}
	at := t0.Add(time.Second)
	id, off := spreadBy(t, "late", tr, at, at.Add(time.Second), 997*time.Millisecond)
	synctest.Test(t, func(t *testing.T) {
		rec := &backPressure{}
		blocker := jitterJob("blocker", job.Trigger{Kind: job.Interval, Every: time.Second}, true)
		blocker.StartedAt = t0.Add(-10 * time.Millisecond) // fires at +0.99 s, +1.99 s, …
		startAt(t, t0, rec, func(s *scheduler.Scheduler) {
			s.Load(jitterJob(id, tr, true), job.Progress{})
			s.Load(blocker, job.Progress{})
		})
		advance(3 * time.Second)
		fires, _ := rec.snapshot()
		var mine []contracts.Fire
		for _, f := range fires {
			if f.JobID == id {
				mine = append(mine, f)
			}
		}
		if len(mine) < 2 || mine[0].FireID != job.FireID(id, at) || !mine[0].ScheduledAt.Equal(at.Add(off)) {
			t.Fatalf("fires %v; want first the instant %v at %v", ids(mine), at.Sub(t0), at.Add(off).Sub(t0))
		}
		for _, f := range mine {
			if f.ScheduledAt.After(f.FiredAt) {
				t.Fatalf("fire %s fired at %v, before its spread time %v", f.FireID, f.FiredAt.Sub(t0), f.ScheduledAt.Sub(t0))
			}
		}
	})
}

// An update that keeps a jittered job's trigger (a rename) between an instant and its
// spread fire keeps that fire.
func TestARenameBetweenAnInstantAndItsSpreadFireKeepsTheFire(t *testing.T) {
	t.Parallel()
	tr := job.Trigger{Kind: job.Cron, Cron: "0 * * ? * *", Zone: "UTC", Jitter: 50 * time.Second}
	at := t0.Add(time.Minute)
	id, off := spreadBy(t, "rename", tr, at, at.Add(time.Minute), 30*time.Second)
	synctest.Test(t, func(t *testing.T) {
		j := jitterJob(id, tr, true)
		s, rec := start(t, j)
		advance(at.Add(10 * time.Second).Sub(time.Now()))
		renamed := j.Spec
		renamed.Name = "renamed"
		d, err := job.Decide(job.Command{ID: "rename", Type: job.Update, Tenant: "t", JobID: id, At: time.Now(), Spec: &renamed}, &j, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		s.Put(*d.Job)
		advance(2 * time.Minute)
		fires, _ := rec.snapshot()
		if len(fires) == 0 || fires[0].FireID != job.FireID(id, at) || !fires[0].ScheduledAt.Equal(at.Add(off)) {
			t.Fatalf("fires %v; want the instant %v at its spread time after the rename", ids(fires), at.Sub(t0))
		}
		if len(fires) != 3 {
			t.Fatalf("fires %v; want the two minutes' after it once each", ids(fires))
		}
	})
}

// A catch-up cut short by MaxCatchUp spreads each fire short of the instant that follows
// it, never into the future of when it fires.
func TestACatchUpSpreadsEachFireShortOfTheInstantAfterIt(t *testing.T) {
	t.Parallel()
	tr := job.Trigger{Kind: job.Interval, Every: 10 * time.Second, Jitter: time.Minute}
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		startAt(t, t0.Add(100*time.Second), rec, func(s *scheduler.Scheduler) {
			for i := range 20 {
				s.Load(jitterJob(fmt.Sprintf("k-%d", i), tr, false), job.Progress{})
			}
		})
		advance(time.Millisecond)
		fires, _ := rec.snapshot()
		if len(fires) < 20 {
			t.Fatalf("%d fires", len(fires))
		}
		for _, f := range fires {
			at, _ := job.ScheduledInstant(f.JobID, f.FireID)
			if off := f.ScheduledAt.Sub(at); off < 0 || off >= 10*time.Second || f.ScheduledAt.After(f.FiredAt) {
				t.Fatalf("%s scheduled %v after its instant, fired at %v", f.FireID, off, f.FiredAt.Sub(t0))
			}
		}
	})
}
