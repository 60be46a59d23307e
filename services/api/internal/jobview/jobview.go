// Package jobview is the api's copy of every live job, so that reading a job, listing a
// project's jobs and finding a behaviour's schedule do not reach the store. It is loaded
// from the store once, then kept by the lifecycle events that follow the store's jobs
// checkpoint (each carries its job whole) and by the outcomes of the api's own writes:
// the store is written behind the events, the view is not.
//
// A job's newer version always wins, so an entry never goes back in time, and a deleted
// job is remembered (up to a bound) so that a late state cannot bring it back and a
// request repeated after it deleted the job finds it. The view answers for what it does
// not hold only while it is complete: loaded, caught up with the events, and holding
// every live job (no more than its cap). Otherwise a job it does not hold, and every
// list, is the store's to answer; past its cap it still holds the jobs changed last
// (recentKept), so that a read after a write finds the job while the store has yet to
// be written. It holds no transport or store code: the api's root feeds it.
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

// goneKept bounds the deleted jobs the view remembers; recentKept the jobs past its cap
// it holds, the last changed. Both are far more than the trigger leaves unwritten.
const (
	goneKept   = 20_000
	recentKept = 50_000
)

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
	biz   map[bizRef][]string // a behaviour's live schedules: one, or two for a moment
	lists map[listRef][]*job.Job
	// gone remembers deleted jobs by id and scheduler id, the oldest forgotten first.
	gone     map[string]*job.Job
	goneKeys map[string]string
	goneRing ring
	// extra are the jobs held past the cap (in no list), by their place in extraRing.
	extra     map[string]uint64
	extraRing ring
	complete  bool
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
	v.jobs, v.keys, v.biz = map[string]*job.Job{}, map[string]string{}, map[bizRef][]string{}
	v.lists, v.gone, v.goneKeys, v.goneRing = map[listRef][]*job.Job{}, map[string]*job.Job{}, map[string]string{}, ring{}
	v.extra, v.extraRing = map[string]uint64{}, ring{}
	v.complete, v.full = false, false
}

// ring is a queue of ids, each with its place: what was put first goes first.
type ring struct {
	ids  []string
	at   []uint64
	next uint64
}

func (r *ring) push(id string) uint64 {
	r.next++
	r.ids, r.at = append(r.ids, id), append(r.at, r.next)
	return r.next
}

func (r *ring) pop() (string, uint64) {
	id, at := r.ids[0], r.at[0]
	r.ids, r.at = r.ids[1:], r.at[1:]
	return id, at
}

func (r *ring) len() int { return len(r.ids) }

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

// Len is how many live jobs the view holds (past its cap, with the last changed).
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
	case cur == nil && v.gone[j.ID] != nil && v.gone[j.ID].Version >= j.Version:
		return
	}
	_, wasExtra := v.extra[j.ID]
	if cur != nil {
		v.drop(cur)
	}
	if !j.Live() {
		v.bury(&j)
		return
	}
	if wasExtra || cur == nil && len(v.jobs)-len(v.extra) >= v.max {
		v.full, v.complete = true, false
		v.addExtra(&j)
		return
	}
	v.add(&j, true)
}

// add holds j, in its lists when listed.
func (v *View) add(j *job.Job, listed bool) {
	v.jobs[j.ID] = j
	if j.Key != "" {
		v.keys[j.Key] = j.ID
	}
	if code := j.Spec.Target.BizCode; code != "" {
		ref := bizRef{j.Tenant, code}
		v.biz[ref] = append(v.biz[ref], j.ID)
	}
	if listed {
		for _, ref := range refs(j) {
			v.lists[ref] = insert(v.lists[ref], j)
		}
	}
}

// addExtra holds j past the cap, letting the job held past it longest go when there
// are more than recentKept.
func (v *View) addExtra(j *job.Job) {
	v.add(j, false)
	v.extra[j.ID] = v.extraRing.push(j.ID)
	for v.extraRing.len() > 0 && len(v.extra) > recentKept {
		if id, at := v.extraRing.pop(); v.extra[id] == at {
			v.drop(v.jobs[id])
		}
	}
}

func (v *View) drop(j *job.Job) {
	delete(v.jobs, j.ID)
	if v.keys[j.Key] == j.ID {
		delete(v.keys, j.Key)
	}
	ref := bizRef{j.Tenant, j.Spec.Target.BizCode}
	if ids := slices.DeleteFunc(v.biz[ref], func(id string) bool { return id == j.ID }); len(ids) > 0 {
		v.biz[ref] = ids
	} else {
		delete(v.biz, ref)
	}
	if _, extra := v.extra[j.ID]; extra {
		delete(v.extra, j.ID) // its place in extraRing is left, and passed over
		return
	}
	for _, lr := range refs(j) {
		if l := remove(v.lists[lr], j); len(l) > 0 {
			v.lists[lr] = l
		} else {
			delete(v.lists, lr)
		}
	}
}

// bury remembers a deleted job, forgetting the one buried longest past goneKept.
func (v *View) bury(j *job.Job) {
	if _, ok := v.gone[j.ID]; !ok {
		v.goneRing.push(j.ID)
	}
	v.gone[j.ID] = j
	if j.Key != "" {
		v.goneKeys[j.Key] = j.ID
	}
	for v.goneRing.len() > goneKept {
		id, _ := v.goneRing.pop()
		if g := v.gone[id]; g != nil && v.goneKeys[g.Key] == id {
			delete(v.goneKeys, g.Key)
		}
		delete(v.gone, id)
	}
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

// Gone returns the deleted job that ref names, by its record id or its scheduler id, if
// the view remembers it.
func (v *View) Gone(ref string) (job.Job, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	j := v.gone[ref]
	if j == nil {
		j = v.gone[v.goneKeys[ref]]
	}
	if j == nil {
		return job.Job{}, false
	}
	return *j, true
}

// Schedule returns the tenant's live schedule of a behaviour.
func (v *View) Schedule(tenant, code string) (job.Job, Found) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if ids := v.biz[bizRef{tenant, code}]; len(ids) > 0 {
		return *v.jobs[ids[0]], Held
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
		switch ids := v.biz[bizRef{tenant, code}]; {
		case len(ids) > 0:
			fn(i, v.jobs[ids[0]], Held)
		case v.complete:
			fn(i, nil, Absent)
		default:
			fn(i, nil, Unknown)
		}
	}
}
