package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// Killer carries a kill to the executors (kills.Asker): it stores the kill (a run killed
// before keeps its first, which it returns), then waits up to wait for the executor
// running the run to end it (0: tells them, without waiting); a nil reply is no
// executor's answer.
type Killer interface {
	Ask(ctx context.Context, k contracts.Kill, wait time.Duration) (contracts.Kill, *contracts.KillReply, error)
}

// KillWait is how long a kill of a run under way waits for its executor to end it and
// store its end: a code run stops within a tenth of a second, a flow's request is
// abandoned at once.
const KillWait = 5 * time.Second

// killAnswer answers a kill: the run, "killed" (200) or "kill_requested" (202: the run
// had not begun, or its executor did not answer; it is journaled killed when an executor
// takes its fire), and who killed it when.
type killAnswer struct {
	TriggerID string   `json:"triggerid"`
	Status    string   `json:"status"`
	Killed    killedBy `json:"killed"`
}

// killRun answers POST /api/v1/jobs/{id}/runs/{run}/kill: it ends one run of the job
// that has not ended. The run is named by its journal entry's triggerid.
func (h *handlers) killRun(c echo.Context) error {
	// A deleted job's run may still be under way.
	sj, err := h.findAny(c, c.Param("id"))
	if err != nil {
		return err
	}
	if h.d.Killer == nil {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "kills are not available on this api"}
	}
	// A fire id holds '@', which a client may send escaped.
	run, err := url.PathUnescape(c.Param("run"))
	if err != nil {
		return invalidField("run", "is not a valid path segment: %v", err)
	}
	e, err := h.findRun(c, sj, run)
	if err != nil {
		return err
	}
	if err := endedConflict(e); err != nil {
		return err
	}
	now := h.d.Clock.Now().UTC()
	user := c.Request().Header.Get("X-User-Id")
	k := contracts.Kill{Tenant: sj.Job.Tenant, JobID: sj.Job.ID, FireID: run, Killed: contracts.Killed{By: user, At: now}}
	wait := KillWait
	if e.Run == nil {
		wait = 0 // not begun: no executor holds it; the one that takes it finds the kill
	}
	k, rep, err := h.d.Killer.Ask(c.Request().Context(), k, wait)
	if err != nil {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the kill could not be sent: " + err.Error()}
	}
	at := k.At.UTC()
	answer := killAnswer{TriggerID: run, Status: "kill_requested", Killed: killedBy{By: optional(k.By), At: *journalTime(&at)}}
	switch {
	case rep != nil && rep.Killed:
		answer.Status = "killed"
		return c.JSON(http.StatusOK, answer)
	case rep != nil:
		return &apiError{Status: http.StatusConflict, Code: "conflict", Field: "run",
			Message: "the run ended (" + rep.Status + ") before the kill reached it"}
	case wait > 0:
		// No executor answered: the run may have ended meanwhile (the journal lags its
		// end by moments), or its executor is gone or out of reach.
		if e, err := h.findRun(c, sj, run); err == nil {
			if e.Run != nil && e.Run.KilledAt != nil {
				// Ended by the kill (an executor that read it from the bucket first).
				answer.Status = "killed"
				return c.JSON(http.StatusOK, answer)
			}
			if err := endedConflict(e); err != nil {
				return err
			}
		}
	}
	return c.JSON(http.StatusAccepted, answer)
}

// endedConflict is the 409 of a run that has ended, nil for one that has not.
func endedConflict(e mongostore.Entry) error {
	switch st := e.Status(); {
	case st == contracts.RunWaiting, st == contracts.RunRunning:
		return nil
	case e.Run != nil && e.Run.KilledAt != nil:
		return &apiError{Status: http.StatusConflict, Code: "conflict", Field: "run", Message: "the run has ended: it was killed"}
	default:
		return &apiError{Status: http.StatusConflict, Code: "conflict", Field: "run", Message: "the run has ended: " + st}
	}
}

// A kill looks for its run among the job's KillLooksAt newest runs, killPageSize at a
// time: a run that has not ended is among the newest, and a kill must not read a long
// journal whole. A run not found there is not one a kill can end.
const (
	KillLooksAt  = 300
	killPageSize = 100
)

// killJournalLag is how long a kill waits for a run it does not find among the newest
// to appear: the journal is written a moment after a fire is stored (an exec's answer).
var killJournalLag = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

// findRun reads the journal entry of one run of the job, by its triggerid.
func (h *handlers) findRun(c echo.Context, sj mongostore.StoredJob, run string) (mongostore.Entry, error) {
	notFound := &apiError{Status: http.StatusNotFound, Code: "not_found", Field: "run",
		Message: fmt.Sprintf("no run of this job has this id among its %d newest runs (only those can be under way)", KillLooksAt)}
	if !strings.HasPrefix(run, sj.Job.ID+"@") {
		return mongostore.Entry{}, notFound // a fire id begins with its job's id
	}
	for try := 0; ; try++ {
		e, found, err := h.newestRun(c, sj, run, KillLooksAt/killPageSize)
		if err != nil || found {
			return e, err
		}
		if try == len(killJournalLag) {
			return mongostore.Entry{}, notFound
		}
		select {
		case <-c.Request().Context().Done():
			return mongostore.Entry{}, notFound
		case <-time.After(killJournalLag[try]):
		}
	}
}

// newestRun looks for a run in the job's pages newest pages of its journal.
func (h *handlers) newestRun(c echo.Context, sj mongostore.StoredJob, run string, pages int64) (mongostore.Entry, bool, error) {
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	for page := int64(1); page <= pages; page++ {
		p, err := h.d.Store.JournalPage(ctx, sj.Job.ID, sj.Progress.Seq, h.d.JournalKeep, page, killPageSize)
		if err != nil {
			return mongostore.Entry{}, false, storeUnavailable(err)
		}
		for _, e := range p.Entries {
			if e.Fire.TriggerID == run {
				return e, true, nil
			}
		}
		if page >= p.Pages {
			break
		}
	}
	return mongostore.Entry{}, false, nil
}
