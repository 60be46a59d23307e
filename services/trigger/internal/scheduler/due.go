package scheduler

import (
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// Policy bounds catching up.
type Policy struct {
	// MaxCatchUp bounds the fires due at once that run one by one when a job does not
	// coalesce (after downtime, say); the rest are counted as dropped.
	MaxCatchUp int
}

// Due decides which scheduled instants of j fire at now, given next, the first instant
// not yet fired. It returns them oldest first, the first instant after now (ok false when
// the trigger has none left), and how many due instants were not run.
//
// As in APScheduler: a job that coalesces (the SDK's default) runs once for all the
// instants due at once — after downtime or a takeover — at the latest of them; one that
// does not runs each, up to MaxCatchUp.
func Due(j *job.Job, next, now time.Time, p Policy) (fires []time.Time, after time.Time, ok bool, dropped int) {
	tr := j.Spec.Trigger
	t, ok := next, true
	coalesce := j.Spec.Policy.Coalesce
	if tr.Kind == job.Interval && tr.Every > 0 && coalesce && !t.After(now) {
		// Arithmetic instead of a walk: a long downtime of a short interval is one step.
		last := job.NextInterval(j.StartedAt, tr.Every, now.Add(-tr.Every))
		return []time.Time{last}, last.Add(tr.Every), true, int(last.Sub(t) / tr.Every)
	}
	if coalesce && !t.After(now) {
		// Only the latest due instant runs: look for it in a window before now that
		// widens until it holds one, rather than walking a long downtime instant by
		// instant (an every-second cron down for a month is millions of steps).
		for back := time.Second; now.Add(-back).After(t); back *= 16 {
			if first, ok2 := tr.Next(j.StartedAt, now.Add(-back)); ok2 && !first.After(now) {
				t = first
				break
			}
		}
	}
	for ok && !t.After(now) {
		switch {
		case coalesce:
			dropped += len(fires)
			fires = append(fires[:0], t)
		case len(fires) < p.MaxCatchUp:
			fires = append(fires, t)
		default:
			dropped++
		}
		t, ok = tr.Next(j.StartedAt, t)
	}
	return fires, t, ok, dropped
}
