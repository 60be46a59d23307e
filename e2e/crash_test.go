package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// cluster is the services as separate processes over one stack.
type cluster struct {
	t      *testing.T
	bin    string
	stack  *teststack.Stack
	common []string
	http   string
	procs  map[string]*proc
	env    map[string][]string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	bin, err := buildServices()
	if err != nil {
		t.Fatalf("build services: %v", err)
	}
	st := teststack.Start(t)
	cl := &cluster{t: t, bin: bin, stack: st, http: freeAddr(t), procs: map[string]*proc{}, env: map[string][]string{}}
	cl.common = []string{"NATS_URL=" + st.NATSURL, "MONGO_URI=" + st.MongoURI, "JOBCENTER_MONGO_DB=" + st.DB,
		"JOBCENTER_LOG_LEVEL=info", "JOBCENTER_LEASE_TTL=2s", "JOBCENTER_EXEC_REDELIVER_AFTER=2s"}
	return cl
}

// start starts (or restarts) the named instance of a service program.
func (cl *cluster) start(name, program string, env ...string) {
	cl.t.Helper()
	if env == nil {
		env = cl.env[name]
	}
	cl.env[name] = env
	all := append(append([]string{}, cl.common...), env...)
	switch program {
	case "api":
		all = append(all, "JOBCENTER_HTTP_ADDR="+cl.http)
	case "executor":
		all = append(all, "JOBCENTER_API_URL=http://"+cl.http, "JOBCENTER_HEALTH_ADDR="+freeAddr(cl.t))
	case "trigger":
		all = append(all, "JOBCENTER_HEALTH_ADDR="+freeAddr(cl.t), "JOBCENTER_INSTANCE_ID="+name)
	}
	cl.procs[name] = startProc(cl.t, cl.bin, program, all...)
}

// startedCluster starts an api, an executor and a trigger as processes, ready.
func startedCluster(t *testing.T) (*cluster, *center) {
	t.Helper()
	cl := newCluster(t)
	for _, name := range []string{"api", "executor", "trigger"} {
		cl.start(name, name)
	}
	return cl, cl.center()
}

// twoTriggers starts an api, an executor and two triggers (t1, t2: one active, one
// standing by) as processes, ready.
func twoTriggers(t *testing.T) (*cluster, *center) {
	t.Helper()
	cl := newCluster(t)
	cl.start("api", "api")
	cl.start("executor", "executor")
	cl.start("t1", "trigger")
	cl.start("t2", "trigger")
	return cl, cl.center()
}

func (cl *cluster) center() *center {
	c := &center{t: cl.t, stack: cl.stack, url: "http://" + cl.http}
	c.waitReady()
	return c
}

// activeTrigger reads which trigger instance holds the lease.
func (cl *cluster) activeTrigger() string {
	cl.t.Helper()
	nc := connect(cl.t, cl.stack.NATSURL)
	js, _ := jetstream.New(nc)
	var holder string
	teststack.Eventually(cl.t, 10*time.Second, "no trigger holds the lease", func() bool {
		kv, err := js.KeyValue(context.Background(), trigger.LeaseBucket)
		if err != nil {
			return false
		}
		e, err := kv.Get(context.Background(), "trigger")
		if err != nil {
			return false
		}
		holder = string(e.Value())
		return true
	})
	return holder
}

// startedJobs adds and starts n interval jobs of every second.
func startedJobs(t *testing.T, c *center, project string, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		b := intervalBody()
		b["seconds"], b["code"] = 1, fmt.Sprintf("return %d", i)
		id := c.do("POST", "/api/v1/jobs", project, b).must(t, 201).obj(t)["id"].(string)
		c.do("POST", "/api/v1/jobs/"+id+"/start", project, nil).must(t, 200)
		ids = append(ids, id)
	}
	return ids
}

// outage is a stretch of time when no trigger was active: fires due then coalesce into
// one catch-up fire (the SDK's default), so the journal may skip instants across it.
type outage struct{ from, to time.Time }

