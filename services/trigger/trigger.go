// Package trigger is the trigger service: it applies commands (their job documents
// written behind), fires started jobs on time, and keeps the journal projection. main
// only wires it. It holds the active term's life — the lease, the documents left
// unwritten caught up, a start from the scheduler's image or the store, the replay of
// stored fires, the flushes, images and the commands' trim — and the rebuild; applying a
// command, firing and journaling are its internal packages'.
package trigger

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/afterrun"
	"github.com/jobcenter/jobcenter/services/trigger/internal/alerting"
	"github.com/jobcenter/jobcenter/services/trigger/internal/commands"
	"github.com/jobcenter/jobcenter/services/trigger/internal/journal"
	"github.com/jobcenter/jobcenter/services/trigger/internal/lease"
	trigmetrics "github.com/jobcenter/jobcenter/services/trigger/internal/metrics"
	"github.com/jobcenter/jobcenter/services/trigger/internal/retention"
	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/calendar"
	"github.com/jobcenter/jobcenter/shared/calkv"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/config"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/kept"
	"github.com/jobcenter/jobcenter/shared/metrics"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/runends"
)

// Durable consumer names, and the lease that makes one instance active.
const (
	CommandsConsumer = "trigger"
	checkpointFires  = "trigger.fires"
	LeaseBucket      = "jobcenter_leases"
	leaseKey         = "trigger"
)

// Config configures the trigger service.
type Config struct {
	NATSURL  string
	MongoURI string
	MongoDB  string
	Streams  bus.StreamsConfig
	// ExecTimeout is the run time limit written into every fire.
	ExecTimeout time.Duration
	// MaxCatchUp bounds the fires due at once run one by one for a job that does not
	// coalesce.
	MaxCatchUp int
	// FlushInterval is how often fire progress is saved to the store: one update per job
	// fired since, the costliest write of the embedded store. After a crash, the fires
	// since the last save are replayed from the stream.
	FlushInterval time.Duration
	// ImageInterval is how often the active instance stores an image of its scheduler,
	// which a start takes up instead of loading every job from the store; a start replays
	// the fires and lifecycle events recorded since. One is also stored soon after a start
	// that loaded from the store.
	ImageInterval time.Duration
	// StoreTimeout bounds each store call.
	StoreTimeout time.Duration
	// LeaseTTL is how long the active instance's lease lasts unrenewed: a standby takes
	// over within about this long after the active one dies.
	LeaseTTL time.Duration
	// InstanceID names this instance in the lease.
	InstanceID string
	// Journal is the journal's retention, which the active instance enforces.
	Journal mongostore.JournalRetention
	// Alerts is how alerts are delivered.
	Alerts AlertsConfig
	// Registry receives the trigger's metrics (nil: a registry of its own, with the Go and
	// process collectors); Metrics serves it.
	Registry *prometheus.Registry
	Clock    clock.Clock
	Log      zerolog.Logger
}

// The trigger's numeric settings, for the environment and for configs built in code.
var (
	ExecTimeout   = config.Span[time.Duration]{Key: "JOBCENTER_EXEC_TIMEOUT", Default: 30 * time.Second, Min: 10 * time.Millisecond, Max: 24 * time.Hour}
	MaxCatchUp    = config.Span[int]{Key: "JOBCENTER_MAX_CATCHUP", Default: 100, Min: 1, Max: 100000}
	FlushInterval = config.Span[time.Duration]{Key: "JOBCENTER_FLUSH_INTERVAL", Default: 10 * time.Second, Min: time.Millisecond, Max: time.Minute}
	ImageInterval = config.Span[time.Duration]{Key: "JOBCENTER_IMAGE_INTERVAL", Default: time.Minute, Min: time.Second, Max: 24 * time.Hour}
	StoreTimeout  = config.Span[time.Duration]{Key: "JOBCENTER_STORE_TIMEOUT", Default: 5 * time.Second, Min: 10 * time.Millisecond, Max: 5 * time.Minute}
	LeaseTTL      = config.Span[time.Duration]{Key: "JOBCENTER_LEASE_TTL", Default: 5 * time.Second, Min: time.Second, Max: 5 * time.Minute}
)

