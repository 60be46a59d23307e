package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

// optInt is an integer flag that knows whether it was given.
type optInt struct{ v *int64 }

func (o *optInt) String() string {
	if o == nil || o.v == nil {
		return "unset"
	}
	return strconv.FormatInt(*o.v, 10)
}

func (o *optInt) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want a whole number, got %q", s)
	}
	o.v = &n
	return nil
}

// optBool is a boolean flag that knows whether it was given.
type optBool struct{ v *bool }

func (o *optBool) String() string {
	if o == nil || o.v == nil {
		return "unset"
	}
	return strconv.FormatBool(*o.v)
}

func (o *optBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false, got %q", s)
	}
	o.v = &b
	return nil
}

func (o *optBool) IsBoolFlag() bool { return true }

// specFlags are the flags of add and update: the SDK's arguments and the run policy.
type specFlags struct {
	fs                                         *flag.FlagSet
	pid, name, description, trigger, runDate   string
	cron, timezone                             string
	startDate, endDate                         string
	seconds, jitter                            int64
	fixedDelay                                 bool
	code, codeFile, flowID                     string
	httpURL, httpMethod, httpExpect            string
	httpBody, httpBodyFile                     string
	httpHeaders                                repeated
	coalesce                                   optBool
	misfire, maxInstances, retries, retryDelay optInt
	timeout, pauseAfter                        optInt
	onSuccess, onFailure, overlap              string
	workerGroup, route                         string
	calendars                                  repeated
	idempotencyKey                             string
}

func addSpecFlags(fs *flag.FlagSet) *specFlags {
	f := &specFlags{fs: fs}
	fs.StringVar(&f.pid, "pid", "", "the folder (目录) id")
	fs.StringVar(&f.name, "name", "", "the job's name")
	fs.StringVar(&f.description, "description", "", "what the job is for")
	fs.StringVar(&f.trigger, "trigger", "", `"interval", "date" or "cron" (default: interval with --seconds, date with --run-date, cron with --cron)`)
	fs.Int64Var(&f.seconds, "seconds", 0, "an interval job's period in whole seconds (> 0)")
	fs.StringVar(&f.runDate, "run-date", "", `a date job's instant: "2025-07-09 16:00:00" in the server's zone, or ISO-8601 "2025-07-09T08:00:00Z"`)
	fs.StringVar(&f.cron, "cron", "", `a cron job's Quartz expression, quoted: "0 30 2 ? * MON-FRI" (sec min hour day month weekday [year])`)
	fs.StringVar(&f.timezone, "timezone", "", `a cron job's IANA zone, such as America/New_York (default: the server's JOBCENTER_TZ)`)
	fs.StringVar(&f.startDate, "start-date", "", `an interval or cron job's first allowed instant, in --run-date's forms (update: "" clears it)`)
	fs.StringVar(&f.endDate, "end-date", "", `an interval or cron job's last allowed instant, in --run-date's forms: past it the job is finished (update: "" clears it)`)
	fs.Int64Var(&f.jitter, "jitter", 0, "spread each fire over up to this many seconds after its instant, 0 to 86400 (update: 0 clears it)")
	fs.BoolVar(&f.fixedDelay, "fixed-delay", false, "an interval job: count each fire from the end of its last scheduled run, not from its start (update: --fixed-delay=false clears it)")
	fs.Var(&f.calendars, "calendar", "a calendar of the project (jobctl calendars) whose excluded times are no fire: its `NAME` (repeat it, or comma-separate; update: replaces them, '' clears them)")
	fs.StringVar(&f.code, "code", "", "the Starlark (Python-like) snippet a run executes")
	fs.StringVar(&f.codeFile, "code-file", "", `read the snippet from a file ("-": standard input)`)
	fs.StringVar(&f.flowID, "flow-id", "", "hand each run to this business flow instead of running code")
	fs.StringVar(&f.httpURL, "http-url", "", "make it an HTTP job: each run calls this http or https `URL` (the center's reach allowing)")
	fs.StringVar(&f.httpMethod, "http-method", "", "an HTTP job's `METHOD` (default GET)")
	fs.Var(&f.httpHeaders, "http-header", "an HTTP job's header, `'Name: value'` (repeat it; on update the headers not named are kept, 'Name:' removes one)")
	fs.StringVar(&f.httpBody, "http-body", "", "an HTTP job's request body, at most 64 KiB (update: '' clears it)")
	fs.StringVar(&f.httpBodyFile, "http-body-file", "", `read an HTTP job's request body from a file ("-": standard input)`)
	fs.StringVar(&f.httpExpect, "http-expect", "", "the `STATUSES` that make an HTTP job's run a success, comma-separated, such as 200,204 (default, or '': any 2xx)")
	fs.Var(&f.coalesce, "coalesce", "after downtime run once for all missed fires (default true; --coalesce=false: each)")
	fs.Var(&f.misfire, "misfire-grace-time", "seconds: a fire later than this is journaled missed, not run")
	fs.Var(&f.maxInstances, "max-instances", "runs of the job at once (default 1)")
	fs.Var(&f.retries, "retries", "tries again after a failure, up to 10 (default 0)")
	fs.Var(&f.retryDelay, "retry-backoff", "seconds before the first retry, doubling each time")
	fs.Var(&f.timeout, "run-timeout", "the job's timeout: seconds each attempt may run (default 0: the center's JOBCENTER_EXEC_TIMEOUT)")
	fs.Var(&f.pauseAfter, "pause-after-failures", "stop the job after this many of its runs in a row failed (0: never)")
	fs.StringVar(&f.overlap, "overlap", "", "what a fire does while the job's run goes on: skip (default: skipped beyond --max-instances), buffer_one, cancel_other or allow_all (these three need --max-instances 1)")
	fs.StringVar(&f.workerGroup, "worker-group", "", "a flow job: hand each run to a worker of this `GROUP` of the project (jobctl workers), which runs --flow-id (update: '' serves it without workers again)")
	fs.StringVar(&f.route, "route", "", "how each fire picks its worker of --worker-group: round_robin (default), random, consistent_hash, failover, least_busy or sharding")
	fs.StringVar(&f.onSuccess, "on-success", "", `jobs (ids, comma-separated) run after a run succeeds ("": none)`)
	fs.StringVar(&f.onFailure, "on-failure", "", `jobs (ids, comma-separated) run after a run fails ("": none)`)
	fs.StringVar(&f.idempotencyKey, "idempotency-key", "", "send again with the same key and the write is applied once")
	return f
}

