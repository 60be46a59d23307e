package trigger

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/alerting"
	"github.com/jobcenter/jobcenter/shared/alertkv"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/config"
)

// AlertsConfig is how alerts are delivered.
type AlertsConfig struct {
	// AllowPrivate lets webhooks reach loopback, private and link-local addresses and the
	// machine's own (JOBCENTER_ALERTS_ALLOW_PRIVATE).
	AllowPrivate bool
	// Attempts bounds the attempts at one alert; Backoff is the wait after the first
	// failed one, doubled after each, at most alerting.MaxBackoff.
	Attempts int
	Backoff  time.Duration
	// Keep is how long a delivery's outcome is kept after its last attempt
	// (alertkv.Keep).
	Keep time.Duration
	SMTP alerting.SMTP
}

// The alerts' numeric settings.
var (
	AlertAttempts = config.Span[int]{Key: "JOBCENTER_ALERTS_ATTEMPTS", Default: 8, Min: 1, Max: 100}
	AlertBackoff  = config.Span[time.Duration]{Key: "JOBCENTER_ALERTS_BACKOFF", Default: 10 * time.Second, Min: 10 * time.Millisecond, Max: time.Hour}
)

// alertsFromEnv reads the alerts' settings.
func alertsFromEnv(e *config.Env) AlertsConfig {
	c := AlertsConfig{
		AllowPrivate: e.Bool("JOBCENTER_ALERTS_ALLOW_PRIVATE", false),
		Attempts:     AlertAttempts.From(e),
		Backoff:      AlertBackoff.From(e),
		Keep:         alertkv.Keep.From(e),
		SMTP: alerting.SMTP{
			Addr: e.Str("JOBCENTER_SMTP_ADDR", ""), From: e.Str("JOBCENTER_SMTP_FROM", "jobcenter@localhost"),
			User: e.Str("JOBCENTER_SMTP_USER", ""), Password: e.Str("JOBCENTER_SMTP_PASSWORD", ""),
			TLS: e.Str("JOBCENTER_SMTP_TLS", alerting.SMTPStartTLS),
		},
	}
	if err := c.check(); err != nil {
		e.Fail("%w", err)
	}
	return c
}

// withDefaults fills what c leaves unset with alertsFromEnv's defaults.
func (c AlertsConfig) withDefaults() AlertsConfig {
	c.Attempts, c.Backoff, c.Keep = AlertAttempts.Or(c.Attempts), AlertBackoff.Or(c.Backoff), alertkv.Keep.Or(c.Keep)
	if c.SMTP.From == "" {
		c.SMTP.From = "jobcenter@localhost"
	}
	if c.SMTP.TLS == "" {
		c.SMTP.TLS = alerting.SMTPStartTLS
	}
	return c
}

func (c AlertsConfig) check() error {
	errs := []error{AlertAttempts.Check(c.Attempts), AlertBackoff.Check(c.Backoff), alertkv.Keep.Check(c.Keep)}
	if c.SMTP.Addr != "" {
		if host, _, err := net.SplitHostPort(c.SMTP.Addr); err != nil || host == "" {
			errs = append(errs, fmt.Errorf("JOBCENTER_SMTP_ADDR=%q: want the mail server's host:port, such as smtp.example.com:587", c.SMTP.Addr))
		}
	}
	if a, err := mail.ParseAddress(c.SMTP.From); err != nil || a.Address != c.SMTP.From {
		errs = append(errs, fmt.Errorf("JOBCENTER_SMTP_FROM=%q: want an e-mail address such as jobcenter@example.com", c.SMTP.From))
	}
	switch c.SMTP.TLS {
	case alerting.SMTPStartTLS, alerting.SMTPTLS, alerting.SMTPNone:
	default:
		errs = append(errs, fmt.Errorf("JOBCENTER_SMTP_TLS=%q: want starttls, tls or none", c.SMTP.TLS))
	}
	return errors.Join(errs...)
}

// alerts are the buckets alerting keeps its rules and throttles in, and the rules as
// this instance follows them.
type alerts struct {
	rules      alertkv.Rules
	states     alertkv.States
	deliveries alertkv.Deliveries
	cache      *alertkv.Cache
}

func (s *Service) openAlerts(ctx context.Context) (alerts, error) {
	rkv, err := alertkv.OpenRules(ctx, s.js, s.cfg.Streams.Replicas)
	if err != nil {
		return alerts{}, fmt.Errorf("alert rules bucket: %w", err)
	}
	skv, err := alertkv.OpenStates(ctx, s.js, s.cfg.Streams.Replicas)
	if err != nil {
		return alerts{}, fmt.Errorf("alert state bucket: %w", err)
	}
	dels, err := alertkv.OpenDeliveries(ctx, s.js, s.cfg.Alerts.Keep, s.cfg.Streams.Replicas)
	if err != nil {
		return alerts{}, fmt.Errorf("alert deliveries bucket: %w", err)
	}
	return alerts{rules: alertkv.Rules{KV: rkv}, states: alertkv.States{KV: skv}, deliveries: dels, cache: alertkv.NewCache()}, nil
}

// deliver delivers alerts until ctx ends, on every instance, active or not.
func (s *Service) deliver(ctx context.Context, a alerts) {
	d := &alerting.Deliverer{NC: s.nc, Rules: a.rules, Outcomes: a.deliveries, Send: alerting.NewSender(s.cfg.Alerts.AllowPrivate, s.cfg.Alerts.SMTP),
		Attempts: s.cfg.Alerts.Attempts, Backoff: s.cfg.Alerts.Backoff, Clock: s.cfg.Clock, Settled: s.metrics.Consumers.Settled,
		Log: s.cfg.Log.With().Str("part", "alerts").Logger()}
	for ctx.Err() == nil {
		cons, err := s.js.CreateOrUpdateConsumer(ctx, contracts.StreamAlerts, alerting.ConsumerConfig())
		if err == nil {
			err = d.Run(ctx, cons)
		}
		if err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn().Err(err).Msg("alerts not delivered for now; tries again")
		}
		clock.Sleep(ctx, 5*time.Second)
	}
}

// forgetDeleted removes the markers deleted rules leave in their bucket, once an hour
// old: a rule deleted leaves nothing behind for good.
func (a alerts) forgetDeleted(ctx context.Context) {
	_ = a.rules.KV.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(time.Hour))
}
