package job

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"time"
)

// QuartzInput is a Quartz schedule as the Quartz API's "save" sends it: a cron schedule
// for a business behaviour.
type QuartzInput struct {
	JobName        string
	CronExpression string
	BizCode        string
	// TimeZone is optional: the schedule's own IANA zone instead of the configured one.
	TimeZone string
	// Calendars name the tenant's calendars whose excluded times are no fire.
	Calendars []string
	// WorkerGroup, when given, has the tenant's workers of that group run the behaviour,
	// picked by Route (round_robin when none is given).
	WorkerGroup, Route string
}

// Spec validates a Quartz schedule: a job name, a behaviour code, and a Quartz cron
// expression that fires at least once after now, read in the schedule's zone (def when
// none is given).
func (in QuartzInput) Spec(now time.Time, def *time.Location) (Spec, error) {
	s := Spec{Name: strings.TrimSpace(in.JobName), Target: Target{BizCode: strings.TrimSpace(in.BizCode)}, Policy: DefaultPolicy()}
	if s.Name == "" {
		return Spec{}, invalid("jobname", "is required")
	}
	if err := checkText("jobname", s.Name, MaxNameLen); err != nil {
		return Spec{}, err
	}
	if s.Target.BizCode == "" {
		return Spec{}, invalid("bizcode", "is required")
	}
	if err := checkText("bizcode", s.Target.BizCode, MaxIDLen); err != nil {
		return Spec{}, err
	}
	if strings.Contains(s.Target.BizCode, ",") {
		// The status query takes codes separated by commas: such a schedule could not be asked for.
		return Spec{}, invalid("bizcode", "must not contain a comma: queryjobstatus separates codes with commas")
	}
	tr, err := cronTrigger(in.CronExpression, in.TimeZone, "cronexpression", now, def)
	if err != nil {
		return Spec{}, err
	}
	if len(in.Calendars) > 0 {
		tr.Calendars = slices.Clone(in.Calendars)
		if err := CheckCalendars(tr.Calendars); err != nil {
			return Spec{}, err
		}
	}
	s.Trigger = tr
	if s.Policy.Group = strings.TrimSpace(in.WorkerGroup); s.Policy.Group != "" {
		s.Policy.Route = cmp.Or(Route(strings.TrimSpace(in.Route)), RouteRoundRobin)
	} else {
		s.Policy.Route = Route(strings.TrimSpace(in.Route))
	}
	if err := checkWorkers(s); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// cronTrigger is the one rule of a cron trigger, for both facades: a Quartz expression
// (field names it in errors: the Quartz body's "cronexpression", the SDK's "cron") of at
// most 256 characters that fires at least once after now, read in zone ("timezone"; def
// when none is given).
func cronTrigger(expr, zone, field string, now time.Time, def *time.Location) (Trigger, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return Trigger{}, invalid(field, "is required")
	}
	if len(expr) > 256 {
		return Trigger{}, invalid(field, "is longer than 256 characters")
	}
	if _, err := ParseCron(expr); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			// The parser's message begins with its own name, which the field says.
			return Trigger{}, &FieldError{Field: field, Msg: strings.TrimPrefix(fe.Msg, "cron: ")}
		}
		return Trigger{}, err
	}
	zone = strings.TrimSpace(zone)
	if zone == "" {
		zone = def.String()
	}
	if _, err := LoadZone(zone); err != nil {
		return Trigger{}, invalid("timezone", "unknown time zone %q", clip(zone))
	}
	tr := Trigger{Kind: Cron, Cron: expr, Zone: zone}
	if _, ok := tr.Next(now, now); !ok {
		return Trigger{}, invalid(field, "%q never fires after now", clip(expr))
	}
	return tr, nil
}
