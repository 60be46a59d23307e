package job

import (
	"sync"
	"time"

	"github.com/jobcenter/jobcenter/shared/cron"
)

// parsed caches parsed expressions: Next runs for every fire of every cron job, and
// parsing (about a microsecond) costs more than the next time itself. The cache is
// bounded, since anyone may preview any expression: when full it starts afresh.
var parsed = struct {
	sync.Mutex
	m map[string]*cron.Expr
}{m: map[string]*cron.Expr{}}

const maxParsed = 4096

var zones sync.Map // zone name → *time.Location; the zone database bounds it

// ParseCron parses a Quartz cron expression, once per distinct expression.
func ParseCron(expr string) (*cron.Expr, error) {
	parsed.Lock()
	e, ok := parsed.m[expr]
	parsed.Unlock()
	if ok {
		return e, nil
	}
	e, err := cron.Parse(expr)
	if err != nil {
		return nil, invalid("cronexpression", "%s", err.Error())
	}
	parsed.Lock()
	if len(parsed.m) >= maxParsed {
		parsed.m = map[string]*cron.Expr{}
	}
	parsed.m[expr] = e
	parsed.Unlock()
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
