// Command trigger runs the trigger service against an external NATS (NATS_URL) and
// MongoDB (MONGO_URI): the production shape. `trigger rebuild` drops the MongoDB
// projections and derives them again from the JetStream log (every trigger stopped).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // zones must load on machines without a zoneinfo database

	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/config"
	"github.com/jobcenter/jobcenter/shared/health"
	"github.com/jobcenter/jobcenter/shared/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "trigger:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	rebuild := len(args) == 1 && args[0] == "rebuild"
	if len(args) > 0 && !rebuild {
		return fmt.Errorf("unknown arguments %q: run with none, or with \"rebuild\"", args)
	}
	env := config.NewEnv(getenv)
	env.Require("NATS_URL")
	env.Require("MONGO_URI")
	cfg := trigger.ConfigFromEnv(env)
	level := env.Str("JOBCENTER_LOG_LEVEL", "info")
	healthAddr := env.Addr("JOBCENTER_HEALTH_ADDR", ":8002")
	if err := env.Err(); err != nil {
		return fmt.Errorf("bad settings:\n%w", err)
	}
	log, err := logging.New(stdout, level, "trigger")
	if err != nil {
		return fmt.Errorf("JOBCENTER_LOG_LEVEL=%q: %w", level, err)
	}
	cfg.Log = log
	svc, err := trigger.New(ctx, cfg)
	if err != nil {
		return err
	}
	if rebuild {
		st, err := svc.Rebuild(ctx)
		if err != nil {
			return err
		}
		log.Info().Int("events", st.Events).Int("jobs", st.Jobs).Int("fires", st.Fires).Int("run_reports", st.RunReports).Msg("projections rebuilt from the log")
		return nil
	}
	hs, err := health.Serve(healthAddr, svc.Ready(), svc.Check, svc.Metrics(), log)
	if err != nil {
		return err
	}
	defer hs.Close()
	return svc.Run(ctx)
}
