// Command executor runs an executor instance against an external NATS (NATS_URL); any
// number of them share the work.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/config"
	"github.com/jobcenter/jobcenter/shared/health"
	"github.com/jobcenter/jobcenter/shared/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "executor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	env := config.NewEnv(getenv)
	env.Require("NATS_URL")
	cfg := executor.ConfigFromEnv(env, bus.StreamsFromEnv(env))
	level := env.Str("JOBCENTER_LOG_LEVEL", "info")
	healthAddr := env.Addr("JOBCENTER_HEALTH_ADDR", ":8003")
	if err := env.Err(); err != nil {
		return fmt.Errorf("bad settings:\n%w", err)
	}
	log, err := logging.New(stdout, level, "executor")
	if err != nil {
		return fmt.Errorf("JOBCENTER_LOG_LEVEL=%q: %w", level, err)
	}
	cfg.Log = log
	svc, err := executor.New(cfg)
	if err != nil {
		return err
	}
	hs, err := health.Serve(healthAddr, svc.Ready(), svc.Check, svc.Metrics(), log)
	if err != nil {
		return err
	}
	defer hs.Close()
	return svc.Run(ctx)
}
