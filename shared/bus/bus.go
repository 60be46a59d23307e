// Package bus connects to NATS, provisions Job Center's JetStream streams (as
// contracts.Streams defines them) and buckets, and runs consumers (consumer.go) with one
// policy for every handler. It knows no job and no payload beyond their subjects.
package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/config"
)

// URLSchemes are the schemes a NATS_URL may use.
var URLSchemes = []string{"nats", "tls", "ws", "wss"}

// Connect dials NATS and keeps reconnecting for ever: a service outlives broker outages.
func Connect(url, name string, log zerolog.Logger) (*nats.Conn, error) {
	return connect(url, name, log)
}

func connect(url, name string, log zerolog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	opts := append([]nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(2 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: our own Close
				log.Warn().Err(err).Msg("nats disconnected")
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info().Str("url", c.ConnectedUrlRedacted()).Msg("nats reconnected")
		}),
	}, extra...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats (NATS_URL): %w", err)
	}
	return nc, nil
}

// Dial connects (see Connect) and opens JetStream on the connection.
func Dial(url, name string, log zerolog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := Connect(url, name, log)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

// DialAbandonable dials as Dial does, on a connection that abandon closes at once,
// dropping whatever it has not delivered: what its client still buffers and what the
// kernel has not sent (the socket is reset, not flushed). A trigger that lost its lease
// while cut off from the broker abandons its fires so, rather than have them stored once
// the network is back, after its successor began.
func DialAbandonable(url, name string, log zerolog.Logger) (nc *nats.Conn, js jetstream.JetStream, abandon func(), err error) {
	var (
		mu   sync.Mutex
		last *net.TCPConn
	)
	dial := dialFunc(func(network, address string) (net.Conn, error) {
		c, err := (&net.Dialer{Timeout: 2 * time.Second}).Dial(network, address)
		if tc, ok := c.(*net.TCPConn); ok {
			mu.Lock()
			last = tc
			mu.Unlock()
		}
		return c, err
	})
	nc, err = connect(url, name, log, nats.SetCustomDialer(dial))
	if err != nil {
		return nil, nil, nil, err
	}
	if js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	abandon = func() {
		mu.Lock()
		if last != nil {
			_ = last.SetLinger(0) // closed with a reset: unsent bytes are discarded
		}
		mu.Unlock()
		nc.Close()
	}
	return nc, js, abandon, nil
}

type dialFunc func(network, address string) (net.Conn, error)

func (f dialFunc) Dial(network, address string) (net.Conn, error) { return f(network, address) }

// StreamsConfig sizes the streams.
type StreamsConfig struct {
	// Replicas per stream: 1 on a single server, 3 on a cluster.
	Replicas int
	// Duplicates is the window within which a repeated message id is dropped.
	Duplicates time.Duration
	// RunsMaxAge bounds how long fires and run results are kept.
	RunsMaxAge time.Duration
	// IdempotencyWindow is how long the outcome of a write sent with an Idempotency-Key
	// is kept: a repeat within it gets the first answer.
	IdempotencyWindow time.Duration
}

// Stream defaults, the same whether read from the environment or built in code.
const (
	DefaultDuplicates        = 2 * time.Minute
	DefaultRunsMaxAge        = 30 * 24 * time.Hour
	DefaultIdempotencyWindow = 24 * time.Hour
)

// WithDefaults fills what c leaves at zero with the defaults StreamsFromEnv documents.
func (c StreamsConfig) WithDefaults() StreamsConfig {
	if c.Replicas < 1 {
		c.Replicas = 1
	}
	if c.Duplicates <= 0 {
		c.Duplicates = DefaultDuplicates
	}
	if c.RunsMaxAge <= 0 {
		c.RunsMaxAge = DefaultRunsMaxAge
	}
	if c.IdempotencyWindow <= 0 {
		c.IdempotencyWindow = DefaultIdempotencyWindow
	}
	return c
}

// StreamsFromEnv reads the stream settings, which every service provisions alike.
func StreamsFromEnv(e *config.Env) StreamsConfig {
	c := StreamsConfig{
		Replicas:          e.Int("JOBCENTER_STREAM_REPLICAS", 1, 1, 5),
		Duplicates:        e.Duration("JOBCENTER_DUPLICATE_WINDOW", DefaultDuplicates, time.Second, 7*24*time.Hour),
		RunsMaxAge:        e.Duration("JOBCENTER_RUNS_MAX_AGE", DefaultRunsMaxAge, time.Minute, 100*365*24*time.Hour),
		IdempotencyWindow: e.Duration("JOBCENTER_IDEMPOTENCY_WINDOW", DefaultIdempotencyWindow, time.Minute, 365*24*time.Hour),
	}
	if err := c.Validate(); err != nil {
		e.Fail("%w", err)
	}
	return c
}

// Validate refuses what JetStream would refuse when the streams are made.
func (c StreamsConfig) Validate() error {
	if c.Duplicates > c.RunsMaxAge {
		return fmt.Errorf("JOBCENTER_DUPLICATE_WINDOW (%v) must not be longer than JOBCENTER_RUNS_MAX_AGE (%v)", c.Duplicates, c.RunsMaxAge)
	}
	// A repeat the broker drops as a duplicate is answered with the kept outcome.
	if c.IdempotencyWindow > 0 && c.IdempotencyWindow < c.Duplicates {
		return fmt.Errorf("JOBCENTER_IDEMPOTENCY_WINDOW (%v) must not be shorter than JOBCENTER_DUPLICATE_WINDOW (%v)", c.IdempotencyWindow, c.Duplicates)
	}
	return nil
}

// Provision creates or updates Job Center's streams (contracts.Streams); it is safe to
// run on every start.
func Provision(ctx context.Context, js jetstream.JetStream, c StreamsConfig) error {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return err
	}
	for _, def := range contracts.Streams {
		s := jetstream.StreamConfig{Name: def.Name, Subjects: def.Subjects, Storage: jetstream.FileStorage,
			Replicas: c.Replicas, Duplicates: c.Duplicates}
		if def.Ages {
			s.MaxAge = c.RunsMaxAge
		}
		if def.WorkQueue {
			s.Retention = jetstream.WorkQueuePolicy
		}
		if err := patiently(ctx, func() error { return ensureStream(ctx, js, s) }); err != nil {
			return fmt.Errorf("provision stream %s (is NATS_URL reachable, with JetStream on?): %w", s.Name, err)
		}
	}
	return nil
}

