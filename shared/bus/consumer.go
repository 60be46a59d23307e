package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/clock"
)

// How a handler's result settles its message, the one policy of every consumer (handlers
// never ack themselves):
//
//	handler returned      the message is                                     Outcome
//	nil                   acked                                              Acked
//	Poison(err), a panic  copied to the dead-letter subject and terminated   DeadLettered
//	Later(err, d)         given back, to come again after d (not warned of)  Retried
//	any other error       given back, to come again after RetryAfter;        Retried
//	                      in an Ordered consumer at once, and the loop
//	                      waits RetryAfter before it fetches again
//	(not begun: shutdown) given back at once, for another instance           Retried
//
// A message is never left unsettled to wait for its ack deadline.

// RetryAfter is how long a failed message, or a consumer whose fetch failed, waits.
const RetryAfter = time.Second

// verdict is what the policy does with one message.
type verdict struct {
	outcome Outcome
	// after is when a Retried message comes again: 0 is at once.
	after time.Duration
	// quiet: nothing failed (its turn has not come), so no warning.
	quiet bool
}

// judge is the policy table above.
func judge(err error, ordered bool) verdict {
	var l later
	switch {
	case err == nil:
		return verdict{outcome: Acked}
	case IsPoison(err):
		return verdict{outcome: DeadLettered}
	case errors.As(err, &l):
		return verdict{outcome: Retried, after: l.after, quiet: true}
	case ordered:
		return verdict{outcome: Retried}
	default:
		return verdict{outcome: Retried, after: RetryAfter}
	}
}

// poison marks an error that no retry can cure.
type poison struct{ err error }

func (p poison) Error() string { return p.err.Error() }
func (p poison) Unwrap() error { return p.err }

// Poison marks err as permanent: the message is dead-lettered, not retried.
func Poison(err error) error { return poison{err} }

// Version refuses, as poison, a payload of a schema version this build does not read:
// set aside where an operator sees it, rather than misread.
func Version(what string, v int) error {
	if v == contracts.Version {
		return nil
	}
	return Poison(fmt.Errorf("%s has schema version %d; this service reads version %d", what, v, contracts.Version))
}

// IsPoison reports whether err was marked by Poison.
func IsPoison(err error) bool { return errors.As(err, new(poison)) }

// later marks a message whose turn has not come: nothing failed.
type later struct {
	err   error
	after time.Duration
}

func (l later) Error() string { return l.err.Error() }
func (l later) Unwrap() error { return l.err }

// Later hands the message back to come again after the given while (at once when 0),
// for reason: the handler is waiting on something else (another run to end), not
// failing, so it is not warned about.
func Later(reason error, after time.Duration) error { return later{reason, max(after, 0)} }

// Handler processes one message.
type Handler func(ctx context.Context, msg jetstream.Msg) error

// BatchHandler processes msgs together and returns the error of each, in their order;
// nil when all succeeded.
type BatchHandler func(ctx context.Context, msgs []jetstream.Msg) []error

// Outcome is how a message was settled.
type Outcome int

// Settled outcomes.
const (
	// Acked: the handler succeeded.
	Acked Outcome = iota
	// Retried: the message comes again later.
	Retried
	// DeadLettered: the message was poison, set aside on the dead-letter subject.
	DeadLettered
)

func (o Outcome) String() string {
	switch o {
	case Acked:
		return "acked"
	case Retried:
		return "retried"
	case DeadLettered:
		return "dead_lettered"
	}
	return "unknown"
}

// Observer is told how a consumer's message was settled (for metrics); nil: no one is.
type Observer func(consumer string, msg jetstream.Msg, o Outcome)

// Consumer runs a handler over a durable JetStream consumer's messages and settles each
// by the policy above.
type Consumer struct {
	// Name names the consumer in logs, in metrics and in its dead-letter subject.
	Name string
	// NC publishes dead letters.
	NC  *nats.Conn
	Log zerolog.Logger
	// Observe, when not nil, is told how each message was settled.
	Observe Observer
	// Ordered consumers handle messages in stream order: a failed message is given back
	// at once, and the loop waits before it fetches again, so that the message comes
	// back before anything newer (the broker redelivers before it delivers new ones).
	Ordered bool
	// Between, when not nil, is called before each fetch, while no message is held.
	Between func(ctx context.Context)
}

// Batches takes what cons holds, up to most at once, waiting up to wait for the first
// message (a batch as large as the backlog, without waiting for one to fill), hands it
// to h and settles each message by its error. A batch whose handler panics is handled
// again one message at a time, so that only the message that panics is dead-lettered.
// It returns nil once ctx ends, or the error of a consumer that no longer exists.
func (c *Consumer) Batches(ctx context.Context, cons jetstream.Consumer, most int, wait time.Duration, h BatchHandler) error {
	for ctx.Err() == nil {
		if c.Between != nil {
			c.Between(ctx)
		}
		msgs, err := fetchReady(cons, most, wait)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				return fmt.Errorf("consumer %s: %w", c.Name, err)
			}
			c.Log.Warn().Err(err).Str("consumer", c.Name).Msg("consumer fetch failed; retrying")
			clock.Sleep(ctx, RetryAfter)
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		errs := c.handleBatch(ctx, h, msgs)
		var failed int
		var first error
		for i, msg := range msgs {
			if v := c.settle(msg, errs[i]); v.outcome == Retried && !v.quiet {
				if failed++; first == nil {
					first = errs[i]
				}
			}
		}
		if failed > 0 {
			c.Log.Warn().Err(first).Str("consumer", c.Name).Int("messages", failed).Msg("handling failed; retrying later")
			if c.Ordered {
				clock.Sleep(ctx, RetryAfter)
			}
		}
	}
	return nil
}

