package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/services/api/internal/jobview"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// ExportKind and ExportVersion name the export document's format.
const (
	ExportKind    = "jobcenter.export"
	ExportVersion = 1
	// MaxImported bounds the jobs and schedules of one document.
	MaxImported = 10_000
)

// exportDoc is a project's jobs and Quartz schedules as one document: what export
// answers and import takes.
type exportDoc struct {
	Kind       string             `json:"kind"`
	Version    int                `json:"version"`
	Project    string             `json:"project"`
	ExportedAt string             `json:"exported_at"`
	Jobs       []exportedJob      `json:"jobs"`
	Schedules  []exportedSchedule `json:"schedules"`
}

// exportedJob is a job-center job: its ids, whether it is started, and its definition in
// the add body's fields.
type exportedJob struct {
	ID      string `json:"id"`
	JobID   string `json:"jobId"`
	Started bool   `json:"started"`
	jobBody
}

// MarshalJSON writes the fields the job sets: the add body's fields it leaves unset (a
// date job's seconds, a default policy) are left out, not written as null.
func (e exportedJob) MarshalJSON() ([]byte, error) {
	type plain exportedJob
	data, err := json.Marshal(plain(e))
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, err
	}
	for k, v := range fields {
		if string(v) == "null" {
			delete(fields, k)
		}
	}
	return json.Marshal(fields)
}

// exportedSchedule is a Quartz schedule: matched by its behaviour on import.
type exportedSchedule struct {
	JobInfoID      string `json:"jobinfoid"`
	JobName        string `json:"jobname"`
	CronExpression string `json:"cronexpression"`
	BizCode        string `json:"bizcode"`
	TimeZone       string `json:"timezone,omitempty"`
	// Calendars, WorkerGroup and Route: the save's extensions, when the schedule has them.
	Calendars   []string `json:"calendars,omitempty"`
	WorkerGroup string   `json:"worker_group,omitempty"`
	Route       string   `json:"route,omitempty"`
	Enabled     bool     `json:"enabled"`
}

// exportJobs answers GET /api/v1/export?pid=: the project's live jobs (a date job whose
// date has passed has nothing left to run and is left out) and Quartz schedules, in the
// list's order.
func (h *handlers) exportJobs(c echo.Context) error {
	tenant := c.Get(tenantKey).(string)
	now := h.d.Clock.Now()
	doc := exportDoc{Kind: ExportKind, Version: ExportVersion, Project: tenant,
		ExportedAt: now.UTC().Format(time.RFC3339), Jobs: []exportedJob{}, Schedules: []exportedSchedule{}}
	for skip := int64(0); ; skip += 1000 {
		jobs, total, err := h.list(c, tenant, c.QueryParam("pid"), skip, 1000)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			switch {
			case j.State == job.Finished, !fires(j.Spec.Trigger, now):
			case j.Spec.Target.BizCode != "":
				// A schedule without a zone runs in UTC (job.LoadZone); an import would read
				// an empty one as the importing center's.
				doc.Schedules = append(doc.Schedules, exportedSchedule{JobInfoID: j.ID, JobName: j.Spec.Name,
					CronExpression: j.Spec.Trigger.Cron, BizCode: j.Spec.Target.BizCode, TimeZone: cmp.Or(j.Spec.Trigger.Zone, "UTC"),
					Calendars: j.Spec.Trigger.Calendars, WorkerGroup: j.Spec.Policy.Group, Route: string(j.Spec.Policy.Route),
					Enabled: j.State == job.Started})
			default:
				spec := j.Spec
				// A child deleted since it was named is not run; an import would refuse it.
				live := func(ids []string) []string {
					var out []string
					for _, id := range ids {
						if child, found, err := h.anyJob(c, id); err == nil && found && child.Live() && child.Tenant == tenant {
							out = append(out, id)
						}
					}
					return out
				}
				spec.Policy.OnSuccess, spec.Policy.OnFailure = live(spec.Policy.OnSuccess), live(spec.Policy.OnFailure)
				doc.Jobs = append(doc.Jobs, exportedJob{ID: j.ID, JobID: j.Key, Started: j.State == job.Started, jobBody: bodyOf(spec)})
			}
		}
		if skip+1000 >= total || len(jobs) == 0 {
			break
		}
	}
	return c.JSON(http.StatusOK, doc)
}

