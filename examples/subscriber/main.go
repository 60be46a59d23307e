// Command subscriber follows one tenant's jobs on Job Center's NATS — lifecycle events,
// fires and run reports — and prints one line per event. It is an example to copy: it
// needs only the contracts module (subjects, stream names, payload types) and the
// official NATS client.
//
//	go run ./examples/subscriber -tenant b90ba90e-2431-11f0-a3b3-f2cf1bfaab0e
//	go run ./examples/subscriber -tenant P -from all    # everything the streams keep, then live
//	go run ./examples/subscriber -tenant P -from 1h     # the last hour, then live
//
// It reads with JetStream ordered consumers: nothing is created on the server that
// outlives the program, and a broker restart is followed by a resume where it left off.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "subscriber:", err)
		os.Exit(1)
	}
}

const usage = `subscriber follows one tenant's jobs on Job Center's NATS and prints one line per
lifecycle event, fire and run report.

usage: subscriber -tenant ID [-from new|all|TIME|DURATION] [-nats URL]

environment:
  NATS_URL          the NATS server(s), comma-separated, when -nats is not given
  JOBCENTER_TENANT  the tenant, when -tenant is not given

flags:
`

// run follows the tenant until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("subscriber", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, usage); fl.PrintDefaults() }
	tenant := fl.String("tenant", getenv("JOBCENTER_TENANT"), "the tenant: a project id (X-Project-Id) or a Quartz tecode")
	from := fl.String("from", "new", "where to start: new (from now on), all (all that the streams keep),\n"+
		"an RFC 3339 time (2025-06-15T21:30:00+08:00), or a duration back from now (90m)")
	url := fl.String("nats", cmp.Or(getenv("NATS_URL"), nats.DefaultURL), "the NATS server(s)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *tenant == "" {
		fl.Usage()
		return errors.New("-tenant is required")
	}
	start, err := startFrom(*from, time.Now())
	if err != nil {
		return err
	}

	nc, err := nats.Connect(*url, nats.Name("jobcenter-example-subscriber"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", *url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}

	p := &printer{out: stdout, errs: stderr}
	// Lifecycle events are stored in one stream, fires and run reports in another; an
	// ordered consumer reads one stream, filtered to the tenant's subjects.
	for stream, subjects := range map[string][]string{
		contracts.StreamEvents: {contracts.TenantEvents(*tenant)},
		contracts.StreamRuns:   {contracts.TenantFires(*tenant), contracts.TenantRuns(*tenant)},
	} {
		cfg := start
		cfg.FilterSubjects = subjects
		cons, err := js.OrderedConsumer(ctx, stream, cfg)
		if err != nil {
			return fmt.Errorf("follow %s: %w", stream, err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) { p.print(m.Subject(), m.Data()) })
		if err != nil {
			return fmt.Errorf("follow %s: %w", stream, err)
		}
		defer cc.Stop()
	}
	fmt.Fprintf(stderr, "following tenant %q on %s from %s (Ctrl-C ends)\n", *tenant, nc.ConnectedUrlRedacted(), *from)
	<-ctx.Done()
	return nil
}

// startFrom turns -from into where the consumers begin.
func startFrom(from string, now time.Time) (jetstream.OrderedConsumerConfig, error) {
	switch from {
	case "new":
		return jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}, nil
	case "all":
		return jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}, nil
	}
	at, err := time.Parse(time.RFC3339, from)
	if err != nil {
		d, derr := time.ParseDuration(from)
		if derr != nil || d < 0 {
			return jetstream.OrderedConsumerConfig{}, fmt.Errorf("-from %q: want new, all, an RFC 3339 time or a duration", from)
		}
		at = now.Add(-d)
	}
	return jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &at}, nil
}

// printer writes one line per message; the two consumers call it concurrently.
type printer struct {
	mu   sync.Mutex
	out  io.Writer
	errs io.Writer
}

const stamp = "2006-01-02T15:04:05.000Z07:00"

func (p *printer) print(subject string, data []byte) {
	line, err := format(subject, data)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		fmt.Fprintf(p.errs, "skipped a message on %s: %v\n", subject, err)
		return
	}
	fmt.Fprintln(p.out, line)
}

// format decodes a message by its subject's family into its contracts type.
func format(subject string, data []byte) (string, error) {
	var v struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return "", err
	}
	// A new schema version may change what fields mean: read only the version known.
	if v.V != contracts.Version {
		return "", fmt.Errorf("payload version %d, this program reads %d", v.V, contracts.Version)
	}
	switch family := strings.Split(subject, ".")[1]; family {
	case "evt":
		var e contracts.LifecycleEvent
		if err := json.Unmarshal(data, &e); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s event %-9s job=%s name=%q state=%s user=%q",
			e.At.Local().Format(stamp), e.Type, e.JobID, e.Job.Spec.Name, e.Job.State, e.User), nil
	case "fire":
		var f contracts.Fire
		if err := json.Unmarshal(data, &f); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s fire  %-9s job=%s fire=%s run=%d scheduled=%s triggerstatus=%s",
			f.FiredAt.Local().Format(stamp), f.RunType, f.JobID, f.FireID, f.Seq, f.ScheduledAt.Local().Format(stamp), f.TriggerStatus), nil
	case "run":
		var r contracts.RunEvent
		if err := json.Unmarshal(data, &r); err != nil {
			return "", err
		}
		at, took := r.StartedAt, ""
		if r.EndedAt != nil {
			at, took = *r.EndedAt, " took="+r.EndedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		return fmt.Sprintf("%s run   %-9s job=%s fire=%s attempts=%d%s detail=%q",
			at.Local().Format(stamp), r.Status, r.JobID, r.FireID, r.Attempts, took, firstLine(r.Detail, 80)), nil
	default:
		return "", fmt.Errorf("unexpected subject family %q", family)
	}
}

// firstLine is s's first line, at most n bytes of it.
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
