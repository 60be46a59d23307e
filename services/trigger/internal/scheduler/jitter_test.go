package scheduler_test

import (
	"bytes"
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
