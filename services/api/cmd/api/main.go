// Command api runs the HTTP api against an external NATS (NATS_URL) and MongoDB
// (MONGO_URI): the production shape.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // JOBCENTER_TZ must load on machines without a zoneinfo database

	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/config"
	"github.com/jobcenter/jobcenter/shared/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) == 3 && os.Args[1] == "mint-key" {
		key, line := api.MintKey(os.Args[2])
		fmt.Printf("key (give it to the tenant; it is not stored): %s\nline (add it to JOBCENTER_API_KEYS or its file): %s\n", key, line)
		return
	}
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	env := config.NewEnv(getenv)
	env.Require("NATS_URL")
	env.Require("MONGO_URI")
	cfg := api.ConfigFromEnv(env, bus.StreamsFromEnv(env))
	level := env.Str("JOBCENTER_LOG_LEVEL", "info")
	if err := env.Err(); err != nil {
		return fmt.Errorf("bad settings:\n%w", err)
	}
	log, err := logging.New(stdout, level, "api")
	if err != nil {
		return fmt.Errorf("JOBCENTER_LOG_LEVEL=%q: %w", level, err)
	}
	cfg.Log = log
	svc, err := api.New(ctx, cfg)
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}
