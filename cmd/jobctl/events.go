package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

func eventsTailCommand() *command {
	return &command{
		name: "events tail", summary: "follow a tenant's events live on NATS",
		nats: true,
		help: `Follows the project's events live, as they happen, from NATS:
  lifecycle  a job created, updated, started, stopped, deleted or finished
  fire       a job fell due (or was exec'd): its run is handed to the executors
  run        a run started (running) or ended (success, failure)
  log        lines a run writes with log_print, as it writes them (live only:
             never replayed by --since or --all)
Only the project's own events: another tenant's never show. Each line is one
event (--json: one JSON object a line, with the contracts payload); a line on
stderr says when following has begun. By default only new events; --since
replays the recent past first, --all everything kept. Runs until Ctrl-C, or
until --count events have been printed.

It reads NATS directly (--nats or NATS_URL; make run serves nats://127.0.0.1:4222).
With an API key (--api-key or JOBCENTER_API_KEY) it connects as the project's NATS
user — the project as user, the key as password — as the project's workers do;
credentials in the --nats URL (nats://USER:PASSWORD@HOST:4222) are used instead.
Where JetStream is open (NATS without authentication, or an operator's user) it
reads the streams with ordered consumers, which need no set-up and leave nothing
behind. A project's user on a NATS that walls projects in
(JOBCENTER_NATS_AUTH=true) may not use JetStream's API: then it follows the same
subjects live on core NATS, with the same output, but cannot replay: --since and
--all fail (exit 4). Replay needs a user without the walls (an
operator's); the past is in jobctl journal; for programs, the api's event stream
(GET /api/v1/events) is live too. If NATS refuses the key, the error says so.
--job needs the API too, to resolve the job's id.`,
		example: `  jobctl events tail
  jobctl events tail --job d6f4a7fa --since 10m
  jobctl events tail --kinds fire,run --json | jq -c 'select(.type == "failure") | .run'
  jobctl events tail --count 1 --kinds run     # wait for the next run event, then exit
  JOBCENTER_API_KEY=jc_… jobctl events tail --nats nats://center:4222   # as the project's NATS user`,
		setup: func(fs *flag.FlagSet) runFunc {
			job := fs.String("job", "", "only this job's events (either of its ids)")
			since := fs.Duration("since", 0, "first replay the events of this long ago, e.g. 10m")
			all := fs.Bool("all", false, "first replay every event still kept")
			count := fs.Int("count", 0, "exit after this many events (0: follow until Ctrl-C)")
			kinds := fs.String("kinds", "lifecycle,fire,run,log", "which kinds, comma-separated")
			return func(ctx context.Context, a *app, args []string) error {
				if err := a.needProject(); err != nil {
					return err
				}
				if *since < 0 || (*since > 0 && *all) {
					return usagef("give --since a positive duration, or --all, not both")
				}
				want := map[string]bool{}
				for _, k := range strings.Split(*kinds, ",") {
					k = strings.TrimSpace(k)
					if !slices.Contains([]string{jobcenter.KindLifecycle, jobcenter.KindFire, jobcenter.KindRun, jobcenter.KindLog}, k) {
						return usagef("--kinds: unknown kind %q: want lifecycle, fire, run or log", k)
					}
					want[k] = true
				}
				jobID := ""
				if *job != "" {
					j, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) (*jobcenter.Job, error) {
						return c.GetJob(ctx, *job)
					})
					if err != nil {
						return err
					}
					jobID = j.ID
				}
				return a.tail(ctx, tailOptions{jobID: jobID, since: *since, all: *all, count: *count, kinds: want})
			}
		},
	}
}

// busMsg is a message followed, from a stream or from core NATS.
type busMsg struct {
	subject string
	data    []byte
}

type tailOptions struct {
	jobID string
	since time.Duration
	all   bool
	count int
	kinds map[string]bool
}

// natsError is a failure to reach or use NATS: exit code 4.
type natsError struct{ err error }

func (e natsError) Error() string { return e.err.Error() }
func (e natsError) Unwrap() error { return e.err }

