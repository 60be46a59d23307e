package job

import (
	"strings"
	"time"
	"unicode/utf8"
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

// lastYear is the last year a date may name: Quartz's bound too.
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
	FlowID  string
	Code    string
	// The policy, each nil when not given: the default on create, unchanged on update.
	Coalesce     *bool
	MisfireGrace *int64 // seconds
	MaxInstances *int64
	Retries      *int64
	RetryBackoff *int64 // seconds
}

// ForCreate validates a new job's definition by the SDK's rules: trigger is "date" or
// "interval"; an interval needs whole seconds > 0; a date needs run_date later than now,
// written "2025-07-09 16:00:00" (read in loc) or in ISO-8601; code or flow_id, one of the
// two; a name; a pid. The error is a *FieldError naming the first field at fault.
func (in Input) ForCreate(now time.Time, loc *time.Location) (Spec, error) {
	if strings.TrimSpace(in.Pid) == "" {
		return Spec{}, invalid("pid", "is required")
	}
	return in.spec(now, loc, DefaultPolicy())
}

// ForUpdate validates a changed definition by the same rules; an omitted pid keeps cur's.
func (in Input) ForUpdate(cur Spec, now time.Time, loc *time.Location) (Spec, error) {
	if strings.TrimSpace(in.Pid) == "" {
		in.Pid = cur.Pid
	}
	return in.spec(now, loc, cur.Policy)
}

func (in Input) spec(now time.Time, loc *time.Location, base Policy) (Spec, error) {
	s := Spec{
		Pid:         strings.TrimSpace(in.Pid),
		Name:        strings.TrimSpace(in.Name),
		Description: in.Description,
	}
	if err := checkText("pid", s.Pid, MaxIDLen); err != nil {
		return Spec{}, err
	}
	if s.Name == "" {
		return Spec{}, invalid("name", "is required")
	}
	if err := checkText("name", s.Name, MaxNameLen); err != nil {
		return Spec{}, err
	}
	if err := checkText("description", s.Description, MaxDescriptionLen); err != nil {
		return Spec{}, err
	}
	tr, err := in.trigger(now, loc)
	if err != nil {
		return Spec{}, err
	}
	s.Trigger = tr
	tg, err := in.target()
	if err != nil {
		return Spec{}, err
	}
	s.Target = tg
	if s.Policy, err = in.policy(base); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// Bounds of the policy fields.
const (
	MaxMisfireGrace = 7 * 24 * time.Hour
	MaxInstances    = 100
	MaxRetries      = 10
	MaxRetryBackoff = time.Hour
)

func (in Input) policy(p Policy) (Policy, error) {
	if in.Coalesce != nil {
		p.Coalesce = *in.Coalesce
	}
	seconds := func(field string, v *int64, max time.Duration, dst *time.Duration) error {
		if v == nil {
			return nil
		}
		if *v < 0 || *v > int64(max/time.Second) {
			return invalid(field, "must be from 0 to %d seconds, got %d", int64(max/time.Second), *v)
		}
		*dst = time.Duration(*v) * time.Second
		return nil
	}
	count := func(field string, v *int64, lo, hi int, dst *int) error {
		if v == nil {
			return nil
		}
		if *v < int64(lo) || *v > int64(hi) {
			return invalid(field, "must be from %d to %d, got %d", lo, hi, *v)
		}
		*dst = int(*v)
		return nil
	}
	for _, err := range []error{
		seconds("misfire_grace_time", in.MisfireGrace, MaxMisfireGrace, &p.MisfireGrace),
		count("max_instances", in.MaxInstances, 1, MaxInstances, &p.MaxInstances),
		count("retries", in.Retries, 0, MaxRetries, &p.Retries),
		seconds("retry_backoff", in.RetryBackoff, MaxRetryBackoff, &p.RetryBackoff),
	} {
		if err != nil {
			return Policy{}, err
		}
	}
	return p, nil
}

func (in Input) trigger(now time.Time, loc *time.Location) (Trigger, error) {
	switch in.Trigger {
	case string(Interval):
		if in.Seconds == nil {
			return Trigger{}, invalid("seconds", `is required when trigger is "interval"`)
		}
		n := *in.Seconds
		if n <= 0 {
			return Trigger{}, invalid("seconds", "must be greater than 0, got %d", n)
		}
		if n > int64(MaxEvery/time.Second) {
			return Trigger{}, invalid("seconds", "must be at most %d (ten years), got %d", int64(MaxEvery/time.Second), n)
		}
		return Trigger{Kind: Interval, Every: time.Duration(n) * time.Second}, nil
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
	case "":
		return Trigger{}, invalid("trigger", `is required: "date" or "interval"`)
	}
	return Trigger{}, invalid("trigger", `must be "date" or "interval", got %q`, clip(in.Trigger))
}

func (in Input) target() (Target, error) {
	code, flow := in.Code, strings.TrimSpace(in.FlowID)
	switch {
	case strings.TrimSpace(code) == "" && flow == "":
		return Target{}, invalid("code", "code or flow_id is required")
	case strings.TrimSpace(code) != "" && flow != "":
		return Target{}, invalid("flow_id", "give either code or flow_id, not both")
	case flow != "":
		return Target{FlowID: flow}, checkText("flow_id", flow, MaxIDLen)
	}
	if len(code) > MaxCodeBytes {
		return Target{}, invalid("code", "is %d bytes, at most %d are allowed", len(code), MaxCodeBytes)
	}
	if !utf8.ValidString(code) {
		return Target{}, invalid("code", "is not valid UTF-8")
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
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
