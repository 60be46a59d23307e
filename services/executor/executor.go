// Package executor is the executor service: any number of instances share the fires as a
// work queue, run each job's target and report the result. main only wires it. It holds
// the service's settings and wiring; running a fire is the runner's.
package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	execmetrics "github.com/jobcenter/jobcenter/services/executor/internal/metrics"
	"github.com/jobcenter/jobcenter/services/executor/internal/runner"
	"github.com/jobcenter/jobcenter/services/executor/internal/sdk"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/config"
	"github.com/jobcenter/jobcenter/shared/egress"
	"github.com/jobcenter/jobcenter/shared/jobcode"
	"github.com/jobcenter/jobcenter/shared/kills"
	"github.com/jobcenter/jobcenter/shared/metrics"
	"github.com/jobcenter/jobcenter/shared/workers"
)

// Consumer is the durable consumer every executor instance shares.
const Consumer = "executor"

// Key-value buckets of the executors.
const (
	ClaimsBucket = "jobcenter_claims"
	SlotsBucket  = "jobcenter_slots"
)

// Config configures the executor service.
type Config struct {
	NATSURL string
	Streams bus.StreamsConfig
	// APIURL is where the sdk_* calls of job code go, with APIKey (a service key, valid
	// for every tenant) when the api requires keys.
	APIURL string
	APIKey string
	// Timeout bounds a run when its fire names none.
	Timeout time.Duration
	// Concurrency is how many runs one instance makes at once.
	Concurrency int
	// MaxSteps bounds the Starlark steps of each attempt of a code run.
	MaxSteps int
	// RedeliverAfter is how long a fire whose executor went silent (killed, cut off)
	// waits before another instance takes it; a live run keeps its fire with a keepalive.
	RedeliverAfter  time.Duration
	FlowURL, BizURL string
	// HTTPReach is how far HTTP jobs' calls may go (JOBCENTER_HTTP_JOBS_REACH).
	HTTPReach egress.Reach
	// WorkerWait is how long past its instant a fire of a worker group waits for a
	// worker when none is online and its job has no misfire grace.
	WorkerWait time.Duration
	// Registry receives the executor's metrics (nil: a registry of its own, with the Go
	// and process collectors); Metrics serves it.
	Registry *prometheus.Registry
	Log      zerolog.Logger
}

// The executor's numeric settings, for the environment and for configs built in code.
var (
	Timeout        = config.Span[time.Duration]{Key: "JOBCENTER_EXEC_TIMEOUT", Default: 30 * time.Second, Min: 10 * time.Millisecond, Max: 24 * time.Hour}
	Concurrency    = config.Span[int]{Key: "JOBCENTER_EXEC_CONCURRENCY", Default: 16, Min: 1, Max: 4096}
	MaxSteps       = config.Span[int]{Key: "JOBCENTER_EXEC_MAX_STEPS", Default: 10_000_000, Min: 1000, Max: 10_000_000_000}
	RedeliverAfter = config.Span[time.Duration]{Key: "JOBCENTER_EXEC_REDELIVER_AFTER", Default: 30 * time.Second, Min: time.Second, Max: time.Hour}
	// WorkerWait stays well within the runs stream's age, which a waiting fire must not outlive.
	WorkerWait = config.Span[time.Duration]{Key: "JOBCENTER_WORKER_WAIT", Default: 10 * time.Minute, Min: time.Second, Max: 24 * time.Hour}
)

// WaitingFires is how many fires of worker groups may wait for a worker at once, in the
// executors' consumer, beside those being run: past it, other fires wait too.
const WaitingFires = 20_000

// ConfigFromEnv reads the executor's settings.
func ConfigFromEnv(e *config.Env, streams bus.StreamsConfig) Config {
	return Config{
		NATSURL:        e.URLs("NATS_URL", "nats://127.0.0.1:4222", bus.URLSchemes...),
		Streams:        streams,
		APIURL:         e.URL("JOBCENTER_API_URL", "http://127.0.0.1:8001", "http", "https"),
		APIKey:         e.Str("JOBCENTER_API_KEY", ""),
		Timeout:        Timeout.From(e),
		Concurrency:    Concurrency.From(e),
		MaxSteps:       MaxSteps.From(e),
		RedeliverAfter: RedeliverAfter.From(e),
		FlowURL:        e.URL("JOBCENTER_FLOW_URL", "", "http", "https"),
		BizURL:         e.URL("JOBCENTER_BIZ_URL", "", "http", "https"),
		HTTPReach:      egress.FromEnv(e),
		WorkerWait:     WorkerWait.From(e),
	}
}

// Service is a running executor.
type Service struct {
	cfg     Config
	nc      *nats.Conn
	js      jetstream.JetStream
	runner  *runner.Runner
	kills   jetstream.KeyValue
	metrics *execmetrics.Executor
	ready   chan struct{}
}

