package job

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jobcenter/jobcenter/shared/calendar"
)

// Limits on a definition's sizes, so that no field can carry a payload.
const (
	MaxNameLen        = 200
	MaxDescriptionLen = 2000
	MaxIDLen          = 128
	MaxCodeBytes      = 64 << 10
	// MaxEvery bounds an interval: ten years, far beyond any real schedule.
	MaxEvery = 10 * 365 * 24 * time.Hour
)

// lastYear is the last year, in UTC, a date may fall in: Quartz's bound too.
const lastYear = 2099

// Input is a job definition as the job-center SDK sends it, before validation.
type Input struct {
	Pid         string
	Name        string
	Description string
	Trigger     string
	// Seconds is nil when the request did not give it.
	Seconds *int64
	RunDate string
	// Cron and Timezone are a cron trigger's Quartz expression and IANA zone (the
	// configured one when empty).
	Cron     string
	Timezone string
	// StartDate and EndDate bound an interval or cron job's life, each in run_date's
	// forms; "" for no bound.
	StartDate, EndDate string
	// Jitter is seconds to spread each fire over; nil or 0 for none.
	Jitter *int64
	// FixedDelay counts an interval from the end of its last run; nil: false.
	FixedDelay *bool
	// Calendars name the tenant's calendars the job respects; nil or empty: none.
	Calendars *[]string
	FlowID    string
	Code      string
	// HTTP is an HTTP job's call; nil for none. Kept is the call of the job it stands
	// for (an import's), whose header values a masked one keeps; an update keeps its
	// job's own.
	HTTP *HTTPInput
	Kept *HTTPCall
	// The policy, each nil when not given: the default on create, unchanged on update.
	Coalesce     *bool
	MisfireGrace *int64 // seconds
	MaxInstances *int64
	Retries      *int64
	RetryBackoff *int64 // seconds
	Timeout      *int64 // seconds; 0 is the center's default
	// PauseAfterFailures, OnSuccess and OnFailure: nil when not given.
	PauseAfterFailures *int64
	OnSuccess          *[]string
	OnFailure          *[]string
	// Overlap: nil when not given.
	Overlap *string
	// WorkerGroup and Route: nil when not given; WorkerGroup "" serves the job
	// without workers again.
	WorkerGroup *string
	Route       *string
}

// ForCreate validates a new job's definition by the SDK's rules: trigger is "date" or
// "interval"; an interval needs whole seconds > 0; a date needs run_date later than now,
// written "2025-07-09 16:00:00" (read in loc) or in ISO-8601; code or flow_id, one of the
// two; a name; a pid. The error is a *FieldError naming the first field at fault.
func (in Input) ForCreate(now time.Time, loc *time.Location) (Spec, error) {
	if strings.TrimSpace(in.Pid) == "" {
		return Spec{}, invalid("pid", "is required")
	}
	return in.spec(now, loc, DefaultPolicy(), Trigger{}, in.Kept)
}

// ForUpdate validates a changed definition by the same rules; an omitted pid keeps cur's.
func (in Input) ForUpdate(cur Spec, now time.Time, loc *time.Location) (Spec, error) {
	if strings.TrimSpace(in.Pid) == "" {
		in.Pid = cur.Pid
	}
	return in.spec(now, loc, cur.Policy, cur.Trigger, cur.Target.HTTP)
}

