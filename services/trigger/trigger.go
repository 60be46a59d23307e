// Package trigger is the trigger service: it applies commands to the job projection,
// fires started jobs on time, and keeps the journal projection. main only wires it.
package trigger

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
	"github.com/jobcenter/jobcenter/services/trigger/internal/commands"
	"github.com/jobcenter/jobcenter/services/trigger/internal/firing"
	"github.com/jobcenter/jobcenter/services/trigger/internal/journal"
	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/config"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// Durable consumer names.
const (
	CommandsConsumer = "trigger"
	checkpointFires  = "trigger.fires"
)

// Config configures the trigger service.
type Config struct {
	NATSURL  string
	MongoURI string
	MongoDB  string
	Streams  bus.StreamsConfig
	// ExecTimeout is the run time limit written into every fire.
	ExecTimeout time.Duration
	// MisfireThreshold: a fire later than this counts as missed (see scheduler.Policy).
	MisfireThreshold time.Duration
	// FlushInterval is how often fire progress is saved to the store.
	FlushInterval time.Duration
	// StoreTimeout bounds each store call.
	StoreTimeout time.Duration
	Clock        clock.Clock
	Log          zerolog.Logger
}

// ConfigFromEnv reads the settings shared by every service and the trigger's own.
func ConfigFromEnv(e *config.Env) Config {
	return Config{
		NATSURL:          e.Str("NATS_URL", "nats://127.0.0.1:4222"),
		MongoURI:         e.Str("MONGO_URI", "mongodb://127.0.0.1:27017"),
		MongoDB:          e.Str("JOBCENTER_MONGO_DB", "jobcenter"),
		Streams:          bus.StreamsFromEnv(e),
		ExecTimeout:      e.Duration("JOBCENTER_EXEC_TIMEOUT", 30*time.Second),
		MisfireThreshold: e.Duration("JOBCENTER_MISFIRE_THRESHOLD", 5*time.Second),
		FlushInterval:    e.Duration("JOBCENTER_FLUSH_INTERVAL", 200*time.Millisecond),
		StoreTimeout:     e.Duration("JOBCENTER_STORE_TIMEOUT", 5*time.Second),
	}
}

// Service is a running trigger.
type Service struct {
	cfg   Config
	nc    *nats.Conn
	js    jetstream.JetStream
	store *mongostore.Store
	sched *scheduler.Scheduler
	pub   *firing.Publisher
	ready chan struct{}
}

// New connects to the broker and the store.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	nc, err := bus.Connect(cfg.NATSURL, "jobcenter-trigger", cfg.Log)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	store, err := mongostore.Open(ctx, cfg.MongoURI, cfg.MongoDB, cfg.StoreTimeout)
	if err != nil {
		nc.Close()
		return nil, err
	}
	s := &Service{cfg: cfg, nc: nc, js: js, store: store, ready: make(chan struct{})}
	s.pub = firing.New(js, cfg.Log.With().Str("part", "publisher").Logger())
	s.sched = scheduler.New(scheduler.Config{
		Clock:       cfg.Clock,
		Publisher:   s.pub,
		Finisher:    commands.Finisher{JS: js, Clock: cfg.Clock, Log: cfg.Log},
		Policy:      scheduler.Policy{MisfireThreshold: cfg.MisfireThreshold},
		ExecTimeout: cfg.ExecTimeout,
		Log:         cfg.Log.With().Str("part", "scheduler").Logger(),
	})
	return s, nil
}

// Ready is closed once the scheduler is loaded and the consumers run.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Check reports whether the broker and the store answer.
func (s *Service) Check(ctx context.Context) error {
	if !s.nc.IsConnected() {
		return errors.New("nats: not connected")
	}
	return s.store.Ping(ctx)
}