// idList reads a comma-separated list of job ids; "" is the empty list.
func idList(s string) *[]string {
	ids := []string{}
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return &ids
}

// set reports whether the flag was given.
func (f *specFlags) set(name string) bool {
	found := false
	f.fs.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}

// given is how many of the flags were given.
func (f *specFlags) given(names ...string) int {
	n := 0
	for _, name := range names {
		if f.set(name) {
			n++
		}
	}
	return n
}

// apply writes the given flags over spec.
func (f *specFlags) apply(a *app, spec *jobcenter.JobSpec) error {
	if f.set("code") && f.set("code-file") {
		return usagef("give --code or --code-file, not both")
	}
	if f.set("http-body") && f.set("http-body-file") {
		return usagef("give --http-body or --http-body-file, not both")
	}
	if (f.given("code", "code-file") > 0 && f.set("flow-id")) || (f.given("code", "code-file", "flow-id") > 0 && f.httpGiven()) {
		return usagef("give one target: code (--code, --code-file), --flow-id or an HTTP call (--http-url and the other --http-* flags), not several")
	}
	if f.given("seconds", "run-date", "cron") > 1 {
		return usagef("give one of --seconds (an interval job), --run-date (a date job) or --cron (a cron job), not several")
	}
	if f.set("pid") {
		spec.Pid = f.pid
	}
	if f.set("name") {
		spec.Name = f.name
	}
	if f.set("description") {
		spec.Description = f.description
	}
	// The flag of a trigger makes the job that kind, and drops the other kinds' fields.
	if f.set("seconds") {
		spec.Trigger, spec.Seconds, spec.RunDate, spec.Cron, spec.Timezone = jobcenter.TriggerInterval, f.seconds, "", "", ""
	}
	if f.set("run-date") {
		spec.Trigger, spec.Seconds, spec.RunDate, spec.Cron, spec.Timezone = jobcenter.TriggerDate, 0, f.runDate, "", ""
	}
	if f.set("cron") {
		spec.Trigger, spec.Seconds, spec.RunDate, spec.Cron = jobcenter.TriggerCron, 0, "", f.cron
	}
	if f.set("trigger") {
		spec.Trigger = f.trigger
		if spec.Trigger != jobcenter.TriggerCron {
			spec.Cron, spec.Timezone = "", "" // a cron's, which another trigger is refused
		}
	}
	if f.set("timezone") {
		// Only a cron job has a zone of its own: the server refuses it on another.
		if spec.Trigger != jobcenter.TriggerCron {
			return usagef("--timezone is a cron job's zone: give --cron too, or change a cron job")
		}
		spec.Timezone = f.timezone
	}
	// A lifetime bounds an interval or a cron job. One kept from the job read is dropped
	// when the job becomes a date job; one given with a date job is the server's to refuse.
	if spec.Trigger == jobcenter.TriggerDate {
		spec.StartDate, spec.EndDate = "", ""
	}
	if f.set("start-date") {
		spec.StartDate = f.startDate
	}
	if f.set("end-date") {
		spec.EndDate = f.endDate
	}
	if f.set("jitter") {
		spec.Jitter = f.jitter
	}
	// A fixed delay is an interval's: one kept from the job read is dropped when the job
	// becomes another kind; one given with another kind is the server's to refuse.
	if spec.Trigger != jobcenter.TriggerInterval {
		spec.FixedDelay = false
	}
	if f.set("fixed-delay") {
		spec.FixedDelay = f.fixedDelay
	}
	if f.set("calendar") {
		spec.Calendars = splitList(f.calendars)
	}
	switch {
	case f.set("code"):
		spec.Code, spec.FlowID, spec.HTTP = f.code, "", nil
	case f.set("code-file"):
		code, err := a.readFile(f.codeFile)
		if err != nil {
			return err
		}
		spec.Code, spec.FlowID, spec.HTTP = code, "", nil
	case f.set("flow-id"):
		spec.Code, spec.FlowID, spec.HTTP = "", f.flowID, nil
	case f.httpGiven():
		call, err := f.httpCall(a, spec.HTTP)
		if err != nil {
			return err
		}
		spec.Code, spec.FlowID, spec.HTTP = "", "", call
	}
	spec.Coalesce = f.coalesce.v
	spec.MisfireGraceTime, spec.MaxInstances, spec.Retries, spec.RetryBackoff = f.misfire.v, f.maxInstances.v, f.retries.v, f.retryDelay.v
	spec.Timeout, spec.PauseAfterFailures = f.timeout.v, f.pauseAfter.v
	if f.set("on-success") {
		spec.OnSuccess = idList(f.onSuccess)
	}
	if f.set("on-failure") {
		spec.OnFailure = idList(f.onFailure)
	}
	if f.set("overlap") {
		spec.Overlap = f.overlap
	}
	if f.set("worker-group") {
		group := f.workerGroup
		spec.WorkerGroup = &group
	}
	if f.set("route") {
		spec.Route = f.route
	}
	return nil
}

