// Package retention removes journal runs past the journal's retention: by age (a run
// whose fire is older than MaxAge) and by count (beyond a job's MaxPerJob newest runs).
// Like the scheduler it never scans: it keeps, per job with a journal, the oldest run
// kept (the tail), the newest written (the head) and when the tail was fired, and wakes
// for each job when its tail ages out. Every read and removal goes by _id.
//
// It holds the janitor's bookkeeping and decisions; it must not hold the journal's
// records (mongostore) or decide what a run is (the journal projector).
package retention

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// Store is what the janitor reads and removes.
type Store interface {
	EachJournalTail(ctx context.Context, fn func(jobID string, tail int64, at time.Time)) error
	JournalSpans(ctx context.Context) (map[string]mongostore.Span, error)
	JournalHead(ctx context.Context, jobID string, near, floor int64) (int64, error)
	Journaled(ctx context.Context, jobID string, seq int64) (bool, error)
	FiredAt(ctx context.Context, jobID string, seq int64) (time.Time, bool, error)
	DeleteRuns(ctx context.Context, ranges []mongostore.RunRange) (int64, error)
	SaveJournalTail(ctx context.Context, jobID string, tail int64, at time.Time) error
	DropJournalTail(ctx context.Context, jobID string) error
	GetJob(ctx context.Context, id string) (mongostore.StoredJob, error)
	Checkpoint(ctx context.Context, name string) (uint64, error)
	SaveCheckpoint(ctx context.Context, name string, seq uint64) error
}

// Metrics counts what retention removes.
type Metrics interface {
	// Removed counts n runs removed for reason ("age" or "count").
	Removed(reason string, n int64)
	// Tracked notes how many jobs with a journal the janitor follows.
	Tracked(jobs int)
}

// migrated names the state record saying every journal that predates the janitor's tails
// has been found.
const migrated = "journal.tails"

// sweepBatch bounds how many jobs one sweep takes.
const sweepBatch = 512

// Janitor removes the runs past retention. Seen and Below may be called from any
// goroutine; Run sweeps until its context ends.
type Janitor struct {
	store   Store
	policy  mongostore.JournalRetention
	clock   clock.Clock
	metrics Metrics
	log     zerolog.Logger

	mu    sync.Mutex
	jobs  map[string]*tracked
	queue dueQueue
	wake  chan struct{}
}

// tracked is one job with a journal.
type tracked struct {
	id string
	// tail is the oldest run kept (0: not known); head the newest written (0: not known).
	tail, head int64
	// at is when run tail was fired (zero: not known).
	at time.Time
	// due is when the job is next looked at; index its place in the queue (-1: none).
	due   time.Time
	index int
	// sweeping: a sweep of the job is under way; Seen leaves the queue to it.
	sweeping bool
}

// New makes a janitor for policy (with its defaults filled in).
func New(store Store, policy mongostore.JournalRetention, clk clock.Clock, m Metrics, log zerolog.Logger) *Janitor {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Janitor{store: store, policy: policy.WithDefaults(), clock: clk, metrics: m, log: log,
		jobs: map[string]*tracked{}, wake: make(chan struct{}, 1)}
}

// Granularity is how late past its retention a run may be removed, and how often at most
// one job is swept for age: a twentieth of MaxAge, from a second to an hour. Sweeping a
// job costs a write of its tail, so a job firing every second is swept for age once a
// granule, and for count at most once a second (countGap).
func (j *Janitor) Granularity() time.Duration {
	return min(max(j.policy.MaxAge/20, time.Second), time.Hour)
}

// countGap is how soon a job is swept again for count.
const countGap = time.Second

// slack is how far past MaxPerJob a job's journal may grow before it is swept for count:
// a tenth, so that a sweep removes runs in tens, not one at a time. Pages never show more
// than MaxPerJob (mongostore.Store.JournalPage).
func (j *Janitor) slack() int64 { return max(j.policy.MaxPerJob/10, 1) }

// Below reports whether run seq of the job is below its tail: removed already, so a
// replayed write of it must be dropped, or it would stay below the tail for ever.
func (j *Janitor) Below(jobID string, seq int64) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	t := j.jobs[jobID]
	return t != nil && t.tail > 0 && seq < t.tail
}

