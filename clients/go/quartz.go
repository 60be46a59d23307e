package jobcenter

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"strings"
)

// Schedule is a Quartz save: one cron schedule per (tenant, bizcode); saving again
// changes it and keeps its id.
type Schedule struct {
	// JobName is the schedule's name (调度名称).
	JobName string `json:"jobname"`
	// CronExpression is a Quartz cron expression: 6 or 7 fields, such as "0 */30 8-19 ? * * *".
	CronExpression string `json:"cronexpression"`
	// BizCode is the business behaviour the schedule runs.
	BizCode string `json:"bizcode"`
	// TimeZone is an IANA zone the expression is read in; empty: the server's JOBCENTER_TZ.
	TimeZone string `json:"timezone,omitempty"`
	// Calendars name the tenant's calendars (AddCalendar) whose excluded times are no
	// fire (Quartz's modifiedByCalendar); a save without them leaves the schedule with
	// none. GetJob of the schedule's GroupJobID shows them as JobParameter.Calendars.
	Calendars []string `json:"calendars,omitempty"`
	// WorkerGroup has the tenant's workers of that group run the behaviour (a handler
	// named by BizCode; the worker package), picked by Route ("round_robin" when empty).
	// A save without it has the center's flow dispatch run the behaviour.
	WorkerGroup string `json:"worker_group,omitempty"`
	Route       string `json:"route,omitempty"`
}

// Saved is the answer to a save.
type Saved struct {
	// GroupJobID is the schedule's id: the jobinfoid of the other Quartz calls, and a
	// job id of the job-center routes.
	GroupJobID string `json:"group_job_id"`
	// Accepted is true when the server stored the save but has not applied it yet (202).
	Accepted bool `json:"-"`
}

// ScheduleStatus is one behaviour's schedule as queryjobstatus answers it.
type ScheduleStatus struct {
	JobInfoID      string `json:"jobinfoid"`
	CronExpression string `json:"cronexpression"`
	BizCode        string `json:"bizcode"`
	// JobStatus is "enable" or "disable".
	JobStatus string `json:"jobstatus"`
}

// ScheduleResult is the answer to enable, disable, delete and trigger.
type ScheduleResult struct {
	JobInfoID string `json:"jobinfoid"`
	// JobStatus is "enable" or "disable" after the change (empty for a delete).
	JobStatus string `json:"jobstatus,omitempty"`
	// Deleted is true for a delete.
	Deleted bool `json:"deleted,omitempty"`
	// TriggerID names the run a trigger started: the journal's triggerid.
	TriggerID string `json:"triggerid,omitempty"`
	// Accepted is true when the server stored the change but has not applied it yet (202).
	Accepted bool `json:"-"`
}

// xwQuartz is the body of /task/quartz/bizcronjob.
type xwQuartz struct {
	OptType        string   `json:"opttype"`
	JobName        string   `json:"jobname,omitempty"`
	CronExpression string   `json:"cronexpression,omitempty"`
	BizCode        string   `json:"bizcode,omitempty"`
	TimeZone       string   `json:"timezone,omitempty"`
	Calendars      []string `json:"calendars,omitempty"`
	WorkerGroup    string   `json:"worker_group,omitempty"`
	Route          string   `json:"route,omitempty"`
	JobInfoID      string   `json:"jobinfoid,omitempty"`
	PageIndex      int      `json:"pageindex,omitempty"`
	PageSize       int      `json:"pagesize,omitempty"`
}

func (c *Client) bizCronJob(ctx context.Context, q xwQuartz, write bool, opts []CallOption, v any) (answer, error) {
	a, err := c.do(ctx, request{facade: facadeQuartz, method: http.MethodPost, path: "/task/quartz/bizcronjob",
		body: map[string]xwQuartz{"xw_quartz": q}, write: write, opts: opts})
	if err != nil {
		return a, err
	}
	return a, a.decode(&struct {
		RespData any `json:"resp_data"`
	}{v})
}

