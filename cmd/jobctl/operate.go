package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

// operateCommands are backfill, versions, rollback, export and import.
func operateCommands() []*command {
	return []*command{
		{
			name: "backfill", args: "ID", summary: "run a job's fires of a past range now",
			help: `Runs now, each as if it had fired then, every instant of the job's schedule
from --from to --to, both included: a cron job's instants, a date job's date,
an interval job's counted from --from (--from, --from + seconds, …), within the
job's lifetime, without jitter. Both are in --run-date's forms ("2025-07-09
16:00:00" in the server's zone, or ISO-8601), --to not later than now. The job
may be started or stopped; its schedule is untouched. Each run is journaled
with run type "backfill" at its instant, --concurrency of them at once, oldest
first; they wait for a free run of the job too (its --max-instances, unless
its overlap policy is allow_all), and count for --pause-after-failures and its
chains as any run does. A range holding more than 10,000 instants is refused
unless --max-fires runs only its first ones; a range holding none, or reaching
past now, is refused (exit 2) naming from or to. Prints how many fires were
stored and their first and last instants (--json: the server's {"id", "fires",
"first", "last", "capped", "concurrency"}); follow the runs with "jobctl
journal ID". Sent again with the same --idempotency-key, it stores nothing
more. ID is either of the job's ids.`,
			example: `  # a day of an hourly job, four runs at once
  jobctl backfill d6f4a7fa --from "2026-12-01 00:00:00" --to "2026-12-01 23:59:59" --concurrency 4
  # only the first 100 instants of a wider range, safe to send again
  jobctl backfill d6f4a7fa --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z --max-fires 100 --idempotency-key bf-november`,
			setup: func(fs *flag.FlagSet) runFunc {
				from := fs.String("from", "", `the range's first instant, in --run-date's forms: "2026-12-01 00:00:00" in the server's zone, or ISO-8601`)
				to := fs.String("to", "", "the range's last instant, in the same forms, not later than now")
				concurrency := fs.Int("concurrency", 1, "runs of the range at once, 1–100")
				maxFires := fs.Int("max-fires", 0, "run only the range's first this many fires, up to 10,000 (0: a range of more is refused)")
				key := fs.String("idempotency-key", "", "send again with the same key and the backfill is applied once")
				return func(ctx context.Context, a *app, args []string) error {
					if *from == "" || *to == "" {
						return usagef(`give the range: --from and --to, such as --from "2026-12-01 00:00:00" --to "2026-12-01 23:59:59"`)
					}
					// The client reads 0 as the server's default: refuse it here. The server
					// bounds the rest.
					if *concurrency < 1 {
						return usagef("--concurrency must be 1 to 100, got %d", *concurrency)
					}
					b, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Backfilled, error) {
						r := jobcenter.BackfillRequest{From: *from, To: *to, Concurrency: *concurrency, MaxFires: *maxFires}
						return c.Backfill(ctx, args[0], r, idempotent(*key)...)
					})
					if err != nil {
						return err
					}
					return a.printBackfilled(b)
				}
			},
		},
		{
			name: "versions", args: "ID", summary: "every definition a job has had, newest first",
			help: `Lists every definition a job has had, newest first: version 1 is the create,
each update, Quartz save or rollback the next (starts and stops are not
versions). All are kept. --json prints each with the job as it defined it.`,
			example: `  jobctl versions d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7`,
			setup: func(fs *flag.FlagSet) runFunc {
				return func(ctx context.Context, a *app, args []string) error {
					return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) ([]jobcenter.Version, error) {
						return c.Versions(ctx, args[0])
					}, printVersions)
				}
			},
		},
		{
			name: "rollback", args: "ID VERSION", summary: "make a job's definition a version's again",
			help: `Makes a job's definition what version VERSION ("jobctl versions ID") said,
as an update: itself a new version. A started job stays started and is
rescheduled from now. A version the job does not have is not found (exit 3).`,
			example: `  jobctl rollback d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7 2`,
			setup: func(fs *flag.FlagSet) runFunc {
				key := fs.String("idempotency-key", "", "send again with the same key and the write is applied once")
				return func(ctx context.Context, a *app, args []string) error {
					n, err := strconv.Atoi(args[1])
					if err != nil || n < 1 {
						return usagef("VERSION must be a version number from 1, got %q", args[1])
					}
					j, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Job, error) {
						return c.Rollback(ctx, args[0], n, idempotent(*key)...)
					})
					if err != nil {
						return err
					}
					return a.printWrite(j, fmt.Sprintf("rolled back to version %d:", n))
				}
			},
		},
		{
			name: "export", summary: "the project's jobs and schedules as one JSON document",
			help: `Prints the project's jobs (a finished date job is left out) and Quartz
schedules as one JSON document, for "jobctl import" here or in another center.`,
			example: `  jobctl export > jobs.json
  jobctl export --pid d1138d88-49ec-11f0-b168-c6ee2c8e08e7 > one-directory.json`,
			setup: func(fs *flag.FlagSet) runFunc {
				pid := fs.String("pid", "", "only the jobs of this directory")
				return func(ctx context.Context, a *app, args []string) error {
					doc, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (json.RawMessage, error) {
						return c.Export(ctx, *pid)
					})
					if err != nil {
						return err
					}
					var v any
					if err := json.Unmarshal(doc, &v); err != nil {
						return err
					}
					return a.printJSON(v)
				}
			},
		},
		{
			name: "import", args: "FILE", summary: "make the project's jobs what an export says",
			help: `Makes the project's jobs and schedules what an export document (FILE, or -
for stdin) says: jobs matched by id, schedules by behaviour, each created,
changed or left as it is. The whole document is checked first: a problem is
refused (exit 2) naming it, such as jobs[3].seconds, and nothing is imported.
--dry-run only says what would be done. The same document imported twice
changes nothing the second time.`,
			example: `  jobctl import jobs.json --dry-run
  jobctl import jobs.json
  jobctl export | jobctl import - --url http://other-center:8001`,
			setup: func(fs *flag.FlagSet) runFunc {
				dry := fs.Bool("dry-run", false, "only say what would be created, changed and left")
				return func(ctx context.Context, a *app, args []string) error {
					doc, err := a.readFile(args[0])
					if err != nil {
						return err
					}
					if !json.Valid([]byte(doc)) {
						return usagef("%s is not JSON", args[0])
					}
					return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.ImportResult, error) {
						return c.Import(ctx, json.RawMessage(doc), *dry)
					}, printImport)
				}
			},
		},
	}
}