// WithDefaults fills what c leaves unset with the defaults ConfigFromEnv documents.
func (c Config) WithDefaults() Config {
	c.Streams = c.Streams.WithDefaults()
	c.Timeout, c.Concurrency, c.RedeliverAfter = Timeout.Or(c.Timeout), Concurrency.Or(c.Concurrency), RedeliverAfter.Or(c.RedeliverAfter)
	c.MaxSteps = MaxSteps.Or(c.MaxSteps)
	c.HTTPReach = c.HTTPReach.Or()
	c.WorkerWait = WorkerWait.Or(c.WorkerWait)
	return c
}

// Validate refuses what ConfigFromEnv would refuse.
func (c Config) Validate() error {
	return errors.Join(c.Streams.Validate(), Timeout.Check(c.Timeout), Concurrency.Check(c.Concurrency), RedeliverAfter.Check(c.RedeliverAfter),
		MaxSteps.Check(c.MaxSteps), c.HTTPReach.Check(), WorkerWait.Check(c.WorkerWait))
}

// New connects to the broker. What cfg leaves unset takes its default.
func New(cfg Config) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("executor config: %w", err)
	}
	if cfg.Registry == nil {
		cfg.Registry = metrics.NewRegistry()
	}
	m, err := execmetrics.New(cfg.Registry, metrics.Consumer{Stream: contracts.StreamRuns, Name: Consumer})
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	nc, js, err := bus.Dial(cfg.NATSURL, "jobcenter-executor", cfg.Log)
	if err != nil {
		return nil, err
	}
	m.Consumers.Watch(js)
	hc := &http.Client{Timeout: cfg.Timeout + 5*time.Second}
	r := &runner.Runner{
		// A dead run's fire comes back RedeliverAfter after its last keepalive; its claim is
		// stale well before that, while a live run's is never older than KeepAlive.
		JS: js, NC: nc, Timeout: cfg.Timeout, MaxSteps: uint64(cfg.MaxSteps), KeepAlive: cfg.RedeliverAfter / 4, StaleAfter: cfg.RedeliverAfter / 2, DuplicateWindow: cfg.Streams.Duplicates, FlowURL: cfg.FlowURL, BizURL: cfg.BizURL, HTTP: hc,
		Web:     egress.Client(cfg.HTTPReach, 10*time.Second, egress.Setting),
		Workers: workers.NewRegistry(nil), WorkerWait: cfg.WorkerWait,
		Metrics: m, Log: cfg.Log.With().Str("part", "runner").Logger(),
		SDK: func(tenant string) jobcode.SDK {
			return sdk.Client{BaseURL: cfg.APIURL, Key: cfg.APIKey, Project: tenant, User: "job-center", HTTP: hc}
		},
	}
	return &Service{cfg: cfg, nc: nc, js: js, runner: r, metrics: m, ready: make(chan struct{})}, nil
}

// Metrics serves the registry the executor's metrics are in, for GET /metrics.
func (s *Service) Metrics() http.Handler { return metrics.Handler(s.cfg.Registry) }

// buckets provisions the claims and slots buckets and hands them to the runner.
func (s *Service) buckets(ctx context.Context) error {
	claims, err := bus.EnsureKeyValue(ctx, s.js, jetstream.KeyValueConfig{
		Bucket: ClaimsBucket, Storage: jetstream.FileStorage, Replicas: s.cfg.Streams.Replicas,
		// A claim is needed while its fire can be delivered, and no fire outlives its
		// stream's age. Only the fires of catch-up chains are claimed for their whole run
		// (each waits for the claim of the one before it to say done); a run longer than
		// a keepalive rewrites its claim with a TTL of its own.
		TTL: s.cfg.Streams.RunsMaxAge,
	})
	if err == nil {
		err = bus.AllowKeyTTL(ctx, s.js, ClaimsBucket)
	}
	if err != nil {
		return fmt.Errorf("claims bucket: %w", err)
	}
	slots, err := bus.EnsureKeyValue(ctx, s.js, jetstream.KeyValueConfig{
		Bucket: SlotsBucket, Storage: jetstream.FileStorage, Replicas: s.cfg.Streams.Replicas,
		// Allows a TTL per key: a slot held by a dead executor frees itself.
		LimitMarkerTTL: time.Second,
	})
	if err != nil {
		return fmt.Errorf("slots bucket: %w", err)
	}
	runs, err := s.js.Stream(ctx, contracts.StreamRuns)
	if err != nil {
		return fmt.Errorf("runs stream: %w", err)
	}
	// The window the stream has, which the service that provisioned it last set.
	s.runner.DuplicateWindow = runs.CachedInfo().Config.Duplicates
	s.runner.Claims, s.runner.Slots, s.runner.Runs = claims, slots, runs
	kv, err := kills.Open(ctx, s.js, s.cfg.Streams.RunsMaxAge, s.cfg.Streams.Replicas)
	if err != nil {
		return fmt.Errorf("kills bucket: %w", err)
	}
	s.kills = kv
	s.runner.Kills = kills.NewSet(s.cfg.Streams.RunsMaxAge, kv)
	asker := kills.Asker{NC: s.nc, KV: kv}
	s.runner.Cancel = func(ctx context.Context, k contracts.Kill) error {
		_, _, err := asker.Ask(ctx, k, 0)
		return err
	}
	return nil
}

