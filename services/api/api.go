// Package api is the api service: the HTTP face of Job Center. Writes become commands in
// JetStream; jobs are read from its job view, kept by the lifecycle events (view.go), and
// journal pages from the MongoDB projections. main only wires it. It holds the
// service's settings and wiring; it must not decide anything a request does (httpapi,
// commander) or a rule of the domain's.
package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api/internal/access"
	"github.com/jobcenter/jobcenter/services/api/internal/commander"
	"github.com/jobcenter/jobcenter/services/api/internal/httpapi"
	"github.com/jobcenter/jobcenter/services/api/internal/jobview"
	apimetrics "github.com/jobcenter/jobcenter/services/api/internal/metrics"
	"github.com/jobcenter/jobcenter/shared/alertkv"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/calkv"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/config"
	"github.com/jobcenter/jobcenter/shared/egress"
	"github.com/jobcenter/jobcenter/shared/kept"
	"github.com/jobcenter/jobcenter/shared/kills"
	"github.com/jobcenter/jobcenter/shared/metrics"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/runends"
	"github.com/jobcenter/jobcenter/shared/wire"
	"github.com/jobcenter/jobcenter/shared/workers"
)

// Config configures the api service.
type Config struct {
	HTTPAddr string
	NATSURL  string
	MongoURI string
	MongoDB  string
	Streams  bus.StreamsConfig
	Loc      *time.Location
	// ApplyWait is how long a write waits for the trigger before answering 202.
	ApplyWait time.Duration
	// BrokerTimeout and StoreTimeout bound each call, so an outage is a quick 503.
	BrokerTimeout time.Duration
	StoreTimeout  time.Duration
	BodyLimit     int64
	// Keys are `tenant=sha256hex` lines (JOBCENTER_API_KEYS and the file named by
	// JOBCENTER_API_KEYS_FILE); none: the api is open.
	Keys string
	// ServiceKey, if set, is one more key, in clear, valid for every tenant: the
	// executors' key for job code's sdk_* calls.
	ServiceKey string
	// RateLimit is the requests a second each tenant may make (0: no limit).
	RateLimit int
	// EventStreams bounds each tenant's open GET /api/v1/events streams.
	EventStreams int
	// CacheJobs is how many jobs the api keeps in memory to answer reads (0: none).
	CacheJobs int
	// Journal is the journal's retention: a page shows no more of a job's newest runs
	// than it keeps.
	Journal mongostore.JournalRetention
	// AlertsAllowPrivate lets alert webhooks name loopback and private hosts
	// (JOBCENTER_ALERTS_ALLOW_PRIVATE; the trigger checks each address it dials too).
	AlertsAllowPrivate bool
	// HTTPReach is how far HTTP jobs' calls may go (JOBCENTER_HTTP_JOBS_REACH; the
	// executors check each address they dial too).
	HTTPReach egress.Reach
	// AlertsKeep is how long an alert's delivery outcome is kept (alertkv.Keep; the
	// trigger, which writes them, reads the same setting).
	AlertsKeep time.Duration
	// Registry receives the api's metrics and is served on GET /metrics (nil: a registry
	// of its own, with the Go and process collectors). The all-in-one program gives its
	// three services one registry, so the api's /metrics shows them all.
	Registry *prometheus.Registry
	Clock    clock.Clock
	Log      zerolog.Logger
}

// The api's numeric settings, for the environment and for configs built in code.
var (
	ApplyWait     = config.Span[time.Duration]{Key: "JOBCENTER_APPLY_WAIT", Default: 2 * time.Second, Min: 0, Max: time.Minute}
	BrokerTimeout = config.Span[time.Duration]{Key: "JOBCENTER_BROKER_TIMEOUT", Default: time.Second, Min: 10 * time.Millisecond, Max: time.Minute}
	StoreTimeout  = config.Span[time.Duration]{Key: "JOBCENTER_STORE_TIMEOUT", Default: 5 * time.Second, Min: 10 * time.Millisecond, Max: 5 * time.Minute}
	BodyLimit     = config.Span[int]{Key: "JOBCENTER_BODY_LIMIT", Default: 1 << 20, Min: 1024, Max: 64 << 20}
	RateLimit     = config.Span[int]{Key: "JOBCENTER_RATE_LIMIT", Default: 1000, Min: 0, Max: 1_000_000}
	EventStreams  = config.Span[int]{Key: "JOBCENTER_EVENT_STREAMS", Default: 32, Min: 1, Max: 100_000}
	CacheJobs     = config.Span[int]{Key: "JOBCENTER_API_CACHE_JOBS", Default: 100_000, Min: 0, Max: 10_000_000}
)

