package job

import (
	"time"
)

// CommandType names what a command asks.
type CommandType string

// Command types. Finish is the trigger's own: a job has no fire left.
const (
	Create CommandType = "create"
	Update CommandType = "update"
	Start  CommandType = "start"
	Stop   CommandType = "stop"
	Exec   CommandType = "exec"
	Delete CommandType = "delete"
	Finish CommandType = "finish"
	// Backfill runs the job's schedule's fires over a past range.
	Backfill CommandType = "backfill"
	// Rearm is the trigger's own, after a fixed-delay job's scheduled run ended: the job
	// counts its next fire from the end (the command's At).
	Rearm CommandType = "rearm"
)

// Event names a change recorded in the job's lifecycle.
type Event string

// Lifecycle events.
const (
	Created     Event = "created"
	Updated     Event = "updated"
	StartedEvt  Event = "started"
	StoppedEvt  Event = "stopped"
	DeletedEvt  Event = "deleted"
	FinishedEvt Event = "finished"
)

// Command is a request to change a job.
type Command struct {
	ID     string
	Type   CommandType
	Tenant string
	JobID  string
	JobKey string // for Create: the new job's scheduler id
	User   string
	At     time.Time
	Spec   *Spec // for Create and Update
	// Version, on Finish, is the job version the trigger saw when it found no fire left;
	// a job changed since then is not finished.
	Version int64
	// Enable, on Create, starts the new job at once (a Quartz schedule is born enabled).
	Enable bool
	// Params, on Exec, are the run's parameters: a JSON object (Params), "" for none.
	Params string
	// ParentFireID, on an Exec a chain sends, is the run that ended and starts it.
	ParentFireID string
	// Reason says why a command the center sends itself was sent (a pause's stop).
	Reason string
	// Backfill, on Backfill, is the range asked for.
	Backfill *BackfillRange
	// FireID, on Rearm, is the scheduled fire whose run ended at At.
	FireID string
}

// Decision is what a command does to a job.
type Decision struct {
	// Job is the state after the command (a tombstone after Delete).
	Job *Job
	// Events are the lifecycle events to record, in order; none when nothing changed.
	Events []Event
	// Fire asks for one run now (Exec).
	Fire bool
	// Backfill are the past instants to fire (Backfill), oldest first; Capped when the
	// range held more.
	Backfill []time.Time
	Capped   bool
	// Rearm, on Rearm, is the run's end a fixed-delay job counts its next fire from.
	Rearm *RunEnd
	// Replayed is true when the command was applied already: nothing changes.
	Replayed bool
}

// Decide applies cmd to cur (nil when no such job) at now. It is pure: the same inputs
// give the same decision, so a redelivered command is recognised by its id and changes
// nothing. Errors wrap ErrNotFound, ErrConflict or ErrInvalid.
func Decide(cmd Command, cur *Job, now time.Time) (Decision, error) {
	if cur != nil && cur.LastCommand == cmd.ID {
		return Decision{Job: cur, Replayed: true}, nil
	}
	if cmd.Type == Create || cmd.Type == Update {
		if cmd.Spec == nil {
			return Decision{}, invalid("spec", "is required")
		}
		if err := cmd.Spec.Validate(); err != nil {
			return Decision{}, err
		}
	}
	if cmd.Type == Create {
		return create(cmd, cur, now)
	}
	if !cur.Live() || cur.Tenant != cmd.Tenant {
		return Decision{}, ErrNotFound
	}
	next := *cur
	switch cmd.Type {
	case Update:
		return update(cmd, next, now)
	case Start:
		return start(cmd, next, now)
	case Stop:
		if next.State != Started {
			return Decision{Job: cur}, nil
		}
		next.State, next.StartedAt = Stopped, time.Time{}
		return changed(cmd, next, StoppedEvt), nil
	case Exec:
		// Remembered, not versioned: a redelivered exec is recognised and runs once.
		next.LastCommand = cmd.ID
		return Decision{Job: &next, Fire: true}, nil
	case Rearm:
		return rearm(cmd, next), nil
	case Backfill:
		if cmd.Backfill == nil {
			return Decision{}, invalid("backfill", "is required")
		}
		ats, capped, err := cur.BackfillInstants(*cmd.Backfill, now)
		if err != nil {
			return Decision{}, err
		}
		// Remembered as an exec is: applied again, it stores nothing more.
		next.LastCommand = cmd.ID
		return Decision{Job: &next, Backfill: ats, Capped: capped}, nil
	case Delete:
		next.State, next.StartedAt = Deleted, time.Time{}
		return changed(cmd, next, DeletedEvt), nil
	case Finish:
		if next.State != Started || next.Version != cmd.Version {
			return Decision{Job: cur}, nil
		}
		next.State = Finished
		return changed(cmd, next, FinishedEvt), nil
	}
	return Decision{}, invalid("type", "unknown command %q", clip(string(cmd.Type)))
}

