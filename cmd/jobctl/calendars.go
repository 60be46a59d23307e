package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

// calendarFlags are the flags of calendars add and calendars update.
type calendarFlags struct {
	fs                                *flag.FlagSet
	file, name, description, timezone string
	cron                              string
	dates, weekly, ranges             repeated
}

func addCalendarFlags(fs *flag.FlagSet, withName bool) *calendarFlags {
	f := &calendarFlags{fs: fs}
	fs.StringVar(&f.file, "file", "", "start from the JSON calendar body in `FILE` (\"-\": standard input), as the API takes it; the other flags change it")
	if withName {
		fs.StringVar(&f.name, "name", "", "the calendar's name, which jobs name it by: 1 to 64 letters, digits, '_', '.' or '-'")
	}
	fs.StringVar(&f.description, "description", "", "what the calendar is for")
	fs.StringVar(&f.timezone, "timezone", "", "the IANA zone its dates, windows and ranges are read in (default: the server's JOBCENTER_TZ)")
	fs.Var(&f.dates, "date", "a whole `DAY` excluded, 2026-10-01 (repeat it, or comma-separate; update: '' clears them)")
	fs.Var(&f.weekly, "weekly", "a `WINDOW` excluded every week, 'SAT 00:00-MON 00:00' by the wall clock (repeat it, or comma-separate; update: '' clears them)")
	fs.Var(&f.ranges, "range", "a span excluded once, `FROM/TO` in --run-date's forms: '2026-12-24 22:00:00/2026-12-25 06:00:00' (repeat it; update: '' clears them)")
	fs.StringVar(&f.cron, "cron", "", `a Quartz expression whose every matching second is excluded, quoted: "* * 2-3 ? * *" (update: "" clears it)`)
	return f
}

func (f *calendarFlags) set(name string) bool { return given(f.fs, name) }

// changes reports whether any of the calendar's flags was given.
func (f *calendarFlags) changes() bool {
	changed := false
	f.fs.Visit(func(fl *flag.Flag) { changed = changed || !slices.Contains(commonFlags, fl.Name) })
	return changed
}

// readFile reads --file: a calendar body as the API takes it. An unknown field is
// refused here: it would be dropped on the way to the server, unheard of.
func (f *calendarFlags) readFile(a *app) (*jobcenter.CalendarSpec, error) {
	doc, err := a.readFile(f.file)
	if err != nil {
		return nil, err
	}
	var spec jobcenter.CalendarSpec
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil || dec.More() {
		if err == nil {
			err = fmt.Errorf("more than one JSON value")
		}
		return nil, usagef(`--file %s is not a calendar body such as {"name": "holidays", "dates": ["2026-10-01"]}: %v`, f.file, err)
	}
	return &spec, nil
}

// apply writes the flags given over spec. Each list given replaces the one spec has.
func (f *calendarFlags) apply(spec *jobcenter.CalendarSpec) error {
	if f.set("name") {
		spec.Name = f.name
	}
	if f.set("description") {
		spec.Description = f.description
	}
	if f.set("timezone") {
		spec.Timezone = f.timezone
	}
	if f.set("date") {
		spec.Dates = splitList(f.dates)
	}
	if f.set("weekly") {
		spec.Weekly = []jobcenter.CalendarWindow{}
		for _, w := range splitList(f.weekly) {
			// Days and times hold no '-': the one there is splits the window.
			from, to, ok := strings.Cut(w, "-")
			if !ok || strings.Contains(to, "-") {
				return usagef("--weekly %q: want 'FROM-TO', such as 'SAT 00:00-MON 00:00'", w)
			}
			spec.Weekly = append(spec.Weekly, jobcenter.CalendarWindow{From: strings.TrimSpace(from), To: strings.TrimSpace(to)})
		}
	}
	if f.set("range") {
		// Not comma-separated: the API reads a date's own forms, which it may one day
		// write with a comma.
		spec.Ranges = []jobcenter.CalendarRange{}
		for _, r := range f.ranges {
			if strings.TrimSpace(r) == "" {
				continue
			}
			from, to, ok := strings.Cut(r, "/")
			if !ok || strings.Contains(to, "/") {
				return usagef("--range %q: want 'FROM/TO', such as '2026-12-24 22:00:00/2026-12-25 06:00:00'", r)
			}
			spec.Ranges = append(spec.Ranges, jobcenter.CalendarRange{From: strings.TrimSpace(from), To: strings.TrimSpace(to)})
		}
	}
	if f.set("cron") {
		spec.Cron = f.cron
	}
	return nil
}

