package scheduler

import (
	"time"

	"github.com/jobcenter/jobcenter/services/trigger/internal/jobtable"
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
	return timingOf(j, jobtable.NewPlan(j)).due(nil, next, now, p)
}

// timing is a job's trigger: its shared plan, and its schedule, whose numbers are its
// own (an interval's start and period, a date's instant).
type timing struct {
	plan *jobtable.Plan
	job.Schedule
}

func timingOf(j *job.Job, p *jobtable.Plan) timing {
	t := timing{plan: p, Schedule: p.Schedule()}
	switch p.Kind {
	case job.Interval:
		t.Anchor, t.Every = j.StartedAt, j.Spec.Trigger.Every
	case job.Date:
		t.RunAt = j.Spec.Trigger.RunAt
	}
	return t
}

// next is the job's first fire strictly after t (job.Schedule.Next); a cron's is
// remembered by its plan, which the jobs of the same cron share.
func (t *timing) next(after time.Time) (time.Time, bool) {
	if t.Cron == nil {
		return t.Schedule.Next(after)
	}
	if t.Exclude == nil {
		return t.cronInstant(after)
	}
	return t.Skipping(after, t.cronInstant)
}

// cronInstant is a cron's first instant after the search begins at after, within its
// life, whether its calendars exclude it or not.
func (t *timing) cronInstant(after time.Time) (time.Time, bool) {
	from := t.From(after)
	return t.Within(job.Forward(from)(t.plan.CronNext(from)))
}

// fireAt is when the fire of job id at instant at runs, Unix ns, and how many ms after
// its instant that is: its jitter's offset, short of the instant that follows.
func (t *timing) fireAt(id string, at time.Time) (int64, uint32) {
	if t.Jitter <= 0 {
		return at.UnixNano(), 0
	}
	following, ok := t.next(at)
	off := t.Offset(id, at, following, ok)
	return at.Add(off).UnixNano(), uint32(off / time.Millisecond)
}

// due is Due on the compiled trigger; the fires are appended to buf[:0].
func (t timing) due(buf []time.Time, next, now time.Time, p Policy) (fires []time.Time, after time.Time, ok bool, dropped int) {
	fires = buf[:0]
	at, ok := next, true
	coalesce := t.plan.Policy.Coalesce
	// A life that ended during the downtime ends the search there: its last instant is
	// the one to run, and nothing after it is looked for.
	limit := now
	if !t.End.IsZero() && t.End.Before(limit) {
		limit = t.End
	}
	if t.Kind == job.Interval && t.Every > 0 && coalesce && !at.After(now) && !t.Bounded() && t.Exclude == nil {
		// Arithmetic instead of a walk: a long downtime of a short interval is one step.
		last := job.NextInterval(t.Anchor, t.Every, now.Add(-t.Every))
		return append(fires, last), last.Add(t.Every), true, int(last.Sub(at) / t.Every)
	}
	if coalesce && !at.After(now) {
		// Only the latest due instant runs: look for it in a window before now that
		// widens until it holds one, rather than walking a long downtime instant by
		// instant (an every-second cron down for a month is millions of steps).
		for back := time.Second; limit.Add(-back).After(at); back *= 16 {
			if first, ok2 := t.next(limit.Add(-back)); ok2 && !first.After(limit) {
				// The instants jumped over are missed too: counted, up to a bound.
				for a, ok3 := at, true; ok3 && a.Before(first) && dropped < MaxMissedCounted; a, ok3 = t.next(a) {
					dropped++
				}
				at = first
				break
			}
		}
	}
	for ok && !at.After(now) {
		switch {
		case coalesce:
			dropped += len(fires)
			fires = append(fires[:0], at)
		case len(fires) < p.MaxCatchUp:
			fires = append(fires, at)
		default:
			dropped++
		}
		at, ok = t.next(at)
	}
	return fires, at, ok, dropped
}

// MaxMissedCounted bounds how many of a cron job's instants missed before its catch-up
// window are counted at one catch-up: counting walks them one by one, and a month of an
// every-second cron is millions. An interval's are counted exactly, by arithmetic.
const MaxMissedCounted = 1000
