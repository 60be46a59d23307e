package job_test

import (
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// A fixed-delay job is started again as of the end of the run of the fire its start
// made, and only that one: any other end changes nothing.
func TestARearmCountsAFixedDelayJobFromItsRunsEnd(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	j := job.Job{ID: "j", Tenant: "p", State: job.Started, StartedAt: start, Version: 3,
		Spec: job.Spec{Name: "n", Trigger: job.Trigger{Kind: job.Interval, Every: time.Minute, FixedDelay: true}, Target: job.Target{Code: "x"}, Policy: job.DefaultPolicy()}}
	first := start.Add(time.Minute)
	end := first.Add(90 * time.Second)
	cmd := job.Command{ID: "rearm:j:1", Type: job.Rearm, Tenant: "p", JobID: "j", At: end, FireID: job.FireID("j", first)}
	d, err := job.Decide(cmd, &j, end)
	if err != nil || !d.Rearmed || !d.Job.StartedAt.Equal(end) || d.Job.Version != 4 || len(d.Events) != 0 {
		t.Fatalf("rearm: %+v, %v", d, err)
	}
	if next, _ := d.Job.Next(end); !next.Equal(end.Add(time.Minute)) {
		t.Fatalf("next fire %v, want a minute after the run's end %v", next, end)
	}
	if again, _ := job.Decide(cmd, d.Job, end); !again.Replayed {
		t.Fatalf("the same rearm again: %+v", again)
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
		d, err := job.Decide(cc, &jj, end)
		if err != nil || d.Rearmed || d.Job.Version != jj.Version || !d.Job.StartedAt.Equal(jj.StartedAt) {
			t.Errorf("%s: %+v, %v; want no change", name, d, err)
		}
	}
}
