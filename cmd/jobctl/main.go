// Command jobctl manages Job Center from a shell: the job-center SDK's operations (add,
// get, list, update, start, stop, exec, delete, journal, history), a job's next fire
// times (preview), the Quartz schedules (save, status, journal, enable, disable, delete,
// trigger), the operator's commands (kill, versions, rollback, export, import, alerts),
// the cron preview, and a live tail of a tenant's events on NATS. Tables for people,
// --json for scripts, and exit codes scripts can rely on; `jobctl help` explains them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
