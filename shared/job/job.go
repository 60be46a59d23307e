package job

import (
	"reflect"
	"slices"
	"time"
)

// Kind is how a job's trigger fires.
type Kind string

// Trigger kinds: the SDK's "interval" and "date", and Quartz's cron.
const (
	Interval Kind = "interval"
	Date     Kind = "date"
	Cron     Kind = "cron"
)

// State is where a job stands in its life.
type State string

// Job states. A new job is Stopped; a date job that fired, or a cron with no next time,
// is Finished; a deleted job is kept as a Deleted tombstone so that its id is never reused
// and a replayed delete is recognised.
const (
	Stopped  State = "stopped"
	Started  State = "started"
	Finished State = "finished"
	Deleted  State = "deleted"
)

// Trigger says when a job fires.
type Trigger struct {
	Kind Kind
	// Every is the interval of an Interval trigger, a whole number of seconds.
	Every time.Duration
	// RunAt is the instant of a Date trigger.
	RunAt time.Time
	// Cron is a Quartz cron expression, for Cron triggers.
	Cron string
	// Zone is the IANA time zone a Cron trigger's wall-clock fields are read in.
	Zone string
	// Start and End bound an Interval or Cron trigger's life (APScheduler's start_date
	// and end_date): no fire before Start, none after End; zero: no bound.
	Start, End time.Time
	// Calendars are the names of the tenant's calendars whose excluded times are no fire
	// (Quartz's modifiedByCalendar, Temporal's exclusions), in the order given.
	Calendars []string
	// FixedDelay makes an Interval count from the end of its last scheduled run instead
	// of its start (XXL-JOB's FIX_DELAY, Spring's fixedDelay): once that run ends, the
	// job is started again as of its end, so its next fire is Every after it.
	FixedDelay bool
	// Jitter spreads each fire over up to this long after its instant, whole seconds
	// (Temporal's and Quartz users' jitter): the same spread for the same job and instant
	// everywhere, short of the instant that follows.
	Jitter time.Duration
}

// Target is what a run executes: exactly one field is set.
type Target struct {
	Code    string
	FlowID  string
	BizCode string
	HTTP    *HTTPCall
}

// Spec is a validated job definition: what a user may set.
type Spec struct {
	Pid         string
	Name        string
	Description string
	Trigger     Trigger
	Target      Target
	Policy      Policy
}

// Policy says what happens to a job's runs when they are late, overlap or fail. The
// names are APScheduler's, which the SDK's coalesce comes from.
type Policy struct {
	// Coalesce collapses fires missed during downtime into one (the SDK's default, true).
	Coalesce bool
	// MisfireGrace: a fire later than this is not run but journaled as missed; 0 means
	// no limit.
	MisfireGrace time.Duration
	// MaxInstances bounds the job's runs going on at once; a fire beyond it is skipped.
	MaxInstances int
	// Retries is how many times a failed run is tried again, RetryBackoff apart
	// (doubling each time).
	Retries      int
	RetryBackoff time.Duration
	// Timeout bounds each attempt of a run; 0 is the center's (JOBCENTER_EXEC_TIMEOUT).
	Timeout time.Duration
	// PauseAfterFailures stops the job after this many of its runs in a row failed (0:
	// never), PowerJob's and DolphinScheduler's guard against a job failing for ever.
	PauseAfterFailures int
	// OnSuccess and OnFailure are the jobs (their ids, of the same tenant) run once when
	// one of its runs succeeds, or fails: XXL-JOB's child jobs.
	OnSuccess, OnFailure []string
	// Overlap is what a fire does while the job's run goes on ("": OverlapSkip).
	Overlap Overlap
	// Group, when set, is the tenant's worker group that runs the job's flow or
	// behaviour, and Route how each fire picks its worker; "" for none.
	Group string
	Route Route
}

// Overlap is what a fire does while a run of its job goes on: Temporal's overlap
// policies, named as it names them.
type Overlap string

