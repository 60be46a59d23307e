// Package scheduler fires jobs on time. One goroutine, the loop, owns a min-heap of next
// fire times and a single timer (the shape of Nomad's periodic dispatcher); every change
// reaches it through a queue of pending changes, which it takes in batches. Decisions
// about late and missed fires are the pure function Due, and a job's next fire is
// job.Schedule's. The scheduler never reads the store while running: it is loaded once
// at start. It must not do I/O: the Publisher and the Finisher take what it decides out.
//
// It is built to hold many jobs in little memory and to take changes fast (README,
// Performance, has the figures): it keeps them in a jobtable.Table — a 40-byte entry and
// a packed record a job, what jobs share kept once — and its image is the table's. Put
// compiles a job on the caller's goroutine, so the loop only finds and swaps its entry.
package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/jobtable"
	"github.com/jobcenter/jobcenter/shared/calendar"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// Publisher takes fires to the broker. Publish may block to apply back-pressure, but must
// not drop a fire.
type Publisher interface {
	Publish(f contracts.Fire)
}

// Finisher is told when a started job has no fire left (a date job fired, a cron ran out),
// so that the job is marked finished through the ordinary command path. The job is as
// the scheduler holds it: its ids, tenant, version, state, spec without pid or
// description, and an interval's start; not its audit fields.
type Finisher interface {
	Finish(j job.Job)
}

// Metrics is told what the scheduler holds and which due instants it did not fire.
type Metrics interface {
	// Jobs: held live jobs, of which scheduled are started with a next fire.
	Jobs(held, scheduled int)
	// Skipped: n due instants not fired, for reason "coalesced" or "catchup_limit".
	Skipped(reason string, n int)
}

// Config configures a Scheduler.
type Config struct {
	Clock     clock.Clock
	Publisher Publisher
	Finisher  Finisher
	Policy    Policy
	// ExecTimeout is written into each fire for the executor.
	ExecTimeout time.Duration
	// Metrics, when not nil, is told the scheduler's size on every turn of the loop.
	Metrics Metrics
	Log     zerolog.Logger
	// Calendars, when not nil, holds the tenants' calendars by key (calendar.Key), read
	// from any goroutine as jobs naming them are scheduled; tell the scheduler of each
	// change (CalendarChanged).
	Calendars func(key string) *calendar.Compiled
	// Sleep is how the loop sleeps the thread for a fire a millisecond away or less (nap);
	// nil means the thread sleep. A test in a synctest bubble passes time.Sleep: a
	// goroutine in a system call is not durably blocked, so the bubble's clock would
	// never move and nap would spin.
	Sleep func(time.Duration)
}

// Changes waiting for the loop beyond this many make Put wait.
const maxPending = 4096

// A fire napBelow away or closer is waited for by sleeping the thread (nap) rather than on
// a timer: the runtime's timers sleep in whole milliseconds, so a timer would wake the
// loop up to a millisecond late. Each nap lasts at least napAtLeast, and the fires that
// fall due meanwhile go together: measured on a busy machine, waking for each fire (10 µs
// apart at 100,000 a second) made the loop later, not earlier, and spinning later still,
// because the kernel makes a thread that never sleeps wait its turn (README, Performance).
const (
	napBelow   = time.Millisecond
	napAtLeast = 200 * time.Microsecond
)

// Scheduler holds every live job, started or not (an exec of a stopped job needs its run
// number), and fires the started ones.
type Scheduler struct {
	cfg  Config
	seed maphash.Seed
	sh   jobtable.Shared

	// The loop's own (and Load's and Observe's, before Run).
	t        jobtable.Table
	fires    []time.Time // Due's scratch
	released []string    // records replaced, whose interned values to let go
	// calChanged are the calendars changed since the loop last took them (under mu).
	calChanged map[string]bool
	// ends are fixed-delay jobs' last scheduled run's end, by job id, that their next
	// fire counts from (Rearm): kept while the job is held, so that a Put of the job
	// (an update that keeps its start) finds it again.
	ends map[string]job.RunEnd

	mu      sync.Mutex
	room    sync.Cond // signalled when the loop takes the pending changes
	pending []op
	spare   []op          // the loop's: the batch before, for reuse
	wake    chan struct{} // holds a token while changes are pending
}

