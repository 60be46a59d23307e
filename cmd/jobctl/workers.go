package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

// workersCommand is workers: the project's worker groups and their workers online.
func workersCommand() *command {
	return &command{
		name: "workers", args: "[GROUP]", anyArgs: true, summary: "the project's workers online, by group",
		help: `Lists the project's workers online — the tenant's own processes, written with
the Go library clients/go/worker (examples/worker is one to copy), that run the
flows of the jobs naming their group (add --flow-id F --worker-group G) — by
group, each group's in the order they joined: ID, HOST, VERSION, when it
started (SINCE, UTC), its runs under way out of those it makes at once
(RUNNING/CAPACITY), the flows it HANDLES, its LAST HEARTBEAT (UTC; one is sent
every 2 s, and a worker not heard of for 6 s has left) and STATE (online, or
leaving: it takes no new run and leaves once its runs end). GROUP shows that
group alone; one with no worker online is no error: its fires wait for one
(the job's misfire grace time, else the center's JOBCENTER_WORKER_WAIT).
--json prints the server's {"groups": [...]}, or with GROUP its {"group",
"workers"}.`,
		example: `  jobctl workers
  jobctl workers reports
  jobctl workers reports --json | jq -r '.workers[].id'`,
		setup: func(fs *flag.FlagSet) runFunc {
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 1 {
					return usagef("unexpected argument %q: give at most one GROUP", args[1])
				}
				if len(args) == 1 {
					return show(ctx, a, func(ctx context.Context, c *jobcenter.Client) (jobcenter.WorkerGroup, error) {
						return c.WorkerGroup(ctx, args[0])
					}, printWorkerGroup)
				}
				groups, err := call(ctx, a, func(ctx context.Context, c *jobcenter.Client) ([]jobcenter.WorkerGroup, error) {
					return c.Workers(ctx)
				})
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(struct {
						Groups []jobcenter.WorkerGroup `json:"groups"`
					}{append([]jobcenter.WorkerGroup{}, groups...)})
				}
				printWorkerGroups(a.stdout, groups)
				return nil
			}
		},
	}
}

// printWorkerGroups writes every group's workers as one table, a GROUP column first.
func printWorkerGroups(w io.Writer, groups []jobcenter.WorkerGroup) {
	n := 0
	for _, g := range groups {
		n += len(g.Workers)
	}
	if n == 0 {
		fmt.Fprintln(w, "no worker of the project is online: the fires of its worker groups wait")
		return
	}
	t := newTable(w, append([]string{"GROUP"}, workerHeader...)...)
	for _, g := range groups {
		for _, wk := range g.Workers {
			t.row(append([]string{g.Group}, workerRow(wk)...)...)
		}
	}
	t.flush()
	fmt.Fprintf(w, "%s in %s\n", plural(n, "worker"), plural(len(groups), "group"))
}

// printWorkerGroup writes one group's workers, or that none is online.
func printWorkerGroup(w io.Writer, g jobcenter.WorkerGroup) {
	if len(g.Workers) == 0 {
		fmt.Fprintf(w, "no worker of group %s is online: its fires wait\n", g.Group)
		return
	}
	t := newTable(w, workerHeader...)
	for _, wk := range g.Workers {
		t.row(workerRow(wk)...)
	}
	t.flush()
	fmt.Fprintf(w, "%s of group %s online\n", plural(len(g.Workers), "worker"), g.Group)
}

var workerHeader = []string{"ID", "HOST", "VERSION", "SINCE", "RUNNING/CAPACITY", "HANDLES", "LAST HEARTBEAT", "STATE"}

func workerRow(wk jobcenter.Worker) []string {
	state := "online"
	if wk.Leaving {
		state = "leaving"
	}
	return []string{wk.ID, orDash(wk.Host), orDash(wk.Version), utc(wk.Since, time.RFC3339),
		strconv.Itoa(wk.Running) + "/" + strconv.Itoa(wk.Capacity), orDash(strings.Join(wk.Handles, ",")),
		utc(wk.LastHeartbeat, "2006-01-02T15:04:05.000Z07:00"), state}
}

// utc writes t in UTC by layout, "-" when it is zero.
func utc(t time.Time, layout string) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(layout)
}

// plural is "1 worker", "2 workers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