// httpFlags are the flags of an HTTP job's call.
var httpFlags = []string{"http-url", "http-method", "http-header", "http-body", "http-body-file", "http-expect"}

// httpGiven reports whether any flag of an HTTP job's call was given.
func (f *specFlags) httpGiven() bool { return f.given(httpFlags...) > 0 }

// httpCall is the call the flags make of cur, the job's call read on update (nil on add,
// or when the job is not an HTTP job yet): the flags given change it, the rest is kept.
// The headers read show their secrets as "***": sent back so, the server keeps what
// each stands for, so the headers not named keep working.
func (f *specFlags) httpCall(a *app, cur *jobcenter.HTTPCall) (*jobcenter.HTTPCall, error) {
	c := cloneCall(cur)
	if c == nil {
		c = &jobcenter.HTTPCall{}
	}
	if f.set("http-url") {
		c.URL = f.httpURL
	}
	if c.URL == "" {
		return nil, usagef("an HTTP job needs --http-url: the URL each run calls")
	}
	if f.set("http-method") {
		c.Method = f.httpMethod
	}
	if f.set("http-header") {
		if c.Headers == nil {
			c.Headers = map[string]string{}
		}
		for _, h := range f.httpHeaders {
			name, value, ok := strings.Cut(h, ":")
			name = strings.TrimSpace(name)
			if !ok || name == "" {
				return nil, usagef("--http-header %q: want 'Name: value', such as 'Authorization: Bearer xyz'", h)
			}
			// The server reads names in any case: one given replaces the one read.
			maps.DeleteFunc(c.Headers, func(k, _ string) bool { return strings.EqualFold(k, name) })
			if value = strings.TrimSpace(value); value != "" {
				c.Headers[name] = value
			}
		}
		if len(c.Headers) == 0 {
			c.Headers = nil
		}
	}
	if f.set("http-body") {
		c.Body = f.httpBody
	}
	if f.set("http-body-file") {
		body, err := a.readFile(f.httpBodyFile)
		if err != nil {
			return nil, err
		}
		c.Body = body
	}
	if f.set("http-expect") {
		c.ExpectStatus = nil
		for _, s := range splitList([]string{f.httpExpect}) {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, usagef("--http-expect %q: want HTTP statuses, comma-separated, such as 200,204", f.httpExpect)
			}
			c.ExpectStatus = append(c.ExpectStatus, n)
		}
	}
	return c, nil
}

// cloneCall is a copy of c that shares nothing with it.
func cloneCall(c *jobcenter.HTTPCall) *jobcenter.HTTPCall {
	if c == nil {
		return nil
	}
	out := *c
	out.Headers = maps.Clone(c.Headers)
	out.ExpectStatus = slices.Clone(c.ExpectStatus)
	return &out
}

