// Package commands applies the api's commands, one at a time in stream order: it checks
// each against the job's current state (job.Decide), records the resulting lifecycle
// events in JetStream, writes the job projection, updates the scheduler, and answers the
// api. Every step is idempotent, so a command redelivered after a crash changes nothing.
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
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// Scheduler is what the processor tells about changed jobs.
type Scheduler interface {
	Put(j job.Job)
	FireNow(ctx context.Context, jobID, commandID string) (contracts.Fire, bool)
	Unfire(jobID string, seq int64)
}

// Fires stores a fire at once, returning the run number it is stored with.
type Fires interface {
	PublishNow(ctx context.Context, f contracts.Fire) (seq int64, err error)
}

// Metrics counts the commands decided, lag after their acceptance by the api.
type Metrics interface {
	Applied(cmdType string, lag time.Duration)
	Rejected(cmdType, reason string, lag time.Duration)
}

// Processor applies commands.
type Processor struct {
	Store *mongostore.Store
	JS    jetstream.JetStream
	NC    *nats.Conn
	Sched Scheduler
	Fires Fires
	Clock clock.Clock
	// Metrics, when not nil, counts the commands applied and rejected.
	Metrics Metrics
	Log     zerolog.Logger
}

// Handle applies one command message. Malformed commands are poison; store or broker
// failures are returned for a retry.
func (p *Processor) Handle(ctx context.Context, msg jetstream.Msg) error {
	var c contracts.Command
	if err := json.Unmarshal(msg.Data(), &c); err != nil {
		return bus.Poison(fmt.Errorf("command does not decode: %w", err))
	}
	if err := bus.Version("command", c.V); err != nil {
		return err
	}
	if c.ID == "" || c.Type == "" || c.Tenant == "" || c.JobID == "" {
		return bus.Poison(errors.New("command lacks id, type, tenant or job_id"))
	}
	log := p.Log.With().Str("command_id", c.ID).Str("type", c.Type).Str("tenant", c.Tenant).Str("job_id", c.JobID).Logger()
	if c.Idempotent {
		if kept, err := p.Store.Outcome(ctx, c.ID); err == nil {
			p.reply(c.ReplyTo, kept)
			return nil
		}
	}
	// A command is decided as of when it was accepted, so that a retry after a partial
	// failure decides exactly as the first attempt did (and a job started while the
	// trigger was away is anchored at the start the user asked for).
	at := c.At
	if at.IsZero() {
		at = p.Clock.Now()
	}
	out, replayed, err := p.apply(ctx, c, at)
	if err != nil {
		return err
	}
	data, _ := json.Marshal(out)
	if c.Idempotent {
		if err := p.Store.SaveOutcome(ctx, c.ID, data); err != nil {
			return err
		}
	}
	lag := time.Duration(0)
	if !c.At.IsZero() {
		lag = p.Clock.Now().Sub(c.At)
	}
	// A replayed command (redelivered, or replayed after a takeover) was counted when it
	// was first applied.
	count := p.Metrics != nil && !replayed
	if out.Error != nil {
		if count {
			p.Metrics.Rejected(c.Type, out.Error.Code, lag)
		}
		log.Info().Str("code", out.Error.Code).Str("reason", out.Error.Message).Msg("command rejected")
	} else {
		if count {
			p.Metrics.Applied(c.Type, lag)
		}
		ev := log.Debug().Dur("lag", lag)
		if out.FireID != "" {
			ev = ev.Str("fire_id", out.FireID)
		}
		ev.Msg("command applied")
	}
	p.reply(c.ReplyTo, data)
	return nil
}

func (p *Processor) apply(ctx context.Context, c contracts.Command, at time.Time) (out contracts.Outcome, replayed bool, err error) {
	out = contracts.Outcome{V: contracts.Version, CommandID: c.ID}
	var cur *job.Job
	switch sj, err := p.Store.GetJob(ctx, c.JobID); {
	case err == nil:
		cur = &sj.Job
	case !errors.Is(err, mongostore.ErrNotFound):
		return out, false, fmt.Errorf("read job %s: %w", c.JobID, err)
	}
	if taken, err := p.bizTaken(ctx, c, cur); err != nil || taken != nil {
		out.Error = taken
		return out, false, err
	}
	now := at.UTC().Truncate(time.Millisecond)
	d, err := job.Decide(wire.CommandFromPayload(c), cur, now)
	if err != nil {
		out.Error = Reason(err)
		return out, false, nil
	}
	// A replayed command may have been cut off half way (a crash between the job's
	// document and its keys): its idempotent writes are done again.
	if len(d.Events) > 0 || d.Replayed {
		if len(d.Events) > 0 {
			if err := p.record(ctx, c, d); err != nil {
				return out, false, err
			}
		}
		var keys []string
		if c.Type == contracts.CmdCreate {
			keys = append(keys, mongostore.JobKey(d.Job.Key))
			if biz := d.Job.Spec.Target.BizCode; biz != "" && d.Job.Live() {
				keys = append(keys, mongostore.BizKey(d.Job.Tenant, biz))
			}
		}
		if err := p.Store.PutJob(ctx, *d.Job, keys...); err != nil {
			return out, false, err
		}
		p.Sched.Put(*d.Job)
	}
	if d.Fire {
		fireID, err := p.fireNow(ctx, *d.Job, c.ID)
		if err != nil {
			return out, false, err
		}
		out.FireID = fireID
	}
	pj := wire.JobToPayload(*d.Job)
	out.Job = &pj
	return out, d.Replayed, nil
}