// spec builds a definition; cur is the trigger it replaces (zero on create): an end date
// it keeps as it is may have passed (the job is finished, and may still be renamed); call
// is the HTTP call it replaces (nil for none), whose header values a masked one keeps.
func (in Input) spec(now time.Time, loc *time.Location, base Policy, cur Trigger, call *HTTPCall) (Spec, error) {
	s := Spec{
		Pid:         strings.TrimSpace(in.Pid),
		Name:        strings.TrimSpace(in.Name),
		Description: in.Description,
	}
	// Each part is checked as soon as it is read, in the order of the request's fields, so
	// that the error names the first field at fault; the rules are Validate's.
	if err := s.checkNames(); err != nil {
		return Spec{}, err
	}
	// A description may span lines, but holds no other control character. Checked here,
	// for new writes only, not in Validate: descriptions recorded before still replay.
	if i := strings.IndexFunc(s.Description, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' }); i >= 0 {
		return Spec{}, invalid("description", "contains the control character U+%04X at byte %d (only tab and line breaks are allowed)", s.Description[i], i)
	}
	tr, err := in.trigger(now, loc)
	if err != nil {
		return Spec{}, err
	}
	if tr, err = in.lifetime(tr, now, loc, cur); err != nil {
		return Spec{}, err
	}
	if in.Jitter != nil {
		if err := checkSeconds("jitter", *in.Jitter, MaxJitter); err != nil {
			return Spec{}, err
		}
		tr.Jitter = time.Duration(*in.Jitter) * time.Second
	}
	if in.Calendars != nil && len(*in.Calendars) > 0 {
		tr.Calendars = slices.Clone(*in.Calendars)
	}
	if in.FixedDelay != nil && *in.FixedDelay {
		if tr.Kind != Interval {
			return Spec{}, invalid("fixed_delay", "only an interval job counts from the end of its last run")
		}
		tr.FixedDelay = true
	}
	s.Trigger = tr
	if err := s.checkTrigger(); err != nil {
		return Spec{}, err
	}
	tg, err := in.target(call)
	if err != nil {
		return Spec{}, err
	}
	s.Target = tg
	if err := s.checkTarget(); err != nil {
		return Spec{}, err
	}
	if s.Policy, err = in.policy(base); err != nil {
		return Spec{}, err
	}
	return s, s.checkPolicy()
}

