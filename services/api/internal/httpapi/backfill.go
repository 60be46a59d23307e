package httpapi

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/shared/job"
)

// backfillBody is the body of POST /api/v1/jobs/{id}/backfill.
type backfillBody struct {
	From        *string         `json:"from"`
	To          *string         `json:"to"`
	Concurrency json.RawMessage `json:"concurrency"`
	MaxFires    json.RawMessage `json:"max_fires"`
}

// backfilled answers a backfill: how many fires it stored, its first and last instants,
// and whether the range held more (max_fires).
type backfilled struct {
	ID          string `json:"id"`
	Fires       int    `json:"fires"`
	First       string `json:"first"`
	Last        string `json:"last"`
	Capped      bool   `json:"capped"`
	Concurrency int    `json:"concurrency"`
}

// backfill answers POST /api/v1/jobs/{id}/backfill: the job's schedule's instants over a
// past range run now, each journaled with runtype "backfill", concurrency at once. The
// range is checked here against the job as read, for a clear 400 before anything is
// stored; the trigger decides again on the job as it applies the command.
func (h *handlers) backfill(c echo.Context) error {
	sj, err := h.find(c)
	if err != nil {
		return err
	}
	var b backfillBody
	if err := decodeBody(c, h.d.BodyLimit, &b); err != nil {
		if errors.Is(err, errEmptyBody) {
			return badRequest("from", "a body is required: {\"from\": …, \"to\": …}")
		}
		return err
	}
	r := job.BackfillRange{Concurrency: 1}
	for _, f := range []struct {
		name string
		text *string
	}{{"from", b.From}, {"to", b.To}} {
		if f.text == nil || strings.TrimSpace(*f.text) == "" {
			return invalidField(f.name, "is required: run_date's forms, \"2025-07-09 16:00:00\" (in JOBCENTER_TZ) or ISO-8601")
		}
		at, err := job.ParseRunDate(*f.text, h.d.Loc)
		if err != nil {
			var fe *job.FieldError
			if errors.As(err, &fe) {
				return invalidField(f.name, "%s", fe.Msg)
			}
			return err
		}
		if f.name == "from" {
			r.From = at
		} else {
			r.To = at
		}
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *int
	}{{"concurrency", b.Concurrency, &r.Concurrency}, {"max_fires", b.MaxFires, &r.MaxFires}} {
		n, err := wholeNumber(f.name, f.raw)
		if err != nil {
			return err
		}
		if n != nil {
			if *n < math.MinInt32 || *n > math.MaxInt32 {
				return badRequest(f.name, f.name+" is far out of its bounds")
			}
			*f.dst = int(*n) // bounded by BackfillRange.Check
		}
	}
	if _, _, err := sj.Job.BackfillInstants(r, h.d.Clock.Now()); err != nil {
		return err
	}
	cmd := h.command(c, job.Backfill, sj.Job, nil)
	cmd.Backfill = &r
	a, err := h.apply(c, cmd)
	if err != nil {
		return err
	}
	if a.Backfilled == nil {
		return c.JSON(http.StatusAccepted, map[string]string{
			"id": cmd.JobID, "jobId": cmd.JobKey, "status": "accepted", "commandId": cmd.ID,
		})
	}
	d := a.Backfilled
	return c.JSON(http.StatusOK, backfilled{ID: sj.Job.ID, Fires: d.Fires, First: job.FormatLocal(d.First, h.d.Loc),
		Last: job.FormatLocal(d.Last, h.d.Loc), Capped: d.Capped, Concurrency: r.Concurrency})
}
