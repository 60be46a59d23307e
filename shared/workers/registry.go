// Package workers keeps the registry of a center's workers — each tenant's worker
// processes, by group, as their heartbeats tell — and picks the worker a fire goes to by
// its job's route. The executors dispatch by it and the api lists it; both follow the
// heartbeats (Follow), so neither stores anything: a worker not heard of for
// contracts.WorkerGoneAfter is gone.
package workers

import (
	"cmp"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
)

// Worker is what the registry knows of a worker: its last heartbeat, and when it came.
type Worker struct {
	contracts.WorkerBeat
	Tenant   string
	LastBeat time.Time
}

// Registry holds the workers heard of lately. Its zero value is not usable: NewRegistry.
type Registry struct {
	now func() time.Time
	mu  sync.Mutex
	// by tenant, then worker id
	workers map[string]map[string]*Worker
	// inFlight counts the runs handed out here and not yet ended, by worker: a worker's
	// load is at least that, whatever its last heartbeat (up to two seconds old) said.
	inFlight map[string]int
}

// NewRegistry returns an empty registry on clock now (time.Now when nil).
func NewRegistry(now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{now: now, workers: map[string]map[string]*Worker{}, inFlight: map[string]int{}}
}

// MaxWorkersPerTenant bounds what one tenant's heartbeats can make the registry hold.
const MaxWorkersPerTenant = 1000

// Beat records a heartbeat of tenant's worker; a leaving worker takes no new run, and
// is dropped once it has none under way. A beat that is not well formed is ignored
// (false).
func (r *Registry) Beat(tenant string, b contracts.WorkerBeat) bool {
	if b.ID == "" || len(b.ID) > 64 || job.CheckGroup("group", b.Group) != nil || len(b.Handles) > 1000 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ws := r.workers[tenant]
	if b.Leaving && b.Running == 0 {
		if ws != nil {
			delete(ws, b.ID)
		}
		return true
	}
	if ws == nil {
		ws = map[string]*Worker{}
		r.workers[tenant] = ws
	}
	w, ok := ws[b.ID]
	if !ok {
		if len(ws) >= MaxWorkersPerTenant {
			r.expire(tenant)
			if len(ws) >= MaxWorkersPerTenant {
				return false
			}
		}
		w = &Worker{Tenant: tenant}
		ws[b.ID] = w
	}
	w.WorkerBeat, w.LastBeat = b, r.now()
	return true
}

// expire drops tenant's workers not heard of for WorkerGoneAfter; r.mu is held.
func (r *Registry) expire(tenant string) {
	cut := r.now().Add(-contracts.WorkerGoneAfter)
	for id, w := range r.workers[tenant] {
		if w.LastBeat.Before(cut) {
			delete(r.workers[tenant], id)
		}
	}
	if len(r.workers[tenant]) == 0 {
		delete(r.workers, tenant)
	}
}

// Online lists tenant's workers heard of lately, of group when it is not "", by group
// then in the order they joined.
func (r *Registry) Online(tenant, group string) []Worker {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(tenant)
	var out []Worker
	for _, w := range r.workers[tenant] {
		if group == "" || w.Group == group {
			c := *w
			c.Handles = slices.Clone(w.Handles)
			c.Running = max(c.Running, r.inFlight[tenant+" "+w.ID])
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Worker) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), a.Since.Compare(b.Since), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Alive reports whether tenant's worker id was heard of lately and is not leaving.
func (r *Registry) Alive(tenant, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.workers[tenant][id]
	return ok && !w.LastBeat.Before(r.now().Add(-contracts.WorkerGoneAfter))
}

// Dispatched counts a run handed to tenant's worker id until ended is called.
func (r *Registry) Dispatched(tenant, id string) (ended func()) {
	key := tenant + " " + id
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight[key]++
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.inFlight[key]--; r.inFlight[key] <= 0 {
			delete(r.inFlight, key)
		}
	}
}

// Eligible are the workers of tenant's group that handle handler and take runs, in the
// order they joined.
func (r *Registry) Eligible(tenant, group, handler string) []Worker {
	var out []Worker
	for _, w := range r.Online(tenant, group) {
		if !w.Leaving && slices.Contains(w.Handles, handler) && (w.Capacity <= 0 || w.Running < w.Capacity) {
			out = append(out, w)
		}
	}
	return out
}

// Order puts the eligible workers in the order a fire tries them by route: the worker
// the route picks first, then the others (tried when it does not take the run). seq is
// the run's number (round robin), jobID the job's (consistent hash). Sharding runs on
// every worker: their order is the shards'.
func Order(route job.Route, ws []Worker, jobID string, seq int64) []Worker {
	if len(ws) < 2 {
		return ws
	}
	out := slices.Clone(ws)
	first := 0
	switch route {
	case job.RouteRoundRobin:
		first = int(uint64(seq) % uint64(len(out)))
	case job.RouteRandom:
		first = rand.IntN(len(out))
	case job.RouteConsistentHash:
		// Rendezvous hashing: the worker whose hash with the job is highest, so a worker
		// that leaves moves only the jobs it had.
		best := uint64(0)
		for i, w := range out {
			h := fnv.New64a()
			_, _ = h.Write([]byte(jobID + "\x00" + w.ID))
			if s := h.Sum64(); i == 0 || s > best {
				first, best = i, s
			}
		}
	case job.RouteLeastBusy:
		for i, w := range out {
			if w.Running < out[first].Running {
				first = i
			}
		}
	}
	return append(out[first:], out[:first]...)
}
