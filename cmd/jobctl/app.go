package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

// Exit codes: what a script can rely on.
const (
	exitOK       = 0 // done
	exitUsage    = 1 // the command line is wrong: unknown command or flag, missing argument
	exitRejected = 2 // the server refused the request (a 4xx other than 404): invalid, conflict, unauthorized, …
	exitNotFound = 3 // no such job, schedule, alert rule or calendar (404), or another tenant's
	exitServer   = 4 // the server failed (5xx) or could not be reached, or NATS could not be
)

const exitCodesHelp = `Exit codes:
  0  done
  1  usage error: unknown command or flag, missing or extra argument
  2  the server refused the request (HTTP 4xx other than 404): invalid field,
     conflict, unauthorized (401), forbidden (403), rate limited (429), …
  3  not found (HTTP 404): no such job, schedule, alert rule or calendar — or
     another tenant's
  4  the server failed (HTTP 5xx, e.g. 503 unavailable) or could not be
     reached (connection refused, timeout), or NATS could not be`

const envHelp = `Settings (flags override the environment):
  --url       JOBCENTER_URL      the API (default http://127.0.0.1:8001)
  --project   JOBCENTER_PROJECT  the tenant: X-Project-Id, and tecode for quartz
  --user      JOBCENTER_USER     X-User-Id: becomes createUser / updateUser
  --api-key   JOBCENTER_API_KEY  sent as Authorization: Bearer <key>
  --nats      NATS_URL           events tail only (default nats://127.0.0.1:4222)`

// usageError is a wrong command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// app is one invocation: its streams, environment and common settings.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	url, project, user, apiKey, natsURL string
	json                                bool
	timeout                             time.Duration
}

// command is one jobctl command.
type command struct {
	// name is what follows "jobctl": "add", "cron next", "quartz save".
	name string
	// args are the positional arguments, for the usage line; run is given exactly these
	// unless anyArgs.
	args    string
	anyArgs bool   // takes any number of positional arguments and checks them itself
	summary string // one line, for the overview
	help    string // what it does, in a few lines
	example string // commands to copy
	nats    bool   // takes --nats
	// setup registers the command's own flags and returns what runs it.
	setup func(fs *flag.FlagSet) runFunc
}

// runFunc runs a command with its positional arguments, its flags parsed.
type runFunc func(ctx context.Context, a *app, args []string) error

// commandGroups orders the overview.
var commandGroups = []struct {
	title string
	names []string
}{
	{"Jobs (the job-center SDK's operations)", []string{"add", "get", "list", "update", "start", "stop", "exec", "backfill", "kill", "delete", "journal", "history", "preview", "versions", "rollback", "export", "import"}},
	{"Quartz schedules (the tenant is --project, sent as tecode)", []string{"quartz save", "quartz status", "quartz journal", "quartz enable", "quartz disable", "quartz delete", "quartz trigger"}},
	{"Alerts (of failed, timed-out, missed, skipped and paused runs)", []string{"alerts list", "alerts add", "alerts show", "alerts update", "alerts delete", "alerts test", "alerts deliveries"}},
	{"Calendars (of times the jobs naming them do not fire)", []string{"calendars list", "calendars add", "calendars show", "calendars update", "calendars delete"}},
	{"Workers (the tenant's own processes that run the flows of a worker group's jobs)", []string{"workers"}},
	{"Other", []string{"cron next", "events tail"}},
}

func commands() []*command {
	return slices.Concat(jobCommands(), operateCommands(), quartzCommands(), alertCommands(), calendarCommands(),
		[]*command{workersCommand(), previewCommand(), cronNextCommand(), eventsTailCommand()})
}

// run is jobctl: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	cmds := commands()
	if len(args) == 0 {
		a.overview(stderr, cmds)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		a.overview(stdout, cmds)
		return exitOK
	case "help":
		if len(args) == 1 {
			a.overview(stdout, cmds)
			return exitOK
		}
		c, _ := find(cmds, args[1:])
		if c == nil {
			fmt.Fprintf(stderr, "jobctl: no command %q; run jobctl help\n", strings.Join(args[1:], " "))
			return exitUsage
		}
		fs := a.flagSet(c)
		c.setup(fs) // registers the command's own flags, for the help to list
		a.commandHelp(stdout, c, fs)
		return exitOK
	}
	c, rest := find(cmds, args)
	if c == nil {
		if g := group(cmds, args[0]); g != "" {
			fmt.Fprintf(stderr, "jobctl %s: say which: %s\nRun 'jobctl help' for usage.\n", args[0], g)
		} else {
			fmt.Fprintf(stderr, "jobctl: unknown command %q\nRun 'jobctl help' for usage.\n", args[0])
		}
		return exitUsage
	}
	fs := a.flagSet(c)
	runCmd := c.setup(fs)
	pos, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		a.commandHelp(stdout, c, fs)
		return exitOK
	}
	if err != nil {
		err = usageError{err.Error()}
	} else if !c.anyArgs {
		err = exactArgs(pos, strings.Fields(c.args)...)
	}
	if err == nil {
		err = runCmd(ctx, a, pos)
	}
	if err == nil {
		return exitOK
	}
	return a.fail(c, err)
}