// followKills keeps the runner's kills: those in the bucket, and each kill request,
// which the executor running the run answers once its end is stored. Until the bucket's
// kills are read, the runner asks the bucket of each run it begins (kills.Set.Known), so
// fires are taken at once and none killed before is run.
func (s *Service) followKills(ctx context.Context) (*nats.Subscription, error) {
	sub, err := s.nc.Subscribe(contracts.KillSubjects, func(m *nats.Msg) {
		var k contracts.Kill
		tok := strings.Split(m.Subject, ".")
		// The subject names the tenant and the job whose run is killed: a kill reaches no
		// other's run, whatever its body says.
		if json.Unmarshal(m.Data, &k) != nil || !kills.Valid(k) || len(tok) != 4 ||
			tok[2] != contracts.Token(k.Tenant) || tok[3] != contracts.Token(k.JobID) {
			s.cfg.Log.Warn().Str("subject", m.Subject).Msg("a kill request that names no run of its subject's job; ignored")
			return
		}
		ended, held := s.runner.Kill(k)
		if !held || m.Reply == "" {
			return
		}
		// Answered even while the executor stops: its runs under way end first.
		go func() {
			if ev, ok := ended.Ended(killAnswerWithin); ok {
				data, _ := json.Marshal(contracts.KillReply{V: contracts.Version, FireID: ev.FireID, Status: ev.Status, Killed: ev.Killed != nil, EndedAt: *ev.EndedAt})
				_ = m.Respond(data)
			}
		}()
	})
	if err != nil {
		return nil, fmt.Errorf("follow kill requests: %w", err)
	}
	ready := make(chan struct{})
	// A kill read from the bucket is a kill as much as one asked: it ends the run if it
	// goes on here (its request may not have reached this executor).
	go kills.Follow(ctx, s.kills, ready, func(k contracts.Kill) { s.runner.Kill(k) }, func(err error) {
		s.cfg.Log.Warn().Err(err).Msg("kills not followed for now; following again shortly")
	})
	go func() {
		select {
		case <-ready:
			s.runner.Kills.Loaded()
		case <-ctx.Done():
		}
	}()
	return sub, nil
}

// killAnswerWithin bounds how long a kill request waits for its run's end: past it the
// api has stopped waiting (it waits KillWait).
const killAnswerWithin = time.Minute

// sayWhatShutdownWaitsFor logs, once ctx ends and every 5 s until stopped is closed, the
// runs a shutdown waits for and how long at most: a stop that takes a while says why.
func (s *Service) sayWhatShutdownWaitsFor(ctx context.Context, stopped <-chan struct{}) {
	select {
	case <-stopped:
		return
	case <-ctx.Done():
	}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		if n, until := s.runner.UnderWay(); n > 0 {
			s.cfg.Log.Info().Int("runs", n).Str("at_most", time.Until(until).Round(time.Second).String()).
				Msg("stopping: waiting for the runs under way to end, each within its time limit")
		}
		select {
		case <-stopped:
			return
		case <-tick.C:
		}
	}
}

// Ready is closed once the executor takes fires.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Check reports whether the broker answers.
func (s *Service) Check(context.Context) error {
	if !s.nc.IsConnected() {
		return errors.New("nats: not connected")
	}
	return nil
}

// Run takes fires until ctx ends, then lets the runs under way finish (each within its
// timeout) before returning.
func (s *Service) Run(ctx context.Context) error {
	defer s.nc.Close()
	if err := bus.Provision(ctx, s.js, s.cfg.Streams); err != nil {
		return err
	}
	if err := s.buckets(ctx); err != nil {
		return err
	}
	killSub, err := s.followKills(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = killSub.Unsubscribe() }()
	beats, err := workers.Follow(s.nc, s.runner.Workers)
	if err != nil {
		return fmt.Errorf("follow the workers' heartbeats: %w", err)
	}
	defer func() { _ = beats.Unsubscribe() }()
	cons, err := s.js.CreateOrUpdateConsumer(ctx, contracts.StreamRuns, jetstream.ConsumerConfig{
		Durable: Consumer, FilterSubject: contracts.FireSubjects,
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   s.cfg.RedeliverAfter,
		// Fires waiting for a worker stay pending: they may not hold up the others.
		MaxAckPending: s.cfg.Concurrency*64 + WaitingFires,
	})
	if err != nil {
		return fmt.Errorf("executor consumer: %w", err)
	}
	close(s.ready)
	s.cfg.Log.Info().Int("concurrency", s.cfg.Concurrency).Msg("executor running")
	stopped := make(chan struct{})
	go s.sayWhatShutdownWaitsFor(ctx, stopped)
	c := bus.Consumer{Name: Consumer, NC: s.nc, Log: s.cfg.Log, Observe: s.metrics.Consumers.Settled}
	err = c.Each(ctx, cons, s.cfg.Concurrency, s.runner.Handle)
	close(stopped)
	if err != nil {
		return err
	}
	s.cfg.Log.Info().Msg("executor stopped")
	return nil
}