const specHelp = `

The job's rules are the SDK's: --name, and on add --pid, are required; an
interval needs --seconds > 0 (at most ten years); a date needs --run-date later
than now and before 2100-01-01T00:00:00Z; one target: code, --flow-id or an
HTTP call (--http-url).
Beyond the SDK, a cron job needs --cron, a Quartz expression (6 or 7 fields:
second minute hour day-of-month month day-of-week [year], "?" in one day field,
at most 256 characters) that fires again after now, read in --timezone (an IANA
zone; default the server's JOBCENTER_TZ). Quote it: the shell expands * and ?.
Check one first with "jobctl cron next". An interval or cron job may have a
lifetime: no fire before --start-date, none after --end-date (each in
--run-date's forms, a local one in the server's zone even for a cron job in
another; the end later than the start and than now, and a cron job must fire
within it); past its end the job is finished. An interval still fires every
--seconds from when it is started, only those within the lifetime. --jitter N
spreads each fire over up to N seconds after its instant (the same offset for
the job and instant on every trigger; short of the next instant): preview and
NEXT RUN show the spread times. --fixed-delay makes an interval job count
each fire from the end of its last scheduled run: the first --seconds after the
start, each next one --seconds after the run before it ended (a success, a
failure, a skip or a kill); it has no NEXT RUN while that run goes on (and so
shows as stopped), and it needs --misfire-grace-time 0. --calendar NAME
makes the job respect a calendar of the project ("jobctl calendars"; up to 10):
an instant it excludes is no fire, and NEXT RUN and preview skip it (a backfill
does not). --overlap says what a fire does while the job's run goes on: skip
(the default: beyond --max-instances it is journaled skipped), buffer_one (it
waits for the run under way, then runs; a further fire meanwhile is skipped),
cancel_other (the run under way is killed and the fire runs) or allow_all
(every fire runs at once); all but skip need --max-instances 1.
--worker-group G makes a flow job one the project's workers run ("jobctl
workers"; a worker is the tenant's own process, written with the Go library
clients/go/worker): each fire goes to a worker of group G that handles
--flow-id, picked by --route: round_robin (the default: in turn), random,
consistent_hash (the same worker while the group stays the same), failover
(the first, in the order they joined, that takes it), least_busy (fewest runs
under way) or sharding (every worker runs it, each its shard; it succeeds when
every shard does). While no worker of G is online a fire waits for one (the
job's --misfire-grace-time, else the center's JOBCENTER_WORKER_WAIT).
A broken rule is refused (exit 2) with the field named (seconds, run_date,
cron, timezone, start_date, end_date, jitter, fixed_delay, calendars[i],
overlap, worker_group, route, max_instances, misfire_grace_time, …), and
nothing is stored.

An HTTP job's run calls --http-url (http or https, a host, no user:password;
a host beyond the center's JOBCENTER_HTTP_JOBS_REACH — public by default: no
loopback, private or link-local address — is refused naming http.url) with
--http-method (default GET), each --http-header 'Name: value' (at most 32;
Host, Content-Length, Transfer-Encoding, Connection, Upgrade, TE and Trailer
are the center's) and --http-body or --http-body-file (at most 64 KiB). It
succeeds when the answer's status is one of --http-expect (default any 2xx),
within --run-timeout; its journal entry reads "POST https://… → 200 OK (12ms)"
and the answer's first 4 KiB. No redirect is followed. The job shows its
header values as *** but for those that never carry a credential (Accept…,
Cache-Control, Content-Language, Content-Type, If-Match, If-None-Match,
User-Agent): a secret is written, never read back.`