// ConfigFromEnv reads the settings shared by every service and the trigger's own.
func ConfigFromEnv(e *config.Env) Config {
	return Config{
		NATSURL:       e.URLs("NATS_URL", "nats://127.0.0.1:4222", bus.URLSchemes...),
		MongoURI:      e.URI("MONGO_URI", "mongodb://127.0.0.1:27017", mongostore.URISchemes...),
		MongoDB:       e.Str("JOBCENTER_MONGO_DB", "jobcenter"),
		Streams:       bus.StreamsFromEnv(e),
		ExecTimeout:   ExecTimeout.From(e),
		MaxCatchUp:    MaxCatchUp.From(e),
		FlushInterval: FlushInterval.From(e),
		ImageInterval: ImageInterval.From(e),
		StoreTimeout:  StoreTimeout.From(e),
		LeaseTTL:      LeaseTTL.From(e),
		InstanceID:    e.Str("JOBCENTER_INSTANCE_ID", defaultInstanceID()),
		Journal:       mongostore.JournalRetentionFromEnv(e),
		Alerts:        alertsFromEnv(e),
	}
}

// WithDefaults fills what c leaves unset with the defaults ConfigFromEnv documents.
func (c Config) WithDefaults() Config {
	c.Streams = c.Streams.WithDefaults()
	c.ExecTimeout, c.MaxCatchUp = ExecTimeout.Or(c.ExecTimeout), MaxCatchUp.Or(c.MaxCatchUp)
	c.FlushInterval, c.ImageInterval = FlushInterval.Or(c.FlushInterval), ImageInterval.Or(c.ImageInterval)
	c.StoreTimeout, c.LeaseTTL = StoreTimeout.Or(c.StoreTimeout), LeaseTTL.Or(c.LeaseTTL)
	if c.InstanceID == "" {
		c.InstanceID = defaultInstanceID()
	}
	if c.MongoDB == "" {
		c.MongoDB = "jobcenter"
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	c.Journal = c.Journal.WithDefaults()
	c.Alerts = c.Alerts.withDefaults()
	return c
}

// Validate refuses what ConfigFromEnv would refuse.
func (c Config) Validate() error {
	return errors.Join(c.Streams.Validate(), ExecTimeout.Check(c.ExecTimeout), MaxCatchUp.Check(c.MaxCatchUp),
		FlushInterval.Check(c.FlushInterval), ImageInterval.Check(c.ImageInterval), StoreTimeout.Check(c.StoreTimeout),
		LeaseTTL.Check(c.LeaseTTL), c.Journal.Validate(), c.Alerts.check())
}

func defaultInstanceID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// Service is a running trigger.
type Service struct {
	cfg   Config
	nc    *nats.Conn
	js    jetstream.JetStream
	inc   *nats.Conn // the scheduler's images'
	ijs   jetstream.JetStream
	store *mongostore.Store
	// The same store and broker, as a term's start and flushes use them.
	book    termStore
	streams streams
	metrics *trigmetrics.Trigger
	ready   chan struct{}
	alerts  alerts
	// cals are the tenants' calendars, followed by every instance; calsRead is closed
	// once those stored before are held (a term starts scheduling only then); sched is
	// the active term's scheduler, told of each calendar's change.
	cals     *calkv.Cache
	calsRead chan struct{}
	sched    atomic.Pointer[scheduler.Scheduler]
}

// New connects to the broker and the store. What cfg leaves unset takes its default.
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("trigger config: %w", err)
	}
	if cfg.Registry == nil {
		cfg.Registry = metrics.NewRegistry()
	}
	m, err := trigmetrics.New(cfg.Registry,
		metrics.Consumer{Stream: contracts.StreamCommands, Name: CommandsConsumer},
		metrics.Consumer{Stream: contracts.StreamRuns, Name: journal.Consumer},
		metrics.Consumer{Stream: contracts.StreamAlerts, Name: alerting.Consumer})
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	nc, js, err := bus.Dial(cfg.NATSURL, "jobcenter-trigger", cfg.Log)
	if err != nil {
		return nil, err
	}
	m.Consumers.Watch(js)
	// Images (a hundred megabytes at a million jobs) go over a connection of their own, so
	// that the fires published meanwhile do not queue behind them.
	inc, ijs, err := bus.Dial(cfg.NATSURL, "jobcenter-trigger-images", cfg.Log)
	if err != nil {
		nc.Close()
		return nil, err
	}
	store, err := mongostore.Open(ctx, cfg.MongoURI, cfg.MongoDB, cfg.StoreTimeout)
	if err != nil {
		nc.Close()
		inc.Close()
		return nil, err
	}
	return &Service{cfg: cfg, nc: nc, js: js, inc: inc, ijs: ijs, store: store, book: store, streams: jsStreams{js},
		metrics: m, ready: make(chan struct{})}, nil
}