// runsOnce checks a job's whole journal: consecutive scheduled instants a second apart,
// none twice, none missing but across an outage, every run finished. It returns the
// scheduled instants.
func runsOnce(t *testing.T, c *center, project, id string, outages ...outage) []time.Time {
	t.Helper()
	var p journalPage
	teststack.Eventually(t, 20*time.Second, "the journal never settled", func() bool {
		p = c.journal(project, id, 1, 1000)
		for _, e := range p.Data {
			if s := e["exestatus"]; s == "running" || s == "waiting" {
				return false
			}
		}
		return len(p.Data) == p.ResultCount && p.ResultCount > 0
	})
	var at []time.Time
	// max_instances is 1: a fire is skipped while another run of the job goes on — fires
	// of the same job delivered together after an executor restart, or a killed run that
	// held the slot until it lapsed. So a skipped run must fall within another run's span
	// (an interrupted run's span ends when it was found cut off).
	type span struct{ from, to time.Time }
	var runs []span
	for _, e := range p.Data {
		if e["exestatus"] != "skipped" && e["exestarttime"] != nil && e["updatetime"] != nil {
			runs = append(runs, span{parseJournalTime(t, e["exestarttime"]), parseJournalTime(t, e["updatetime"])})
		}
	}
	const tick = 5 * time.Millisecond // journal times are milliseconds, from different processes
	for i := len(p.Data) - 1; i >= 0; i-- {
		e := p.Data[i]
		if e["triggerstatus"] != "success" {
			t.Errorf("job %s run %v: triggerstatus %v", id, e["triggerid"], e["triggerstatus"])
		}
		des := fmt.Sprint(e["exedes"])
		switch {
		case e["exestatus"] == "success", strings.Contains(des, "interrupted"):
		case e["exestatus"] == "skipped" && strings.Contains(des, "still going"):
			skippedAt := parseJournalTime(t, e["exestarttime"])
			if !slices.ContainsFunc(runs, func(r span) bool {
				return !skippedAt.Before(r.from.Add(-tick)) && !skippedAt.After(r.to.Add(tick))
			}) {
				t.Errorf("job %s run %v skipped at %v, when no other run of the job was going", id, e["triggerid"], skippedAt)
			}
		default:
			t.Errorf("job %s run %v: %v %v", id, e["triggerid"], e["exestatus"], e["exedes"])
		}
		at = append(at, parseJournalTime(t, e["triggertime"]))
	}
	for i := 1; i < len(at); i++ {
		d := at[i].Sub(at[i-1])
		across := slices.ContainsFunc(outages, func(o outage) bool { return at[i-1].Before(o.to) && at[i].After(o.from) })
		if d != time.Second && !(across && d > 0 && d%time.Second == 0) {
			t.Errorf("job %s: runs at %v then %v: %v apart; want every second once", id, at[i-1].Format(time.TimeOnly+".000"), at[i].Format(time.TimeOnly+".000"), d)
		}
	}
	return at
}

func TestWhenTheActiveTriggerIsKilledAStandbyTakesOverAndNoFireIsLostOrDoubled(t *testing.T) {
	cl, c := twoTriggers(t)
	ids := startedJobs(t, c, "p", 5)
	time.Sleep(2500 * time.Millisecond)

	active := cl.activeTrigger()
	killed := time.Now()
	cl.procs[active].kill9(t)
	standby := map[string]string{"t1": "t2", "t2": "t1"}[active]
	teststack.Eventually(t, 15*time.Second, "the standby never took the lease", func() bool { return cl.activeTrigger() == standby })
	// Fires resume, and the ones due meanwhile are caught up, within ten seconds.
	for _, id := range ids {
		teststack.Eventually(t, 10*time.Second, "no fire after the takeover", func() bool {
			p := c.journal("p", id, 1, 1)
			return len(p.Data) == 1 && parseJournalTime(t, p.Data[0]["triggertime"]).After(killed.Add(2*time.Second))
		})
	}
	tookOver := time.Since(killed)
	time.Sleep(time.Second)
	for _, id := range ids {
		c.do("POST", "/api/v1/jobs/"+id+"/stop", "p", nil).must(t, 200)
	}
	total := 0
	for _, id := range ids {
		at := runsOnce(t, c, "p", id, outage{killed, killed.Add(tookOver)})
		total += len(at)
		if !at[0].Before(killed) || !at[len(at)-1].After(killed) {
			t.Errorf("job %s: runs do not span the kill", id)
		}
	}
	t.Logf("active trigger %s killed; %s took over; fires on time again %v later; %d fires over %d jobs, none lost or doubled", active, standby, tookOver.Round(time.Millisecond), total, len(ids))
}

