package trigger

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/commands"
	"github.com/jobcenter/jobcenter/services/trigger/internal/firing"
	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// termStore is what a term's start reads of the store and writes to it, and what its
// flushes write.
type termStore interface {
	Checkpoint(ctx context.Context, name string) (uint64, error)
	JobsWritten(ctx context.Context, end func(context.Context) (uint64, error)) (seq, term uint64, err error)
	SaveCheckpoint(ctx context.Context, name string, seq uint64) error
	SaveJobsWritten(ctx context.Context, term, seq uint64) error
	EachJob(ctx context.Context, fn func(mongostore.StoredJob)) error
	PutJobs(ctx context.Context, ws []mongostore.JobWrite) error
	SaveProgress(ctx context.Context, ps map[string]job.Progress) error
}

// runEnds is where a start reads the fixed-delay jobs' kept run ends (runends.Ends).
type runEnds interface {
	Get(ctx context.Context, jobID string) (job.RunEnd, bool, error)
}

// streams is what a start and a rebuild read back from the broker's streams.
type streams interface {
	Info(ctx context.Context, stream string) (*jetstream.StreamInfo, error)
	// ReplayFrom reads a stream (filtered) from sequence start to what it holds now, and
	// returns the last sequence read.
	ReplayFrom(ctx context.Context, stream, filter string, start uint64, fn func(subject string, data []byte, seq uint64) error) (uint64, error)
}

type jsStreams struct{ js jetstream.JetStream }

func (j jsStreams) Info(ctx context.Context, stream string) (*jetstream.StreamInfo, error) {
	st, err := j.js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("%s stream: %w", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s stream info: %w", stream, err)
	}
	return info, nil
}

func (j jsStreams) ReplayFrom(ctx context.Context, stream, filter string, start uint64, fn func(subject string, data []byte, seq uint64) error) (uint64, error) {
	cons, err := j.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter},
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: max(start, 1)})
	if err != nil {
		return 0, fmt.Errorf("replay %s: %w", stream, err)
	}
	var last uint64
	for {
		batch, err := cons.FetchNoWait(1024)
		if err != nil {
			return last, fmt.Errorf("replay %s: %w", stream, err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			md, err := msg.Metadata()
			if err != nil {
				return last, err
			}
			last = md.Sequence.Stream
			if err := fn(msg.Subject(), msg.Data(), last); err != nil {
				return last, err
			}
		}
		if err := batch.Error(); err != nil {
			return last, fmt.Errorf("replay %s: %w", stream, err)
		}
		if got == 0 {
			return last, nil
		}
	}
}

// term is one stretch of being the active instance: a scheduler loaded afresh from the
// store and the stream.
type term struct {
	sched *scheduler.Scheduler
	pub   *firing.Publisher
	// behind writes the job documents the commands change; nil until the term runs.
	behind *commands.Behind
}

// newTerm makes a term whose fires go out on fires: the term's own connection, which it
// abandons if it loses its lease.
func (s *Service) newTerm(fires jetstream.JetStream) *term {
	t := &term{pub: firing.New(fires, s.cfg.Clock, s.metrics, s.cfg.Log.With().Str("part", "publisher").Logger())}
	cfg := scheduler.Config{
		Clock:       s.cfg.Clock,
		Publisher:   t.pub,
		Finisher:    commands.Finisher{JS: s.js, Clock: s.cfg.Clock, Log: s.cfg.Log},
		Policy:      scheduler.Policy{MaxCatchUp: s.cfg.MaxCatchUp},
		ExecTimeout: s.cfg.ExecTimeout,
		Metrics:     s.metrics,
		Log:         s.cfg.Log.With().Str("part", "scheduler").Logger(),
	}
	if s.cals != nil {
		cfg.Calendars = s.cals.Get
	}
	t.sched = scheduler.New(cfg)
	return t
}

