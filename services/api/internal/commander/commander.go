// Package commander sends the api's commands: it appends each to JetStream (a write is
// accepted only once stored) and waits a bounded time for the trigger's outcome on a
// private inbox. No outcome in time means the trigger is away: the command is still
// accepted and will be applied when it returns. It takes job.Commands and answers with
// the job a command left or the domain's error; the payloads are wire's.
package commander

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/kept"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// ErrUnavailable: the broker did not store the command in time.
var ErrUnavailable = errors.New("broker unavailable")

// ErrKeyReused: the command's Idempotency-Key was used before for the same operation on
// the same job with another body; the first request's outcome stands.
var ErrKeyReused = errors.New("idempotency key reused with another body")

// Command is a command as the api sends it: the domain's, and whether it was asked with
// an Idempotency-Key, with the fingerprint of the request's body then.
type Command struct {
	job.Command
	Idempotent  bool
	Fingerprint string
}

// Recorder counts the commands stored in JetStream; answered is false when the
// trigger's outcome did not come in time.
type Recorder interface {
	Accepted(cmdType string, answered bool)
}

// Commander sends commands and collects outcomes.
type Commander struct {
	js       jetstream.JetStream
	nc       *nats.Conn
	outcomes *kept.Outcomes
	inbox    string
	// ApplyWait is how long a write waits for its outcome before answering 202.
	applyWait time.Duration
	// brokerTimeout bounds the publish.
	brokerTimeout time.Duration
	rec           Recorder
	// applied, when set, is told each state an outcome answered with.
	applied func(contracts.Job)

	mu      sync.Mutex
	waiters map[string]chan []byte
	sub     *nats.Subscription
}

// New subscribes the api's private inbox; rec (nil: none) counts the commands.
func New(nc *nats.Conn, js jetstream.JetStream, outcomes *kept.Outcomes, applyWait, brokerTimeout time.Duration, rec Recorder) (*Commander, error) {
	c := &Commander{js: js, nc: nc, outcomes: outcomes, applyWait: applyWait, brokerTimeout: brokerTimeout, rec: rec,
		inbox: nats.NewInbox(), waiters: make(map[string]chan []byte)}
	sub, err := nc.Subscribe(c.inbox+".*", c.deliver)
	if err != nil {
		return nil, fmt.Errorf("subscribe outcome inbox: %w", err)
	}
	c.sub = sub
	return c, nil
}

func (c *Commander) deliver(m *nats.Msg) {
	id := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
	c.mu.Lock()
	ch := c.waiters[id]
	delete(c.waiters, id)
	c.mu.Unlock()
	if ch != nil {
		ch <- m.Data
	}
}

// Result is what became of a command the trigger applied in time.
type Result struct {
	// Job is the state the command left; nil when the command is only accepted (stored,
	// to be applied when the trigger returns).
	Job *job.Job
	// FireID names the run an exec started.
	FireID string
	// Backfilled is what a backfill stored.
	Backfilled *contracts.Backfilled
}

// Send stores the command and waits for its outcome. A command the trigger refused is
// the domain's error (job.ErrNotFound, a *job.FieldError or *job.ConflictError); one
// whose id was stored before (a repeated Idempotency-Key) is answered with the kept
// outcome, or ErrKeyReused when that was another body's.
func (c *Commander) Send(ctx context.Context, command Command) (Result, error) {
	// Each send waits on a reply subject of its own: two requests with one command id
	// (a key sent again at once, with the same body or another) each get their answer.
	token := command.ID + "_" + NewID("", "")[:8]
	cmd := wire.CommandToPayload(command.Command, c.inbox+"."+token, command.Idempotent)
	cmd.Fingerprint = command.Fingerprint
	ch := make(chan []byte, 1)
	c.mu.Lock()
	c.waiters[token] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiters, token)
		c.mu.Unlock()
	}()
	data, _ := json.Marshal(cmd)
	pctx, cancel := context.WithTimeout(ctx, c.brokerTimeout)
	ack, err := c.js.Publish(pctx, contracts.CommandSubject(cmd.Tenant), data, jetstream.WithMsgID(MessageID(cmd)))
	cancel()
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	wait := time.NewTimer(c.applyWait)
	defer wait.Stop()
	if ack.Duplicate {
		return c.result(cmd, c.kept(ctx, cmd.ID, wait.C), false)
	}
	var outcome []byte
	select {
	case outcome = <-ch:
	case <-wait.C:
	case <-ctx.Done():
	}
	if c.rec != nil {
		c.rec.Accepted(cmd.Type, outcome != nil)
	}
	return c.result(cmd, outcome, true)
}

