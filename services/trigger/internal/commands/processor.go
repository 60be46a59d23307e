// Package commands applies the api's commands in stream order: it checks each against
// the job's current state (job.Decide), records the resulting lifecycle events in
// JetStream, updates the scheduler, answers the api, and writes the job projection behind
// the answer (Behind). It applies them in batches, each step once per batch. Every step
// is idempotent, so a command redelivered after a crash changes nothing. It talks to the
// store, the events stream and the api through small interfaces (Store, Events, Replies),
// and decides nothing the domain decides.
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/kept"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// Scheduler is what the processor tells about changed jobs.
type Scheduler interface {
	Put(j job.Job)
	FireNow(ctx context.Context, jobID, commandID string) (contracts.Fire, bool)
	FireBackfill(ctx context.Context, jobID, commandID string, ats []time.Time) ([]contracts.Fire, bool)
	Unfire(jobID string, seq int64)
	Rearm(jobID string, r job.RunEnd)
}

// RunEnds keeps fixed-delay jobs' last scheduled run's end (a runends.Ends).
type RunEnds interface {
	Put(ctx context.Context, jobID string, r job.RunEnd) error
	Delete(ctx context.Context, jobID string) error
}

// Fires stores a fire at once, returning the run number it is stored with.
type Fires interface {
	PublishNow(ctx context.Context, f contracts.Fire) (seq int64, err error)
}

// Store is what the processor reads of the job projection (a *mongostore.Store); it
// writes the job documents through Behind.
type Store interface {
	GetJob(ctx context.Context, id string) (mongostore.StoredJob, error)
	LiveSchedule(ctx context.Context, tenant, bizcode string) (mongostore.StoredJob, error)
}

// Kept keeps the outcomes of idempotent commands (a *kept.Outcomes).
type Kept interface {
	// Get returns a command's kept outcome, or kept.ErrNotFound.
	Get(ctx context.Context, commandID string) ([]byte, error)
	// Put keeps outcomes by command id, and returns once all are stored.
	Put(ctx context.Context, outcomes map[string][]byte) error
}

// Events stores lifecycle events in the log.
type Events interface {
	// Record stores evs, each once whatever how often it is recorded (by its id), and
	// returns once all are stored, with the log's last position among them.
	Record(ctx context.Context, evs []contracts.LifecycleEvent) (last uint64, err error)
}

// Replies sends the api its answers (a *nats.Conn).
type Replies interface {
	Publish(subject string, data []byte) error
}

// Metrics counts the commands decided, lag after their acceptance by the api.
type Metrics interface {
	Applied(cmdType string, lag time.Duration)
	Rejected(cmdType, reason string, lag time.Duration)
}

// Processor applies commands.
type Processor struct {
	Store Store
	Kept  Kept
	// Behind writes the job documents; it must be running.
	Behind  *Behind
	Events  Events
	Replies Replies
	// NC is where the commands consumer sets aside what it cannot apply.
	NC    *nats.Conn
	Sched Scheduler
	Fires Fires
	// Ends keeps fixed-delay jobs' runs' ends before their rearm is acknowledged; nil:
	// a rearm is refused (it would be lost at the next start).
	Ends  RunEnds
	Clock clock.Clock
	// Metrics, when not nil, counts the commands applied and rejected.
	Metrics Metrics
	// Pause, when not nil, is called between batches, when every command fetched is
	// settled (and at least once a second when none come): the moment no command is
	// half applied, at which the trigger cuts its images of the scheduler.
	Pause func(ctx context.Context)
	Log   zerolog.Logger

	memo *memo
}

// decode reads a command message; what cannot be applied is poison.
func decode(msg jetstream.Msg) (contracts.Command, error) {
	var c contracts.Command
	if err := json.Unmarshal(msg.Data(), &c); err != nil {
		return c, bus.Poison(fmt.Errorf("command does not decode: %w", err))
	}
	if err := bus.Version("command", c.V); err != nil {
		return c, err
	}
	if c.ID == "" || c.Type == "" || c.Tenant == "" || c.JobID == "" {
		return c, bus.Poison(errors.New("command lacks id, type, tenant or job_id"))
	}
	if c.At.IsZero() {
		// A job's times (created, started, updated) are the command's: none is no time.
		return c, bus.Poison(errors.New("command lacks at, the time it was accepted"))
	}
	return c, nil
}

