// Package jobview is the api's copy of every live job, so that reading a job, listing a
// project's jobs and finding a behaviour's schedule do not reach the store. It is loaded
// from the store once, then kept by the lifecycle events that follow the store's jobs
// checkpoint (each carries its job whole) and by the outcomes of the api's own writes:
// the store is written behind the events, the view is not.
//
// A job's newer version always wins, so an entry never goes back in time, and a deleted
// job's version is remembered (up to a bound) so that a late state cannot bring it back.
// The view answers for what it does not hold only while it is complete: loaded, caught up
// with the events, and holding every live job (no more than its cap). Otherwise a job
// it does not hold, and every list, is the store's to answer. It holds no transport or
// store code: the api's root feeds it.
package jobview

import (
	"cmp"
	"slices"
	"sync"

	"github.com/jobcenter/jobcenter/shared/job"
)

// Found says what the view knows of a job it was asked for.
type Found int

const (
	// Unknown: the view does not hold the job and is not complete; ask the store.
	Unknown Found = iota
	// Absent: the view is complete and holds no live job of that id.
	Absent
	// Held: the job returned is the newest state.
	Held
)

// goneKept bounds the deleted jobs whose versions the view remembers.
const goneKept = 100_000

type listRef struct{ tenant, pid string }
type bizRef struct{ tenant, code string }

// View holds live jobs by id, by scheduler id, in each list (a tenant's, and a tenant's
// project's, ordered by creation then id, as the store orders them), and each
// behaviour's live schedule.
type View struct {
	max int

	mu    sync.RWMutex
	jobs  map[string]*job.Job
	keys  map[string]string
	biz   map[bizRef]string
	lists map[listRef][]*job.Job
	// gone remembers deleted jobs' last versions; ring is their order, oldest first.
	gone     map[string]int64
	ring     []string
	next     int
	complete bool
	// full: a job was turned away at the cap, so the view cannot be complete again until
	// it is loaded afresh.
	full bool
}

// New returns an empty view of at most max jobs (0: it holds none).
func New(max int) *View {
	v := &View{max: max}
	v.reset()
	return v
}

func (v *View) reset() {
	v.jobs, v.keys, v.biz = map[string]*job.Job{}, map[string]string{}, map[bizRef]string{}
	v.lists, v.gone, v.ring, v.next = map[listRef][]*job.Job{}, map[string]int64{}, nil, 0
	v.complete, v.full = false, false
}

// Reset forgets everything: the view is loaded again.
func (v *View) Reset() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reset()
}

// Complete marks the view loaded and caught up; it stays incomplete if a job was turned
// away at the cap. It reports whether the view is complete.
func (v *View) Complete() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.complete = !v.full
	return v.complete
}

// IsComplete reports whether the view answers for jobs it does not hold.
func (v *View) IsComplete() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.complete
}

// Len is how many live jobs the view holds.
func (v *View) Len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.jobs)
}