// ensureStream creates the stream if it is missing and updates it only if its settings
// differ: every service provisions at start, and updating a stream's config while
// another service creates a consumer on it races inside the server.
func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) error {
	st, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err = js.CreateStream(ctx, want); errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil // another service created it meanwhile
		}
		return err
	}
	if err != nil {
		return err
	}
	have := st.CachedInfo().Config
	if slices.Equal(have.Subjects, want.Subjects) && have.Storage == want.Storage && have.Replicas == want.Replicas &&
		have.Duplicates == want.Duplicates && have.MaxAge == want.MaxAge && have.Retention == want.Retention {
		return nil
	}
	_, err = js.UpdateStream(ctx, want)
	return err
}

// fetchReady waits up to wait for a message of cons, then takes those behind it that
// the stream already holds, up to most in all: a batch as large as the backlog, without
// waiting for one to fill. It returns none when wait passes with nothing.
func fetchReady(cons jetstream.Consumer, most int, wait time.Duration) ([]jetstream.Msg, error) {
	first, err := cons.Fetch(1, jetstream.FetchMaxWait(wait))
	if err != nil {
		return nil, err
	}
	msgs := collect(first, nil)
	if len(msgs) == 0 {
		// A message received is handled whatever ended the fetch after it.
		if err := first.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, err
		}
		return nil, nil
	}
	if most <= 1 {
		return msgs, nil
	}
	rest, err := cons.FetchNoWait(most - 1)
	if err != nil {
		return msgs, nil // the first is handled; the rest come with the next fetch
	}
	return collect(rest, msgs), nil
}

func collect(b jetstream.MessageBatch, msgs []jetstream.Msg) []jetstream.Msg {
	for m := range b.Messages() {
		msgs = append(msgs, m)
	}
	return msgs
}