func jobCommands() []*command {
	return []*command{
		{
			name: "add", summary: "add a job (stopped until started)",
			help: `Adds a job (sdk_add_job). A new job is stopped: start it to schedule it, or give
--start. Prints the job; its ID (or JOB ID) names it in the other commands.` + specHelp,
			example: `  # every 300 s, running a snippet
  jobctl add --pid d1138d88 --name SDK周期任务 --seconds 300 --code 'log_print("周期任务", "INFO")'
  # once at a date (in the server's zone, Asia/Shanghai unless configured), started at once
  jobctl add --pid d1138d88 --name SDK定时任务 --run-date "2030-07-09 16:00:00" --code-file job.star --start
  # at 02:30 New York time, Monday to Friday
  jobctl add --pid d1138d88 --name nightly-report --cron "0 30 2 ? * MON-FRI" --timezone America/New_York --code 'return 1'
  # every hour, from July 9 until the end of the year (the server's zone)
  jobctl add --pid d1138d88 --name campaign --seconds 3600 --code 'return 1' --start-date "2030-07-09 00:00:00" --end-date "2030-12-31 23:59:59"
  # at 02:00, spread over up to ten minutes; a fire while the run goes on waits for it
  jobctl add --pid d1138d88 --name sync --cron "0 0 2 * * ?" --jitter 600 --overlap buffer_one --code 'return 1'
  # ten minutes after each run ended, however long it took
  jobctl add --pid d1138d88 --name poll --seconds 600 --fixed-delay --flow-id b4972d68
  # at 09:00 each day but the holidays of calendar cn-holidays (jobctl calendars add)
  jobctl add --pid d1138d88 --name report --cron "0 0 9 * * ?" --calendar cn-holidays --code 'return 1'
  # every 15 minutes, POST to a URL with a token; 200 or 204 is a success
  jobctl add --pid d1138d88 --name ping --seconds 900 --http-method POST --http-url https://api.example.com/ping \
    --http-header 'Authorization: Bearer t0k3n' --http-header 'Content-Type: application/json' --http-body '{"a":1}' --http-expect 200,204
  # run the flow "hello" on the project's workers of group reports, in turn (jobctl workers reports)
  jobctl add --pid d1138d88 --name hello --seconds 600 --flow-id hello --worker-group reports --route round_robin
  # hand each run to a business flow; a script keeps the id
  id=$(jobctl add --pid d1138d88 --name nightly --seconds 86400 --flow-id b4972d68 --json | jq -r .id)`,
			setup: func(fs *flag.FlagSet) runFunc {
				sf := addSpecFlags(fs)
				start := fs.Bool("start", false, "start the job once added")
				return func(ctx context.Context, a *app, args []string) error {
					var spec jobcenter.JobSpec
					if err := sf.apply(a, &spec); err != nil {
						return err
					}
					if spec.Trigger == "" {
						return usagef(`say when it runs: --seconds N (every N seconds), --run-date DATE (once) or --cron "EXPR" (on a Quartz cron expression)`)
					}
					j, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Job, error) {
						j, err := c.AddJob(ctx, spec, idempotent(sf.idempotencyKey)...)
						if err != nil || !*start || j.Accepted != nil {
							return j, err // nothing to start: not asked, or not applied yet
						}
						var opts []jobcenter.CallOption
						if sf.idempotencyKey != "" {
							opts = idempotent(sf.idempotencyKey + "/start")
						}
						if j, err = c.StartJob(ctx, j.ID, opts...); err != nil {
							return nil, fmt.Errorf("added, but not started: %w", err)
						}
						return j, nil
					})
					if err != nil {
						return err
					}
					return a.printWrite(j, "added")
				}
			},
		},
		{
			name: "get", args: "ID", summary: "show a job",
			help: `Shows a job (sdk_get_job). ID is either of the job's ids: ID or JOB ID.
STATE is "started" while the job has a next run, else "stopped".`,
			example: `  jobctl get d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7
  jobctl get d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7 --json | jq -r .next_run_time`,
			setup: func(fs *flag.FlagSet) runFunc {
				return func(ctx context.Context, a *app, args []string) error {
					return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Job, error) {
						return c.GetJob(ctx, args[0])
					}, printJob)
				}
			},
		},
		{
			name: "list", summary: "list the project's jobs",
			help: `Lists the project's jobs, oldest first (sdk_get_jobs), a page at a time, or
every page with --all. --json prints the SDK's array of job infos.`,
			example: `  jobctl list
  jobctl list --pid d1138d88 --page 2 --size 50
  jobctl list --all --json | jq -r '.[] | select(.next_run_time != null) | .id'`,
			setup: func(fs *flag.FlagSet) runFunc {
				pid := fs.String("pid", "", "only the jobs of this folder")
				page := fs.Int("page", 1, "the page, from 1")
				size := fs.Int("size", 100, "jobs a page, 1–1000")
				all := fs.Bool("all", false, "every page")
				return func(ctx context.Context, a *app, args []string) error {
					if *all {
						return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) ([]jobcenter.Job, error) {
							return collect(c.AllJobs(ctx, *pid, *size))
						}, func(w io.Writer, jobs []jobcenter.Job) {
							printJobs(w, jobs)
							fmt.Fprintf(w, "%d jobs\n", len(jobs))
						})
					}
					var total int64
					return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) ([]jobcenter.Job, error) {
						l, err := c.ListJobs(ctx, jobcenter.ListOptions{Pid: *pid, Page: *page, Size: *size})
						if err != nil {
							return nil, err
						}
						total = l.Total
						if l.Jobs == nil {
							return []jobcenter.Job{}, nil // --json prints []
						}
						return l.Jobs, nil
					}, func(w io.Writer, jobs []jobcenter.Job) {
						printJobs(w, jobs)
						if len(jobs) == 0 {
							fmt.Fprintf(w, "no jobs on page %d; %d in all\n", *page, total)
							return
						}
						from := int64((*page-1)*(*size)) + 1
						fmt.Fprintf(w, "jobs %d–%d of %d\n", from, from+int64(len(jobs))-1, total)
					})
				}
			},
		},
		{
			name: "update", args: "ID", summary: "change a job's definition",
			help: `Changes a job (sdk_update_job). Only the flags given change: the rest is read
from the job first. --seconds makes it an interval job, --run-date a date job,
--cron a cron job (its zone kept, or --timezone's); --timezone alone changes a
cron job's zone. --start-date and --end-date change the lifetime, "" clears
one; a lifetime not mentioned is kept (and dropped when the job becomes a date
job). A job past its end is changed only with a later --end-date, or
--end-date ''. A jitter not mentioned is kept, --jitter 0 clears it; a fixed
delay not mentioned is kept (and dropped when the job becomes a date or cron
job), --fixed-delay=false clears it; calendars not mentioned are kept,
--calendar replaces them and --calendar '' clears them; an overlap policy not
mentioned is kept, --overlap skip restores the default. A worker group and
route not mentioned are kept; --worker-group '' serves the job without workers
again (as does making it a code or HTTP job), --route alone changes the route.
--code or --code-file replaces the target with code, --flow-id with a flow,
--http-url with an HTTP call. The other --http-* flags change an HTTP job's
call, the rest of it kept: --http-header 'Name: value' adds or replaces a
header, 'Name:' removes one, and the headers not named keep their values,
secrets too (shown ***, sent back so, the center keeps what they stand for;
a new --http-url keeps them as well: remove the ones the new host must not
get). --http-body '' clears the body, --http-expect '' the statuses. A
started job is rescheduled from now. A Quartz schedule is changed with "jobctl
quartz save" instead.` + specHelp,
			example: `  jobctl update d6f4a7fa --name 新SDK周期任务 --seconds 400
  jobctl update d6f4a7fa --run-date 2030-06-27T16:00:00.000Z --code 'print_log("定时任务", "INFO")'
  jobctl update d6f4a7fa --cron "0 0 9 ? * MON" --timezone Europe/Berlin
  jobctl update d6f4a7fa --end-date 2031-01-01T00:00:00Z
  jobctl update d6f4a7fa --end-date ''   # no end: it fires on
  jobctl update d6f4a7fa --max-instances 2 --retries 3 --retry-backoff 5
  jobctl update d6f4a7fa --jitter 30 --overlap cancel_other
  jobctl update d6f4a7fa --fixed-delay --misfire-grace-time 0   # it has no misfire grace
  jobctl update d6f4a7fa --calendar cn-holidays,quiet
  jobctl update d6f4a7fa --calendar ''   # no calendar: it fires at every instant
  jobctl update d6f4a7fa --worker-group reports --route least_busy
  jobctl update d6f4a7fa --worker-group ''   # no workers: the center serves its flow again
  jobctl update d6f4a7fa --http-header 'Authorization: Bearer n3w' --http-expect ''   # the other headers kept
  jobctl update d6f4a7fa --http-url https://api.example.com/v2/ping --http-header 'X-Old:'`,
			setup: func(fs *flag.FlagSet) runFunc {
				sf := addSpecFlags(fs)
				return func(ctx context.Context, a *app, args []string) error {
					changed := false
					fs.Visit(func(f *flag.Flag) {
						if !slices.Contains(commonFlags, f.Name) && f.Name != "idempotency-key" {
							changed = true
						}
					})
					if !changed {
						return usagef("nothing to change: give the flags to change, such as --name or --seconds")
					}
					j, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Job, error) {
						cur, err := c.GetJob(ctx, args[0])
						if err != nil {
							return nil, err
						}
						spec := specOf(cur)
						if err := sf.apply(a, &spec); err != nil {
							return nil, err
						}
						// Workers run a flow: a job made a code or HTTP job leaves its
						// group, unless the group is named (the server's to refuse).
						if cur.JobParameter.WorkerGroup != "" && spec.FlowID == "" && !sf.set("worker-group") {
							none := ""
							spec.WorkerGroup = &none
						}
						return c.UpdateJob(ctx, args[0], spec, idempotent(sf.idempotencyKey)...)
					})
					if err != nil {
						return err
					}
					return a.printWrite(j, "updated")
				}
			},
		},
		lifecycleCommand("start", "schedule a job: it fires from now on", `Starts a job (sdk_start_job): an interval job fires every period from now, a
date job at its date. Starting a date job whose date has passed is refused
(conflict, exit 2): give it a later date with update.`,
			func(c *jobcenter.Client, ctx context.Context, id string, o ...jobcenter.CallOption) (*jobcenter.Job, error) {
				return c.StartJob(ctx, id, o...)
			}),
		lifecycleCommand("stop", "stop a job's fires", `Stops a job (sdk_stop_job): no more fires until it is started again. A run under
way finishes.`,
			func(c *jobcenter.Client, ctx context.Context, id string, o ...jobcenter.CallOption) (*jobcenter.Job, error) {
				return c.StopJob(ctx, id, o...)
			}),
		execCommand(),
		{
			name: "kill", args: "ID RUN", summary: "end one run that has not ended",
			help: `Ends one run of a job that has not ended: RUN is its RUN ID in "jobctl
journal ID" (an exec's run id). A code run is cancelled, a flow's request is
abandoned and its runner told; the run is journaled failure, "killed by USER at
…" (--user), and not retried. Prints "killed", or "kill requested" when the run
had not begun (or its executor did not answer): it is journaled killed when an
executor takes it. A run that has ended is refused (conflict, exit 2).`,
			example: `  jobctl kill d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7 d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7@manual-3a18eeed…
  jobctl kill d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7 d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7@1796649262427 --json`,
			setup: func(fs *flag.FlagSet) runFunc {
				return func(ctx context.Context, a *app, args []string) error {
					k, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.KillResult, error) {
						return c.KillRun(ctx, args[0], args[1])
					})
					if err != nil {
						return err
					}
					if a.json {
						return a.printJSON(k)
					}
					fmt.Fprintf(a.stdout, "%s %s\n", strings.ReplaceAll(k.Status, "_", " "), k.TriggerID)
					return nil
				}
			},
		},
		lifecycleCommand("delete", "delete a job", `Deletes a job (sdk_delete_job) and prints it as deleted (no next run). Its fires
end; it is not found (exit 3) afterwards, though "jobctl history ID" still shows it.`,
			func(c *jobcenter.Client, ctx context.Context, id string, o ...jobcenter.CallOption) (*jobcenter.Job, error) {
				return c.DeleteJob(ctx, id, o...)
			}),
		{
			name: "journal", args: "ID", summary: "the job's runs, newest first (paged)",
			help: `Shows a job's runs, newest first: when each was due (TRIGGER TIME, UTC), how
(run type "trigger" on schedule, "manual" by exec, "chain" after another
job's run, "backfill" by "jobctl backfill"), whether it fired (TRIGGER:
success or missed), its STATUS (waiting, running, success, failure, skipped),
attempts, end, and its log or error. A page past the end is empty.
--json prints the server's page {pageIndex, pageSize, resultCount, pageCount,
data}; with --all, the array of every entry.`,
			example: `  jobctl journal d6f4a7fa
  jobctl journal d6f4a7fa --page 2 --size 50
  jobctl journal d6f4a7fa --all --json | jq '[.[] | select(.exestatus == "failure")] | length'`,
			setup: journalSetup(func(c *jobcenter.Client, ctx context.Context, id string, page, size int) (*jobcenter.JournalPage, error) {
				return c.Journal(ctx, id, page, size)
			}, (*jobcenter.Client).AllJournal, 20),
		},
		{
			name: "history", args: "ID", summary: "every change of a job, oldest first",
			help: `Shows every change of a job — created, updated, started, stopped, deleted,
finished — oldest first, with who (--user when it was made) and when, read from
the event log. A deleted job's history stays readable. --json prints each
change with the job's state after it.`,
			example: `  jobctl history d6f4a7fa`,
			setup: func(fs *flag.FlagSet) runFunc {
				return func(ctx context.Context, a *app, args []string) error {
					return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) ([]jobcenter.Change, error) {
						return c.History(ctx, args[0])
					}, printHistory)
				}
			},
		},
	}
}

