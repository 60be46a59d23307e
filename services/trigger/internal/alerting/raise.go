// Package alerting raises tenants' alerts and delivers them. The active trigger raises
// them where it journals what they report (the journal projector, the pause after
// failures): each event is matched against the tenant's rules, passed through the
// rule's throttle, and each alert decided is published once to JOBCENTER_ALERTS, its id
// made of the rule's and the event's. Every trigger instance delivers them from that
// stream to the rules' channels, recording each attempt's outcome, retrying with backoff.
package alerting

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/alert"
	"github.com/jobcenter/jobcenter/shared/alertkv"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// Event is something that happened to a job that a rule may want.
type Event struct {
	// ID names the event among all others: a redelivered one is the same event.
	ID        string
	Kind      string
	Tenant    string
	JobID     string
	JobName   string
	FireID    string
	JournalID string
	At        time.Time
	Detail    string
	// DynamicID is a run end's run: a fire whose run was reported ended twice (an
	// executor cut off, another journaling it interrupted) is alerted for the end the
	// journal keeps.
	DynamicID string
}

// Raiser raises alerts for the active trigger.
type Raiser struct {
	JS     jetstream.JetStream
	Rules  *alertkv.Cache
	States alertkv.States
	// Name finds a job's name ("" when it has none to tell).
	Name  func(ctx context.Context, jobID string) string
	Clock clock.Clock
	Log   zerolog.Logger
}

var missedKey = []byte(`"triggerstatus":"` + contracts.TriggerMissed + `"`)

// Wants says, without decoding it, whether a message the journal takes may be an event a
// rule wants: a run's end as failed or skipped, or a missed fire, of a tenant with rules
// (of any tenant while the rules are not read yet).
func (r *Raiser) Wants(subject string, data []byte) bool {
	rest, isRun := strings.CutPrefix(subject, "jobcenter.run.")
	if !isRun {
		var isFire bool
		if rest, isFire = strings.CutPrefix(subject, "jobcenter.fire."); !isFire || !bytes.Contains(data, missedKey) {
			return false
		}
	} else if !strings.HasSuffix(rest, "."+contracts.RunFailure) && !strings.HasSuffix(rest, "."+contracts.RunSkipped) {
		return false
	}
	if !r.Rules.Loaded() {
		return true
	}
	tok, _, _ := strings.Cut(rest, ".")
	tenant, ok := contracts.ParseToken(tok)
	return ok && r.Rules.Any(tenant)
}

// Events are the events in a message Wants: none when it is not one after all.
func Events(subject string, data []byte) ([]Event, error) {
	if strings.HasPrefix(subject, "jobcenter.fire.") {
		f, err := wire.DecodeFire(data)
		if err != nil || f.TriggerStatus != contracts.TriggerMissed {
			return nil, err
		}
		return []Event{{ID: f.JournalID + ":" + alert.Missed, Kind: alert.Missed, Tenant: f.Tenant, JobID: f.JobID, JobName: f.Name,
			FireID: f.FireID, JournalID: f.JournalID, At: f.ScheduledAt, Detail: f.Detail}}, nil
	}
	ev, err := wire.DecodeRunEvent(data)
	if err != nil || ev.EndedAt == nil {
		return nil, err
	}
	return RunEvents(ev), nil
}

// RunEvents are a run end's events: a failure (or a timeout) not killed, or a skip.
func RunEvents(ev contracts.RunEvent) []Event {
	kind := ""
	switch {
	case ev.Status == contracts.RunSkipped:
		kind = alert.Skipped
	case ev.Status != contracts.RunFailure || ev.Killed != nil:
		return nil // a run a person killed is not news to them
	case ev.TimedOut:
		kind = alert.Timeout
	default:
		kind = alert.Failure
	}
	return []Event{{ID: ev.JournalID + ":" + kind, Kind: kind, Tenant: ev.Tenant, JobID: ev.JobID, FireID: ev.FireID,
		JournalID: ev.JournalID, At: *ev.EndedAt, Detail: clipDetail(ev.Detail), DynamicID: ev.DynamicID}}
}

// PauseEvent is the pause of a job whose runs failed, the last ev's.
func PauseEvent(ev contracts.RunEvent, reason string) Event {
	return Event{ID: ev.JournalID + ":" + alert.Paused, Kind: alert.Paused, Tenant: ev.Tenant, JobID: ev.JobID, FireID: ev.FireID,
		JournalID: ev.JournalID, At: *ev.EndedAt, Detail: reason}
}

func clipDetail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= alert.MaxDetail {
		return s
	}
	return job.Clip(s, alert.MaxDetail)
}

// Raise raises the alerts of events and waits until the broker stored each: an error
// leaves them to be raised again, which publishes none twice (an alert's id is its
// message id, and a throttle keeps its decisions). A throttled rule's events are decided
// per job, a read and a write of its state for all of a job's events in the batch. A
// pause is never held back: it happens once, and says more than the failures before it.
func (r *Raiser) Raise(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	if !r.Rules.Loaded() {
		return errors.New("the alert rules are not read yet")
	}
	type group struct {
		rule   alert.Rule
		jobID  string
		events []int // indexes into events
	}
	var groups []*group
	byKey := map[[2]string]*group{}
	for i, ev := range events {
		for _, rule := range r.Rules.Of(ev.Tenant) {
			if !rule.Wants(ev.Kind, ev.JobID) {
				continue
			}
			k := [2]string{rule.Tenant + "\x00" + rule.ID, ev.JobID}
			g := byKey[k]
			if g == nil {
				g = &group{rule: rule, jobID: ev.JobID}
				byKey[k] = g
				groups = append(groups, g)
			}
			g.events = append(g.events, i)
		}
	}
	var alerts []contracts.Alert
	names := map[string]string{}
	for _, g := range groups {
		decisions := make([]alert.Decision, len(g.events))
		var held []alertkv.Event
		var heldAt []int
		for n, i := range g.events {
			ev := events[i]
			if g.rule.Throttle.Stateless() || ev.Kind == alert.Paused {
				decisions[n] = alert.Decision{Event: ev.ID, Send: true, Count: 1}
				continue
			}
			held, heldAt = append(held, alertkv.Event{ID: ev.ID, At: ev.At}), append(heldAt, n)
		}
		if len(held) > 0 {
			ds, err := r.States.DecideAll(ctx, g.rule, g.jobID, held)
			if err != nil {
				return err
			}
			for k, n := range heldAt {
				decisions[n] = ds[k]
			}
		}
		for n, i := range g.events {
			if !decisions[n].Send {
				continue
			}
			ev := events[i]
			if ev.JobName == "" && r.Name != nil {
				if _, ok := names[ev.JobID]; !ok {
					names[ev.JobID] = r.Name(ctx, ev.JobID)
				}
				ev.JobName = names[ev.JobID]
			}
			alerts = append(alerts, contracts.Alert{V: contracts.Version, ID: g.rule.ID + ":" + ev.ID, Tenant: ev.Tenant, RuleID: g.rule.ID,
				Event: ev.Kind, JobID: ev.JobID, JobName: ev.JobName, FireID: ev.FireID, JournalID: ev.JournalID, At: ev.At.UTC(),
				Detail: ev.Detail, Count: decisions[n].Count, RaisedAt: r.Clock.Now().UTC()})
		}
	}
	return alertkv.Publish(ctx, r.JS, alerts, r.Log)
}
