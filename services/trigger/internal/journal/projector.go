// Package journal keeps the journal projection: it reads fires and run reports from
// JOBCENTER_RUNS and appends them as immutable records, in batches. A record is written
// once by its id, so replaying the stream — in any order, any number of times — gives the
// same journal. It must not update a record, nor decide a run's status (wire does).
package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/alerting"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// Consumer is the durable consumer's name.
const Consumer = "journal"

// Projector writes the journal.
type Projector struct {
	Store *mongostore.Store
	NC    *nats.Conn
	Log   zerolog.Logger
	// Batch bounds how many messages one write carries.
	Batch int
	// Settled, when not nil, is told how each message was settled.
	Settled bus.Observer
	// Retention, when not nil, is told of each run written, and keeps out the records of
	// runs it removed already (a redelivered message's).
	Retention Retention
	// After, when not nil, is given the ends of runs whose jobs ask for something after
	// them (chains, a pause), once those ends are journaled; its error hands the batch
	// back, to be journaled (idempotently) and acted on again.
	After func(ctx context.Context, ends []contracts.RunEvent) error
	// Alerts, when not nil, raises the alerts of the runs' ends and fires journaled
	// (failed, timed out, skipped, missed); its error hands the batch back too.
	Alerts Alerts
}

// Alerts raises alerts (an *alerting.Raiser).
type Alerts interface {
	Wants(subject string, data []byte) bool
	Raise(ctx context.Context, events []alerting.Event) error
}

// Retention is the journal's janitor, as the projector sees it.
type Retention interface {
	Below(jobID string, seq int64) bool
	Seen(jobID string, seq int64, firedAt time.Time)
}

// Run projects until ctx ends; it returns the error of a consumer that no longer exists.
func (p *Projector) Run(ctx context.Context, cons jetstream.Consumer) error {
	if p.Batch <= 0 {
		p.Batch = 512
	}
	c := bus.Consumer{Name: Consumer, NC: p.NC, Log: p.Log, Observe: p.Settled}
	// What the stream holds now, not a full batch: waiting for one to fill would hold
	// the journal back by its filling time whenever fires are few.
	return c.Batches(ctx, cons, p.Batch, 500*time.Millisecond, p.write)
}

// write writes the records of msgs in one go.
func (p *Projector) write(ctx context.Context, msgs []jetstream.Msg) []error {
	errs := make([]error, len(msgs))
	var recs mongostore.JournalRecords
	var then []contracts.RunEvent
	var events []alerting.Event
	for i, msg := range msgs {
		if err := Add(&recs, msg.Subject(), msg.Data()); err != nil {
			errs[i] = bus.Poison(err)
			continue
		}
		// Only the ends of jobs with something to do after them carry "then".
		if p.After != nil && strings.HasPrefix(msg.Subject(), "jobcenter.run.") && bytes.Contains(msg.Data(), thenKey) {
			if ev, err := wire.DecodeRunEvent(msg.Data()); err == nil && ev.Then != nil && ev.EndedAt != nil && !p.removed(ev.JournalID) {
				then = append(then, ev)
			}
		}
		if p.Alerts != nil && p.Alerts.Wants(msg.Subject(), msg.Data()) {
			// Decoded twice, for so few messages: a failure, a skip or a missed fire of a
			// tenant with alert rules.
			if evs, err := alerting.Events(msg.Subject(), msg.Data()); err == nil && !p.removed(journalIDOf(evs)) {
				events = append(events, evs...)
			}
		}
	}
	if p.Retention != nil {
		recs = p.kept(recs)
	}
	// A batch under way is finished even when shutdown begins: it is already fetched.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	err := p.Store.WriteJournal(wctx, recs)
	cancel()
	if err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	if p.Retention != nil {
		for _, f := range recs.Fires {
			p.Retention.Seen(f.JobID, f.Seq, f.FiredAt)
		}
	}
	if len(then) > 0 || len(events) > 0 {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		var err error
		if len(then) > 0 {
			err = p.After(actx, then)
		}
		if err == nil && len(events) > 0 {
			if events, err = p.journaled(actx, events); err == nil {
				err = p.Alerts.Raise(actx, events)
			}
		}
		cancel()
		if err != nil {
			p.Log.Warn().Err(err).Msg("what follows runs' ends not done; the batch comes again")
			for i := range errs {
				if errs[i] == nil {
					errs[i] = err
				}
			}
		}
	}
	return errs
}

