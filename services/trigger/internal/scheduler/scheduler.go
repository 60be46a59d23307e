// Package scheduler fires jobs on time. One goroutine owns a min-heap of next fire times
// and a single timer (the shape of Nomad's periodic dispatcher); every change reaches it
// through a channel. Decisions about late and missed fires are the pure function Due.
// The scheduler never reads the store while running: it is loaded once at start.
package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
)

// Publisher takes fires to the broker. Publish may block to apply back-pressure, but must
// not drop a fire.
type Publisher interface {
	Publish(f contracts.Fire)
}

// Finisher is told when a started job has no fire left (a date job fired, a cron ran out),
// so that the job is marked finished through the ordinary command path.
type Finisher interface {
	Finish(j job.Job)
}

// Progress is how far a job has been fired.
type Progress struct {
	Seq      int64
	LastFire time.Time // scheduled instant of the last scheduled fire; zero if none
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
	// Metrics, when not nil, is told the scheduler's size after every change.
	Metrics Metrics
	Log     zerolog.Logger
}

type entry struct {
	job   *job.Job
	prog  Progress
	next  time.Time
	index int
}

// Scheduler holds every live job, started or not (an exec of a stopped job needs its run
// number), and fires the started ones.
type Scheduler struct {
	cfg     Config
	entries map[string]*entry
	q       queue
	ops     chan func()
}

// New returns a scheduler; Load it, then Run it.
func New(cfg Config) *Scheduler {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Policy.MaxCatchUp <= 0 {
		cfg.Policy.MaxCatchUp = 100
	}
	return &Scheduler{cfg: cfg, entries: make(map[string]*entry), ops: make(chan func(), 1024)}
}

// Load adds a job as stored, before Run. Fires it missed while the scheduler was away
// are decided by Due when the loop starts.
func (s *Scheduler) Load(j job.Job, p Progress) {
	s.put(j, p, true)
}

// Put adds or replaces a job after a command changed it (a deleted job is removed).
func (s *Scheduler) Put(j job.Job) {
	s.ops <- func() {
		if !j.Live() {
			s.remove(j.ID)
			return
		}
		old := s.entries[j.ID]
		p := Progress{}
		if old != nil {
			p = old.prog
		}
		s.put(j, p, false)
	}
}

// Observe raises a job's progress to what a replayed fire shows, before Run.
func (s *Scheduler) Observe(jobID string, seq int64, scheduled time.Time, manual bool) {
	e := s.entries[jobID]
	if e == nil {
		return
	}
	if seq > e.prog.Seq {
		e.prog.Seq = seq
	}
	if !manual && scheduled.After(e.prog.LastFire) {
		e.prog.LastFire = scheduled
		s.reschedule(e, scheduled)
	}
}

// FireNow makes the fire of a run now (an exec), outside the job's schedule, with the
// job's next run number; the caller publishes it. ok is false if the job is unknown.
func (s *Scheduler) FireNow(ctx context.Context, jobID, commandID string) (f contracts.Fire, ok bool) {
	res := make(chan contracts.Fire, 1)
	select {
	case s.ops <- func() { res <- s.fireManual(jobID, commandID) }:
	case <-ctx.Done():
		return contracts.Fire{}, false
	}
	select {
	case f = <-res:
		return f, f.FireID != ""
	case <-ctx.Done():
		return contracts.Fire{}, false
	}
}

// Unfire gives back the run number of a fire that was not stored after all (its
// publish failed, or it was stored before), if no later fire has taken one since.
func (s *Scheduler) Unfire(jobID string, seq int64) {
	s.ops <- func() {
		if e := s.entries[jobID]; e != nil && e.prog.Seq == seq {
			e.prog.Seq--
		}
	}
}

// Len reports how many jobs are held and how many are queued to fire.
func (s *Scheduler) Len(ctx context.Context) (held, queued int) {
	res := make(chan [2]int, 1)
	select {
	case s.ops <- func() { res <- [2]int{len(s.entries), len(s.q)} }:
	case <-ctx.Done():
		return 0, 0
	}
	r := <-res
	return r[0], r[1]
}

// Run fires due jobs until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	timer := s.cfg.Clock.NewTimer(s.wait())
	defer timer.Stop()
	for {
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.Jobs(len(s.entries), len(s.q))
		}
		select {
		case <-ctx.Done():
			return nil
		case op := <-s.ops:
			op()
			// Drain what else is queued before re-arming the timer.
			for drained := false; !drained; {
				select {
				case op := <-s.ops:
					op()
				default:
					drained = true
				}
			}
		case <-timer.C():
			s.fireDue(s.cfg.Clock.Now())
		}
		timer.Reset(s.wait())
	}
}