const calendarHelp = `

A calendar excludes times from the jobs and Quartz schedules that name it
(--calendar on add, update and quartz save): whole days (--date), windows of
every week by the wall clock (--weekly, the TO not excluded; a window may wrap
past Sunday, 'SAT 22:00-MON 06:00'), spans of time (--range, FROM included, TO
not, each in --run-date's forms, a local one read in the calendar's zone) and
the seconds a Quartz expression matches (--cron); at least one. An excluded
instant is no fire: NEXT RUN and "jobctl preview" skip it; a backfill does not.
At most 100 calendars a project, 1,000 dates, 100 windows and 100 ranges a
calendar. A broken calendar is refused (exit 2) with the field named (name,
dates[1], weekly[0].to, ranges[0].from, cron, timezone), and nothing is stored.`

const calendarExamples = `  jobctl calendars add --name cn-holidays --description 国庆 --date 2026-10-01,2026-10-02,2026-10-03
  jobctl calendars add --name quiet --weekly 'SAT 00:00-MON 00:00' --range '2026-12-24 22:00:00/2026-12-25 06:00:00'
  jobctl calendars add --name nights --timezone Europe/Berlin --cron '* * 0-5 ? * *'
  jobctl calendars add --file holidays.json
  jobctl add --pid d1138d88 --name report --cron '0 0 9 ? * *' --calendar cn-holidays --calendar quiet --code 'return 1'`

// calendarCommands are the calendars group: a project's calendars of excluded times.
func calendarCommands() []*command {
	return []*command{
		{
			name: "calendars list", summary: "the project's calendars",
			help: `Lists the project's calendars by name: their zone, what each excludes, and when
and by whom it last changed. --json prints the server's {"calendars": [...]}.`,
			example: `  jobctl calendars list
  jobctl calendars list --json | jq -r '.calendars[].name'`,
			setup: func(fs *flag.FlagSet) runFunc {
				return func(ctx context.Context, a *app, args []string) error {
					cals, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) ([]jobcenter.Calendar, error) {
						return c.Calendars(ctx)
					})
					if err != nil {
						return err
					}
					if a.json {
						return a.printJSON(struct {
							Calendars []jobcenter.Calendar `json:"calendars"`
						}{append([]jobcenter.Calendar{}, cals...)})
					}
					printCalendars(a.stdout, cals)
					return nil
				}
			},
		},
		{
			name: "calendars add", summary: "add a calendar of excluded times",
			help: `Adds a calendar. Give --name and what it excludes (--date, --weekly, --range,
--cron), or --file with a calendar body as the API takes it (flags given with it
change it). Prints the calendar; jobs name it by its name. A second calendar of
a name is refused (exit 2).` + calendarHelp,
			example: calendarExamples,
			setup: func(fs *flag.FlagSet) runFunc {
				cf := addCalendarFlags(fs, true)
				return func(ctx context.Context, a *app, args []string) error {
					spec := &jobcenter.CalendarSpec{}
					if cf.set("file") {
						var err error
						if spec, err = cf.readFile(a); err != nil {
							return err
						}
					}
					if err := cf.apply(spec); err != nil {
						return err
					}
					cal, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Calendar, error) {
						return c.AddCalendar(ctx, *spec)
					})
					if err != nil {
						return err
					}
					return a.printCalendarWrite(cal, "added")
				}
			},
		},
		{
			name: "calendars show", args: "NAME", summary: "show a calendar",
			help: `Shows a calendar: its zone, each date, window and range it excludes (ranges in
its zone), its cron, and its last change.`,
			example: `  jobctl calendars show cn-holidays
  jobctl calendars show cn-holidays --json | jq .dates`,
			setup: func(fs *flag.FlagSet) runFunc {
				return func(ctx context.Context, a *app, args []string) error {
					return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Calendar, error) {
						return c.Calendar(ctx, args[0])
					}, printCalendar)
				}
			},
		},
		{
			name: "calendars update", args: "NAME", summary: "change a calendar",
			help: `Changes a calendar; it keeps its name. Only the flags given change: the rest is
read from the calendar first. --date, --weekly and --range replace their lists
('' clears one), --cron '' clears the cron. --timezone changes the zone its
dates, windows and ranges are read in: the ranges kept are read in the new zone
(give --range again to keep their instants). --file replaces the whole calendar
with a body as the API takes it, the flags given with it changing it. The
started jobs that name it are rescheduled at once.` + calendarHelp,
			example: `  jobctl calendars update cn-holidays --date 2026-10-01,2026-10-02,2026-10-03,2026-10-04
  jobctl calendars update quiet --range '' --description 'weekends only'
  jobctl calendars update nights --cron '' --weekly 'SUN 00:00-SUN 06:00'`,
			setup: func(fs *flag.FlagSet) runFunc {
				cf := addCalendarFlags(fs, false)
				return func(ctx context.Context, a *app, args []string) error {
					if !cf.changes() {
						return usagef("nothing to change: give the flags to change, such as --date or --weekly, or --file")
					}
					var base *jobcenter.CalendarSpec
					if cf.set("file") {
						var err error
						if base, err = cf.readFile(a); err != nil {
							return err
						}
					}
					cal, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Calendar, error) {
						spec := base
						if spec == nil {
							cur, err := c.Calendar(ctx, args[0])
							if err != nil {
								return nil, err
							}
							spec = &cur.CalendarSpec
						}
						if err := cf.apply(spec); err != nil {
							return nil, err
						}
						return c.UpdateCalendar(ctx, args[0], *spec)
					})
					if err != nil {
						return err
					}
					return a.printCalendarWrite(cal, "updated")
				}
			},
		},
		{
			name: "calendars delete", args: "NAME", summary: "delete a calendar",
			help: `Deletes a calendar. Prints "deleted NAME" (--json: {"name": NAME, "deleted":
true}). While a job or Quartz schedule of the project names it, it is refused
(exit 2), naming up to ten of them: take it out of them first ("jobctl update
ID --calendar ''"). A calendar that does not exist is not found (exit 3).`,
			example: `  jobctl calendars delete cn-holidays`,
			setup: func(fs *flag.FlagSet) runFunc {
				return func(ctx context.Context, a *app, args []string) error {
					if _, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (struct{}, error) {
						return struct{}{}, c.DeleteCalendar(ctx, args[0])
					}); err != nil {
						return err
					}
					if a.json {
						return a.printJSON(map[string]any{"name": args[0], "deleted": true})
					}
					fmt.Fprintf(a.stdout, "deleted %s\n", args[0])
					return nil
				}
			},
		},
	}
}