// bodyOf is a definition in the add body's fields, the policy's only where it is not
// the default.
func bodyOf(s job.Spec) jobBody {
	str := func(v string) *string { return &v }
	num := func(v int64) []byte { return []byte(strconv.FormatInt(v, 10)) }
	b := jobBody{Pid: str(s.Pid), Name: str(s.Name), Description: str(s.Description), Trigger: str(string(s.Trigger.Kind))}
	switch s.Trigger.Kind {
	case job.Interval:
		b.Seconds = num(int64(s.Trigger.Every / time.Second))
	case job.Date:
		// ISO-8601 in UTC, not the SDK's local form: another center may have another
		// JOBCENTER_TZ, and an instant may have a fraction of a second.
		b.RunDate = str(s.Trigger.RunAt.UTC().Format(time.RFC3339Nano))
	case job.Cron:
		b.Cron, b.Timezone = str(s.Trigger.Cron), str(s.Trigger.Zone)
	}
	if tr := s.Trigger; !tr.Start.IsZero() {
		b.StartDate = str(tr.Start.UTC().Format(time.RFC3339Nano))
	}
	if tr := s.Trigger; !tr.End.IsZero() {
		b.EndDate = str(tr.End.UTC().Format(time.RFC3339Nano))
	}
	switch {
	case s.Target.Code != "":
		b.Code = str(s.Target.Code)
	case s.Target.HTTP != nil:
		// Its secrets masked: an import into the center that has the job keeps them, any
		// other must be given them.
		b.HTTP = shownHTTP(s.Target.HTTP)
	default:
		b.FlowID = str(s.Target.FlowID)
	}
	def := job.DefaultPolicy()
	p := s.Policy
	if p.Coalesce != def.Coalesce {
		b.Coalesce = &p.Coalesce
	}
	if ids := p.OnSuccess; len(ids) > 0 {
		b.OnSuccess = &ids
	}
	if p.Group != "" {
		b.WorkerGroup, b.Route = str(p.Group), str(string(p.Route))
	}
	if p.Overlap != "" {
		b.Overlap = str(string(p.Overlap))
	}
	if s.Trigger.FixedDelay {
		b.FixedDelay = &s.Trigger.FixedDelay
	}
	if cals := s.Trigger.Calendars; len(cals) > 0 {
		b.Calendars = &cals
	}
	if ids := p.OnFailure; len(ids) > 0 {
		b.OnFailure = &ids
	}
	for _, f := range []struct {
		v, def int64
		dst    *[]byte
	}{
		{int64(p.PauseAfterFailures), 0, (*[]byte)(&b.PauseAfterFailures)},
		{int64(s.Trigger.Jitter / time.Second), 0, (*[]byte)(&b.Jitter)},
		{int64(p.MisfireGrace / time.Second), int64(def.MisfireGrace / time.Second), (*[]byte)(&b.MisfireGrace)},
		{int64(p.MaxInstances), int64(def.MaxInstances), (*[]byte)(&b.MaxInstances)},
		{int64(p.Retries), int64(def.Retries), (*[]byte)(&b.Retries)},
		{int64(p.RetryBackoff / time.Second), int64(def.RetryBackoff / time.Second), (*[]byte)(&b.RetryBackoff)},
		{int64(p.Timeout / time.Second), int64(def.Timeout / time.Second), (*[]byte)(&b.Timeout)},
	} {
		if f.v != f.def {
			*f.dst = num(f.v)
		}
	}
	return b
}

// importStep is one thing an import does or would do.
type importStep struct {
	Kind string `json:"kind"` // "job" or "schedule"
	ID   string `json:"id,omitempty"`
	Biz  string `json:"bizcode,omitempty"`
	Name string `json:"name"`
	// What changes: "definition", "started", "stopped" (a change's), none for create or leave.
	What []string `json:"what,omitempty"`

	spec    job.Spec
	cur     *job.Job
	started bool
	key     string
}

// importAnswer lists what an import created, changed and left as it was (or, on a dry
// run, would).
type importAnswer struct {
	DryRun bool         `json:"dry_run"`
	Create []importStep `json:"create"`
	Change []importStep `json:"change"`
	Leave  []importStep `json:"leave"`
}