// Validate checks the invariants every valid definition holds, whatever made it: a
// name, one target, a trigger that can be computed, a policy within bounds. The
// trigger checks each command's definition with it, so that no message — however it
// was made — can put a job into a state the scheduler cannot run.
func (s Spec) Validate() error {
	for _, check := range []func() error{s.checkNames, s.checkTarget, s.checkTrigger, s.checkPolicy} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// checkNames checks the definition's texts: pid, a name, a description.
func (s Spec) checkNames() error {
	if err := checkText("pid", s.Pid, MaxIDLen); err != nil {
		return err
	}
	if strings.TrimSpace(s.Name) == "" {
		return invalid("name", "is required")
	}
	if err := checkText("name", s.Name, MaxNameLen); err != nil {
		return err
	}
	return checkText("description", s.Description, MaxDescriptionLen)
}

// checkTarget checks that the definition runs one thing, of bounded size.
func (s Spec) checkTarget() error {
	if err := checkText("flow_id", s.Target.FlowID, MaxIDLen); err != nil {
		return err
	}
	if err := checkText("bizcode", s.Target.BizCode, MaxIDLen); err != nil {
		return err
	}
	targets := 0
	for _, v := range []string{s.Target.Code, s.Target.FlowID, s.Target.BizCode} {
		if v != "" {
			targets++
		}
	}
	if s.Target.HTTP != nil {
		if err := s.Target.HTTP.check(); err != nil {
			return err
		}
		targets++
	}
	if targets != 1 {
		return invalid("code", "exactly one of code, flow_id, http and bizcode is needed")
	}
	if n := len(s.Target.Code); n > MaxCodeBytes {
		return invalid("code", "is %d bytes, at most %d are allowed", n, MaxCodeBytes)
	}
	if !utf8.ValidString(s.Target.Code) {
		return invalid("code", "is not valid UTF-8")
	}
	return nil
}

// checkTrigger checks that the trigger's instants can be computed.
func (s Spec) checkTrigger() error {
	tr := s.Trigger
	switch tr.Kind {
	case Interval:
		if tr.Every%time.Second != 0 {
			return invalid("seconds", "must be a whole number of seconds, got %v", tr.Every)
		}
		if err := checkEvery(int64(tr.Every / time.Second)); err != nil {
			return err
		}
	case Date:
		if tr.RunAt.IsZero() || tr.RunAt.Year() > lastYear {
			return invalid("run_date", "is not a date this scheduler can fire")
		}
	case Cron:
		if _, err := ParseCron(tr.Cron); err != nil {
			return err
		}
		if _, err := LoadZone(tr.Zone); err != nil {
			return err
		}
	default:
		return invalid("trigger", "unknown trigger %q", clip(string(tr.Kind)))
	}
	if (!tr.Start.IsZero() || !tr.End.IsZero()) && tr.Kind == Date {
		return invalid("start_date", "only interval and cron jobs have a lifetime")
	}
	if !tr.End.IsZero() && !tr.End.After(tr.Start) {
		return invalid("end_date", "must be later than start_date")
	}
	if tr.FixedDelay && tr.Kind != Interval {
		return invalid("fixed_delay", "only an interval job counts from the end of its last run")
	}
	if err := CheckCalendars(tr.Calendars); err != nil {
		return err
	}
	if tr.Jitter%time.Second != 0 {
		return invalid("jitter", "must be a whole number of seconds, got %v", tr.Jitter)
	}
	return checkSeconds("jitter", durationSeconds(tr.Jitter), MaxJitter)
}

// checkPolicy checks every policy field against its bounds.
func (s Spec) checkPolicy() error {
	p := s.Policy
	for _, err := range []error{
		checkSeconds("misfire_grace_time", durationSeconds(p.MisfireGrace), MaxMisfireGrace),
		checkCount("max_instances", int64(p.MaxInstances), 1, MaxInstances),
		checkCount("retries", int64(p.Retries), 0, MaxRetries),
		checkSeconds("retry_backoff", durationSeconds(p.RetryBackoff), MaxRetryBackoff),
		checkSeconds("timeout", durationSeconds(p.Timeout), MaxTimeout),
		checkCount("pause_after_failures", int64(p.PauseAfterFailures), 0, MaxPauseAfterFailures),
		checkChain("on_success", p.OnSuccess),
		checkChain("on_failure", p.OnFailure),
		checkOverlap(p),
		checkFixedDelay(s),
		checkWorkers(s),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// CheckCalendars checks the names a job (or a preview) gives its calendars: well formed, each once, at
// most calendar.MaxPerJob. Whether they exist is the api's to check, where they are kept.
func CheckCalendars(names []string) error {
	if len(names) > calendar.MaxPerJob {
		return invalid("calendars", "names %d calendars, at most %d are allowed", len(names), calendar.MaxPerJob)
	}
	for i, n := range names {
		field := fmt.Sprintf("calendars[%d]", i)
		if err := calendar.CheckName(field, n); err != nil {
			var fe *calendar.FieldError
			errors.As(err, &fe)
			return invalid(field, "%s", fe.Msg)
		}
		if slices.Contains(names[:i], n) {
			return invalid(field, "names %q twice", n)
		}
	}
	return nil
}

// checkFixedDelay: a fixed-delay job's fire is never missed, since its next fire is
// counted from its run's end, which a missed fire does not have.
func checkFixedDelay(s Spec) error {
	if s.Trigger.FixedDelay && s.Policy.MisfireGrace != 0 {
		return invalid("misfire_grace_time", "does not apply to a fixed-delay job, which waits for each run's end: leave it 0")
	}
	return nil
}

// checkOverlap: a policy other than skip holds the job to one run at a time.
func checkOverlap(p Policy) error {
	switch {
	case p.Overlap == "":
		return nil
	case p.Overlap == OverlapSkip || !slices.Contains(Overlaps, p.Overlap):
		return invalid("overlap", "must be one of %s, got %q", listOf(Overlaps), clip(string(p.Overlap)))
	case p.MaxInstances != 1:
		return invalid("max_instances", "must be 1 with overlap %q, which decides what a fire does while the run goes on; got %d", p.Overlap, p.MaxInstances)
	}
	return nil
}

// listOf lists a set of string-named values for an error, in their order.
func listOf[T ~string](vs []T) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return strings.Join(out, ", ")
}

// checkEvery bounds an interval of n seconds.
func checkEvery(n int64) error {
	if n <= 0 {
		return invalid("seconds", "must be greater than 0, got %d", n)
	}
	if n > int64(MaxEvery/time.Second) {
		return invalid("seconds", "must be at most %d (ten years), got %d", int64(MaxEvery/time.Second), n)
	}
	return nil
}

// checkSeconds bounds a policy field of n seconds to 0..max.
func checkSeconds(field string, n int64, max time.Duration) error {
	if n < 0 || n > int64(max/time.Second) {
		return invalid(field, "must be from 0 to %d seconds, got %d", int64(max/time.Second), n)
	}
	return nil
}

// checkCount bounds a policy field to lo..hi.
func checkCount(field string, n int64, lo, hi int) error {
	if n < int64(lo) || n > int64(hi) {
		return invalid(field, "must be from %d to %d, got %d", lo, hi, n)
	}
	return nil
}

// durationSeconds is d in whole seconds rounded away from zero: a policy made of
// milliseconds (a message's) just past a bound, either bound, is still out of it.
func durationSeconds(d time.Duration) int64 {
	n := int64(d / time.Second)
	switch r := d % time.Second; {
	case r > 0:
		n++
	case r < 0:
		n--
	}
	return n
}

// Bounds of the policy fields.
const (
	MaxMisfireGrace = 7 * 24 * time.Hour
	MaxInstances    = 100
	MaxRetries      = 10
	// MaxPauseAfterFailures bounds pause_after_failures; MaxChildren each chain's jobs.
	MaxPauseAfterFailures = 100
	MaxChildren           = 20
	MaxRetryBackoff       = time.Hour
	MaxTimeout            = 24 * time.Hour
)

func (in Input) policy(p Policy) (Policy, error) {
	if in.Coalesce != nil {
		p.Coalesce = *in.Coalesce
	}
	// Bounded before they are converted, so that no number can overflow into range.
	seconds := func(field string, v *int64, max time.Duration, dst *time.Duration) error {
		if v == nil {
			return nil
		}
		if err := checkSeconds(field, *v, max); err != nil {
			return err
		}
		*dst = time.Duration(*v) * time.Second
		return nil
	}
	count := func(field string, v *int64, lo, hi int, dst *int) error {
		if v == nil {
			return nil
		}
		if err := checkCount(field, *v, lo, hi); err != nil {
			return err
		}
		*dst = int(*v)
		return nil
	}
	for _, err := range []error{
		seconds("misfire_grace_time", in.MisfireGrace, MaxMisfireGrace, &p.MisfireGrace),
		count("max_instances", in.MaxInstances, 1, MaxInstances, &p.MaxInstances),
		count("retries", in.Retries, 0, MaxRetries, &p.Retries),
		seconds("retry_backoff", in.RetryBackoff, MaxRetryBackoff, &p.RetryBackoff),
		seconds("timeout", in.Timeout, MaxTimeout, &p.Timeout),
		count("pause_after_failures", in.PauseAfterFailures, 0, MaxPauseAfterFailures, &p.PauseAfterFailures),
		chain("on_success", in.OnSuccess, &p.OnSuccess),
		chain("on_failure", in.OnFailure, &p.OnFailure),
	} {
		if err != nil {
			return Policy{}, err
		}
	}
	if in.Overlap != nil {
		o := Overlap(strings.TrimSpace(*in.Overlap))
		if !slices.Contains(Overlaps, o) {
			return Policy{}, invalid("overlap", "must be one of %s, got %q", listOf(Overlaps), clip(*in.Overlap))
		}
		if p.Overlap = o; o == OverlapSkip {
			p.Overlap = "" // the default, written as such: the job's info stays the seed's
		}
	}
	if in.WorkerGroup != nil {
		if p.Group = strings.TrimSpace(*in.WorkerGroup); p.Group == "" {
			p.Route = ""
		} else if p.Route == "" {
			p.Route = RouteRoundRobin
		}
	}
	if in.Route != nil {
		p.Route = Route(strings.TrimSpace(*in.Route))
		if p.Route == "" && p.Group != "" {
			p.Route = RouteRoundRobin
		}
	}
	return p, nil
}

// chain reads an optional list of child jobs; an empty list is none.
func chain(field string, v *[]string, dst *[]string) error {
	if v == nil {
		return nil
	}
	if err := checkChain(field, *v); err != nil {
		return err
	}
	*dst = nil
	if len(*v) > 0 {
		*dst = slices.Clone(*v)
	}
	return nil
}

// checkChain bounds a list of child jobs: at most MaxChildren ids, each 1 to 200
// characters without spaces, none twice.
func checkChain(field string, ids []string) error {
	if len(ids) > MaxChildren {
		return invalid(field, "at most %d jobs, got %d", MaxChildren, len(ids))
	}
	for i, id := range ids {
		if id == "" || len(id) > 200 || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == ',' }) {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "must be a job's id: 1 to 200 characters, no spaces or commas")
		}
		if slices.Index(ids, id) < i {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "%q is listed twice", clip(id))
		}
	}
	return nil
}