// SaveSchedule is 为业务行为设置调度: it creates the behaviour's schedule, enabled, or
// changes the one it has.
func (c *Client) SaveSchedule(ctx context.Context, s Schedule, opts ...CallOption) (*Saved, error) {
	var out Saved
	a, err := c.bizCronJob(ctx, xwQuartz{OptType: "save", JobName: s.JobName, CronExpression: s.CronExpression,
		BizCode: s.BizCode, TimeZone: s.TimeZone, Calendars: s.Calendars, WorkerGroup: s.WorkerGroup, Route: s.Route}, true, opts, &out)
	if err != nil {
		return nil, err
	}
	out.Accepted = a.status == http.StatusAccepted
	return &out, nil
}

// ScheduleStatuses is 根据行为code查询调度信息: the schedule of each behaviour that has
// one, in the order asked; codes without a schedule are left out.
func (c *Client) ScheduleStatuses(ctx context.Context, bizcodes ...string) ([]ScheduleStatus, error) {
	if len(bizcodes) == 0 {
		return nil, errors.New("jobcenter: ScheduleStatuses needs at least one behaviour code")
	}
	a, err := c.do(ctx, request{facade: facadeQuartz, method: http.MethodPost, path: "/task/quartz/queryjobstatus",
		body: map[string]string{"codes": strings.Join(bizcodes, ","), "jobtype": ""}})
	if err != nil {
		return nil, err
	}
	var out struct {
		RespData []ScheduleStatus `json:"resp_data"`
	}
	return out.RespData, a.decode(&out)
}

// ScheduleJournal is 查询调度历史 (opttype quaryjournal): one page of the schedule's
// runs, newest first; page and size 0 are the server's defaults (1 and 10).
func (c *Client) ScheduleJournal(ctx context.Context, jobInfoID string, page, size int) (*JournalPage, error) {
	var out struct {
		QuartzList JournalPage `json:"quartz_list"`
	}
	if _, err := c.bizCronJob(ctx, xwQuartz{OptType: "quaryjournal", JobInfoID: jobInfoID, PageIndex: page, PageSize: size}, false, nil, &out); err != nil {
		return nil, err
	}
	return &out.QuartzList, nil
}

// AllScheduleJournal yields every run of a schedule, newest first, like AllJournal.
func (c *Client) AllScheduleJournal(ctx context.Context, jobInfoID string, size int) iter.Seq2[JournalEntry, error] {
	return allJournal(size, func(page, size int) (*JournalPage, error) { return c.ScheduleJournal(ctx, jobInfoID, page, size) })
}

// EnableSchedule starts a schedule's fires.
func (c *Client) EnableSchedule(ctx context.Context, jobInfoID string, opts ...CallOption) (*ScheduleResult, error) {
	return c.scheduleOp(ctx, "enable", jobInfoID, opts)
}

// DisableSchedule stops a schedule's fires.
func (c *Client) DisableSchedule(ctx context.Context, jobInfoID string, opts ...CallOption) (*ScheduleResult, error) {
	return c.scheduleOp(ctx, "disable", jobInfoID, opts)
}

// DeleteSchedule deletes a schedule.
func (c *Client) DeleteSchedule(ctx context.Context, jobInfoID string, opts ...CallOption) (*ScheduleResult, error) {
	return c.scheduleOp(ctx, "delete", jobInfoID, opts)
}

// TriggerSchedule runs a schedule's behaviour once now (runtype "manual").
func (c *Client) TriggerSchedule(ctx context.Context, jobInfoID string, opts ...CallOption) (*ScheduleResult, error) {
	return c.scheduleOp(ctx, "trigger", jobInfoID, opts)
}

func (c *Client) scheduleOp(ctx context.Context, opt, jobInfoID string, opts []CallOption) (*ScheduleResult, error) {
	var out ScheduleResult
	a, err := c.bizCronJob(ctx, xwQuartz{OptType: opt, JobInfoID: jobInfoID}, true, opts, &out)
	if err != nil {
		return nil, err
	}
	out.Accepted = a.status == http.StatusAccepted
	return &out, nil
}
