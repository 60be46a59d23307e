package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/alert"
	"github.com/jobcenter/jobcenter/shared/alertkv"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/clock"
)

// Consumer is the durable consumer every trigger instance delivers alerts from.
const Consumer = "alerts"

// Outcomes is where deliveries' outcomes are recorded (alertkv.Deliveries).
type Outcomes interface {
	Get(ctx context.Context, tenant, alertID string) (alertkv.Delivery, error)
	Put(ctx context.Context, rec *alertkv.Delivery) error
}

// Deliverer sends alerts to their rules' channels.
type Deliverer struct {
	NC       *nats.Conn
	Rules    alertkv.Rules
	Outcomes Outcomes
	Send     *Sender
	// Attempts bounds the attempts at one alert; Backoff is the wait after the first
	// failed one, doubled after each (at most MaxBackoff).
	Attempts int
	Backoff  time.Duration
	Clock    clock.Clock
	Log      zerolog.Logger
	// Settled, when not nil, is told how each message was settled.
	Settled bus.Observer

	mu      sync.Mutex
	sending map[string]int // by tenant
}

// MaxBackoff bounds the wait between two attempts at an alert.
const MaxBackoff = 10 * time.Minute

// Workers is how many alerts one instance sends at once: a slow channel holds one.
// PerTenant bounds those of one tenant, so that one tenant's slow webhooks do not hold
// every worker: its other alerts wait their turn, a second at a time.
const (
	Workers   = 32
	PerTenant = 8
)

// MaxPending bounds the alerts the consumer holds unsettled, those waiting for their
// next attempt among them (a message given back with a delay stays pending): far more
// than a channel down for a while leaves waiting, so that one tenant's failing webhook
// does not stop the others' alerts.
const MaxPending = 100_000

// ConsumerConfig is the alerts consumer's. The ack deadline is how long the alerts an
// instance held when it died wait before another takes them: short, so an attempt tells
// the broker it goes on (before its send, which its timeouts bound, and while its
// outcome is being recorded).
func ConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{Durable: Consumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
		MaxAckPending: MaxPending}
}

// Run delivers until ctx ends; it returns the error of a consumer that no longer exists.
func (d *Deliverer) Run(ctx context.Context, cons jetstream.Consumer) error {
	c := bus.Consumer{Name: Consumer, NC: d.NC, Log: d.Log, Observe: d.Settled}
	return c.Each(ctx, cons, Workers, d.handle)
}

// take counts a send of the tenant's under way, false when it has PerTenant already.
func (d *Deliverer) take(tenant string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sending == nil {
		d.sending = map[string]int{}
	}
	if d.sending[tenant] >= PerTenant {
		return false
	}
	d.sending[tenant]++
	return true
}

func (d *Deliverer) done(tenant string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sending[tenant]--; d.sending[tenant] <= 0 {
		delete(d.sending, tenant)
	}
}

