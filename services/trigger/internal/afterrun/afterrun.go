// Package afterrun does what follows the end of a run, for a job that asks for it (its
// fire's Then, which the executor copies to the run's end): it runs the job's children,
// and it stops the job once its last runs in a row failed. It sends commands, as a user
// would, with ids derived from the run that ended, so the end's message handled twice
// sends each once. It decides nothing about a job's state: the commands processor does.
package afterrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/alerting"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// Journal is where a job's earlier runs are read.
type Journal interface {
	GetEntry(ctx context.Context, journalID string) (mongostore.Entry, error)
}

// Follower acts on runs' ends.
type Follower struct {
	JS      jetstream.JetStream
	Journal Journal
	// Job reads a job's newest state (nil when there is none): a pause counts only the
	// runs fired since the job was last started.
	Job   func(ctx context.Context, id string) (*job.Job, error)
	Clock clock.Clock
	Log   zerolog.Logger
	// Paused, when not nil, is told of each job this stops (as alerting.Raiser.Raise),
	// before the stop is sent.
	Paused func(ctx context.Context, events []alerting.Event) error
}

// User is who the commands of a chain or a pause are sent as.
const User = "jobcenter"

// After acts on the ends of runs journaled: each end is acted on once it is in the
// journal, so that a pause reads the runs before it. An error leaves the ends to be
// acted on again (the commands' ids make that harmless).
func (f *Follower) After(ctx context.Context, ends []contracts.RunEvent) error {
	var cmds []contracts.Command
	var paused []alerting.Event
	for _, ev := range ends {
		t := ev.Then
		if t == nil || ev.EndedAt == nil {
			continue
		}
		if _, scheduled := job.ScheduledInstant(ev.JobID, ev.FireID); t.Rearm && scheduled {
			// Whatever its end, killed too: a fixed-delay job counts its next fire from it.
			cmds = append(cmds, rearm(ev))
		}
		if t.Backfill != nil {
			// Whatever its end: the backfill's next fire takes this one's place.
			cmds = append(cmds, backfillNext(ev))
		}
		if ev.Killed != nil {
			continue // a killed run was ended by a person: it neither chains nor counts
		}
		var children []string
		switch ev.Status {
		case contracts.RunSuccess:
			children = t.OnSuccess
		case contracts.RunFailure:
			children = t.OnFailure
			if t.PauseAfterFailures > 0 {
				row, err := f.failedInARow(ctx, ev, t.PauseAfterFailures)
				if err != nil {
					return err
				}
				if row {
					stop := f.pause(ev, t.PauseAfterFailures)
					cmds = append(cmds, stop)
					paused = append(paused, alerting.PauseEvent(ev, stop.Reason))
				}
			}
		}
		for _, child := range children {
			// The id is of a fixed size however deep the chain (a journal id, not a fire
			// id that may hold its parent's).
			cmds = append(cmds, contracts.Command{V: contracts.Version, ID: "chain:" + ev.JournalID + ":" + child, Type: contracts.CmdExec,
				Tenant: ev.Tenant, JobID: child, User: User, At: f.Clock.Now().UTC().Truncate(time.Millisecond), ParentFireID: ev.FireID,
				Idempotent: true, Fingerprint: "-"})
		}
	}
	// A pause's alert is raised before its stop is sent: once the job is stopped, an end
	// handled again no longer completes a row, and an alert not raised by then never
	// would be.
	if f.Paused != nil && len(paused) > 0 {
		if err := f.Paused(ctx, paused); err != nil {
			return err
		}
	}
	return f.send(ctx, cmds)
}

// rearm starts a fixed-delay job again as of its run's end, ev; the domain decides whether
// that run is the one its start is waiting for.
func rearm(ev contracts.RunEvent) contracts.Command {
	return contracts.Command{V: contracts.Version, ID: "rearm:" + ev.JournalID, Type: contracts.CmdRearm, Tenant: ev.Tenant, JobID: ev.JobID,
		User: User, At: ev.EndedAt.UTC().Truncate(time.Millisecond), FireID: ev.FireID}
}

