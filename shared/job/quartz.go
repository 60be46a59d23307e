package job

import (
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
	expr := strings.TrimSpace(in.CronExpression)
	if expr == "" {
		return Spec{}, invalid("cronexpression", "is required")
	}
	if len(expr) > 256 {
		return Spec{}, invalid("cronexpression", "is longer than 256 characters")
	}
	if _, err := ParseCron(expr); err != nil {
		return Spec{}, err
	}
	zone := strings.TrimSpace(in.TimeZone)
	if zone == "" {
		zone = def.String()
	}
	if _, err := LoadZone(zone); err != nil {
		return Spec{}, invalid("timezone", "unknown time zone %q", clip(zone)) // the Quartz body's name for it
	}
	s.Trigger = Trigger{Kind: Cron, Cron: expr, Zone: zone}
	if _, ok := s.Trigger.Next(now, now); !ok {
		return Spec{}, invalid("cronexpression", "%q never fires after now", clip(expr))
	}
	return s, nil
}