// Overlap policies. Skip is the SDK's max_instances: a fire beyond them is journaled
// skipped. The others hold a job to one run at a time.
const (
	OverlapSkip = Overlap("skip")
	// OverlapBufferOne: the fire waits for the run under way and then runs; one fire
	// waits at most, a further one is skipped.
	OverlapBufferOne = Overlap("buffer_one")
	// OverlapCancelOther: the run under way is killed, and the fire runs.
	OverlapCancelOther = Overlap("cancel_other")
	// OverlapAllowAll: every fire runs at once, however many runs go on.
	OverlapAllowAll = Overlap("allow_all")
)

// Overlaps lists the policies, for messages and documents.
var Overlaps = []Overlap{OverlapSkip, OverlapBufferOne, OverlapCancelOther, OverlapAllowAll}

// Chained reports whether the policy runs other jobs after a run.
func (p Policy) Chained() bool { return len(p.OnSuccess) > 0 || len(p.OnFailure) > 0 }

// DefaultPolicy is APScheduler's: coalesce, no grace limit, one instance, no retry.
func DefaultPolicy() Policy { return Policy{Coalesce: true, MaxInstances: 1} }

// Job is a job's whole state.
type Job struct {
	ID     string // the record id: the SDK's "id"
	Key    string // the scheduler id: the SDK's "jobId"
	Tenant string // the project id (job center) or tecode (Quartz)
	Spec   Spec
	State  State
	// StartedAt anchors an interval job's fires: StartedAt + k·Every, k ≥ 1.
	StartedAt time.Time
	CreatedAt time.Time
	CreatedBy string
	UpdatedAt time.Time
	UpdatedBy string
	// Version counts applied changes.
	Version int64
	// LastCommand is the id of the last command applied, so a redelivered command is
	// recognised and changes nothing.
	LastCommand string
}

// Live reports whether the job exists for its users: not deleted.
func (j *Job) Live() bool { return j != nil && j.State != Deleted }

// Next returns the job's next fire strictly after t, when it is started: its next
// instant, spread by its jitter. A fixed-delay job has one fire a start (the next is
// counted from its run's end): none once that one is due.
func (j *Job) Next(t time.Time) (time.Time, bool) { return j.NextExcluding(t, nil) }

// NextExcluding is Next with the instants exclude excludes (its calendars') no fire.
func (j *Job) NextExcluding(t time.Time, exclude func(time.Time) (time.Time, bool)) (time.Time, bool) {
	if j.State != Started {
		return time.Time{}, false
	}
	s := j.Spec.Trigger.Compile(j.StartedAt)
	s.Exclude = exclude
	if j.Spec.Trigger.FixedDelay {
		if first, ok := s.NextFire(j.ID, j.StartedAt); ok && first.After(t) {
			return first, true
		}
		return time.Time{}, false
	}
	return s.NextFire(j.ID, t)
}

// Same reports whether two triggers are the same: the same instants however their zones
// are written.
func (t Trigger) Same(o Trigger) bool {
	a, b := t, o
	a.RunAt, a.Start, a.End, b.RunAt, b.Start, b.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	a.Calendars, b.Calendars = nil, nil
	return reflect.DeepEqual(a, b) && t.RunAt.Equal(o.RunAt) && t.Start.Equal(o.Start) && t.End.Equal(o.End) &&
		slices.Equal(t.Calendars, o.Calendars)
}

// Same reports whether two definitions are the same: the same instant however its zone
// is written.
func (s Spec) Same(o Spec) bool {
	a, b := s, o
	a.Trigger.RunAt, b.Trigger.RunAt = time.Time{}, time.Time{}
	a.Policy.OnSuccess, a.Policy.OnFailure, b.Policy.OnSuccess, b.Policy.OnFailure = nil, nil, nil, nil
	return reflect.DeepEqual(a, b) && s.Trigger.RunAt.Equal(o.Trigger.RunAt) &&
		slices.Equal(s.Policy.OnSuccess, o.Policy.OnSuccess) && slices.Equal(s.Policy.OnFailure, o.Policy.OnFailure)
}