// importJobs answers POST /api/v1/import[?dry_run=true]: it makes the project's jobs and
// schedules what the document says. The whole document is checked first: the first
// problem is a 400 naming it (jobs[3].seconds), and nothing is imported. Jobs are matched
// by id, schedules by behaviour: each is created, changed, or left as it is, so the same
// document imported twice changes nothing the second time.
func (h *handlers) importJobs(c echo.Context) error {
	dry := false
	if v := c.QueryParam("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return invalidField("dry_run", "must be true or false, got %q", clip(v))
		}
		dry = b
	}
	doc, err := decodeDoc(c, h.d.BodyLimit)
	if err != nil {
		return err
	}
	plan, err := h.planImport(c, doc)
	if err != nil {
		return err
	}
	plan.DryRun = dry
	if dry {
		return c.JSON(http.StatusOK, plan)
	}
	// Chains name other jobs of the document: every job is written without the chains it
	// is to have first, then the chains are set, once every job they name is there.
	steps := append(append([]importStep{}, plan.Create...), plan.Change...)
	done := 0
	for pass := range 2 {
		for _, step := range steps {
			if err := h.applyStep(c, step, pass == 1); err != nil {
				var ae *apiError
				if errors.As(err, &ae) && done > 0 {
					told := *ae // a copy: some errors are shared values
					told.Message = fmt.Sprintf("%s (the import stopped part-way, %d of its writes made: send the document again to finish)", ae.Message, done)
					return &told
				}
				return err
			}
			done++
		}
	}
	return c.JSON(http.StatusOK, plan)
}

// rawDoc is an export document with its entries not yet read: each is read on its own,
// so that an error names its place (jobs[3].started).
type rawDoc struct {
	Kind       string            `json:"kind"`
	Version    int               `json:"version"`
	Project    string            `json:"project"`
	ExportedAt string            `json:"exported_at"`
	Jobs       []json.RawMessage `json:"jobs"`
	Schedules  []json.RawMessage `json:"schedules"`
}

// decodeDoc reads an import's body strictly, entry by entry.
func decodeDoc(c echo.Context, limit int64) (exportDoc, error) {
	var raw rawDoc
	if err := decodeBody(c, limit, &raw); err != nil {
		return exportDoc{}, err
	}
	doc := exportDoc{Kind: raw.Kind, Version: raw.Version, Project: raw.Project, ExportedAt: raw.ExportedAt,
		Jobs: make([]exportedJob, len(raw.Jobs)), Schedules: make([]exportedSchedule, len(raw.Schedules))}
	for i, data := range raw.Jobs {
		if err := decodeEntry(data, &doc.Jobs[i], fmt.Sprintf("jobs[%d].", i)); err != nil {
			return exportDoc{}, err
		}
	}
	for i, data := range raw.Schedules {
		if err := decodeEntry(data, &doc.Schedules[i], fmt.Sprintf("schedules[%d].", i)); err != nil {
			return exportDoc{}, err
		}
	}
	return doc, nil
}

// decodeEntry reads one entry strictly, its errors named within at.
func decodeEntry(data []byte, v any, at string) error {
	err := strictJSON(data, reflect.TypeOf(v))
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err = dec.Decode(v); err != nil {
			err = jsonError(err)
		}
	}
	var ae *apiError
	if errors.As(err, &ae) {
		named := *ae // a copy: some errors are shared values
		// The add body's fields are the entry's own, not a part's.
		named.Field = at + strings.TrimPrefix(ae.Field, "jobBody.")
		if named.Field == at {
			named.Field = strings.TrimSuffix(at, ".")
		}
		named.Message = strings.TrimSuffix(at, ".") + ": " + ae.Message
		return &named
	}
	return err
}