// Learn takes a job's state, from the store, an event or a write's outcome: it is kept
// if it is newer than what the view has.
func (v *View) Learn(j job.Job) {
	if j.ID == "" {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	cur := v.jobs[j.ID]
	switch {
	case cur != nil && j.Version <= cur.Version:
		return
	case cur == nil && v.gone[j.ID] >= j.Version && v.gone[j.ID] > 0:
		return
	}
	if cur != nil {
		v.drop(cur)
	}
	if !j.Live() {
		v.bury(j.ID, j.Version)
		return
	}
	if cur == nil && len(v.jobs) >= v.max {
		v.full, v.complete = true, false
		return
	}
	v.add(&j)
}

func (v *View) add(j *job.Job) {
	v.jobs[j.ID] = j
	if j.Key != "" {
		v.keys[j.Key] = j.ID
	}
	if code := j.Spec.Target.BizCode; code != "" {
		v.biz[bizRef{j.Tenant, code}] = j.ID
	}
	for _, ref := range refs(j) {
		v.lists[ref] = insert(v.lists[ref], j)
	}
}

func (v *View) drop(j *job.Job) {
	delete(v.jobs, j.ID)
	if v.keys[j.Key] == j.ID {
		delete(v.keys, j.Key)
	}
	ref := bizRef{j.Tenant, j.Spec.Target.BizCode}
	if v.biz[ref] == j.ID {
		delete(v.biz, ref)
	}
	for _, lr := range refs(j) {
		if l := remove(v.lists[lr], j); len(l) > 0 {
			v.lists[lr] = l
		} else {
			delete(v.lists, lr)
		}
	}
}

// bury remembers a deleted job's version, forgetting the oldest past goneKept.
func (v *View) bury(id string, version int64) {
	if _, ok := v.gone[id]; !ok {
		if len(v.ring) < goneKept {
			v.ring = append(v.ring, id)
		} else {
			delete(v.gone, v.ring[v.next])
			v.ring[v.next] = id
			v.next = (v.next + 1) % goneKept
		}
	}
	v.gone[id] = version
}

// refs are the lists a job is in: its tenant's, and its tenant's project's when it has
// one (a Quartz schedule has none).
func refs(j *job.Job) []listRef {
	if j.Spec.Pid == "" {
		return []listRef{{j.Tenant, ""}}
	}
	return []listRef{{j.Tenant, ""}, {j.Tenant, j.Spec.Pid}}
}

func order(a, b *job.Job) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// insert puts j in its place in l; a job newer than all (the common case) is appended.
func insert(l []*job.Job, j *job.Job) []*job.Job {
	if n := len(l); n == 0 || order(l[n-1], j) < 0 {
		return append(l, j)
	}
	i, _ := slices.BinarySearchFunc(l, j, order)
	return slices.Insert(l, i, j)
}

func remove(l []*job.Job, j *job.Job) []*job.Job {
	if i, ok := slices.BinarySearchFunc(l, j, order); ok {
		return slices.Delete(l, i, i+1)
	}
	return l
}

// Get returns the live job that ref names, by its record id or its scheduler id.
func (v *View) Get(ref string) (job.Job, Found) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	j := v.jobs[ref]
	if j == nil {
		if id, ok := v.keys[ref]; ok {
			j = v.jobs[id]
		}
	}
	switch {
	case j != nil:
		return *j, Held
	case v.complete:
		return job.Job{}, Absent
	}
	return job.Job{}, Unknown
}

// List returns a page of a tenant's live jobs (of one project, unless pid is empty) in
// the store's order, and how many there are; ok is false when the view is not complete.
func (v *View) List(tenant, pid string, skip, limit int) (page []job.Job, total int, ok bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if !v.complete {
		return nil, 0, false
	}
	l := v.lists[listRef{tenant, pid}]
	from := min(skip, len(l))
	to := min(from+limit, len(l))
	page = make([]job.Job, to-from)
	for i, j := range l[from:to] {
		page[i] = *j
	}
	return page, len(l), true
}

// Schedule returns the tenant's live schedule of a behaviour.
func (v *View) Schedule(tenant, code string) (job.Job, Found) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if id, ok := v.biz[bizRef{tenant, code}]; ok {
		return *v.jobs[id], Held
	}
	if v.complete {
		return job.Job{}, Absent
	}
	return job.Job{}, Unknown
}

// Schedules looks up many behaviours' live schedules at once, calling fn with each code's
// place in codes, the schedule (nil unless found is Held) and what the view knows. fn
// runs under the view's lock: it must not keep or change the job, nor call the view.
func (v *View) Schedules(tenant string, codes []string, fn func(i int, j *job.Job, found Found)) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for i, code := range codes {
		switch id, ok := v.biz[bizRef{tenant, code}]; {
		case ok:
			fn(i, v.jobs[id], Held)
		case v.complete:
			fn(i, nil, Absent)
		default:
			fn(i, nil, Unknown)
		}
	}
}
