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

// A lifetime is part of a plan's key, read back whole, and a plan without one keeps the
// key it had before lifetimes existed (the images cut then still read).
func TestAPlanKeyReadsBackItsLifetime(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	base := job.Job{Spec: job.Spec{Trigger: job.Trigger{Kind: job.Cron, Cron: "0 0 * * * ?", Zone: "UTC"}, Policy: job.DefaultPolicy()}}
	plain := string(AppendPlanKey(nil, &base))
	for _, life := range [][2]time.Time{{t0, t0.Add(time.Hour)}, {t0, time.Time{}}, {time.Time{}, t0}} {
		j := base
		j.Spec.Trigger.Start, j.Spec.Trigger.End = life[0], life[1]
		key := string(AppendPlanKey(nil, &j))
		if key == plain {
			t.Fatalf("a lifetime %v leaves the key as it was", life)
		}
		p, err := planFromKey(key)
		if err != nil || !p.Start.Equal(life[0]) || !p.End.Equal(life[1]) || p.Expr == nil {
			t.Fatalf("lifetime %v read back as %v – %v (%v)", life, p.Start, p.End, err)
		}
	}
	if p, err := planFromKey(plain); err != nil || !p.Start.IsZero() || !p.End.IsZero() {
		t.Fatalf("a plan without a lifetime: %+v, %v", p, err)
	}
}

// A jitter and an overlap policy are part of a plan's key, read back whole; a plan with
// neither keeps the key it had before they existed.
func TestAPlanKeyReadsBackItsJitterAndOverlap(t *testing.T) {
	base := job.Job{Spec: job.Spec{Trigger: job.Trigger{Kind: job.Interval, Every: time.Minute}, Policy: job.DefaultPolicy()}}
	plain := string(AppendPlanKey(nil, &base))
	for _, c := range []struct {
		jitter  time.Duration
		overlap job.Overlap
	}{{30 * time.Second, ""}, {0, job.OverlapBufferOne}, {time.Hour, job.OverlapAllowAll}} {
		j := base
		j.Spec.Trigger.Jitter, j.Spec.Policy.Overlap = c.jitter, c.overlap
		key := string(AppendPlanKey(nil, &j))
		if key == plain {
			t.Fatalf("%+v leaves the key as it was", c)
		}
		p, err := planFromKey(key)
		if err != nil || p.Jitter != c.jitter || p.Policy.Overlap != c.overlap || !p.Start.IsZero() || !p.End.IsZero() {
			t.Fatalf("%+v read back as jitter %v, overlap %q (%v)", c, p.Jitter, p.Policy.Overlap, err)
		}
	}
}
