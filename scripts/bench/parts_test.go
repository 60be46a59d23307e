package main

import "testing"

func TestASampleCountsForTheInnermostPartOnItsStack(t *testing.T) {
	for _, c := range []struct {
		stack []string
		want  string
	}{
		{[]string{"runtime.mallocgc", "encoding/json.Marshal", "github.com/nats-io/nats-server/v2/server.(*stream).processJetStreamMsg", "runtime.goexit.abi0"},
			"the broker: NATS server"},
		{[]string{"clear_page_erms", "modernc.org/sqlite/lib.Xsqlite3_step", "github.com/FerretDB/FerretDB/internal/backends/sqlite.(*collection).Query"},
			"the store: SQLite (modernc.org/sqlite)"},
		{[]string{"github.com/nats-io/nats%2ego.(*Conn).parse", "github.com/jobcenter/jobcenter/services/executor/internal/runner.(*Runner).Handle"},
			"NATS client (api, trigger, executor, journal)"},
		{[]string{"runtime.memmove", "github.com/jobcenter/jobcenter/services/trigger/internal/firing.(*Publisher).send"},
			"ours: the fire publisher"},
		{[]string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker", "runtime.goexit.abi0"},
			"runtime: the collector's workers"},
		{[]string{"finish_task_switch.isra.0", "runtime.findRunnable", "runtime.schedule", "runtime.mcall"},
			"runtime and kernel: scheduling, other"},
	} {
		if got := partOf(c.stack); got != c.want {
			t.Errorf("partOf(%q) = %q, want %q", c.stack[0], got, c.want)
		}
	}
}
