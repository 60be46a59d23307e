package job_test

import (
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// A started fixed-delay job with an end date, whose run ended at +100 s, fires next at
// +160 s (before its end, +170 s): an update that keeps its trigger at +125 s does not
// finish it by its start's grid (next +180 s, past the end).
func TestAnUpdateKeepingAFixedDelayJobsTriggerDoesNotFinishIt(t *testing.T) {
	start := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	tr := job.Trigger{Kind: job.Interval, Every: time.Minute, FixedDelay: true, End: start.Add(170 * time.Second)}
	j := job.Job{ID: "j", Tenant: "p", State: job.Started, StartedAt: start, Version: 3,
		Spec: job.Spec{Name: "n", Pid: "p", Trigger: tr, Target: job.Target{Code: "x"}, Policy: job.DefaultPolicy()}}
	end := job.RunEnd{FireID: job.FireID("j", start.Add(time.Minute)), Instant: start.Add(time.Minute), StartedAt: start, Ended: start.Add(100 * time.Second)}
	now := start.Add(125 * time.Second)
	if next, ok := j.NextAfterRun(end, now, nil); !ok || !next.Equal(start.Add(160*time.Second)) {
		t.Fatalf("next after the run %v %v", next, ok)
	}
	spec := j.Spec
	spec.Name = "renamed"
	d, err := job.Decide(job.Command{ID: "u", Type: job.Update, Tenant: "p", JobID: "j", At: now, Spec: &spec}, &j, now)
	if err != nil {
		t.Fatal(err)
	}
	if d.Job.State != job.Started {
		t.Fatalf("the update left the job %s, with its fire at +160 s to come", d.Job.State)
	}
}