// Metrics serves the registry the trigger's metrics are in, for GET /metrics.
func (s *Service) Metrics() http.Handler { return metrics.Handler(s.cfg.Registry) }

// Ready is closed once the instance runs, active or standing by.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Check reports whether the broker and the store answer.
func (s *Service) Check(ctx context.Context) error {
	if !s.nc.IsConnected() {
		return errors.New("nats: not connected")
	}
	return s.store.Ping(ctx)
}

// Run takes part in the lease until ctx ends: standing by while another instance is
// active, and while active applying commands, firing jobs and writing the journal.
func (s *Service) Run(ctx context.Context) error {
	defer s.nc.Close()
	defer s.inc.Close()
	defer func() { _ = s.store.Close(context.Background()) }()
	if err := bus.Provision(ctx, s.js, s.cfg.Streams); err != nil {
		return err
	}
	if err := s.store.EnsureIndexes(ctx); err != nil {
		return err
	}
	kv, err := lease.Bucket(ctx, s.js, LeaseBucket, s.cfg.LeaseTTL, s.cfg.Streams.Replicas)
	if err != nil {
		return err
	}
	l := &lease.Lease{KV: kv, Key: leaseKey, Holder: s.cfg.InstanceID, TTL: s.cfg.LeaseTTL,
		Log: s.cfg.Log.With().Str("part", "lease").Logger()}
	if s.alerts, err = s.openAlerts(ctx); err != nil {
		return err
	}
	// Every instance follows the rules (an active term raises alerts by them) and
	// delivers alerts, whichever is active.
	var wg sync.WaitGroup
	defer wg.Wait()
	actx, stopAlerts := context.WithCancel(ctx)
	defer stopAlerts()
	wg.Go(func() {
		s.alerts.cache.Follow(actx, s.alerts.rules.KV, func(err error) { s.cfg.Log.Warn().Err(err).Msg("alert rules not followed; tries again") })
	})
	wg.Go(func() { s.deliver(actx, s.alerts) })
	cals, err := calkv.Open(ctx, s.js, s.cfg.Streams.Replicas)
	if err != nil {
		return err
	}
	s.cals, s.calsRead = calkv.NewCache(time.UTC), make(chan struct{})
	s.cals.Changed = func(key string, _ *calendar.Compiled) {
		if sc := s.sched.Load(); sc != nil {
			sc.CalendarChanged(key)
		}
	}
	wg.Go(func() {
		s.cals.Follow(actx, cals, func() { close(s.calsRead) }, func(err error) { s.cfg.Log.Warn().Err(err).Msg("calendars not followed; tries again") })
	})
	close(s.ready)
	for ctx.Err() == nil {
		failed := false
		term, err := l.Acquire(ctx)
		if err != nil {
			continue // ctx ended
		}
		// The lease's revision when won numbers the term: a later holder's is higher.
		_ = l.Keep(ctx, term, func(active context.Context) {
			if err := s.lead(active, term); err != nil {
				s.cfg.Log.Error().Err(err).Msg("active term failed; giving the lease up")
				failed = true
			}
		})
		if failed {
			// The lease is released: let another instance try before this one again.
			clock.Sleep(ctx, s.cfg.LeaseTTL)
		}
	}
	s.cfg.Log.Info().Msg("trigger stopped")
	return nil
}

