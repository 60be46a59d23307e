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
	Clock   clock.Clock
	Log     zerolog.Logger
}

// User is who the commands of a chain or a pause are sent as.
const User = "jobcenter"

// After acts on the ends of runs journaled: each end is acted on once it is in the
// journal, so that a pause reads the runs before it. An error leaves the ends to be
// acted on again (the commands' ids make that harmless).
func (f *Follower) After(ctx context.Context, ends []contracts.RunEvent) error {
	var cmds []contracts.Command
	for _, ev := range ends {
		t := ev.Then
		if t == nil || ev.EndedAt == nil || ev.Killed != nil {
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
					cmds = append(cmds, f.pause(ev, t.PauseAfterFailures))
				}
			}
		}
		for _, child := range children {
			cmds = append(cmds, contracts.Command{V: contracts.Version, ID: "chain:" + ev.FireID + ":" + child, Type: contracts.CmdExec,
				Tenant: ev.Tenant, JobID: child, User: User, At: f.Clock.Now().UTC().Truncate(time.Millisecond), ParentFireID: ev.FireID})
		}
	}
	return f.send(ctx, cmds)
}

// pause is the stop of a job whose last n runs failed, the last ev.
func (f *Follower) pause(ev contracts.RunEvent, n int) contracts.Command {
	return contracts.Command{V: contracts.Version, ID: "pause:" + ev.FireID, Type: contracts.CmdStop, Tenant: ev.Tenant, JobID: ev.JobID,
		User: User, At: f.Clock.Now().UTC().Truncate(time.Millisecond),
		Reason: fmt.Sprintf("paused: its last %d runs failed (pause_after_failures %d), the last %s", n, n, ev.FireID)}
}

// failedInARow reports whether the n runs up to ev's (by run number) all failed: each
// journaled with an end that is a failure, none killed. A missed fire, a skipped run or
// one not ended breaks the row.
func (f *Follower) failedInARow(ctx context.Context, ev contracts.RunEvent, n int) (bool, error) {
	jobID, seq, ok := job.ParseJournalID(ev.JournalID)
	if !ok {
		return false, nil
	}
	for k := int64(1); k < int64(n); k++ {
		if seq-k < 1 {
			return false, nil
		}
		e, err := f.Journal.GetEntry(ctx, job.JournalID(jobID, seq-k))
		switch {
		case errors.Is(err, mongostore.ErrNotFound):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("read run %d of job %s: %w", seq-k, jobID, err)
		}
		if e.Status() != contracts.RunFailure || e.Run.KilledAt != nil {
			return false, nil
		}
	}
	return true, nil
}

// send stores the commands, each once by its id, and waits for every acknowledgement.
func (f *Follower) send(ctx context.Context, cmds []contracts.Command) error {
	acks := make([]jetstream.PubAckFuture, 0, len(cmds))
	for _, c := range cmds {
		data, _ := json.Marshal(c)
		a, err := f.JS.PublishAsync(contracts.CommandSubject(c.Tenant), data, jetstream.WithMsgID(c.ID))
		if err != nil {
			return fmt.Errorf("send %s: %w", c.ID, err)
		}
		acks = append(acks, a)
	}
	for i, a := range acks {
		select {
		case <-a.Ok():
			f.Log.Info().Str("tenant", cmds[i].Tenant).Str("job_id", cmds[i].JobID).Str("type", cmds[i].Type).
				Str("after", cmds[i].ParentFireID+cmds[i].Reason).Msg("sent after a run's end")
		case err := <-a.Err():
			return fmt.Errorf("send %s: %w", cmds[i].ID, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return fmt.Errorf("send %s: no answer from the broker in 10s", cmds[i].ID)
		}
	}
	return nil
}
