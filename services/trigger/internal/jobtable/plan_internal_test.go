package jobtable

import (
	"reflect"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

func TestAPlanKeyReadsBackToItsPolicyWithWhatFollowsARun(t *testing.T) {
	base := job.Job{Spec: job.Spec{Trigger: job.Trigger{Kind: job.Interval, Every: time.Minute}, Policy: job.DefaultPolicy()}}
	plain := string(AppendPlanKey(nil, &base))
	for _, p := range []job.Policy{
		base.Spec.Policy,
		{Coalesce: true, MaxInstances: 1, Timeout: time.Minute},
		{Coalesce: true, MaxInstances: 1, PauseAfterFailures: 3},
		{Coalesce: false, MaxInstances: 2, Retries: 1, OnSuccess: []string{"a"}},
		{Coalesce: true, MaxInstances: 1, Timeout: time.Second, OnFailure: []string{"b", "c-d_e"}, PauseAfterFailures: 100},
	} {
		j := base
		j.Spec.Policy = p
		key := string(AppendPlanKey(nil, &j))
		got, err := planFromKey(key)
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		if !reflect.DeepEqual(got.Policy, p) {
			t.Errorf("read back %+v, want %+v", got.Policy, p)
		}
		// A policy without what follows a run keeps the key images cut before had.
		if p.PauseAfterFailures == 0 && !p.Chained() && p.Timeout == 0 && key != plain {
			t.Errorf("the default policy's key changed")
		}
		if (p.PauseAfterFailures != 0 || p.Chained()) && key == plain {
			t.Errorf("%+v has the default's key", p)
		}
	}
}