// find looks the command up by its first one or two words.
func find(cmds []*command, args []string) (*command, []string) {
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return c, args[len(words):]
		}
	}
	return nil, nil
}

// group lists the subcommands of a two-word group such as "quartz".
func group(cmds []*command, first string) string {
	var subs []string
	for _, c := range cmds {
		if w := strings.Fields(c.name); len(w) == 2 && w[0] == first {
			subs = append(subs, c.name)
		}
	}
	return strings.Join(subs, ", ")
}

// flagSet makes the command's flag set with the common settings, their defaults from
// the environment.
func (a *app) flagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("jobctl "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	env := func(name, def string) string {
		if v := strings.TrimSpace(a.getenv(name)); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&a.url, "url", env("JOBCENTER_URL", jobcenter.DefaultBaseURL), "the API's address (env JOBCENTER_URL)")
	fs.StringVar(&a.project, "project", env("JOBCENTER_PROJECT", ""), "the project (tenant) to act as (env JOBCENTER_PROJECT)")
	fs.StringVar(&a.user, "user", env("JOBCENTER_USER", ""), "the user id, sent as X-User-Id (env JOBCENTER_USER)")
	fs.StringVar(&a.apiKey, "api-key", env("JOBCENTER_API_KEY", ""), "the API key, sent as a Bearer token (env JOBCENTER_API_KEY)")
	fs.BoolVar(&a.json, "json", false, "print the server's JSON instead of a table, for scripts")
	fs.DurationVar(&a.timeout, "timeout", 30*time.Second, "how long a request may take")
	if c.nats {
		fs.StringVar(&a.natsURL, "nats", env("NATS_URL", "nats://127.0.0.1:4222"), "the NATS server(s) (env NATS_URL)")
	}
	return fs
}

var commonFlags = []string{"url", "project", "user", "api-key", "json", "timeout", "nats"}

// parseInterspersed parses flags wherever they are among the arguments, so that
// "jobctl get ID --json" works; after "--" everything is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// client makes the API client from the settings.
func (a *app) client() (*jobcenter.Client, error) {
	c, err := jobcenter.New(jobcenter.WithBaseURL(a.url), jobcenter.WithProject(a.project), jobcenter.WithUser(a.user),
		jobcenter.WithAPIKey(a.apiKey))
	if err != nil {
		return nil, usageError{strings.TrimPrefix(err.Error(), "jobcenter: ") + " (--url or JOBCENTER_URL)"}
	}
	return c, nil
}

// needProject is the check of every command that acts as a tenant.
func (a *app) needProject() error {
	if strings.TrimSpace(a.project) == "" {
		return usagef("no project: give --project or set JOBCENTER_PROJECT")
	}
	return nil
}

// withTimeout bounds one request by --timeout.
func (a *app) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.timeout)
}

// call makes a command's requests as the tenant (it needs a project), bounded by
// --timeout.
func call[T any](ctx context.Context, a *app, do func(context.Context, *jobcenter.Client) (T, error)) (T, error) {
	var zero T
	if err := a.needProject(); err != nil {
		return zero, err
	}
	c, err := a.client()
	if err != nil {
		return zero, err
	}
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	return do(ctx, c)
}

// show makes a command's requests as call does and prints the answer: as JSON with
// --json, else with table.
func show[T any](ctx context.Context, a *app, do func(context.Context, *jobcenter.Client) (T, error), table func(io.Writer, T)) error {
	v, err := call(ctx, a, do)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(v)
	}
	table(a.stdout, v)
	return nil
}

// printJSON writes v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// fail reports err and returns its exit code. With --json the report is JSON too, on
// stderr: {"error": {"status", "code", "message", "field"}}.
func (a *app) fail(c *command, err error) int {
	code := exitCode(err)
	msg := describe(err, a.url)
	if code == exitUsage {
		fmt.Fprintf(a.stderr, "jobctl %s: %s\nRun 'jobctl %s --help' for usage.\n", c.name, msg, c.name)
		return code
	}
	if a.json {
		body := struct {
			Error any `json:"error"`
		}{map[string]any{"message": msg, "exit": code}}
		var ae *jobcenter.APIError
		if errors.As(err, &ae) {
			body.Error = struct {
				*jobcenter.APIError
				Exit int `json:"exit"`
			}{ae, code}
		}
		enc := json.NewEncoder(a.stderr)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(body)
		return code
	}
	fmt.Fprintf(a.stderr, "jobctl %s: %s\n", c.name, msg)
	return code
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var ue usageError
	var ae *jobcenter.APIError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ae) && ae.Status == 404:
		return exitNotFound
	case errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500:
		return exitRejected
	}
	return exitServer
}