// EnsureKeyValue opens a bucket, creating it if it is missing and updating it only if its
// lifetimes differ (see ensureStream): a bucket made by an older release takes the
// retention of this one.
func EnsureKeyValue(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := ensureBucket(ctx,
		func() (jetstream.KeyValue, error) { return js.KeyValue(ctx, cfg.Bucket) },
		func() (jetstream.KeyValue, error) { return js.CreateKeyValue(ctx, cfg) })
	if err == nil {
		err = patchStream(ctx, js, "KV_"+cfg.Bucket, func(c *jetstream.StreamConfig) {
			c.MaxAge, c.SubjectDeleteMarkerTTL = cfg.TTL, cfg.LimitMarkerTTL
			c.AllowMsgTTL = c.AllowMsgTTL || cfg.LimitMarkerTTL > 0
		})
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// OwnStream reports whether a stream is Job Center's: its three streams, and its buckets
// and object stores (named jobcenter_…).
func OwnStream(name string) bool {
	return strings.HasPrefix(name, "JOBCENTER_") || strings.HasPrefix(name, "KV_jobcenter_") || strings.HasPrefix(name, "OBJ_jobcenter_")
}

// AllowKeyTTL lets a bucket's keys carry a lifetime of their own (a message TTL), without
// the markers LimitMarkerTTL would leave when they expire: one stored message less a key.
func AllowKeyTTL(ctx context.Context, js jetstream.JetStream, bucket string) error {
	return patchStream(ctx, js, "KV_"+bucket, func(c *jetstream.StreamConfig) { c.AllowMsgTTL = true })
}

// patchStream updates a stream's config with change, only if that changes it.
func patchStream(ctx context.Context, js jetstream.JetStream, name string, change func(*jetstream.StreamConfig)) error {
	st, err := js.Stream(ctx, name)
	if err != nil {
		return err
	}
	have := st.CachedInfo().Config
	want := have
	change(&want)
	if want.MaxAge == have.MaxAge && want.SubjectDeleteMarkerTTL == have.SubjectDeleteMarkerTTL && want.AllowMsgTTL == have.AllowMsgTTL {
		return nil
	}
	_, err = js.UpdateStream(ctx, want)
	return err
}

// EnsureObjectStore opens an object store, creating it only if it is missing (see
// ensureStream).
func EnsureObjectStore(ctx context.Context, js jetstream.JetStream, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	obs, err := ensureBucket(ctx,
		func() (jetstream.ObjectStore, error) { return js.ObjectStore(ctx, cfg.Bucket) },
		func() (jetstream.ObjectStore, error) { return js.CreateObjectStore(ctx, cfg) })
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", cfg.Bucket, err)
	}
	return obs, nil
}

// ensureBucket opens a bucket, creating it if it is missing; one created meanwhile by
// another service is opened.
func ensureBucket[B any](ctx context.Context, open, create func() (B, error)) (B, error) {
	var b B
	err := patiently(ctx, func() (err error) {
		b, err = open()
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			if b, err = create(); errors.Is(err, jetstream.ErrBucketExists) {
				b, err = open()
			}
		}
		return err
	})
	return b, err
}

// provisionPatience is how long a service keeps asking for its streams and buckets at
// start: a cluster still electing its JetStream leaders (every node just started), or
// busy creating replicated streams for several services at once, answers late.
const provisionPatience = time.Minute

// patiently runs op again after a timeout or a missing JetStream, for provisionPatience;
// any other error ends it at once.
func patiently(ctx context.Context, op func() error) error {
	deadline := time.Now().Add(provisionPatience)
	wait := 250 * time.Millisecond
	for {
		err := op()
		if err == nil || !transient(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func transient(err error) bool {
	for _, t := range []error{context.DeadlineExceeded, nats.ErrTimeout, nats.ErrNoResponders, nats.ErrDisconnected, jetstream.ErrJetStreamNotEnabled} {
		if errors.Is(err, t) {
			return true
		}
	}
	// A cluster still forming: no meta leader yet (10008), or too few peers to place
	// replicas on (10005, 10023).
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == 10008 || apiErr.ErrorCode == 10005 || apiErr.ErrorCode == 10023)
}

// FollowBucket hands each entry of a bucket, then each one written, to each (deletes and
// purges included, for it to tell apart), until ctx ends; caughtUp (when not nil) is
// called once those stored before the first watch began have been handed over. A watch
// that fails is made again after a pause that doubles from a second up to five (not
// sooner: on a clustered broker just started, a watch made again at once adds to what
// holds the others' consumers back), and hands everything over again: each must take an
// entry it has seen before.
func FollowBucket(ctx context.Context, kv jetstream.KeyValue, each func(jetstream.KeyValueEntry), caughtUp func(), log func(error)) {
	pause := time.Second
	for ctx.Err() == nil {
		if err := followBucket(ctx, kv, each, &caughtUp); err != nil {
			log(fmt.Errorf("follow bucket %s: %w", kv.Bucket(), err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

func followBucket(ctx context.Context, kv jetstream.KeyValue, each func(jetstream.KeyValueEntry), caughtUp *func()) error {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("the watch ended")
			}
			if e == nil { // the end of what was stored before
				if *caughtUp != nil {
					(*caughtUp)()
					*caughtUp = nil
				}
				continue
			}
			each(e)
		}
	}
}

// Out is a message to store: its subject, its body and its id, by which a message
// published twice is stored once.
type Out struct {
	Subject, ID string
	Data        []byte
}

// PublishAll stores msgs, all at once, and waits for every acknowledgement (up to 10 s
// each); the acks are in msgs' order. An error names the message it is about.
func PublishAll(ctx context.Context, js jetstream.JetStream, msgs []Out) ([]*jetstream.PubAck, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		f, err := js.PublishAsync(m.Subject, m.Data, jetstream.WithMsgID(m.ID))
		if err != nil {
			return nil, fmt.Errorf("publish %s: %w", m.ID, err)
		}
		futures = append(futures, f)
	}
	acks := make([]*jetstream.PubAck, len(futures))
	for i, f := range futures {
		select {
		case acks[i] = <-f.Ok():
		case err := <-f.Err():
			return nil, fmt.Errorf("publish %s: %w", msgs[i].ID, err)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
			return nil, fmt.Errorf("publish %s: no answer from the broker in 10s", msgs[i].ID)
		}
	}
	return acks, nil
}
