package e2e_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// The example worker (examples/worker), built once for the tests.
var (
	workerOnce sync.Once
	workerBin  string
	workerErr  error
)

func buildWorker(t *testing.T) string {
	t.Helper()
	workerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "jobcenter-worker")
		if err != nil {
			workerErr = err
			return
		}
		workerBin = filepath.Join(dir, "worker")
		build := exec.Command("go", "build", "-o", workerBin, "./examples/worker")
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			workerErr = err
			t.Logf("%s", out)
		}
	})
	if workerErr != nil {
		t.Fatalf("build the example worker: %v", workerErr)
	}
	return workerBin
}

// workerProc is an example worker running as its own process.
type workerProc struct {
	id     string
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan error
}

var joined = regexp.MustCompile(`worker ([0-9a-f]+) joined group`)

// startWorker runs an example worker of tenant p in group, with its flags.
func startWorker(t *testing.T, c *center, group string, flags ...string) *workerProc {
	t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command(buildWorker(t), append([]string{"-group", group}, flags...)...)
	cmd.Env = append(os.Environ(), "NATS_URL="+c.stack.NATSURL, "JOBCENTER_TENANT=p")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &workerProc{cmd: cmd, out: out, exited: make(chan error, 1)}
	go func() { w.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("worker %s's output:\n%s", w.id, out.String())
		}
	})
	teststack.Eventually(t, 10*time.Second, "the worker never said it joined", func() bool {
		m := joined.FindStringSubmatch(out.String())
		if m != nil {
			w.id = m[1]
		}
		return m != nil
	})
	return w
}

// online waits until the registry lists exactly the workers ids of group.
func (c *center) online(t *testing.T, group string, ids ...string) {
	t.Helper()
	var got struct {
		Group   string
		Workers []map[string]any
	}
	teststack.Eventually(t, 15*time.Second, "the registry never listed the workers", func() bool {
		c.do("GET", "/api/v1/workers/"+group, "p", nil).must(t, 200).json(t, &got)
		if len(got.Workers) != len(ids) {
			return false
		}
		for i, id := range ids {
			if got.Workers[i]["id"] != id {
				return false
			}
		}
		return true
	})
}

func workerJob(name, flow, group, route string) map[string]any {
	j := map[string]any{"pid": pid, "name": name, "description": "", "trigger": "interval", "seconds": 300,
		"flow_id": flow, "worker_group": group, "timeout": 120}
	if route != "" {
		j["route"] = route
	}
	return j
}