// planImport checks the whole document and finds what each entry would do.
func (h *handlers) planImport(c echo.Context, doc exportDoc) (importAnswer, error) {
	switch {
	case doc.Kind != ExportKind:
		return importAnswer{}, invalidField("kind", "must be %q (a document made by export), got %q", ExportKind, clip(doc.Kind))
	case doc.Version != ExportVersion:
		return importAnswer{}, invalidField("version", "must be %d, got %d", ExportVersion, doc.Version)
	case len(doc.Jobs)+len(doc.Schedules) > MaxImported:
		return importAnswer{}, invalidField("jobs", "at most %d jobs and schedules may be imported at once, got %d", MaxImported, len(doc.Jobs)+len(doc.Schedules))
	}
	tenant := c.Get(tenantKey).(string)
	now := h.d.Clock.Now()
	out := importAnswer{Create: []importStep{}, Change: []importStep{}, Leave: []importStep{}}
	ids := map[string]string{}
	for i, e := range doc.Jobs {
		at := fmt.Sprintf("jobs[%d].", i)
		for _, f := range []struct{ name, v string }{{"id", e.ID}, {"jobId", e.JobID}} {
			// What an id may hold: it names the job in paths, in chains and in fire ids.
			if f.v == "" || len(f.v) > 200 || strings.ContainsFunc(f.v, func(r rune) bool { return r <= ' ' || strings.ContainsRune(",@/?#%", r) }) {
				return importAnswer{}, invalidField(at+f.name, "is required: 1 to 200 characters, none of them a space or , @ / ? # %%")
			}
			if prev, ok := ids[f.v]; ok {
				return importAnswer{}, invalidField(at+f.name, "%q is also %s", clip(f.v), prev)
			}
			ids[f.v] = at + f.name
		}
		in, err := e.input()
		if err == nil && in.HTTP != nil {
			// A header masked by the export keeps the value of the job it stands for here.
			if cur, found, ferr := h.anyJob(c, e.ID); ferr == nil && found && cur.Tenant == tenant && cur.Live() {
				in.Kept = cur.Spec.Target.HTTP
			}
		}
		if err == nil {
			var spec job.Spec
			if spec, err = in.ForCreate(now, h.d.Loc); err == nil {
				if err = e.checkCode(); err == nil {
					err = checkReach(spec, h.d.HTTPReach)
				}
				if err == nil {
					err = h.checkCalendars(c, spec.Trigger.Calendars)
				}
				if err == nil {
					step, perr := h.planJob(c, tenant, at, e, spec)
					if perr != nil {
						return importAnswer{}, perr
					}
					out.add(step)
					continue
				}
			}
		}
		return importAnswer{}, within(at, err)
	}
	if err := h.checkChains(c, tenant, doc, out); err != nil {
		return importAnswer{}, err
	}
	bizs := map[string]bool{}
	for i, e := range doc.Schedules {
		at := fmt.Sprintf("schedules[%d].", i)
		spec, err := job.QuartzInput{JobName: e.JobName, CronExpression: e.CronExpression, BizCode: e.BizCode, TimeZone: e.TimeZone,
			Calendars: e.Calendars, WorkerGroup: e.WorkerGroup, Route: e.Route}.Spec(now, h.d.Loc)
		if err == nil {
			err = h.checkCalendars(c, spec.Trigger.Calendars)
		}
		if err != nil {
			return importAnswer{}, within(at, err)
		}
		if bizs[spec.Target.BizCode] {
			return importAnswer{}, invalidField(at+"bizcode", "the behaviour %q has another schedule in the document", clip(spec.Target.BizCode))
		}
		bizs[spec.Target.BizCode] = true
		step := importStep{Kind: "schedule", Biz: spec.Target.BizCode, Name: spec.Name, spec: spec, started: e.Enabled}
		switch sj, err := h.findBiz(c, tenant, spec.Target.BizCode); {
		case errors.Is(err, mongostore.ErrNotFound):
		case err != nil:
			return importAnswer{}, storeUnavailable(err)
		default:
			step.ID, step.cur = sj.Job.ID, &sj.Job
		}
		out.add(step)
	}
	return out, nil
}

// checkChains applies the rules of child jobs to the document's jobs as the import would
// leave them: each child is a job of the document or a live job of the tenant, and no
// chain loops.
func (h *handlers) checkChains(c echo.Context, tenant string, doc exportDoc, plan importAnswer) error {
	planned := map[string]importStep{}
	for _, steps := range [][]importStep{plan.Create, plan.Change, plan.Leave} {
		for _, s := range steps {
			if s.Kind == "job" {
				planned[s.ID] = s
			}
		}
	}
	find := func(id string) (*job.Job, error) {
		if s, ok := planned[id]; ok {
			return &job.Job{ID: id, Tenant: tenant, State: job.Stopped, Spec: s.spec}, nil
		}
		j, found, err := h.anyJob(c, id)
		if err != nil || !found {
			return nil, err
		}
		return &j, nil
	}
	for i, e := range doc.Jobs {
		s := planned[e.ID]
		if !s.spec.Policy.Chained() {
			continue
		}
		if err := job.CheckChain(job.Job{ID: e.ID, Tenant: tenant, Spec: s.spec}, s.cur, find); err != nil {
			var ce *job.ConflictError
			if errors.As(err, &ce) {
				return &apiError{Status: http.StatusConflict, Code: "conflict", Field: fmt.Sprintf("jobs[%d].%s", i, ce.Field), Message: ce.Msg}
			}
			return within(fmt.Sprintf("jobs[%d].", i), err)
		}
	}
	return nil
}

