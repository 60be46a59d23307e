package httpapi

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// version is one definition a job has had: what made it, when, who, and the job as it
// was then. Versions are numbered from 1 (the create), one for each change of the
// definition (an update, a Quartz save, a rollback); starts and stops are not versions.
type version struct {
	Version   int     `json:"version"`
	Event     string  `json:"event"`
	Time      string  `json:"time"`
	User      *string `json:"user"`
	CommandID string  `json:"commandId,omitempty"`
	Job       jobInfo `json:"job"`
}

// definitions are the lifecycle events that made each version of a job, oldest first.
func definitions(events []contracts.LifecycleEvent) []contracts.LifecycleEvent {
	var out []contracts.LifecycleEvent
	for _, e := range events {
		if e.Type == contracts.EventCreated || e.Type == contracts.EventUpdated {
			out = append(out, e)
		}
	}
	return out
}

// versions answers GET /api/v1/jobs/{id}/versions: every definition the job has had,
// newest first, deleted or not. All are kept: they are read from the lifecycle events,
// which are kept.
func (h *handlers) versions(c echo.Context) error {
	sj, err := h.findAny(c, c.Param("id"))
	if err != nil {
		return err
	}
	events, err := h.lifecycleOf(c, sj.Job)
	if err != nil {
		return err
	}
	defs := definitions(events)
	out := make([]version, len(defs))
	for i, e := range defs {
		out[len(defs)-1-i] = version{Version: i + 1, Event: e.Type, Time: e.At.In(h.d.Loc).Format("2006-01-02 15:04:05.000"),
			User: optional(e.User), CommandID: e.CommandID, Job: toJobInfo(wire.JobFromPayload(e.Job), e.At, h.d.Loc)}
	}
	return c.JSON(http.StatusOK, out)
}

// rollback answers POST /api/v1/jobs/{id}/versions/{version}/rollback: the job's
// definition becomes that version's again, as an update (a new version); its state is
// kept (a started job whose trigger changes is rescheduled from now, as an update's is).
func (h *handlers) rollback(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("version"))
	if err != nil || n < 1 {
		return invalidField("version", "must be a version number from 1, got %q", clip(c.Param("version")))
	}
	sj, err := h.find(c)
	if err != nil {
		return err
	}
	if sj.Job.Spec.Target.BizCode != "" {
		return errIsSchedule
	}
	events, err := h.lifecycleOf(c, sj.Job)
	if err != nil {
		return err
	}
	defs := definitions(events)
	if n > len(defs) {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Field: "version",
			Message: "the job has " + strconv.Itoa(len(defs)) + " versions, not " + strconv.Itoa(n)}
	}
	spec := wire.SpecFromPayload(defs[n-1].Job.Spec)
	if spec.Same(sj.Job.Spec) {
		// Already that definition: no new version.
		return c.JSON(http.StatusOK, toJobInfoNext(sj.Job, h.d.Clock.Now(), h.d.Loc, h.next(c, sj.Job)))
	}
	// As an update: code that no longer compiles is refused, not run.
	if err := (jobBody{Code: &spec.Target.Code}).checkCode(); err != nil {
		return err
	}
	if err := h.checkCalendars(c, spec.Trigger.Calendars); err != nil {
		return err // one the version names was deleted since
	}
	return h.send(c, h.commandAs(c, job.Update, sj.Job, &spec, "rollback", sj.Job.ID, n), http.StatusOK)
}