// op is a change for the loop: a compiled Put, or, when fn is set, anything else.
type op struct {
	c  change
	fn func()
}

// change is a job compiled on the caller's goroutine, so that the loop only has to find
// and swap its entry.
type change struct {
	id      string // compact
	hash    uint64
	rec     string // "" to remove the job
	started bool
	queue   bool   // started with a next fire,
	next    int64  // at this time, Unix ns,
	spread  uint32 // this many ms after its instant
	// delay: a fixed-delay job, which waits for its run's end rather than fire an
	// instant it fired already.
	delay bool
}

// New returns a scheduler; Load it, then Run it.
func New(cfg Config) *Scheduler {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Policy.MaxCatchUp <= 0 {
		cfg.Policy.MaxCatchUp = 100
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepThread
	}
	s := &Scheduler{cfg: cfg, seed: maphash.MakeSeed(), wake: make(chan struct{}, 1)}
	s.sh.Calendars = cfg.Calendars
	s.room.L = &s.mu
	return s
}

// Load adds a job as stored, before Run. Fires it missed while the scheduler was away
// are decided by Due when the loop starts.
func (s *Scheduler) Load(j job.Job, p job.Progress) {
	// The first instant not yet fired: after the last fire if it belongs to this start,
	// else after the start itself. A fixed-delay job's next instant is always its start's
	// first: apply finds whether it fired and the job waits for its run's end.
	from := j.StartedAt
	if p.LastFire.After(from) && !j.Spec.Trigger.FixedDelay {
		from = p.LastFire
	}
	c := s.prepare(&j, from, false)
	s.apply(c, &p)
	s.release()
	if c.started && !c.queue {
		s.cfg.Finisher.Finish(j)
	}
}

// Put adds or replaces a job after a command changed it (a deleted job is removed).
func (s *Scheduler) Put(j job.Job) {
	s.enqueue(op{c: s.prepare(&j, j.StartedAt, !j.Live())}, true)
}

// Observe raises a job's progress to what a replayed fire shows, before Run: run number
// seq at instant at, an instant of the job's schedule when scheduled (not an exec).
func (s *Scheduler) Observe(jobID string, seq int64, at time.Time, scheduled bool) {
	e := s.find(jobID)
	if e < 0 {
		return
	}
	en := s.t.Entry(e)
	was := job.Progress{Seq: en.Seq, LastFire: jobtable.Instant(en.Last)}
	p := was.Observe(seq, at, scheduled)
	en.Seq = p.Seq
	if p.LastFire.Equal(was.LastFire) {
		return
	}
	en.Last = jobtable.Nanos(p.LastFire)
	if !en.Started {
		return
	}
	v := s.unpack(en.Rec)
	if v.plan.FixedDelay {
		if first, ok := v.next(v.Anchor); ok && !p.LastFire.Before(first) {
			s.t.Unschedule(e) // fired: waits for its run's end
		}
		return
	}
	if next, ok := v.next(p.LastFire); ok {
		at, spread := v.fireAt(v.id, next)
		s.t.ScheduleSpread(e, at, spread)
	} else {
		s.t.Unschedule(e)
	}
}

// FireNow makes the fire of a run now (an exec), outside the job's schedule, with the
// job's next run number; the caller publishes it. ok is false if the job is unknown.
func (s *Scheduler) FireNow(ctx context.Context, jobID, commandID string) (f contracts.Fire, ok bool) {
	if ctx.Err() != nil {
		return contracts.Fire{}, false // not queued: it would take a run number for nothing
	}
	res := make(chan contracts.Fire, 1)
	s.enqueue(op{fn: func() { res <- s.fireManual(jobID, commandID) }}, false)
	select {
	case f = <-res:
		return f, f.FireID != ""
	case <-ctx.Done():
		return contracts.Fire{}, false
	}
}

