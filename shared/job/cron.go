package job

import (
	"sync"
	"time"

	"github.com/jobcenter/jobcenter/shared/cron"
)

// parsedCron caches parsed expressions and loaded zones: Next runs for every fire of
// every cron job, and parsing is the expensive part.
var parsedCron sync.Map // expression → *cron.Expr

var zones sync.Map // zone name → *time.Location

func nextCron(expr, zone string, t time.Time) (time.Time, bool) {
	e, err := ParseCron(expr)
	if err != nil {
		return time.Time{}, false
	}
	loc, err := LoadZone(zone)
	if err != nil {
		return time.Time{}, false
	}
	return e.Next(t, loc)
}

// ParseCron parses a Quartz cron expression, once per distinct expression.
func ParseCron(expr string) (*cron.Expr, error) {
	if e, ok := parsedCron.Load(expr); ok {
		return e.(*cron.Expr), nil
	}
	e, err := cron.Parse(expr)
	if err != nil {
		return nil, invalid("cronexpression", "%s", err.Error())
	}
	parsedCron.Store(expr, e)
	return e, nil
}

// LoadZone loads an IANA time zone by name ("" is UTC), once per name.
func LoadZone(name string) (*time.Location, error) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, invalid("time_zone", "unknown time zone %q", clip(name))
	}
	zones.Store(name, l)
	return l, nil
}