// fireNow stores an exec's fire before the command is acked, then remembers the exec on
// the job: a redelivered exec neither runs twice nor is lost.
func (p *Processor) fireNow(ctx context.Context, j job.Job, commandID string) (string, error) {
	f, ok := p.Sched.FireNow(ctx, j.ID, commandID)
	if !ok {
		return "", fmt.Errorf("exec of job %s: the scheduler does not hold it", j.ID)
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
	if err := p.Store.PutJob(ctx, j); err != nil {
		return "", err
	}
	return f.FireID, nil
}

// bizTaken enforces one schedule per (tenant, bizcode): a create for a behaviour that
// already has a live schedule is refused, naming that schedule. Commands apply one at a
// time, so two racing saves cannot both pass.
func (p *Processor) bizTaken(ctx context.Context, c contracts.Command, cur *job.Job) (*contracts.Error, error) {
	if c.Type != contracts.CmdCreate || cur != nil || c.Spec == nil || c.Spec.BizCode == "" {
		return nil, nil
	}
	id, err := p.Store.ResolveKey(ctx, mongostore.BizKey(c.Tenant, c.Spec.BizCode))
	if errors.Is(err, mongostore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolve bizcode: %w", err)
	}
	existing, err := p.Store.GetJob(ctx, id)
	if errors.Is(err, mongostore.ErrNotFound) || err == nil && !existing.Job.Live() {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read schedule %s: %w", id, err)
	}
	return &contracts.Error{Code: "conflict", Field: "bizcode", Message: "the behaviour already has a schedule: " + id}, nil
}

// record publishes the decision's lifecycle events; their ids derive from the command's,
// so a redelivered command's events are stored once.
func (p *Processor) record(ctx context.Context, c contracts.Command, d job.Decision) error {
	for _, ev := range d.Events {
		e := contracts.LifecycleEvent{
			V: contracts.Version, ID: c.ID + ":" + string(ev), Type: string(ev),
			Tenant: d.Job.Tenant, JobID: d.Job.ID, CommandID: c.ID, User: c.User,
			At: d.Job.UpdatedAt, Job: wire.JobToPayload(*d.Job),
		}
		data, _ := json.Marshal(e)
		if _, err := p.JS.Publish(ctx, contracts.EventSubject(e.Tenant, e.JobID, e.Type), data, jetstream.WithMsgID(e.ID)); err != nil {
			return fmt.Errorf("record %s event: %w", ev, err)
		}
	}
	return nil
}

func (p *Processor) reply(to string, data []byte) {
	if to == "" {
		return
	}
	if err := p.NC.Publish(to, data); err != nil {
		p.Log.Warn().Err(err).Msg("reply to api failed; it will answer 202")
	}
}

// Reason turns a domain error into the outcome's error.
func Reason(err error) *contracts.Error {
	var fe *job.FieldError
	var ce *job.ConflictError
	switch {
	case errors.As(err, &fe):
		return &contracts.Error{Code: "invalid", Message: fe.Error(), Field: fe.Field}
	case errors.As(err, &ce):
		return &contracts.Error{Code: "conflict", Message: ce.Msg, Field: ce.Field}
	case errors.Is(err, job.ErrNotFound):
		return &contracts.Error{Code: "not_found", Message: "job not found"}
	}
	return &contracts.Error{Code: "invalid", Message: err.Error()}
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
		V: contracts.Version, ID: fmt.Sprintf("finish-%s-v%d", j.ID, j.Version), Type: contracts.CmdFinish,
		Tenant: j.Tenant, JobID: j.ID, At: f.Clock.Now().UTC().Truncate(time.Millisecond), Version: j.Version,
	}
	data, _ := json.Marshal(c)
	// Asynchronous: the scheduler loop calls this and must not wait on the broker; a lost
	// finish is re-issued when the scheduler next loads the job.
	if _, err := f.JS.PublishAsync(contracts.CommandSubject(c.Tenant), data, jetstream.WithMsgID(c.ID)); err != nil {
		f.Log.Warn().Err(err).Str("tenant", j.Tenant).Str("job_id", j.ID).Msg("finish command not published")
	}
}
