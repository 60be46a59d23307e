package jobcenter

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Triggers of a job-center job.
const (
	// TriggerInterval fires every Seconds, from the moment the job is started.
	TriggerInterval = "interval"
	// TriggerDate fires once at RunDate.
	TriggerDate = "date"
	// TriggerCron fires at the instants of the Quartz expression Cron, in Timezone
	// (beyond the SDK's two).
	TriggerCron = "cron"
)

// Overlap policies (JobSpec.Overlap, Temporal's names): what a fire does while a run of
// its job goes on. All but OverlapSkip hold the job to one run at a time: they need
// MaxInstances 1.
const (
	// OverlapSkip, the default: a fire beyond MaxInstances is journaled skipped.
	OverlapSkip = "skip"
	// OverlapBufferOne: the fire waits for the run under way, then runs; a further fire
	// meanwhile is journaled skipped.
	OverlapBufferOne = "buffer_one"
	// OverlapCancelOther: the run under way is killed (journaled failure, "killed by
	// overlap cancel_other, for <fire id> at …"), and the fire runs.
	OverlapCancelOther = "cancel_other"
	// OverlapAllowAll: every fire runs at once, however many runs go on.
	OverlapAllowAll = "allow_all"
)

// LocalTimeLayout is how the job info writes its times ("2025-06-15 21:30:02"), in the
// server's JOBCENTER_TZ (Asia/Shanghai unless configured).
const LocalTimeLayout = "2006-01-02 15:04:05"

// JournalTimeLayout is how the journal writes its times ("2020-04-26T15:59:59.652+0000"),
// in UTC.
const JournalTimeLayout = "2006-01-02T15:04:05.000-0700"

// Job is the SDK's job info, field for field, as sdk_get_job returns it. Nullable fields
// are pointers, so that a Job encodes back to exactly the server's JSON. Beyond the SDK's
// fields, HTTP is an HTTP job's call (nil for any other job, as the server omits it), its
// header values masked (MaskedValue) but for those that never carry a credential.
type Job struct {
	Code         *string      `json:"code"`
	CreateTime   string       `json:"createTime"`
	CreateUser   *string      `json:"createUser"`
	DataLevel    string       `json:"dataLevel"`
	Description  string       `json:"description"`
	FlowID       *string      `json:"flowId"`
	HTTP         *HTTPCall    `json:"http,omitempty"`
	ID           string       `json:"id"`
	JobID        string       `json:"jobId"`
	JobParameter JobParameter `json:"jobParameter"`
	Name         string       `json:"name"`
	// NextRunTime is the next fire while the job is started, else nil.
	NextRunTime *string `json:"next_run_time"`
	Pid         string  `json:"pid"`
	ProjectID   string  `json:"projectId"`
	UpdateTime  string  `json:"updateTime"`
	UpdateUser  *string `json:"updateUser"`

	// Accepted is set, and every field above but ID and JobID empty, when the server
	// stored the write but its trigger did not apply it in time (HTTP 202): it will be
	// applied when the trigger returns.
	Accepted *Accepted `json:"-"`
	// FireID names the run an ExecJob started (X-Fire-Id): the journal's triggerid.
	FireID string `json:"-"`
}