// planJob finds what importing a job entry would do: create it with its ids, change the
// tenant's job of that id, or leave it. Ids another project's job (or a deleted job) has
// cannot be imported.
func (h *handlers) planJob(c echo.Context, tenant, at string, e exportedJob, spec job.Spec) (importStep, error) {
	step := importStep{Kind: "job", ID: e.ID, Name: spec.Name, spec: spec, started: e.Started, key: e.JobID}
	for _, ref := range []string{e.ID, e.JobID} {
		cur, found, err := h.anyJob(c, ref)
		if err != nil {
			return step, err
		}
		if !found {
			continue
		}
		if cur.Tenant != tenant || !cur.Live() || cur.ID != e.ID || cur.Key != e.JobID || cur.Spec.Target.BizCode != "" {
			name := map[bool]string{true: "id", false: "jobId"}[ref == e.ID]
			return step, &apiError{Status: http.StatusConflict, Code: "conflict", Field: at + name, Message: fmt.Sprintf(
				"%s%s %q is taken by another job (of another project, deleted, or with other ids): nothing was imported", at, name, clip(ref))}
		}
		step.cur = &cur
		return step, nil
	}
	return step, nil
}

// anyJob reads the job of either id, whatever its tenant and state.
func (h *handlers) anyJob(c echo.Context, ref string) (job.Job, bool, error) {
	if h.d.Jobs != nil {
		if j, found := h.d.Jobs.Get(ref); found == jobview.Held {
			return j, true, nil
		}
		if j, ok := h.d.Jobs.Gone(ref); ok {
			return j, true, nil
		}
	}
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	sj, err := h.d.Store.FindJob(ctx, ref)
	switch {
	case errors.Is(err, mongostore.ErrNotFound):
		return job.Job{}, false, nil
	case err != nil:
		return job.Job{}, false, storeUnavailable(err)
	}
	return sj.Job, true, nil
}

// add files a step as a create, a change (saying what changes) or a leave.
func (a *importAnswer) add(s importStep) {
	if s.cur == nil {
		a.Create = append(a.Create, s)
		return
	}
	if !s.cur.Spec.Same(s.spec) {
		s.What = append(s.What, "definition")
	}
	switch started := s.cur.State == job.Started; {
	case s.started && !started:
		s.What = append(s.What, "started")
	case !s.started && started:
		s.What = append(s.What, "stopped")
	}
	if len(s.What) == 0 {
		a.Leave = append(a.Leave, s)
		return
	}
	a.Change = append(a.Change, s)
}

// applyStep sends a step's commands: on the first pass its job without the chains it is
// to have (it keeps those it has), on the second its chains, where they change. An
// import sent again after a failure part-way is planned again from what the first one
// did: what it applied is left.
func (h *handlers) applyStep(c echo.Context, s importStep, chains bool) error {
	send := func(t job.CommandType, target job.Job, spec *job.Spec, enable bool) error {
		cmd := h.commandAs(c, t, target, spec, "import", s.Kind, s.ID, s.Biz, string(t), chains)
		if s.cur == nil && s.Kind == "job" {
			cmd.JobID, cmd.JobKey = s.ID, s.key
		}
		cmd.Enable = enable
		_, err := h.apply(c, cmd)
		return err
	}
	var had job.Policy // the job's chains before the import: none for a new job
	if s.cur != nil {
		had = s.cur.Spec.Policy
	}
	if chains {
		if s.Kind != "job" || slices.Equal(had.OnSuccess, s.spec.Policy.OnSuccess) && slices.Equal(had.OnFailure, s.spec.Policy.OnFailure) {
			return nil
		}
		cur := s.cur
		if cur == nil {
			cur = &job.Job{ID: s.ID, Key: s.key}
		}
		return send(job.Update, *cur, &s.spec, false)
	}
	if s.Kind == "job" {
		s.spec.Policy.OnSuccess, s.spec.Policy.OnFailure = had.OnSuccess, had.OnFailure
	}
	if s.cur == nil {
		// A new job is created started or not in one command.
		return send(job.Create, job.Job{}, &s.spec, s.started)
	}
	for _, what := range s.What {
		var err error
		switch what {
		case "definition":
			if !s.spec.Same(s.cur.Spec) { // the same but for chains the second pass sets
				err = send(job.Update, *s.cur, &s.spec, false)
			}
		case "started":
			err = send(job.Start, *s.cur, nil, false)
		case "stopped":
			err = send(job.Stop, *s.cur, nil, false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// within names a field error's field as a part of the document (jobs[3].seconds).
func within(at string, err error) error {
	var fe *job.FieldError
	if errors.As(err, &fe) {
		return invalidField(at+fe.Field, "%s", fe.Msg)
	}
	var ae *apiError
	if errors.As(err, &ae) && ae.Field != "" {
		named := *ae // a copy: some errors are shared values
		named.Field = at + ae.Field
		return &named
	}
	return err
}

// fires reports whether a trigger has a fire left after now (a date or a lifetime past is
// none): a job without one is not exported, as a finished one is not.
func fires(tr job.Trigger, now time.Time) bool {
	_, ok := tr.Next(now, now)
	return ok
}
