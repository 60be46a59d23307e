package jobtable

import (
	"sync"

	"github.com/jobcenter/jobcenter/shared/calendar"
	"github.com/jobcenter/jobcenter/shared/job"
)

// Shared is what jobs share, kept once: their plans, tenants, and snippets or flow ids.
// Compiling a job (on a caller's goroutine) and firing it (on the loop's) both use it,
// under its lock.
type Shared struct {
	sync.Mutex
	Plans   Interned[*Plan]
	Tenants Interned[string]
	Texts   Interned[string] // snippets and flow ids
	// Calendars, when not nil, holds the tenants' calendars by key, which plans naming
	// calendars read as they exclude (it must be safe to call from any goroutine).
	Calendars func(key string) *calendar.Compiled
}

// NewPlan compiles j's plan (NewPlan), its calendars read from sh's.
func (sh *Shared) NewPlan(j *job.Job) *Plan {
	p := NewPlan(j)
	p.Exclude = calendar.Exclude(sh.Calendars, p.Calendars)
	return p
}

// Len is how many values t keeps.
func (t *Interned[V]) Len() int { return len(t.ids) }

// Interned keeps values that many jobs share (tenants, snippets, plans) once each,
// numbered for records to refer to, and counted, so that one no job uses any more is
// let go. Keys are bytes so that finding a value copies nothing: a map lookup keyed by
// string(k) does not allocate.
type Interned[V any] struct {
	ids  map[string]uint32
	keys []string
	vals []V
	refs []int32
	free []uint32
}

// Add counts one more user of the value keyed k and returns its number. A new key is
// kept as a copy, with the value build makes of it.
func (t *Interned[V]) Add(k []byte, build func(key string) V) uint32 {
	if id, ok := t.ids[string(k)]; ok {
		t.refs[id]++
		return id
	}
	if t.ids == nil {
		t.ids = make(map[string]uint32)
	}
	key := string(k)
	v := build(key)
	var id uint32
	if n := len(t.free); n > 0 {
		id, t.free = t.free[n-1], t.free[:n-1]
		t.keys[id], t.vals[id], t.refs[id] = key, v, 1
	} else {
		id = uint32(len(t.keys))
		t.keys, t.vals, t.refs = append(t.keys, key), append(t.vals, v), append(t.refs, 1)
	}
	t.ids[key] = id
	return id
}

func (t *Interned[V]) Get(id uint32) V { return t.vals[id] }

// Drop counts one user of id fewer.
func (t *Interned[V]) Drop(id uint32) {
	if t.refs[id]--; t.refs[id] > 0 {
		return
	}
	delete(t.ids, t.keys[id])
	var v V
	t.keys[id], t.vals[id] = "", v
	t.free = append(t.free, id)
}
