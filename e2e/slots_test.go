package e2e_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// A max_instances slot is a lease on the broker's clock: a live run renews it for as long
// as it runs, so a second run of the job is skipped however long the first takes; a slot
// whose run died (its executor killed) is not renewed and frees itself at its TTL, and the
// next fire runs.
func TestARunsSlotLivesAsLongAsTheRunAndADeadRunsLapses(t *testing.T) {
	const redeliver = 2 * time.Second // slots live a second unrenewed
	c := newCenterWith(t, nil, func(cfg *executor.Config) { cfg.RedeliverAfter = redeliver })
	release := make(chan struct{})
	calls := holdingRunner(t, c.stack.NATSURL, release)
	b := intervalBody()
	delete(b, "code")
	b["flow_id"] = "slow"
	id := c.do("POST", "/api/v1/jobs", "p", b).must(t, 201).obj(t)["id"].(string)

	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	teststack.Eventually(t, 10*time.Second, "the first run never reached its runner", func() bool { return calls() == 1 })
	time.Sleep(3 * time.Second) // three slot TTLs: only renewals keep the slot
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	p := c.waitJournal("p", id, 2, "skipped", "running")
	if s := p.Data[0]["exestatus"]; s != "skipped" {
		t.Fatalf("second run while the first still goes: %v %v, want skipped", s, p.Data[0]["exedes"])
	}
	close(release)
	if e := c.waitJournal("p", id, 2, "skipped").Data[1]; e["exestatus"] != "success" {
		t.Fatalf("first run: %v %v, want success", e["exestatus"], e["exedes"])
	}

	// A dead executor's slot: taken, then never renewed.
	js, err := jetstream.New(connect(t, c.stack.NATSURL))
	if err != nil {
		t.Fatal(err)
	}
	slots, err := js.KeyValue(context.Background(), executor.SlotsBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slots.Create(context.Background(), contracts.Token(id)+".1", []byte("dead-run"), jetstream.KeyTTL(redeliver/2)); err != nil {
		t.Fatal(err)
	}
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	if e := c.waitJournal("p", id, 3, "skipped").Data[0]; e["exestatus"] != "skipped" {
		t.Fatalf("run beside a slot still held: %v %v, want skipped", e["exestatus"], e["exedes"])
	}
	// The dead run's slot lapses by itself: the broker expires it on its own timer, about
	// a second after its TTL or more when the machine is busy, so wait for that rather
	// than a fixed time.
	teststack.Eventually(t, 10*time.Second, "the dead run's slot never lapsed", func() bool {
		_, err := slots.Get(context.Background(), contracts.Token(id)+".1")
		return errors.Is(err, jetstream.ErrKeyNotFound)
	})
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	if e := c.waitJournal("p", id, 4, "skipped").Data[0]; e["exestatus"] != "success" {
		t.Fatalf("run after the dead run's slot lapsed: %v %v, want success", e["exestatus"], e["exedes"])
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
