package executor_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/clients/go/worker"
	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/egress"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// BenchmarkRuns: fires of a no-op snippet, each of its own job, stored in the runs
// stream ahead, taken and run by one executor of the given concurrency over the embedded
// broker, timed until every end report is stored: the executor's own pace. ns/op is per
// run, cpu-µs/op the process's CPU time per run (the broker's and, with workers, theirs
// included: all run in this process). BENCH_CODE sets the code run ("pass");
// BENCH_HTTP=1 makes each run an HTTP job's GET of a local receiver instead (answering
// 200 "ok"); BENCH_WORKERS=N hands each run to N workers of a group (clients/go/worker,
// a handler that returns at once), the least busy first. BENCH_BACKGROUND=N adds N messages a second on the runs stream for others, and a
// consumer acking the whole stream, as the trigger's fires and the journal make them.
func BenchmarkRuns(b *testing.B) {
	st := teststack.Start(b)
	streams := bus.StreamsConfig{Replicas: 1, Duplicates: 2 * time.Minute, RunsMaxAge: time.Hour}
	nc, js, err := bus.Dial(st.NATSURL, "bench", zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	if err := bus.Provision(context.Background(), js, streams); err != nil {
		b.Fatal(err)
	}
	var ended atomic.Int64
	sub, err := nc.Subscribe(contracts.TenantRuns("bench"), func(m *nats.Msg) {
		if !strings.HasSuffix(m.Subject, "."+contracts.RunRunning) {
			ended.Add(1)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	if bg := os.Getenv("BENCH_BACKGROUND"); bg != "" {
		// Other traffic on the runs stream, as the trigger's fires and a journal consumer
		// make it, none of it for the executor.
		rate, _ := strconv.Atoi(bg)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			payload := make([]byte, 600)
			for i := 0; ctx.Err() == nil; i++ {
				<-tick.C
				for k := range rate / 100 {
					_, _ = js.PublishAsync(contracts.RunSubject("load", fmt.Sprintf("j%d", k), "running"), payload)
				}
			}
		}()
		cons, err := js.CreateOrUpdateConsumer(ctx, contracts.StreamRuns, jetstream.ConsumerConfig{Durable: "journal-like", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 4096})
		if err != nil {
			b.Fatal(err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) { _ = m.Ack() })
		if err != nil {
			b.Fatal(err)
		}
		defer cc.Stop()
	}
	// BENCH_CODE is the code each run executes ("pass"): log_print lines, say, to see what
	// a live log costs.
	code := cmp.Or(os.Getenv("BENCH_CODE"), "pass")
	target := contracts.Target{Code: code}
	reach := egress.Public
	if os.Getenv("BENCH_HTTP") == "1" {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
		defer srv.Close()
		target, reach = contracts.Target{HTTP: &contracts.HTTPCall{Method: http.MethodGet, URL: srv.URL + "/run"}}, egress.Any
	}
	group, route := "", ""
	if n, _ := strconv.Atoi(os.Getenv("BENCH_WORKERS")); n > 0 {
		// Least busy: every run is a job of its own, so round robin (by run number) would
		// send them all to one worker.
		target, group, route = contracts.Target{FlowID: "noop"}, "bench", "least_busy"
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		defer func() { cancel(); wg.Wait() }()
		for range n {
			w, err := worker.New(worker.Config{URL: st.NATSURL, Tenant: "bench", Group: group, Capacity: 256})
			if err != nil {
				b.Fatal(err)
			}
			w.Handle("noop", func(context.Context, *worker.Task) (any, error) { return nil, nil })
			wg.Go(func() { _ = w.Run(ctx) })
		}
	}
	round := 0
	for _, conc := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			round++
			publish := func(prefix string, n int) {
				var acks []jetstream.PubAckFuture
				for i := range n {
					id := fmt.Sprintf("%s%d-j%d", prefix, round, i)
					f := contracts.Fire{V: contracts.Version, FireID: id + "@1", JournalID: id + ":1", Seq: 1, Tenant: "bench",
						JobID: id, ScheduledAt: time.Now(), FiredAt: time.Now(), Target: target,
						TimeoutMs: 5000, TriggerStatus: contracts.TriggerFired, MaxInstances: 1, WorkerGroup: group, Route: route}
					data, _ := json.Marshal(f)
					a, err := js.PublishAsync(contracts.FireSubject(f.Tenant, f.JobID), data, jetstream.WithMsgID(f.FireID))
					if err != nil {
						b.Fatal(err)
					}
					acks = append(acks, a)
				}
				for _, a := range acks {
					select {
					case <-a.Ok():
					case err := <-a.Err():
						b.Fatal(err)
					}
				}
			}
			svc, err := executor.New(executor.Config{NATSURL: st.NATSURL, Streams: streams, APIURL: "http://127.0.0.1:1",
				Timeout: 5 * time.Second, Concurrency: conc, HTTPReach: reach, Log: zerolog.Nop()})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			start := ended.Load()
			if group != "" {
				// The executor learns the workers from their heartbeats: one run through
				// them first, so that the runs timed find them known.
				go func() { done <- svc.Run(ctx) }()
				publish("probe", 1)
				teststack.Eventually(b, time.Minute, "the probe never ran", func() bool { return ended.Load() > start })
				start = ended.Load()
			} else {
				publish("r", b.N)
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			if group != "" {
				publish("r", b.N) // taken as they are stored
			} else {
				go func() { done <- svc.Run(ctx) }()
			}
			teststack.Eventually(b, 10*time.Minute, "runs never ended", func() bool {
				select {
				case err := <-done:
					b.Fatalf("the executor stopped: %v", err)
				default:
				}
				return ended.Load()-start >= int64(b.N)
			})
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