func TestKillingEachServiceUnderLoadLosesNoWriteAndNoFire(t *testing.T) {
	cl, c := startedCluster(t)
	ids := startedJobs(t, c, "p", 5)

	// A writer adds jobs all along; every answered 201 or 202 must exist in the end.
	var mu sync.Mutex
	var accepted []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		hc := &http.Client{Timeout: 3 * time.Second}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			req, _ := http.NewRequest("POST", c.url+"/api/v1/jobs", strings.NewReader(fmt.Sprintf(
				`{"pid":"w","name":"w%d","trigger":"interval","seconds":60,"code":"return 1"}`, i)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Project-Id", "writer")
			resp, err := hc.Do(req)
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			var body map[string]any
			_ = jsonDecode(resp, &body)
			if resp.StatusCode == 201 || resp.StatusCode == 202 {
				mu.Lock()
				accepted = append(accepted, body["id"].(string))
				mu.Unlock()
			}
		}
	}()

	time.Sleep(2 * time.Second)
	var down outage
	for _, name := range []string{"trigger", "executor", "api"} {
		killed := time.Now()
		cl.procs[name].kill9(t)
		time.Sleep(500 * time.Millisecond)
		cl.start(name, name)
		c.waitReady()
		if name == "trigger" {
			down = outage{killed, time.Now().Add(time.Second)}
		}
		time.Sleep(2 * time.Second)
	}
	close(stop)
	wg.Wait()
	for _, id := range ids {
		c.do("POST", "/api/v1/jobs/"+id+"/stop", "p", nil).must(t, 200)
	}
	fires := 0
	for _, id := range ids {
		fires += len(runsOnce(t, c, "p", id, down))
	}
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for _, id := range accepted {
		ok := false
		for try := 0; try < 100 && !ok; try++ {
			ok = c.do("GET", "/api/v1/jobs/"+id, "writer", nil).status == 200
			if !ok {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if !ok {
			missing++
		}
	}
	if missing > 0 || len(accepted) == 0 {
		t.Fatalf("%d of %d accepted writes were lost", missing, len(accepted))
	}
	var list []map[string]any
	r := c.do("GET", "/api/v1/jobs?size=1000", "writer", nil).must(t, 200)
	r.json(t, &list)
	names := map[string]bool{}
	for _, j := range list {
		if names[j["name"].(string)] {
			t.Errorf("write %s applied twice", j["name"])
		}
		names[j["name"].(string)] = true
	}
	t.Logf("killed trigger, executor, api in turn: %d writes accepted, all applied once; %d fires over %d jobs, none lost or doubled", len(accepted), fires, len(ids))
}

// slowRunner answers flow "slow" of tenant p after d; calls reports the calls per fire.
func slowRunner(t *testing.T, url string, d time.Duration) (calls func() map[string]int) {
	t.Helper()
	nc := connect(t, url)
	var mu sync.Mutex
	counts := map[string]int{}
	_, err := nc.Subscribe(contracts.FlowSubject("p", "slow"), func(m *nats.Msg) {
		var req contracts.FlowRequest
		_ = json.Unmarshal(m.Data, &req)
		mu.Lock()
		counts[req.FireID]++
		mu.Unlock()
		go func() { time.Sleep(d); _ = m.Respond([]byte(`{"ok":true,"output":"slow done"}`)) }()
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	return func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(counts)
	}
}

// execSlowFlow adds a job of flow "slow", runs it now, and waits until it is running.
func execSlowFlow(t *testing.T, c *center) string {
	t.Helper()
	body := intervalBody()
	delete(body, "code")
	body["flow_id"] = "slow"
	id := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	teststack.Eventually(t, 10*time.Second, "the run never started", func() bool {
		p := c.journal("p", id, 1, 1)
		return len(p.Data) == 1 && p.Data[0]["exestatus"] == "running"
	})
	return id
}

func TestARunCutOffByKillingItsExecutorEndsFailedAndIsNotRunAgain(t *testing.T) {
	cl, c := startedCluster(t)
	calls := slowRunner(t, cl.stack.NATSURL, 3*time.Second)
	id := execSlowFlow(t, c)
	cl.procs["executor"].kill9(t)
	cl.start("executor", "executor")
	e := c.waitJournal("p", id, 1).Data[0]
	if e["exestatus"] != "failure" || !strings.Contains(e["exedes"].(string), "interrupted") {
		t.Fatalf("cut-off run: %s", mustJSON(e))
	}
	// Past another redelivery wait, the fire has still run exactly once.
	time.Sleep(3 * time.Second)
	if got := calls(); len(got) != 1 || got[e["triggerid"].(string)] != 1 {
		t.Fatalf("runs at the runner per fire: %v; want the one fire once", got)
	}
}

func TestOnSigtermAnExecutorFinishesTheRunUnderWayAndExitsZero(t *testing.T) {
	cl, c := startedCluster(t)
	slowRunner(t, cl.stack.NATSURL, 1500*time.Millisecond)
	id := execSlowFlow(t, c)
	cl.procs["executor"].term(t) // fails the test unless it exits 0
	if e := c.waitJournal("p", id, 1).Data[0]; e["exestatus"] != "success" || e["exedes"] != "slow done" {
		t.Fatalf("the run under way at SIGTERM: %s", mustJSON(e))
	}
}

func TestFiresQueuedBehindBusyExecutorsPastTheirAckDeadlineRunOnceAndSucceed(t *testing.T) {
	c := newCenterWith(t, nil, func(cfg *executor.Config) { cfg.Concurrency, cfg.RedeliverAfter = 1, time.Second })
	c.startExecutor() // a second executor instance
	calls := slowRunner(t, c.stack.NATSURL, 1500*time.Millisecond)
	body := intervalBody()
	delete(body, "code")
	body["flow_id"], body["max_instances"] = "slow", 8
	var ids []string
	for i := 0; i < 8; i++ {
		id := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)["id"].(string)
		c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
		ids = append(ids, id)
	}
	for _, id := range ids {
		if e := c.waitJournal("p", id, 1).Data[0]; e["exestatus"] != "success" {
			t.Fatalf("a queued run: %s", mustJSON(e))
		}
	}
	got := calls()
	if len(got) != 8 {
		t.Fatalf("runner saw %d fires, want 8: %v", len(got), got)
	}
	for fire, n := range got {
		if n != 1 {
			t.Fatalf("fire %s ran %d times", fire, n)
		}
	}
}