func (in Input) trigger(now time.Time, loc *time.Location) (Trigger, error) {
	if in.Trigger == string(Interval) || in.Trigger == string(Date) {
		// A cron's fields are refused on another trigger rather than dropped. (seconds and
		// run_date are not: the SDK's sdk_add_job sends seconds=60 whatever the trigger.)
		for _, f := range [...]struct{ field, value string }{{"cron", in.Cron}, {"timezone", in.Timezone}} {
			if strings.TrimSpace(f.value) != "" {
				return Trigger{}, invalid(f.field, `belongs to a cron trigger; this job's trigger is %q`, in.Trigger)
			}
		}
	}
	switch in.Trigger {
	case string(Interval):
		if in.Seconds == nil {
			return Trigger{}, invalid("seconds", `is required when trigger is "interval"`)
		}
		// Bounded before it is converted, so that no number can overflow into range.
		if err := checkEvery(*in.Seconds); err != nil {
			return Trigger{}, err
		}
		return Trigger{Kind: Interval, Every: time.Duration(*in.Seconds) * time.Second}, nil
	case string(Date):
		if strings.TrimSpace(in.RunDate) == "" {
			return Trigger{}, invalid("run_date", `is required when trigger is "date"`)
		}
		at, err := ParseRunDate(in.RunDate, loc)
		if err != nil {
			return Trigger{}, err
		}
		if !at.After(now) {
			return Trigger{}, invalid("run_date", "must be later than now (%s)", now.In(loc).Format(LocalLayout))
		}
		return Trigger{Kind: Date, RunAt: at}, nil
	case string(Cron):
		return cronTrigger(in.Cron, in.Timezone, "cron", now, loc)
	case "":
		return Trigger{}, invalid("trigger", `is required: "date", "interval" or "cron"`)
	}
	return Trigger{}, invalid("trigger", `must be "date", "interval" or "cron", got %q`, clip(in.Trigger))
}

