package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/shared/calendar"
	"github.com/jobcenter/jobcenter/shared/calkv"
	"github.com/jobcenter/jobcenter/shared/job"
)

// Calendaring keeps tenants' calendars: the bucket, written and read by the routes, and
// a cache of it, which next_run_time and previews exclude by.
type Calendaring struct {
	Store calkv.Calendars
	Cache *calkv.Cache
}

// calendarBody is the body of POST /api/v1/calendars and PUT /api/v1/calendars/{name}.
type calendarBody struct {
	Name        *string  `json:"name"`
	Description string   `json:"description"`
	Timezone    string   `json:"timezone"`
	Dates       []string `json:"dates"`
	Weekly      []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"weekly"`
	Ranges []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"ranges"`
	Cron string `json:"cron"`
}

// calendarView is a calendar as the routes show it: its ranges in its zone.
type calendarView struct {
	Name        string               `json:"name"`
	Description string               `json:"description,omitempty"`
	Timezone    string               `json:"timezone"`
	Dates       []string             `json:"dates,omitempty"`
	Weekly      []calkv.StoredWindow `json:"weekly,omitempty"`
	Ranges      []map[string]string  `json:"ranges,omitempty"`
	Cron        string               `json:"cron,omitempty"`
	UpdatedAt   string               `json:"updated_at"`
	UpdatedBy   *string              `json:"updated_by"`
}

func (h *handlers) calendaring() (*Calendaring, error) {
	if h.d.Calendars == nil {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "calendars are not available on this api"}
	}
	return h.d.Calendars, nil
}

func (h *handlers) viewCalendar(s calkv.Stored) calendarView {
	loc, err := time.LoadLocation(s.Zone)
	if err != nil {
		loc = h.d.Loc
	}
	v := calendarView{Name: s.Name, Description: s.Description, Timezone: s.Zone, Dates: s.Dates, Weekly: s.Weekly, Cron: s.Cron,
		UpdatedAt: job.FormatLocal(s.UpdatedAt, h.d.Loc), UpdatedBy: optional(s.UpdatedBy)}
	for _, r := range s.Ranges {
		v.Ranges = append(v.Ranges, map[string]string{"from": job.FormatLocal(r.From, loc), "to": job.FormatLocal(r.To, loc)})
	}
	return v
}

// calendarFrom checks a calendar written: its parts by package calendar's rules, its
// ranges in run_date's forms read in its zone (JOBCENTER_TZ unless it names one).
func (h *handlers) calendarFrom(c echo.Context, b calendarBody, name string) (calkv.Stored, error) {
	s := calkv.Stored{Tenant: c.Get(tenantKey).(string), Name: name, Description: b.Description, Zone: strings.TrimSpace(b.Timezone),
		Dates: b.Dates, Cron: strings.TrimSpace(b.Cron), UpdatedAt: h.d.Clock.Now().UTC(), UpdatedBy: c.Request().Header.Get("X-User-Id")}
	if s.Zone == "" {
		s.Zone = h.d.Loc.String()
	}
	loc, err := time.LoadLocation(s.Zone)
	if err != nil {
		return s, invalidField("timezone", "unknown time zone %q", clip(s.Zone))
	}
	for _, w := range b.Weekly {
		s.Weekly = append(s.Weekly, calkv.StoredWindow{From: w.From, To: w.To})
	}
	if len(b.Ranges) > calendar.MaxRanges {
		return s, invalidField("ranges", "holds %d ranges, at most %d are allowed", len(b.Ranges), calendar.MaxRanges)
	}
	for i, r := range b.Ranges {
		var rr calkv.StoredRange
		for _, f := range []struct {
			field, text string
			dst         *time.Time
		}{{fmt.Sprintf("ranges[%d].from", i), r.From, &rr.From}, {fmt.Sprintf("ranges[%d].to", i), r.To, &rr.To}} {
			at, err := job.ParseRunDate(f.text, loc)
			if err != nil {
				var fe *job.FieldError
				if errors.As(err, &fe) {
					return s, invalidField(f.field, "%s", fe.Msg)
				}
				return s, err
			}
			*f.dst = at
		}
		s.Ranges = append(s.Ranges, rr)
	}
	if _, err := s.Calendar().Compile(loc); err != nil {
		var fe *calendar.FieldError
		if errors.As(err, &fe) {
			return s, invalidField(fe.Field, "%s", fe.Msg)
		}
		return s, err
	}
	return s, nil
}

