package scheduler_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
	"github.com/jobcenter/jobcenter/shared/job"
)

// A date job whose fire was stored, the trigger dying before its finish command was and
// before the fire's progress was saved: the next term loads it from the store (progress
// without the fire) and replays the fire. It is finished (it was left started, with no
// fire, until a start from an image).
func TestAStartFinishesAJobWhoseLastFireOnlyTheReplayFound(t *testing.T) {
	j := job.Job{ID: "d", Tenant: "t", State: job.Started, StartedAt: t0, Version: 2,
		Spec: job.Spec{Trigger: job.Trigger{Kind: job.Date, RunAt: t0.Add(time.Hour)}, Target: job.Target{Code: "x"}, Policy: job.DefaultPolicy()}}
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		startAt(t, t0.Add(time.Hour+time.Minute), rec, func(s *scheduler.Scheduler) {
			s.Load(j, job.Progress{})                  // the store's progress: no fire yet
			s.Observe("d", 1, t0.Add(time.Hour), true) // the replay: the fire was stored
			s.FinishSpent()                            // as start() does after the replay
		})
		advance(time.Hour)
		if f, fin := rec.snapshot(); len(f) != 0 || len(fin) == 0 {
			t.Fatalf("fires %v, finishes asked %v: the job stays started with no fire left", ids(f), fin)
		}
	})
}
