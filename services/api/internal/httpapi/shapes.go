package httpapi

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// jobInfo is the SDK's job info, field for field (the seed lists them alphabetically).
type jobInfo struct {
	Code        *string `json:"code"`
	CreateTime  string  `json:"createTime"`
	CreateUser  *string `json:"createUser"`
	DataLevel   string  `json:"dataLevel"`
	Description string  `json:"description"`
	FlowID      *string `json:"flowId"`
	// An HTTP job's call, beyond the SDK's fields, its secrets masked; only for such a job.
	HTTP         *httpBody    `json:"http,omitempty"`
	ID           string       `json:"id"`
	JobID        string       `json:"jobId"`
	JobParameter jobParameter `json:"jobParameter"`
	Name         string       `json:"name"`
	NextRunTime  *string      `json:"next_run_time"`
	Pid          string       `json:"pid"`
	ProjectID    string       `json:"projectId"`
	UpdateTime   string       `json:"updateTime"`
	UpdateUser   *string      `json:"updateUser"`
}

type jobParameter struct {
	Coalesce        bool    `json:"coalesce"`
	Code            *string `json:"code"`
	ID              string  `json:"id"`
	ProjectID       string  `json:"project_id"`
	ReplaceExisting bool    `json:"replace_existing"`
	RunDate         *string `json:"run_date"`
	Seconds         *int64  `json:"seconds"`
	Trigger         string  `json:"trigger"`
	// Beyond the SDK's fields, shown only when a job sets them to other than APScheduler's
	// defaults, so that the default shape stays exactly the SDK's.
	MisfireGraceTime *int64 `json:"misfire_grace_time,omitempty"`
	MaxInstances     *int64 `json:"max_instances,omitempty"`
	Retries          *int64 `json:"retries,omitempty"`
	RetryBackoff     *int64 `json:"retry_backoff,omitempty"`
	Timeout          *int64 `json:"timeout,omitempty"`
	// What follows a run, shown only when set.
	PauseAfterFailures *int64   `json:"pause_after_failures,omitempty"`
	OnSuccess          []string `json:"on_success,omitempty"`
	OnFailure          []string `json:"on_failure,omitempty"`
	// A Quartz schedule's expression and time zone, shown only for such a job.
	Cron     string `json:"cron,omitempty"`
	TimeZone string `json:"timezone,omitempty"`
	// An interval or cron job's lifetime, shown only when set.
	StartDate *string `json:"start_date,omitempty"`
	EndDate   *string `json:"end_date,omitempty"`
	// The jitter, the overlap policy and a fixed delay, shown only when set.
	Jitter     *int64 `json:"jitter,omitempty"`
	Overlap    string `json:"overlap,omitempty"`
	FixedDelay bool   `json:"fixed_delay,omitempty"`
	// The calendars the job respects, shown only when it names any.
	Calendars []string `json:"calendars,omitempty"`
	// The worker group that runs the job and its route, shown only when set.
	WorkerGroup string `json:"worker_group,omitempty"`
	Route       string `json:"route,omitempty"`
}

// toJobInfo renders a job as the SDK shows it, times in loc; next_run_time is the next
// fire after now while the job is started, else null.
func toJobInfo(j job.Job, now time.Time, loc *time.Location) jobInfo {
	return toJobInfoNext(j, now, loc, func(now time.Time) (time.Time, bool) { return j.Next(now) })
}

// toJobInfoNext is toJobInfo with the job's next fire after now as next says (its
// calendars and a fixed delay's last run's end counted).
func toJobInfoNext(j job.Job, now time.Time, loc *time.Location, next func(time.Time) (time.Time, bool)) jobInfo {
	s := j.Spec
	info := jobInfo{
		Code:        optional(s.Target.Code),
		CreateTime:  job.FormatLocal(j.CreatedAt, loc),
		CreateUser:  optional(j.CreatedBy),
		DataLevel:   "normal",
		Description: s.Description,
		FlowID:      optional(s.Target.FlowID),
		HTTP:        shownHTTP(s.Target.HTTP),
		ID:          j.ID,
		JobID:       j.Key,
		Name:        s.Name,
		Pid:         s.Pid,
		ProjectID:   j.Tenant,
		UpdateTime:  job.FormatLocal(j.UpdatedAt, loc),
		UpdateUser:  optional(j.UpdatedBy),
		JobParameter: jobParameter{
			Coalesce:        s.Policy.Coalesce,
			Code:            optional(s.Target.Code),
			ID:              j.Key,
			ProjectID:       j.Tenant,
			ReplaceExisting: true, // the SDK's: an add replaces a job of the same id
			Trigger:         string(s.Trigger.Kind),
		},
	}
	nonDefault := func(v, def int64) *int64 {
		if v == def {
			return nil
		}
		return &v
	}
	p := &info.JobParameter
	p.MisfireGraceTime = nonDefault(int64(s.Policy.MisfireGrace/time.Second), 0)
	p.MaxInstances = nonDefault(int64(s.Policy.MaxInstances), 1)
	p.Retries = nonDefault(int64(s.Policy.Retries), 0)
	p.RetryBackoff = nonDefault(int64(s.Policy.RetryBackoff/time.Second), 0)
	p.Timeout = nonDefault(int64(s.Policy.Timeout/time.Second), 0)
	p.PauseAfterFailures = nonDefault(int64(s.Policy.PauseAfterFailures), 0)
	p.OnSuccess, p.OnFailure = s.Policy.OnSuccess, s.Policy.OnFailure
	p.Jitter = nonDefault(int64(s.Trigger.Jitter/time.Second), 0)
	p.Overlap, p.FixedDelay, p.Calendars = string(s.Policy.Overlap), s.Trigger.FixedDelay, s.Trigger.Calendars
	p.WorkerGroup, p.Route = s.Policy.Group, string(s.Policy.Route)
	if tr := s.Trigger; !tr.Start.IsZero() {
		p.StartDate = optional(job.FormatLocal(tr.Start, loc))
	}
	if tr := s.Trigger; !tr.End.IsZero() {
		p.EndDate = optional(job.FormatLocal(tr.End, loc))
	}
	if s.Trigger.Kind == job.Cron {
		p.Cron, p.TimeZone = s.Trigger.Cron, s.Trigger.Zone
		if p.TimeZone == "" {
			p.TimeZone = "UTC" // as job.LoadZone reads it
		}
	}
	switch s.Trigger.Kind {
	case job.Interval:
		n := int64(s.Trigger.Every / time.Second)
		info.JobParameter.Seconds = &n
	case job.Date:
		info.JobParameter.RunDate = optional(job.FormatLocal(s.Trigger.RunAt, loc))
	}
	if at, ok := next(now); ok {
		info.NextRunTime = optional(job.FormatLocal(at, loc))
	}
	return info
}