// Seen notes that run seq of the job, fired at firedAt, is written to the journal.
func (j *Janitor) Seen(jobID string, seq int64, firedAt time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	t := j.track(jobID)
	if seq == 1 && t.tail == 0 {
		t.tail = 1 // a job's first run: nothing of it is removed yet
	}
	t.head = max(t.head, seq)
	if seq == t.tail && t.at.IsZero() {
		t.at = firedAt
	}
	if !t.sweeping {
		j.schedule(t, j.dueOf(t, j.clock.Now()))
	}
}

// track returns the job's bookkeeping, new if need be. j.mu is held.
func (j *Janitor) track(jobID string) *tracked {
	t := j.jobs[jobID]
	if t == nil {
		t = &tracked{id: jobID, index: -1}
		j.jobs[jobID] = t
	}
	return t
}

// dueOf is when t needs a sweep: now when its tail or the tail's age is not known, or
// it holds too many runs; else when its tail ages out; zero when never (its journal is
// empty until a new run is seen). j.mu is held.
func (j *Janitor) dueOf(t *tracked, now time.Time) time.Time {
	switch {
	case t.tail == 0:
		return now
	case t.head != 0 && t.head < t.tail:
		return time.Time{}
	case j.policy.MaxPerJob > 0 && t.head != 0 && t.head-t.tail+1 > j.policy.MaxPerJob+j.slack():
		return now
	case t.at.IsZero():
		return now
	}
	return t.at.Add(j.policy.MaxAge)
}

// schedule queues t for due (zero: unqueues it), no earlier than the queue allows. j.mu
// is held.
func (j *Janitor) schedule(t *tracked, due time.Time) {
	if due.IsZero() {
		if t.index >= 0 {
			heap.Remove(&j.queue, t.index)
		}
		return
	}
	if t.index >= 0 {
		if !due.Before(t.due) {
			return
		}
		t.due = due
		heap.Fix(&j.queue, t.index)
	} else {
		t.due = due
		heap.Push(&j.queue, t)
	}
	if t.index == 0 {
		select {
		case j.wake <- struct{}{}:
		default:
		}
	}
}

// Run loads what the store says of each journal, then sweeps each job when it is due,
// until ctx ends.
func (j *Janitor) Run(ctx context.Context) error {
	if err := j.load(ctx); err != nil {
		return err
	}
	timer := j.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		j.mu.Lock()
		var wait time.Duration = time.Hour
		if len(j.queue) > 0 {
			wait = j.queue[0].due.Sub(j.clock.Now())
		}
		j.metrics.Tracked(len(j.jobs))
		j.mu.Unlock()
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-j.wake:
				continue
			case <-timer.C():
			}
		}
		j.sweep(ctx)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// load takes up the tails the store holds; the first time, it also finds every job with
// a journal written before tails were kept.
func (j *Janitor) load(ctx context.Context) error {
	now := j.clock.Now()
	err := j.store.EachJournalTail(ctx, func(id string, tail int64, at time.Time) {
		j.mu.Lock()
		defer j.mu.Unlock()
		t := j.track(id)
		if t.tail == 0 || tail > t.tail {
			t.tail, t.at = tail, at
		}
		j.schedule(t, j.dueOf(t, now))
	})
	if err != nil {
		return err
	}
	done, err := j.store.Checkpoint(ctx, migrated)
	if err != nil || done > 0 {
		return err
	}
	spans, err := j.store.JournalSpans(ctx)
	if err != nil {
		return err
	}
	j.mu.Lock()
	for id, sp := range spans {
		t := j.track(id)
		if t.tail == 0 && sp.Lowest == 1 {
			t.tail = 1 // else the sweep finds it, once the runs below are surely not on their way
		}
		t.head = max(t.head, sp.Highest)
		j.schedule(t, now)
	}
	j.mu.Unlock()
	j.log.Info().Int("jobs", len(spans)).Msg("journals found for retention")
	return j.store.SaveCheckpoint(ctx, migrated, 1)
}

