package scheduler

import (
	"encoding/binary"
	"strings"
	"sync"
	"time"

	"github.com/jobcenter/jobcenter/shared/cron"
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
	return timingOf(j, newPlan(j)).due(nil, next, now, p)
}

// plan is a trigger and a misfire policy compiled once, shared by every job that has
// them: a cron expression is parsed and its zone loaded when the first job with it is
// held, not at each of its fires.
type plan struct {
	kind       job.Kind
	cron, zone string
	policy     job.Policy
	expr       *cron.Expr // nil if the trigger is not a valid cron: it never fires
	loc        *time.Location

	// The last next cron instant computed, which the plan's other jobs are likely to
	// ask for too: those that fired together ask for the instant after the same one,
	// those started in the same second for the same. A cron's next instant depends on
	// the second it is asked after only.
	mu     sync.Mutex
	known  bool  // whether the three below hold one
	after  int64 // Unix seconds
	next   time.Time
	nextOK bool
}

// newPlan compiles j's plan, keeping copies of its strings rather than the job's.
func newPlan(j *job.Job) *plan {
	tr := j.Spec.Trigger
	p := &plan{kind: job.Kind(strings.Clone(string(tr.Kind))), cron: strings.Clone(tr.Cron),
		zone: strings.Clone(tr.Zone), policy: j.Spec.Policy}
	if p.kind == job.Cron {
		s := tr.Compile(time.Time{})
		p.expr, p.loc = s.Cron, s.Loc
	}
	return p
}

// appendPlanKey appends what tells j's plan from others.
func appendPlanKey(b []byte, j *job.Job) []byte {
	tr, p := j.Spec.Trigger, j.Spec.Policy
	b = appendString(appendString(appendString(b, string(tr.Kind)), tr.Cron), tr.Zone)
	if p.Coalesce {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	for _, n := range [...]int64{int64(p.MisfireGrace), int64(p.MaxInstances), int64(p.Retries), int64(p.RetryBackoff)} {
		b = binary.AppendVarint(b, n)
	}
	// Only when set, so that the keys of images cut before jobs had timeouts still read.
	if p.Timeout != 0 {
		b = binary.AppendVarint(b, int64(p.Timeout))
	}
	return b
}

// at is the instant of Unix nanoseconds n as the trigger computes its instants: in
// the cron's zone, else in UTC (as the store gives starts and dates).
func (p *plan) at(n int64) time.Time {
	if p.loc != nil {
		return time.Unix(0, n).In(p.loc)
	}
	return instant(n)
}

// timing is a job's trigger: its shared plan, and its schedule, whose numbers are its
// own (an interval's start and period, a date's instant).
type timing struct {
	*plan
	job.Schedule
}

func timingOf(j *job.Job, p *plan) timing {
	t := timing{plan: p, Schedule: job.Schedule{Kind: p.kind, Cron: p.expr, Loc: p.loc}}
	switch p.kind {
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
	if t.Cron != nil {
		return t.cronNext(after)
	}
	return t.Schedule.Next(after)
}

func (p *plan) cronNext(after time.Time) (time.Time, bool) {
	sec := after.Unix()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.known || p.after != sec {
		p.next, p.nextOK = p.expr.Next(after, p.loc)
		p.known, p.after = true, sec
	}
	return p.next, p.nextOK
}

// due is Due on the compiled trigger; the fires are appended to buf[:0].
func (t timing) due(buf []time.Time, next, now time.Time, p Policy) (fires []time.Time, after time.Time, ok bool, dropped int) {
	fires = buf[:0]
	at, ok := next, true
	coalesce := t.policy.Coalesce
	if t.kind == job.Interval && t.Every > 0 && coalesce && !at.After(now) {
		// Arithmetic instead of a walk: a long downtime of a short interval is one step.
		last := job.NextInterval(t.Anchor, t.Every, now.Add(-t.Every))
		return append(fires, last), last.Add(t.Every), true, int(last.Sub(at) / t.Every)
	}
	if coalesce && !at.After(now) {
		// Only the latest due instant runs: look for it in a window before now that
		// widens until it holds one, rather than walking a long downtime instant by
		// instant (an every-second cron down for a month is millions of steps).
		for back := time.Second; now.Add(-back).After(at); back *= 16 {
			if first, ok2 := t.next(now.Add(-back)); ok2 && !first.After(now) {
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

// nanos is t in Unix nanoseconds, 0 for the zero time (no fire yet, no start).
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// instant is nanos' inverse, in UTC.
func instant(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
