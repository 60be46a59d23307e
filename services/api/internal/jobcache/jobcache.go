// Package jobcache keeps the jobs the api has seen in memory, so that reading a job does
// not reach the store. It is kept current by the trigger's lifecycle events, which carry
// each new state whole, and by the outcomes of the api's own writes.
//
// A job's newer version always wins, so entries never go back in time. The trigger
// publishes a change's event before it writes the store, so a read of the store may
// return a state older than an event already seen; that is why what is read from the
// store only fills an empty place, and why nothing is evicted: a job whose newer version
// was seen stays. A full cache keeps what it has and takes no new jobs, which are then
// read from the store. When events may have been missed (the connection to the broker
// dropped, or the subscription fell behind and lost messages), the cache forgets all it
// holds and, for a while, keeps nothing it reads from the store: long enough for the
// trigger to write every change whose event was missed.
package jobcache

import (
	"sync"
	"time"

	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
)

// Cache holds jobs by record id, with their scheduler ids.
type Cache struct {
	max   int
	quiet time.Duration
	clock clock.Clock

	mu    sync.RWMutex
	byID  map[string]*job.Job
	byKey map[string]string
	// distrust is until when what is read from the store is not kept.
	distrust time.Time
}

// New returns a cache of at most max jobs (0: it keeps nothing) that, after forgetting,
// keeps nothing read from the store for quiet.
func New(max int, quiet time.Duration, clk clock.Clock) *Cache {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Cache{max: max, quiet: quiet, clock: clk, byID: map[string]*job.Job{}, byKey: map[string]string{}}
}

// Get returns the job that ref names, by its record id or its scheduler id.
func (c *Cache) Get(ref string) (job.Job, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	j := c.byID[ref]
	if j == nil {
		if id, ok := c.byKey[ref]; ok {
			j = c.byID[id]
		}
	}
	if j == nil {
		return job.Job{}, false
	}
	return *j, true
}

// Learn records a state from a lifecycle event or a write's outcome: the newest
// version of a job wins.
func (c *Cache) Learn(j job.Job) { c.put(j, false) }

// Loaded records a state read from the store: it fills an empty place only, and only
// while no events may have been missed lately.
func (c *Cache) Loaded(j job.Job) { c.put(j, true) }

func (c *Cache) put(j job.Job, loaded bool) {
	if j.ID == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.byID[j.ID]
	switch {
	case cur != nil && (loaded || j.Version <= cur.Version):
		return
	case cur == nil && (len(c.byID) >= c.max || loaded && c.clock.Now().Before(c.distrust)):
		return
	}
	c.byID[j.ID] = &j
	if j.Key != "" {
		c.byKey[j.Key] = j.ID
	}
}

// Forget drops every job: events may have been missed.
func (c *Cache) Forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byID, c.byKey = map[string]*job.Job{}, map[string]string{}
	c.distrust = c.clock.Now().Add(c.quiet)
}

// Len is how many jobs the cache holds.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byID)
}
