// Package commander sends the api's commands: it appends each to JetStream (a write is
// accepted only once stored) and waits a bounded time for the trigger's outcome on a
// private inbox. No outcome in time means the trigger is away: the command is still
// accepted and will be applied when it returns.
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
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// ErrUnavailable: the broker did not store the command in time.
var ErrUnavailable = errors.New("broker unavailable")

// Recorder counts the commands stored in JetStream; answered is false when the
// trigger's outcome did not come in time.
type Recorder interface {
	Accepted(cmdType string, answered bool)
}

// Commander sends commands and collects outcomes.
type Commander struct {
	js    jetstream.JetStream
	nc    *nats.Conn
	store *mongostore.Store
	inbox string
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
func New(nc *nats.Conn, js jetstream.JetStream, store *mongostore.Store, applyWait, brokerTimeout time.Duration, rec Recorder) (*Commander, error) {
	c := &Commander{js: js, nc: nc, store: store, applyWait: applyWait, brokerTimeout: brokerTimeout, rec: rec,
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

// Result is what became of a command.
type Result struct {
	// Outcome is set when the trigger applied (or rejected) the command in time.
	Outcome *contracts.Outcome
}

// Accepted reports whether the command is stored but not yet applied.
func (r Result) Accepted() bool { return r.Outcome == nil }

// Send stores cmd and waits for its outcome. A command whose id was stored before (a
// repeated Idempotency-Key) is answered with the kept outcome.
func (c *Commander) Send(ctx context.Context, cmd contracts.Command) (Result, error) {
	cmd.V = contracts.Version
	// Each send waits on a reply subject of its own: two requests with one command id
	// (a key sent again at once, with the same body or another) each get their answer.
	token := cmd.ID + "_" + NewID("", "")[:8]
	cmd.ReplyTo = c.inbox + "." + token
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
		return c.kept(ctx, cmd.ID, wait.C)
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
	if outcome == nil {
		return Result{}, nil
	}
	r, err := decode(outcome)
	if err == nil && r.Outcome.Job != nil && c.applied != nil {
		c.applied(*r.Outcome.Job)
	}
	return r, err
}

// OnApplied tells fn each job state a command's outcome answers with, before the write
// is answered. Set it before the first Send.
func (c *Commander) OnApplied(fn func(contracts.Job)) { c.applied = fn }

// kept polls for the outcome of a command stored before.
func (c *Commander) kept(ctx context.Context, id string, deadline <-chan time.Time) (Result, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if data, err := c.store.Outcome(ctx, id); err == nil {
			return decode(data)
		}
		select {
		case <-tick.C:
		case <-deadline:
			return Result{}, nil
		case <-ctx.Done():
			return Result{}, nil
		}
	}
}

func decode(data []byte) (Result, error) {
	var o contracts.Outcome
	if err := json.Unmarshal(data, &o); err != nil {
		return Result{}, fmt.Errorf("outcome does not decode: %w", err)
	}
	return Result{Outcome: &o}, nil
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
