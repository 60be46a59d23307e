package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api/internal/commander"
	"github.com/jobcenter/jobcenter/services/api/internal/jobview"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/wire"
)

type handlers struct {
	d Deps
	// streams counts each tenant's open event streams, against Deps.MaxStreams.
	streamsMu sync.Mutex
	streams   map[string]int
	infos     *infoCache
}

func (h *handlers) storeCtx(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request().Context(), h.d.StoreTimeout)
}

// find reads the tenant's live job named in the path (live).
func (h *handlers) find(c echo.Context) (mongostore.StoredJob, error) {
	return h.live(c, c.Param("id"))
}

// live reads the tenant's live job by either id, from the job view when it answers for
// it. What the view returns lacks the fire progress, which only the store has (findID
// reads it).
func (h *handlers) live(c echo.Context, id string) (mongostore.StoredJob, error) {
	if h.d.Jobs == nil {
		return h.findID(c, id)
	}
	j, found := h.d.Jobs.Get(id)
	switch {
	case found == jobview.Absent || found == jobview.Held && j.Tenant != c.Get(tenantKey).(string):
		return mongostore.StoredJob{}, errJobNotFound
	case found == jobview.Held:
		return mongostore.StoredJob{Job: j}, nil
	}
	return h.findID(c, id)
}

// findID reads the tenant's live job by either id; another tenant's job is not found.
func (h *handlers) findID(c echo.Context, id string) (mongostore.StoredJob, error) {
	sj, err := h.findAny(c, id)
	if err == nil && !sj.Job.Live() {
		return sj, errJobNotFound
	}
	return sj, err
}

// findAny reads the tenant's job by either id, deleted or not: what a job did (its
// journal, its history) stays readable after it is deleted.
func (h *handlers) findAny(c echo.Context, id string) (mongostore.StoredJob, error) {
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	sj, err := h.d.Store.FindJob(ctx, id)
	switch {
	case errors.Is(err, mongostore.ErrNotFound):
		// Created a moment ago, its document not written yet: no run yet either.
		if h.d.Jobs != nil {
			if j, found := h.d.Jobs.Get(id); found == jobview.Held && j.Tenant == c.Get(tenantKey).(string) {
				return mongostore.StoredJob{Job: j}, nil
			}
		}
		return sj, errJobNotFound
	case err != nil:
		return sj, storeUnavailable(err)
	case sj.Job.Tenant != c.Get(tenantKey).(string):
		return sj, errJobNotFound
	}
	return sj, nil
}

// gone reads the tenant's deleted job of either id, for a request sent again with its
// Idempotency-Key after it deleted the job: the same command gets the kept first answer.
func (h *handlers) gone(c echo.Context, id string) (mongostore.StoredJob, bool) {
	if c.Request().Header.Get("Idempotency-Key") == "" {
		return mongostore.StoredJob{}, false
	}
	// The view knows a delete the store may not have yet (it is written behind).
	if h.d.Jobs != nil {
		if j, ok := h.d.Jobs.Gone(id); ok {
			return mongostore.StoredJob{Job: j}, j.Tenant == c.Get(tenantKey).(string)
		}
	}
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	sj, err := h.d.Store.FindJob(ctx, id)
	return sj, err == nil && sj.Job.Tenant == c.Get(tenantKey).(string) && !sj.Job.Live()
}

func (h *handlers) getJob(c echo.Context) error {
	sj, err := h.find(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toJobInfoNext(sj.Job, h.d.Clock.Now(), h.d.Loc, h.next(c, sj.Job)))
}