// result reads cmd's outcome (nil: none came in time); fresh is false for an outcome
// read from the kept ones. Only a fresh outcome of the command's first application is
// told to OnApplied's fn: a kept one's job, read or answered to a repeat (Kept), may
// have changed since.
func (c *Commander) result(cmd contracts.Command, outcome []byte, fresh bool) (Result, error) {
	if outcome == nil {
		return Result{}, nil
	}
	var o contracts.Outcome
	if err := json.Unmarshal(outcome, &o); err != nil {
		return Result{}, fmt.Errorf("outcome does not decode: %w", err)
	}
	switch {
	case o.Fingerprint != "" && o.Fingerprint != cmd.Fingerprint:
		// An idempotent command's outcome carries the fingerprint of the request that was
		// applied: this one's, or, kept, an earlier one's with the same key.
		return Result{}, ErrKeyReused
	case o.Error != nil:
		return Result{}, wire.ErrorFromPayload(*o.Error)
	case o.Job == nil:
		return Result{}, errors.New("the outcome carries no job")
	}
	if fresh && !o.Kept && c.applied != nil {
		c.applied(*o.Job)
	}
	j := wire.JobFromPayload(*o.Job)
	return Result{Job: &j, FireID: o.FireID, Backfilled: o.Backfilled}, nil
}

// OnApplied tells fn each job state a command's outcome answers with, before the write
// is answered. Set it before the first Send.
func (c *Commander) OnApplied(fn func(contracts.Job)) { c.applied = fn }

// kept polls for the outcome of a command stored before (nil: none in time).
func (c *Commander) kept(ctx context.Context, id string, deadline <-chan time.Time) []byte {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if data, err := c.outcomes.Get(ctx, id); err == nil {
			return data
		}
		select {
		case <-tick.C:
		case <-deadline:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// Close unsubscribes the inbox.
func (c *Commander) Close() { _ = c.sub.Unsubscribe() }

// MessageID is cmd's JetStream message id: its id, and the body's fingerprint when it has
// one. The broker drops a repeat of the same request; the same key with another body is
// stored, and the trigger answers it with the first one's kept outcome, which the api
// refuses with a 422 (it is never silently dropped as a duplicate).
func MessageID(cmd contracts.Command) string {
	if cmd.Fingerprint == "" {
		return cmd.ID
	}
	return cmd.ID + ":" + cmd.Fingerprint
}

// NewID returns a random command id; with an idempotency key it derives the id from the
// key and what the request does (the tenant, then the operation and job in scope), so a
// repeated request is the same command while the same key on another operation is not.
func NewID(tenant, idempotencyKey string, scope ...any) string {
	if idempotencyKey == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%q %q", tenant, idempotencyKey)
	for _, s := range scope {
		fmt.Fprintf(h, " %v", s)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// UUID formats a UUID (version 4 layout) from 16 bytes drawn from seed, or random ones
// when seed is empty: job ids derived from an idempotent command's id stay the same when
// the request is repeated.
func UUID(seed string) string {
	var b [16]byte
	if seed == "" {
		_, _ = rand.Read(b[:])
	} else {
		sum := sha256.Sum256([]byte(seed))
		copy(b[:], sum[:16])
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