// specOf is the definition a job info shows, to change on update.
func specOf(j *jobcenter.Job) jobcenter.JobSpec {
	s := jobcenter.JobSpec{Pid: j.Pid, Name: j.Name, Description: j.Description, Trigger: j.JobParameter.Trigger,
		RunDate: deref(j.JobParameter.RunDate), Cron: j.JobParameter.Cron, Timezone: j.JobParameter.Timezone,
		StartDate: deref(j.JobParameter.StartDate), EndDate: deref(j.JobParameter.EndDate),
		Code: deref(j.Code), FlowID: deref(j.FlowID), HTTP: cloneCall(j.HTTP)}
	// An HTTP job's call is sent back as read: its masked header values keep their
	// secrets, so an update that does not touch the call leaves it working.
	if j.JobParameter.Seconds != nil {
		s.Seconds = *j.JobParameter.Seconds
	}
	// The jitter, a fixed delay and the calendars are part of the trigger, which an
	// update gives whole: the job's are kept. The overlap policy, a policy field, is kept
	// by the server when not sent.
	if j.JobParameter.Jitter != nil {
		s.Jitter = *j.JobParameter.Jitter
	}
	s.FixedDelay = j.JobParameter.FixedDelay
	s.Calendars = j.JobParameter.Calendars
	return s
}

