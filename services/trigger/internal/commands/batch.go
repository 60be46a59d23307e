package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/clock"
)

// MaxBatch is the most commands applied together. The commands consumer must allow at
// least this many unacknowledged (MaxAckPending).
const MaxBatch = 256

// retryAfter is how long a failed batch waits before it is fetched again.
const retryAfter = time.Second

// Run applies the commands of cons, in stream order, until ctx ends, telling obs (if not
// nil) how each message was settled. It takes what the stream holds, up to MaxBatch,
// applies it, then acknowledges it: one round trip to the broker and a few to the store
// serve a whole batch, instead of each command.
func (p *Processor) Run(ctx context.Context, cons jetstream.Consumer, name string, obs bus.Observer) error {
	for ctx.Err() == nil {
		msgs, err := fetch(cons)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				return err
			}
			p.Log.Warn().Err(err).Str("consumer", name).Msg("consumer pull failed")
			clock.Sleep(ctx, retryAfter)
			continue
		}
		if !p.applyAll(ctx, name, msgs, obs) {
			// Nothing after a failed command was applied, and all of it was given back: it
			// comes again, in order, after a pause.
			clock.Sleep(ctx, retryAfter)
		}
	}
	return nil
}

// fetch waits up to a second for a command, then takes those behind it that the stream
// already holds.
func fetch(cons jetstream.Consumer) ([]jetstream.Msg, error) {
	first, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		return nil, err
	}
	msgs := collect(first, nil)
	if err := first.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	rest, err := cons.FetchNoWait(MaxBatch - 1)
	if err != nil {
		return msgs, nil // the first is applied; the rest come with the next fetch
	}
	return collect(rest, msgs), nil
}

func collect(b jetstream.MessageBatch, msgs []jetstream.Msg) []jetstream.Msg {
	for m := range b.Messages() {
		msgs = append(msgs, m)
	}
	return msgs
}

// applyAll applies msgs in order, in batches of commands of distinct jobs, and settles
// each. A job's second command starts a new batch: when a batch is applied again after a
// failure, each of its commands must still be recognised by its job's last command. A
// schedule of a behaviour starts one too, since whether the behaviour has a schedule is
// read from the store. On a failure the rest is given back to the stream, unapplied, and
// it reports false.
func (p *Processor) applyAll(ctx context.Context, name string, msgs []jetstream.Msg, obs bus.Observer) bool {
	var batch []*decided
	jobs := map[string]bool{}
	settle := func(msg jetstream.Msg, err error) {
		o := bus.Settle(p.NC, name, msg, err, p.Log)
		if obs != nil {
			obs(name, msg, o)
		}
	}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := p.safeEffect(ctx, batch); err != nil {
			return err
		}
		for _, x := range batch {
			p.answer(x)
			settle(x.msg, nil)
		}
		batch, jobs = batch[:0], map[string]bool{}
		return nil
	}
	giveBack := func(from int, err error) bool {
		p.Log.Warn().Err(err).Msg("applying commands failed; retrying later")
		for _, x := range batch {
			_ = x.msg.Nak()
			if obs != nil {
				obs(name, x.msg, bus.Retried)
			}
		}
		for _, msg := range msgs[from:] {
			_ = msg.Nak()
			if obs != nil {
				obs(name, msg, bus.Retried)
			}
		}
		return false
	}
	for i, msg := range msgs {
		cmd, err := decode(msg)
		if err != nil {
			settle(msg, err)
			continue
		}
		if jobs[cmd.JobID] || cmd.Type == contracts.CmdCreate && cmd.Spec != nil && cmd.Spec.BizCode != "" {
			if err := flush(); err != nil {
				return giveBack(i, err)
			}
		}
		x, err := p.safeDecide(ctx, msg, cmd)
		if bus.IsPoison(err) {
			settle(msg, err)
			continue
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return giveBack(i, ferr)
			}
			return giveBack(i, err)
		}
		batch = append(batch, x)
		jobs[cmd.JobID] = true
	}
	if err := flush(); err != nil {
		return giveBack(len(msgs), err)
	}
	return true
}

// safeDecide turns a panic deciding a command into poison: the command is set aside and
// the rest are applied, instead of the process going down.
func (p *Processor) safeDecide(ctx context.Context, msg jetstream.Msg, c contracts.Command) (x *decided, err error) {
	defer func() {
		if r := recover(); r != nil {
			x, err = nil, bus.Poison(fmt.Errorf("deciding the command panicked: %v", r))
		}
	}()
	return p.decide(ctx, msg, c)
}

// safeEffect turns a panic making a batch's effects into an error: the batch is given
// back and retried.
func (p *Processor) safeEffect(ctx context.Context, batch []*decided) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("applying the commands panicked: %v", r)
		}
	}()
	return p.effect(ctx, batch)
}
