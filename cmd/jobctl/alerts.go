package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

// repeated is a flag that may be given many times; each value is kept as given.
type repeated []string

func (r *repeated) String() string {
	if r == nil {
		return ""
	}
	return strings.Join(*r, ",")
}

func (r *repeated) Set(s string) error {
	*r = append(*r, s)
	return nil
}

// splitList reads the values of a repeated flag whose values may each be a
// comma-separated list; "" adds nothing, so "--job ”" alone is the empty list.
func splitList(values []string) []string {
	out := []string{}
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// given reports whether the flag was on the command line.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// ruleFlags are the flags of alerts add and alerts update.
type ruleFlags struct {
	fs                           *flag.FlagSet
	file, name, typ, url, secret string
	events, jobs, headers, to    repeated
	after, within, silence       optInt
	disabled                     optBool
}

func addRuleFlags(fs *flag.FlagSet) *ruleFlags {
	f := &ruleFlags{fs: fs}
	fs.StringVar(&f.file, "file", "", "start from the JSON rule body in `FILE` (\"-\": standard input), as the API takes it; the other flags change it")
	fs.StringVar(&f.name, "name", "", "the rule's name, for people")
	fs.Var(&f.events, "event", "an `EVENT` the rule wants: failure, timeout, missed, skipped or paused (repeat it, or comma-separate)")
	fs.Var(&f.jobs, "job", "a `JOB` whose events it wants, either of its ids (repeat it, or comma-separate; none, or \"\": every job of the project)")
	fs.StringVar(&f.typ, "type", "", "the channel: webhook (the alert's JSON), dingtalk, feishu, wecom, slack or email")
	// --url is the API's address, as in every command: the channel's is --webhook.
	fs.StringVar(&f.url, "webhook", "", "the channel's http(s) `URL` (every type but email)")
	fs.StringVar(&f.secret, "secret", "", "a DingTalk or Feishu robot's signing secret")
	fs.Var(&f.headers, "header", "a generic webhook's own header, `'Name: value'` (repeat it; on update 'Name:' removes one)")
	fs.Var(&f.to, "to", "an email channel's `ADDRESS` (repeat it, or comma-separate)")
	fs.Var(&f.after, "throttle-after", "send one alert for this many events of a job within --within seconds (0: every event, no throttle)")
	fs.Var(&f.within, "within", "the throttle's window in seconds (up to 86400)")
	fs.Var(&f.silence, "silence", "seconds the throttle then sends nothing (up to 86400)")
	fs.Var(&f.disabled, "disabled", "keep the rule but send none of its alerts (--disabled=false enables it)")
	return f
}

func (f *ruleFlags) set(name string) bool { return given(f.fs, name) }

// changes reports whether any of the rule's flags was given.
func (f *ruleFlags) changes() bool {
	changed := false
	f.fs.Visit(func(fl *flag.Flag) { changed = changed || !slices.Contains(commonFlags, fl.Name) })
	return changed
}

// readFile reads --file: a rule body as the API takes it. An unknown field is refused
// here: it would be dropped on the way to the server, unheard of.
func (f *ruleFlags) readFile(a *app) (*jobcenter.AlertRuleSpec, error) {
	doc, err := a.readFile(f.file)
	if err != nil {
		return nil, err
	}
	var spec jobcenter.AlertRuleSpec
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil || dec.More() {
		if err == nil {
			err = fmt.Errorf("more than one JSON value")
		}
		return nil, usagef("--file %s is not a rule body such as {\"events\": [\"failure\"], \"channel\": {\"type\": \"webhook\", \"url\": \"https://…\"}}: %v", f.file, err)
	}
	return &spec, nil
}

// apply writes the flags given over spec.
func (f *ruleFlags) apply(spec *jobcenter.AlertRuleSpec) error {
	if f.set("name") {
		spec.Name = f.name
	}
	if f.set("event") {
		spec.Events = splitList(f.events)
	}
	if f.set("job") {
		spec.Jobs = splitList(f.jobs)
	}
	if f.disabled.v != nil {
		on := !*f.disabled.v
		spec.Enabled = &on
	}
	if err := f.applyChannel(&spec.Channel); err != nil {
		return err
	}
	return f.applyThrottle(spec)
}

func (f *ruleFlags) applyChannel(c *jobcenter.AlertChannel) error {
	if f.set("type") && f.typ != c.Type {
		// A rule read shows its URL, secret and headers masked, and the server keeps what
		// a mask stands for only on a channel of the same type: another type starts anew.
		*c = jobcenter.AlertChannel{Type: f.typ}
	}
	if f.set("webhook") {
		c.URL = f.url
	}
	if f.set("secret") {
		c.Secret = f.secret
	}
	if f.set("header") {
		// Merged into the headers read, whose values are masked: sent back so, they are
		// kept, where replacing them all would lose the ones not named again.
		headers := maps.Clone(c.Headers)
		if headers == nil {
			headers = map[string]string{}
		}
		for _, h := range f.headers {
			name, value, ok := strings.Cut(h, ":")
			name = strings.TrimSpace(name)
			if !ok || name == "" {
				return usagef("--header %q: want 'Name: value', such as 'Authorization: Bearer xyz'", h)
			}
			maps.DeleteFunc(headers, func(k, _ string) bool { return strings.EqualFold(k, name) })
			if value = strings.TrimSpace(value); value != "" {
				headers[name] = value
			}
		}
		c.Headers = headers
	}
	if f.set("to") {
		c.To = splitList(f.to)
	}
	return nil
}

func (f *ruleFlags) applyThrottle(spec *jobcenter.AlertRuleSpec) error {
	if f.after.v == nil && f.within.v == nil && f.silence.v == nil {
		return nil
	}
	if f.after.v != nil && *f.after.v == 0 {
		if f.within.v != nil || f.silence.v != nil {
			return usagef("--throttle-after 0 sends every event: give it without --within and --silence")
		}
		spec.Throttle = nil
		return nil
	}
	var t jobcenter.AlertThrottle
	if spec.Throttle != nil {
		t = *spec.Throttle
	}
	if f.after.v != nil {
		t.After = int(*f.after.v)
	}
	if f.within.v != nil {
		t.Within = *f.within.v
	}
	if f.silence.v != nil {
		t.Silence = *f.silence.v
	}
	if t.After == 0 {
		return usagef("--within and --silence belong to a throttle: give --throttle-after N too")
	}
	spec.Throttle = &t
	return nil
}

const ruleHelp = `

A rule sends the events it names of the jobs it names (none: every job of the
project) to its channel:
  failure  a run failed after its retries (a timed-out one too; not a killed one)
  timeout  a run reached its time limit
  missed   a fire came later than the job's misfire grace time
  skipped  a run was not run: max_instances runs of the job were going
  paused   a job was stopped by pause_after_failures
The channel is a generic webhook (the alert's JSON POSTed as it is, with
--header of its own), a DingTalk, Feishu, WeCom or Slack incoming webhook
(DingTalk and Feishu signed with --secret), or e-mail (--to, through the
center's SMTP server). Reads show secrets masked: the URL past its host, the
secret and header values as ***. A webhook may not name loopback or private
hosts unless the center allows it (JOBCENTER_ALERTS_ALLOW_PRIVATE). A broken
rule is refused (exit 2) with the field named, and nothing is stored.`

const ruleExamples = `  jobctl alerts add --name on-call --event failure,paused --type webhook \
      --webhook 'https://hooks.example.com/jobcenter?token=s3cret' --header 'Authorization: Bearer xyz'
  jobctl alerts add --event failure --job d6f4a7fa --type dingtalk \
      --webhook 'https://oapi.dingtalk.com/robot/send?access_token=…' --secret SEC… \
      --throttle-after 3 --within 600 --silence 3600
  jobctl alerts add --event missed,skipped --type email --to ops@example.com,dev@example.com
  jobctl alerts add --file rule.json`

// alertCommands are the alerts group: a project's alert rules and their alerts' fate.
func alertCommands() []*command {
	return []*command{
		{
			name: "alerts list", summary: "the project's alert rules",
			help: `Lists the project's alert rules, oldest first: the events each wants, of which
jobs ("all": every job of the project), where it sends them (the URL masked past
its host) and how often at most. --json prints the server's {"rules": [...]}.`,
			example: `  jobctl alerts list
  jobctl alerts list --json | jq -r '.rules[] | select(.enabled | not) | .id'`,
			setup: func(fs *flag.FlagSet) runFunc {
				return func(ctx context.Context, a *app, args []string) error {
					rules, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) ([]jobcenter.AlertRule, error) {
						return c.AlertRules(ctx)
					})
					if err != nil {
						return err
					}
					if a.json {
						return a.printJSON(struct {
							Rules []jobcenter.AlertRule `json:"rules"`
						}{append([]jobcenter.AlertRule{}, rules...)})
					}
					printRules(a.stdout, rules)
					return nil
				}
			},
		},
		{
			name: "alerts add", summary: "add an alert rule",
			help: `Adds an alert rule, enabled unless --disabled. Give --event and the channel
(--type with --webhook, or --to for email), or --file with a rule body as the
API takes it (flags given with it change it). Prints the rule; its ID names it
in the other alerts commands. Try the channel with "jobctl alerts test ID".` + ruleHelp,
			example: ruleExamples,
			setup: func(fs *flag.FlagSet) runFunc {
				rf := addRuleFlags(fs)
				return func(ctx context.Context, a *app, args []string) error {
					spec := &jobcenter.AlertRuleSpec{}
					if rf.set("file") {
						var err error
						if spec, err = rf.readFile(a); err != nil {
							return err
						}
					}
					if err := rf.apply(spec); err != nil {
						return err
					}
					r, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.AlertRule, error) {
						return c.AddAlertRule(ctx, *spec)
					})
					if err != nil {
						return err
					}
					return a.printRuleWrite(r, "added")
				}
			},
		},
		{
			name: "alerts show", args: "RULE", summary: "show an alert rule",
			help: `Shows an alert rule, its secrets masked: the URL past its host, a signing
secret and header values as ***.`,
			example: `  jobctl alerts show rule-0a1b2c3d4e5f
  jobctl alerts show rule-0a1b2c3d4e5f --json | jq .channel`,
			setup: func(fs *flag.FlagSet) runFunc {
				return func(ctx context.Context, a *app, args []string) error {
					return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.AlertRule, error) {
						return c.AlertRule(ctx, args[0])
					}, printRule)
				}
			},
		},
		{
			name: "alerts update", args: "RULE", summary: "change an alert rule",
			help: `Changes an alert rule. Only the flags given change: the rest is read from the
rule first, and its secrets, read masked, are sent back masked, which keeps
them. --event, --job and --to replace their lists; --header adds or replaces
one header ('Name:' removes it); --type to another type starts the channel
anew (give its --webhook or --to again); --throttle-after 0 removes the
throttle. --file replaces the whole rule with a body as the API takes it, the
flags given with it changing it.` + ruleHelp,
			example: `  jobctl alerts update rule-0a1b2c3d4e5f --disabled
  jobctl alerts update rule-0a1b2c3d4e5f --disabled=false
  jobctl alerts update rule-0a1b2c3d4e5f --event failure,timeout --job ''
  jobctl alerts update rule-0a1b2c3d4e5f --header 'Authorization: Bearer new' --throttle-after 5 --within 300`,
			setup: func(fs *flag.FlagSet) runFunc {
				rf := addRuleFlags(fs)
				return func(ctx context.Context, a *app, args []string) error {
					if !rf.changes() {
						return usagef("nothing to change: give the flags to change, such as --disabled or --event, or --file")
					}
					var base *jobcenter.AlertRuleSpec
					if rf.set("file") {
						var err error
						if base, err = rf.readFile(a); err != nil {
							return err
						}
					}
					r, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.AlertRule, error) {
						spec := base
						if spec == nil {
							cur, err := c.AlertRule(ctx, args[0])
							if err != nil {
								return nil, err
							}
							s := cur.Spec()
							spec = &s
						}
						if err := rf.apply(spec); err != nil {
							return nil, err
						}
						return c.UpdateAlertRule(ctx, args[0], *spec)
					})
					if err != nil {
						return err
					}
					return a.printRuleWrite(r, "updated")
				}
			},
		},
		{
			name: "alerts delete", args: "RULE", summary: "delete an alert rule",
			help: `Deletes an alert rule; its alerts not yet delivered are not delivered (their
outcome says so). Prints "deleted RULE" (--json: {"id": RULE, "deleted": true}).
A rule that does not exist is not found (exit 3).`,
			example: `  jobctl alerts delete rule-0a1b2c3d4e5f`,
			setup: func(fs *flag.FlagSet) runFunc {
				return func(ctx context.Context, a *app, args []string) error {
					if _, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (struct{}, error) {
						return struct{}{}, c.DeleteAlertRule(ctx, args[0])
					}); err != nil {
						return err
					}
					if a.json {
						return a.printJSON(map[string]any{"id": args[0], "deleted": true})
					}
					fmt.Fprintf(a.stdout, "deleted %s\n", args[0])
					return nil
				}
			},
		},
		{
			name: "alerts test", args: "RULE", summary: "send a test alert to a rule's channel",
			help: `Sends an alert of event "test" to the rule's channel, enabled or not, and
prints its id (--json: the server's {"id", "status": "raised"}). It is delivered
as any other alert: its outcome is among "jobctl alerts deliveries --rule RULE"
a moment later.`,
			example: `  jobctl alerts test rule-0a1b2c3d4e5f
  jobctl alerts test rule-0a1b2c3d4e5f && jobctl alerts deliveries --rule rule-0a1b2c3d4e5f --limit 1`,
			setup: func(fs *flag.FlagSet) runFunc {
				return func(ctx context.Context, a *app, args []string) error {
					id, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (string, error) {
						return c.TestAlertRule(ctx, args[0])
					})
					if err != nil {
						return err
					}
					if a.json {
						return a.printJSON(map[string]string{"id": id, "status": "raised"})
					}
					fmt.Fprintf(a.stdout, "raised %s\nits outcome: jobctl alerts deliveries --rule %s\n", id, args[0])
					return nil
				}
			},
		},
		{
			name: "alerts deliveries", summary: "what became of the project's alerts, newest first",
			help: `Shows what became of the project's alerts, newest first: when each was raised,
its event, job and run, whether it was delivered, is being retried (ERROR says
why its last attempt failed) or failed (given up, or not sent: its rule deleted
or disabled), after how many attempts, and where it went. A page at a time
(--limit, then --cursor as the footer says), or every page with --all. --json
prints the server's {"deliveries": [...], "next_cursor"}; with --all, every
delivery in one such object.`,
			example: `  jobctl alerts deliveries
  jobctl alerts deliveries --rule rule-0a1b2c3d4e5f --status failed
  jobctl alerts deliveries --job d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7 --all --json | jq '.deliveries | length'`,
			setup: func(fs *flag.FlagSet) runFunc {
				rule := fs.String("rule", "", "only this rule's alerts")
				job := fs.String("job", "", "only the alerts of this job: its ID (not its JOB ID)")
				status := fs.String("status", "", "only the deliveries in this state: delivered, retrying or failed")
				var limit optInt
				fs.Var(&limit, "limit", "deliveries a page, 1–500 (default 50)")
				cursor := fs.String("cursor", "", "the page after the one whose footer named this cursor")
				all := fs.Bool("all", false, "every page")
				return func(ctx context.Context, a *app, args []string) error {
					q := jobcenter.DeliveryQuery{RuleID: *rule, JobID: *job, Status: *status, Cursor: *cursor}
					if limit.v != nil {
						// The client leaves a limit below 1 unsent, which would read the default.
						if *limit.v < 1 {
							return usagef("--limit must be from 1 to 500, got %d", *limit.v)
						}
						q.Limit = int(*limit.v)
					}
					return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.DeliveryPage, error) {
						if *all {
							return allDeliveries(ctx, c, q)
						}
						p, err := c.AlertDeliveries(ctx, q)
						if err == nil && p.Deliveries == nil {
							p.Deliveries = []jobcenter.AlertDelivery{} // --json prints []
						}
						return p, err
					}, printDeliveries)
				}
			},
		},
	}
}