type lifecycleFunc func(c *jobcenter.Client, ctx context.Context, id string, o ...jobcenter.CallOption) (*jobcenter.Job, error)

// lifecycleCommand is start, stop, exec or delete: a write on one job.
func lifecycleCommand(name, summary, help string, do lifecycleFunc) *command {
	return &command{
		name: name, args: "ID", summary: summary, help: help + "\nID is either of the job's ids.",
		example: fmt.Sprintf("  jobctl %s d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7\n  jobctl %s d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7 --json --idempotency-key retry-safe-1", name, name),
		setup: func(fs *flag.FlagSet) runFunc {
			key := fs.String("idempotency-key", "", "send again with the same key and the write is applied once")
			return func(ctx context.Context, a *app, args []string) error {
				j, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Job, error) {
					return do(c, ctx, args[0], idempotent(*key)...)
				})
				if err != nil {
					return err
				}
				return a.printWrite(j, map[string]string{"start": "started", "stop": "stopped", "exec": "ran once now:", "delete": "deleted"}[name])
			}
		},
	}
}

// execCommand is exec: lifecycleCommand's write, with the run's parameters.
func execCommand() *command {
	cmd := lifecycleCommand("exec", "run a job once now", `Runs a job once now (sdk_exec_job), started or not, without touching its
schedule. The run is journaled with run type "manual"; its RUN ID is printed
(--json: {"fireId": …, "job": {…}}). Follow it with "jobctl journal ID".
--params gives the run parameters, a JSON object (at most 8 KiB): the job's
code reads them as params, a flow receives them in its request, and the
journal entry shows them.`, nil)
	cmd.example += "\n  jobctl exec d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7 --params '{\"day\": \"2026-12-01\"}'"
	cmd.setup = func(fs *flag.FlagSet) runFunc {
		key := fs.String("idempotency-key", "", "send again with the same key and the write is applied once")
		raw := fs.String("params", "", "the run's parameters, a JSON object such as '{\"day\": \"2026-12-01\"}'")
		return func(ctx context.Context, a *app, args []string) error {
			var params map[string]any
			if *raw != "" {
				dec := json.NewDecoder(strings.NewReader(*raw))
				dec.UseNumber() // a large integer stays what it was
				if err := dec.Decode(&params); err != nil || params == nil || dec.More() {
					return usagef("--params must be a JSON object, such as '{\"day\": \"2026-12-01\"}'")
				}
			}
			j, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Job, error) {
				return c.ExecJobWithParams(ctx, args[0], params, idempotent(*key)...)
			})
			if err != nil {
				return err
			}
			return a.printWrite(j, "ran once now:")
		}
	}
	return cmd
}

