package scheduler

import (
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// Policy says how late fires are treated.
type Policy struct {
	// MisfireThreshold: a fire later than this is misfired — it fell due while the
	// scheduler was away — rather than merely late.
	MisfireThreshold time.Duration
	// MaxCatchUp bounds the missed fires run one by one when a job does not coalesce.
	MaxCatchUp int
}

// Due decides which scheduled instants of j fire at now, given next, the first instant
// not yet fired. It returns them oldest first, the first instant after now (ok false when
// the trigger has none left), and how many missed instants were not run.
//
// Fires within the misfire threshold all run, late. Older ones were missed: a job that
// coalesces runs once for all of them, at the latest missed instant; one that does not
// runs each, up to MaxCatchUp.
func Due(j *job.Job, next, now time.Time, p Policy) (fires []time.Time, after time.Time, ok bool, dropped int) {
	cutoff := now.Add(-p.MisfireThreshold)
	tr := j.Spec.Trigger
	t, ok := next, true
	var missed []time.Time
	coalesce := j.Spec.Policy.Coalesce
	if tr.Kind == job.Interval && coalesce && t.Before(cutoff) {
		// Arithmetic instead of a walk: a long downtime of a short interval is one step.
		last := job.NextInterval(j.StartedAt, tr.Every, cutoff.Add(-tr.Every-time.Nanosecond))
		dropped = int(last.Sub(t) / tr.Every)
		missed = []time.Time{last}
		t = last.Add(tr.Every)
	}
	for ok && !t.After(now) {
		switch {
		case !t.Before(cutoff):
			fires = append(fires, t)
		case coalesce:
			dropped += len(missed)
			missed = append(missed[:0], t)
		case len(missed) < p.MaxCatchUp:
			missed = append(missed, t)
		default:
			dropped++
		}
		t, ok = tr.Next(j.StartedAt, t)
	}
	return append(missed, fires...), t, ok, dropped
}
