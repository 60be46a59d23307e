package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// A job's info written from its cached parts is what encoding the info whole gives, for
// every kind of job and at any time, and a new version is encoded anew.
func TestACachedJobInfoIsTheInfoEncodedWhole(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	base := func(id string, tr job.Trigger) job.Job {
		return job.Job{ID: id, Key: id + "-key", Tenant: "p", State: job.Started, StartedAt: t0, CreatedAt: t0, UpdatedAt: t0,
			Version: 1, CreatedBy: "u<1>", Spec: job.Spec{Pid: "d", Name: "名 <b>&\"quoted\"", Description: "line\nbreak",
				Trigger: tr, Target: job.Target{Code: "log_print(\"x\")"}, Policy: job.DefaultPolicy()}}
	}
	interval := base("i", job.Trigger{Kind: job.Interval, Every: time.Minute})
	stopped := interval
	stopped.ID, stopped.State = "s", job.Stopped
	date := base("d", job.Trigger{Kind: job.Date, RunAt: t0.Add(time.Hour)})
	cron := base("c", job.Trigger{Kind: job.Cron, Cron: "0 0/5 * * * ?", Zone: "Asia/Shanghai"})
	cron.Spec.Target = job.Target{BizCode: "biz"}
	cron.Spec.Pid = ""
	strict := interval
	strict.ID = "x"
	strict.Spec.Policy = job.Policy{MisfireGrace: 5 * time.Second, MaxInstances: 2, Retries: 1, RetryBackoff: 2 * time.Second, Timeout: 7 * time.Second}
	c := newInfoCache(3) // fewer than the jobs: the cache also starts again
	for _, now := range []time.Time{t0.Add(time.Second), t0.Add(2 * time.Hour)} {
		for _, j := range []job.Job{interval, stopped, date, cron, strict} {
			want, _ := json.Marshal(toJobInfo(j, now, loc))
			if got := c.appendInfo(nil, j, now, loc, j.Next); string(got) != string(want) {
				t.Fatalf("%s at %v:\n got %s\nwant %s", j.ID, now, got, want)
			}
		}
	}
	renamed := interval
	renamed.Version, renamed.Spec.Name = 2, "renamed"
	c.appendInfo(nil, interval, t0, loc, interval.Next)
	want, _ := json.Marshal(toJobInfo(renamed, t0, loc))
	if got := c.appendInfo(nil, renamed, t0, loc, renamed.Next); string(got) != string(want) {
		t.Fatalf("a new version:\n got %s\nwant %s", got, want)
	}
}