// lead is one active term: it loads the jobs, then applies commands, fires jobs and
// writes the journal until ctx ends; on the way out it saves the fire progress.
func (s *Service) lead(ctx context.Context, term uint64) error {
	s.metrics.Active(true)
	defer func() { s.metrics.Active(false); s.metrics.Jobs(0, 0); s.sched.Store(nil) }()
	// Images only spare a start the store's load: without the object store this term
	// neither takes one up nor stores one, and says so.
	// Under the lease: a trigger of the old layout can no longer be active.
	if n, err := s.store.MigrateJobLayout(ctx); err != nil {
		return err
	} else if n > 0 {
		s.cfg.Log.Info().Int("jobs", n).Msg("job documents moved to the layout that fences their writes")
	}
	term, err := s.catchUp(ctx, term)
	if err != nil {
		return fmt.Errorf("job documents behind the events: %w", err)
	}
	outcomes, err := kept.Open(ctx, s.js, s.cfg.Streams.IdempotencyWindow, s.cfg.Streams.Replicas)
	if err != nil {
		return err
	}
	if n, err := s.store.MoveOutcomes(ctx, func(b map[string][]byte) error { return outcomes.Put(ctx, b) }); err != nil {
		return fmt.Errorf("move kept outcomes to their bucket: %w", err)
	} else if n > 0 {
		s.cfg.Log.Info().Int("outcomes", n).Msg("kept outcomes moved from the store to their bucket")
	}
	obs, err := s.imageStore(ctx)
	if err != nil {
		s.cfg.Log.Warn().Err(err).Msg("no scheduler images this term")
		obs = nil
	}
	// The term's fires go out on a connection of its own, which it abandons if it loses
	// the lease (below).
	fnc, fires, abandon, err := bus.DialAbandonable(s.cfg.NATSURL, "jobcenter-trigger-fires", s.cfg.Log)
	if err != nil {
		return err
	}
	defer fnc.Close()
	ends, err := runends.Open(ctx, s.js, s.cfg.Streams.Replicas)
	if err != nil {
		return fmt.Errorf("run ends bucket: %w", err)
	}
	t, fromImage, err := s.start(ctx, obs, fires, ends)
	if err != nil {
		return err
	}
	cmds, err := s.js.CreateOrUpdateConsumer(ctx, contracts.StreamCommands, jetstream.ConsumerConfig{
		Durable: CommandsConsumer, FilterSubject: contracts.CommandSubjects,
		AckPolicy: jetstream.AckExplicitPolicy,
		// One batch at a time: the processor settles every command it fetched (acked, or
		// given back in order) before it fetches again, so commands apply in stream
		// order. A batch held by an instance that died blocks the rest until AckWait:
		// keep it to the lease's TTL. A command redelivered while still being applied
		// changes nothing the second time.
		AckWait:       max(s.cfg.LeaseTTL, 2*time.Second),
		MaxAckPending: commands.MaxBatch,
	})
	if err != nil {
		return fmt.Errorf("commands consumer: %w", err)
	}
	jcons, err := s.js.CreateOrUpdateConsumer(ctx, contracts.StreamRuns, jetstream.ConsumerConfig{
		Durable: journal.Consumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 10 * time.Second,
		MaxAckPending: 4096,
	})
	if err != nil {
		return fmt.Errorf("journal consumer: %w", err)
	}
	im := &imager{s: s, t: t, obs: obs, cmds: cmds, every: s.cfg.ImageInterval, log: s.cfg.Log.With().Str("part", "image").Logger()}
	// A start that loaded every job from the store was slow: the next need not be.
	im.due.Store(!fromImage)
	t.behind = commands.NewBehind(s.store, term, s.cfg.StoreTimeout, s.cfg.Log.With().Str("part", "jobs").Logger())
	proc := &commands.Processor{Store: s.store, Kept: outcomes, Behind: t.behind, Events: commands.JetStreamEvents{JS: s.js}, Replies: s.nc, NC: s.nc, Sched: t.sched, Fires: t.pub, Ends: ends, Clock: s.cfg.Clock,
		Metrics: s.metrics, Pause: im.pause, Log: s.cfg.Log.With().Str("part", "commands").Logger()}
	janitor := retention.New(s.store, s.cfg.Journal, s.cfg.Clock, s.metrics, s.cfg.Log.With().Str("part", "retention").Logger())
	jobOf := func(ctx context.Context, id string) (*job.Job, error) {
		// What this term applied is newer than the store, which is written behind.
		if j, ok := t.behind.Get(id); ok {
			return &j, nil
		}
		sj, err := s.store.GetJob(ctx, id)
		if errors.Is(err, mongostore.ErrNotFound) {
			return nil, nil
		}
		return &sj.Job, err
	}
	raiser := &alerting.Raiser{JS: s.js, Rules: s.alerts.cache, States: s.alerts.states, Clock: s.cfg.Clock,
		Log: s.cfg.Log.With().Str("part", "alerts").Logger(),
		Name: func(ctx context.Context, id string) string {
			if j, err := jobOf(ctx, id); err == nil && j != nil {
				return j.Spec.Name
			}
			return ""
		}}
	follower := &afterrun.Follower{JS: s.js, Journal: s.store, Clock: s.cfg.Clock, Log: s.cfg.Log.With().Str("part", "afterrun").Logger(),
		Job: jobOf, Paused: raiser.Raise}
	proj := &journal.Projector{Store: s.store, NC: s.nc, Settled: s.metrics.Consumers.Settled, Retention: janitor,
		After: follower.After, Alerts: raiser, Log: s.cfg.Log.With().Str("part", "journal").Logger()}

	// The publisher outlives the loops that feed it, so that it can drain at the end.
	pubCtx, stopPub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPub()
	pubDone := make(chan struct{})
	go func() { defer close(pubDone); t.pub.Run(pubCtx) }()
	var wg sync.WaitGroup
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(loopCtx) }()
	}
	run(func(c context.Context) { _ = t.sched.Run(c) })
	run(t.behind.Run)
	run(func(c context.Context) { s.flushLoop(c, t) })
	run(im.run)
	// A consumer that dies ends the term: an active instance that applies nothing must
	// give the lease to one that can.
	failed := make(chan error, 1)
	run(func(c context.Context) {
		if err := proc.Run(c, cmds, CommandsConsumer, s.metrics.Consumers.Settled); err != nil {
			select {
			case failed <- err:
			default:
			}
		}
	})
	run(func(c context.Context) {
		if err := proj.Run(c, jcons); err != nil {
			select {
			case failed <- err:
			default:
			}
		}
	})
	run(func(c context.Context) { s.retain(c, janitor) })
	run(func(c context.Context) { every(c, time.Hour, func() { s.alerts.forgetDeleted(c) }) })
	run(func(c context.Context) { every(c, retainedEvery, func() { s.measureRetained(c) }) })
	cl := &commandLog{js: s.js, cons: cmds, window: s.cfg.Streams.Duplicates, now: time.Now,
		log: s.cfg.Log.With().Str("part", "commands").Logger()}
	run(func(c context.Context) { every(c, trimEvery(cl.window), func() { cl.trim(c) }) })
	s.cfg.Log.Info().Msg("trigger active")

	var termErr error
	select {
	case <-ctx.Done():
	case termErr = <-failed:
	}
	lost := errors.Is(context.Cause(ctx), lease.ErrLost)
	if lost {
		// Another instance may be active already, or soon. Fires this one still holds,
		// cut off from the broker, would be stored once the network is back, under run
		// numbers the successor gives to other fires: they are dropped at once instead,
		// unsent bytes and all (the successor fires what was not stored).
		abandon()
		s.cfg.Log.Warn().Msg("lease lost: the fires not yet stored are dropped; the next term fires them")
	}
	// Stop firing and applying, let the fires already made reach the stream, then save
	// their progress. Halting first frees a scheduler blocked on a full queue.
	t.pub.Halt()
	stopLoops()
	wg.Wait()
	im.wg.Wait()
	dctx, cancel := context.WithTimeout(context.Background(), s.cfg.StoreTimeout)
	defer cancel()
	if !lost {
		t.pub.Drain(dctx)
	}
	stopPub()
	<-pubDone
	s.flush(dctx, t)
	return termErr
}

