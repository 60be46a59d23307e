package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/shared/job"
)

// cronNext answers GET /api/v1/cron/next?expr=&tz=&from=&count=&calendars=: the first
// count fire times of a Quartz cron expression strictly after from, in ISO-8601 with the
// zone's offset, skipping what the project's calendars named exclude. It computes with
// the same code the schedulers use.
func (h *handlers) cronNext(c echo.Context) error {
	if strings.TrimSpace(c.QueryParam("calendars")) != "" {
		// Calendars are a project's: a request naming them is the project's (its key and
		// X-Project-Id), as every other reading of them.
		return h.guard("X-Project-Id")(h.cronNextOf)(c)
	}
	return h.cronNextOf(c)
}

func (h *handlers) cronNextOf(c echo.Context) error {
	expr := strings.TrimSpace(c.QueryParam("expr"))
	if expr == "" {
		return badRequest("expr", "expr is required: a Quartz cron expression such as 0 */30 8-19 ? * * *")
	}
	e, err := job.ParseCron(expr)
	if err != nil {
		var fe *job.FieldError
		if errors.As(err, &fe) {
			return badRequest("expr", fe.Msg)
		}
		return err
	}
	loc := h.d.Loc
	if tz := strings.TrimSpace(c.QueryParam("tz")); tz != "" {
		if loc, err = job.LoadZone(tz); err != nil {
			return badRequest("tz", "unknown time zone "+clip(tz))
		}
	}
	from := h.d.Clock.Now()
	if f := strings.TrimSpace(c.QueryParam("from")); f != "" {
		if from, err = time.Parse(time.RFC3339Nano, f); err != nil {
			return badRequest("from", "from must be ISO-8601 with an offset, such as 2025-03-09T01:00:00-05:00")
		}
	}
	count, err := queryInt(c, "count", 5, 1, 100)
	if err != nil {
		return err
	}
	var s job.Schedule
	if names := strings.TrimSpace(c.QueryParam("calendars")); names != "" {
		list := strings.Split(names, ",")
		for i := range list {
			list[i] = strings.TrimSpace(list[i])
		}
		if err := job.CheckCalendars(list); err != nil {
			return err // as a job's: at most ten, each once and well formed
		}
		if err := h.checkCalendars(c, list); err != nil {
			return err
		}
		s.Exclude = h.exclude(job.Job{Tenant: c.Get(tenantKey).(string), Spec: job.Spec{Trigger: job.Trigger{Calendars: list}}})
	}
	instant := func(t time.Time) (time.Time, bool) { return job.Forward(t)(e.Next(t, loc)) }
	next := make([]string, 0, count)
	for t := from; int64(len(next)) < count; {
		var ok bool
		if t, ok = s.Skipping(t, instant); !ok {
			break
		}
		next = append(next, t.In(loc).Format(time.RFC3339))
	}
	return c.JSON(http.StatusOK, map[string][]string{"next": next})
}

// previewTime writes an instant in whole seconds, or milliseconds when it has a fraction
// (a stopped interval counted from now): what every ISO-8601 reader takes.
func previewTime(t time.Time) string {
	if t.Nanosecond() == 0 {
		return t.Format(time.RFC3339)
	}
	return t.Format("2006-01-02T15:04:05.000Z07:00")
}

// preview answers GET /api/v1/jobs/{id}/preview: the job's next count (1 to 100, default
// 10) fire times after now, by the schedule the scheduler uses (job.Schedule, its
// lifetime, jitter and calendars applied; a fixed-delay job's first only): a started job's from its start, a stopped one's as if it
// were started now. Each is ISO-8601 with its offset, in the job's zone (a cron's own,
// else JOBCENTER_TZ).
func (h *handlers) preview(c echo.Context) error {
	sj, err := h.find(c)
	if err != nil {
		return err
	}
	count, err := queryInt(c, "count", 10, 1, 100)
	if err != nil {
		return err
	}
	j, now := sj.Job, h.d.Clock.Now()
	anchor := j.StartedAt
	if j.State != job.Started {
		anchor = now
	}
	s := j.Spec.Trigger.Compile(anchor)
	s.Exclude = h.exclude(j)
	loc := h.d.Loc
	if s.Loc != nil {
		loc = s.Loc
	}
	next := make([]string, 0, count)
	if j.Spec.Trigger.FixedDelay {
		// Only its next fire is known: each after counts from a run's end. None while
		// that run goes on.
		as := j
		if j.State != job.Started {
			as.State, as.StartedAt = job.Started, anchor
		}
		if at, ok := h.next(c, as)(now); ok && j.State != job.Finished {
			next = append(next, previewTime(at.In(loc)))
		}
	} else if j.State != job.Finished {
		for t := now; int64(len(next)) < count; {
			var ok bool
			if t, ok = s.NextFire(j.ID, t); !ok {
				break
			}
			next = append(next, previewTime(t.In(loc)))
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"next": next, "started": j.State == job.Started})
}
