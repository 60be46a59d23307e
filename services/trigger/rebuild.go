package trigger

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/journal"
	"github.com/jobcenter/jobcenter/services/trigger/internal/lease"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// RebuildStats says what a rebuild replayed.
type RebuildStats struct {
	Events, Jobs, Fires, RunReports int
}

// Rebuild drops the MongoDB projections and derives them again from the streams: each
// job from its last lifecycle event, its fire progress and its journal from the fires
// and run reports of JOBCENTER_RUNS (as far back as JOBCENTER_RUNS_MAX_AGE keeps them).
// It holds the trigger lease meanwhile, so no active instance writes the projections;
// the kept outcomes of idempotent requests are not derived, and start empty. The
// scheduler's image is deleted, so that the next start loads the jobs rebuilt.
func (s *Service) Rebuild(ctx context.Context) (RebuildStats, error) {
	defer s.nc.Close()
	defer s.inc.Close()
	defer func() { _ = s.store.Close(context.Background()) }()
	kv, err := lease.Bucket(ctx, s.js, LeaseBucket, s.cfg.LeaseTTL, s.cfg.Streams.Replicas)
	if err != nil {
		return RebuildStats{}, err
	}
	l := &lease.Lease{KV: kv, Key: leaseKey, Holder: s.cfg.InstanceID + "-rebuild", TTL: s.cfg.LeaseTTL, Log: s.cfg.Log}
	wait, cancel := context.WithTimeout(ctx, 3*s.cfg.LeaseTTL)
	rev, err := l.Acquire(wait)
	cancel()
	if err != nil {
		return RebuildStats{}, fmt.Errorf("an active trigger holds the lease: stop every trigger before a rebuild: %w", err)
	}
	var st RebuildStats
	var rerr error
	err = l.Keep(ctx, rev, func(held context.Context) { st, rerr = s.rebuild(held, rev) })
	if err != nil {
		return st, err
	}
	return st, rerr
}

func (s *Service) rebuild(ctx context.Context, term uint64) (RebuildStats, error) {
	var st RebuildStats
	// The next start loads the jobs rebuilt, not an image of the scheduler before.
	obs, err := s.imageStore(ctx)
	if err != nil {
		return st, err
	}
	if err := obs.Delete(ctx, imageObject); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return st, fmt.Errorf("delete the scheduler's image: %w", err)
	}
	if err := s.store.Drop(ctx); err != nil {
		return st, fmt.Errorf("drop projections: %w", err)
	}
	if err := s.store.EnsureIndexes(ctx); err != nil {
		return st, err
	}
	// Jobs: the last lifecycle event of each holds its whole state.
	var lastEvent uint64
	if st.Events, st.Jobs, lastEvent, err = s.writeJobsFrom(ctx, 1); err != nil {
		return st, err
	}
	if err := s.book.SaveJobsWritten(ctx, term, lastEvent); err != nil {
		return st, err
	}
	// Fire progress and the journal: the fires and run reports, in stream order.
	progress := map[string]job.Progress{}
	var recs mongostore.JournalRecords
	flush := func() error {
		err := s.store.WriteJournal(ctx, recs)
		recs = mongostore.JournalRecords{}
		return err
	}
	last, err := s.streams.ReplayFrom(ctx, contracts.StreamRuns, ">", 1, func(subject string, data []byte, _ uint64) error {
		fires := len(recs.Fires)
		if journal.Add(&recs, subject, data) != nil {
			return nil // dead-lettered when it was first consumed
		}
		if len(recs.Fires) == fires {
			st.RunReports++
		} else {
			st.Fires++
			f := recs.Fires[len(recs.Fires)-1]
			progress[f.JobID] = progress[f.JobID].Fired(f.JobID, f.TriggerID, f.Seq)
		}
		if len(recs.Fires)+len(recs.Runs) >= 1000 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	if err := flush(); err != nil {
		return st, err
	}
	if err := s.store.SaveProgress(ctx, progress); err != nil {
		return st, err
	}
	return st, s.store.SaveCheckpoint(ctx, checkpointFires, last)
}