// listCalendars answers GET /api/v1/calendars: the tenant's calendars by name.
func (h *handlers) listCalendars(c echo.Context) error {
	cal, err := h.calendaring()
	if err != nil {
		return err
	}
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	list, err := cal.Store.List(ctx, c.Get(tenantKey).(string))
	if err != nil {
		return brokerUnavailable(err)
	}
	out := make([]calendarView, len(list))
	for i, s := range list {
		out[i] = h.viewCalendar(s)
	}
	return c.JSON(http.StatusOK, map[string]any{"calendars": out})
}

// addCalendar answers POST /api/v1/calendars: a new calendar, 201.
func (h *handlers) addCalendar(c echo.Context) error {
	cal, err := h.calendaring()
	if err != nil {
		return err
	}
	var b calendarBody
	if err := decodeBody(c, h.d.BodyLimit, &b); err != nil {
		return err
	}
	if b.Name == nil {
		return invalidField("name", "is required")
	}
	s, err := h.calendarFrom(c, b, strings.TrimSpace(*b.Name))
	if err != nil {
		return err
	}
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	if err := cal.Store.Put(ctx, s, 0); err != nil {
		return toAlertError(err)
	}
	return c.JSON(http.StatusCreated, h.viewCalendar(s))
}

// calendarOf reads the calendar the path names, with its revision.
func (h *handlers) calendarOf(c echo.Context, cal *Calendaring) (calkv.Stored, error) {
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	s, err := cal.Store.Get(ctx, c.Get(tenantKey).(string), c.Param("name"))
	switch {
	case errors.Is(err, calendar.ErrNotFound):
		return s, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "calendar not found"}
	case err != nil:
		return s, brokerUnavailable(err)
	}
	return s, nil
}

// getCalendar answers GET /api/v1/calendars/{name}.
func (h *handlers) getCalendar(c echo.Context) error {
	cal, err := h.calendaring()
	if err != nil {
		return err
	}
	s, err := h.calendarOf(c, cal)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.viewCalendar(s))
}

// updateCalendar answers PUT /api/v1/calendars/{name}: the calendar replaced whole. The
// triggers reschedule the jobs that name it.
func (h *handlers) updateCalendar(c echo.Context) error {
	cal, err := h.calendaring()
	if err != nil {
		return err
	}
	var b calendarBody
	if err := decodeBody(c, h.d.BodyLimit, &b); err != nil {
		return err
	}
	old, err := h.calendarOf(c, cal)
	if err != nil {
		return err
	}
	if b.Name != nil && strings.TrimSpace(*b.Name) != old.Name {
		return invalidField("name", "a calendar keeps its name (jobs name it): make a new one instead")
	}
	s, err := h.calendarFrom(c, b, old.Name)
	if err != nil {
		return err
	}
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	if err := cal.Store.Put(ctx, s, old.Revision); err != nil {
		return toAlertError(err)
	}
	return c.JSON(http.StatusOK, h.viewCalendar(s))
}