// JobParameter is the job info's jobParameter: the trigger and, beyond the SDK's
// fields, the run policy where it differs from the default.
type JobParameter struct {
	Coalesce        bool    `json:"coalesce"`
	Code            *string `json:"code"`
	ID              string  `json:"id"`
	ProjectID       string  `json:"project_id"`
	ReplaceExisting bool    `json:"replace_existing"`
	RunDate         *string `json:"run_date"`
	Seconds         *int64  `json:"seconds"`
	Trigger         string  `json:"trigger"`

	MisfireGraceTime *int64 `json:"misfire_grace_time,omitempty"`
	MaxInstances     *int64 `json:"max_instances,omitempty"`
	Retries          *int64 `json:"retries,omitempty"`
	RetryBackoff     *int64 `json:"retry_backoff,omitempty"`
	Timeout          *int64 `json:"timeout,omitempty"`
	// What follows a run, when set: a pause after failures, child jobs.
	PauseAfterFailures *int64   `json:"pause_after_failures,omitempty"`
	OnSuccess          []string `json:"on_success,omitempty"`
	OnFailure          []string `json:"on_failure,omitempty"`
	// A cron job's (or Quartz schedule's) expression and zone.
	Cron     string `json:"cron,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	// An interval or cron job's lifetime, when set, in the server's JOBCENTER_TZ.
	StartDate *string `json:"start_date,omitempty"`
	EndDate   *string `json:"end_date,omitempty"`
	// Jitter is the seconds each fire is spread over after its instant, when set.
	Jitter *int64 `json:"jitter,omitempty"`
	// Overlap is the overlap policy when it is not OverlapSkip.
	Overlap string `json:"overlap,omitempty"`
	// FixedDelay is true when an interval counts each fire from the end of its last
	// scheduled run.
	FixedDelay bool `json:"fixed_delay,omitempty"`
	// Calendars name the project's calendars whose excluded times are no fire of the
	// job (or Quartz schedule), when it names any.
	Calendars []string `json:"calendars,omitempty"`
	// WorkerGroup is the project's worker group that runs the job's flow, when set; Route
	// (one of the Route constants) is how each fire picks its worker, set with it.
	WorkerGroup string `json:"worker_group,omitempty"`
	Route       string `json:"route,omitempty"`
}

// MaskedValue is what a read shows for the value of an HTTP job's header that may carry
// a credential (Authorization, X-Api-Key, …). Sent back as the value of a header the job
// has, it keeps the value stored under that name; so a Job's HTTP read, changed and sent
// back in an update, keeps the secrets it does not change. Sent for a header the job does
// not have, it is an *APIError 400 naming http.headers.<Name>.
const MaskedValue = "***"

// HTTPCall is an HTTP job's target (beyond the SDK): each run sends it, and succeeds when
// the answer's status is one of ExpectStatus. The journal entry's ExeDes reads
// "POST https://… → 200 OK (12ms)" and the first 4 KiB of the answer. No redirect is
// followed; JobSpec.Timeout bounds each attempt. A URL whose host is beyond the
// center's reach (JOBCENTER_HTTP_JOBS_REACH; public by default: no loopback, private or
// link-local address) is an *APIError 400 naming http.url.
type HTTPCall struct {
	// Method is GET when empty; any case is taken, and read back upper case.
	Method string `json:"method,omitempty"`
	// URL is http or https, with a host and no user or password.
	URL string `json:"url"`
	// Headers are at most 32, by name (read back canonical: "Content-Type"); Host,
	// Content-Length, Transfer-Encoding, Connection, Upgrade, TE and Trailer are the
	// center's. Values read back masked: see MaskedValue.
	Headers map[string]string `json:"headers,omitempty"`
	// Body is sent as it is, at most 64 KiB.
	Body string `json:"body,omitempty"`
	// ExpectStatus are the statuses (100 to 599, at most 16) that make a run a success;
	// none is any 2xx.
	ExpectStatus []int `json:"expect_status,omitempty"`
}

// Accepted is the answer to a write the server stored but has not applied yet (202).
type Accepted struct {
	ID        string `json:"id"`
	JobID     string `json:"jobId"`
	Status    string `json:"status"`
	CommandID string `json:"commandId"`
}

// Started reports whether the job is scheduled: it has a next run.
func (j *Job) Started() bool { return j.NextRunTime != nil }

// NextRun is the job's next fire read in loc (the server's JOBCENTER_TZ), if started.
func (j *Job) NextRun(loc *time.Location) (time.Time, bool) {
	if j.NextRunTime == nil {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(LocalTimeLayout, *j.NextRunTime, loc)
	return t, err == nil
}

// JobSpec is the body of an add or update: the SDK's arguments plus the optional run
// policy. Set Seconds for an interval, RunDate for a date, Cron (and Timezone) for a
// cron; Code, FlowID or HTTP, exactly one (FlowID with a WorkerGroup: the tenant's
// workers run the flow).
type JobSpec struct {
	// Pid is the folder id: required on add, kept as it is when empty on update.
	Pid         string `json:"pid,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Trigger is TriggerInterval, TriggerDate or TriggerCron.
	Trigger string `json:"trigger"`
	// Seconds is an interval's period.
	Seconds int64 `json:"seconds,omitempty"`
	// RunDate is a date job's instant: "2025-07-09 16:00:00" in the server's
	// JOBCENTER_TZ, or ISO-8601 such as "2025-06-27T16:00:00.000Z". See FormatRunDate.
	RunDate string `json:"run_date,omitempty"`
	// Cron is a cron job's Quartz expression ("0 30 2 ? * MON-FRI"), Timezone its IANA
	// zone (the server's JOBCENTER_TZ when empty).
	Cron     string `json:"cron,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	// StartDate and EndDate bound an interval or cron job's life (RunDate's forms): no
	// fire before the one, none after the other.
	StartDate string `json:"start_date,omitempty"`
	EndDate   string `json:"end_date,omitempty"`
	// Jitter spreads each fire over up to this many seconds after its instant (0 to
	// 86400; 0: none), by an offset of the job and the instant: the preview and
	// NextRunTime show the spread times, the run's TriggerTime is one. It is part of the
	// trigger: an update without it leaves the job without one.
	Jitter int64 `json:"jitter,omitempty"`
	// FixedDelay makes an interval count each fire from the end of its last scheduled
	// run instead of its start: the first is Seconds after the start, each next one
	// Seconds after the run before it ended, whatever its end; NextRunTime is nil while
	// that run goes on. Only an interval job, with MisfireGraceTime 0. It is part of the
	// trigger: an update without it leaves the job without one.
	FixedDelay bool `json:"fixed_delay,omitempty"`
	// Calendars name up to 10 of the project's calendars (AddCalendar), each once: an
	// instant any of them excludes is no fire, and NextRunTime and the preview skip it. A
	// name the project has no calendar of is an *APIError 400 naming calendars[i]. It is
	// part of the trigger: an update without it leaves the job with none. A backfill
	// ignores it.
	Calendars []string `json:"calendars,omitempty"`
	FlowID    string   `json:"flow_id,omitempty"`
	Code      string   `json:"code,omitempty"`
	// HTTP makes the job an HTTP job: each run sends the call. An update replaces the
	// call whole: send the one read (Job.HTTP), changed, to keep its masked secrets.
	HTTP *HTTPCall `json:"http,omitempty"`

	// The run policy; nil is the default on add and unchanged on update.
	Coalesce         *bool  `json:"coalesce,omitempty"`
	MisfireGraceTime *int64 `json:"misfire_grace_time,omitempty"` // seconds
	MaxInstances     *int64 `json:"max_instances,omitempty"`
	Retries          *int64 `json:"retries,omitempty"`
	RetryBackoff     *int64 `json:"retry_backoff,omitempty"` // seconds
	Timeout          *int64 `json:"timeout,omitempty"`       // seconds each attempt may run; 0: the center's
	// PauseAfterFailures stops the job after this many of its runs in a row failed (0:
	// never). OnSuccess and OnFailure name jobs (by id) run after a run succeeds or
	// fails; nil leaves them as they are on update, an empty list clears them.
	PauseAfterFailures *int64    `json:"pause_after_failures,omitempty"`
	OnSuccess          *[]string `json:"on_success,omitempty"`
	OnFailure          *[]string `json:"on_failure,omitempty"`
	// Overlap is what a fire does while the job's run goes on: one of the Overlap
	// constants; "" is OverlapSkip on add and unchanged on update.
	Overlap string `json:"overlap,omitempty"`
	// WorkerGroup makes the job one the project's workers serve (package
	// clients/go/worker): each fire goes to a worker of the group (1 to 64 letters,
	// digits, '-' or '_') that handles FlowID, which it needs (otherwise an *APIError
	// 400 naming worker_group). While no worker of the group is online a fire waits for
	// one (the job's MisfireGraceTime, else the center's JOBCENTER_WORKER_WAIT). Nil
	// leaves it as it is on update; a pointer to "" serves the job without workers again.
	WorkerGroup *string `json:"worker_group,omitempty"`
	// Route is how each fire picks its worker of WorkerGroup: one of the Route
	// constants; "" is RouteRoundRobin on add and unchanged on update. Without a
	// WorkerGroup it is an *APIError 400 naming route.
	Route string `json:"route,omitempty"`
}

// MarshalJSON writes the body; an interval's seconds are sent even when 0, so that the
// server names the mistake ("must be greater than 0") rather than a missing field.
func (s JobSpec) MarshalJSON() ([]byte, error) {
	type plain JobSpec
	if s.Trigger != TriggerInterval {
		return json.Marshal(plain(s))
	}
	return json.Marshal(struct {
		plain
		Seconds int64 `json:"seconds"`
	}{plain(s), s.Seconds})
}

// FormatRunDate writes t as an unambiguous RunDate (ISO-8601 in UTC, milliseconds).
func FormatRunDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// AddJob is sdk_add_job: it creates a job, stopped. The answer is 201 with the job, or
// (see Job.Accepted) 202.
func (c *Client) AddJob(ctx context.Context, spec JobSpec, opts ...CallOption) (*Job, error) {
	return c.write(ctx, http.MethodPost, "/api/v1/jobs", spec, opts)
}

// GetJob is sdk_get_job; id is either of a job's ids (id or jobId).
func (c *Client) GetJob(ctx context.Context, id string) (*Job, error) {
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodGet, path: jobPath(id)})
	if err != nil {
		return nil, err
	}
	var j Job
	return &j, a.decode(&j)
}

// ListOptions selects a page of a project's jobs. Zero values are the server's defaults:
// every folder, page 1, 100 a page (at most 1000).
type ListOptions struct {
	Pid  string
	Page int
	Size int
}

// JobList is a page of jobs, oldest first.
type JobList struct {
	Jobs []Job `json:"jobs"`
	// Total is the number of the project's jobs (in Pid, if given) on all pages.
	Total int64 `json:"total"`
}

// ListJobs is sdk_get_jobs, one page.
func (c *Client) ListJobs(ctx context.Context, o ListOptions) (*JobList, error) {
	q := pageQuery(o.Page, o.Size)
	if o.Pid != "" {
		q.Set("pid", o.Pid)
	}
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodGet, path: "/api/v1/jobs", query: q})
	if err != nil {
		return nil, err
	}
	l := &JobList{}
	if err := a.decode(&l.Jobs); err != nil {
		return nil, err
	}
	l.Total, _ = strconv.ParseInt(a.header.Get("X-Total-Count"), 10, 64)
	return l, nil
}

// AllJobs yields every job of the project (in pid, if not empty), oldest first, reading
// pages of size (0: 100) as it goes. It stops at the first error, which it yields.
func (c *Client) AllJobs(ctx context.Context, pid string, size int) iter.Seq2[Job, error] {
	if size <= 0 {
		size = 100
	}
	return func(yield func(Job, error) bool) {
		seen := map[string]bool{}
		for page := 1; ; page++ {
			l, err := c.ListJobs(ctx, ListOptions{Pid: pid, Page: page, Size: size})
			if err != nil {
				yield(Job{}, err)
				return
			}
			for _, j := range l.Jobs {
				// A job deleted meanwhile shifts the pages: never yield one twice.
				if seen[j.ID] {
					continue
				}
				seen[j.ID] = true
				if !yield(j, nil) {
					return
				}
			}
			if len(l.Jobs) < size || int64(page*size) >= l.Total {
				return
			}
		}
	}
}

// UpdateJob is sdk_update_job: it replaces the job's definition (an empty Pid keeps it;
// a nil policy field keeps it). A started job is rescheduled from now.
func (c *Client) UpdateJob(ctx context.Context, id string, spec JobSpec, opts ...CallOption) (*Job, error) {
	return c.write(ctx, http.MethodPut, jobPath(id), spec, opts)
}

// StartJob is sdk_start_job: the job fires on its schedule from now on.
func (c *Client) StartJob(ctx context.Context, id string, opts ...CallOption) (*Job, error) {
	return c.write(ctx, http.MethodPost, jobPath(id)+"/start", nil, opts)
}

// StopJob is sdk_stop_job: no more fires until it is started again.
func (c *Client) StopJob(ctx context.Context, id string, opts ...CallOption) (*Job, error) {
	return c.write(ctx, http.MethodPost, jobPath(id)+"/stop", nil, opts)
}

// ExecJob is sdk_exec_job: one run now ("manual"), the schedule unchanged. The run's id
// is in the answer's FireID.
func (c *Client) ExecJob(ctx context.Context, id string, opts ...CallOption) (*Job, error) {
	return c.write(ctx, http.MethodPost, jobPath(id)+"/exec", nil, opts)
}

// ExecJobWithParams is ExecJob with the run's parameters: a JSON object of at most 8 KiB
// that code reads as params, a flow or behaviour receives in its request, and the
// journal entry shows. Nil or empty params are none: ExecJob.
func (c *Client) ExecJobWithParams(ctx context.Context, id string, params map[string]any, opts ...CallOption) (*Job, error) {
	if len(params) == 0 {
		return c.ExecJob(ctx, id, opts...)
	}
	return c.write(ctx, http.MethodPost, jobPath(id)+"/exec", map[string]any{"params": params}, opts)
}

// DeleteJob is sdk_delete_job; it answers the job as deleted (no next run time). The job
// is 404 afterwards.
func (c *Client) DeleteJob(ctx context.Context, id string, opts ...CallOption) (*Job, error) {
	return c.write(ctx, http.MethodDelete, jobPath(id), nil, opts)
}

// write sends a job-center write and reads the job, or the 202 acceptance.
func (c *Client) write(ctx context.Context, method, path string, body any, opts []CallOption) (*Job, error) {
	r := request{facade: facadeJobs, method: method, path: path, write: true, opts: opts}
	if body != nil {
		r.body = body
	}
	a, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var j Job
	if a.status == http.StatusAccepted {
		var acc Accepted
		if err := a.decode(&acc); err != nil {
			return nil, err
		}
		j.ID, j.JobID, j.Accepted = acc.ID, acc.JobID, &acc
		return &j, nil
	}
	if err := a.decode(&j); err != nil {
		return nil, err
	}
	j.FireID = a.header.Get("X-Fire-Id")
	return &j, nil
}

// JournalPage is a page of a job's runs, newest first: {pageIndex, pageSize,
// resultCount, pageCount, data}. A page past the end is empty with the true counts.
type JournalPage struct {
	PageSize    int64          `json:"pageSize"`
	PageIndex   int64          `json:"pageIndex"`
	ResultCount int64          `json:"resultCount"`
	PageCount   int64          `json:"pageCount"`
	Data        []JournalEntry `json:"data"`
}

// JournalEntry is one run (the Quartz API's field names). Times are JournalTimeLayout.
type JournalEntry struct {
	// TriggerID is the run's id (an exec's FireID).
	TriggerID string `json:"triggerid"`
	// JobInfoID is the job's id.
	JobInfoID string `json:"jobinfoid"`
	// ExeStartTime is when the run started; nil until it has.
	ExeStartTime *string `json:"exestarttime"`
	// ExeDes is the run's log or error (at most 16 KiB).
	ExeDes string `json:"exedes"`
	// ExeStatus is waiting, running, success, failure or skipped.
	ExeStatus string `json:"exestatus"`
	// TriggerStatus is success (fired) or missed.
	TriggerStatus string `json:"triggerstatus"`
	// ExeTotalTime is the number of attempts.
	ExeTotalTime int    `json:"exetotaltime"`
	DynamicID    string `json:"dynamicid"`
	// TriggerTime is the scheduled instant.
	TriggerTime string `json:"triggertime"`
	// UpdateTime is the last change: the end of a finished run.
	UpdateTime *string `json:"updatetime"`
	// RunType is trigger (on schedule), manual (exec), chain (after another job's run)
	// or backfill (a past instant a Backfill ran).
	RunType string `json:"runtype"`
	// Params are the parameters the run was started with (ExecJobWithParams); nil when none.
	Params json.RawMessage `json:"params,omitempty"`
	// Killed says who killed the run and when (KillRun); nil unless it was killed.
	Killed *Killed `json:"killed,omitempty"`
	// Parent, on a chain's run (RunType "chain"), is the run whose end started it.
	Parent *ParentRun `json:"parent,omitempty"`
}

// Journal exec statuses.
const (
	StatusWaiting = "waiting"
	StatusRunning = "running"
	StatusSuccess = "success"
	StatusFailure = "failure"
	StatusSkipped = "skipped"
)

// Finished reports whether the run has its final status.
func (e JournalEntry) Finished() bool {
	return e.ExeStatus == StatusSuccess || e.ExeStatus == StatusFailure || e.ExeStatus == StatusSkipped
}

// Triggered is TriggerTime as a time.
func (e JournalEntry) Triggered() (time.Time, error) {
	return time.Parse(JournalTimeLayout, e.TriggerTime)
}

// Journal reads one page of a job's runs, newest first; page and size 0 are the
// server's defaults (1 and 20; size at most 1000).
func (c *Client) Journal(ctx context.Context, id string, page, size int) (*JournalPage, error) {
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodGet, path: jobPath(id) + "/journal", query: pageQuery(page, size)})
	if err != nil {
		return nil, err
	}
	var p JournalPage
	return &p, a.decode(&p)
}

// ParentRun names a run by its job and its TriggerID.
type ParentRun struct {
	JobInfoID string `json:"jobinfoid"`
	TriggerID string `json:"triggerid"`
}

// Killed is who killed a run (their X-User-Id; nil when the kill named none) and when, in
// JournalTimeLayout.
type Killed struct {
	By *string `json:"by,omitempty"`
	At string  `json:"at"`
}

// Kill statuses.
const (
	// KillDone: the run was ended, its end stored.
	KillDone = "killed"
	// KillRequested: the run had not begun, or its executor did not answer: it is
	// journaled killed when an executor takes its fire.
	KillRequested = "kill_requested"
)

// KillResult is a kill's answer.
type KillResult struct {
	TriggerID string `json:"triggerid"`
	// Status is KillDone or KillRequested.
	Status string `json:"status"`
	Killed Killed `json:"killed"`
}

// KillRun ends one run of a job that has not ended, named by its journal entry's
// TriggerID (an ExecJob's FireID): a code run is cancelled, a flow's request abandoned and
// its runner told. Its journal entry ends failure with Killed set. A run that has ended
// is a 409 (IsConflict); one the job does not have a 404.
func (c *Client) KillRun(ctx context.Context, id, run string, opts ...CallOption) (*KillResult, error) {
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodPost, path: jobPath(id) + "/runs/" + url.PathEscape(run) + "/kill", opts: opts})
	if err != nil {
		return nil, err
	}
	var k KillResult
	return &k, a.decode(&k)
}

// AllJournal yields every run of a job, newest first, reading pages of size (0: 100) as
// it goes; a run journaled meanwhile shifts the pages, but no run is yielded twice.
// It stops at the first error, which it yields.
func (c *Client) AllJournal(ctx context.Context, id string, size int) iter.Seq2[JournalEntry, error] {
	return allJournal(size, func(page, size int) (*JournalPage, error) { return c.Journal(ctx, id, page, size) })
}

func allJournal(size int, read func(page, size int) (*JournalPage, error)) iter.Seq2[JournalEntry, error] {
	if size <= 0 {
		size = 100
	}
	return func(yield func(JournalEntry, error) bool) {
		seen := map[string]bool{}
		for page := 1; ; page++ {
			p, err := read(page, size)
			if err != nil {
				yield(JournalEntry{}, err)
				return
			}
			for _, e := range p.Data {
				if seen[e.TriggerID] {
					continue
				}
				seen[e.TriggerID] = true
				if !yield(e, nil) {
					return
				}
			}
			if len(p.Data) < size || int64(page) >= p.PageCount {
				return
			}
		}
	}
}

// Change is one entry of a job's history: a lifecycle event.
type Change struct {
	// Event is created, updated, started, stopped, deleted or finished.
	Event string `json:"event"`
	// Time is when, "2025-06-15 21:30:02.123" in the server's JOBCENTER_TZ.
	Time      string  `json:"time"`
	User      *string `json:"user"`
	CommandID string  `json:"commandId,omitempty"`
	// Reason says why the center made the change itself (a pause after failures).
	Reason string `json:"reason,omitempty"`
	// Job is the job's state after the change.
	Job Job `json:"job"`
}

// History lists every change of a job, oldest first (a deleted job's too).
func (c *Client) History(ctx context.Context, id string) ([]Change, error) {
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodGet, path: jobPath(id) + "/history"})
	if err != nil {
		return nil, err
	}
	var out []Change
	return out, a.decode(&out)
}

// Ready reports nil when the server is ready: the broker, the store, a trigger and an
// executor are up.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.do(ctx, request{facade: facadeOpen, method: http.MethodGet, path: "/readyz"})
	return err
}

// jobPath is a job's route; an empty id would name the list, so it names nothing.
func jobPath(id string) string {
	if id == "" {
		id = "-"
	}
	return "/api/v1/jobs/" + url.PathEscape(id)
}
