package job

import (
	"slices"
	"strings"
)

// Route is how a fire of a job its workers serve picks its worker: XXL-JOB's routing
// strategies, named as PowerJob and XXL-JOB users know them.
type Route string

// Routes.
const (
	// RouteRoundRobin: the job's runs go to the group's workers in turn (by run number,
	// so every executor agrees).
	RouteRoundRobin = Route("round_robin")
	// RouteRandom: any of them.
	RouteRandom = Route("random")
	// RouteConsistentHash: the same worker for the same job while the group stays the
	// same; a worker that leaves moves only its own jobs.
	RouteConsistentHash = Route("consistent_hash")
	// RouteFailover: the first worker, in the order they joined, that takes the run.
	RouteFailover = Route("failover")
	// RouteLeastBusy: the worker with the fewest runs under way.
	RouteLeastBusy = Route("least_busy")
	// RouteSharding: every worker of the group runs the fire, each told its shard index
	// and the total; the run succeeds when every shard does.
	RouteSharding = Route("sharding")
)

// Routes lists them, the default first.
var Routes = []Route{RouteRoundRobin, RouteRandom, RouteConsistentHash, RouteFailover, RouteLeastBusy, RouteSharding}

// MaxGroupLen bounds a worker group's name.
const MaxGroupLen = 64

// CheckGroup checks a worker group's name: letters, digits, '-' and '_' (it names NATS
// subjects and appears in URLs).
func CheckGroup(field, g string) error {
	if g == "" || len(g) > MaxGroupLen || strings.ContainsFunc(g, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		return invalid(field, "must be 1 to %d letters, digits, '-' or '_', got %q", MaxGroupLen, Clip(g, 80))
	}
	return nil
}

// checkWorkers: a job its workers serve names a group and a route, and runs a flow or a
// behaviour (what a worker handles); a route needs a group.
func checkWorkers(s Spec) error {
	p := s.Policy
	if p.Group == "" {
		if p.Route != "" {
			return invalid("route", "applies to a job served by workers: give its worker_group too")
		}
		return nil
	}
	if err := CheckGroup("worker_group", p.Group); err != nil {
		return err
	}
	if !slices.Contains(Routes, p.Route) {
		return invalid("route", "must be one of %s, got %q", listOf(Routes), Clip(string(p.Route), 40))
	}
	if s.Target.FlowID == "" && s.Target.BizCode == "" {
		return invalid("worker_group", "workers run a flow or a behaviour: give flow_id, not code or http")
	}
	return nil
}