// tail follows the tenant's events until ctx ends or enough events are printed: from
// its streams, with one ordered consumer each, where JetStream is open to it; else
// live, on core NATS.
func (a *app) tail(ctx context.Context, o tailOptions) error {
	where := redactURLs(a.natsURL)
	w := &walls{seen: make(chan struct{})}
	closed := make(chan struct{})
	opts := []nats.Option{nats.Name("jobctl events tail"), nats.Timeout(5 * time.Second), nats.MaxReconnects(-1),
		nats.ErrorHandler(w.handler), nats.ClosedHandler(func(*nats.Conn) { close(closed) })}
	if a.apiKey != "" {
		// The project's NATS user, as its workers connect (credentials in the URL win).
		opts = append(opts, nats.UserInfo(a.project, a.apiKey))
	}
	nc, err := nats.Connect(a.natsURL, opts...)
	if err != nil {
		return natsError{a.connectError(where, err)}
	}
	defer nc.Close()
	msgs := make(chan busMsg, 256)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	names, live, err := a.followStreams(ctx, nc, w, o, msgs, &stops)
	if err != nil || ctx.Err() != nil {
		return err
	}
	if live {
		if o.since > 0 || o.all {
			return natsError{fmt.Errorf("cannot replay (--since, --all): NATS at %s walls project %s's user off JetStream (%v), "+
				"and replay needs it: give --nats a user without the walls (an operator's, nats://USER:PASSWORD@HOST:4222), "+
				"or follow live only: without --since and --all, or the api's event stream (GET /api/v1/events)", where, a.project, w.reason())}
		}
		// The streams' subjects are published on core NATS too: followed from now on.
		for _, f := range jobcenter.TenantStreams(a.project, o.jobID) {
			if o.kinds[f.Kind] {
				if err := a.subscribe(ctx, nc, f.Subject, msgs, newDedup(), &stops); err != nil {
					return err
				}
				names = append(names, f.Subject)
			}
		}
	}
	if o.kinds[jobcenter.KindLog] {
		// Live lines are core NATS, in no stream: followed from now on only.
		subject := jobcenter.LogSubjects(a.project, o.jobID)
		if err := a.subscribe(ctx, nc, subject, msgs, nil, &stops); err != nil {
			return err
		}
		names = append(names, subject)
	}
	how := ""
	if live {
		how = fmt.Sprintf(" live (JetStream is not open to project %s's user: no replay)", a.project)
	}
	fmt.Fprintf(a.stderr, "following %s on %s%s (Ctrl-C to stop)\n", strings.Join(names, " "), where, how)
	if !a.json {
		fmt.Fprintf(a.stdout, "%-29s  %-36s  %-9s  %-8s  %s\n", "TIME", "JOB", "KIND", "EVENT", "DETAIL")
	}
	printed := 0
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-closed:
			// It gave up: NATS refused the credentials on a reconnection (a key withdrawn).
			if err := nc.LastError(); authError(err) {
				return natsError{a.connectError(where, err)}
			}
			return natsError{fmt.Errorf("NATS at %s closed the connection: %v", where, nc.LastError())}
		case m := <-msgs:
			e, err := jobcenter.ParseEvent(m.subject, m.data)
			if err != nil {
				fmt.Fprintf(a.stderr, "jobctl events tail: skipped a message: %v\n", err)
				continue
			}
			if a.json {
				if err := enc.Encode(e); err != nil {
					return err
				}
			} else {
				// This machine's zone, which may not be the server's: with its offset, so
				// that the time is not read as JOBCENTER_TZ's as in the api's answers.
				fmt.Fprintf(a.stdout, "%-29s  %-36s  %-9s  %-8s  %s\n", e.At.Local().Format("2006-01-02 15:04:05.000-07:00"), e.JobID, e.Kind, e.Type, e.Summary())
			}
			if printed++; o.count > 0 && printed >= o.count {
				return nil
			}
		}
	}
}

// followStreams follows the wanted kinds' streams with one ordered consumer each, and
// returns their subjects. live is true when JetStream is not open to this user — NATS
// refused its API or the inbox of its answers, or JetStream is not enabled for the
// user's account — and nothing is followed yet.
func (a *app) followStreams(ctx context.Context, nc *nats.Conn, w *walls, o tailOptions, msgs chan<- busMsg, stops *[]func()) (names []string, live bool, err error) {
	var own []func()
	defer func() {
		if err != nil || live {
			for _, stop := range own {
				stop()
			}
		} else {
			*stops = append(*stops, own...)
		}
	}()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, false, natsError{err}
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy, InactiveThreshold: 30 * time.Second}
	switch {
	case o.all:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case o.since > 0:
		start := time.Now().Add(-o.since)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	// One ordered consumer a stream, filtered on the kinds wanted.
	var streams []string
	subjects := map[string][]string{}
	for _, f := range jobcenter.TenantStreams(a.project, o.jobID) {
		if o.kinds[f.Kind] {
			if subjects[f.Stream] == nil {
				streams = append(streams, f.Stream)
			}
			subjects[f.Stream] = append(subjects[f.Stream], f.Subject)
		}
	}
	where := redactURLs(a.natsURL)
	for _, stream := range streams {
		c := cfg
		c.FilterSubjects = subjects[stream]
		// A request NATS refuses is not answered: it is given up as soon as NATS says so.
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		go func() {
			select {
			case <-w.seen:
				scancel()
			case <-sctx.Done():
			}
		}()
		cons, err := js.OrderedConsumer(sctx, stream, c)
		scancel()
		if err != nil {
			switch {
			case w.refused():
				return nil, true, nil
			case errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
				w.set(err)
				return nil, true, nil
			case errors.Is(err, jetstream.ErrStreamNotFound):
				return nil, false, natsError{fmt.Errorf("NATS at %s has no stream %s: is it Job Center's NATS?", where, stream)}
			case ctx.Err() != nil:
				return nil, false, nil // Ctrl-C: tail ends on ctx
			}
			return nil, false, natsError{fmt.Errorf("follow %s: %w", stream, err)}
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			select {
			case msgs <- busMsg{m.Subject(), m.Data()}:
			case <-ctx.Done():
			}
		})
		if err != nil {
			return nil, false, natsError{fmt.Errorf("follow %s: %w", stream, err)}
		}
		own = append(own, cc.Stop)
		names = append(names, c.FilterSubjects...)
	}
	return names, false, nil
}

