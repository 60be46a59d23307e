package job

import (
	"time"

	"github.com/jobcenter/jobcenter/shared/cron"
)

// Next returns the trigger's first fire strictly after t. anchor is when the job was
// started: an interval fires at anchor + k·Every for k ≥ 1. ok is false when the trigger
// will never fire again (a date in the past, a cron with no later match).
func (tr Trigger) Next(anchor, t time.Time) (next time.Time, ok bool) {
	s := tr.Compile(anchor)
	return s.Next(t)
}

// Schedule is a trigger ready to give its instants: an interval from its start, a date,
// or a cron expression parsed, in its zone loaded. Its Next is the one place a job's
// next fire is computed: the api's next_run_time, the domain's rules and the scheduler
// all use it.
type Schedule struct {
	Kind Kind
	// Anchor is when the job was started: an interval fires at Anchor + k·Every, k ≥ 1;
	// no schedule fires at or before it.
	Anchor time.Time
	Every  time.Duration
	RunAt  time.Time
	// Cron is nil for a cron whose expression or zone does not load: it never fires.
	Cron *cron.Expr
	Loc  *time.Location
	// Start and End bound its life: no instant before Start, none after End.
	Start, End time.Time
	// Jitter spreads each fire up to this long after its instant (Offset).
	Jitter time.Duration
	// Exclude, when set, says whether an instant is excluded (by the calendars the job
	// names) and, when it is, until when at least: an excluded instant is no fire.
	Exclude func(time.Time) (until time.Time, excluded bool)
}

// MaxExcluded bounds the excluded stretches a search for the next fire leaps: a schedule
// whose next instants stay excluded beyond it has no fire (as Quartz gives a trigger
// whose calendar excludes every fire up).
const MaxExcluded = 10_000

// Compile makes tr's schedule for a job started at anchor.
func (tr Trigger) Compile(anchor time.Time) Schedule {
	s := Schedule{Kind: tr.Kind, Anchor: anchor, Every: tr.Every, RunAt: tr.RunAt, Start: tr.Start, End: tr.End, Jitter: tr.Jitter}
	if tr.Kind == Cron {
		e, err1 := ParseCron(tr.Cron)
		loc, err2 := LoadZone(tr.Zone)
		if err1 == nil && err2 == nil {
			s.Cron, s.Loc = e, loc
		}
	}
	return s
}

// Next returns the schedule's first fire strictly after t; ok is false when there is
// none.
func (s *Schedule) Next(t time.Time) (time.Time, bool) {
	if s.Exclude == nil {
		return s.instant(t) // no closure made: this is the scheduler's hot path
	}
	return s.Skipping(t, s.instant)
}

// instant is the schedule's first instant after t within its life, excluded or not.
func (s *Schedule) instant(t time.Time) (time.Time, bool) {
	next, ok := s.unbounded(s.From(t))
	return s.Within(next, ok)
}

// Skipping is next(t), the first instant after t, leaping the instants Exclude excludes:
// the one place a calendar's exclusions apply.
func (s *Schedule) Skipping(t time.Time, next func(time.Time) (time.Time, bool)) (time.Time, bool) {
	at, ok := next(t)
	if s.Exclude == nil {
		return at, ok
	}
	for range MaxExcluded {
		if !ok {
			return at, false
		}
		if at.UTC().Year() > lastYear {
			// Leaped past the dates this scheduler fires (a cron calendar of every second
			// matches nothing after its last year): what it excluded to here has no end.
			return time.Time{}, false
		}
		until, excluded := s.Exclude(at)
		if !excluded {
			return at, true
		}
		// Every instant before until is excluded: search on from just before it.
		at, ok = next(until.Add(-time.Nanosecond))
	}
	return time.Time{}, false
}

// From is where a search for the first fire after t begins, within the schedule's life:
// t, or just before Start (so that Start itself may be an instant).
func (s *Schedule) From(t time.Time) time.Time {
	if !s.Start.IsZero() && t.Before(s.Start) {
		return s.Start.Add(-time.Nanosecond)
	}
	return t
}

// Within is next, unless it falls after the schedule's End: then there is none.
func (s *Schedule) Within(next time.Time, ok bool) (time.Time, bool) {
	if ok && !s.End.IsZero() && next.After(s.End) {
		return time.Time{}, false
	}
	return next, ok
}

// Forward keeps a cron's next instant only if it is after t. Quartz's own arithmetic can
// go back in time for some expressions it accepts (an increment that overflows an int,
// "5-10/2147483647"): such an instant is no fire, so that a schedule only ever moves
// forward and a scheduler asking for the instant after the last never loops.
func Forward(t time.Time) func(time.Time, bool) (time.Time, bool) {
	return func(next time.Time, ok bool) (time.Time, bool) {
		if ok && !next.After(t) {
			return time.Time{}, false
		}
		return next, ok
	}
}

// Bounded reports whether the schedule's life is bounded.
func (s *Schedule) Bounded() bool { return !s.Start.IsZero() || !s.End.IsZero() }

func (s *Schedule) unbounded(t time.Time) (time.Time, bool) {
	switch s.Kind {
	case Interval:
		if s.Every > 0 {
			return NextInterval(s.Anchor, s.Every, t), true
		}
	case Date:
		if s.RunAt.After(t) {
			return s.RunAt, true
		}
	case Cron:
		if s.Cron != nil {
			return Forward(t)(s.Cron.Next(t, s.Loc))
		}
	}
	return time.Time{}, false
}

// NextInterval returns the first anchor + k·every (k ≥ 1) strictly after t; every must
// be positive.
func NextInterval(anchor time.Time, every time.Duration, t time.Time) time.Time {
	first := anchor.Add(every)
	if t.Before(first) {
		return first
	}
	k := t.Sub(anchor)/every + 1
	return anchor.Add(k * every)
}