// Run loads the jobs, then applies commands, fires jobs and writes the journal until ctx
// ends; on the way out it saves the fire progress.
func (s *Service) Run(ctx context.Context) error {
	defer s.nc.Close()
	defer func() { _ = s.store.Close(context.Background()) }()
	if err := s.start(ctx); err != nil {
		return err
	}
	cmds, err := s.js.CreateOrUpdateConsumer(ctx, contracts.StreamCommands, jetstream.ConsumerConfig{
		Durable: CommandsConsumer, FilterSubject: contracts.CommandSubjects,
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
		// One at a time: commands apply in stream order.
		MaxAckPending: 1,
	})
	if err != nil {
		return fmt.Errorf("commands consumer: %w", err)
	}
	jcons, err := s.js.CreateOrUpdateConsumer(ctx, contracts.StreamRuns, jetstream.ConsumerConfig{
		Durable: journal.Consumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
		MaxAckPending: 4096,
	})
	if err != nil {
		return fmt.Errorf("journal consumer: %w", err)
	}
	proc := &commands.Processor{Store: s.store, JS: s.js, NC: s.nc, Sched: s.sched, Clock: s.cfg.Clock,
		Log: s.cfg.Log.With().Str("part", "commands").Logger()}
	proj := &journal.Projector{Store: s.store, NC: s.nc, Log: s.cfg.Log.With().Str("part", "journal").Logger()}

	var wg sync.WaitGroup
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(loopCtx) }()
	}
	run(s.pub.Run)
	run(func(c context.Context) { _ = s.sched.Run(c) })
	run(s.flushLoop)
	run(func(c context.Context) {
		_ = bus.Consume(c, s.nc, cmds, CommandsConsumer, proc.Handle, proc.Log)
	})
	run(func(c context.Context) { _ = proj.Run(c, jcons) })
	close(s.ready)
	s.cfg.Log.Info().Msg("trigger running")

	<-ctx.Done()
	// Let in-flight fires reach the stream, then save their progress.
	time.Sleep(100 * time.Millisecond)
	stopLoops()
	wg.Wait()
	fctx, cancel := context.WithTimeout(context.Background(), s.cfg.StoreTimeout)
	defer cancel()
	s.flush(fctx)
	s.cfg.Log.Info().Msg("trigger stopped")
	return nil
}

// start provisions the streams, loads every job into the scheduler and replays the fires
// stored after the last saved checkpoint, so no run number is reused after a crash.
func (s *Service) start(ctx context.Context) error {
	if err := bus.Provision(ctx, s.js, s.cfg.Streams); err != nil {
		return err
	}
	if err := s.store.EnsureIndexes(ctx); err != nil {
		return err
	}
	n := 0
	err := s.store.EachJob(ctx, func(sj mongostore.StoredJob) {
		p := scheduler.Progress{Seq: sj.Progress.Seq}
		if sj.Progress.LastFire != nil {
			p.LastFire = *sj.Progress.LastFire
		}
		s.sched.Load(sj.Job, p)
		n++
	})
	if err != nil {
		return err
	}
	replayed, err := s.replayFires(ctx)
	if err != nil {
		return err
	}
	s.cfg.Log.Info().Int("jobs", n).Int("fires_replayed", replayed).Msg("scheduler loaded")
	return nil
}

func (s *Service) replayFires(ctx context.Context) (int, error) {
	from, err := s.store.Checkpoint(ctx, checkpointFires)
	if err != nil {
		return 0, err
	}
	stream, err := s.js.Stream(ctx, contracts.StreamRuns)
	if err != nil {
		return 0, fmt.Errorf("runs stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("runs stream info: %w", err)
	}
	last := info.State.LastSeq
	if last <= from {
		return 0, nil
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{contracts.FireSubjects},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    from + 1,
	})
	if err != nil {
		return 0, fmt.Errorf("replay fires: %w", err)
	}
	n := 0
	for {
		batch, err := cons.Fetch(1024, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return n, fmt.Errorf("replay fires: %w", err)
		}
		got := 0
		var seq uint64
		for msg := range batch.Messages() {
			got++
			md, err := msg.Metadata()
			if err != nil {
				continue
			}
			seq = md.Sequence.Stream
			var f contracts.Fire
			if json.Unmarshal(msg.Data(), &f) != nil {
				continue
			}
			s.sched.Observe(f.JobID, f.Seq, f.ScheduledAt, f.RunType == contracts.RunTypeManual)
			s.pub.Record(f, seq)
			n++
		}
		if got == 0 || seq >= last {
			return n, nil
		}
	}
}

func (s *Service) flushLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.flush(ctx)
		}
	}
}

// flush saves the progress of stored fires, then the checkpoint that covers them.
func (s *Service) flush(ctx context.Context) {
	m, seq := s.pub.Take()
	if len(m) == 0 {
		return
	}
	if err := s.store.SaveProgress(ctx, m); err != nil {
		s.pub.Restore(m)
		s.cfg.Log.Warn().Err(err).Msg("saving fire progress failed; will retry")
		return
	}
	if err := s.store.SaveCheckpoint(ctx, checkpointFires, seq); err != nil {
		s.cfg.Log.Warn().Err(err).Msg("saving fire checkpoint failed")
	}
}
