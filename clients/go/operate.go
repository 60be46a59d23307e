package jobcenter

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Version is one definition a job has had (Versions): numbered from 1, the create, one
// for each change of its definition (an update, a Quartz save, a rollback).
type Version struct {
	Version int `json:"version"`
	// Event is created or updated.
	Event string `json:"event"`
	// Time is when, "2025-06-15 21:30:02.123" in the server's JOBCENTER_TZ.
	Time      string  `json:"time"`
	User      *string `json:"user"`
	CommandID string  `json:"commandId,omitempty"`
	// Job is the job as that version defined it.
	Job Job `json:"job"`
}

// Versions lists every definition a job has had, newest first. All are kept.
func (c *Client) Versions(ctx context.Context, id string) ([]Version, error) {
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodGet, path: jobPath(id) + "/versions"})
	if err != nil {
		return nil, err
	}
	var out []Version
	return out, a.decode(&out)
}

// Rollback makes a job's definition version n's again, as an update: a new version. A
// started job is rescheduled from now. A version the job does not have is a 404.
func (c *Client) Rollback(ctx context.Context, id string, n int, opts ...CallOption) (*Job, error) {
	return c.write(ctx, http.MethodPost, jobPath(id)+"/versions/"+strconv.Itoa(n)+"/rollback", nil, opts)
}

// Export returns the project's jobs and Quartz schedules (only those of directory pid,
// when not empty) as one JSON document, for Import here or in another center.
func (c *Client) Export(ctx context.Context, pid string) (json.RawMessage, error) {
	q := url.Values{}
	if pid != "" {
		q.Set("pid", pid)
	}
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodGet, path: "/api/v1/export", query: q})
	if err != nil {
		return nil, err
	}
	return json.RawMessage(a.body), nil
}

// ImportStep is one entry of an import: a job (by ID) or a schedule (by BizCode), and
// for a change what changes ("definition", "started", "stopped").
type ImportStep struct {
	Kind    string   `json:"kind"`
	ID      string   `json:"id,omitempty"`
	BizCode string   `json:"bizcode,omitempty"`
	Name    string   `json:"name"`
	What    []string `json:"what,omitempty"`
}

// ImportResult says what an import created, changed and left as it was (on a dry run:
// would).
type ImportResult struct {
	DryRun bool         `json:"dry_run"`
	Create []ImportStep `json:"create"`
	Change []ImportStep `json:"change"`
	Leave  []ImportStep `json:"leave"`
}

// Import makes the project's jobs and schedules what an Export document says: jobs
// matched by id, schedules by behaviour, each created, changed or left. A bad document is
// refused whole (an *APIError naming the first problem, such as jobs[3].seconds) and
// nothing is imported; dryRun only says what would be done.
func (c *Client) Import(ctx context.Context, doc json.RawMessage, dryRun bool, opts ...CallOption) (*ImportResult, error) {
	q := url.Values{}
	if dryRun {
		q.Set("dry_run", "true")
	}
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodPost, path: "/api/v1/import", query: q, body: doc, opts: opts})
	if err != nil {
		return nil, err
	}
	var out ImportResult
	return &out, a.decode(&out)
}

// Preview is a job's next fire times (Preview): Started says whether they are counted
// from its start, or as if it were started now.
type Preview struct {
	Next    []time.Time `json:"next"`
	Started bool        `json:"started"`
}

// Preview returns the job's next count (1 to 100; 0: 10) fire times after now, by the
// scheduler's own schedule, in the job's zone.
func (c *Client) Preview(ctx context.Context, id string, count int) (*Preview, error) {
	q := url.Values{}
	if count > 0 {
		q.Set("count", strconv.Itoa(count))
	}
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodGet, path: jobPath(id) + "/preview", query: q})
	if err != nil {
		return nil, err
	}
	var out Preview
	return &out, a.decode(&out)
}

// BackfillRequest asks for a job's schedule's fires over a past range (Backfill).
type BackfillRequest struct {
	// From and To bound the range, both included, in RunDate's forms ("2025-07-09
	// 16:00:00" in the server's JOBCENTER_TZ, or ISO-8601: see FormatRunDate); To not
	// earlier than From and not later than now.
	From string `json:"from"`
	To   string `json:"to"`
	// Concurrency is how many of its fires run at once, 1 to 100; 0 is the server's 1.
	Concurrency int `json:"concurrency,omitempty"`
	// MaxFires runs only the range's first MaxFires fires (up to 10,000); 0: a range of
	// more than 10,000 is refused.
	MaxFires int `json:"max_fires,omitempty"`
}

// Backfilled is a backfill's answer: how many fires it stored, the instants of the first
// and the last (LocalTimeLayout, in the server's JOBCENTER_TZ), and whether the range held
// more (Capped, with MaxFires).
type Backfilled struct {
	ID          string `json:"id"`
	Fires       int    `json:"fires"`
	First       string `json:"first"`
	Last        string `json:"last"`
	Capped      bool   `json:"capped"`
	Concurrency int    `json:"concurrency"`

	// Accepted is set, and every field above but ID empty, when the server stored the
	// backfill but its trigger did not apply it in time (HTTP 202): it is applied, as of
	// its acceptance, when the trigger returns.
	Accepted *Accepted `json:"-"`
}

// Backfill runs now, each as if it had fired then, every instant of the job's schedule
// from b.From to b.To: a cron's, a date's, or an interval's counted from From (From,
// From + Seconds, …), within the job's lifetime, without jitter. The job may be started
// or stopped; its schedule is untouched. Each run is journaled with RunType "backfill"
// and its instant as TriggerTime, Concurrency at once, oldest first (each run's end
// releases the next fire). A range holding no instant is an *APIError naming "from";
// one reaching past now or ending before From, or holding more than 10,000 instants
// without MaxFires, names "to". Sent again with the same IdempotencyKey, it stores
// nothing more and is answered as the first time.
func (c *Client) Backfill(ctx context.Context, id string, b BackfillRequest, opts ...CallOption) (*Backfilled, error) {
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodPost, path: jobPath(id) + "/backfill", body: b, write: true, opts: opts})
	if err != nil {
		return nil, err
	}
	var out Backfilled
	if a.status == http.StatusAccepted {
		var acc Accepted
		if err := a.decode(&acc); err != nil {
			return nil, err
		}
		out.ID, out.Accepted = acc.ID, &acc
		return &out, nil
	}
	return &out, a.decode(&out)
}
