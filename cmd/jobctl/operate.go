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

// operateCommands are versions, rollback, export and import.
func operateCommands() []*command {
	return []*command{
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