// sweep takes the jobs due now, removes their runs past retention and saves their new
// tails.
func (j *Janitor) sweep(ctx context.Context) {
	now := j.clock.Now()
	var batch []tracked
	j.mu.Lock()
	for len(j.queue) > 0 && !j.queue[0].due.After(now) && len(batch) < sweepBatch {
		t := heap.Pop(&j.queue).(*tracked)
		t.sweeping = true
		batch = append(batch, *t)
	}
	j.mu.Unlock()
	var ranges []mongostore.RunRange
	plans := make([]plan, 0, len(batch))
	for _, t := range batch {
		p, err := j.plan(ctx, t, now)
		if err != nil && ctx.Err() == nil && !errors.Is(err, errNotSettled) {
			j.log.Warn().Err(err).Str("job_id", t.id).Msg("journal retention: reading the job's runs failed; tries again")
		}
		if p.to > p.t.tail {
			ranges = append(ranges, mongostore.RunRange{JobID: t.id, From: p.t.tail, To: p.to})
		}
		plans = append(plans, p)
	}
	removed, err := j.store.DeleteRuns(ctx, ranges)
	if err != nil {
		if ctx.Err() == nil {
			j.log.Warn().Err(err).Msg("journal retention: removing runs failed; tries again")
		}
		for i := range plans {
			plans[i].failed = true
		}
	}
	var byAge int64
	for _, p := range plans {
		if !p.failed {
			byAge += p.byAge
		}
	}
	// Only runs whose records were there count: those a sweep cut short had removed
	// are not counted twice. What goes for both reasons counts as age.
	j.metrics.Removed("age", min(byAge, removed))
	j.metrics.Removed("count", removed-min(byAge, removed))
	for _, p := range plans {
		j.settle(ctx, p)
	}
}

// plan is what one sweep does to one job.
type plan struct {
	t tracked
	// known is the tail the store holds (0: none saved that this janitor knows of).
	known int64
	// t.tail..to-1 are removed, byAge of them for their age; the new tail is to, fired at
	// at (zero: not known).
	to, byAge int64
	at        time.Time
	// empty: no run of the job is left.
	empty, failed bool
}

// plan reads what it must of the job's runs (by _id) to decide what goes.
func (j *Janitor) plan(ctx context.Context, t tracked, now time.Time) (plan, error) {
	p := plan{t: t, known: t.tail, failed: true}
	var err error
	if t.head == 0 {
		if t.head, err = j.store.JournalHead(ctx, t.id, max(t.tail, 1), max(t.tail-1, 0)); err != nil {
			return p, err
		}
	}
	if t.tail == 0 {
		if t.tail, err = j.unknownTail(ctx, t.id, t.head, now); err != nil {
			return p, err
		}
	} else if t.tail <= t.head {
		// A sweep cut off between its removal and its saved tail left the tail behind.
		ok, err := j.store.Journaled(ctx, t.id, t.tail)
		if err != nil {
			return p, err
		}
		if !ok {
			if t.tail, err = j.lowest(ctx, t.id, t.tail, t.head); err != nil {
				return p, err
			}
			t.at = time.Time{}
		}
	}
	p.t, p.to, p.at = t, t.tail, t.at
	if t.head < t.tail {
		p.empty, p.failed = true, false
		return p, nil
	}
	cutoff := now.Add(-j.policy.MaxAge)
	old := func(seq int64) (bool, time.Time, error) {
		at, ok, err := j.store.FiredAt(ctx, t.id, seq)
		// A run not written yet, between others that are, is not taken for old.
		return ok && at.Before(cutoff), at, err
	}
	if p.at.IsZero() {
		if _, p.at, err = old(t.tail); err != nil {
			return p, err
		}
	}
	ageTo := t.tail
	if !p.at.IsZero() && p.at.Before(cutoff) {
		// Runs are fired in the order of their numbers: the first that is not old is
		// found by halving [tail, head+1).
		lo, hi := t.tail, t.head+1 // run lo is old; run hi is not (or is past the head)
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			isOld, _, err := old(mid)
			if err != nil {
				return p, err
			}
			if isOld {
				lo = mid
			} else {
				hi = mid
			}
		}
		ageTo = hi
	}
	p.to = ageTo
	if j.policy.MaxPerJob > 0 {
		p.to = max(p.to, t.head-j.policy.MaxPerJob+1)
	}
	p.byAge = ageTo - t.tail
	if p.to > t.tail {
		p.at = time.Time{}
		if p.to <= t.head {
			at, ok, err := j.store.FiredAt(ctx, t.id, p.to)
			if err != nil {
				return p, err
			}
			if ok {
				p.at = at
			}
		}
	}
	p.empty, p.failed = p.to > t.head, false
	return p, nil
}