// JournalTimeLayout is how journal times are written, as in the Quartz API's example:
// "2020-04-26T15:59:59.652+0000", in UTC.
const JournalTimeLayout = "2006-01-02T15:04:05.000-0700"

// journalEntry is one run as the journal shows it (the Quartz API's field names).
type journalEntry struct {
	TriggerID     string  `json:"triggerid"`
	JobInfoID     string  `json:"jobinfoid"`
	ExeStartTime  *string `json:"exestarttime"`
	ExeDes        string  `json:"exedes"`
	ExeStatus     string  `json:"exestatus"`
	TriggerStatus string  `json:"triggerstatus"`
	ExeTotalTime  int     `json:"exetotaltime"`
	DynamicID     string  `json:"dynamicid"`
	TriggerTime   string  `json:"triggertime"`
	UpdateTime    *string `json:"updatetime"`
	RunType       string  `json:"runtype"`
	// Params are the parameters a run was started with (exec with a body); absent when none.
	Params json.RawMessage `json:"params,omitempty"`
	// Killed says who killed the run and when; absent unless it was killed.
	Killed *killedBy `json:"killed,omitempty"`
	// Parent, on a chain's run, is the run whose end started it.
	Parent *parentRun `json:"parent,omitempty"`
}

// parentRun names a run by its job and its triggerid.
type parentRun struct {
	JobInfoID string `json:"jobinfoid"`
	TriggerID string `json:"triggerid"`
}

// killedBy is who killed a run (their X-User-Id; absent when the kill named none) and when.
type killedBy struct {
	By *string `json:"by,omitempty"`
	At string  `json:"at"`
}

// journalPage is a page of runs: {pageIndex, pageSize, resultCount, pageCount, data}.
type journalPage struct {
	PageSize    int64          `json:"pageSize"`
	PageIndex   int64          `json:"pageIndex"`
	ResultCount int64          `json:"resultCount"`
	PageCount   int64          `json:"pageCount"`
	Data        []journalEntry `json:"data"`
}

func toJournalPage(p mongostore.Page) journalPage {
	out := journalPage{PageSize: p.Size, PageIndex: p.Index, ResultCount: p.Total, PageCount: p.Pages, Data: make([]journalEntry, 0, len(p.Entries))}
	for _, e := range p.Entries {
		je := journalEntry{
			TriggerID:     e.Fire.TriggerID,
			JobInfoID:     e.Fire.JobID,
			ExeDes:        e.Detail(),
			ExeStatus:     e.Status(),
			TriggerStatus: e.Fire.TriggerStatus,
			TriggerTime:   e.Fire.TriggerTime.UTC().Format(JournalTimeLayout),
			UpdateTime:    journalTime(e.Updated()),
			RunType:       e.Fire.RunType,
		}
		if e.Fire.Params != "" {
			je.Params = json.RawMessage(e.Fire.Params)
		}
		if p := e.Fire.ParentFireID; p != "" {
			parent, _, _ := strings.Cut(p, "@") // a fire id begins with its job's id
			je.Parent = &parentRun{JobInfoID: parent, TriggerID: p}
		}
		if e.Run != nil {
			je.ExeStartTime = journalTime(&e.Run.StartedAt)
			je.ExeTotalTime = e.Run.Attempts
			je.DynamicID = e.Run.DynamicID
			if e.Run.KilledAt != nil {
				je.Killed = &killedBy{By: optional(e.Run.KilledBy), At: *journalTime(e.Run.KilledAt)}
			}
		}
		out.Data = append(out.Data, je)
	}
	return out
}

func journalTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(JournalTimeLayout)
	return &s
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