// allDeliveries follows next_cursor from q to the last page.
func allDeliveries(ctx context.Context, c *jobcenter.Client, q jobcenter.DeliveryQuery) (*jobcenter.DeliveryPage, error) {
	out := &jobcenter.DeliveryPage{Deliveries: []jobcenter.AlertDelivery{}}
	for {
		p, err := c.AlertDeliveries(ctx, q)
		if err != nil {
			return nil, err
		}
		out.Deliveries = append(out.Deliveries, p.Deliveries...)
		if p.NextCursor == "" {
			return out, nil
		}
		q.Cursor = p.NextCursor
	}
}

// printRuleWrite prints a rule added or changed.
func (a *app) printRuleWrite(r *jobcenter.AlertRule, done string) error {
	if a.json {
		return a.printJSON(r)
	}
	fmt.Fprintf(a.stdout, "%s %s\n", done, r.ID)
	printRule(a.stdout, r)
	return nil
}

// printRule writes one rule as a two-column table.
func printRule(w io.Writer, r *jobcenter.AlertRule) {
	t := newTable(w)
	t.row("ID", r.ID)
	t.row("ENABLED", yesNo(r.Enabled))
	t.row("EVENTS", strings.Join(r.Events, ","))
	t.row("JOBS", ruleJobs(r.Jobs))
	t.row("CHANNEL", r.Channel.Type)
	t.row("TARGET", orDash(channelTarget(r.Channel)))
	if r.Channel.Secret != "" {
		t.row("SECRET", r.Channel.Secret)
	}
	if len(r.Channel.Headers) > 0 {
		var hs []string
		for _, k := range slices.Sorted(maps.Keys(r.Channel.Headers)) {
			hs = append(hs, k+": "+r.Channel.Headers[k])
		}
		t.row("HEADERS", strings.Join(hs, ", "))
	}
	t.row("THROTTLE", throttleText(r.Throttle))
	created := stamp(r.CreatedAt)
	if r.CreatedBy != "" {
		created += " by " + r.CreatedBy
	}
	t.row("CREATED", created)
	t.row("UPDATED", stamp(r.UpdatedAt))
	t.row("NAME", orDash(r.Name))
	t.flush()
}

