package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

func quartzCommands() []*command {
	return []*command{
		{
			name: "quartz save", summary: "set a behaviour's cron schedule (create or change)",
			help: `Sets the cron schedule of a business behaviour (为业务行为设置调度): one schedule
per behaviour code and tenant; saving again changes it and keeps its id. A new
schedule is enabled. When it fires, the behaviour's runner is asked to run it.
Prints the schedule's id (group_job_id), the JOBINFOID of the other quartz
commands. Check an expression first with "jobctl cron next". --calendar names
a calendar of the tenant ("jobctl calendars") whose excluded times are no fire
(Quartz's modifiedByCalendar); a save without it leaves the schedule with none.
--worker-group has the tenant's workers of that group ("jobctl workers") run
the behaviour, a handler named by its code, picked by --route; a save without
it leaves the schedule with none: the behaviour's runner is asked again.

The cron is Quartz's: 6 or 7 fields, second minute hour day-of-month month
day-of-week [year], "?" in one day field, e.g. "0 */30 8-19 ? * * *".`,
			example: `  jobctl quartz save --name 调度名称 --cron "57 24 11 ? * * *" --biz 1202494946997833818
  jobctl quartz save --name nightly --cron "0 0 2 * * ?" --biz 1085425175626911843 --tz Europe/Berlin --json
  jobctl quartz save --name 工作日 --cron "0 0 9 ? * MON-FRI" --biz 1202494946997833818 --calendar cn-holidays
  jobctl quartz save --name 日报 --cron "0 0 8 * * ?" --biz daily-report --worker-group reports --route least_busy`,
			setup: func(fs *flag.FlagSet) runFunc {
				name := fs.String("name", "", "the schedule's name (jobname)")
				cron := fs.String("cron", "", "the Quartz cron expression (cronexpression)")
				biz := fs.String("biz", "", "the behaviour code (bizcode)")
				tz := fs.String("tz", "", "the IANA zone the expression is read in (default: the server's JOBCENTER_TZ)")
				fs.StringVar(tz, "timezone", "", "--tz by the name add and update give it")
				var cals repeated
				fs.Var(&cals, "calendar", "a calendar of the tenant whose excluded times are no fire: its `NAME` (repeat it, or comma-separate)")
				group := fs.String("worker-group", "", "hand each run to a worker of this `GROUP` of the tenant (jobctl workers), which runs the behaviour")
				route := fs.String("route", "", "how each fire picks its worker of --worker-group: round_robin (default), random, consistent_hash, failover, least_busy or sharding")
				key := fs.String("idempotency-key", "", "send again with the same key and the save is applied once")
				return func(ctx context.Context, a *app, args []string) error {
					for _, f := range []struct{ flag, v string }{{"--name", *name}, {"--cron", *cron}, {"--biz", *biz}} {
						if strings.TrimSpace(f.v) == "" {
							return usagef("%s is required", f.flag)
						}
					}
					return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Saved, error) {
						s := jobcenter.Schedule{JobName: *name, CronExpression: *cron, BizCode: *biz, TimeZone: *tz, Calendars: splitList(cals),
							WorkerGroup: *group, Route: *route}
						return c.SaveSchedule(ctx, s, idempotent(*key)...)
					}, func(w io.Writer, s *jobcenter.Saved) {
						fmt.Fprintf(w, "saved schedule %s (behaviour %s, cron %q)\n", s.GroupJobID, *biz, *cron)
						if s.Accepted {
							fmt.Fprintln(w, "accepted, not applied yet: the trigger is away; it applies this when it returns")
						}
					})
				}
			},
		},
		{
			name: "quartz status", args: "BIZCODE...", anyArgs: true, summary: "the schedules of behaviour codes",
			help: `Shows the schedule of each behaviour code given (根据行为code查询调度信息): its id
(JOBINFOID), cron and status (enable or disable). Codes may be separate
arguments or comma-separated; codes with no schedule are left out.`,
			example: `  jobctl quartz status 1085425175626911843,1202494946997833818
  jobctl quartz status 1202494946997833818 --json | jq -r '.[0].jobinfoid'`,
			setup: func(fs *flag.FlagSet) runFunc {
				return func(ctx context.Context, a *app, args []string) error {
					var codes []string
					for _, arg := range args {
						for _, code := range strings.Split(arg, ",") {
							if code = strings.TrimSpace(code); code != "" {
								codes = append(codes, code)
							}
						}
					}
					if len(codes) == 0 {
						return usagef("missing BIZCODE: give one or more behaviour codes")
					}
					return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) ([]jobcenter.ScheduleStatus, error) {
						st, err := c.ScheduleStatuses(ctx, codes...)
						if st == nil && err == nil {
							st = []jobcenter.ScheduleStatus{} // --json prints []
						}
						return st, err
					}, func(w io.Writer, st []jobcenter.ScheduleStatus) {
						t := newTable(w, "JOBINFOID", "BIZCODE", "STATUS", "CRON")
						for _, s := range st {
							t.row(s.JobInfoID, s.BizCode, s.JobStatus, s.CronExpression)
						}
						t.flush()
						if len(st) < len(codes) {
							fmt.Fprintf(w, "%d of %d codes have a schedule\n", len(st), len(codes))
						}
					})
				}
			},
		},
		{
			name: "quartz journal", args: "JOBINFOID", summary: "a schedule's runs, newest first (paged)",
			help: `Shows a schedule's runs, newest first (查询调度历史, opttype quaryjournal), as
"jobctl journal" does. --json prints the server's quartz_list page; with
--all, the array of every entry.`,
			example: `  jobctl quartz journal 1133215965325168640 --page 1 --size 10
  jobctl quartz journal 1133215965325168640 --all --json`,
			setup: journalSetup(func(c *jobcenter.Client, ctx context.Context, id string, page, size int) (*jobcenter.JournalPage, error) {
				return c.ScheduleJournal(ctx, id, page, size)
			}, (*jobcenter.Client).AllScheduleJournal, 10),
		},
		scheduleOpCommand("enable", "start a schedule's fires", (*jobcenter.Client).EnableSchedule),
		scheduleOpCommand("disable", "stop a schedule's fires", (*jobcenter.Client).DisableSchedule),
		scheduleOpCommand("delete", "delete a schedule", (*jobcenter.Client).DeleteSchedule),
		scheduleOpCommand("trigger", "run a schedule's behaviour once now", (*jobcenter.Client).TriggerSchedule),
	}
}