func create(cmd Command, cur *Job, now time.Time) (Decision, error) {
	if cur != nil {
		return Decision{}, &ConflictError{Field: "id", Msg: "a job with this id exists"}
	}
	if cmd.Spec == nil {
		return Decision{}, invalid("spec", "is required")
	}
	j := Job{
		ID:        cmd.JobID,
		Key:       cmd.JobKey,
		Tenant:    cmd.Tenant,
		Spec:      *cmd.Spec,
		State:     Stopped,
		CreatedAt: cmd.At,
		CreatedBy: cmd.User,
	}
	if !cmd.Enable {
		return changed(cmd, j, Created), nil
	}
	if _, ok := j.Spec.Trigger.Next(now, now); !ok {
		return Decision{}, &ConflictError{Field: spentField(j.Spec), Msg: "the schedule has no fire time left"}
	}
	j.State, j.StartedAt = Started, now
	return changed(cmd, j, Created, StartedEvt), nil
}

func update(cmd Command, next Job, now time.Time) (Decision, error) {
	if cmd.Spec == nil {
		return Decision{}, invalid("spec", "is required")
	}
	tr := cmd.Spec.Trigger
	if tr.Kind == Date && !tr.RunAt.After(now) {
		return Decision{}, invalid("run_date", "must be later than now")
	}
	same := next.Spec.Trigger.Same(cmd.Spec.Trigger)
	next.Spec = *cmd.Spec
	switch next.State {
	case Started:
		// A started job whose trigger changes is rescheduled from now, as if started
		// again; one whose trigger stays keeps its schedule (a fire due, or spread past its
		// instant by a jitter, still comes).
		if !same {
			next.StartedAt = now
		}
		// A fire spread past its instant by a jitter is still to come: counted by NextFire.
		// A fixed-delay job that keeps its schedule counts its fires from its runs' ends,
		// which the domain does not see: the scheduler finishes it when none is left.
		s := next.Spec.Trigger.Compile(next.StartedAt)
		if _, ok := s.NextFire(next.ID, now); !ok && !(same && next.Spec.Trigger.FixedDelay) {
			next.State, next.StartedAt = Finished, time.Time{}
		}
	case Finished:
		next.State = Stopped
	}
	return changed(cmd, next, Updated), nil
}

func start(cmd Command, next Job, now time.Time) (Decision, error) {
	if next.State == Started {
		return Decision{Job: &next}, nil
	}
	if _, ok := next.Spec.Trigger.Next(now, now); !ok {
		return Decision{}, &ConflictError{Field: spentField(next.Spec), Msg: "the job has no fire time left: change its trigger first"}
	}
	next.State, next.StartedAt = Started, now
	return changed(cmd, next, StartedEvt), nil
}

// RunEnd is a fixed-delay job's run's end: the job's next fire counts from it. It is not
// a change of the job (its start stays, and no lifecycle event grows the log with runs):
// the trigger keeps it beside the job (in a bucket) and tells its scheduler.
type RunEnd struct {
	// FireID is the scheduled fire whose run ended, at Instant; StartedAt is the start
	// of the job that fire belongs to.
	FireID           string
	Instant          time.Time
	StartedAt, Ended time.Time
}

// Anchor is what the next fire counts from: the run's end, never before the instant
// that fired (an executor's clock behind the trigger's).
func (r RunEnd) Anchor() time.Time {
	if r.Ended.Before(r.Instant) {
		return r.Instant
	}
	return r.Ended
}

// rearm decides a fixed-delay job's run's end: it counts if the run was of a scheduled
// fire of the job's current start (at or after its first instant: its calendars, which
// the domain does not see, may have excluded the first). The job is unchanged.
func rearm(cmd Command, cur Job) Decision {
	tr := cur.Spec.Trigger
	at, ok := ScheduledInstant(cur.ID, cmd.FireID)
	first, ok2 := tr.Next(cur.StartedAt, cur.StartedAt)
	d := Decision{Job: &cur}
	if cur.State == Started && tr.Kind == Interval && tr.FixedDelay && ok && ok2 && !at.Before(first) {
		d.Rearm = &RunEnd{FireID: cmd.FireID, Instant: at, StartedAt: cur.StartedAt, Ended: cmd.At}
	}
	return d
}

// NextAfterRun is a fixed-delay job's next fire strictly after t once the run of r
// ended: its schedule anchored at that end, with exclude's instants no fire. ok is
// false when r is not of its current start, or no fire is left.
func (j *Job) NextAfterRun(r RunEnd, t time.Time, exclude func(time.Time) (time.Time, bool)) (time.Time, bool) {
	if j.State != Started || !j.Spec.Trigger.FixedDelay || !r.StartedAt.Equal(j.StartedAt) {
		return time.Time{}, false
	}
	s := j.Spec.Trigger.Compile(r.Anchor())
	s.Exclude = exclude
	first, ok := s.NextFire(j.ID, r.Anchor())
	if !ok || !first.After(t) {
		return time.Time{}, false
	}
	return first, true
}

// changed stamps a new state with the command that made it.
func changed(cmd Command, next Job, evs ...Event) Decision {
	next.Version++
	next.LastCommand = cmd.ID
	next.UpdatedAt = cmd.At
	if cmd.User != "" {
		next.UpdatedBy = cmd.User
	}
	return Decision{Job: &next, Events: evs}
}

// spentField names what left a job no fire: its end_date when its life ended, else its
// date, its cron expression (the Quartz API's name for a schedule's, the SDK's for a job's).
func spentField(s Spec) string {
	tr := s.Trigger
	switch {
	case !tr.End.IsZero():
		return "end_date"
	case tr.Kind == Date:
		return "run_date"
	case s.Target.BizCode != "":
		return "cronexpression"
	}
	return "cron"
}
