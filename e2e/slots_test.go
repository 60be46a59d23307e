package e2e_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// A run holds its job (max_instances 1) for as long as it goes on, however long that
// takes: a fire meanwhile is skipped. A run whose executor died (its running report
// stored, nothing heard of it since) holds the job only until it has been silent for half
// the redelivery time, and the next fire runs.
func TestARunHoldsItsJobAsLongAsItGoesOnAndADeadRunsHoldLapses(t *testing.T) {
	const redeliver = 4 * time.Second // keepalives every second; silent for 2 s is dead
	c := newCenterWith(t, nil, func(cfg *executor.Config) { cfg.RedeliverAfter = redeliver })
	release := make(chan struct{})
	calls := holdingRunner(t, c.stack.NATSURL, release)
	b := intervalBody()
	delete(b, "code")
	b["flow_id"] = "slow"
	id := c.do("POST", "/api/v1/jobs", "p", b).must(t, 201).obj(t)["id"].(string)

	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	teststack.Eventually(t, 10*time.Second, "the first run never reached its runner", func() bool { return calls() == 1 })
	time.Sleep(redeliver) // twice the silence after which a run counts as dead: only keepalives hold the job
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	p := c.waitJournal("p", id, 2, "skipped", "running")
	if s := p.Data[0]["exestatus"]; s != "skipped" {
		t.Fatalf("second run while the first still goes: %v %v, want skipped", s, p.Data[0]["exedes"])
	}
	close(release)
	if e := c.waitJournal("p", id, 2, "skipped").Data[1]; e["exestatus"] != "success" {
		t.Fatalf("first run: %v %v, want success", e["exestatus"], e["exedes"])
	}

	// A dead executor's run: its running report stored, then nothing.
	nc := connect(t, c.stack.NATSURL)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	dead := contracts.RunEvent{V: contracts.Version, FireID: id + "@dead", JournalID: id + ":99", Tenant: "p", JobID: id,
		Status: contracts.RunRunning, DynamicID: "dead-run", Attempts: 1, StartedAt: time.Now().UTC()}
	data, _ := json.Marshal(dead)
	if _, err := js.Publish(context.Background(), contracts.RunSubject("p", id, contracts.RunRunning), data); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	e := c.waitJournal("p", id, 3, "skipped").Data[0]
	if time.Since(began) < redeliver/2 && e["exestatus"] != "skipped" {
		t.Fatalf("run beside a run heard of %v ago: %v %v, want skipped", time.Since(began).Round(time.Millisecond), e["exestatus"], e["exedes"])
	}
	time.Sleep(time.Until(began.Add(redeliver/2 + 200*time.Millisecond)))
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	if e := c.waitJournal("p", id, 4, "skipped").Data[0]; e["exestatus"] != "success" {
		t.Fatalf("run after the dead run went silent: %v %v, want success", e["exestatus"], e["exedes"])
	}
}

// holdingRunner answers flow "slow" of tenant p once release is closed; calls counts the
// requests.
func holdingRunner(t *testing.T, url string, release <-chan struct{}) (calls func() int64) {
	t.Helper()
	nc := connect(t, url)
	var n atomic.Int64
	_, err := nc.Subscribe(contracts.FlowSubject("p", "slow"), func(m *nats.Msg) {
		n.Add(1)
		go func() { <-release; _ = m.Respond([]byte(`{"ok":true,"output":"held"}`)) }()
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	return n.Load
}