// describe words an error for people.
func describe(err error, base string) string {
	var ae *jobcenter.APIError
	var ue *url.Error
	var ne net.Error
	switch {
	case errors.As(err, &ae):
		s := fmt.Sprintf("%d %s: %s", ae.Status, ae.Code, ae.Message)
		if ae.Field != "" && !strings.Contains(ae.Message, ae.Field) {
			s += " (field " + ae.Field + ")"
		}
		if ae.Status == 401 {
			s += " — give --api-key or set JOBCENTER_API_KEY"
		}
		return s
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "no answer in time from " + base + " (--timeout): " + err.Error()
	case errors.As(err, &ue):
		return fmt.Sprintf("cannot reach %s: %v (is the center running? set --url or JOBCENTER_URL)", base, ue.Err)
	}
	return strings.TrimPrefix(err.Error(), "jobcenter: ")
}

// overview is `jobctl help`.
func (a *app) overview(w io.Writer, cmds []*command) {
	fmt.Fprint(w, `jobctl manages Job Center: jobs that run every N seconds, once at a date or
on a Quartz cron expression in a zone of their own — code, a flow, an HTTP
call, or a flow run by the tenant's own workers of a group (--worker-group) —
Quartz cron schedules of business behaviours, their run journals, live
events, alerts of runs that fail, are missed or skipped, calendars of times
the jobs do not fire, and the workers online.

Usage:
  jobctl <command> [arguments] [flags]
  jobctl help <command>        (or: jobctl <command> --help) for a command's flags and examples

`)
	byName := map[string]*command{}
	for _, c := range cmds {
		byName[c.name] = c
	}
	for _, g := range commandGroups {
		fmt.Fprintf(w, "%s:\n", g.title)
		for _, n := range g.names {
			fmt.Fprintf(w, "  %-18s %s\n", n, byName[n].summary)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, envHelp+`
  --json      print JSON (the server's shapes) instead of tables; errors go to
              stderr as {"error": {...}}
  --timeout   how long a request may take (default 30s)

A first session (make run serves the API on :8001):
  export JOBCENTER_PROJECT=b90ba90e-2431-11f0-a3b3-f2cf1bfaab0e
  jobctl add --pid d1138d88 --name 周期任务 --seconds 300 --code 'log_print("hi", "INFO")'
  jobctl start JOB_ID          # it fires every 300 s from now on
  jobctl preview JOB_ID        # when: its next fire times
  jobctl exec JOB_ID           # one run now
  jobctl journal JOB_ID        # the runs, newest first
  jobctl events tail           # follow fires and runs live (Ctrl-C to stop)

`+exitCodesHelp+"\n")
}

// commandHelp is `jobctl <command> --help`.
func (a *app) commandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: jobctl %s", c.name)
	if c.args != "" {
		fmt.Fprintf(w, " %s", c.args)
	}
	fmt.Fprintf(w, " [flags]\n\n%s\n", strings.TrimSpace(c.help))
	var own, common []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if slices.Contains(commonFlags, f.Name) {
			common = append(common, f)
		} else {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintln(w, "\nFlags:")
		printFlags(w, own)
	}
	fmt.Fprintln(w, "\nCommon flags:")
	printFlags(w, common)
	if c.example != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(c.example, "\n"))
	}
	fmt.Fprintf(w, "\n%s\n", exitCodesHelp)
}

func printFlags(w io.Writer, flags []*flag.Flag) {
	for _, f := range flags {
		typ, usage := flag.UnquoteUsage(f)
		switch f.Value.(type) {
		case interface{ IsBoolFlag() bool }:
			typ = ""
		case *optInt:
			typ = "int"
		}
		name := "--" + f.Name
		if typ != "" {
			name += " " + typ
		}
		def := f.DefValue
		switch {
		case f.Name == "api-key" && def != "":
			def = "(set from JOBCENTER_API_KEY)"
		case def == "" || def == "false" || def == "0" || def == "unset":
			def = ""
		default:
			def = "(default " + def + ")"
		}
		fmt.Fprintf(w, "  %-30s %s", name, usage)
		if def != "" {
			fmt.Fprintf(w, " %s", def)
		}
		fmt.Fprintln(w)
	}
}

// readFile reads a file's content, or stdin for "-".
func (a *app) readFile(path string) (string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(a.stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return "", usagef("read %s: %v", path, err)
	}
	return string(data), nil
}

// exactArgs checks the number of positional arguments.
func exactArgs(args []string, names ...string) error {
	if len(args) < len(names) {
		return usagef("missing %s", strings.Join(names[len(args):], " and "))
	}
	if len(args) > len(names) {
		return usagef("unexpected argument %q", args[len(names)])
	}
	return nil
}

// idempotent sends key as the Idempotency-Key of a write, when there is one.
func idempotent(key string) []jobcenter.CallOption {
	if key == "" {
		return nil
	}
	return []jobcenter.CallOption{jobcenter.IdempotencyKey(key)}
}

// collect reads every item of seq, stopping at the first error; no items is an empty
// slice, so that --json prints [].
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	out := []T{}
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
