package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jobcenter/jobcenter/clients/go/worker"
)

// The chaos's workers are the chaos program itself, run again as "chaos worker": a
// tenant's own process joining the worker group "chaos" of the tenant "chaos" over NATS
// (clients/go/worker), as a real worker does. Each is named (worker-1, worker-2), and
// every run it is handed writes its fire id on a line of its calls file — one write, at
// once appended, before the work — so that the chaos counts the calls per fire across
// kill -9 and restarts, as it does at its flow runner.
const (
	workerArg    = "worker"                 // os.Args[1] of a worker process
	workerName   = "JOBCENTER_CHAOS_WORKER" // its name, shown as its host
	workerCalls  = "JOBCENTER_CHAOS_CALLS"  // the file its runs are appended to
	workerGroup  = "chaos"
	workerTenant = "chaos"
)

// workerSlow is how long a run of "work-slow" lasts: long enough for a kill or a cut to
// find runs under way at the workers.
const workerSlow = 1500 * time.Millisecond

// runWorker is a worker process: it joins the group until SIGTERM (then lets its runs end),
// and joins again should its connection fail at the start (the broker down).
func runWorker() error {
	name, path := os.Getenv(workerName), os.Getenv(workerCalls)
	if name == "" || path == "" {
		return fmt.Errorf("a chaos worker needs %s and %s", workerName, workerCalls)
	}
	calls, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer calls.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	record := func(t *worker.Task) error {
		fmt.Printf("%s run fire %s of job %s: %s, attempt %d\n", time.Now().Format("15:04:05.000"), t.FireID, t.JobID, t.Handler, t.Attempt)
		if _, err := calls.Write([]byte(t.FireID + "\n")); err != nil {
			return fmt.Errorf("the chaos worker could not record its run: %w", err)
		}
		return nil
	}
	for ctx.Err() == nil {
		w, err := worker.New(worker.Config{URL: os.Getenv("NATS_URL"), Tenant: workerTenant, Group: workerGroup, Capacity: 16, Host: name})
		if err != nil {
			return err
		}
		w.Handle("work", func(_ context.Context, t *worker.Task) (any, error) {
			if err := record(t); err != nil {
				return nil, err
			}
			return name, nil
		})
		w.Handle("work-slow", func(ctx context.Context, t *worker.Task) (any, error) {
			if err := record(t); err != nil {
				return nil, err
			}
			select {
			case <-ctx.Done():
				fmt.Printf("%s fire %s stopped: %v\n", time.Now().Format("15:04:05.000"), t.FireID, context.Cause(ctx))
				return nil, context.Cause(ctx)
			case <-time.After(workerSlow):
			}
			return name, nil
		})
		fmt.Printf("%s worker %s (%s) joins group %s at %s\n", time.Now().Format("15:04:05.000"), w.ID(), name, workerGroup, os.Getenv("NATS_URL"))
		if err := w.Run(ctx); err != nil {
			fmt.Printf("%s %v; again in a second\n", time.Now().Format("15:04:05.000"), err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// workerCallsOf reads the calls files of the chaos's workers in dir: for each fire called,
// the workers that ran it, one a call.
func workerCallsOf(dir string, names []string) (map[string][]string, error) {
	byFire := map[string][]string{}
	for _, name := range names {
		f, err := os.Open(filepath.Join(dir, name+".calls"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if id := strings.TrimSpace(sc.Text()); id != "" {
				byFire[id] = append(byFire[id], name)
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return byFire, nil
}
