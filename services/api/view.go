package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api/internal/jobview"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// keepView keeps the api's view of the jobs until ctx ends: it loads the view from the
// store, then follows the lifecycle events stored after the store's jobs checkpoint (an
// ordered consumer resumes by itself after a lost connection, from where it was). A
// follow that fails for good starts over from a fresh load.
func (s *Service) keepView(ctx context.Context, v *jobview.View) {
	for ctx.Err() == nil {
		err := s.follow(ctx, v)
		if ctx.Err() != nil {
			return
		}
		s.cfg.Log.Warn().Err(err).Msg("the job view stopped following the events; it is loaded again, and the store answers meanwhile")
		v.Reset()
		clock.Sleep(ctx, time.Second)
	}
}

// follow loads v and keeps it until ctx ends or the events cannot be followed. The
// checkpoint is read before the jobs, so that every event a document read may lack is
// after it: the newest version wins whichever comes first.
func (s *Service) follow(ctx context.Context, v *jobview.View) error {
	from, _, err := s.store.JobsWritten(ctx, s.eventsEnd)
	if err != nil {
		return err
	}
	began := time.Now()
	if err := s.store.EachJob(ctx, func(sj mongostore.StoredJob) { v.Learn(sj.Job) }); err != nil {
		return fmt.Errorf("load the job view: %w", err)
	}
	end, err := s.eventsEnd(ctx)
	if err != nil {
		return err
	}
	cons, err := s.js.OrderedConsumer(ctx, contracts.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{contracts.EventSubjects},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy, OptStartSeq: from + 1,
	})
	if err != nil {
		return fmt.Errorf("follow job events: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("follow job events: %w", err)
	}
	defer context.AfterFunc(ctx, it.Stop)()
	defer it.Stop()
	caughtUp := func() {
		if v.Complete() {
			s.cfg.Log.Info().Int("jobs", v.Len()).Dur("took", time.Since(began)).Msg("job view complete: reads and lists are answered from memory")
		} else {
			s.cfg.Log.Warn().Int("cap", s.cfg.CacheJobs).Msg("more live jobs than JOBCENTER_API_CACHE_JOBS: lists and reads of jobs not held go to the store")
		}
	}
	complete := end <= from
	if complete {
		caughtUp()
	}
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("follow job events: %w", err)
		}
		if _, j, err := wire.EventJob(msg.Subject(), msg.Data()); err == nil {
			v.Learn(j)
		} else {
			s.cfg.Log.Warn().Err(err).Str("subject", msg.Subject()).Msg("event not learnt: not one the trigger recorded")
		}
		if !complete {
			if md, err := msg.Metadata(); err == nil && (md.Sequence.Stream >= end || md.NumPending == 0) {
				complete = true
				caughtUp()
			}
		}
	}
}

// eventsEnd is the events stream's last sequence.
func (s *Service) eventsEnd(ctx context.Context) (uint64, error) {
	st, err := s.js.Stream(ctx, contracts.StreamEvents)
	if err != nil {
		return 0, fmt.Errorf("events stream: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("events stream: %w", err)
	}
	return info.State.LastSeq, nil
}
