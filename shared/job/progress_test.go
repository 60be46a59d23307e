package job_test

import (
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// Fires are observed in any order and more than once (a replay after a crash, two
// triggers' saves); the progress is the same.
func TestProgressIsTheSameWhateverOrderFiresAreObservedIn(t *testing.T) {
	t0 := time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)
	type fire struct {
		seq       int64
		at        time.Time
		scheduled bool
	}
	fires := []fire{{1, t0, true}, {2, t0.Add(time.Hour), false}, {3, t0.Add(time.Second), true}, {3, t0.Add(time.Second), true}}
	want := job.Progress{Seq: 3, LastFire: t0.Add(time.Second)}
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}} {
		var p job.Progress
		var halves [2]job.Progress
		for i, k := range order {
			f := fires[k]
			p = p.Observe(f.seq, f.at, f.scheduled)
			halves[i%2] = halves[i%2].Observe(f.seq, f.at, f.scheduled)
		}
		if p != want {
			t.Fatalf("order %v: %+v, want %+v (an exec's instant is not the schedule's)", order, p, want)
		}
		if m := halves[0].Merge(halves[1]); m != want {
			t.Fatalf("order %v: merged halves %+v, want %+v", order, m, want)
		}
	}
}

// A fire raises the progress to the instant it is named by, not to when it ran (a
// jitter spreads it): every start counts from the instant, as the scheduler that fired
// it did. An exec's or a backfill's fire is outside the schedule.
func TestAFireRaisesProgressToTheInstantItIsNamedBy(t *testing.T) {
	at := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	p := job.Progress{}.Fired("j", job.FireID("j", at), 3)
	if p.Seq != 3 || !p.LastFire.Equal(at) {
		t.Fatalf("after a scheduled fire: %+v, want run 3 at %v", p, at)
	}
	for _, id := range []string{job.ManualFireID("j", "c1"), job.BackfillFireID("j", "c2", at.Add(time.Hour)), "k@1", "j@", "jj@5", "j5"} {
		if q := p.Fired("j", id, 4); q.Seq != 4 || !q.LastFire.Equal(at) {
			t.Fatalf("after fire %s: %+v, want run 4, the last instant still %v", id, q, at)
		}
	}
}