// ConfigFromEnv reads the api's settings.
func ConfigFromEnv(e *config.Env, streams bus.StreamsConfig) Config {
	return Config{
		HTTPAddr:      e.Addr("JOBCENTER_HTTP_ADDR", ":8001"),
		NATSURL:       e.URLs("NATS_URL", "nats://127.0.0.1:4222", bus.URLSchemes...),
		MongoURI:      e.URI("MONGO_URI", "mongodb://127.0.0.1:27017", mongostore.URISchemes...),
		MongoDB:       e.Str("JOBCENTER_MONGO_DB", "jobcenter"),
		Streams:       streams,
		Loc:           e.Location("JOBCENTER_TZ", "Asia/Shanghai"),
		ApplyWait:     ApplyWait.From(e),
		BrokerTimeout: BrokerTimeout.From(e),
		StoreTimeout:  StoreTimeout.From(e),
		BodyLimit:     int64(BodyLimit.From(e)),
		Keys:          e.Str("JOBCENTER_API_KEYS", "") + "\n" + e.File("JOBCENTER_API_KEYS_FILE"),
		RateLimit:     RateLimit.From(e),
		EventStreams:  EventStreams.From(e),
		CacheJobs:     CacheJobs.From(e),
		Journal:       mongostore.JournalRetentionFromEnv(e),
		// The trigger reads the same setting for the addresses it dials.
		AlertsAllowPrivate: e.Bool("JOBCENTER_ALERTS_ALLOW_PRIVATE", false),
		AlertsKeep:         alertkv.Keep.From(e),
		HTTPReach:          egress.FromEnv(e),
	}
}

