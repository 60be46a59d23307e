package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

func cronNextCommand() *command {
	return &command{
		name: "cron next", args: "EXPRESSION", anyArgs: true, summary: "preview a Quartz cron expression's next times",
		help: `Prints the next times a Quartz cron expression fires, computed by the server
with the code its schedulers use — what to check before "jobctl quartz save".
Quote the expression (the shell expands * and ?); several arguments are joined
with spaces. Times are ISO-8601 with the zone's offset. An invalid expression
is refused with the reason (exit 2). Needs no project and no key.

The cron is Quartz's: 6 or 7 fields — second minute hour day-of-month month
day-of-week [year]; "?" in exactly one day field; ranges, lists, steps (0/15),
names (MON, JAN), day-of-week 1–7 with 1 = Sunday, L, W, #.`,
		example: `  jobctl cron next "0 */30 8-19 ? * * *"
  jobctl cron next "0 30 2 * * ?" --tz America/New_York --from 2025-03-08T00:00:00-05:00 --count 3
  jobctl cron next "0 0 12 ? * MON-FRI" --json | jq -r '.next[0]'`,
		setup: func(fs *flag.FlagSet) runFunc {
			tz := fs.String("tz", "", "the IANA zone the expression is read in (default: the server's JOBCENTER_TZ)")
			fs.StringVar(tz, "timezone", "", "--tz by the name add and update give it")
			from := fs.String("from", "", "ISO-8601 instant with an offset the times follow (default: now)")
			count := fs.Int("count", 5, "how many times, 1–100")
			return func(ctx context.Context, a *app, args []string) error {
				expr := strings.TrimSpace(strings.Join(args, " "))
				if expr == "" {
					return usagef(`missing EXPRESSION: a Quartz cron expression such as "0 */30 8-19 ? * * *"`)
				}
				q := jobcenter.CronQuery{Expr: expr, TZ: *tz, Count: *count}
				if *from != "" {
					t, err := time.Parse(time.RFC3339Nano, *from)
					if err != nil {
						return usagef("--from must be ISO-8601 with an offset, such as 2025-03-09T01:00:00-05:00")
					}
					q.From = t
				}
				c, err := a.client()
				if err != nil {
					return err
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				next, err := c.CronNext(ctx, q)
				if err != nil {
					return err
				}
				out := make([]string, len(next))
				for i, t := range next {
					out[i] = t.Format(time.RFC3339)
				}
				if a.json {
					return a.printJSON(map[string][]string{"next": out})
				}
				for _, s := range out {
					fmt.Fprintln(a.stdout, s)
				}
				if len(out) < *count {
					fmt.Fprintf(a.stdout, "(no more: the expression ends after %d)\n", len(out))
				}
				return nil
			}
		},
	}
}

// previewCommand is preview: a job's next fire times, as the server's scheduler computes
// them (GET /api/v1/jobs/{id}/preview).
func previewCommand() *command {
	return &command{
		name: "preview", args: "ID", summary: "the next times a job fires",
		help: `Prints the next times a job fires after now, one a line, computed by the
server from the schedule its scheduler uses: a started job's from its start, a
stopped job's as if it were started now (said below the times); a finished
job has none. Times are ISO-8601 with the offset of the job's zone (a cron
job's --timezone, else the server's JOBCENTER_TZ). ID is either of the job's
ids. --json prints the server's {"next": [...], "started": bool}.`,
		example: `  jobctl preview d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7
  jobctl preview d6f4a7fa --count 3
  jobctl preview d6f4a7fa --count 1 --json | jq -r '.next[0]'`,
		setup: func(fs *flag.FlagSet) runFunc {
			count := fs.Int("count", 10, "how many times, 1–100")
			return func(ctx context.Context, a *app, args []string) error {
				// The client reads 0 as the server's default: refuse it here. The server
				// bounds the rest.
				if *count < 1 {
					return usagef("--count must be 1 to 100, got %d", *count)
				}
				return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Preview, error) {
					return c.Preview(ctx, args[0], *count)
				}, func(w io.Writer, p *jobcenter.Preview) {
					for _, t := range p.Next {
						fmt.Fprintln(w, t.Format(time.RFC3339Nano))
					}
					switch {
					case len(p.Next) == 0:
						fmt.Fprintln(w, "(none: the job does not fire again)")
					case len(p.Next) < *count:
						fmt.Fprintf(w, "(no more: it fires %d more times)\n", len(p.Next))
					}
					if !p.Started {
						fmt.Fprintln(w, `(stopped: the times it would fire at if started now; "jobctl start ID")`)
					}
				})
			}
		},
	}
}