func TestWorkersRunTheirGroupsFlowsByRouteAndTheRegistryListsThem(t *testing.T) {
	c := newCenter(t)
	c.online(t, "g")
	// A fire of a group with no worker online waits for one instead of failing.
	helloJob := workerJob("hello", "hello", "g", "round_robin")
	helloJob["max_instances"] = 5 // the execs below come at once: none is skipped for another
	hello := c.do("POST", "/api/v1/jobs", "p", helloJob).must(t, 201).obj(t)
	if p := hello["jobParameter"].(map[string]any); p["worker_group"] != "g" || p["route"] != "round_robin" {
		t.Fatalf("the job's parameters: %v", p)
	}
	id := hello["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	teststack.Eventually(t, 10*time.Second, "the fire was not journaled", func() bool { return c.journal("p", id, 1, 10).ResultCount == 1 })
	if e := c.journal("p", id, 1, 10).Data[0]; e["exestatus"] != "waiting" {
		t.Fatalf("a fire with no worker online: %s", mustJSON(e))
	}
	a := startWorker(t, c, "g")
	c.online(t, "g", a.id)
	e := c.waitJournal("p", id, 1).Data[0]
	if e["exestatus"] != "success" || !strings.Contains(e["exedes"].(string), "hello from "+a.id) {
		t.Fatalf("the waiting fire, once a worker came: %s", mustJSON(e))
	}

	// Round robin: two workers take the job's runs in turn.
	b := startWorker(t, c, "g")
	c.online(t, "g", a.id, b.id)
	for range 4 {
		c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	}
	ran := map[string]int{}
	for _, e := range c.waitJournal("p", id, 5).Data[:4] {
		for _, w := range []*workerProc{a, b} {
			if strings.Contains(e["exedes"].(string), "hello from "+w.id) {
				ran[w.id]++
			}
		}
	}
	if ran[a.id] != 2 || ran[b.id] != 2 {
		t.Fatalf("round robin over two workers: %v", ran)
	}

	// A Quartz behaviour served by the group: its bizcode names the handler. The export
	// keeps the group and the route, and an import of it changes nothing.
	var saved struct {
		RespData map[string]string `json:"resp_data"`
	}
	withGroup := save("hello by workers", "0 0 12 * * ?", "hello")
	withGroup["xw_quartz"].(map[string]any)["worker_group"] = "g"
	withGroup["xw_quartz"].(map[string]any)["route"] = "failover"
	c.quartz("bizcronjob", "p", withGroup).must(t, 200).json(t, &saved)
	sid := saved.RespData["group_job_id"]
	c.quartz("bizcronjob", "p", opt("trigger", sid)).must(t, 200)
	if e := c.waitJournal("p", sid, 1).Data[0]; e["exestatus"] != "success" || !strings.Contains(e["exedes"].(string), "hello from "+a.id) {
		t.Fatalf("the behaviour's run, failover to the first worker: %s", mustJSON(e))
	}
	export := c.do("GET", "/api/v1/export", "p", nil).must(t, 200)
	var doc struct{ Schedules []map[string]any }
	export.json(t, &doc)
	if len(doc.Schedules) != 1 || doc.Schedules[0]["worker_group"] != "g" || doc.Schedules[0]["route"] != "failover" {
		t.Fatalf("the export's schedules: %v", doc.Schedules)
	}
	var imported struct{ Change, Leave []map[string]any }
	c.do("POST", "/api/v1/import", "p", string(export.body)).must(t, 200).json(t, &imported)
	if len(imported.Change) != 0 {
		t.Fatalf("importing the export changed %v", imported.Change)
	}

	// Sharding: every worker runs the fire, each its shard; one journal entry shows each.
	shard := c.do("POST", "/api/v1/jobs", "p", workerJob("shards", "shard", "g", "sharding")).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+shard+"/exec", "p", nil).must(t, 200)
	e = c.waitJournal("p", shard, 1).Data[0]
	detail := e["exedes"].(string)
	for _, want := range []string{"shard 0/2 on worker " + a.id, "shard 1/2 on worker " + b.id, "shard 0 of 2 on " + a.id, "shard 1 of 2 on " + b.id} {
		if e["exestatus"] != "success" || !strings.Contains(detail, want) {
			t.Fatalf("a sharded run lacks %q: %s", want, mustJSON(e))
		}
	}

	// Failover: the first worker to join takes the runs while it is there; once it is
	// gone (killed: it stops sending heartbeats), the next.
	fo := c.do("POST", "/api/v1/jobs", "p", workerJob("failover", "hello", "g", "failover")).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+fo+"/exec", "p", nil).must(t, 200)
	if e := c.waitJournal("p", fo, 1).Data[0]; !strings.Contains(e["exedes"].(string), "hello from "+a.id) {
		t.Fatalf("failover while the first worker is there: %s", mustJSON(e))
	}
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	c.online(t, "g", b.id)
	c.do("POST", "/api/v1/jobs/"+fo+"/exec", "p", nil).must(t, 200)
	if e := c.waitJournal("p", fo, 2).Data[0]; !strings.Contains(e["exedes"].(string), "hello from "+b.id) {
		t.Fatalf("failover once the first worker is gone: %s", mustJSON(e))
	}

	// A worker stopped (SIGTERM) leaves the list at once.
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-b.exited:
		if err != nil {
			t.Fatalf("the worker stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not stop")
	}
	var all struct{ Groups []map[string]any }
	c.do("GET", "/api/v1/workers", "p", nil).must(t, 200).json(t, &all)
	if len(all.Groups) != 0 {
		t.Fatalf("the registry still lists %v", all.Groups)
	}
	// Another project sees none of these workers.
	c.do("GET", "/api/v1/workers", "q", nil).must(t, 200).json(t, &all)
	if len(all.Groups) != 0 {
		t.Fatalf("another project sees %v", all.Groups)
	}
}