// printBackfilled prints a backfill's answer: the fires stored, or that it was accepted.
func (a *app) printBackfilled(b *jobcenter.Backfilled) error {
	if b.Accepted != nil {
		return a.printAccepted(b.Accepted)
	}
	if a.json {
		return a.printJSON(b)
	}
	fmt.Fprintf(a.stdout, "backfilled %s: its runs follow (jobctl journal %s)\n", b.ID, b.ID)
	capped := "no"
	if b.Capped {
		capped = "yes: the range holds more instants than --max-fires"
	}
	t := newTable(a.stdout)
	t.row("FIRES", strconv.Itoa(b.Fires))
	t.row("FIRST", b.First)
	t.row("LAST", b.Last)
	t.row("CONCURRENCY", strconv.Itoa(b.Concurrency))
	t.row("CAPPED", capped)
	t.flush()
	return nil
}

// printVersions writes a job's versions as a table, newest first.
func printVersions(w io.Writer, vs []jobcenter.Version) {
	t := newTable(w, "VERSION", "TIME", "EVENT", "USER", "TRIGGER", "NAME", "TARGET")
	for _, v := range vs {
		t.row(strconv.Itoa(v.Version), v.Time, v.Event, orDash(deref(v.User)), schedule(&v.Job), v.Job.Name, target(&v.Job))
	}
	t.flush()
}

// printImport writes what an import did (or would do), one line an entry.
func printImport(w io.Writer, r *jobcenter.ImportResult) {
	t := newTable(w, "ACTION", "KIND", "ID / BIZCODE", "NAME", "WHAT")
	for _, g := range []struct {
		action string
		steps  []jobcenter.ImportStep
	}{{"create", r.Create}, {"change", r.Change}, {"leave", r.Leave}} {
		for _, s := range g.steps {
			ref := s.ID
			if s.Kind == "schedule" {
				ref = s.BizCode
			}
			t.row(g.action, s.Kind, ref, s.Name, orDash(strings.Join(s.What, ",")))
		}
	}
	t.flush()
	verb := "imported"
	if r.DryRun {
		verb = "dry run: would import"
	}
	fmt.Fprintf(w, "%s: %d created, %d changed, %d left as they were\n", verb, len(r.Create), len(r.Change), len(r.Leave))
}
