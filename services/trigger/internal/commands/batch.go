package commands

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
)

// MaxBatch is the most commands applied together. The commands consumer must allow at
// least this many unacknowledged (MaxAckPending).
const MaxBatch = 256

// Run applies the commands of cons, in stream order, until ctx ends, telling obs (if not
// nil) how each message was settled. It takes what the stream holds, up to MaxBatch,
// applies it, then acknowledges it: one round trip to the broker and a few to the store
// serve a whole batch, instead of each command. It returns the error of a consumer that
// no longer exists.
func (p *Processor) Run(ctx context.Context, cons jetstream.Consumer, name string, obs bus.Observer) error {
	p.memo = newMemo()
	c := bus.Consumer{Name: name, NC: p.NC, Log: p.Log, Observe: obs, Ordered: true, Between: p.Pause}
	return c.Batches(ctx, cons, MaxBatch, time.Second, p.applyAll)
}

// command is a decoded command message; i is its place in the fetched batch.
type command struct {
	msg jetstream.Msg
	c   contracts.Command
	i   int
}

// applyAll applies msgs in order and gives each its outcome. It applies them in batches
// of commands of distinct jobs: a job's second command starts a new batch, because when
// a batch is applied again after a failure, each of its commands must still be
// recognised by its job's last command. A schedule of a behaviour starts one too, since
// whether the behaviour has a schedule is read before its batch is applied, and so does a
// definition with child jobs, whose chain is read before it. On a failure the rest is
// given back to the stream, unapplied, to come again in order.
func (p *Processor) applyAll(ctx context.Context, msgs []jetstream.Msg) []error {
	errs := make([]error, len(msgs))
	giveBack := func(err error, cmds ...[]command) []error {
		for _, cs := range cmds {
			for _, cm := range cs {
				errs[cm.i] = err
			}
		}
		return errs
	}
	var todo []command
	for i, msg := range msgs {
		c, err := decode(msg)
		if err != nil {
			errs[i] = err
			continue
		}
		todo = append(todo, command{msg, c, i})
	}
	for len(todo) > 0 {
		seg := todo[:batchEnd(todo)]
		states, err := p.readAll(ctx, seg)
		if err != nil {
			return giveBack(err, todo)
		}
		var batch []*decided
		var applied []command
		for i, cm := range seg {
			x, err := p.safeDecide(ctx, cm.msg, cm.c, states[i])
			if bus.IsPoison(err) {
				errs[cm.i] = err
				continue
			}
			if err != nil {
				// What was decided before it is applied; it and the rest come again.
				if ferr := p.safeEffect(ctx, batch); ferr != nil {
					return giveBack(ferr, applied, todo[i:])
				}
				p.answerAll(batch)
				return giveBack(err, todo[i:])
			}
			batch, applied = append(batch, x), append(applied, cm)
		}
		if err := p.safeEffect(ctx, batch); err != nil {
			return giveBack(err, applied, todo[len(seg):])
		}
		p.answerAll(batch)
		todo = todo[len(seg):]
	}
	return errs
}

// batchEnd is where the batch that cmds begin with ends: before a job's second command,
// or before a schedule of a behaviour.
func batchEnd(cmds []command) int {
	jobs := map[string]bool{}
	for i, cm := range cmds {
		c := cm.c
		// A chain's children, read before its batch, may be changed by the batch.
		if i > 0 && (jobs[c.JobID] || c.Type == contracts.CmdCreate && c.Spec != nil && c.Spec.BizCode != "" || chained(c)) {
			return i
		}
		jobs[c.JobID] = true
	}
	return len(cmds)
}

// readers is how many store reads a batch makes at once.
const readers = 8

// readAll reads what deciding each command needs, several at once.
func (p *Processor) readAll(ctx context.Context, cmds []command) ([]state, error) {
	states := make([]state, len(cmds))
	errs := make([]error, len(cmds))
	sem := make(chan struct{}, readers)
	var wg sync.WaitGroup
	for i, cm := range cmds {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			states[i], errs[i] = p.read(ctx, cm.c)
		})
	}
	wg.Wait()
	return states, errors.Join(errs...)
}

// answerAll answers the commands of an applied batch; they are acknowledged after.
func (p *Processor) answerAll(batch []*decided) {
	for _, x := range batch {
		p.answer(x)
	}
}

// safeDecide turns a panic deciding a command into poison: the command is set aside and
// the rest are applied, instead of the process going down.
func (p *Processor) safeDecide(ctx context.Context, msg jetstream.Msg, c contracts.Command, st state) (x *decided, err error) {
	defer func() {
		if r := recover(); r != nil {
			x, err = nil, bus.Poison(fmt.Errorf("deciding the command panicked: %v", r))
		}
	}()
	return p.decide(ctx, msg, c, st)
}

// safeEffect turns a panic making a batch's effects into an error: the batch is given
// back and retried, its jobs read again.
func (p *Processor) safeEffect(ctx context.Context, batch []*decided) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("applying the commands panicked: %v", r)
		}
		if err != nil {
			// Some of the batch's jobs may be applied and others not: read them again.
			for _, x := range batch {
				p.memo.forget(x.c.JobID)
			}
		}
	}()
	return p.effect(ctx, batch)
}
