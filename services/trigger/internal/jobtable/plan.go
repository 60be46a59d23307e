package jobtable

import (
	"encoding/binary"
	"strings"
	"sync"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/calendar"
	"github.com/jobcenter/jobcenter/shared/cron"
	"github.com/jobcenter/jobcenter/shared/job"
)

// Plan is a trigger and a misfire policy compiled once, shared by every job that has
// them: a cron expression is parsed and its zone loaded when the first job with it is
// held, not at each of its fires.
type Plan struct {
	Kind       job.Kind
	Cron, Zone string
	Policy     job.Policy
	Expr       *cron.Expr // nil if the trigger is not a valid cron: it never fires
	Loc        *time.Location
	// Start and End bound the trigger's life (zero: no bound): jobs of different
	// lifetimes have different plans.
	Start, End time.Time
	// Jitter spreads its fires (job.Schedule.Offset).
	Jitter time.Duration
	// FixedDelay: an interval counted from its last scheduled run's end; after a fire it
	// waits for that end (a rearm command) instead of queueing the next.
	FixedDelay bool
	// Calendars are the keys (calendar.Key) of the calendars its jobs respect, a plan's
	// tenant's; Exclude, set by the scheduler, is what they exclude (nil: none).
	Calendars []string
	Exclude   func(time.Time) (time.Time, bool)
	// Then is what follows each of its fires' runs (nil: nothing), made once, shared by
	// its fires.
	Then *contracts.Then

	// The last two next cron instants computed, which the plan's other jobs are likely
	// to ask for too: those that fired together ask for the instant after the same one,
	// those started in the same second for the same — and a spread job asks for the
	// instant after that one as well (its jitter stops short of it). A cron's next
	// instant depends on the second it is asked after only.
	mu     sync.Mutex
	nexts  [2]cronNext
	oldest int // the entry to replace
}

// cronNext is one next cron instant remembered.
type cronNext struct {
	known  bool  // whether the three below hold one
	after  int64 // Unix seconds
	next   time.Time
	nextOK bool
}

// NewPlan compiles j's plan, keeping copies of its strings rather than the job's.
func NewPlan(j *job.Job) *Plan {
	tr := j.Spec.Trigger
	p := &Plan{Kind: job.Kind(strings.Clone(string(tr.Kind))), Cron: strings.Clone(tr.Cron),
		Zone: strings.Clone(tr.Zone), Policy: j.Spec.Policy, Then: thenOf(j.Spec.Policy, tr.FixedDelay), Start: tr.Start, End: tr.End, Jitter: tr.Jitter,
		FixedDelay: tr.FixedDelay}
	for _, name := range tr.Calendars {
		p.Calendars = append(p.Calendars, calendar.Key(j.Tenant, name))
	}
	if p.Kind == job.Cron {
		s := tr.Compile(time.Time{})
		p.Expr, p.Loc = s.Cron, s.Loc
	}
	return p
}

// AppendPlanKey appends what tells j's plan from others.
func AppendPlanKey(b []byte, j *job.Job) []byte {
	tr, p := j.Spec.Trigger, j.Spec.Policy
	b = appendString(appendString(appendString(b, string(tr.Kind)), tr.Cron), tr.Zone)
	b = append(b, boolByte(p.Coalesce))
	for _, n := range [...]int64{int64(p.MisfireGrace), int64(p.MaxInstances), int64(p.Retries), int64(p.RetryBackoff)} {
		b = binary.AppendVarint(b, n)
	}
	// Each only when it or one after it is set, so that the keys of images cut before a
	// field existed still read: the timeout, then the pause and the two chains, then the
	// lifetime, then the jitter, then the overlap policy, then the fixed delay, then the
	// calendars, named with their tenant (theirs alone: such plans are a tenant's), then
	// the worker group and route.
	workers := p.Group != ""
	cals := len(tr.Calendars) > 0 || workers
	delay := tr.FixedDelay || cals
	overlap := p.Overlap != "" || delay
	spread := tr.Jitter != 0 || overlap
	life := !tr.Start.IsZero() || !tr.End.IsZero() || spread
	after := p.PauseAfterFailures != 0 || p.Chained() || life
	if p.Timeout != 0 || after {
		b = binary.AppendVarint(b, int64(p.Timeout))
	}
	if after {
		b = binary.AppendVarint(b, int64(p.PauseAfterFailures))
		b = appendString(appendString(b, strings.Join(p.OnSuccess, ",")), strings.Join(p.OnFailure, ","))
	}
	if life {
		b = binary.AppendVarint(binary.AppendVarint(b, Nanos(tr.Start)), Nanos(tr.End))
	}
	if spread {
		b = binary.AppendVarint(b, int64(tr.Jitter))
	}
	if overlap {
		b = appendString(b, string(p.Overlap))
	}
	if delay {
		b = append(b, boolByte(tr.FixedDelay))
	}
	if cals {
		b = appendString(appendString(b, contracts.Token(j.Tenant)), strings.Join(tr.Calendars, ","))
	}
	if workers {
		b = appendString(appendString(b, p.Group), string(p.Route))
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// thenOf is what follows a run of a job with policy p, and a fixed delay when rearm; nil
// when nothing does.
func thenOf(p job.Policy, rearm bool) *contracts.Then {
	if p.PauseAfterFailures == 0 && !p.Chained() && !rearm {
		return nil
	}
	return &contracts.Then{OnSuccess: p.OnSuccess, OnFailure: p.OnFailure, PauseAfterFailures: p.PauseAfterFailures, Rearm: rearm}
}

// Schedule is the plan's part of a job's schedule: all but an interval's start and
// period and a date's instant, which are the job's own.
func (p *Plan) Schedule() job.Schedule {
	return job.Schedule{Kind: p.Kind, Cron: p.Expr, Loc: p.Loc, Start: p.Start, End: p.End, Jitter: p.Jitter, Exclude: p.Exclude}
}

// At is the instant of Unix nanoseconds n as the trigger computes its instants: in
// the cron's zone, else in UTC (as the store gives starts and dates).
func (p *Plan) At(n int64) time.Time {
	if p.Loc != nil {
		return time.Unix(0, n).In(p.Loc)
	}
	return Instant(n)
}

func (p *Plan) CronNext(after time.Time) (time.Time, bool) {
	sec := after.Unix()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.nexts {
		if n := &p.nexts[i]; n.known && n.after == sec {
			return n.next, n.nextOK
		}
	}
	n := &p.nexts[p.oldest]
	p.oldest = 1 - p.oldest
	n.next, n.nextOK = p.Expr.Next(after, p.Loc)
	n.known, n.after = true, sec
	return n.next, n.nextOK
}

// Nanos is t in Unix nanoseconds, 0 for the zero time (no fire yet, no start).
func Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Instant is nanos' inverse, in UTC.
func Instant(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
