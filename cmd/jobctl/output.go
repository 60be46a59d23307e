package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

// table writes aligned columns. Columns that may hold Chinese text (names, logs) go
// last: tabwriter counts a wide character as one column.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(strings.ReplaceAll(c, "\t", " "), "\n", " ")
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() { _ = t.tw.Flush() }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to n characters on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// state words whether the job is scheduled: the job info says so by next_run_time.
func state(j *jobcenter.Job) string {
	if j.Started() {
		return "started"
	}
	return "stopped"
}

// schedule words the job's trigger.
func schedule(j *jobcenter.Job) string {
	p := j.JobParameter
	switch p.Trigger {
	case jobcenter.TriggerInterval:
		if p.Seconds != nil {
			return "every " + strconv.FormatInt(*p.Seconds, 10) + "s"
		}
	case jobcenter.TriggerDate:
		return "at " + deref(p.RunDate)
	case jobcenter.TriggerCron:
		// A job's and a Quartz schedule's alike: "cron 0 30 2 ? * MON-FRI (America/New_York)".
		if p.Cron != "" {
			s := "cron " + p.Cron
			if p.Timezone != "" {
				s += " (" + p.Timezone + ")"
			}
			return s
		}
	}
	return p.Trigger
}

// lifetime words the bounds of an interval or cron job's life, "" when it has none. The
// dates are the job info's: in the server's JOBCENTER_TZ.
func lifetime(j *jobcenter.Job) string {
	p := j.JobParameter
	switch {
	case p.StartDate != nil && p.EndDate != nil:
		return "from " + *p.StartDate + " until " + *p.EndDate
	case p.StartDate != nil:
		return "from " + *p.StartDate
	case p.EndDate != nil:
		return "until " + *p.EndDate
	}
	return ""
}

// jitter words how far each fire is spread after its instant, "" when it is not.
func jitter(j *jobcenter.Job) string {
	if n := j.JobParameter.Jitter; n != nil && *n > 0 {
		return fmt.Sprintf("up to %ds after each instant", *n)
	}
	return ""
}

// fixedDelay words when a fixed-delay job's fires come, "" for any other job.
func fixedDelay(j *jobcenter.Job) string {
	if p := j.JobParameter; p.FixedDelay && p.Seconds != nil {
		return fmt.Sprintf("each fire %ds after the last run ended", *p.Seconds)
	}
	return ""
}

// target words what a run executes.
func target(j *jobcenter.Job) string {
	switch {
	case j.HTTP != nil:
		method := j.HTTP.Method
		if method == "" {
			method = "GET"
		}
		return "http " + method + " " + j.HTTP.URL
	case j.FlowID != nil:
		return "flow " + *j.FlowID
	case j.Code != nil:
		return "code: " + clip(*j.Code, 60)
	}
	return "-"
}

// expects words the statuses that make an HTTP job's run a success.
func expects(c *jobcenter.HTTPCall) string {
	if len(c.ExpectStatus) == 0 {
		return "any 2xx"
	}
	s := make([]string, len(c.ExpectStatus))
	for i, n := range c.ExpectStatus {
		s[i] = strconv.Itoa(n)
	}
	return "status " + strings.Join(s, " or ")
}