// printWrite prints a write's answer: the job, or that the write was accepted.
func (a *app) printWrite(j *jobcenter.Job, done string) error {
	if j.Accepted != nil {
		return a.printAccepted(j.Accepted)
	}
	if a.json {
		if j.FireID != "" {
			return a.printJSON(struct {
				FireID string         `json:"fireId"`
				Job    *jobcenter.Job `json:"job"`
			}{j.FireID, j})
		}
		return a.printJSON(j)
	}
	fmt.Fprintf(a.stdout, "%s %s\n", done, j.ID)
	if j.FireID != "" {
		fmt.Fprintf(a.stdout, "run id %s (jobctl journal %s)\n", j.FireID, j.ID)
	}
	printJob(a.stdout, j)
	return nil
}

// printAccepted prints that a write was stored but not applied yet (202).
func (a *app) printAccepted(acc *jobcenter.Accepted) error {
	if a.json {
		return a.printJSON(acc)
	}
	fmt.Fprintf(a.stdout, "accepted, not applied yet: the trigger is away; it applies this when it returns (job %s, command %s)\n",
		acc.ID, acc.CommandID)
	return nil
}

type pageFunc func(c *jobcenter.Client, ctx context.Context, id string, page, size int) (*jobcenter.JournalPage, error)

type allFunc func(c *jobcenter.Client, ctx context.Context, id string, size int) iter.Seq2[jobcenter.JournalEntry, error]

// journalSetup is journal and quartz journal: one page, or every page with --all.
func journalSetup(read pageFunc, all allFunc, defSize int) func(fs *flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		page := fs.Int("page", 1, "the page, from 1 (newest runs first)")
		size := fs.Int("size", defSize, "runs a page, 1–1000")
		every := fs.Bool("all", false, "every page")
		return func(ctx context.Context, a *app, args []string) error {
			if *every {
				return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) ([]jobcenter.JournalEntry, error) {
					return collect(all(c, ctx, args[0], *size))
				}, func(w io.Writer, entries []jobcenter.JournalEntry) {
					printJournal(w, entries)
					fmt.Fprintf(w, "%d runs\n", len(entries))
				})
			}
			return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.JournalPage, error) {
				return read(c, ctx, args[0], *page, *size)
			}, func(w io.Writer, p *jobcenter.JournalPage) {
				printJournal(w, p.Data)
				printPageFooter(w, p)
			})
		}
	}
}
