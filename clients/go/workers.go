package jobcenter

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Routes (JobSpec.Route): how each fire of a job its workers serve picks its worker of
// JobSpec.WorkerGroup (XXL-JOB's routing strategies).
const (
	// RouteRoundRobin, the default: the job's runs go to the group's workers in turn.
	RouteRoundRobin = "round_robin"
	// RouteRandom: any worker of the group.
	RouteRandom = "random"
	// RouteConsistentHash: the same worker for the job while the group stays the same;
	// a worker that leaves moves only its own jobs.
	RouteConsistentHash = "consistent_hash"
	// RouteFailover: the first worker, in the order they joined, that takes the run.
	RouteFailover = "failover"
	// RouteLeastBusy: the worker with the fewest runs under way.
	RouteLeastBusy = "least_busy"
	// RouteSharding: every worker of the group runs the fire, each told its shard index
	// and the total; the journal's one entry shows each shard's outcome, and the run
	// succeeds when every shard does.
	RouteSharding = "sharding"
)

// WorkerGroup is a worker group of the project and its workers online, in the order
// they joined. None online: the group's fires wait for one (the job's misfire grace
// time, else the center's JOBCENTER_WORKER_WAIT).
type WorkerGroup struct {
	Group   string   `json:"group"`
	Workers []Worker `json:"workers"`
}

// Worker is a worker online: one heard of within the last 6 s (it sends a heartbeat
// every 2 s). Workers are the tenant's own processes: see the package
// github.com/jobcenter/jobcenter/clients/go/worker.
type Worker struct {
	ID      string `json:"id"`
	Host    string `json:"host"`
	Version string `json:"version"`
	// Since is when it started.
	Since time.Time `json:"since"`
	// Running is its runs under way, Capacity how many it makes at once.
	Running  int `json:"running"`
	Capacity int `json:"capacity"`
	// Handles are the flows and behaviours it runs.
	Handles       []string  `json:"handles"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// Leaving is set once it stops: it takes no new run, and leaves once its runs under
	// way end.
	Leaving bool `json:"leaving"`
}

// Workers lists the project's worker groups that have a worker online, each with its
// workers in the order they joined; none is an empty list.
func (c *Client) Workers(ctx context.Context) ([]WorkerGroup, error) {
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodGet, path: "/api/v1/workers"})
	if err != nil {
		return nil, err
	}
	var out struct {
		Groups []WorkerGroup `json:"groups"`
	}
	if err := a.decode(&out); err != nil {
		return nil, err
	}
	if out.Groups == nil {
		out.Groups = []WorkerGroup{}
	}
	return out.Groups, nil
}

// WorkerGroup reads one worker group's workers online; a group with none online is no
// error but an empty Workers (its fires wait). A group name that is none (1 to 64
// letters, digits, '-' or '_') is an *APIError 400 naming group.
func (c *Client) WorkerGroup(ctx context.Context, group string) (WorkerGroup, error) {
	name := group
	if name == "" {
		// An empty name would name the list; a blank one is the server's to refuse.
		name = " "
	}
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodGet, path: "/api/v1/workers/" + url.PathEscape(name)})
	if err != nil {
		return WorkerGroup{}, err
	}
	var g WorkerGroup
	if err := a.decode(&g); err != nil {
		return WorkerGroup{}, err
	}
	if g.Workers == nil {
		g.Workers = []Worker{}
	}
	return g, nil
}
