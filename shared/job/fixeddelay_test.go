package job_test

import (
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// A fixed-delay job's run's end counts when it is of a scheduled fire of the job's
// current start, and the job's next fire is then seconds after it; the job itself is
// unchanged (its start stays, no event).
func TestARunsEndCountsAFixedDelayJobsNextFireFromIt(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	j := job.Job{ID: "j", Tenant: "p", State: job.Started, StartedAt: start, Version: 3,
		Spec: job.Spec{Name: "n", Trigger: job.Trigger{Kind: job.Interval, Every: time.Minute, FixedDelay: true}, Target: job.Target{Code: "x"}, Policy: job.DefaultPolicy()}}
	first := start.Add(time.Minute)
	end := first.Add(90 * time.Second)
	cmd := job.Command{ID: "rearm:j:1", Type: job.Rearm, Tenant: "p", JobID: "j", At: end, FireID: job.FireID("j", first)}
	d, err := job.Decide(cmd, &j, end)
	if err != nil || d.Rearm == nil || !d.Rearm.Instant.Equal(first) || !d.Rearm.Ended.Equal(end) || !d.Rearm.StartedAt.Equal(start) ||
		d.Job.Version != 3 || !d.Job.StartedAt.Equal(start) || len(d.Events) != 0 {
		t.Fatalf("rearm: %+v %+v, %v", d, d.Rearm, err)
	}
	if next, ok := j.NextAfterRun(*d.Rearm, end, nil); !ok || !next.Equal(end.Add(time.Minute)) {
		t.Fatalf("next fire %v, want a minute after the run's end %v", next, end)
	}
	// A later scheduled fire of the same start counts too (its calendars may have
	// excluded the first); an end before its instant counts from the instant.
	late := job.Command{ID: "rearm:j:2", Type: job.Rearm, Tenant: "p", JobID: "j", At: first, FireID: job.FireID("j", start.Add(3*time.Minute))}
	if d, _ := job.Decide(late, &j, first); d.Rearm == nil || !d.Rearm.Anchor().Equal(start.Add(3*time.Minute)) {
		t.Fatalf("a later fire's end: %+v", d.Rearm)
	}
	for name, c := range map[string]func(*job.Job, *job.Command){
		"an exec's run":         func(_ *job.Job, c *job.Command) { c.FireID = job.ManualFireID("j", "x") },
		"an earlier fire's run": func(_ *job.Job, c *job.Command) { c.FireID = job.FireID("j", start) },
		"another job's fire":    func(_ *job.Job, c *job.Command) { c.FireID = job.FireID("k", first) },
		"a stopped job":         func(j *job.Job, _ *job.Command) { j.State, j.StartedAt = job.Stopped, time.Time{} },
		"not a fixed delay":     func(j *job.Job, _ *job.Command) { j.Spec.Trigger.FixedDelay = false },
		"started again since":   func(j *job.Job, _ *job.Command) { j.StartedAt = first.Add(time.Second) },
	} {
		jj, cc := j, cmd
		c(&jj, &cc)
		if d, err := job.Decide(cc, &jj, end); err != nil || d.Rearm != nil {
			t.Errorf("%s: %+v, %v; want no rearm", name, d.Rearm, err)
		}
	}
	// A run's end of another start (the job started again since) gives no next fire.
	again := j
	again.StartedAt = end
	if _, ok := again.NextAfterRun(*d.Rearm, end, nil); ok {
		t.Fatal("a run of an earlier start counted")
	}
}