// WithDefaults fills what c leaves unset with the defaults ConfigFromEnv documents; the
// settings whose zero means something (no wait, no rate limit, no cache) stay zero.
func (c Config) WithDefaults() Config {
	c.Streams = c.Streams.WithDefaults()
	c.BrokerTimeout, c.StoreTimeout = BrokerTimeout.Or(c.BrokerTimeout), StoreTimeout.Or(c.StoreTimeout)
	c.BodyLimit, c.EventStreams = int64(BodyLimit.Or(int(c.BodyLimit))), EventStreams.Or(c.EventStreams)
	if c.MongoDB == "" {
		c.MongoDB = "jobcenter"
	}
	if c.Loc == nil {
		c.Loc, _ = time.LoadLocation("Asia/Shanghai")
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	c.Journal = c.Journal.WithDefaults()
	c.AlertsKeep = alertkv.Keep.Or(c.AlertsKeep)
	c.HTTPReach = c.HTTPReach.Or()
	return c
}

// Validate refuses what ConfigFromEnv would refuse.
func (c Config) Validate() error {
	return errors.Join(c.Streams.Validate(), ApplyWait.Check(c.ApplyWait), BrokerTimeout.Check(c.BrokerTimeout),
		StoreTimeout.Check(c.StoreTimeout), BodyLimit.Check(int(c.BodyLimit)), RateLimit.Check(c.RateLimit),
		EventStreams.Check(c.EventStreams), CacheJobs.Check(c.CacheJobs), c.Journal.Validate(), alertkv.Keep.Check(c.AlertsKeep), c.HTTPReach.Check())
}

// MintKey makes a new API key for tenant and the `tenant=sha256hex` line that
// configures it: the key is shown once, only its digest is stored.
func MintKey(tenant string) (key, line string) { return access.Mint(tenant) }

// KeysConfigured reports whether the settings name any key (the api is then closed).
func (c Config) KeysConfigured() bool {
	k, err := access.ParseKeys(c.Keys)
	return err == nil && !k.Empty()
}

// KeyChecker reports whether key is one of tenant's API keys (or a key for every
// tenant), by the keys c configures: what the embedded NATS server checks a tenant's
// password against when its authentication is on.
func (c Config) KeyChecker() (func(tenant, key string) bool, error) {
	keys, err := access.ParseKeys(c.Keys)
	if err != nil {
		return nil, err
	}
	return func(tenant, key string) bool {
		t, ok := keys.Tenant(key)
		return ok && access.Allows(t, tenant)
	}, nil
}

// Service is a running api.
type Service struct {
	cfg   Config
	nc    *nats.Conn
	js    jetstream.JetStream
	store *mongostore.Store
	cmd   *commander.Commander
	srv   *http.Server
	ln    net.Listener
	// stopping is closed when the HTTP server shuts down, ending the event streams.
	stopping chan struct{}
	// view answers reads of jobs before the store; nil when CacheJobs is 0.
	view *jobview.View
	// cals follows the calendars' bucket, calKV, for next fire times.
	calKV jetstream.KeyValue
	cals  *calkv.Cache
	// workers follows the workers' heartbeats, for GET /api/v1/workers.
	workers *workers.Registry
}

// New connects to the broker and the store and binds the HTTP address. What cfg leaves
// unset takes its default.
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("api config: %w", err)
	}
	if cfg.Registry == nil {
		cfg.Registry = metrics.NewRegistry()
	}
	m, err := apimetrics.New(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	nc, js, err := bus.Dial(cfg.NATSURL, "jobcenter-api", cfg.Log)
	if err != nil {
		return nil, err
	}
	store, err := mongostore.Open(ctx, cfg.MongoURI, cfg.MongoDB, cfg.StoreTimeout)
	if err != nil {
		nc.Close()
		return nil, err
	}
	keys, err := access.ParseKeys(cfg.Keys)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("JOBCENTER_API_KEYS: %w", err)
	}
	if keys.Empty() {
		cfg.Log.Warn().Msg("no API keys configured (JOBCENTER_API_KEYS): the api is OPEN to anyone who can reach it; fine for local use only")
	} else if cfg.ServiceKey != "" {
		keys.Add(access.AnyTenant, cfg.ServiceKey)
	}
	outcomes, err := kept.Open(ctx, js, cfg.Streams.IdempotencyWindow, cfg.Streams.Replicas)
	if err != nil {
		nc.Close()
		return nil, err
	}
	killKV, err := kills.Open(ctx, js, cfg.Streams.RunsMaxAge, cfg.Streams.Replicas)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("kills bucket: %w", err)
	}
	ruleKV, err := alertkv.OpenRules(ctx, js, cfg.Streams.Replicas)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("alert rules bucket: %w", err)
	}
	deliveries, err := alertkv.OpenDeliveries(ctx, js, cfg.AlertsKeep, cfg.Streams.Replicas)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("alert deliveries bucket: %w", err)
	}
	calKV, err := calkv.Open(ctx, js, cfg.Streams.Replicas)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("calendars bucket: %w", err)
	}
	ends, err := runends.Open(ctx, js, cfg.Streams.Replicas)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("run ends bucket: %w", err)
	}
	cmd, err := commander.New(nc, js, outcomes, cfg.ApplyWait, cfg.BrokerTimeout, m)
	if err != nil {
		nc.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("JOBCENTER_HTTP_ADDR=%q: listen: %w", cfg.HTTPAddr, err)
	}
	s := &Service{cfg: cfg, nc: nc, js: js, store: store, cmd: cmd, ln: httpapi.JSONRawErrors(ln), stopping: make(chan struct{}), workers: workers.NewRegistry(nil),
		calKV: calKV, cals: calkv.NewCache(cfg.Loc)}
	if cfg.CacheJobs > 0 {
		s.view = jobview.New(cfg.CacheJobs)
		// A read after a write answered 200 shows it, before its event comes.
		cmd.OnApplied(func(p contracts.Job) { s.view.Learn(wire.JobFromPayload(p)) })
	}
	h := httpapi.New(httpapi.Deps{
		Store: store, Commander: cmd, Jobs: s.view, Loc: cfg.Loc, Clock: cfg.Clock, Ready: s.ready,
		BodyLimit: cfg.BodyLimit, StoreTimeout: cfg.StoreTimeout, Log: cfg.Log,
		Keys: keys, Limiter: access.NewLimiter(cfg.RateLimit), History: s.history,
		Metrics: m, MetricsHandler: metrics.Handler(cfg.Registry),
		Events: s.subscribe, Stopping: s.stopping, MaxStreams: cfg.EventStreams,
		JournalKeep: cfg.Journal.MaxPerJob, Killer: kills.Asker{NC: nc, KV: killKV},
		Alerts: &httpapi.Alerting{Rules: alertkv.Rules{KV: ruleKV}, Deliveries: deliveries, AllowPrivate: cfg.AlertsAllowPrivate,
			Raise: func(ctx context.Context, a contracts.Alert) error {
				return alertkv.Publish(ctx, js, []contracts.Alert{a}, cfg.Log)
			}},
		Calendars: &httpapi.Calendaring{Store: calkv.Calendars{KV: calKV}, Cache: s.cals},
		RunEnds:   ends,
		HTTPReach: cfg.HTTPReach,
		Workers:   s.workers,
	})
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.srv.RegisterOnShutdown(func() { close(s.stopping) })
	return s, nil
}