// decided is a command decided in a batch, its effects not yet made.
type decided struct {
	msg jetstream.Msg
	c   contracts.Command
	// kept is the outcome kept from the command's first application: it is answered as
	// it is, and nothing is done again.
	kept     []byte
	out      contracts.Outcome
	d        job.Decision
	replayed bool
}

// seq is the command's position in the commands stream: it orders the job states one
// version may have (see mongostore.JobWrite).
func (x *decided) seq() uint64 {
	if md, err := x.msg.Metadata(); err == nil {
		return md.Sequence.Stream
	}
	return 0
}

// write reports whether the command's job document is written: it changed, or a replayed
// command may have been cut off half way (a crash between the job's document and its
// keys), so its idempotent writes are done again.
func (x *decided) write() bool { return x.d.Job != nil && (len(x.d.Events) > 0 || x.d.Replayed) }

// state is what deciding a command reads: from what this term applied, else the store.
type state struct {
	// kept is the command's kept outcome, if it is idempotent and was applied before.
	kept []byte
	// cur is its job, nil when there is none.
	cur *job.Job
	// holder is the live schedule of the behaviour a create would schedule, nil when
	// there is none (or the command is not such a create).
	holder *job.Job
	// chain is why the child jobs a create or update names cannot be (job.CheckChain).
	chain error
}

// read reads what deciding c needs.
func (p *Processor) read(ctx context.Context, c contracts.Command) (state, error) {
	var st state
	if c.Idempotent {
		outcome, err := p.Kept.Get(ctx, c.ID)
		if err == nil {
			st.kept = outcome
			return st, nil
		}
		if !errors.Is(err, kept.ErrNotFound) {
			return st, fmt.Errorf("read kept outcome: %w", err)
		}
	}
	cur, err := p.job(ctx, c.JobID)
	if err != nil {
		return st, err
	}
	st.cur = cur
	if chained(c) {
		spec := wire.SpecFromPayload(*c.Spec)
		err := job.CheckChain(job.Job{ID: c.JobID, Tenant: c.Tenant, Spec: spec}, st.cur, func(id string) (*job.Job, error) {
			return p.job(ctx, id)
		})
		var fe *job.FieldError
		var ce *job.ConflictError
		switch {
		case errors.As(err, &fe), errors.As(err, &ce):
			st.chain = err
		case err != nil:
			return st, err
		}
	}
	if c.Type == contracts.CmdCreate && st.cur == nil && c.Spec != nil && c.Spec.BizCode != "" {
		holder, err := p.liveSchedule(ctx, c.Tenant, c.Spec.BizCode)
		if err != nil {
			return st, fmt.Errorf("read the schedule of behaviour %s: %w", c.Spec.BizCode, err)
		}
		st.holder = holder
	}
	return st, nil
}