// thenKey is how an end with something to follow it begins its "then" (encoding/json
// writes no space): a run's log saying "then" is not mistaken for one.
var thenKey = []byte(`"then":{`)

// journaled keeps the events of run ends the journal keeps: a run reported ended twice
// (cut off, then journaled interrupted by another executor while its own end was still
// on its way) has one end in the journal, the first stored, and is alerted for that one.
func (p *Projector) journaled(ctx context.Context, events []alerting.Event) ([]alerting.Event, error) {
	kept := events[:0]
	for _, ev := range events {
		if ev.DynamicID != "" {
			// The end's own record decides: the fire's may come later than its end (its
			// batch failed and comes again), and an entry without it reads as none.
			r, err := p.Store.RunEnd(ctx, ev.JournalID)
			switch {
			case errors.Is(err, mongostore.ErrNotFound):
				continue // removed by retention meanwhile
			case err != nil:
				return nil, fmt.Errorf("read the journaled end of %s: %w", ev.JournalID, err)
			case r.EndedAt == nil || r.DynamicID != ev.DynamicID:
				continue
			}
		}
		kept = append(kept, ev)
	}
	return kept, nil
}

func journalIDOf(evs []alerting.Event) string {
	if len(evs) == 0 {
		return ""
	}
	return evs[0].JournalID
}

// removed reports whether retention removed the run already: a redelivered end of it
// is not acted on again.
func (p *Projector) removed(journalID string) bool {
	jobID, seq, ok := job.ParseJournalID(journalID)
	return ok && p.Retention != nil && p.Retention.Below(jobID, seq)
}

// kept leaves out the records of runs that retention removed already.
func (p *Projector) kept(recs mongostore.JournalRecords) mongostore.JournalRecords {
	fires, runs := recs.Fires[:0], recs.Runs[:0]
	for _, f := range recs.Fires {
		if !p.Retention.Below(f.JobID, f.Seq) {
			fires = append(fires, f)
		}
	}
	for _, r := range recs.Runs {
		if jobID, seq, ok := job.ParseJournalID(r.JournalID); !ok || !p.Retention.Below(jobID, seq) {
			runs = append(runs, r)
		}
	}
	return mongostore.JournalRecords{Fires: fires, Runs: runs}
}

// Add turns a fire or run message into the journal records it adds to recs.
func Add(recs *mongostore.JournalRecords, subject string, data []byte) error {
	switch {
	case strings.HasPrefix(subject, "jobcenter.fire."):
		f, err := wire.DecodeFire(data)
		if err != nil {
			return err
		}
		recs.Fires = append(recs.Fires, mongostore.FireRecord{
			ID: f.JournalID, JobID: f.JobID, Tenant: f.Tenant, Seq: f.Seq, TriggerID: f.FireID,
			RunType: f.RunType, TriggerStatus: f.TriggerStatus, TriggerTime: f.ScheduledAt, FiredAt: f.FiredAt, Detail: f.Detail,
			Params: string(f.Params), ParentFireID: f.ParentFireID,
		})
		return nil
	case strings.HasPrefix(subject, "jobcenter.run."):
		r, err := wire.DecodeRunEvent(data)
		if err != nil {
			return err
		}
		if r.EndedAt == nil && r.Attempts > 1 {
			// A page shows a run's first start and its end; later attempts' starts are
			// in the stream, not the journal.
			return nil
		}
		rec := mongostore.RunRecord{
			JournalID: r.JournalID, Status: r.Status, Attempts: r.Attempts, StartedAt: r.StartedAt,
			EndedAt: r.EndedAt, DynamicID: r.DynamicID,
		}
		if r.EndedAt == nil {
			rec.ID = job.RunStartID(r.JournalID, max(r.Attempts, 1))
		} else {
			rec.ID, rec.Detail = job.RunEndID(r.JournalID), r.Detail
			if r.Killed != nil {
				at := r.Killed.At.UTC()
				rec.KilledAt, rec.KilledBy = &at, r.Killed.By
			}
		}
		recs.Runs = append(recs.Runs, rec)
		return nil
	}
	return fmt.Errorf("unexpected subject %q", subject)
}