// wait is how long the loop may sleep: until the earliest fire, or a long while.
func (s *Scheduler) wait() time.Duration {
	next, ok := s.q.peek()
	if !ok {
		return time.Hour
	}
	return max(next.Sub(s.cfg.Clock.Now()), 0)
}

func (s *Scheduler) put(j job.Job, p Progress, loading bool) {
	e := s.entries[j.ID]
	if e == nil {
		e = &entry{index: -1}
		s.entries[j.ID] = e
	}
	e.job, e.prog = &j, p
	s.q.remove(e)
	if j.State != job.Started {
		return
	}
	// The first instant not yet fired: after the last fire if it belongs to this start,
	// else after the start itself.
	from := j.StartedAt
	if loading && p.LastFire.After(from) {
		from = p.LastFire
	}
	if next, ok := j.Next(from); ok {
		e.next = next
		s.q.push(e)
	} else if loading {
		s.cfg.Finisher.Finish(j)
	}
}

func (s *Scheduler) reschedule(e *entry, after time.Time) {
	s.q.remove(e)
	if next, ok := e.job.Next(after); ok {
		e.next = next
		s.q.push(e)
	}
}

func (s *Scheduler) remove(id string) {
	if e := s.entries[id]; e != nil {
		s.q.remove(e)
		delete(s.entries, id)
	}
}

func (s *Scheduler) fireDue(now time.Time) {
	for len(s.q) > 0 && !s.q[0].next.After(now) {
		e := s.q[0]
		fires, next, ok, dropped := Due(e.job, e.next, now, s.cfg.Policy)
		if dropped > 0 {
			reason := "catchup_limit"
			if e.job.Spec.Policy.Coalesce {
				reason = "coalesced"
			}
			if s.cfg.Metrics != nil {
				s.cfg.Metrics.Skipped(reason, dropped)
			}
			s.cfg.Log.Info().Str("tenant", e.job.Tenant).Str("job_id", e.job.ID).Int("missed", dropped).Str("reason", reason).
				Msg("missed fires not run (misfire policy)")
		}
		grace := e.job.Spec.Policy.MisfireGrace
		for _, at := range fires {
			e.prog.Seq++
			e.prog.LastFire = at
			f := s.fire(e, job.FireID(e.job.ID, at), contracts.RunTypeTrigger, at, now)
			if late := now.Sub(at); grace > 0 && late > grace {
				f.TriggerStatus = contracts.TriggerMissed
				f.Detail = fmt.Sprintf("missed: due %s ago, beyond the job's misfire_grace_time of %s; not run", late.Round(time.Millisecond), grace)
			}
			s.cfg.Publisher.Publish(f)
		}
		if ok {
			e.next = next
			s.q.fix(e)
			continue
		}
		s.q.remove(e)
		s.cfg.Finisher.Finish(*e.job)
	}
}

func (s *Scheduler) fireManual(jobID, commandID string) contracts.Fire {
	e := s.entries[jobID]
	if e == nil {
		return contracts.Fire{}
	}
	now := s.cfg.Clock.Now()
	e.prog.Seq++
	return s.fire(e, job.ManualFireID(jobID, commandID), contracts.RunTypeManual, now, now)
}

func (s *Scheduler) fire(e *entry, id, runType string, scheduled, now time.Time) contracts.Fire {
	j := e.job
	p := j.Spec.Policy
	return contracts.Fire{
		V:           contracts.Version,
		FireID:      id,
		JournalID:   job.JournalID(j.ID, e.prog.Seq),
		Seq:         e.prog.Seq,
		Tenant:      j.Tenant,
		JobID:       j.ID,
		JobKey:      j.Key,
		Name:        j.Spec.Name,
		RunType:     runType,
		ScheduledAt: scheduled,
		FiredAt:     now,
		Target:      contracts.Target{Code: j.Spec.Target.Code, FlowID: j.Spec.Target.FlowID, BizCode: j.Spec.Target.BizCode},
		TimeoutMs:   s.cfg.ExecTimeout.Milliseconds(),

		TriggerStatus:  contracts.TriggerFired,
		MaxInstances:   p.MaxInstances,
		Retries:        p.Retries,
		RetryBackoffMs: p.RetryBackoff.Milliseconds(),
	}
}
