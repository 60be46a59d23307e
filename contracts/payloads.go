package contracts

import (
	"encoding/json"
	"time"
)

// Version is the schema version written in every payload's "v" field.
const Version = 1

// Command types.
const (
	CmdCreate = "create"
	CmdUpdate = "update"
	CmdStart  = "start"
	CmdStop   = "stop"
	CmdExec   = "exec"
	CmdDelete = "delete"
	// CmdFinish is the trigger's own command: a date job fired, or a cron has no next time.
	CmdFinish = "finish"
	// CmdBackfill runs a job's schedule's fires over a past range.
	CmdBackfill = "backfill"
	// CmdRearm is the trigger's own: a fixed-delay job's run ended (FireID, at At).
	CmdRearm = "rearm"
)

// Command is a write accepted by the api, appended to JOBCENTER_COMMANDS with its ID as
// the message id, and applied by the trigger service in stream order.
type Command struct {
	V      int       `json:"v"`
	ID     string    `json:"id"`
	Type   string    `json:"type"`
	Tenant string    `json:"tenant"`
	JobID  string    `json:"job_id"`
	JobKey string    `json:"job_key,omitempty"`
	User   string    `json:"user,omitempty"`
	At     time.Time `json:"at"`
	// ReplyTo is a core NATS subject that receives the Outcome once applied.
	ReplyTo string `json:"reply_to,omitempty"`
	// Idempotent marks a command sent with an Idempotency-Key: its outcome is kept so that
	// a repeated request can be answered with it.
	Idempotent bool `json:"idempotent,omitempty"`
	// Fingerprint, on an idempotent command, identifies the request's body ("-": none),
	// so that a key used again for another body is told apart from a repeat.
	Fingerprint string   `json:"fingerprint,omitempty"`
	Spec        *JobSpec `json:"spec,omitempty"`
	// Version, on a finish command, is the job version it was decided against.
	Version int64 `json:"version,omitempty"`
	// Enable, on a create command, starts the new job at once.
	Enable bool `json:"enable,omitempty"`
	// Params, on an exec command, are the run's parameters: a JSON object.
	Params json.RawMessage `json:"params,omitempty"`
	// ParentFireID, on an exec a chain sends, is the run whose end starts this one.
	ParentFireID string `json:"parent_fire_id,omitempty"`
	// Backfill, on a backfill command, is the range whose fires run.
	Backfill *BackfillRange `json:"backfill,omitempty"`
	// FireID, on a rearm command, is the scheduled fire whose run ended.
	FireID string `json:"fire_id,omitempty"`
	// Reason says why the center sent a command itself (a stop after failures).
	Reason string `json:"reason,omitempty"`
}

// JobSpec is what a user says a job is: the body of an add or update.
type JobSpec struct {
	Pid         string     `json:"pid"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Trigger     string     `json:"trigger"`
	Seconds     int64      `json:"seconds,omitempty"`
	RunDate     *time.Time `json:"run_date,omitempty"`
	Cron        string     `json:"cron,omitempty"`
	TimeZone    string     `json:"time_zone,omitempty"`
	// StartDate and EndDate bound an interval or cron job's life.
	StartDate *time.Time `json:"start_date,omitempty"`
	EndDate   *time.Time `json:"end_date,omitempty"`
	// Jitter is the seconds each fire is spread over after its instant.
	Jitter int64 `json:"jitter,omitempty"`
	// FixedDelay counts an interval from the end of its last scheduled run.
	FixedDelay bool `json:"fixed_delay,omitempty"`
	// Calendars name the tenant's calendars whose excluded times are no fire.
	Calendars []string `json:"calendars,omitempty"`
	FlowID    string   `json:"flow_id,omitempty"`
	Code      string   `json:"code,omitempty"`
	BizCode   string   `json:"bizcode,omitempty"`
	// HTTP is an HTTP job's call.
	HTTP   *HTTPCall `json:"http,omitempty"`
	Policy Policy    `json:"policy"`
}

// Policy says what happens to a job's runs when late, overlapping or failing.
type Policy struct {
	Coalesce       bool  `json:"coalesce"`
	MisfireGraceMs int64 `json:"misfire_grace_ms,omitempty"`
	MaxInstances   int   `json:"max_instances"`
	Retries        int   `json:"retries,omitempty"`
	RetryBackoffMs int64 `json:"retry_backoff_ms,omitempty"`
	// TimeoutMs is the job's own limit on each attempt; 0: the center's.
	TimeoutMs int64 `json:"timeout_ms,omitempty"`
	// PauseAfterFailures stops the job after this many failed runs in a row; 0: never.
	PauseAfterFailures int `json:"pause_after_failures,omitempty"`
	// OnSuccess and OnFailure are the jobs run after a run succeeds, or fails.
	OnSuccess []string `json:"on_success,omitempty"`
	OnFailure []string `json:"on_failure,omitempty"`
	// Overlap is what a fire does while the job's run goes on; empty: skip.
	Overlap string `json:"overlap,omitempty"`
	// WorkerGroup is the tenant's worker group that runs the job, by Route; empty: none.
	WorkerGroup string `json:"worker_group,omitempty"`
	Route       string `json:"route,omitempty"`
}

// Job is a job's full state, as carried by lifecycle events and outcomes.
type Job struct {
	ID          string     `json:"id"`
	Key         string     `json:"job_key"`
	Tenant      string     `json:"tenant"`
	Spec        JobSpec    `json:"spec"`
	State       string     `json:"state"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	CreatedBy   string     `json:"created_by,omitempty"`
	UpdatedAt   time.Time  `json:"updated_at"`
	UpdatedBy   string     `json:"updated_by,omitempty"`
	Version     int64      `json:"version"`
	LastCommand string     `json:"last_command,omitempty"`
}

