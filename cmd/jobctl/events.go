package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

func eventsTailCommand() *command {
	return &command{
		name: "events tail", summary: "follow a tenant's events live on NATS",
		nats: true,
		help: `Follows the project's events live, as they happen, from NATS JetStream:
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

It reads NATS directly (--nats or NATS_URL; make run serves nats://127.0.0.1:4222)
with ordered consumers, which need no set-up and leave nothing behind. --job
needs the API too, to resolve the job's id.`,
		example: `  jobctl events tail
  jobctl events tail --job d6f4a7fa --since 10m
  jobctl events tail --kinds fire,run --json | jq -c 'select(.type == "failure") | .run'
  jobctl events tail --count 1 --kinds run     # wait for the next run event, then exit`,
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

// tail follows the tenant's streams with one ordered consumer each until ctx ends or
// enough events are printed.
func (a *app) tail(ctx context.Context, o tailOptions) error {
	nc, err := nats.Connect(a.natsURL, nats.Name("jobctl events tail"), nats.Timeout(5*time.Second),
		nats.MaxReconnects(-1))
	if err != nil {
		return natsError{fmt.Errorf("cannot reach NATS at %s: %w (set --nats or NATS_URL)", a.natsURL, err)}
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return natsError{err}
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy, InactiveThreshold: 30 * time.Second}
	switch {
	case o.all:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case o.since > 0:
		start := time.Now().Add(-o.since)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	msgs := make(chan busMsg, 256)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
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
	var names []string
	for _, stream := range streams {
		c := cfg
		c.FilterSubjects = subjects[stream]
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		cons, err := js.OrderedConsumer(sctx, stream, c)
		scancel()
		if err != nil {
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				return natsError{fmt.Errorf("NATS at %s has no stream %s: is it Job Center's NATS?", a.natsURL, stream)}
			}
			return natsError{fmt.Errorf("follow %s: %w", stream, err)}
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			select {
			case msgs <- busMsg{m.Subject(), m.Data()}:
			case <-ctx.Done():
			}
		})
		if err != nil {
			return natsError{fmt.Errorf("follow %s: %w", stream, err)}
		}
		defer cc.Stop()
		names = append(names, c.FilterSubjects...)
	}
	if o.kinds[jobcenter.KindLog] {
		// Live lines are core NATS, in no stream: followed from now on only.
		subject := jobcenter.LogSubjects(a.project, o.jobID)
		sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
			select {
			case msgs <- busMsg{m.Subject, m.Data}:
			case <-ctx.Done():
			}
		})
		if err == nil {
			err = nc.Flush()
		}
		if err != nil {
			return natsError{fmt.Errorf("follow %s: %w", subject, err)}
		}
		defer func() { _ = sub.Unsubscribe() }()
		names = append(names, subject)
	}
	fmt.Fprintf(a.stderr, "following %s on %s (Ctrl-C to stop)\n", strings.Join(names, " "), a.natsURL)
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