// printRules writes rules as a table, one a row; the name, which may be Chinese, last.
func printRules(w io.Writer, rules []jobcenter.AlertRule) {
	t := newTable(w, "ID", "ENABLED", "EVENTS", "JOBS", "CHANNEL", "THROTTLE", "NAME")
	for _, r := range rules {
		t.row(r.ID, yesNo(r.Enabled), strings.Join(r.Events, ","), clip(ruleJobs(r.Jobs), 80),
			strings.TrimSpace(r.Channel.Type+" "+channelTarget(r.Channel)), throttleText(r.Throttle), orDash(r.Name))
	}
	t.flush()
	if len(rules) == 0 {
		fmt.Fprintln(w, "no alert rules: add one with jobctl alerts add")
	}
}

// printDeliveries writes a page of deliveries, newest first, and where the next begins.
func printDeliveries(w io.Writer, p *jobcenter.DeliveryPage) {
	t := newTable(w, "RAISED", "EVENT", "JOB", "RUN", "STATUS", "ATTEMPTS", "TARGET", "ERROR")
	for _, d := range p.Deliveries {
		t.row(stamp(d.RaisedAt), d.Event, orDash(d.JobID), orDash(d.TriggerID), d.Status, strconv.Itoa(d.Attempts),
			orDash(d.Target), orDash(clip(d.Error, 80)))
	}
	t.flush()
	n := "deliveries"
	if len(p.Deliveries) == 1 {
		n = "delivery"
	}
	fmt.Fprintf(w, "%d %s", len(p.Deliveries), n)
	if p.NextCursor != "" {
		fmt.Fprintf(w, "; there may be more: --cursor %s (or --all)", p.NextCursor)
	}
	fmt.Fprintln(w)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// ruleJobs words the jobs a rule wants.
func ruleJobs(jobs []string) string {
	if len(jobs) == 0 {
		return "all"
	}
	return strings.Join(jobs, ",")
}

// channelTarget is where a channel sends, as read: the masked URL, or the addresses.
func channelTarget(c jobcenter.AlertChannel) string {
	if c.Type == jobcenter.ChannelEmail {
		return strings.Join(c.To, ",")
	}
	return c.URL
}

// throttleText words a rule's throttle.
func throttleText(t *jobcenter.AlertThrottle) string {
	if t == nil {
		return "every event"
	}
	s := "each event"
	if t.After > 1 {
		s = fmt.Sprintf("1 per %d in %ds", t.After, t.Within)
	}
	if t.Silence > 0 {
		s += fmt.Sprintf(", then none for %ds", t.Silence)
	}
	return s
}

// stamp is an instant as the tables show it: UTC, to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