// The codes of a rejected command's Error.
const (
	ErrorInvalid  = "invalid"
	ErrorConflict = "conflict"
	ErrorNotFound = "not_found"
)

// Error is a rejected command's reason.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Outcome answers a command: sent to its ReplyTo once applied or rejected.
type Outcome struct {
	V         int    `json:"v"`
	CommandID string `json:"command_id"`
	Error     *Error `json:"error,omitempty"`
	// Job is the state after the command; for a delete, the state before it.
	Job *Job `json:"job,omitempty"`
	// FireID names the run an exec command started.
	FireID string `json:"fire_id,omitempty"`
	// Backfilled is what a backfill command stored.
	Backfilled *Backfilled `json:"backfilled,omitempty"`
	// Fingerprint is the kept outcome's command's (Command.Fingerprint).
	Fingerprint string `json:"fingerprint,omitempty"`
	// Kept: this answers a repeat with the outcome kept from the command's first
	// application; its job may have changed since.
	Kept bool `json:"kept,omitempty"`
}

// BackfillRange asks for the fires of a job's schedule from From to To (both included,
// both past), Concurrency of them running at once; MaxFires, when not 0, runs only the
// first ones of a range holding more. With Of set it is the trigger's own continuation
// of backfill Of, after the run of its fire at From ended: its next fire is the
// Concurrency-th instant after From, if not after To.
type BackfillRange struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Concurrency int       `json:"concurrency"`
	MaxFires    int       `json:"max_fires,omitempty"`
	Of          string    `json:"of,omitempty"`
}

// BackfillThen, on a backfill's fire, is what its run's end releases: the backfill
// (its command), the fire's instant, the backfill's last instant and concurrency.
type BackfillThen struct {
	Of          string    `json:"of"`
	At          time.Time `json:"at"`
	To          time.Time `json:"to"`
	Concurrency int       `json:"concurrency"`
}