// retain runs the journal's janitor for the term, starting it again after a failed start
// (the store out of reach).
func (s *Service) retain(ctx context.Context, janitor *retention.Janitor) {
	for ctx.Err() == nil {
		if err := janitor.Run(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn().Err(err).Msg("journal retention could not start; tries again")
			clock.Sleep(ctx, 5*time.Second)
		}
	}
}

// retainedEvery is how often the active instance reads what the streams, buckets and
// store hold, for the metrics.
const retainedEvery = 15 * time.Second

// measureRetained reads what Job Center's streams and buckets and the store hold.
func (s *Service) measureRetained(ctx context.Context) {
	mctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
	defer cancel()
	streams := s.js.ListStreams(mctx)
	for info := range streams.Info() {
		if bus.OwnStream(info.Config.Name) {
			s.metrics.Stream(info.Config.Name, info.State.Msgs, info.State.Bytes)
		}
	}
	if err := streams.Err(); err != nil && ctx.Err() == nil {
		s.cfg.Log.Debug().Err(err).Msg("streams not read for the metrics")
	}
	j, err := s.store.JournalSize(mctx)
	if err != nil {
		return
	}
	total, err := s.store.StoreBytes(mctx)
	if err != nil {
		return
	}
	s.metrics.Store(j.Records, j.Bytes, total)
}

// every calls f each period until ctx ends.
func every(ctx context.Context, period time.Duration, f func()) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			f()
		}
	}
}
