// Command jobcenter runs the whole of Job Center in one process: an embedded NATS
// server with JetStream, an embedded FerretDB on SQLite, and the api, trigger and
// executor services. It is what `make run` starts. The api's port answers /healthz,
// /readyz (the broker, the store, a trigger and an executor are up) and /metrics (the
// three services' metrics, from one registry).
//
// `jobcenter rebuild` instead drops the MongoDB projections under the data dir and
// derives them again from the JetStream log, then exits (the center must be stopped).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	_ "time/tzdata" // JOBCENTER_TZ must load on machines without a zoneinfo database

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/config"
	"github.com/jobcenter/jobcenter/shared/embedded"
	"github.com/jobcenter/jobcenter/shared/logging"
	"github.com/jobcenter/jobcenter/shared/metrics"
)

// procsPerCPU is how many Ps the program runs per CPU it may use, unless GOMAXPROCS says.
// The embedded FerretDB runs SQLite's long stretches of work on the same Ps as the
// broker's and the services' short ones; with a P per CPU, each hop of a round trip to
// the broker waits for a P behind them, and a run's four round trips took 60 ms at
// 10,000 jobs a second. With four times as many Ps the kernel interleaves them instead:
// the executor ended 1,012 runs a second instead of 262, and fires were stored at p99
// 37 ms instead of 113 (README, Performance).
const procsPerCPU = 4

func main() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(procsPerCPU * runtime.GOMAXPROCS(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "jobcenter:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 2 && args[0] == "mint-key" {
		key, line := api.MintKey(args[1])
		fmt.Fprintf(stdout, "key (give it to the tenant; it is not stored): %s\nline (add it to JOBCENTER_API_KEYS or its file): %s\n", key, line)
		return nil
	}
	rebuild := len(args) == 1 && args[0] == "rebuild"
	if len(args) > 0 && !rebuild {
		return fmt.Errorf("unknown arguments %q: run with none to start the center, \"rebuild\", or \"mint-key TENANT\"", args)
	}
	env := config.NewEnv(getenv)
	dataDir := env.Str("JOBCENTER_DATA_DIR", "./data")
	natsListen := env.Addr("JOBCENTER_NATS_LISTEN", "127.0.0.1:4222")
	natsAuth := env.Bool("JOBCENTER_NATS_AUTH", false)
	level := env.Str("JOBCENTER_LOG_LEVEL", "info")
	streams := bus.StreamsFromEnv(env)
	tcfg := trigger.ConfigFromEnv(env)
	acfg := api.ConfigFromEnv(env, streams)
	ecfg := executor.ConfigFromEnv(env, streams)
	if err := env.Err(); err != nil {
		return fmt.Errorf("bad settings:\n%w", err)
	}
	log, err := logging.New(stdout, level, "")
	if err != nil {
		return fmt.Errorf("JOBCENTER_LOG_LEVEL=%q: %w", level, err)
	}

	var auth *embedded.NATSAuth
	if natsAuth {
		// The services connect with a password made for this run; each tenant with its
		// name and one of its API keys, walled into its own subjects.
		keyOf, err := acfg.KeyChecker()
		if err != nil {
			return err
		}
		pw, _ := api.MintKey("nats")
		auth = &embedded.NATSAuth{ServiceUser: "jobcenter", ServicePassword: pw, Tenant: keyOf, Permissions: contracts.WorkerPermissions}
	}
	ns, err := embedded.StartNATS(natsListen, filepath.Join(dataDir, "nats"), auth)
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	ferret, err := embedded.StartFerret("127.0.0.1:0", filepath.Join(dataDir, "ferret"),
		// FerretDB warns of every command it lacks (the driver's endSessions at close):
		// only its errors matter here.
		slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		return err
	}
	defer ferret.Stop()
	log.Info().Str("data_dir", dataDir).Str("nats", ns.ClientURL()).Bool("nats_auth", auth != nil).Str("mongodb", ferret.URI()).Msg("embedded nats and ferretdb started")

	natsURL := ns.ClientURL()
	if auth != nil {
		u, _ := url.Parse(natsURL)
		u.User = url.UserPassword(auth.ServiceUser, auth.ServicePassword)
		natsURL = u.String()
		if !acfg.KeysConfigured() {
			log.Warn().Msg("JOBCENTER_NATS_AUTH is on but no API key is configured (JOBCENTER_API_KEYS): no tenant's worker can connect")
		}
	}
	for _, c := range []*string{&tcfg.NATSURL, &acfg.NATSURL, &ecfg.NATSURL} {
		*c = natsURL
	}
	tcfg.MongoURI, acfg.MongoURI = ferret.URI(), ferret.URI()
	tcfg.Log = log.With().Str("service", "trigger").Logger()
	acfg.Log = log.With().Str("service", "api").Logger()
	ecfg.Log = log.With().Str("service", "executor").Logger()
	// One registry for the three services: the api serves it all on its /metrics, each
	// metric labelled with its service.
	reg := metrics.NewRegistry()
	tcfg.Registry, acfg.Registry, ecfg.Registry = reg, reg, reg

	if rebuild {
		trig, err := trigger.New(ctx, tcfg)
		if err != nil {
			return err
		}
		st, err := trig.Rebuild(ctx)
		if err != nil {
			return err
		}
		log.Info().Int("events", st.Events).Int("jobs", st.Jobs).Int("fires", st.Fires).Int("run_reports", st.RunReports).Msg("projections rebuilt from the log")
		return nil
	}

	if acfg.KeysConfigured() && ecfg.APIKey == "" {
		// Keys are on: job code's sdk_* calls need a key, valid for this run only.
		ecfg.APIKey, _ = api.MintKey("*")
		acfg.ServiceKey = ecfg.APIKey
	}
	apiSvc, err := api.New(ctx, acfg)
	if err != nil {
		return err
	}
	ecfg.APIURL = loopbackURL(apiSvc.Addr())
	trig, err := trigger.New(ctx, tcfg)
	if err != nil {
		return err
	}
	exec, err := executor.New(ecfg)
	if err != nil {
		return err
	}
	log.Info().Str("http", apiSvc.Addr()).Str("tz", acfg.Loc.String()).Msg("job center starting")

	// One service failing stops the others: a half-running center is worse than none.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, svc := range []interface{ Run(context.Context) error }{trig, exec, apiSvc} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := svc.Run(ctx); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	log.Info().Msg("job center stopped")
	return nil
}

// loopbackURL turns a bound address such as "[::]:8001" into a URL this process can call.
func loopbackURL(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	return "http://127.0.0.1:" + port
}