// Addr is the bound HTTP address.
func (s *Service) Addr() string { return s.ln.Addr().String() }

// Run serves HTTP until ctx ends, then drains requests under way.
func (s *Service) Run(ctx context.Context) error {
	defer s.nc.Close()
	defer func() { _ = s.store.Close(context.Background()) }()
	defer s.cmd.Close()
	if err := bus.Provision(ctx, s.js, s.cfg.Streams); err != nil {
		return err
	}
	viewCtx, stopView := context.WithCancel(ctx)
	viewDone := make(chan struct{})
	go func() {
		defer close(viewDone)
		if s.view != nil {
			s.keepView(viewCtx, s.view)
		}
	}()
	defer func() { stopView(); <-viewDone }()
	beats, err := workers.Follow(s.nc, s.workers)
	if err != nil {
		return fmt.Errorf("follow the workers' heartbeats: %w", err)
	}
	defer func() { _ = beats.Unsubscribe() }()
	calsDone := make(chan struct{})
	go func() {
		defer close(calsDone)
		s.cals.Follow(viewCtx, s.calKV, nil, func(err error) { s.cfg.Log.Warn().Err(err).Msg("calendars not followed; tries again") })
	}()
	defer func() { stopView(); <-calsDone }()
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	s.cfg.Log.Info().Str("addr", s.Addr()).Msg("api serving")
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	s.cfg.Log.Info().Msg("api stopped")
	return nil
}

// history reads a job's lifecycle events from JOBCENTER_EVENTS, by the job's own
// subjects: the stream's subject index finds them without reading other jobs' events.
func (s *Service) history(ctx context.Context, tenant, jobID string) ([]contracts.LifecycleEvent, error) {
	cons, err := s.js.OrderedConsumer(ctx, contracts.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{contracts.EventSubject(tenant, jobID, "*")},
	})
	if err != nil {
		return nil, err
	}
	events := []contracts.LifecycleEvent{}
	for {
		batch, err := cons.FetchNoWait(256)
		if err != nil {
			return nil, err
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			if e, _, err := wire.EventJob(msg.Subject(), msg.Data()); err == nil {
				events = append(events, e)
			}
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if n == 0 {
			return events, nil
		}
	}
}

// ready: the broker and the store answer, and a trigger and an executor are pulling
// from their consumers.
func (s *Service) ready(ctx context.Context) error {
	if !s.nc.IsConnected() {
		return errors.New("nats: not connected")
	}
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, c := range []struct{ stream, name string }{
		{contracts.StreamCommands, "trigger"}, {contracts.StreamRuns, "executor"},
	} {
		cons, err := s.js.Consumer(ctx, c.stream, c.name)
		if err != nil {
			return fmt.Errorf("%s service: %w", c.name, err)
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return fmt.Errorf("%s service: %w", c.name, err)
		}
		if info.NumWaiting == 0 {
			return fmt.Errorf("%s service: no instance is pulling", c.name)
		}
	}
	return nil
}
