package job

import (
	"sync"
	"time"

	"github.com/jobcenter/jobcenter/shared/cron"
)

// compileCache keeps parsed cron expressions and loaded zones: the scheduler compiles a
// cron job's trigger once per plan, but the api's next_run_time and previews, and the
// domain's rules, compile one per request, and parsing (about a microsecond) costs more
// than the next time itself. Expressions are bounded, since anyone may preview any:
// when full the cache starts afresh. Zones are bounded by the zone database.
type compileCache struct {
	mu    sync.Mutex
	crons map[string]*cron.Expr
	max   int
	zones sync.Map // zone name → *time.Location
}

func newCompileCache(max int) *compileCache {
	return &compileCache{crons: map[string]*cron.Expr{}, max: max}
}

// compiled is the cache ParseCron and LoadZone use.
var compiled = newCompileCache(4096)

func (c *compileCache) cron(expr string) (*cron.Expr, error) {
	c.mu.Lock()
	e, ok := c.crons[expr]
	c.mu.Unlock()
	if ok {
		return e, nil
	}
	e, err := cron.Parse(expr)
	if err != nil {
		return nil, invalid("cronexpression", "%s", err.Error())
	}
	c.mu.Lock()
	if len(c.crons) >= c.max {
		c.crons = map[string]*cron.Expr{}
	}
	c.crons[expr] = e
	c.mu.Unlock()
	return e, nil
}

func (c *compileCache) zone(name string) (*time.Location, error) {
	if l, ok := c.zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, invalid("time_zone", "unknown time zone %q", clip(name))
	}
	c.zones.Store(name, l)
	return l, nil
}

// ParseCron parses a Quartz cron expression, once per distinct expression.
func ParseCron(expr string) (*cron.Expr, error) { return compiled.cron(expr) }

// LoadZone loads an IANA time zone by name ("" is UTC), once per name.
func LoadZone(name string) (*time.Location, error) { return compiled.zone(name) }
