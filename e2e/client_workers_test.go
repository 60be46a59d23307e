package e2e_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

// The Go client reads the registry of workers — none, then a real example worker
// process — and sends a job's worker group and route, which the job info reads back
// (encoding back to exactly the server's JSON); a run of the job goes to the worker. An
// update that does not name them keeps them, "" removes the group; bad ones are
// *APIErrors naming their field.
func TestClientListsWorkersAndSendsAJobsWorkerGroupAndRoute(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl, err := jobcenter.New(jobcenter.WithBaseURL(contractProxy(t, c.url)), jobcenter.WithProject("p"))
	if err != nil {
		t.Fatal(err)
	}

	// None online: no group, and a group named is an empty one.
	if gs := must(cl.Workers(ctx))(t); gs == nil || len(gs) != 0 {
		t.Fatalf("workers with none online: %#v", gs)
	}
	if g := must(cl.WorkerGroup(ctx, "g"))(t); g.Group != "g" || g.Workers == nil || len(g.Workers) != 0 {
		t.Fatalf("an empty group: %#v", g)
	}
	for _, bad := range []string{"", "a b", strings.Repeat("x", 65)} {
		_, err := cl.WorkerGroup(ctx, bad)
		apiErr(t, err, 400, "invalid", "group")
	}

	w := startWorker(t, c, "g")
	c.online(t, "g", w.id)
	check := func(where string, wk jobcenter.Worker) {
		t.Helper()
		if wk.ID != w.id || wk.Host == "" || wk.Capacity != 8 || wk.Running != 0 || wk.Leaving ||
			!slices.Contains(wk.Handles, "hello") || !slices.Contains(wk.Handles, "shard") ||
			wk.Since.IsZero() || wk.LastHeartbeat.Before(wk.Since) {
			t.Fatalf("%s shows the worker as %+v", where, wk)
		}
	}
	gs := must(cl.Workers(ctx))(t)
	if len(gs) != 1 || gs[0].Group != "g" || len(gs[0].Workers) != 1 {
		t.Fatalf("workers: %+v", gs)
	}
	check("the list", gs[0].Workers[0])
	g := must(cl.WorkerGroup(ctx, "g"))(t)
	if g.Group != "g" || len(g.Workers) != 1 {
		t.Fatalf("group g: %+v", g)
	}
	check("the group", g.Workers[0])
	if g := must(cl.WorkerGroup(ctx, "other"))(t); len(g.Workers) != 0 {
		t.Fatalf("another group: %+v", g)
	}
	// Another project sees none of them.
	other, err := jobcenter.New(jobcenter.WithBaseURL(c.url), jobcenter.WithProject("q"))
	if err != nil {
		t.Fatal(err)
	}
	if gs := must(other.Workers(ctx))(t); len(gs) != 0 {
		t.Fatalf("another project sees %+v", gs)
	}

	// A job the group serves: its group and route read back, the default route too.
	spec := jobcenter.JobSpec{Pid: pid, Name: "hello", Trigger: jobcenter.TriggerInterval, Seconds: 300,
		FlowID: "hello", WorkerGroup: ptr("g"), Route: jobcenter.RouteConsistentHash}
	j := must(cl.AddJob(ctx, spec))(t)
	served := func(where string, j *jobcenter.Job, group, route string) {
		t.Helper()
		if p := j.JobParameter; p.WorkerGroup != group || p.Route != route {
			t.Fatalf("%s shows the job as %s, want group %q route %q", where, mustJSON(j.JobParameter), group, route)
		}
	}
	served("the add's answer", j, "g", jobcenter.RouteConsistentHash)
	served("a read", must(cl.GetJob(ctx, j.JobID))(t), "g", jobcenter.RouteConsistentHash)
	spec2 := spec
	spec2.Name, spec2.Route = "hello 2", ""
	served("a job added without a route", must(cl.AddJob(ctx, spec2))(t), "g", jobcenter.RouteRoundRobin)
	var typed, raw map[string]any
	_ = json.Unmarshal([]byte(mustJSON(must(cl.GetJob(ctx, j.ID))(t))), &typed)
	raw = c.do("GET", "/api/v1/jobs/"+j.ID, "p", nil).must(t, 200).obj(t)
	if !reflect.DeepEqual(typed["jobParameter"], raw["jobParameter"]) {
		t.Fatalf("the typed jobParameter %v, the server's %v", typed["jobParameter"], raw["jobParameter"])
	}

	// A run goes to the worker.
	x := must(cl.ExecJob(ctx, j.ID))(t)
	e := waitRuns(t, cl, j.ID, 1).Data[0]
	if e.ExeStatus != jobcenter.StatusSuccess || e.TriggerID != x.FireID || !strings.Contains(e.ExeDes, "hello from "+w.id) {
		t.Fatalf("the run: %s", mustJSON(e))
	}

	// An update that names neither keeps both; a route alone changes the route.
	upd := spec
	upd.Name, upd.WorkerGroup, upd.Route = "hello renamed", nil, ""
	served("an update naming neither", must(cl.UpdateJob(ctx, j.ID, upd))(t), "g", jobcenter.RouteConsistentHash)
	upd.Route = jobcenter.RouteFailover
	served("an update naming the route", must(cl.UpdateJob(ctx, j.ID, upd))(t), "g", jobcenter.RouteFailover)

	// Refused, naming the field; the job is as it was.
	for _, tc := range []struct {
		edit  func(*jobcenter.JobSpec)
		field string
	}{
		{func(s *jobcenter.JobSpec) { s.WorkerGroup = ptr("a b") }, "worker_group"},
		{func(s *jobcenter.JobSpec) { s.Route = "nearest" }, "route"},
		{func(s *jobcenter.JobSpec) { s.FlowID, s.Code = "", "return 1" }, "worker_group"},
		{func(s *jobcenter.JobSpec) { s.WorkerGroup, s.Route = ptr(""), jobcenter.RouteRandom }, "route"},
	} {
		bad := upd
		tc.edit(&bad)
		_, err := cl.UpdateJob(ctx, j.ID, bad)
		apiErr(t, err, 400, "invalid", tc.field)
	}
	code := seedSpec()
	code.WorkerGroup = ptr("g")
	_, err = cl.AddJob(ctx, code)
	apiErr(t, err, 400, "invalid", "worker_group")
	served("a read after the refusals", must(cl.GetJob(ctx, j.ID))(t), "g", jobcenter.RouteFailover)

	// "" serves it without workers again: the job info shows neither.
	upd.WorkerGroup, upd.Route = ptr(""), ""
	served("an update removing the group", must(cl.UpdateJob(ctx, j.ID, upd))(t), "", "")
	p := c.do("GET", "/api/v1/jobs/"+j.ID, "p", nil).must(t, 200).obj(t)["jobParameter"].(map[string]any)
	if _, has := p["worker_group"]; has {
		t.Fatalf("a job without workers shows %v", p)
	}
	if _, has := p["route"]; has {
		t.Fatalf("a job without workers shows %v", p)
	}

	// A Quartz schedule the group serves: its behaviour is the worker's handler.
	saved := must(cl.SaveSchedule(ctx, jobcenter.Schedule{JobName: "hello", CronExpression: "0 0 12 * * ?", BizCode: "hello",
		WorkerGroup: "g", Route: jobcenter.RouteLeastBusy}))(t)
	served("a saved schedule", must(cl.GetJob(ctx, saved.GroupJobID))(t), "g", jobcenter.RouteLeastBusy)
	run := must(cl.TriggerSchedule(ctx, saved.GroupJobID))(t)
	if e := waitRuns(t, cl, saved.GroupJobID, 1).Data[0]; e.ExeStatus != jobcenter.StatusSuccess || e.TriggerID != run.TriggerID ||
		!strings.Contains(e.ExeDes, "hello from "+w.id) {
		t.Fatalf("the schedule's run: %s", mustJSON(e))
	}
}

