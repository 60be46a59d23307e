// Command worker is a Job Center worker to copy: it joins a worker group of a tenant and
// runs the flows it handles when the center hands them over.
//
//	JOBCENTER_TENANT=P JOBCENTER_API_KEY=jc_… go run ./examples/worker -group reports
//
// Jobs whose worker_group is "reports" and whose flow_id is "hello" run here: see the
// README's Workers section. The other handlers are what the project's tests use: "slow"
// runs for -slow, logging each second; "fail" fails; "shard" returns its shard.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jobcenter/jobcenter/clients/go/worker"
)

func main() {
	url := flag.String("nats", envOr("NATS_URL", "nats://127.0.0.1:4222"), "the center's NATS")
	group := flag.String("group", "reports", "the worker group to join")
	slow := flag.Duration("slow", 30*time.Second, "how long the flow \"slow\" runs")
	flag.Parse()
	w, err := worker.New(worker.Config{URL: *url, Tenant: os.Getenv("JOBCENTER_TENANT"), Key: os.Getenv("JOBCENTER_API_KEY"), Group: *group})
	if err != nil {
		log.Fatal(err)
	}
	w.Handle("hello", func(ctx context.Context, t *worker.Task) (any, error) {
		t.Log(fmt.Sprintf("hello from %s, run %s", w.ID(), t.RunID))
		return map[string]string{"worker": w.ID()}, nil
	})
	w.Handle("slow", func(ctx context.Context, t *worker.Task) (any, error) {
		for i := 0; time.Duration(i)*time.Second < *slow; i++ {
			t.Log(fmt.Sprintf("second %d", i))
			t.Progress(float64(i) / slow.Seconds())
			select {
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			case <-time.After(time.Second):
			}
		}
		return "slept", nil
	})
	w.Handle("fail", func(context.Context, *worker.Task) (any, error) { return nil, errors.New("it failed, as asked") })
	w.Handle("shard", func(ctx context.Context, t *worker.Task) (any, error) {
		t.Log(fmt.Sprintf("shard %d of %d on %s", t.Shard.Index, t.Shard.Total, w.ID()))
		return t.Shard.Index, nil
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	select {
	case <-w.Joined():
		fmt.Printf("worker %s joined group %s\n", w.ID(), *group)
	case err := <-ran:
		log.Fatal(err) // it could not connect or join: a wrong URL or key
	}
	if err := <-ran; err != nil {
		log.Fatal(err)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