// backfillNext releases the fire of the backfill ev's run belonged to that takes its
// place: the Concurrency-th instant after its own, if the backfill has it.
func backfillNext(ev contracts.RunEvent) contracts.Command {
	b := ev.Then.Backfill
	return contracts.Command{V: contracts.Version, ID: "backfill-next:" + ev.JournalID, Type: contracts.CmdBackfill, Tenant: ev.Tenant,
		JobID: ev.JobID, User: User, At: ev.EndedAt.UTC().Truncate(time.Millisecond),
		Backfill: &contracts.BackfillRange{From: b.At, To: b.To, Concurrency: b.Concurrency, Of: b.Of}}
}

// pause is the stop of a job whose last n runs failed, the last ev.
func (f *Follower) pause(ev contracts.RunEvent, n int) contracts.Command {
	return contracts.Command{V: contracts.Version, ID: "pause:" + ev.JournalID, Type: contracts.CmdStop, Tenant: ev.Tenant, JobID: ev.JobID,
		User: User, At: f.Clock.Now().UTC().Truncate(time.Millisecond), Idempotent: true, Fingerprint: "-",
		Reason: fmt.Sprintf("paused: %d of its runs in a row failed (pause_after_failures %d), the last to end %s", n, n, ev.FireID)}
}

// failedInARow reports whether ev's run completes a row of n runs, by run number, that
// all failed: each journaled with an end that is a failure, not killed, and fired since
// the job was last started (a job started again after a pause begins a new row). The
// row may end after ev's run: with max_instances above 1, runs end out of order. A
// missed fire, a skipped run, one not ended or one retention removed breaks the row.
func (f *Follower) failedInARow(ctx context.Context, ev contracts.RunEvent, n int) (bool, error) {
	jobID, seq, ok := job.ParseJournalID(ev.JournalID)
	if !ok {
		return false, nil
	}
	var since time.Time
	if f.Job != nil {
		j, err := f.Job(ctx, jobID)
		if err != nil {
			return false, fmt.Errorf("read job %s: %w", jobID, err)
		}
		if j == nil || j.State != job.Started {
			return false, nil // stopped or gone: nothing to pause
		}
		since = j.StartedAt
	}
	failed := map[int64]bool{}
	for k := max(seq-int64(n)+1, 1); k < seq+int64(n); k++ {
		e, err := f.Journal.GetEntry(ctx, job.JournalID(jobID, k))
		switch {
		case errors.Is(err, mongostore.ErrNotFound):
			continue
		case err != nil:
			return false, fmt.Errorf("read run %d of job %s: %w", k, jobID, err)
		}
		failed[k] = e.Status() == contracts.RunFailure && e.Run.KilledAt == nil && !e.Fire.FiredAt.Before(since)
	}
	for start := max(seq-int64(n)+1, 1); start <= seq; start++ {
		row := true
		for k := start; k < start+int64(n) && row; k++ {
			row = failed[k]
		}
		if row {
			return true, nil
		}
	}
	return false, nil
}

// send stores the commands, each once by its id, and waits for every acknowledgement.
func (f *Follower) send(ctx context.Context, cmds []contracts.Command) error {
	msgs := make([]bus.Out, len(cmds))
	for i, c := range cmds {
		data, _ := json.Marshal(c)
		msgs[i] = bus.Out{Subject: contracts.CommandSubject(c.Tenant), ID: c.ID, Data: data}
	}
	if _, err := bus.PublishAll(ctx, f.JS, msgs); err != nil {
		return fmt.Errorf("send after a run's end: %w", err)
	}
	for _, c := range cmds {
		if c.Type == contracts.CmdRearm || c.Type == contracts.CmdBackfill {
			continue // one a run (a fixed delay's, a backfill's): not worth a line each
		}
		f.Log.Info().Str("tenant", c.Tenant).Str("job_id", c.JobID).Str("type", c.Type).
			Str("after", c.ParentFireID+c.Reason).Msg("sent after a run's end")
	}
	return nil
}