// handleBatch runs h on msgs and returns one error a message.
func (c *Consumer) handleBatch(ctx context.Context, h BatchHandler, msgs []jetstream.Msg) []error {
	errs, p := safeBatch(ctx, h, msgs)
	if p == nil {
		return errs
	}
	c.Log.Error().Err(p).Str("consumer", c.Name).Int("messages", len(msgs)).Msg("batch handler panicked; handling its messages one by one")
	errs = make([]error, len(msgs))
	for i := range msgs {
		one, p := safeBatch(ctx, h, msgs[i:i+1])
		if errs[i] = one[0]; p != nil {
			errs[i] = Poison(p)
		}
	}
	return errs
}

// safeBatch runs h, turning a panic into its error p, and gives one error a message.
func safeBatch(ctx context.Context, h BatchHandler, msgs []jetstream.Msg) (errs []error, p error) {
	defer func() {
		if r := recover(); r != nil {
			errs, p = make([]error, len(msgs)), fmt.Errorf("handler panicked: %v", r)
		}
	}()
	errs = h(ctx, msgs)
	if errs == nil {
		return make([]error, len(msgs)), nil
	}
	if len(errs) != len(msgs) {
		return make([]error, len(msgs)), fmt.Errorf("handler gave %d results for %d messages", len(errs), len(msgs))
	}
	return errs, nil
}

// Each runs h on every message of cons, workers at once, until ctx ends. It fetches no
// more than the workers can take (a message waiting in a buffer gets no keepalive and
// comes back after its ack deadline). Once ctx ends, a message fetched but not begun is
// given back at once; Each returns when the handlers under way have returned.
func (c *Consumer) Each(ctx context.Context, cons jetstream.Consumer, workers int, h Handler) error {
	workers = max(workers, 1)
	it, err := cons.Messages(jetstream.PullMaxMessages(workers))
	if err != nil {
		return fmt.Errorf("consume %s: %w", c.Name, err)
	}
	safe := recovering(h)
	work := make(chan jetstream.Msg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for msg := range work {
					if ctx.Err() != nil {
						c.settle(msg, Later(context.Cause(ctx), 0))
						continue
					}
					err := safe(ctx, msg)
					if v := c.settle(msg, err); v.outcome == Retried && !v.quiet {
						c.Log.Warn().Err(err).Str("consumer", c.Name).Str("subject", msg.Subject()).Msg("handling failed; retrying later")
					}
				}
			})
		}
		wg.Wait()
	}()
	go func() {
		<-ctx.Done()
		it.Drain()
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				break
			}
			c.Log.Warn().Err(err).Str("consumer", c.Name).Msg("consumer pull failed")
			continue
		}
		work <- msg
	}
	close(work)
	<-done
	return nil
}

// settle applies the policy to msg and tells the observer.
func (c *Consumer) settle(msg jetstream.Msg, err error) verdict {
	v := judge(err, c.Ordered)
	switch v.outcome {
	case Acked:
		if aerr := msg.Ack(); aerr != nil {
			c.Log.Warn().Err(aerr).Str("subject", msg.Subject()).Msg("ack failed; the message will be redelivered")
		}
	case DeadLettered:
		c.deadLetter(msg, err)
		_ = msg.Term()
	case Retried:
		if v.quiet {
			c.Log.Debug().Err(err).Str("subject", msg.Subject()).Dur("after", v.after).Msg("not its turn; comes again")
		}
		if v.after > 0 {
			_ = msg.NakWithDelay(v.after)
		} else {
			_ = msg.Nak()
		}
	}
	if c.Observe != nil {
		c.Observe(c.Name, msg, v.outcome)
	}
	return v
}

// deadLetter publishes a copy of msg with the reason on the consumer's dead-letter subject.
func (c *Consumer) deadLetter(msg jetstream.Msg, reason error) {
	nc, consumer, log := c.NC, c.Name, c.Log
	dl := nats.NewMsg(contracts.DeadLetterSubject(consumer))
	dl.Data = msg.Data()
	dl.Header.Set("Jobcenter-Subject", msg.Subject())
	dl.Header.Set("Jobcenter-Reason", reason.Error())
	if md, err := msg.Metadata(); err == nil {
		dl.Header.Set("Jobcenter-Stream-Seq", strconv.FormatUint(md.Sequence.Stream, 10))
	}
	if nc == nil {
		log.Error().Err(reason).Str("subject", msg.Subject()).Str("consumer", consumer).Msg("message dead-lettered (no connection to publish the copy)")
		return
	}
	if err := nc.PublishMsg(dl); err != nil {
		log.Error().Err(err).Msg("dead-letter publish failed")
	}
	log.Error().Err(reason).Str("subject", msg.Subject()).Str("consumer", consumer).Msg("message dead-lettered")
}

// recovering turns a panic in h into a Poison error: one bad message is set aside, and
// the consumer carries on instead of taking the process down.
func recovering(h Handler) Handler {
	return func(ctx context.Context, msg jetstream.Msg) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = Poison(fmt.Errorf("handler panicked: %v", r))
			}
		}()
		return h(ctx, msg)
	}
}