// deleteCalendar answers DELETE /api/v1/calendars/{name}: 204, or 409 while a job of
// the project names it.
func (h *handlers) deleteCalendar(c echo.Context) error {
	cal, err := h.calendaring()
	if err != nil {
		return err
	}
	s, err := h.calendarOf(c, cal)
	if err != nil {
		return err
	}
	users, err := h.jobsNaming(c, s.Tenant, s.Name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return &apiError{Status: http.StatusConflict, Code: "conflict", Field: "name",
			Message: fmt.Sprintf("jobs name this calendar (%s): take it out of them first", strings.Join(users, ", "))}
	}
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	if err := cal.Store.Delete(ctx, s.Tenant, s.Name); err != nil {
		return brokerUnavailable(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// jobsNaming returns up to ten live jobs of the tenant (their ids) whose trigger names
// calendar name: from the job view when it holds every job, else from the store.
func (h *handlers) jobsNaming(c echo.Context, tenant, name string) ([]string, error) {
	var out []string
	const page = 1000
	for skip := 0; len(out) < 10; skip += page {
		var jobs []job.Job
		var total int
		if h.d.Jobs != nil {
			if p, n, ok := h.d.Jobs.List(tenant, "", skip, page); ok {
				jobs, total = p, n
			}
		}
		if jobs == nil {
			ctx, cancel := h.storeCtx(c)
			sjs, n, err := h.d.Store.ListJobs(ctx, tenant, "", int64(skip), page)
			cancel()
			if err != nil {
				return nil, storeUnavailable(err)
			}
			for _, sj := range sjs {
				jobs = append(jobs, sj.Job)
			}
			total = int(n)
		}
		for _, j := range jobs {
			if j.Live() && slices.Contains(j.Spec.Trigger.Calendars, name) && len(out) < 10 {
				out = append(out, j.ID)
			}
		}
		if skip+page >= total {
			break
		}
	}
	return out, nil
}

// checkCalendars refuses a job naming a calendar its tenant does not have.
func (h *handlers) checkCalendars(c echo.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	cal, err := h.calendaring()
	if err != nil {
		return err
	}
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	for i, n := range names {
		if _, err := cal.Store.Get(ctx, c.Get(tenantKey).(string), n); errors.Is(err, calendar.ErrNotFound) {
			// The domain's error: each facade answers it in its own shape.
			return &job.FieldError{Field: fmt.Sprintf("calendars[%d]", i), Msg: fmt.Sprintf("the project has no calendar %q: make it first (POST /api/v1/calendars)", clip(n))}
		} else if err != nil {
			return brokerUnavailable(err)
		}
	}
	return nil
}

// next is j's next fire after a time: its calendars excluded, and for a started
// fixed-delay job counted from its last run's end (kept by the trigger) once its start's
// first fire has fired. An end that cannot be read shows no next fire.
func (h *handlers) next(c echo.Context, j job.Job) func(time.Time) (time.Time, bool) {
	exclude := h.exclude(j)
	if exclude == nil && !j.Spec.Trigger.FixedDelay {
		return j.Next // most jobs: nothing to read
	}
	if !j.Spec.Trigger.FixedDelay || j.State != job.Started || h.d.RunEnds == nil {
		return func(now time.Time) (time.Time, bool) { return j.NextExcluding(now, exclude) }
	}
	ctx, cancel := h.storeCtx(c)
	r, ok, err := h.d.RunEnds.Get(ctx, j.ID)
	cancel()
	return func(now time.Time) (time.Time, bool) {
		if at, first := j.NextExcluding(now, exclude); first || err != nil || !ok {
			return at, first
		}
		return j.NextAfterRun(r, now, exclude)
	}
}

// exclude is what j's calendars exclude, by this api's cache of them (nil: nothing).
func (h *handlers) exclude(j job.Job) func(time.Time) (time.Time, bool) {
	if h.d.Calendars == nil || h.d.Calendars.Cache == nil || len(j.Spec.Trigger.Calendars) == 0 {
		return nil
	}
	keys := make([]string, len(j.Spec.Trigger.Calendars))
	for i, n := range j.Spec.Trigger.Calendars {
		keys[i] = calendar.Key(j.Tenant, n)
	}
	return calendar.Exclude(h.d.Calendars.Cache.Get, keys)
}