// handle makes one attempt at an alert. An alert is sent once its earlier outcome has
// been read: with the outcomes' bucket out of reach, it waits, unsent. The outcome is
// recorded before the message is settled, so that an alert delivered is not sent again
// when it comes back.
func (d *Deliverer) handle(ctx context.Context, msg jetstream.Msg) error {
	var a contracts.Alert
	if err := json.Unmarshal(msg.Data(), &a); err != nil || a.V != contracts.Version || a.ID == "" || a.Tenant == "" || a.RuleID == "" {
		return bus.Poison(fmt.Errorf("not an alert of version %d: %v", contracts.Version, err))
	}
	if !d.take(a.Tenant) {
		return bus.Later(errors.New("the tenant's other alerts are being sent"), time.Second)
	}
	defer d.done(a.Tenant)
	// Attempts are counted by their outcomes recorded, not by the message's deliveries:
	// a message given back (at shutdown, with the outcomes out of reach, for its
	// tenant's turn) was not tried.
	prev, err := d.Outcomes.Get(ctx, a.Tenant, a.ID)
	switch {
	case err == nil && (prev.Status == alertkv.Delivered || prev.Status == alertkv.Failed):
		return nil // settled before its message was: not again
	case err != nil && !errors.Is(err, alertkv.ErrNotFound):
		return bus.Later(fmt.Errorf("read the alert's delivery: %w", err), 5*time.Second)
	}
	attempt := prev.Attempts + 1
	last := attempt >= d.Attempts
	log := d.Log.With().Str("tenant", a.Tenant).Str("alert", a.ID).Int("attempt", attempt).Logger()
	rec := alertkv.Delivery{Seq: prev.Seq, ID: a.ID, Tenant: a.Tenant, RuleID: a.RuleID, Event: a.Event, JobID: a.JobID, FireID: a.FireID,
		RaisedAt: a.RaisedAt, Attempts: attempt}
	rule, _, err := d.Rules.Get(ctx, a.Tenant, a.RuleID)
	var sendErr error
	switch {
	case errors.Is(err, alertkv.ErrNotFound):
		sendErr = permanent(errors.New("not sent: its rule was deleted"))
	case err != nil:
		return bus.Later(err, 5*time.Second)
	case !rule.Enabled && a.Event != alert.Test:
		sendErr = permanent(errors.New("not sent: its rule was disabled"))
	}
	// A send under way at shutdown is finished and recorded (it is bounded by the
	// sender's timeouts): one cut short might have arrived, and would be sent again.
	ctx = context.WithoutCancel(ctx)
	if sendErr == nil {
		rec.Channel, rec.Target = rule.Channel.Type, rule.Channel.Target()
		_ = msg.InProgress()
		sendErr = d.Send.Send(ctx, rule.Channel, a)
	}
	now := d.Clock.Now().UTC()
	rec.LastAttempt = now
	var after time.Duration
	switch {
	case sendErr == nil:
		rec.Status, rec.DeliveredAt = alertkv.Delivered, &now
	case isPermanent(sendErr) || last:
		rec.Status, rec.Error = alertkv.Failed, sendErr.Error()
		if !isPermanent(sendErr) {
			rec.Error = fmt.Sprintf("given up after %d attempts: %v", attempt, sendErr)
		}
	default:
		after = min(d.Backoff<<(attempt-1), MaxBackoff)
		rec.Status, rec.Error = alertkv.Retrying, sendErr.Error()
	}
	if err := d.record(ctx, msg, &rec); err != nil {
		// Not settled: sent again after the ack deadline, or by another instance.
		return bus.Later(err, time.Minute)
	}
	switch rec.Status {
	case alertkv.Delivered:
		log.Info().Str("channel", rec.Channel).Msg("alert delivered")
	case alertkv.Failed:
		log.Warn().Str("channel", rec.Channel).Str("why", rec.Error).Msg("alert not delivered; given up")
	default:
		log.Info().Str("channel", rec.Channel).Str("why", rec.Error).Dur("next_in", after).Msg("alert not delivered; retrying")
		return bus.Later(errors.New(rec.Error), after)
	}
	return nil
}

// record stores an attempt's outcome, trying while the broker does not answer (and
// telling it the alert is still being handled) up to the ack deadline's half.
func (d *Deliverer) record(ctx context.Context, msg jetstream.Msg, rec *alertkv.Delivery) error {
	deadline := time.Now().Add(ConsumerConfig().AckWait / 2)
	wait := 250 * time.Millisecond
	for {
		err := d.Outcomes.Put(ctx, rec)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		d.Log.Warn().Err(err).Str("alert", rec.ID).Msg("alert delivery not recorded; retrying")
		_ = msg.InProgress()
		if !clock.Sleep(ctx, wait) {
			return err
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// permanentError is a send that no retry would make succeed.
type permanentError struct{ error }

func (p permanentError) Unwrap() error { return p.error }

func permanent(err error) error { return permanentError{err} }

func isPermanent(err error) bool { return errors.As(err, new(permanentError)) }