// policy words the run policy where it is not the default.
func policy(j *jobcenter.Job) string {
	p := j.JobParameter
	var out []string
	if !p.Coalesce {
		out = append(out, "no coalesce")
	}
	if p.MisfireGraceTime != nil {
		out = append(out, fmt.Sprintf("misfire grace %ds", *p.MisfireGraceTime))
	}
	if p.MaxInstances != nil {
		out = append(out, fmt.Sprintf("max %d at once", *p.MaxInstances))
	}
	if p.Retries != nil {
		out = append(out, fmt.Sprintf("%d retries", *p.Retries))
	}
	if p.RetryBackoff != nil {
		out = append(out, fmt.Sprintf("backoff %ds", *p.RetryBackoff))
	}
	if p.PauseAfterFailures != nil {
		out = append(out, fmt.Sprintf("pauses itself after %d failures in a row", *p.PauseAfterFailures))
	}
	if len(p.OnSuccess) > 0 {
		out = append(out, "on success run "+strings.Join(p.OnSuccess, " "))
	}
	if len(p.OnFailure) > 0 {
		out = append(out, "on failure run "+strings.Join(p.OnFailure, " "))
	}
	if p.Overlap != "" {
		o := "overlap " + p.Overlap
		if w, ok := overlapWords[p.Overlap]; ok {
			o += " (" + w + ")"
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return "default (coalesce, 1 at once, no retries)"
	}
	return strings.Join(out, ", ")
}

// overlapWords say what a fire does under each overlap policy the job info shows (skip,
// the default, is not shown).
var overlapWords = map[string]string{
	jobcenter.OverlapBufferOne:   "a fire waits for the run under way",
	jobcenter.OverlapCancelOther: "a fire kills the run under way",
	jobcenter.OverlapAllowAll:    "every fire runs at once",
}

// routeWords say how each route picks the worker of a fire.
var routeWords = map[string]string{
	jobcenter.RouteRoundRobin:     "its workers in turn",
	jobcenter.RouteRandom:         "any of its workers",
	jobcenter.RouteConsistentHash: "the same worker while the group stays the same",
	jobcenter.RouteFailover:       "the first worker, in the order they joined, that takes it",
	jobcenter.RouteLeastBusy:      "the worker with the fewest runs under way",
	jobcenter.RouteSharding:       "every worker, each its shard",
}

// printJob writes one job as a two-column table.
func printJob(w io.Writer, j *jobcenter.Job) {
	t := newTable(w)
	by := func(at string, user *string) string {
		if user != nil {
			return at + " by " + *user
		}
		return at
	}
	next := "-"
	if j.NextRunTime != nil {
		next = *j.NextRunTime
	}
	t.row("ID", j.ID)
	t.row("JOB ID", j.JobID)
	t.row("STATE", state(j))
	t.row("NEXT RUN", next)
	t.row("TRIGGER", schedule(j))
	if l := lifetime(j); l != "" {
		t.row("LIFETIME", l)
	}
	if s := jitter(j); s != "" {
		t.row("JITTER", s)
	}
	if s := fixedDelay(j); s != "" {
		t.row("FIXED DELAY", s)
	}
	if cals := j.JobParameter.Calendars; len(cals) > 0 {
		t.row("CALENDARS", "no fire at the times "+strings.Join(cals, ", ")+" exclude")
	}
	t.row("TARGET", target(j))
	if p := j.JobParameter; p.WorkerGroup != "" {
		t.row("WORKER GROUP", p.WorkerGroup)
		route := p.Route
		if w, ok := routeWords[route]; ok {
			route += " (" + w + ")"
		}
		t.row("ROUTE", route)
	}
	if c := j.HTTP; c != nil {
		// An HTTP job's call: its header values as the job shows them, secrets masked.
		if len(c.Headers) > 0 {
			names := slices.Sorted(maps.Keys(c.Headers))
			for i, n := range names {
				names[i] = n + ": " + c.Headers[n]
			}
			t.row("HEADERS", clip(strings.Join(names, "; "), 120))
		}
		if c.Body != "" {
			t.row("BODY", clip(c.Body, 60))
		}
		t.row("EXPECTS", expects(c))
	}
	t.row("POLICY", policy(j))
	t.row("PID", orDash(j.Pid))
	t.row("CREATED", by(j.CreateTime, j.CreateUser))
	t.row("UPDATED", by(j.UpdateTime, j.UpdateUser))
	t.row("NAME", j.Name)
	t.row("DESCRIPTION", orDash(j.Description))
	t.flush()
}

// printJobs writes jobs as a table, one a row.
func printJobs(w io.Writer, jobs []jobcenter.Job) {
	t := newTable(w, "ID", "STATE", "TRIGGER", "NEXT RUN", "NAME")
	for i := range jobs {
		j := &jobs[i]
		t.row(j.ID, state(j), schedule(j), orDash(deref(j.NextRunTime)), j.Name)
	}
	t.flush()
}

// printJournal writes runs as a table, newest first.
func printJournal(w io.Writer, entries []jobcenter.JournalEntry) {
	t := newTable(w, "TRIGGER TIME", "RUN TYPE", "TRIGGER", "STATUS", "ATTEMPTS", "ENDED", "RUN ID", "DETAIL")
	for _, e := range entries {
		ended := "-"
		if e.Finished() && e.UpdateTime != nil {
			ended = *e.UpdateTime
		}
		detail := e.ExeDes
		if len(e.Params) > 0 {
			detail = "params " + string(e.Params) + " " + detail
		}
		if e.Parent != nil {
			detail = "after " + e.Parent.TriggerID + " " + detail
		}
		t.row(e.TriggerTime, e.RunType, e.TriggerStatus, e.ExeStatus, strconv.Itoa(e.ExeTotalTime), ended, e.TriggerID, orDash(clip(detail, 80)))
	}
	t.flush()
}

// printHistory writes a job's changes as a table, oldest first.
func printHistory(w io.Writer, changes []jobcenter.Change) {
	t := newTable(w, "TIME", "EVENT", "USER", "STATE", "TRIGGER", "NAME")
	for _, ch := range changes {
		event := ch.Event
		if ch.Reason != "" {
			event += " (" + ch.Reason + ")"
		}
		t.row(ch.Time, event, orDash(deref(ch.User)), state(&ch.Job), schedule(&ch.Job), ch.Job.Name)
	}
	t.flush()
}

// printPageFooter says where the page is among all.
func printPageFooter(w io.Writer, p *jobcenter.JournalPage) {
	runs := "runs"
	if p.ResultCount == 1 {
		runs = "run"
	}
	fmt.Fprintf(w, "page %d of %d, %d %s in all", p.PageIndex, p.PageCount, p.ResultCount, runs)
	if p.PageIndex < p.PageCount {
		fmt.Fprintf(w, " (next: --page %d)", p.PageIndex+1)
	}
	fmt.Fprintln(w)
}