// FireBackfill makes the fires of a backfill (command commandID), one for each past
// instant of ats, with the job's next run numbers, named by the command and the
// instant; the caller publishes them. ok is false if the job is unknown.
func (s *Scheduler) FireBackfill(ctx context.Context, jobID, commandID string, ats []time.Time) (fires []contracts.Fire, ok bool) {
	if ctx.Err() != nil {
		return nil, false
	}
	res := make(chan []contracts.Fire, 1)
	s.enqueue(op{fn: func() {
		e := s.find(jobID)
		if e < 0 {
			res <- nil
			return
		}
		en := s.t.Entry(e)
		v := s.unpack(en.Rec)
		now := s.cfg.Clock.Now()
		out := make([]contracts.Fire, len(ats))
		for i, at := range ats {
			en.Seq++
			out[i] = s.fire(&v, en.Seq, job.BackfillFireID(v.id, commandID, at), contracts.RunTypeBackfill, at, now)
		}
		res <- out
	}}, false)
	select {
	case fires = <-res:
		return fires, fires != nil
	case <-ctx.Done():
		return nil, false
	}
}

// CalendarChanged reschedules the jobs whose plans name calendar key (changed or
// deleted; Config.Calendars holds it as it now is). Changes that come while the loop is
// busy are taken together, in one pass over the jobs.
func (s *Scheduler) CalendarChanged(key string) {
	s.mu.Lock()
	first := len(s.calChanged) == 0
	if s.calChanged == nil {
		s.calChanged = map[string]bool{}
	}
	s.calChanged[key] = true
	s.mu.Unlock()
	if first {
		s.enqueue(op{fn: func() {
			s.mu.Lock()
			keys := s.calChanged
			s.calChanged = nil
			s.mu.Unlock()
			s.rescheduleCalendared(func(pl *jobtable.Plan) bool {
				return slices.ContainsFunc(pl.Calendars, func(k string) bool { return keys[k] })
			})
		}}, false)
	}
}

// RescheduleCalendared reschedules, before Run, every started job whose plan names a
// calendar: an image keeps the fires queued (or none, for a job its calendars left
// without one) when it was cut, and a calendar may have changed since. Tell it of the
// fixed-delay jobs' kept ends first (Ended), for those queued from one.
func (s *Scheduler) RescheduleCalendared() {
	s.rescheduleCalendared(func(*jobtable.Plan) bool { return true })
}

// rescheduleCalendared queues again the started jobs whose plans name calendars and
// match: each at its first instant its calendars leave, searched from the instant it is
// queued for when that is due (a fire due or spread ahead is kept unless excluded now),
// else from now (no instant passed fires because a calendar no longer excludes it). A job
// its calendars had left with no fire is searched from now too. A fixed-delay job counts
// from its run's end, when it knows it; one that waits for its run's end is left to it.
// (Not from the job's last fire, as a load from the store counts: a cron job's record
// does not keep its start, and a last fire of an earlier start would fire instants
// before this one.)
func (s *Scheduler) rescheduleCalendared(match func(*jobtable.Plan) bool) {
	now := s.cfg.Clock.Now()
	for e := range s.t.Used() {
		en := s.t.Entry(e)
		if en.Rec == "" || !en.Started {
			continue
		}
		_, h := jobtable.ReadHead(en.Rec)
		s.sh.Lock()
		pl := s.sh.Plans.Get(h.Plan)
		s.sh.Unlock()
		if len(pl.Calendars) == 0 || !match(pl) || pl.FixedDelay && en.Pos < 0 {
			continue
		}
		v := s.unpack(en.Rec)
		from := now
		if en.Pos >= 0 {
			if q := jobtable.Instant(s.t.SlotOf(e).Instant()); !q.After(now) {
				from = q.Add(-time.Nanosecond)
			}
		}
		if last := jobtable.Instant(en.Last); last.After(from) {
			from = last
		}
		if pl.FixedDelay {
			r, ok := s.ends[v.id]
			switch {
			case ok && r.StartedAt.Equal(v.Anchor):
				v.Anchor = r.Anchor() // the fire after its run's end is queued
				from = v.Anchor
			case jobtable.Instant(en.Last).Before(v.Anchor):
				from = v.Anchor // its start's first fire is queued
			default:
				continue // queued from an end not known yet: it is told of it, and keeps it
			}
		}
		if next, ok := v.next(from); ok {
			at, spread := v.fireAt(v.id, next)
			s.t.ScheduleSpread(e, at, spread)
		} else {
			s.t.Unschedule(e)
		}
	}
}