func (h *handlers) listJobs(c echo.Context) error {
	page, err := queryInt(c, "page", 1, 1, math.MaxInt32)
	if err != nil {
		return err
	}
	size, err := queryInt(c, "size", 100, 1, 1000)
	if err != nil {
		return err
	}
	jobs, total, err := h.list(c, c.Get(tenantKey).(string), c.QueryParam("pid"), (page-1)*size, size)
	if err != nil {
		return err
	}
	now := h.d.Clock.Now()
	c.Response().Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
	b := make([]byte, 0, 700*len(jobs)+2)
	b = append(b, '[')
	for i, j := range jobs {
		if i > 0 {
			b = append(b, ',')
		}
		b = h.infos.appendInfo(b, j, now, h.d.Loc, h.next(c, j))
	}
	b = append(b, "]\n"...)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

// list reads a page of the tenant's live jobs: from the job view when it is complete,
// else from the store.
func (h *handlers) list(c echo.Context, tenant, pid string, skip, limit int64) ([]job.Job, int64, error) {
	if h.d.Jobs != nil {
		if jobs, total, ok := h.d.Jobs.List(tenant, pid, int(skip), int(limit)); ok {
			return jobs, int64(total), nil
		}
	}
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	stored, total, err := h.d.Store.ListJobs(ctx, tenant, pid, skip, limit)
	if err != nil {
		return nil, 0, storeUnavailable(err)
	}
	jobs := make([]job.Job, len(stored))
	for i, sj := range stored {
		jobs[i] = sj.Job
	}
	return jobs, total, nil
}

func (h *handlers) addJob(c echo.Context) error {
	var b jobBody
	if err := decodeBody(c, h.d.BodyLimit, &b); err != nil {
		return err
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	now := h.d.Clock.Now()
	spec, err := in.ForCreate(now, h.d.Loc)
	if err != nil {
		return err
	}
	if err := b.checkCode(); err != nil {
		return err
	}
	if err := checkReach(spec, h.d.HTTPReach); err != nil {
		return err
	}
	if err := h.checkCalendars(c, spec.Trigger.Calendars); err != nil {
		return err
	}
	h.childIDs(c, &spec)
	cmd := h.command(c, job.Create, job.Job{}, &spec)
	return h.send(c, cmd, http.StatusCreated)
}

func (h *handlers) updateJob(c echo.Context) error {
	var b jobBody
	if err := decodeBody(c, h.d.BodyLimit, &b); err != nil {
		return err
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	sj, err := h.find(c)
	if err != nil {
		return err
	}
	if sj.Job.Spec.Target.BizCode != "" {
		return errIsSchedule
	}
	spec, err := in.ForUpdate(sj.Job.Spec, h.d.Clock.Now(), h.d.Loc)
	if err != nil {
		return err
	}
	if err := b.checkCode(); err != nil {
		return err
	}
	if err := checkReach(spec, h.d.HTTPReach); err != nil {
		return err
	}
	if err := h.checkCalendars(c, spec.Trigger.Calendars); err != nil {
		return err
	}
	h.childIDs(c, &spec)
	return h.send(c, h.command(c, job.Update, sj.Job, &spec), http.StatusOK)
}

func (h *handlers) startJob(c echo.Context) error  { return h.lifecycle(c, job.Start) }
func (h *handlers) stopJob(c echo.Context) error   { return h.lifecycle(c, job.Stop) }
func (h *handlers) deleteJob(c echo.Context) error { return h.lifecycle(c, job.Delete) }

// execBody is the optional body of a run now: its parameters.
type execBody struct {
	Params json.RawMessage `json:"params"`
}

// execJob runs the job once now; a body's params are the run's parameters. Without a
// body it is the seed's sdk_exec_job as it always was.
func (h *handlers) execJob(c echo.Context) error {
	params := ""
	if c.Request().ContentLength != 0 {
		var b execBody
		switch err := decodeBody(c, h.d.BodyLimit, &b); {
		case errors.Is(err, errEmptyBody):
			// A body sent empty (chunked, say) is no body: the seed's exec.
		case err != nil:
			return err
		default:
			p, err := job.Params(b.Params)
			if err != nil {
				return err
			}
			params = p
		}
	}
	return h.lifecycleWith(c, job.Exec, func(cmd *commander.Command) { cmd.Params = params })
}

func (h *handlers) lifecycle(c echo.Context, t job.CommandType) error {
	return h.lifecycleWith(c, t, nil)
}

// lifecycleWith is lifecycle with the command completed by with (when not nil).
func (h *handlers) lifecycleWith(c echo.Context, t job.CommandType, with func(*commander.Command)) error {
	sj, err := h.find(c)
	if errors.Is(err, errJobNotFound) {
		// The job may be gone because of this very request, already answered once and
		// sent again (its answer lost): the same command gets the kept outcome. A new
		// command on a deleted job is rejected by the trigger as not found.
		if gone, ok := h.gone(c, c.Param("id")); ok {
			sj, err = gone, nil
		}
	}
	if err != nil {
		return err
	}
	if t == job.Start && sj.Job.State != job.Started && len(sj.Job.Spec.Trigger.Calendars) > 0 {
		// The domain refuses a start with no fire left (naming end_date, run_date or
		// cron) but cannot see calendars: one whose calendars exclude every instant it
		// has left is refused here, as a start past its end is, rather than started
		// with no fire.
		as, now := sj.Job, h.d.Clock.Now()
		as.State, as.StartedAt = job.Started, now
		if _, ok := as.Next(now); ok {
			if _, ok := h.next(c, as)(now); !ok {
				return &apiError{Status: http.StatusConflict, Code: "conflict", Field: "calendars",
					Message: "calendars: they exclude every instant the job has left: change them, or the job's calendars, first"}
			}
		}
	}
	cmd := h.command(c, t, sj.Job, nil)
	if with != nil {
		with(&cmd)
	}
	return h.send(c, cmd, http.StatusOK)
}

// command builds a command on target (the zero Job for a create) from the request. A
// create gets new ids. With an Idempotency-Key, the command id derives from the key and
// what the request does — tenant, operation, job — so that a repeated request is the
// same command, and a create's ids derive from it, so that it names the same job. The
// body is the command's fingerprint, not part of its id: the key sent again with another
// body finds the first command's kept outcome, and apply refuses it.
func (h *handlers) command(c echo.Context, t job.CommandType, target job.Job, spec *job.Spec) commander.Command {
	return h.commandAs(c, t, target, spec, string(t), target.ID)
}

// commandAs is command with the id's scope given: what, besides the tenant and the key,
// tells this request's command from others.
func (h *handlers) commandAs(c echo.Context, t job.CommandType, target job.Job, spec *job.Spec, scope ...any) commander.Command {
	tenant := c.Get(tenantKey).(string)
	key := c.Request().Header.Get("Idempotency-Key")
	id := commander.NewID(tenant, key, scope...)
	cmd := job.Command{
		ID: id, Type: t, Tenant: tenant, JobID: target.ID, JobKey: target.Key, User: c.Request().Header.Get("X-User-Id"),
		At: h.d.Clock.Now().UTC().Truncate(time.Millisecond), Spec: spec,
	}
	if t == job.Create {
		seed := ""
		if key != "" {
			seed = id
		}
		cmd.JobID = commander.UUID(seedFor(seed, "id"))
		cmd.JobKey = commander.UUID(seedFor(seed, "key"))
	}
	sent := commander.Command{Command: cmd, Idempotent: key != ""}
	if key != "" {
		sent.Fingerprint = "-"
		if b, ok := c.Get(bodyKey).(string); ok {
			sent.Fingerprint = b
		}
	}
	return sent
}

func seedFor(seed, part string) string {
	if seed == "" {
		return ""
	}
	return seed + "/" + part
}

// apply stores the command and waits for its outcome: the job it left (nil when the
// command is only accepted, the trigger being away), or the rejection.
func (h *handlers) apply(c echo.Context, cmd commander.Command) (commander.Result, error) {
	return h.d.Commander.Send(c.Request().Context(), cmd)
}

// send applies the command and answers as the job-center SDK does: the job info, or 202
// with the job's ids when the trigger is away.
func (h *handlers) send(c echo.Context, cmd commander.Command, okStatus int) error {
	a, err := h.apply(c, cmd)
	if err != nil {
		return err
	}
	if a.Job == nil {
		return c.JSON(http.StatusAccepted, map[string]string{
			"id": cmd.JobID, "jobId": cmd.JobKey, "status": "accepted", "commandId": cmd.ID,
		})
	}
	if a.FireID != "" {
		c.Response().Header().Set("X-Fire-Id", a.FireID)
	}
	return c.JSON(okStatus, toJobInfoNext(*a.Job, h.d.Clock.Now(), h.d.Loc, h.next(c, *a.Job)))
}

// errIsSchedule refuses a change of a Quartz schedule's definition through the jobs API.
var errIsSchedule = &apiError{Status: http.StatusConflict, Code: "conflict", Field: "id",
	Message: "this job is a Quartz schedule of a behaviour: change it with the Quartz API's save"}

// lifecycleOf reads a job's lifecycle events, oldest first.
func (h *handlers) lifecycleOf(c echo.Context, j job.Job) ([]contracts.LifecycleEvent, error) {
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	events, err := h.d.History(ctx, j.Tenant, j.ID)
	if err != nil {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the event log is unavailable: " + err.Error()}
	}
	return events, nil
}

// change is one entry of a job's audit trail.
type change struct {
	Event     string  `json:"event"`
	Time      string  `json:"time"`
	User      *string `json:"user"`
	CommandID string  `json:"commandId,omitempty"`
	// Reason says why the center made the change itself (a pause after failures).
	Reason string  `json:"reason,omitempty"`
	Job    jobInfo `json:"job"`
}

// history answers GET /api/v1/jobs/{id}/history: every change of the job, who made it
// and when, oldest first (a deleted job's history stays readable by the tenant).
func (h *handlers) history(c echo.Context) error {
	sj, err := h.findAny(c, c.Param("id"))
	if err != nil {
		return err
	}
	events, err := h.lifecycleOf(c, sj.Job)
	if err != nil {
		return err
	}
	out := make([]change, len(events))
	for i, e := range events {
		out[i] = change{Event: e.Type, Time: e.At.In(h.d.Loc).Format("2006-01-02 15:04:05.000"), User: optional(e.User),
			CommandID: e.CommandID, Reason: e.Reason, Job: toJobInfo(wire.JobFromPayload(e.Job), e.At, h.d.Loc)}
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) journal(c echo.Context) error {
	page, err := queryInt(c, "page", 1, 1, math.MaxInt32)
	if err != nil {
		return err
	}
	size, err := queryInt(c, "size", 20, 1, 1000)
	if err != nil {
		return err
	}
	// The fire progress is in the store alone; a deleted job's journal stays readable
	// until retention removes it.
	sj, err := h.findAny(c, c.Param("id"))
	if err != nil {
		return err
	}
	p, err := h.journalPage(c, sj, page, size)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// journalPage reads one page of a job's journal, newest first, as both facades show it.
func (h *handlers) journalPage(c echo.Context, sj mongostore.StoredJob, page, size int64) (journalPage, error) {
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	p, err := h.d.Store.JournalPage(ctx, sj.Job.ID, sj.Progress.Seq, h.d.JournalKeep, page, size)
	if err != nil {
		return journalPage{}, storeUnavailable(err)
	}
	return toJournalPage(p), nil
}

// childIDs names each child job of a chain by its id, as the trigger checks and runs
// them, when the request named it by its jobId (either names a job in a path). A name
// of no job of the tenant is left for the trigger to refuse.
func (h *handlers) childIDs(c echo.Context, spec *job.Spec) {
	for _, ids := range []*[]string{&spec.Policy.OnSuccess, &spec.Policy.OnFailure} {
		for i, ref := range *ids {
			if sj, err := h.live(c, ref); err == nil && sj.Job.ID != ref {
				(*ids)[i] = sj.Job.ID
			}
		}
	}
}
