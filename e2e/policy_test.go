package e2e_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger"
)

// flowRunner answers flow flowID of tenant p with fn's verdict, counting calls.
func flowRunner(t *testing.T, c *center, flowID string, fn func(call int64) contracts.FlowReply) *atomic.Int64 {
	t.Helper()
	nc := connect(t, c.stack.NATSURL)
	calls := &atomic.Int64{}
	_, err := nc.Subscribe(contracts.FlowSubject("p", flowID), func(m *nats.Msg) {
		data, _ := json.Marshal(fn(calls.Add(1)))
		checkRunnerCall(c, m, data)
		_ = m.Respond(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.FlushWithContext(context.Background())
	return calls
}

func flowJob(flowID string, extra map[string]any) map[string]any {
	b := intervalBody()
	delete(b, "code")
	b["flow_id"] = flowID
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func TestAFireThatComesWhileTheLastRunGoesOnIsSkippedBeyondMaxInstances(t *testing.T) {
	c := newCenter(t)
	flowRunner(t, c, "slow", func(int64) contracts.FlowReply {
		time.Sleep(1500 * time.Millisecond)
		return contracts.FlowReply{OK: true}
	})
	job := c.do("POST", "/api/v1/jobs", "p", flowJob("slow", nil)).must(t, 201).obj(t)
	if _, shown := job["jobParameter"].(map[string]any)["max_instances"]; shown {
		t.Fatal("a default policy must keep the SDK's exact jobParameter")
	}
	id := job["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	p := c.waitJournal("p", id, 2, "skipped")
	statuses := []any{p.Data[0]["exestatus"], p.Data[1]["exestatus"]}
	skipped := p.Data[0]
	if statuses[1] == "skipped" {
		skipped = p.Data[1]
	}
	if !(statuses[0] == "success" && statuses[1] == "skipped" || statuses[0] == "skipped" && statuses[1] == "success") ||
		!strings.Contains(skipped["exedes"].(string), "max_instances 1") {
		t.Fatalf("want one run and one skipped: %s", mustJSON(p.Data))
	}
}

func TestAFailingRunIsRetriedAsTheJobAsksAndCountsItsAttempts(t *testing.T) {
	c := newCenter(t)
	calls := flowRunner(t, c, "flaky", func(n int64) contracts.FlowReply {
		if n < 3 {
			return contracts.FlowReply{OK: false, Error: "flaky failure"}
		}
		return contracts.FlowReply{OK: true, Output: "third time lucky"}
	})
	job := c.do("POST", "/api/v1/jobs", "p", flowJob("flaky", map[string]any{"retries": 2, "retry_backoff": 0})).must(t, 201).obj(t)
	if p := job["jobParameter"].(map[string]any); p["retries"] != float64(2) {
		t.Fatalf("jobParameter: %s", mustJSON(p))
	}
	id := job["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	e := c.waitJournal("p", id, 1).Data[0]
	if e["exestatus"] != "success" || e["exetotaltime"] != float64(3) || e["exedes"] != "third time lucky" || calls.Load() != 3 {
		t.Fatalf("run: %s after %d calls", mustJSON(e), calls.Load())
	}
	// Without retries the first failure is final.
	once := c.do("POST", "/api/v1/jobs", "p", flowJob("flaky", nil)).must(t, 201).obj(t)["id"].(string)
	calls.Store(0)
	c.do("POST", "/api/v1/jobs/"+once+"/exec", "p", nil).must(t, 200)
	if e := c.waitJournal("p", once, 1).Data[0]; e["exestatus"] != "failure" || e["exetotaltime"] != float64(1) {
		t.Fatalf("no retries: %s", mustJSON(e))
	}
}

func TestARunLongerThanItsTimeoutIsStoppedAndFailsSayingWhichLimit(t *testing.T) {
	c := newCenter(t)
	c.stop("trigger")
	// 50 ms: a fast CPU takes its 10,000,000 steps in a quarter of a second, and the
	// run must end at its time limit, not at its step limit.
	c.startTrigger(func(cfg *trigger.Config) { cfg.ExecTimeout = 50 * time.Millisecond })
	body := intervalBody()
	body["code"] = "n = 0\nwhile True:\n    n += 1\n"
	id := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	e := c.waitJournal("p", id, 1).Data[0]
	if e["exestatus"] != "failure" || !strings.HasPrefix(e["exedes"].(string), "timeout: stopped at its limit of 50ms (the job's timeout, or JOBCENTER_EXEC_TIMEOUT for a job without one)") {
		t.Fatalf("run: %s", mustJSON(e))
	}
	if _, ok := c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200).obj(t)["jobParameter"].(map[string]any)["timeout"]; ok {
		t.Fatal("a job without its own timeout shows one")
	}
	// A job's own timeout is its runs' limit, shown in its parameters: a flow that answers
	// after 3 s (the job's 1 s is too short for a loop of code to outlast on every CPU).
	flowRunner(t, c, "slow", func(int64) contracts.FlowReply {
		time.Sleep(3 * time.Second)
		return contracts.FlowReply{OK: true}
	})
	own := c.do("POST", "/api/v1/jobs", "p", flowJob("slow", map[string]any{"timeout": 1})).must(t, 201).obj(t)
	if p := own["jobParameter"].(map[string]any); p["timeout"] != float64(1) {
		t.Fatalf("job parameters: %s", mustJSON(p))
	}
	c.do("POST", "/api/v1/jobs/"+own["id"].(string)+"/exec", "p", nil).must(t, 200)
	e = c.waitJournal("p", own["id"].(string), 1).Data[0]
	if e["exestatus"] != "failure" || !strings.HasPrefix(e["exedes"].(string), "timeout: stopped at its limit of 1s") {
		t.Fatalf("run with the job's timeout: %s", mustJSON(e))
	}
	body["timeout"] = 86401
	c.do("POST", "/api/v1/jobs", "p", body).must(t, 400)
}

func TestAFireLaterThanTheMisfireGraceTimeIsJournaledAsMissedNotRun(t *testing.T) {
	c := newCenter(t)
	body := intervalBody()
	body["seconds"], body["misfire_grace_time"] = 10, 1
	id := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
	// The scheduler is away for 45 s: the fires due at 10…40 s coalesce into one, at
	// 40 s, which comes 5 s late: beyond the grace. The fire at 50 s is on time.
	c.clk.Advance(45 * time.Second)
	c.waitJournal("p", id, 1, "skipped")
	c.clk.Advance(5 * time.Second)
	p := c.waitJournal("p", id, 2, "skipped")
	newest, missed := p.Data[0], p.Data[1]
	if newest["exestatus"] != "success" || newest["triggerstatus"] != "success" {
		t.Fatalf("the on-time fire: %s", mustJSON(newest))
	}
	if missed["triggerstatus"] != "missed" || missed["exestatus"] != "skipped" || !strings.Contains(missed["exedes"].(string), "misfire_grace_time") {
		t.Fatalf("the missed fire: %s", mustJSON(missed))
	}
}

// A job that does not coalesce runs each fire of a catch-up, one after the other in the
// order they were due, although they are all due at once and the job allows one run at a
// time: none is skipped for the others holding its max_instances slot.
func TestACatchUpThatDoesNotCoalesceRunsEachFireOneByOneInOrder(t *testing.T) {
	c := newCenter(t)
	nc := connect(t, c.stack.NATSURL)
	var (
		mu            sync.Mutex
		due           []time.Time // as the runs began
		running, most int
	)
	_, err := nc.Subscribe(contracts.FlowSubject("p", "catchup"), func(m *nats.Msg) {
		var req contracts.FlowRequest
		_ = json.Unmarshal(m.Data, &req)
		mu.Lock()
		running++
		most = max(most, running)
		due = append(due, req.ScheduledAt)
		mu.Unlock()
		defer func() { mu.Lock(); running--; mu.Unlock() }()
		time.Sleep(100 * time.Millisecond)
		data, _ := json.Marshal(contracts.FlowReply{V: contracts.Version, OK: true})
		checkRunnerCall(c, m, data)
		_ = m.Respond(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.FlushWithContext(context.Background())
	id := c.do("POST", "/api/v1/jobs", "p", flowJob("catchup", map[string]any{"seconds": 10, "coalesce": false})).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
	// The scheduler is away for 45 s: the fires due at 10, 20, 30 and 40 s come at once.
	c.clk.Advance(45 * time.Second)
	p := c.waitJournal("p", id, 4, "skipped")
	for _, e := range p.Data {
		if e["exestatus"] != "success" {
			t.Fatalf("every fire of the catch-up must run: %s", mustJSON(p.Data))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(due) != 4 || !slices.IsSortedFunc(due, func(a, b time.Time) int { return a.Compare(b) }) || most != 1 {
		t.Fatalf("runs began for the instants %v, at most %d at once; want 4, in order, one at a time", due, most)
	}
	if gap := due[3].Sub(due[0]); gap != 30*time.Second {
		t.Fatalf("the runs are for instants %v apart; want the catch-up's 10, 20, 30 and 40 s", gap)
	}
}