type scheduleOpFunc func(c *jobcenter.Client, ctx context.Context, id string, o ...jobcenter.CallOption) (*jobcenter.ScheduleResult, error)

func scheduleOpCommand(op, summary string, do scheduleOpFunc) *command {
	return &command{
		name: "quartz " + op, args: "JOBINFOID", summary: summary,
		help: fmt.Sprintf(`%s%s (opttype %s). JOBINFOID is the schedule's id, as save and
status print it. --json prints the server's resp_data.`, strings.ToUpper(summary[:1]), summary[1:], op),
		example: fmt.Sprintf("  jobctl quartz %s 1133215965325168640", op),
		setup: func(fs *flag.FlagSet) runFunc {
			key := fs.String("idempotency-key", "", "send again with the same key and the change is applied once")
			return func(ctx context.Context, a *app, args []string) error {
				return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.ScheduleResult, error) {
					return do(c, ctx, args[0], idempotent(*key)...)
				}, printScheduleResult)
			}
		},
	}
}

// printScheduleResult writes what enable, disable, delete or trigger did.
func printScheduleResult(w io.Writer, r *jobcenter.ScheduleResult) {
	switch {
	case r.Accepted:
		fmt.Fprintf(w, "accepted, not applied yet: the trigger is away; it applies this when it returns (schedule %s)\n", r.JobInfoID)
	case r.Deleted:
		fmt.Fprintf(w, "deleted schedule %s\n", r.JobInfoID)
	default:
		fmt.Fprintf(w, "schedule %s: %s\n", r.JobInfoID, r.JobStatus)
	}
	if r.TriggerID != "" {
		fmt.Fprintf(w, "run id %s (jobctl quartz journal %s)\n", r.TriggerID, r.JobInfoID)
	}
}
