package commands

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// The job documents are written behind the answer. A command is applied once its
// lifecycle events are stored in JetStream (the log is the truth); its job document is
// staged here and written by a writer of its own, many jobs to a bulk write and each job
// once however often it changed meanwhile. What is staged is read before the store, so
// the processor decides on the newest state; the api answers reads from the events. The
// store's jobs checkpoint (mongostore.JobsWritten) says up to which lifecycle event the documents are
// written: a term's start writes those after it again before anything reads the store
// (CatchUp), so documents staged and lost with a crashed trigger are not lost.

// MaxBehind bounds the jobs staged and not yet written: past it the processor waits for
// the writer, so a store slower than the commands slows the answers instead of growing
// the trigger's memory (about a kilobyte a job).
const MaxBehind = 20_000

// JobWriter is what the writer writes to (a *mongostore.Store).
type JobWriter interface {
	PutJobs(ctx context.Context, ws []mongostore.JobWrite) error
	SaveJobsWritten(ctx context.Context, term, seq uint64) error
}

// Behind stages job writes and writes them to the store.
type Behind struct {
	Store JobWriter
	// Timeout bounds each bulk write.
	Timeout time.Duration
	// Max bounds the jobs staged and being written (0: MaxBehind).
	Max int
	// Term is the lease's term the writes are made in: a checkpoint of an older term
	// (a trigger that lost the lease, finishing late) cannot replace this one's.
	Term uint64
	Log  zerolog.Logger

	mu   sync.Mutex
	cond sync.Cond // signalled when the staged change: more, or written
	// staged waits for the writer; writing is what it is writing now. Both are read
	// before the store.
	staged, writing map[string]mongostore.JobWrite
	// seq is the last lifecycle event stored whose write is staged (or written).
	seq uint64
	// gen counts the calls of Stage; written is the last of them whose writes are all
	// in the store.
	gen, written uint64
	stopped      bool
	done         chan struct{}
}

// NewBehind returns a Behind over store, for the lease's term; run it with Run.
func NewBehind(store JobWriter, term uint64, timeout time.Duration, log zerolog.Logger) *Behind {
	b := &Behind{Store: store, Term: term, Timeout: timeout, Log: log, staged: map[string]mongostore.JobWrite{},
		writing: map[string]mongostore.JobWrite{}, done: make(chan struct{})}
	b.cond.L = &b.mu
	return b
}

// Stage adds writes whose events are stored, up to sequence seq of the events stream.
// It waits while MaxBehind jobs are staged or being written, failing or not (or until
// ctx ends: the writes are staged all the same, since their events are stored).
func (b *Behind) Stage(ctx context.Context, ws []mongostore.JobWrite, seq uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	limit := b.Max
	if limit <= 0 {
		limit = MaxBehind
	}
	for len(b.staged)+len(b.writing) >= limit && !b.stopped && ctx.Err() == nil {
		b.cond.Wait()
	}
	for _, w := range ws {
		b.staged[w.Job.ID] = b.staged[w.Job.ID].Merge(w)
	}
	b.seq = max(b.seq, seq)
	if len(ws) > 0 {
		b.gen++
		b.cond.Broadcast()
	}
}

// Get returns the newest state staged or being written of job id.
func (b *Behind) Get(id string) (job.Job, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w, ok := b.staged[id]; ok {
		return w.Job, true
	}
	if w, ok := b.writing[id]; ok {
		return w.Job, true
	}
	return job.Job{}, false
}

// Behaviour returns a job staged or being written, in its newest state, that is a live
// schedule of tenant's behaviour code. It looks through them all: a create of a
// behaviour's schedule is rare beside the other writes, and an index would have to
// follow each job's code as it changes.
func (b *Behind) Behaviour(tenant, code string) (job.Job, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	holds := func(j job.Job) bool { return j.Live() && j.Tenant == tenant && j.Spec.Target.BizCode == code }
	for _, w := range b.staged {
		if holds(w.Job) {
			return w.Job, true
		}
	}
	for id, w := range b.writing {
		if _, newer := b.staged[id]; !newer && holds(w.Job) {
			return w.Job, true
		}
	}
	return job.Job{}, false
}

// Run writes what is staged until ctx ends, then what is left, under a timeout of its
// own. A failed write is kept and tried again; nothing staged is dropped.
func (b *Behind) Run(ctx context.Context) {
	defer func() {
		b.mu.Lock()
		close(b.done)
		b.cond.Broadcast()
		b.mu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.stopped = true
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	defer stop()
	failures := 0
	for {
		b.mu.Lock()
		for len(b.staged) == 0 && !b.stopped {
			b.cond.Wait()
		}
		if len(b.staged) == 0 {
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		wctx := ctx
		if ctx.Err() != nil {
			// The term is ending: what its commands staged is written before it ends,
			// so the next term's catch-up has little to do.
			wctx = context.WithoutCancel(ctx)
		}
		if err := b.writeOnce(wctx); err != nil {
			failures++
			if ctx.Err() != nil && failures > 3 {
				b.Log.Warn().Err(err).Msg("job documents left unwritten at the term's end; the next term writes them from the events")
				return
			}
			b.Log.Warn().Err(err).Int("failures", failures).Msg("writing job documents failed; will retry")
			time.Sleep(min(time.Duration(failures)*100*time.Millisecond, 2*time.Second))
			continue
		}
		failures = 0
	}
}

// writeOnce writes what is staged now, then the checkpoint that covers it.
func (b *Behind) writeOnce(ctx context.Context) error {
	b.mu.Lock()
	b.writing, b.staged = b.staged, b.writing
	seq, gen := b.seq, b.gen
	b.cond.Broadcast() // room for more
	ws := make([]mongostore.JobWrite, 0, len(b.writing))
	for _, w := range b.writing {
		ws = append(ws, w)
	}
	b.mu.Unlock()

	wctx, cancel := context.WithTimeout(ctx, b.Timeout)
	err := b.Store.PutJobs(wctx, ws)
	if err == nil {
		err = b.Store.SaveJobsWritten(wctx, b.Term, seq)
	}
	cancel()

	b.mu.Lock()
	defer b.mu.Unlock()
	for id, w := range b.writing {
		if err != nil {
			// Back into what is staged, under what was staged since.
			if later, ok := b.staged[id]; ok {
				w = w.Merge(later)
			}
			b.staged[id] = w
		}
		delete(b.writing, id)
	}
	if err == nil {
		b.written = gen
	}
	b.cond.Broadcast()
	return err
}

// Sync waits until everything staged before it is in the store (or ctx ends, or the
// writer stopped with writes left): the fire progress saved after it is then saved on
// documents that exist.
func (b *Behind) Sync(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	defer stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	want := b.gen
	// Nothing staged or being written: all of it is in the store.
	for b.written < want && (len(b.staged) > 0 || len(b.writing) > 0) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-b.done:
			return errors.New("job documents left unwritten")
		default:
		}
		b.cond.Wait()
	}
	return nil
}

// Done is closed once Run has returned.
func (b *Behind) Done() <-chan struct{} { return b.done }