// Backfilled is what a backfill stored: Fires fires, the first and last at these instants;
// Capped when the range held more.
type Backfilled struct {
	Fires  int       `json:"fires"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Capped bool      `json:"capped,omitempty"`
}

// LifecycleEvent records a change of a job, published on EventSubject.
type LifecycleEvent struct {
	V         int       `json:"v"`
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Tenant    string    `json:"tenant"`
	JobID     string    `json:"job_id"`
	CommandID string    `json:"command_id,omitempty"`
	User      string    `json:"user,omitempty"`
	At        time.Time `json:"at"`
	Job       Job       `json:"job"`
	// Reason says why the center made the change itself (a stop after failures).
	Reason string `json:"reason,omitempty"`
}

// Run types, the journal's runtype.
const (
	RunTypeTrigger = "trigger"
	RunTypeManual  = "manual"
	// RunTypeChain: a run started by the end of another job's run (its on_success or
	// on_failure).
	RunTypeChain = "chain"
	// RunTypeBackfill: a run of a past instant, which a backfill asked for.
	RunTypeBackfill = "backfill"
)

// Target is what a run executes: exactly one of its fields is set.
type Target struct {
	Code    string    `json:"code,omitempty"`
	FlowID  string    `json:"flow_id,omitempty"`
	BizCode string    `json:"bizcode,omitempty"`
	HTTP    *HTTPCall `json:"http,omitempty"`
}

// HTTPCall is an HTTP job's request: what each of its runs sends. Its answer's status
// says whether the run succeeded: one of ExpectStatus, or any 2xx when there is none.
type HTTPCall struct {
	Method       string            `json:"method"`
	URL          string            `json:"url"`
	Headers      map[string]string `json:"headers,omitempty"`
	Body         string            `json:"body,omitempty"`
	ExpectStatus []int             `json:"expect_status,omitempty"`
}

// Trigger statuses, the journal's triggerstatus.
const (
	// TriggerFired: the fire happened and is handed to the executors.
	TriggerFired = "success"
	// TriggerMissed: the fire came later than the job's misfire grace time; it is
	// journaled, not run.
	TriggerMissed = "missed"
)

// Fire is one due run of a job, published on FireSubject with FireID as the message id.
// FireID is the job id and the scheduled instant (or the exec command id), so a fire
// published twice is stored once.
type Fire struct {
	V           int       `json:"v"`
	FireID      string    `json:"fire_id"`
	JournalID   string    `json:"journal_id"`
	Seq         int64     `json:"seq"`
	Tenant      string    `json:"tenant"`
	JobID       string    `json:"job_id"`
	JobKey      string    `json:"job_key"`
	Name        string    `json:"name"`
	RunType     string    `json:"runtype"`
	ScheduledAt time.Time `json:"scheduled_at"`
	FiredAt     time.Time `json:"fired_at"`
	Target      Target    `json:"target"`
	TimeoutMs   int64     `json:"timeout_ms,omitempty"`
	// TriggerStatus is TriggerFired, or TriggerMissed with the reason in Detail.
	TriggerStatus string `json:"triggerstatus"`
	Detail        string `json:"detail,omitempty"`
	// The job's run policy, for the executor.
	MaxInstances   int   `json:"max_instances,omitempty"`
	Retries        int   `json:"retries,omitempty"`
	RetryBackoffMs int64 `json:"retry_backoff_ms,omitempty"`
	// AfterFireID is set on each fire of a catch-up but the first (a job that does not
	// coalesce, with several instants due at once): the fire before it, whose run must
	// end before this one's begins. So the catch-up runs one by one, oldest first, rather
	// than its fires finding each other's max_instances slot taken.
	AfterFireID string `json:"after_fire_id,omitempty"`
	// CatchUp is set on every fire of such a catch-up, its first too: executors claim
	// these fires in a bucket, where each finds whether the one before it has ended.
	CatchUp bool `json:"catch_up,omitempty"`
	// Params are the parameters of a run started with them (exec with a body): a JSON
	// object the code sees as params and a flow or behaviour receives in its request.
	Params json.RawMessage `json:"params,omitempty"`
	// ParentFireID, on a chain's run, is the run whose end started it.
	ParentFireID string `json:"parent_fire_id,omitempty"`
	// Then is what the center does once the run ends (the job's chain and pause), when
	// the job has any: the executor copies it to the run's end.
	Then *Then `json:"then,omitempty"`
	// Overlap is what the fire does while another run of its job goes on (absent: skip,
	// within max_instances).
	Overlap string `json:"overlap,omitempty"`
	// WorkerGroup, when set, is the worker group that runs the fire (its target's flow or
	// behaviour), picked by Route; MisfireGraceMs is how long after its instant it waits
	// for a worker when none is online (0: the executor's JOBCENTER_WORKER_WAIT).
	WorkerGroup    string `json:"worker_group,omitempty"`
	Route          string `json:"route,omitempty"`
	MisfireGraceMs int64  `json:"misfire_grace_ms,omitempty"`
}

// Then is what follows a run's end: the jobs run after it succeeds or fails, and how
// many failed runs in a row stop the job.
type Then struct {
	OnSuccess          []string `json:"on_success,omitempty"`
	OnFailure          []string `json:"on_failure,omitempty"`
	PauseAfterFailures int      `json:"pause_after_failures,omitempty"`
	// Rearm: the job has a fixed delay; a scheduled run's end starts it again.
	Rearm bool `json:"rearm,omitempty"`
	// Backfill, on a backfill's fire, releases its next fire once the run ends.
	Backfill *BackfillThen `json:"backfill,omitempty"`
}

// RunEvent reports a run's progress on RunSubject: "running" at each attempt, then once final.
type RunEvent struct {
	V         int        `json:"v"`
	FireID    string     `json:"fire_id"`
	JournalID string     `json:"journal_id"`
	Tenant    string     `json:"tenant"`
	JobID     string     `json:"job_id"`
	Status    string     `json:"status"`
	DynamicID string     `json:"dynamic_id"`
	Attempts  int        `json:"attempts"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// Detail is the run's log, or its error: the journal's exedes, bounded in size.
	Detail string `json:"detail,omitempty"`
	// Result is the JSON of the value the run returned.
	Result string `json:"result,omitempty"`
	// Killed, on the end of a run a tenant killed, says by whom and when.
	Killed *Killed `json:"killed,omitempty"`
	// TimedOut, on a failed run's end, says its last attempt reached its time limit.
	TimedOut bool `json:"timed_out,omitempty"`
	// Then, on a run's end, is its fire's: what the center does now that it has ended.
	Then *Then `json:"then,omitempty"`
}