// start makes a term's scheduler: from the last image of the scheduler in obs (nil:
// none) if there is one that can be used, else from every job in the store. Then it
// replays the fires stored after the image, or after the store's last saved checkpoint,
// whichever is earlier (the store's progress is saved for them again), so no run number
// is reused after a crash.
func (s *Service) start(ctx context.Context, obs jetstream.ObjectStore, fires jetstream.JetStream, ends runEnds) (t *term, fromImage bool, err error) {
	from, err := s.book.Checkpoint(ctx, checkpointFires)
	if err != nil {
		return nil, false, err
	}
	// The calendars are read before any next fire is: a job's excluded instants are
	// never queued. A change after this reaches the scheduler that holds the jobs.
	if s.calsRead != nil {
		select {
		case <-s.calsRead:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	t = s.newTerm(fires)
	s.sched.Store(t.sched)
	fromImage, runs := s.loadImage(ctx, t, obs)
	if fromImage {
		from = min(from, runs)
	} else {
		t = s.newTerm(fires)
		s.sched.Store(t.sched)
		if err := s.load(ctx, t); err != nil {
			return nil, false, err
		}
	}
	replayed, err := s.replayFires(ctx, t, from)
	if err != nil {
		return nil, false, err
	}
	// A start knows each fixed-delay job and its last fire, not the end of that fire's
	// run, which is kept apart: each is told of the end kept, before the calendars and
	// the finishes below count from it.
	if ends != nil {
		for _, id := range t.sched.FixedDelayJobs() {
			r, ok, err := ends.Get(ctx, id)
			if err != nil {
				return nil, false, err
			}
			if ok {
				t.sched.Ended(id, r)
			}
		}
	}
	if fromImage {
		// An image's next fires were computed with the calendars as they were: computed
		// again with them as they are now, as a load from the store does.
		t.sched.RescheduleCalendared()
	}
	// Every job with no fire left is finished: one whose finish was lost before the
	// image was cut, or whose last fire only the replay found (Load asks for the rest
	// as it loads each job; a finish asked twice is one command).
	t.sched.FinishSpent()
	s.cfg.Log.Info().Bool("from_image", fromImage).Int("fires_replayed", replayed).Msg("scheduler ready")
	return t, fromImage, nil
}

// load loads every job in the store into t's scheduler.
func (s *Service) load(ctx context.Context, t *term) error {
	n := 0
	err := s.book.EachJob(ctx, func(sj mongostore.StoredJob) {
		p := sj.Progress
		t.sched.Load(sj.Job, p)
		n++
	})
	if err != nil {
		return err
	}
	s.cfg.Log.Info().Int("jobs", n).Msg("scheduler loaded from the store")
	return nil
}

// replayFires raises the progress of t's jobs to the fires stored after sequence from.
func (s *Service) replayFires(ctx context.Context, t *term, from uint64) (int, error) {
	// What the stream holds now is all there is to replay: the scheduler is not running,
	// so no fire of ours can be added meanwhile.
	n := 0
	_, err := s.streams.ReplayFrom(ctx, contracts.StreamRuns, contracts.FireSubjects, from+1, func(_ string, data []byte, seq uint64) error {
		f, err := wire.DecodeFire(data)
		if err != nil {
			return nil // dead-lettered when it was first consumed
		}
		at, scheduled := job.ScheduledInstant(f.JobID, f.FireID) // the instant, not its spread
		t.sched.Observe(f.JobID, f.Seq, at, scheduled)
		t.pub.Record(f, seq)
		n++
		return nil
	})
	return n, err
}

func (s *Service) flushLoop(ctx context.Context, t *term) {
	every(ctx, s.cfg.FlushInterval, func() { s.flush(ctx, t) })
}

// flush saves the progress of stored fires, then the checkpoint that covers them.
func (s *Service) flush(ctx context.Context, t *term) {
	m, seq := t.pub.Take()
	if len(m) == 0 {
		return
	}
	// Progress is saved on job documents that exist: those of jobs created a moment ago
	// may still be staged.
	if t.behind != nil {
		if err := t.behind.Sync(ctx); err != nil {
			t.pub.Restore(m)
			s.cfg.Log.Warn().Err(err).Msg("fire progress not saved: job documents are not written yet")
			return
		}
	}
	if err := s.book.SaveProgress(ctx, m); err != nil {
		t.pub.Restore(m)
		if !errors.Is(ctx.Err(), context.Canceled) { // cut short by the term's end, whose last flush takes it
			s.cfg.Log.Warn().Err(err).Msg("saving fire progress failed; will retry")
		}
		return
	}
	if err := s.book.SaveCheckpoint(ctx, checkpointFires, seq); err != nil {
		s.cfg.Log.Warn().Err(err).Msg("saving fire checkpoint failed")
	}
}

// catchUp writes the job documents of the lifecycle events stored after the store's
// jobs checkpoint, before anything of the term reads the store: the writes a trigger
// staged and did not make before it stopped. Then it saves the checkpoint in this term,
// so that one of an older term, saved late, no longer counts, and returns the term the
// term's writes are to be saved in: the lease's revision, or past the stored term when
// that is higher (the leases' bucket made anew numbers its revisions from 1 again).
func (s *Service) catchUp(ctx context.Context, lease uint64) (term uint64, err error) {
	from, stored, err := s.book.JobsWritten(ctx, s.eventsEnd)
	if err != nil {
		return 0, err
	}
	term = max(lease, stored+1)
	events, jobs, last, err := s.writeJobsFrom(ctx, from+1)
	if err != nil {
		return 0, err
	}
	if events > 0 {
		s.cfg.Log.Info().Int("events", events).Int("jobs", jobs).Msg("job documents written from the events after the store's checkpoint")
	}
	return term, s.book.SaveJobsWritten(ctx, term, max(from, last))
}

// eventsEnd is the events stream's last sequence.
func (s *Service) eventsEnd(ctx context.Context) (uint64, error) {
	info, err := s.streams.Info(ctx, contracts.StreamEvents)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// writeJobsFrom writes each job's state as the last of its lifecycle events from
// sequence from on holds it, with the keys that find it, and returns the last sequence
// read (0: none). Its writes are the store's fenced ones: a newer state already there
// stays. They go in the order of each job's last event, so that a behaviour's schedule
// deleted is written before the one created after it, whose key moves only from a
// deleted job.
func (s *Service) writeJobsFrom(ctx context.Context, from uint64) (events, jobs int, last uint64, err error) {
	type write struct {
		w   mongostore.JobWrite
		seq uint64
	}
	latest := map[string]write{}
	last, err = s.streams.ReplayFrom(ctx, contracts.StreamEvents, contracts.EventSubjects, from, func(subject string, data []byte, seq uint64) error {
		_, j, err := wire.EventJob(subject, data)
		if err != nil {
			// Not an event the trigger recorded (see replayEvents): nothing to derive.
			s.cfg.Log.Warn().Err(err).Str("subject", subject).Uint64("seq", seq).Msg("event not written to the store: not one the trigger recorded")
			return nil
		}
		latest[j.ID] = write{latest[j.ID].w.Merge(mongostore.JobWrite{Job: j, WithKeys: true}), seq}
		events++
		return nil
	})
	if err != nil {
		return events, 0, last, err
	}
	ordered := slices.SortedFunc(maps.Values(latest), func(a, b write) int { return cmp.Compare(a.seq, b.seq) })
	const chunk = 1000
	for part := range slices.Chunk(ordered, chunk) {
		ws := make([]mongostore.JobWrite, len(part))
		for i, w := range part {
			ws[i] = w.w
		}
		if err := s.book.PutJobs(ctx, ws); err != nil {
			return events, jobs, last, err
		}
		jobs += len(ws)
	}
	return events, jobs, last, nil
}