func TestAWorkerKilledMidRunHasItsRunJournaledInterruptedOnce(t *testing.T) {
	c := newCenter(t)
	w := startWorker(t, c, "g", "-slow", "60s")
	c.online(t, "g", w.id)
	id := c.do("POST", "/api/v1/jobs", "p", workerJob("slow", "slow", "g", "")).must(t, 201).obj(t)["id"].(string)
	// The run's live log: the worker logs a line a second.
	logs, err := connect(t, c.stack.NATSURL).SubscribeSync(contracts.TenantLogs("p"))
	if err != nil {
		t.Fatal(err)
	}
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	for seen := ""; !strings.Contains(seen, "second 1"); {
		m, err := logs.NextMsg(15 * time.Second)
		if err != nil {
			t.Fatalf("the run's second line never came: %v (so far %s)", err, seen)
		}
		seen += string(m.Data)
	}
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	e := c.waitJournal("p", id, 1).Data[0]
	if d := e["exedes"].(string); e["exestatus"] != "failure" || !strings.Contains(d, "interrupted: the worker "+w.id) ||
		!strings.Contains(d, "\nworker "+w.id) || !strings.Contains(d, "second 0\n") || !strings.Contains(d, "second 1") {
		t.Fatalf("a run whose worker was killed, with the lines it logged first: %s", mustJSON(e))
	}
	// Its one end is the interruption: nothing more is journaled once another worker
	// joins, and the job runs again on it.
	w2 := startWorker(t, c, "g", "-slow", "1s")
	c.online(t, "g", w2.id)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	p := c.waitJournal("p", id, 2)
	if p.Data[0]["exestatus"] != "success" || p.Data[1]["exestatus"] != "failure" {
		t.Fatalf("after the interruption: %s", mustJSON(p.Data))
	}
}

// A worker listed by its heartbeats that does not answer yet (after a broker's restart,
// workers reconnect a moment after the executors) has the run wait for it rather than
// fail "no worker took the run".
func TestARunWaitsForAListedWorkerThatAnswersAMomentLater(t *testing.T) {
	c := newCenter(t)
	nc := connect(t, c.stack.NATSURL)
	beat, _ := json.Marshal(contracts.WorkerBeat{V: contracts.Version, ID: "late", Group: "g", Handles: []string{"hello"},
		Since: time.Now().UTC(), Capacity: 4})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			_ = nc.Publish(contracts.WorkerBeatSubject("p", "g", "late"), beat)
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	c.online(t, "g", "late")
	id := c.do("POST", "/api/v1/jobs", "p", workerJob("hello", "hello", "g", "")).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	teststack.Eventually(t, 10*time.Second, "the run never began", func() bool {
		p := c.journal("p", id, 1, 1)
		return len(p.Data) == 1 && p.Data[0]["exestatus"] == "running"
	})
	time.Sleep(time.Second) // no one answers the task meanwhile
	answer, _ := json.Marshal(contracts.WorkerResult{V: contracts.Version, OK: true, Output: "answered late"})
	if _, err := nc.Subscribe(contracts.WorkerTaskSubject("p", "late"), func(m *nats.Msg) { _ = m.Respond(answer) }); err != nil {
		t.Fatal(err)
	}
	if e := c.waitJournal("p", id, 1).Data[0]; e["exestatus"] != "success" || !strings.Contains(e["exedes"].(string), "answered late") {
		t.Fatalf("a run whose listed worker answered a moment later: %s", mustJSON(e))
	}
}

// The same for a sharded run: each shard waits for its listed worker a moment.
func TestAShardWaitsForItsListedWorkerThatAnswersAMomentLater(t *testing.T) {
	c := newCenter(t)
	nc := connect(t, c.stack.NATSURL)
	stop := make(chan struct{})
	defer close(stop)
	for _, id := range []string{"a", "b"} {
		beat, _ := json.Marshal(contracts.WorkerBeat{V: contracts.Version, ID: id, Group: "g", Handles: []string{"shard"},
			Since: time.Now().UTC(), Capacity: 4})
		go func() {
			for {
				_ = nc.Publish(contracts.WorkerBeatSubject("p", "g", id), beat)
				select {
				case <-stop:
					return
				case <-time.After(500 * time.Millisecond):
				}
			}
		}()
	}
	c.online(t, "g", "a", "b")
	answer := func(id string) {
		data, _ := json.Marshal(contracts.WorkerResult{V: contracts.Version, OK: true, Output: "shard by " + id})
		if _, err := nc.Subscribe(contracts.WorkerTaskSubject("p", id), func(m *nats.Msg) { _ = m.Respond(data) }); err != nil {
			t.Fatal(err)
		}
	}
	answer("a")
	id := c.do("POST", "/api/v1/jobs", "p", workerJob("shards", "shard", "g", "sharding")).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	teststack.Eventually(t, 10*time.Second, "the run never began", func() bool {
		p := c.journal("p", id, 1, 1)
		return len(p.Data) == 1 && p.Data[0]["exestatus"] == "running"
	})
	time.Sleep(time.Second) // b does not answer meanwhile
	answer("b")
	e := c.waitJournal("p", id, 1).Data[0]
	if d, _ := e["exedes"].(string); e["exestatus"] != "success" || !strings.Contains(d, "shard by a") || !strings.Contains(d, "shard by b") {
		t.Fatalf("a sharded run whose second worker answered a moment later: %s", mustJSON(e))
	}
}
