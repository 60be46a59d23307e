package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/services/api/internal/jobview"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// The Quartz API: behaviour schedules in Quartz cron, their status, and the journal.
// The tenant is the tecode header; answers are {"resp_data": ...}, errors
// {"resp_code": "...", "resp_msg": "..."} (see errorHandler).

// MaxCodes bounds how many behaviour codes one status query may name.
const MaxCodes = 1000

type statusBody struct {
	Codes   *string `json:"codes"`
	JobType *string `json:"jobtype"`
}

// statusAnswer is queryjobstatus's answer.
type statusAnswer struct {
	RespData []scheduleStatus `json:"resp_data"`
}

type scheduleStatus struct {
	JobInfoID      string `json:"jobinfoid"`
	CronExpression string `json:"cronexpression"`
	BizCode        string `json:"bizcode"`
	JobStatus      string `json:"jobstatus"`
}

// queryJobStatus answers POST /task/quartz/queryjobstatus: the schedule of each listed
// behaviour that has one, in the order asked.
func (h *handlers) queryJobStatus(c echo.Context) error {
	var b statusBody
	if err := decodeBody(c, h.d.BodyLimit, &b); err != nil {
		return err
	}
	if b.Codes == nil || strings.TrimSpace(*b.Codes) == "" {
		return badRequest("codes", "codes is required: behaviour codes separated by commas")
	}
	parts := strings.Split(*b.Codes, ",")
	codes := make([]string, 0, len(parts))
	seen := make(map[string]bool, len(parts))
	for _, code := range parts {
		code = strings.TrimSpace(code)
		if code != "" && !seen[code] {
			seen[code] = true
			codes = append(codes, code)
		}
	}
	if len(codes) > MaxCodes {
		return badRequest("codes", fmt.Sprintf("at most %d codes may be asked at once, got %d", MaxCodes, len(codes)))
	}
	tenant := c.Get(tenantKey).(string)
	// One allocation each, not one a code: a status of 100 codes is answered some
	// thousands of times a second.
	found := make([]scheduleStatus, len(codes))
	has := make([]bool, len(codes))
	var errs []error
	put := func(i int, j *job.Job) {
		found[i], has[i] = scheduleStatus{JobInfoID: j.ID, CronExpression: j.Spec.Trigger.Cron, BizCode: codes[i], JobStatus: jobStatus(j.State)}, true
	}
	// The job view answers at once; what it leaves to the store is read eight at a time.
	var ask []int
	if h.d.Jobs != nil {
		h.d.Jobs.Schedules(tenant, codes, func(i int, j *job.Job, f jobview.Found) {
			switch f {
			case jobview.Held:
				put(i, j)
			case jobview.Unknown:
				ask = append(ask, i)
			}
		})
	} else {
		for i := range codes {
			ask = append(ask, i)
		}
	}
	if len(ask) > 0 {
		errs = make([]error, len(codes))
	}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, i := range ask {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			switch sj, err := h.storeBiz(c, tenant, codes[i]); {
			case errors.Is(err, mongostore.ErrNotFound):
			case err != nil:
				errs[i] = err
			default:
				put(i, &sj.Job)
			}
		}()
	}
	wg.Wait()
	out := found[:0]
	for i := range found {
		if errs != nil && errs[i] != nil {
			return storeUnavailable(errs[i])
		}
		if has[i] {
			out = append(out, found[i])
		}
	}
	return c.JSON(http.StatusOK, statusAnswer{RespData: out})
}

// findBiz reads the tenant's live schedule of a behaviour, or ErrNotFound: from the job
// view when it answers for it.
func (h *handlers) findBiz(c echo.Context, tenant, bizcode string) (mongostore.StoredJob, error) {
	switch sj, found := h.viewBiz(tenant, bizcode); found {
	case jobview.Held:
		return sj, nil
	case jobview.Absent:
		return sj, mongostore.ErrNotFound
	}
	return h.storeBiz(c, tenant, bizcode)
}

// viewBiz is findBiz from the job view, Unknown when it does not answer for the behaviour.
func (h *handlers) viewBiz(tenant, bizcode string) (mongostore.StoredJob, jobview.Found) {
	if h.d.Jobs == nil {
		return mongostore.StoredJob{}, jobview.Unknown
	}
	j, found := h.d.Jobs.Schedule(tenant, bizcode)
	return mongostore.StoredJob{Job: j}, found
}

// storeBiz is findBiz from the store.
func (h *handlers) storeBiz(c echo.Context, tenant, bizcode string) (mongostore.StoredJob, error) {
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	return h.d.Store.LiveSchedule(ctx, tenant, bizcode)
}

func jobStatus(s job.State) string {
	if s == job.Started {
		return "enable"
	}
	return "disable"
}

// quartzRequest is the xw_quartz object of every opttype.
type quartzRequest struct {
	OptType        *string         `json:"opttype"`
	JobName        *string         `json:"jobname"`
	CronExpression *string         `json:"cronexpression"`
	BizCode        *string         `json:"bizcode"`
	TimeZone       *string         `json:"timezone"`
	Calendars      []string        `json:"calendars"`
	WorkerGroup    *string         `json:"worker_group"`
	Route          *string         `json:"route"`
	JobInfoID      *string         `json:"jobinfoid"`
	PageIndex      json.RawMessage `json:"pageindex"`
	PageSize       json.RawMessage `json:"pagesize"`
}