// jobctl workers lists a real worker process, and says none is online for a group
// without one; jobctl add --worker-group makes a flow job its workers run (exec runs it
// there: the journal shows the worker's hello), shown with its group and route;
// update changes or removes them.
func TestJobctlListsWorkersAndAddsAFlowJobTheyRun(t *testing.T) {
	c := newCenter(t)
	cl := newClient(t, c, "p")
	ctl := newCLI(t, "JOBCENTER_URL="+contractProxy(t, c.url), "JOBCENTER_PROJECT=p")

	if r := ctl.run(t, 0, "help"); !strings.Contains(r.stdout, "  workers ") {
		t.Fatalf("the overview lacks workers:\n%s", r.stdout)
	}
	for _, args := range [][]string{{"help", "add"}, {"update", "--help"}} {
		r := ctl.run(t, 0, args...)
		for _, want := range []string{"--worker-group GROUP", "--route string", "round_robin", "sharding"} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("jobctl %v lacks %q:\n%s", args, want, r.stdout)
			}
		}
	}
	if r := ctl.run(t, 0, "workers", "--help"); !strings.Contains(r.stdout, "Usage: jobctl workers [GROUP]") {
		t.Fatalf("workers --help:\n%s", r.stdout)
	}

	// None online.
	if r := ctl.run(t, 0, "workers"); !strings.Contains(r.stdout, "no worker of the project is online") {
		t.Fatalf("workers with none online:\n%s", r.stdout)
	}
	if r := ctl.run(t, 0, "workers", "g"); r.stdout != "no worker of group g is online: its fires wait\n" {
		t.Fatalf("workers g with none online:\n%s", r.stdout)
	}
	var g jobcenter.WorkerGroup
	ctl.run(t, 0, "workers", "g", "--json").json(t, &g)
	if g.Group != "g" || g.Workers == nil || len(g.Workers) != 0 {
		t.Fatalf("workers g --json: %+v", g)
	}
	var all struct{ Groups []jobcenter.WorkerGroup }
	if r := ctl.run(t, 0, "workers", "--json"); strings.TrimSpace(r.stdout) != "{\n  \"groups\": []\n}" {
		t.Fatalf("workers --json with none online:\n%s", r.stdout)
	}
	ctl.run(t, 1, "workers", "g", "h")
	var fail struct {
		Error struct {
			Status int    `json:"status"`
			Field  string `json:"field"`
		} `json:"error"`
	}
	if r := ctl.run(t, 2, "workers", "a b", "--json"); json.Unmarshal([]byte(r.stderr), &fail) != nil || fail.Error.Status != 400 || fail.Error.Field != "group" {
		t.Fatalf("workers 'a b': %s", r.stderr)
	}

	w := startWorker(t, c, "g")
	c.online(t, "g", w.id)
	wantRow := func(where string, row []string) {
		t.Helper()
		// ID HOST VERSION SINCE RUNNING/CAPACITY HANDLES LAST-HEARTBEAT STATE
		if len(row) != 8 || row[0] != w.id || row[4] != "0/8" || !slices.Contains(strings.Split(row[5], ","), "hello") || row[7] != "online" {
			t.Fatalf("%s shows the worker as %q", where, row)
		}
	}
	r := ctl.run(t, 0, "workers")
	rs := rows(r.stdout)
	if len(rs) != 3 || !slices.Equal(rs[0], []string{"GROUP", "ID", "HOST", "VERSION", "SINCE", "RUNNING/CAPACITY", "HANDLES", "LAST", "HEARTBEAT", "STATE"}) ||
		rs[1][0] != "g" || strings.Join(rs[2], " ") != "1 worker in 1 group" {
		t.Fatalf("workers:\n%s", r.stdout)
	}
	wantRow("workers", rs[1][1:])
	r = ctl.run(t, 0, "workers", "g")
	rs = rows(r.stdout)
	if len(rs) != 3 || rs[0][0] != "ID" || strings.Join(rs[2], " ") != "1 worker of group g online" {
		t.Fatalf("workers g:\n%s", r.stdout)
	}
	wantRow("workers g", rs[1])
	if r := ctl.run(t, 0, "workers", "other"); r.stdout != "no worker of group other is online: its fires wait\n" {
		t.Fatalf("workers other:\n%s", r.stdout)
	}
	ctl.run(t, 0, "workers", "--json").json(t, &all)
	if len(all.Groups) != 1 || all.Groups[0].Group != "g" || len(all.Groups[0].Workers) != 1 || all.Groups[0].Workers[0].ID != w.id {
		t.Fatalf("workers --json: %+v", all)
	}

	// A flow job its workers run: exec runs it on the worker.
	r = ctl.run(t, 0, "add", "--pid", pid, "--name", "hello", "--seconds", "300", "--flow-id", "hello", "--worker-group", "g")
	id := cell(t, r.stdout, "ID")
	if cell(t, r.stdout, "TARGET") != "flow hello" || cell(t, r.stdout, "WORKER GROUP") != "g" ||
		!strings.HasPrefix(cell(t, r.stdout, "ROUTE"), "round_robin (") {
		t.Fatalf("add --worker-group:\n%s", r.stdout)
	}
	r = ctl.run(t, 0, "exec", id)
	if !strings.Contains(r.stdout, "run id ") {
		t.Fatalf("exec:\n%s", r.stdout)
	}
	if e := waitRuns(t, cl, id, 1).Data[0]; e.ExeStatus != jobcenter.StatusSuccess || !strings.Contains(e.ExeDes, "hello from "+w.id) {
		t.Fatalf("the run on the worker: %s", mustJSON(e))
	}
	if r := ctl.run(t, 0, "journal", id); !strings.Contains(r.stdout, "hello from "+w.id) {
		t.Fatalf("journal:\n%s", r.stdout)
	}

	// Update: the route alone, then neither (kept), then the group removed.
	r = ctl.run(t, 0, "update", id, "--route", "sharding")
	if cell(t, r.stdout, "WORKER GROUP") != "g" || !strings.HasPrefix(cell(t, r.stdout, "ROUTE"), "sharding (") {
		t.Fatalf("update --route:\n%s", r.stdout)
	}
	r = ctl.run(t, 0, "update", id, "--name", "hello 2")
	if cell(t, r.stdout, "WORKER GROUP") != "g" || !strings.HasPrefix(cell(t, r.stdout, "ROUTE"), "sharding (") {
		t.Fatalf("update --name of a worker job:\n%s", r.stdout)
	}
	var j jobcenter.Job
	ctl.run(t, 0, "get", id, "--json").json(t, &j)
	if j.JobParameter.WorkerGroup != "g" || j.JobParameter.Route != jobcenter.RouteSharding {
		t.Fatalf("get --json: %s", mustJSON(j.JobParameter))
	}
	// Refusals name their field (exit 2).
	for _, tc := range []struct {
		args  []string
		field string
	}{
		{[]string{"update", id, "--route", "nearest"}, "route"},
		{[]string{"update", id, "--worker-group", "a b"}, "worker_group"},
		{[]string{"update", id, "--worker-group", "", "--route", "random"}, "route"},
		{[]string{"add", "--pid", pid, "--name", "x", "--seconds", "60", "--code", "return 1", "--worker-group", "g"}, "worker_group"},
	} {
		r := ctl.run(t, 2, append(tc.args, "--json")...)
		if err := json.Unmarshal([]byte(r.stderr), &fail); err != nil || fail.Error.Status != 400 || fail.Error.Field != tc.field {
			t.Fatalf("jobctl %v: %s, want a 400 naming %s", tc.args, r.stderr, tc.field)
		}
	}
	r = ctl.run(t, 0, "update", id, "--worker-group", "")
	if strings.Contains(r.stdout, "WORKER GROUP") || strings.Contains(r.stdout, "ROUTE") || cell(t, r.stdout, "TARGET") != "flow hello" {
		t.Fatalf("update --worker-group '':\n%s", r.stdout)
	}
	// Made a code job, a worker job leaves its group.
	r = ctl.run(t, 0, "update", id, "--worker-group", "g")
	if cell(t, r.stdout, "WORKER GROUP") != "g" || !strings.HasPrefix(cell(t, r.stdout, "ROUTE"), "round_robin (") {
		t.Fatalf("update --worker-group g:\n%s", r.stdout)
	}
	r = ctl.run(t, 0, "update", id, "--code", "return 1")
	if strings.Contains(r.stdout, "WORKER GROUP") || cell(t, r.stdout, "TARGET") != "code: return 1" {
		t.Fatalf("update --code of a worker job:\n%s", r.stdout)
	}

	// A Quartz schedule the group serves; a save without --worker-group has none.
	var saved jobcenter.Saved
	ctl.run(t, 0, "quartz", "save", "--name", "hello", "--cron", "0 0 12 * * ?", "--biz", "hello", "--worker-group", "g", "--route", "failover", "--json").json(t, &saved)
	ctl.run(t, 0, "get", saved.GroupJobID, "--json").json(t, &j)
	if j.JobParameter.WorkerGroup != "g" || j.JobParameter.Route != jobcenter.RouteFailover {
		t.Fatalf("quartz save --worker-group: %s", mustJSON(j.JobParameter))
	}
	ctl.run(t, 0, "quartz", "trigger", saved.GroupJobID)
	if e := waitRuns(t, cl, saved.GroupJobID, 1).Data[0]; e.ExeStatus != jobcenter.StatusSuccess || !strings.Contains(e.ExeDes, "hello from "+w.id) {
		t.Fatalf("the schedule's run on the worker: %s", mustJSON(e))
	}
	ctl.run(t, 0, "quartz", "save", "--name", "hello", "--cron", "0 0 12 * * ?", "--biz", "hello")
	j = jobcenter.Job{} // decoded afresh: an absent field would keep the last value
	ctl.run(t, 0, "get", saved.GroupJobID, "--json").json(t, &j)
	if j.JobParameter.WorkerGroup != "" {
		t.Fatalf("a save without --worker-group: %s", mustJSON(j.JobParameter))
	}
}