// lifetime bounds an interval or cron trigger by start_date and end_date: end after
// start, and at least one fire left after now within them.
func (in Input) lifetime(tr Trigger, now time.Time, loc *time.Location, cur Trigger) (Trigger, error) {
	for _, f := range []struct {
		field, text string
		dst         *time.Time
	}{{"start_date", in.StartDate, &tr.Start}, {"end_date", in.EndDate, &tr.End}} {
		if strings.TrimSpace(f.text) == "" {
			continue
		}
		if tr.Kind == Date {
			return Trigger{}, invalid(f.field, "only interval and cron jobs have a lifetime: a date job fires once, at run_date")
		}
		at, err := ParseRunDate(f.text, loc)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return Trigger{}, &FieldError{Field: f.field, Msg: fe.Msg}
			}
			return Trigger{}, err
		}
		*f.dst = at
	}
	if !tr.End.IsZero() && !tr.End.After(tr.Start) {
		return Trigger{}, invalid("end_date", "must be later than start_date")
	}
	if kept := !tr.End.IsZero() && tr.End.Equal(cur.End); kept {
		return tr, nil // the end the job has: passed or not, it stands
	}
	if !tr.End.IsZero() && !tr.End.After(now) {
		return Trigger{}, invalid("end_date", "must be later than now (%s)", now.In(loc).Format(LocalLayout))
	}
	if (!tr.Start.IsZero() || !tr.End.IsZero()) && tr.Kind == Cron {
		if _, ok := tr.Next(now, now); !ok {
			field := "end_date"
			if tr.End.IsZero() {
				field = "start_date"
			}
			return Trigger{}, invalid(field, "leaves no instant of the cron expression after now")
		}
	}
	return tr, nil
}

// target reads the one thing a job runs: code, a flow or an HTTP call (old is the call it
// replaces, nil for none).
func (in Input) target(old *HTTPCall) (Target, error) {
	code, flow := in.Code, strings.TrimSpace(in.FlowID)
	given := 0
	for _, set := range []bool{strings.TrimSpace(code) != "", flow != "", in.HTTP != nil} {
		if set {
			given++
		}
	}
	switch {
	case given == 0:
		return Target{}, invalid("code", "code, flow_id or http is required")
	case given > 1 && in.HTTP != nil:
		return Target{}, invalid("http", "give one of code, flow_id and http, not more")
	case given > 1:
		return Target{}, invalid("flow_id", "give either code or flow_id, not both")
	case in.HTTP != nil:
		c, err := in.HTTP.call(old)
		if err != nil {
			return Target{}, err
		}
		return Target{HTTP: &c}, nil
	case flow != "":
		return Target{FlowID: flow}, nil
	}
	return Target{Code: code}, nil
}

// checkText enforces a text field's length (in characters) and encoding.
func checkText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return invalid(field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "is %d characters long, at most %d are allowed", n, max)
	}
	for _, r := range s {
		if r < 0x20 && field != "description" || r == 0x7f {
			return invalid(field, "contains a control character")
		}
	}
	return nil
}

// clip shortens a value quoted back in an error message.
func clip(s string) string { return Clip(s, 40) }

// Clip bounds s to n bytes for an error message, cutting at the start of a character
// (never through one) and marking the cut with "…".
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