// printCalendarWrite prints a calendar added or changed.
func (a *app) printCalendarWrite(cal *jobcenter.Calendar, done string) error {
	if a.json {
		return a.printJSON(cal)
	}
	fmt.Fprintf(a.stdout, "%s %s\n", done, cal.Name)
	printCalendar(a.stdout, cal)
	return nil
}

// printCalendar writes one calendar as a two-column table; the description, which may
// be Chinese, last.
func printCalendar(w io.Writer, cal *jobcenter.Calendar) {
	t := newTable(w)
	t.row("NAME", cal.Name)
	t.row("TIMEZONE", cal.Timezone)
	t.row("DATES", orDash(strings.Join(cal.Dates, ",")))
	t.row("WEEKLY", orDash(windowsText(cal.Weekly)))
	t.row("RANGES", orDash(rangesText(cal.Ranges)))
	t.row("CRON", orDash(cal.Cron))
	updated := cal.UpdatedAt
	if cal.UpdatedBy != nil {
		updated += " by " + *cal.UpdatedBy
	}
	t.row("UPDATED", updated)
	t.row("DESCRIPTION", orDash(cal.Description))
	t.flush()
}

// printCalendars writes calendars as a table, one a row.
func printCalendars(w io.Writer, cals []jobcenter.Calendar) {
	t := newTable(w, "NAME", "TIMEZONE", "EXCLUDES", "UPDATED", "DESCRIPTION")
	for _, cal := range cals {
		t.row(cal.Name, cal.Timezone, excludesText(cal.CalendarSpec), cal.UpdatedAt, orDash(clip(cal.Description, 60)))
	}
	t.flush()
	if len(cals) == 0 {
		fmt.Fprintln(w, "no calendars: add one with jobctl calendars add")
	}
}

// excludesText counts what a calendar excludes: "2 dates, 1 weekly window, cron".
func excludesText(s jobcenter.CalendarSpec) string {
	var parts []string
	count := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, strconv.Itoa(n)+" "+many)
		}
	}
	count(len(s.Dates), "date", "dates")
	count(len(s.Weekly), "weekly window", "weekly windows")
	count(len(s.Ranges), "range", "ranges")
	if s.Cron != "" {
		parts = append(parts, "cron "+s.Cron)
	}
	return strings.Join(parts, ", ")
}

// windowsText writes weekly windows as --weekly takes them.
func windowsText(ws []jobcenter.CalendarWindow) string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.From + "-" + w.To
	}
	return strings.Join(out, ", ")
}

// rangesText writes ranges as --range takes them.
func rangesText(rs []jobcenter.CalendarRange) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.From + "/" + r.To
	}
	return strings.Join(out, ", ")
}