// job reads job id's newest state: what this term applied, else the store's; nil when
// there is none.
func (p *Processor) job(ctx context.Context, id string) (*job.Job, error) {
	if j, ok := p.applied(id); ok {
		return &j, nil
	}
	switch sj, err := p.Store.GetJob(ctx, id); {
	case errors.Is(err, mongostore.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read job %s: %w", id, err)
	default:
		return &sj.Job, nil
	}
}

// applied returns the newest state this term applied to job id: staged or being written,
// else remembered (written).
func (p *Processor) applied(id string) (job.Job, bool) {
	if j, ok := p.Behind.Get(id); ok {
		return j, true
	}
	return p.memo.get(id)
}

// liveSchedule finds the tenant's live schedule of a behaviour: among the jobs not yet
// written, then in the store, whose answer a newer state this term applied overrides
// (the store may have been read just before the writer wrote that state).
func (p *Processor) liveSchedule(ctx context.Context, tenant, code string) (*job.Job, error) {
	if j, ok := p.Behind.Behaviour(tenant, code); ok {
		return &j, nil
	}
	sj, err := p.Store.LiveSchedule(ctx, tenant, code)
	switch {
	case errors.Is(err, mongostore.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	if j, ok := p.applied(sj.Job.ID); ok && (!j.Live() || j.Spec.Target.BizCode != code) {
		return nil, nil
	}
	return &sj.Job, nil
}

// decide decides c on what was read for it; it writes nothing.
func (p *Processor) decide(ctx context.Context, msg jetstream.Msg, c contracts.Command, st state) (*decided, error) {
	x := &decided{msg: msg, c: c, out: contracts.Outcome{V: contracts.Version, CommandID: c.ID}}
	if st.kept != nil {
		x.kept = repeat(st.kept)
		return x, nil
	}
	cmd := wire.CommandFromPayload(c)
	if st.chain != nil && (st.cur == nil || st.cur.LastCommand != c.ID) {
		x.out.Error = wire.ErrorToPayload(st.chain)
		return x, nil
	}
	if err := job.CheckBizcode(cmd, st.holder); err != nil {
		x.out.Error = wire.ErrorToPayload(err)
		return x, nil
	}
	// A command is decided as of when it was accepted, so that a retry after a partial
	// failure decides exactly as the first attempt did (and a job started while the
	// trigger was away is anchored at the start the user asked for).
	d, err := job.Decide(cmd, st.cur, c.At.UTC().Truncate(time.Millisecond))
	if err != nil {
		x.out.Error = wire.ErrorToPayload(err)
		return x, nil
	}
	x.d, x.replayed = d, d.Replayed
	pj := wire.JobToPayload(*d.Job)
	x.out.Job = &pj
	return x, nil
}

// effect makes the effects of a batch of decided commands, each of another job, in
// this order: lifecycle events stored, job documents staged to be written, the scheduler
// told, exec fires stored, outcomes kept. Every step is idempotent, so after a failure
// the whole batch is applied again.
func (p *Processor) effect(ctx context.Context, batch []*decided) error {
	seq, err := p.record(ctx, batch)
	if err != nil {
		return err
	}
	var writes []mongostore.JobWrite
	for _, x := range batch {
		if x.write() {
			writes = append(writes, mongostore.JobWrite{Job: *x.d.Job, WithKeys: x.c.Type == contracts.CmdCreate, CommandSeq: x.seq()})
		}
	}
	p.Behind.Stage(ctx, writes, seq)
	for _, x := range batch {
		if x.write() {
			p.memo.put(*x.d.Job)
			p.Sched.Put(*x.d.Job)
		}
	}
	outcomes := map[string][]byte{}
	for _, x := range batch {
		if x.d.Fire {
			fireID, err := p.fireNow(ctx, *x.d.Job, x.c, x.seq())
			if err != nil {
				return err
			}
			x.out.FireID = fireID
		}
		if r := x.d.Rearm; r != nil {
			// Kept before the command is acknowledged: a start that has only the job's
			// events and the store finds it there.
			if p.Ends == nil {
				return errors.New("a fixed-delay job's run's end with nowhere to keep it")
			}
			if err := p.Ends.Put(ctx, x.d.Job.ID, *r); err != nil {
				return err
			}
			p.Sched.Rearm(x.d.Job.ID, *r)
		}
		if x.c.Type == contracts.CmdDelete && x.d.Job != nil && p.Ends != nil {
			// Whether it is a fixed delay or not: it may have been one before an update.
			if err := p.Ends.Delete(ctx, x.d.Job.ID); err != nil {
				p.Log.Warn().Err(err).Str("job_id", x.d.Job.ID).Msg("a deleted job's run's end not forgotten; it stays, unused")
			}
		}
		if len(x.d.Backfill) > 0 && x.c.Backfill != nil {
			done, err := p.backfill(ctx, *x.d.Job, x.c, x.seq(), x.d)
			if err != nil {
				return err
			}
			x.out.Backfilled = done
		}
		if x.kept == nil {
			if x.c.Idempotent {
				x.out.Fingerprint = x.c.Fingerprint
			}
			x.kept, _ = json.Marshal(x.out)
			if x.c.Idempotent {
				outcomes[x.c.ID] = x.kept
			}
		}
	}
	if len(outcomes) == 0 {
		return nil
	}
	return p.Kept.Put(ctx, outcomes)
}

// repeat marks a kept outcome as answering a repeat, so that the api does not take its
// job, perhaps changed or deleted since, for the newest state.
func repeat(kept []byte) []byte {
	var o contracts.Outcome
	if err := json.Unmarshal(kept, &o); err != nil {
		return kept // as kept: the api refuses what it cannot read
	}
	o.Kept = true
	data, _ := json.Marshal(o)
	return data
}

// answer counts, logs and answers a command whose effects are made.
func (p *Processor) answer(x *decided) {
	c := x.c
	lag := p.Clock.Now().Sub(c.At)
	// A replayed command (redelivered, or replayed after a takeover) was counted when it
	// was first applied; so was one answered with its kept outcome.
	count := p.Metrics != nil && !x.replayed
	log := p.Log.With().Str("command_id", c.ID).Str("type", c.Type).Str("tenant", c.Tenant).Str("job_id", c.JobID).Logger()
	switch {
	case x.out.Error != nil:
		if count {
			p.Metrics.Rejected(c.Type, x.out.Error.Code, lag)
		}
		log.Info().Str("code", x.out.Error.Code).Str("reason", x.out.Error.Message).Msg("command rejected")
	case x.out.Job != nil:
		if count {
			p.Metrics.Applied(c.Type, lag)
		}
		ev := log.Debug().Dur("lag", lag)
		if x.out.FireID != "" {
			ev = ev.Str("fire_id", x.out.FireID)
		}
		ev.Msg("command applied")
	}
	p.reply(c.ReplyTo, x.kept)
}

// fireNow stores an exec's fire before the command is acked, then remembers the exec on
// the job: a redelivered exec neither runs twice nor is lost.
func (p *Processor) fireNow(ctx context.Context, j job.Job, c contracts.Command, seq uint64) (string, error) {
	f, ok := p.Sched.FireNow(ctx, j.ID, c.ID)
	if !ok {
		return "", fmt.Errorf("exec of job %s: the scheduler does not hold it", j.ID)
	}
	f.Params = c.Params
	if c.ParentFireID != "" {
		f.ParentFireID, f.RunType = c.ParentFireID, contracts.RunTypeChain
	}
	stored, err := p.Fires.PublishNow(ctx, f)
	if err != nil {
		// Not given back: the fire may be stored all the same, and a run number used twice
		// would merge two runs; at worst the number is skipped.
		return "", fmt.Errorf("store exec fire: %w", err)
	}
	if stored != f.Seq {
		// Stored before (a redelivered exec) under another number: give ours back.
		p.Sched.Unfire(j.ID, f.Seq)
	}
	p.Behind.Stage(ctx, []mongostore.JobWrite{{Job: j, CommandSeq: seq}}, 0)
	p.memo.put(j)
	return f.FireID, nil
}

// backfill stores the fires a backfill releases now, before the command is acked: its
// first Concurrency instants (the others are released one by one, each as a run of it
// ends: afterrun sends the continuation, whose one instant is stored here), so that a
// backfill holds at most Concurrency fires in the broker, not thousands waiting there
// in every tenant's way. Each fire is a catch-up's (claimed, waiting for a free run
// rather than skipped) named by the backfill and its instant; applied again, its fires
// are found stored and their run numbers given back, as an exec's. The job remembers the
// command, as after an exec.
func (p *Processor) backfill(ctx context.Context, j job.Job, c contracts.Command, seq uint64, d job.Decision) (*contracts.Backfilled, error) {
	b := c.Backfill
	of := b.Of
	if of == "" {
		of = c.ID
	}
	n := max(b.Concurrency, 1)
	release := d.Backfill[:min(n, len(d.Backfill))]
	fires, ok := p.Sched.FireBackfill(ctx, j.ID, of, release)
	if !ok {
		return nil, fmt.Errorf("backfill of job %s: the scheduler does not hold it", j.ID)
	}
	last := d.Backfill[len(d.Backfill)-1]
	if b.Of != "" {
		last = b.To
	}
	stored := make([]int64, len(fires))
	for i := range fires {
		f := &fires[i]
		then := contracts.Then{}
		if f.Then != nil {
			then = *f.Then
		}
		then.Backfill = &contracts.BackfillThen{Of: of, At: f.ScheduledAt, To: last, Concurrency: n}
		f.Then, f.CatchUp = &then, true
		var err error
		if stored[i], err = p.Fires.PublishNow(ctx, *f); err != nil {
			// Run numbers are not given back: some fires may be stored all the same.
			return nil, fmt.Errorf("store backfill fire: %w", err)
		}
	}
	for i := len(fires) - 1; i >= 0; i-- {
		if stored[i] != fires[i].Seq {
			p.Sched.Unfire(j.ID, fires[i].Seq) // stored before (applied again): give ours back
		}
	}
	p.Behind.Stage(ctx, []mongostore.JobWrite{{Job: j, CommandSeq: seq}}, 0)
	p.memo.put(j)
	if b.Of != "" {
		return nil, nil
	}
	return &contracts.Backfilled{Fires: len(d.Backfill), First: d.Backfill[0], Last: last, Capped: d.Capped}, nil
}

// record stores the batch's lifecycle events, all at once, and returns the log's last
// position among them (0: none); their ids derive from the command's, so a redelivered
// command's events are stored once.
func (p *Processor) record(ctx context.Context, batch []*decided) (uint64, error) {
	var evs []contracts.LifecycleEvent
	for _, x := range batch {
		for _, ev := range x.d.Events {
			c, j := x.c, x.d.Job
			evs = append(evs, contracts.LifecycleEvent{
				V: contracts.Version, ID: job.EventID(c.ID, string(ev)), Type: string(ev),
				Tenant: j.Tenant, JobID: j.ID, CommandID: c.ID, User: c.User,
				At: j.UpdatedAt, Job: wire.JobToPayload(*j), Reason: c.Reason,
			})
		}
	}
	if len(evs) == 0 {
		return 0, nil
	}
	return p.Events.Record(ctx, evs)
}

// JetStreamEvents records lifecycle events in the events stream, with their ids as
// message ids.
type JetStreamEvents struct{ JS jetstream.JetStream }

// Record publishes evs at once, then waits for every acknowledgement.
func (s JetStreamEvents) Record(ctx context.Context, evs []contracts.LifecycleEvent) (uint64, error) {
	acks := make([]jetstream.PubAckFuture, 0, len(evs))
	for _, e := range evs {
		data, _ := json.Marshal(e)
		a, err := s.JS.PublishAsync(contracts.EventSubject(e.Tenant, e.JobID, e.Type), data, jetstream.WithMsgID(e.ID))
		if err != nil {
			return 0, fmt.Errorf("record %s event: %w", e.Type, err)
		}
		acks = append(acks, a)
	}
	var last uint64
	for _, a := range acks {
		select {
		case ack := <-a.Ok():
			// A duplicate's sequence is the first copy's.
			last = max(last, ack.Sequence)
		case err := <-a.Err():
			return 0, fmt.Errorf("record event: %w", err)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return last, nil
}

func (p *Processor) reply(to string, data []byte) {
	if to == "" {
		return
	}
	if err := p.Replies.Publish(to, data); err != nil {
		p.Log.Warn().Err(err).Msg("reply to api failed; it will answer 202")
	}
}

// Finisher sends the trigger's own finish commands through the command stream, so that a
// job's lifecycle has a single writer.
type Finisher struct {
	JS    jetstream.JetStream
	Clock clock.Clock
	Log   zerolog.Logger
}

// Finish asks for j to be marked finished.
func (f Finisher) Finish(j job.Job) {
	c := contracts.Command{
		V: contracts.Version, ID: job.FinishCommandID(j.ID, j.Version), Type: contracts.CmdFinish,
		Tenant: j.Tenant, JobID: j.ID, At: f.Clock.Now().UTC().Truncate(time.Millisecond), Version: j.Version,
	}
	data, _ := json.Marshal(c)
	// Asynchronous: the scheduler loop calls this and must not wait on the broker; a lost
	// finish is re-issued when the scheduler next loads the job.
	if _, err := f.JS.PublishAsync(contracts.CommandSubject(c.Tenant), data, jetstream.WithMsgID(c.ID)); err != nil {
		f.Log.Warn().Err(err).Str("tenant", j.Tenant).Str("job_id", j.ID).Msg("finish command not published")
	}
}

// chained reports whether c writes a definition that runs other jobs after its runs: its
// children are checked before it is decided.
func chained(c contracts.Command) bool {
	return (c.Type == contracts.CmdCreate || c.Type == contracts.CmdUpdate) && c.Spec != nil &&
		(len(c.Spec.Policy.OnSuccess) > 0 || len(c.Spec.Policy.OnFailure) > 0)
}