// subscribe follows subject on core NATS, from now on; a message whose Nats-Msg-Id
// dedup has seen is dropped (a publisher's retry that its stream dropped as well).
func (a *app) subscribe(ctx context.Context, nc *nats.Conn, subject string, msgs chan<- busMsg, dedup *dedup, stops *[]func()) error {
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		if dedup != nil && !dedup.first(m.Header.Get(jetstream.MsgIDHeader)) {
			return
		}
		select {
		case msgs <- busMsg{m.Subject, m.Data}:
		case <-ctx.Done():
		}
	})
	if err == nil {
		// NATS answers the flush after it has checked the subscription: a refusal is
		// the connection's last error by then.
		err = nc.Flush()
	}
	if err == nil && violation(nc.LastError()) == subject {
		err = nc.LastError()
	}
	if err != nil {
		if sub != nil {
			_ = sub.Unsubscribe()
		}
		return natsError{fmt.Errorf("follow %s: %w", subject, err)}
	}
	*stops = append(*stops, func() { _ = sub.Unsubscribe() })
	return nil
}

// walls records NATS's refusal of JetStream to this connection: a permissions
// violation for JetStream's API ($JS.API.>) or for the inbox its answers come to
// (_INBOX.>), as a project's user behind the walls gets.
type walls struct {
	seen chan struct{} // closed at the first refusal
	mu   sync.Mutex
	err  error
}

func (w *walls) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	if s := violation(err); strings.HasPrefix(s, "$JS.API.") || strings.HasPrefix(s, nats.InboxPrefix) {
		w.set(err)
	}
}

func (w *walls) set(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
		close(w.seen)
	}
}

func (w *walls) refused() bool {
	select {
	case <-w.seen:
		return true
	default:
		return false
	}
}

func (w *walls) reason() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

var violationRe = regexp.MustCompile(`(?i)(?:publish|subscription) to "(\S+)"`)

// violation is the subject of a permissions violation NATS reported, or "".
func violation(err error) string {
	if !errors.Is(err, nats.ErrPermissionViolation) {
		return ""
	}
	if m := violationRe.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}

// dedup remembers the last message ids it was shown.
type dedup struct {
	mu   sync.Mutex
	seen map[string]bool
	ring []string
	next int
}

func newDedup() *dedup { return &dedup{seen: map[string]bool{}, ring: make([]string, 4096)} }

// first reports whether id is new (an empty id always is), and remembers it.
func (d *dedup) first(id string) bool {
	if id == "" {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen[id] {
		return false
	}
	delete(d.seen, d.ring[d.next])
	d.ring[d.next], d.seen[id] = id, true
	d.next = (d.next + 1) % len(d.ring)
	return true
}

// connectError words a failure to connect, or a connection NATS closed.
func (a *app) connectError(where string, err error) error {
	if authError(err) {
		switch {
		case urlsHaveUser(a.natsURL):
			return fmt.Errorf("NATS at %s refused the credentials in its URL (--nats or NATS_URL): %w", where, err)
		case a.apiKey != "":
			return fmt.Errorf("NATS at %s refused project %s's credentials (its API key, --api-key or JOBCENTER_API_KEY: "+
				"is it one of the project's keys?): %w", where, a.project, err)
		}
		return fmt.Errorf("NATS at %s wants credentials: give the project's API key (--api-key or JOBCENTER_API_KEY): %w", where, err)
	}
	return fmt.Errorf("cannot reach NATS at %s: %w (set --nats or NATS_URL)", where, err)
}

// authError reports whether NATS refused the connection's credentials.
func authError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked)
}

// redactURLs is the NATS URLs with their passwords hidden, for messages.
func redactURLs(s string) string {
	urls := strings.Split(s, ",")
	for i, raw := range urls {
		if u, err := url.Parse(strings.TrimSpace(raw)); err == nil && u.User != nil {
			urls[i] = u.Redacted()
		}
	}
	return strings.Join(urls, ",")
}

// urlsHaveUser reports whether a NATS URL carries credentials, which win over
// nats.UserInfo.
func urlsHaveUser(s string) bool {
	for _, raw := range strings.Split(s, ",") {
		if u, err := url.Parse(strings.TrimSpace(raw)); err == nil && u.User != nil {
			return true
		}
	}
	return false
}