// Killed says who killed a run and when.
type Killed struct {
	// By is the X-User-Id of the kill request ("" when it named none).
	By string    `json:"by,omitempty"`
	At time.Time `json:"at"`
}

// Kill asks for one run to end: sent by the api as a request on KillSubject to the
// executors (the one running it answers with KillReply once its end is stored), and by
// that executor on CancelSubject to tell a flow or behaviour runner to stop.
type Kill struct {
	V      int    `json:"v"`
	Tenant string `json:"tenant"`
	JobID  string `json:"job_id"`
	FireID string `json:"fire_id"`
	Killed
}

// KillReply answers a Kill: the run was under way in this executor and has ended, its
// end stored as Status at EndedAt; Killed is false when its work had ended before the
// kill took hold (it ended as it would have).
type KillReply struct {
	V       int       `json:"v"`
	FireID  string    `json:"fire_id"`
	Status  string    `json:"status"`
	Killed  bool      `json:"killed"`
	EndedAt time.Time `json:"ended_at"`
}

// RunLog carries lines a run wrote with log_print, as it writes them, on LogSubject (core
// NATS, not stored): a batch at most every quarter second. Seq is the run's line number
// of the first line (from 1), so a follower can tell a gap. The lines are also in the
// run's end report (its Detail), bounded as it is.
type RunLog struct {
	V         int      `json:"v"`
	FireID    string   `json:"fire_id"`
	JournalID string   `json:"journal_id"`
	Tenant    string   `json:"tenant"`
	JobID     string   `json:"job_id"`
	Attempt   int      `json:"attempt"`
	Seq       int      `json:"seq"`
	Lines     []string `json:"lines"`
}

// FlowRequest is the body of a request on FlowSubject or BizSubject (and of the HTTP POST
// to JOBCENTER_FLOW_URL / JOBCENTER_BIZ_URL). A runner answers with FlowReply.
type FlowRequest struct {
	V           int       `json:"v"`
	Tenant      string    `json:"tenant"`
	JobID       string    `json:"job_id"`
	FireID      string    `json:"fire_id"`
	FlowID      string    `json:"flow_id,omitempty"`
	BizCode     string    `json:"bizcode,omitempty"`
	ScheduledAt time.Time `json:"scheduled_at"`
	// Params are the run's parameters, when it was started with them (exec with a body).
	Params json.RawMessage `json:"params,omitempty"`
}

// FlowReply is a runner's answer: OK false (or a non-empty Error) fails the run.
// Runners are written outside Job Center, so V is optional here: a runner should send
// Version, and an answer without it is read as version 1.
type FlowReply struct {
	V      int    `json:"v,omitempty"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Output string `json:"output,omitempty"`
}

// Alert is one alert of a tenant's rule, published on AlertSubject with ID as the message
// id: the event it reports, of which job and run. The center delivers it to the rule's
// channel; a generic webhook receives it as it is (with ID in X-Jobcenter-Alert-Id too,
// to drop one received twice).
type Alert struct {
	V      int    `json:"v"`
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	RuleID string `json:"rule_id"`
	// Event is failure, timeout, missed, skipped, paused or test.
	Event     string `json:"event"`
	JobID     string `json:"job_id,omitempty"`
	JobName   string `json:"job_name,omitempty"`
	FireID    string `json:"triggerid,omitempty"`
	JournalID string `json:"journal_id,omitempty"`
	// At is when the event happened (the run's end, the fire's instant, the pause).
	At time.Time `json:"at"`
	// Detail is the run's error or the reason, bounded in size.
	Detail string `json:"detail,omitempty"`
	// Count, on a throttled rule's alert, is how many events it stands for.
	Count    int       `json:"count,omitempty"`
	RaisedAt time.Time `json:"raised_at"`
}