// errNotSettled: the oldest runs of a job whose tail is not known were written a moment
// ago; the runs below them may still be on their way (a publish retried).
var errNotSettled = errors.New("the job's oldest runs are still being written")

// unknownTail is the oldest run kept of a job with no tail saved: run 1 when the journal
// holds it, as it does for every job since tails are kept, else the oldest it holds (a
// journal rebuilt from a stream that no longer held the first runs), once that run is
// old enough that none below it can still be on its way.
func (j *Janitor) unknownTail(ctx context.Context, id string, head int64, now time.Time) (int64, error) {
	if ok, err := j.store.Journaled(ctx, id, 1); err != nil || ok {
		return 1, err
	}
	tail, err := j.lowest(ctx, id, 1, head)
	if err != nil || tail > head {
		return tail, err
	}
	at, ok, err := j.store.FiredAt(ctx, id, tail)
	if err != nil {
		return 0, err
	}
	if !ok || now.Sub(at) < settleTime {
		return 0, errNotSettled
	}
	return tail, nil
}

// settleTime is how long after a run is fired the runs before it are surely written.
const settleTime = time.Minute

// lowest finds the job's oldest journaled run in [from, to] (to+1 when none): the runs
// kept are consecutive, so it halves the range.
func (j *Janitor) lowest(ctx context.Context, id string, from, to int64) (int64, error) {
	if ok, err := j.store.Journaled(ctx, id, to); err != nil || !ok {
		return to + 1, err
	}
	lo, hi := from-1, to // run hi is journaled; lo is not (or before from)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := j.store.Journaled(ctx, id, mid)
		if err != nil {
			return 0, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}

// settle saves the job's new tail and queues its next sweep.
func (j *Janitor) settle(ctx context.Context, p plan) {
	next := j.clock.Now().Add(j.Granularity())
	if p.failed {
		j.requeue(p.t.id, tracked{}, next, false)
		return
	}
	if p.to != max(p.known, 1) {
		if err := j.store.SaveJournalTail(ctx, p.t.id, p.to, p.at); err != nil {
			if ctx.Err() == nil {
				j.log.Warn().Err(err).Str("job_id", p.t.id).Msg("journal retention: saving the job's tail failed; tries again")
			}
		}
	}
	if p.empty {
		// A deleted job whose runs are all gone is forgotten, with its tail.
		if _, err := j.store.GetJob(ctx, p.t.id); errors.Is(err, mongostore.ErrNotFound) {
			if err := j.store.DropJournalTail(ctx, p.t.id); err == nil {
				j.mu.Lock()
				if t := j.jobs[p.t.id]; t != nil && t.head <= p.t.head {
					if t.index >= 0 {
						heap.Remove(&j.queue, t.index)
					}
					delete(j.jobs, p.t.id)
				}
				j.mu.Unlock()
				return
			}
		}
	}
	j.requeue(p.t.id, tracked{tail: p.to, head: p.t.head, at: p.at}, next, true)
}

// requeue updates a swept job with what the sweep learnt (when ok) and queues it again,
// no sooner than next.
func (j *Janitor) requeue(id string, learnt tracked, next time.Time, ok bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	t := j.jobs[id]
	if t == nil {
		return
	}
	t.sweeping = false
	if ok {
		if learnt.tail > t.tail {
			t.tail, t.at = learnt.tail, learnt.at
		} else if learnt.tail == t.tail && t.at.IsZero() {
			t.at = learnt.at
		}
		t.head = max(t.head, learnt.head)
	}
	now := j.clock.Now()
	due := j.dueOf(t, now)
	switch {
	case due.IsZero():
	case due.Equal(now): // more to learn, or too many runs
		due = now.Add(countGap)
	case due.Before(next):
		due = next
	}
	j.schedule(t, due)
}

// dueQueue orders tracked jobs by when they are due.
type dueQueue []*tracked

func (q dueQueue) Len() int           { return len(q) }
func (q dueQueue) Less(a, b int) bool { return q[a].due.Before(q[b].due) }
func (q dueQueue) Swap(a, b int) {
	q[a], q[b] = q[b], q[a]
	q[a].index, q[b].index = a, b
}
func (q *dueQueue) Push(x any) {
	t := x.(*tracked)
	t.index = len(*q)
	*q = append(*q, t)
}
func (q *dueQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*q = old[:len(old)-1]
	return t
}