// Unfire gives back the run number of a fire that was not stored after all (its
// publish failed, or it was stored before), if no later fire has taken one since.
func (s *Scheduler) Unfire(jobID string, seq int64) {
	s.enqueue(op{fn: func() {
		if e := s.find(jobID); e >= 0 && s.t.Entry(e).Seq == seq {
			s.t.Entry(e).Seq--
		}
	}}, false)
}

// Len reports how many jobs are held and how many are queued to fire.
func (s *Scheduler) Len(ctx context.Context) (held, queued int) {
	res := make(chan [2]int, 1)
	s.enqueue(op{fn: func() { res <- [2]int{s.t.Held(), s.t.Queued()} }}, false)
	select {
	case r := <-res:
		return r[0], r[1]
	case <-ctx.Done():
		return 0, 0
	}
}

// enqueue hands o to the loop. Puts wait while the loop is far behind; the rest, rare
// and waited for by their callers, do not.
func (s *Scheduler) enqueue(o op, bounded bool) {
	s.mu.Lock()
	for bounded && len(s.pending) >= maxPending {
		s.room.Wait()
	}
	s.pending = append(s.pending, o)
	first := len(s.pending) == 1
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Run fires due jobs until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	timer := s.cfg.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		// Changes first, on every pass: a loop that is always behind (a publisher slower
		// than the fires) would otherwise never take them, and stopped jobs would fire on.
		select {
		case <-s.wake:
			s.applyPending()
		default:
		}
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.Jobs(s.t.Held(), s.t.Queued())
		}
		now := s.cfg.Clock.Now()
		d := time.Hour
		if top, ok := s.t.Peek(); ok {
			d = time.Duration(top.At - now.UnixNano())
		}
		switch {
		case d <= 0:
			s.fireDue(now)
		// napBelow itself naps: it is what the loop measures when the timer below wakes it
		// napBelow early. Else it re-arms a zero timer until the clock ticks on, which on a
		// synctest bubble's clock, moving only when all wait, is never.
		case d <= napBelow && s.nap(ctx):
		default:
			// Measured again next to the timer: a clock moved since the pass began (a fake
			// one, by a test) would otherwise put the wake-up that much later.
			if top, ok := s.t.Peek(); ok {
				d = time.Duration(top.At - s.cfg.Clock.Now().UnixNano())
			}
			// Wake a little early and nap for the rest, unless napping just gave up.
			if d >= napBelow {
				d -= napBelow
			}
			timer.Reset(max(d, 0))
			// A clock moved between the measure and the timer's arming arms it that much
			// late: look once more, now that the timer counts from the clock's new time.
			if top, ok := s.t.Peek(); ok && top.At <= s.cfg.Clock.Now().UnixNano() {
				continue
			}
			select {
			case <-ctx.Done():
			case <-s.wake:
				s.applyPending()
			case <-timer.C():
			}
		}
	}
	return nil
}