// bizCronJob answers POST /task/quartz/bizcronjob by its opttype.
func (h *handlers) bizCronJob(c echo.Context) error {
	var b struct {
		XwQuartz *quartzRequest `json:"xw_quartz"`
	}
	if err := decodeBody(c, h.d.BodyLimit, &b); err != nil {
		return err
	}
	q := b.XwQuartz
	if q == nil {
		return badRequest("xw_quartz", "xw_quartz is required")
	}
	switch opt := strings.TrimSpace(deref(q.OptType)); opt {
	case "save":
		return h.saveSchedule(c, q)
	case "quaryjournal", "queryjournal":
		return h.scheduleJournal(c, q)
	case "enable":
		return h.scheduleOp(c, q, job.Start)
	case "disable":
		return h.scheduleOp(c, q, job.Stop)
	case "delete":
		return h.scheduleOp(c, q, job.Delete)
	case "trigger":
		return h.scheduleOp(c, q, job.Exec)
	case "":
		return badRequest("opttype", "opttype is required: save, quaryjournal, enable, disable, delete or trigger")
	default:
		return badRequest("opttype", fmt.Sprintf("unknown opttype %q: want save, quaryjournal, enable, disable, delete or trigger", clip(opt)))
	}
}

// saveSchedule creates the behaviour's schedule, enabled, or changes the one it has.
func (h *handlers) saveSchedule(c echo.Context, q *quartzRequest) error {
	in := job.QuartzInput{JobName: deref(q.JobName), CronExpression: deref(q.CronExpression), BizCode: deref(q.BizCode), TimeZone: deref(q.TimeZone),
		Calendars: q.Calendars, WorkerGroup: deref(q.WorkerGroup), Route: deref(q.Route)}
	spec, err := in.Spec(h.d.Clock.Now(), h.d.Loc)
	if err != nil {
		return err
	}
	if err := h.checkCalendars(c, spec.Trigger.Calendars); err != nil {
		return err
	}
	tenant := c.Get(tenantKey).(string)
	for attempt := 0; ; attempt++ {
		// A save is one command whether it creates the schedule or changes it: the same key
		// sent again is the same save (another body, a 422), not an update of what the
		// first one created. A save that lost a race to create gets an id of its own.
		sj, err := h.findBiz(c, tenant, spec.Target.BizCode)
		var cmd = h.commandAs(c, job.Create, job.Job{}, &spec, "save", spec.Target.BizCode, attempt)
		switch {
		case err == nil:
			cmd = h.commandAs(c, job.Update, sj.Job, &spec, "save", spec.Target.BizCode, attempt)
		case errors.Is(err, mongostore.ErrNotFound):
			cmd.Enable = true
		default:
			return storeUnavailable(err)
		}
		a, err := h.apply(c, cmd)
		if errors.Is(err, job.ErrBizTaken) && attempt == 0 {
			// Another save created the schedule meanwhile: change that one.
			continue
		}
		if err != nil {
			return err
		}
		status := http.StatusOK
		if a.Job == nil {
			status = http.StatusAccepted
		}
		return c.JSON(status, map[string]any{"resp_data": map[string]string{"group_job_id": cmd.JobID}})
	}
}

// findSchedule reads the tenant's schedule named by jobinfoid.
func (h *handlers) findSchedule(c echo.Context, q *quartzRequest) (mongostore.StoredJob, error) {
	id := strings.TrimSpace(deref(q.JobInfoID))
	if id == "" {
		return mongostore.StoredJob{}, badRequest("jobinfoid", "jobinfoid is required")
	}
	sj, err := h.live(c, id)
	if err == nil && sj.Job.Spec.Target.BizCode == "" {
		err = errJobNotFound // a job-center job, not a behaviour's schedule
	}
	if errors.Is(err, errJobNotFound) {
		return sj, &apiError{Status: http.StatusNotFound, Code: "not_found", Field: "jobinfoid", Message: "jobinfoid: no schedule " + clip(id)}
	}
	return sj, err
}

func (h *handlers) scheduleJournal(c echo.Context, q *quartzRequest) error {
	page, err := rawInt("pageindex", q.PageIndex, 1, 1, math.MaxInt32)
	if err != nil {
		return err
	}
	size, err := rawInt("pagesize", q.PageSize, 10, 1, 1000)
	if err != nil {
		return err
	}
	sj, err := h.findSchedule(c, q)
	if err != nil {
		return err
	}
	p, err := h.journalPage(c, sj, page, size)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"resp_data": map[string]any{"quartz_list": p}})
}

// scheduleOp enables, disables, deletes or triggers a schedule.
func (h *handlers) scheduleOp(c echo.Context, q *quartzRequest, t job.CommandType) error {
	sj, err := h.findSchedule(c, q)
	if err != nil {
		gone, ok := h.gone(c, strings.TrimSpace(deref(q.JobInfoID)))
		if !ok || gone.Job.Spec.Target.BizCode == "" {
			return err
		}
		sj = gone // a repeat of the request that deleted it: answered as the first time
	}
	cmd := h.command(c, t, sj.Job, nil)
	a, err := h.apply(c, cmd)
	if err != nil {
		return err
	}
	data := map[string]any{"jobinfoid": sj.Job.ID}
	status := http.StatusOK
	switch {
	case a.Job == nil:
		status = http.StatusAccepted
	case t == job.Delete:
		data["deleted"] = true
	default:
		data["jobstatus"] = jobStatus(a.Job.State)
	}
	if a.FireID != "" {
		data["triggerid"] = a.FireID
	}
	return c.JSON(status, map[string]any{"resp_data": data})
}

// rawInt reads an optional whole number within [lo, hi] from a JSON value.
func rawInt(field string, raw json.RawMessage, def, lo, hi int64) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.Trim(string(raw), `"`), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, invalidField(field, "must be a whole number from %d to %d, got %s", lo, hi, clip(string(raw)))
	}
	return n, nil
}