// nap waits, by sleeping the thread, until the earliest fire is due or a change comes.
// It gives up, reporting false, after twice napBelow of real time (a fake clock moves
// only when told to).
func (s *Scheduler) nap(ctx context.Context) bool {
	deadline := time.Now().Add(2 * napBelow)
	for {
		select {
		case <-ctx.Done():
			return true
		case <-s.wake:
			s.applyPending()
			return true
		default:
		}
		top, ok := s.t.Peek()
		now := s.cfg.Clock.Now().UnixNano()
		if !ok || top.At <= now {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		s.cfg.Sleep(max(time.Duration(top.At-now), napAtLeast))
	}
}

// applyPending applies the changes waiting, all of them at one go.
func (s *Scheduler) applyPending() {
	s.mu.Lock()
	batch := s.pending
	s.pending = s.spare
	s.room.Broadcast()
	s.mu.Unlock()
	for i := range batch {
		if batch[i].fn != nil {
			batch[i].fn()
		} else {
			s.apply(batch[i].c, nil)
		}
	}
	s.release()
	clear(batch)
	s.spare = batch[:0]
}

// prepare turns j into the change the loop applies: its record, with the values it
// shares with other jobs interned, and its first fire after from.
func (s *Scheduler) prepare(j *job.Job, from time.Time, remove bool) change {
	var buf [256]byte
	if remove {
		id := string(jobtable.AppendCompact(buf[:0], j.ID))
		return change{id: id, hash: maphash.String(s.seed, id)}
	}
	tg := j.Spec.Target
	var r jobtable.Refs
	s.sh.Lock()
	r.Plan = s.sh.Plans.Add(jobtable.AppendPlanKey(buf[:0], j), func(string) *jobtable.Plan { return s.sh.NewPlan(j) })
	pl := s.sh.Plans.Get(r.Plan)
	r.Tenant = s.sh.Tenants.Add(append(buf[:0], j.Tenant...), itself)
	if tg.Code != "" {
		r.Target |= jobtable.HasCode
		r.Code = s.sh.Texts.Add(append(buf[:0], tg.Code...), itself)
	}
	if tg.HTTP != nil {
		// Kept as the JSON a fire carries: a fire decodes it, a job holds one string.
		call, _ := json.Marshal(wire.HTTPToPayload(tg.HTTP))
		r.Target |= jobtable.HasHTTP
		r.Code = s.sh.Texts.Add(call, itself)
	}
	if tg.FlowID != "" {
		r.Target |= jobtable.HasFlow
		r.Flow = s.sh.Texts.Add(append(buf[:0], tg.FlowID...), itself)
	}
	s.sh.Unlock()
	if tg.BizCode != "" {
		r.Target |= jobtable.HasBiz
	}
	c := change{started: j.State == job.Started, delay: pl.FixedDelay}
	c.rec, c.id = jobtable.Pack(buf[:0], j, r)
	c.hash = maphash.String(s.seed, c.id)
	if c.started {
		t := timingOf(j, pl)
		if next, ok := t.next(from); ok {
			c.queue = true
			c.next, c.spread = t.fireAt(j.ID, next)
		}
	}
	return c
}

func itself(s string) string { return s }

// apply makes the table hold c; p, when loading, is the job's progress, else the job
// keeps the progress it has.
func (s *Scheduler) apply(c change, p *job.Progress) {
	e := s.t.Find(c.id, c.hash)
	if c.rec == "" {
		if e >= 0 {
			if len(s.ends) > 0 {
				delete(s.ends, s.unpack(s.t.Entry(e).Rec).id)
			}
			s.released = append(s.released, s.t.Entry(e).Rec)
			s.t.Remove(e, c.hash)
		}
		return
	}
	if e < 0 {
		e = s.t.Add(c.hash)
	} else {
		s.released = append(s.released, s.t.Entry(e).Rec)
	}
	en := s.t.Entry(e)
	en.Rec, en.Started = c.rec, c.started
	if p != nil {
		en.Seq, en.Last = p.Seq, jobtable.Nanos(p.LastFire)
	}
	if fired := c.queue && en.Last >= c.next-int64(c.spread)*int64(time.Millisecond); fired && !c.delay {
		// Put again with a start whose first instant fired already (an update that kept
		// the schedule, a command replayed): the next is the first after the last fired.
		v := s.unpack(c.rec)
		next, ok := v.next(jobtable.Instant(en.Last))
		c.queue = ok
		if ok {
			c.next, c.spread = v.fireAt(v.id, next)
		}
	}
	if c.queue && c.delay && en.Last >= c.next-int64(c.spread)*int64(time.Millisecond) {
		s.t.Unschedule(e) // its start's instant fired: it waits for that run's end
		if len(s.ends) > 0 {
			if r, ok := s.ends[s.unpack(c.rec).id]; ok {
				s.rearm(e, r) // which it may know already
			}
		}
	} else if c.queue {
		s.t.ScheduleSpread(e, c.next, c.spread)
	} else {
		s.t.Unschedule(e)
	}
}

// Rearm tells the scheduler of a fixed-delay job's run's end (job.RunEnd): if the job
// waits for it, its next fire is queued, counted from the end; if it has none left, it
// is finished.
func (s *Scheduler) Rearm(jobID string, r job.RunEnd) {
	s.enqueue(op{fn: func() {
		if e := s.find(jobID); e >= 0 {
			s.rearm(e, r)
		}
	}}, false)
}

// rearm is Rearm on entry e, on the loop.
func (s *Scheduler) rearm(e int32, r job.RunEnd) {
	en := s.t.Entry(e)
	if !en.Started {
		return
	}
	v := s.unpack(en.Rec)
	if !v.plan.FixedDelay || v.Kind != job.Interval || !r.StartedAt.Equal(v.Anchor) {
		return // not a fixed delay, or an end of another start
	}
	// The end of the last fire's run: its instant the last fired. Progress saved by a
	// release before this one may hold the fire's spread time instead: that fire's too,
	// if it is less than a period after the instant (an earlier fire's run's end is at
	// least a period before), or the instant's spread — on the grid of the end it was
	// queued from, which runs through the instant itself.
	if d := jobtable.Instant(en.Last).Sub(r.Instant); d < 0 || d > 0 && d >= min(v.Jitter, v.Every) && s.spreadOnItsGrid(v, r.Instant) != en.Last {
		return
	}
	if s.ends == nil {
		s.ends = map[string]job.RunEnd{}
	}
	s.ends[v.id] = r
	if en.Pos >= 0 {
		return // queued from this end already (an image kept it): known now for a Put
	}
	v.Anchor = r.Anchor()
	if next, ok := v.next(v.Anchor); ok {
		at, spread := v.fireAt(v.id, next)
		s.t.ScheduleSpread(e, at, spread)
		return
	}
	s.cfg.Finisher.Finish(v.asJob())
}

// spreadOnItsGrid is when a fixed-delay job's fire at instant at ran: spread short of the
// instant after it on the grid it was queued on (every period from the end before it,
// so through at itself), not on its start's.
func (s *Scheduler) spreadOnItsGrid(v view, at time.Time) int64 {
	v.Anchor = at
	return s.spreadAt(&v, at)
}

// Ended is Rearm before Run: a start tells each fixed-delay job of the end it finds kept
// before it reschedules by the calendars (RescheduleCalendared) and finishes what has no
// fire left (FinishSpent), so that both count from that end.
func (s *Scheduler) Ended(jobID string, r job.RunEnd) {
	if e := s.find(jobID); e >= 0 {
		s.rearm(e, r)
	}
}

// FixedDelayJobs lists the started fixed-delay jobs, by id, before Run: a start (from an
// image or the store) tells them of the ends it finds kept (Ended) — those that wait, to
// queue their next fire, the others to know it for a later Put.
func (s *Scheduler) FixedDelayJobs() []string {
	var ids []string
	for e := range s.t.Used() {
		en := s.t.Entry(e)
		if en.Rec == "" || !en.Started {
			continue
		}
		if v := s.unpack(en.Rec); v.plan.FixedDelay {
			ids = append(ids, v.id)
		}
	}
	return ids
}

// release lets go of the interned values of the records replaced, at one go: callers
// compiling jobs take the same lock.
func (s *Scheduler) release() {
	if len(s.released) == 0 {
		return
	}
	s.sh.Lock()
	for _, rec := range s.released {
		_, h := jobtable.ReadHead(rec)
		s.sh.Plans.Drop(h.Plan)
		s.sh.Tenants.Drop(h.Tenant)
		if jobtable.TextCode(h.Target) {
			s.sh.Texts.Drop(h.Code)
		}
		if h.Target&jobtable.HasFlow != 0 {
			s.sh.Texts.Drop(h.Flow)
		}
	}
	s.sh.Unlock()
	clear(s.released)
	s.released = s.released[:0]
}

// find returns the entry of the job with id jobID, or -1.
func (s *Scheduler) find(jobID string) int32 {
	var buf [64]byte
	id := jobtable.AppendCompact(buf[:0], jobID)
	return s.t.Find(string(id), maphash.Bytes(s.seed, id))
}

func (s *Scheduler) fireDue(now time.Time) {
	for {
		top, ok := s.t.Peek()
		if !ok || top.At > now.UnixNano() {
			return
		}
		en := s.t.Entry(top.E)
		v := s.unpack(en.Rec)
		var fires []time.Time
		var next time.Time
		var dropped int
		if at := v.plan.At(top.Instant()); v.plan.FixedDelay {
			// One fire, however late: the next is counted from its run's end, which is
			// not known yet, so it has a fire left unless its life ends within a period
			// (its run's end comes after at). The end's rearm finishes it if it has none.
			fires = append(s.fires[:0], at)
			ok = v.End.IsZero() || !at.Add(v.Every).After(v.End)
		} else {
			fires, next, ok, dropped = v.due(s.fires, at, now, s.cfg.Policy)
			// Due are the instants whose spread fire is: the last instant passed may be
			// spread past now (a loop late by less than a jitter); it waits its turn.
			if n := len(fires); v.Jitter > 0 && n > 0 && fires[n-1].After(at) {
				if l := fires[n-1]; s.spreadAt(&v, l) > now.UnixNano() {
					fires, _, _, dropped = v.due(fires, at, l.Add(-time.Nanosecond), s.cfg.Policy)
					next, ok = l, true
				}
			}
		}
		s.fires = fires
		if dropped > 0 {
			reason := "catchup_limit"
			if v.plan.Policy.Coalesce {
				reason = "coalesced"
			}
			if s.cfg.Metrics != nil {
				s.cfg.Metrics.Skipped(reason, dropped)
			}
			s.cfg.Log.Info().Str("tenant", v.tenant).Str("job_id", v.id).Int("missed", dropped).Str("reason", reason).
				Bool("at_least", v.Kind == job.Cron && dropped >= MaxMissedCounted).
				Msg("missed fires not run (misfire policy)")
		}
		grace := v.plan.Policy.MisfireGrace
		before := "" // the catch-up's last fire that runs: the next one waits for its run
		for _, at := range fires {
			en.Seq++
			en.Last = jobtable.Nanos(at)
			// The fire is named by its instant and scheduled at its spread time: lateness
			// and the misfire grace count from when it was due to run.
			scheduled := at
			switch {
			case v.plan.FixedDelay:
				scheduled = time.Unix(0, top.At) // queued from its run's end, spread as queued
			case v.Jitter > 0:
				scheduled = time.Unix(0, s.spreadAt(&v, at))
			}
			f := s.fire(&v, en.Seq, job.FireID(v.id, at), contracts.RunTypeTrigger, scheduled, now)
			if late := now.Sub(scheduled); grace > 0 && late > grace {
				f.TriggerStatus = contracts.TriggerMissed
				f.Detail = fmt.Sprintf("missed: due %s ago, beyond the job's misfire_grace_time of %s; not run", late.Round(time.Millisecond), grace)
			} else {
				f.AfterFireID, before = before, f.FireID
				f.CatchUp = len(fires) > 1
			}
			s.cfg.Publisher.Publish(f)
		}
		if ok && v.plan.FixedDelay {
			s.t.Unschedule(top.E) // waits for the run's end (a rearm command)
			continue
		}
		if ok {
			at, spread := v.fireAt(v.id, next)
			s.t.ScheduleSpread(top.E, at, spread)
			continue
		}
		s.t.Unschedule(top.E)
		s.cfg.Finisher.Finish(v.asJob())
	}
}

// spreadAt is when instant at of v fires, Unix ns: its offset is short of the instant
// that follows at itself (not of the first after now: a catch-up cut short would spread
// its last fire past instants that follow it).
func (s *Scheduler) spreadAt(v *view, at time.Time) int64 {
	n, _ := v.fireAt(v.id, at)
	return n
}

func (s *Scheduler) fireManual(jobID, commandID string) contracts.Fire {
	e := s.find(jobID)
	if e < 0 {
		return contracts.Fire{}
	}
	en := s.t.Entry(e)
	v := s.unpack(en.Rec)
	now := s.cfg.Clock.Now()
	en.Seq++
	return s.fire(&v, en.Seq, job.ManualFireID(v.id, commandID), contracts.RunTypeManual, now, now)
}

func (s *Scheduler) fire(v *view, seq int64, id, runType string, scheduled, now time.Time) contracts.Fire {
	p := v.plan.Policy
	timeout := s.cfg.ExecTimeout
	if p.Timeout > 0 {
		timeout = p.Timeout
	}
	return contracts.Fire{
		V:           contracts.Version,
		FireID:      id,
		JournalID:   job.JournalID(v.id, seq),
		Seq:         seq,
		Tenant:      v.tenant,
		JobID:       v.id,
		JobKey:      v.key,
		Name:        v.name,
		RunType:     runType,
		ScheduledAt: scheduled,
		FiredAt:     now,
		Target:      contracts.Target{Code: v.target.Code, FlowID: v.target.FlowID, BizCode: v.target.BizCode, HTTP: v.httpCall()},
		TimeoutMs:   timeout.Milliseconds(),

		TriggerStatus:  contracts.TriggerFired,
		MaxInstances:   p.MaxInstances,
		Retries:        p.Retries,
		RetryBackoffMs: p.RetryBackoff.Milliseconds(),
		Then:           v.plan.Then,
		Overlap:        string(p.Overlap),
		WorkerGroup:    p.Group,
		Route:          string(p.Route),
		MisfireGraceMs: workerGrace(p),
	}
}

// workerGrace is how long a fire of a job its workers serve waits for one: its misfire
// grace; 0 for other jobs (their fires do not wait).
func workerGrace(p job.Policy) int64 {
	if p.Group == "" {
		return 0
	}
	return p.MisfireGrace.Milliseconds()
}

// view is a held job unpacked from its record, to fire or finish it.
type view struct {
	timing
	id, key, tenant, name string
	version               int64
	target                job.Target
	// call is an HTTP job's call, as JSON.
	call string
}

// httpCall is the view's HTTP call, nil for none; the JSON is the scheduler's own.
func (v *view) httpCall() *contracts.HTTPCall {
	if v.call == "" {
		return nil
	}
	c := new(contracts.HTTPCall)
	_ = json.Unmarshal([]byte(v.call), c)
	return c
}

// unpack reads rec; only the ids it decodes from binary allocate.
func (s *Scheduler) unpack(rec string) view {
	r, h := jobtable.ReadHead(rec)
	v := view{version: h.Version, target: job.Target{BizCode: h.Biz}}
	s.sh.Lock()
	v.plan, v.tenant = s.sh.Plans.Get(h.Plan), s.sh.Tenants.Get(h.Tenant)
	if h.Target&jobtable.HasCode != 0 {
		v.target.Code = s.sh.Texts.Get(h.Code)
	}
	if h.Target&jobtable.HasHTTP != 0 {
		v.call = s.sh.Texts.Get(h.Code)
	}
	if h.Target&jobtable.HasFlow != 0 {
		v.target.FlowID = s.sh.Texts.Get(h.Flow)
	}
	s.sh.Unlock()
	v.Schedule = v.plan.Schedule()
	switch v.Kind {
	case job.Interval:
		v.Anchor, v.Every = jobtable.Instant(h.X), time.Duration(h.Y)
	case job.Date:
		v.RunAt = jobtable.Instant(h.X)
	}
	v.key, v.name = r.Compact(), r.Str()
	v.id = r.ID()
	return v
}

// asJob is the started job v as a job.Job, for the Finisher.
func (v *view) asJob() job.Job {
	return job.Job{ID: v.id, Key: v.key, Tenant: v.tenant, State: job.Started, StartedAt: v.Anchor, Version: v.version,
		Spec: job.Spec{Name: v.name, Target: v.target, Policy: v.plan.Policy,
			Trigger: job.Trigger{Kind: v.Kind, Every: v.Every, RunAt: v.RunAt, Cron: v.plan.Cron, Zone: v.plan.Zone,
				Start: v.plan.Start, End: v.plan.End, Jitter: v.plan.Jitter, FixedDelay: v.plan.FixedDelay}}}
}
