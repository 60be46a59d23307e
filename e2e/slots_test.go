package e2e_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/executor"
)

// A run killed with its executor leaves its max_instances slot behind. The next fire of
// the job takes the slot over once the dead run's claim shows it over or stale, rather
// than being skipped until the slot's TTL; a live run's slot is still respected.
func TestASlotLeftByADeadRunIsTakenOverAndALiveRunsIsNot(t *testing.T) {
	c := newCenter(t)
	js, err := jetstream.New(connect(t, c.stack.NATSURL))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	slots, err := js.KeyValue(ctx, executor.SlotsBucket)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := js.KeyValue(ctx, executor.ClaimsBucket)
	if err != nil {
		t.Fatal(err)
	}
	b := intervalBody()
	b["code"] = "return 1"
	id := c.do("POST", "/api/v1/jobs", "p", b).must(t, 201).obj(t)["id"].(string)
	slot := contracts.Token(id) + ".1"
	hold := func(claim, state string) {
		t.Helper()
		if _, err := claims.Put(ctx, claim, []byte(state)); err != nil {
			t.Fatal(err)
		}
		if _, err := slots.Put(ctx, slot, []byte("run-"+claim+" "+claim)); err != nil {
			t.Fatal(err)
		}
	}

	// The holder's claim says its run is done (its executor died before freeing the slot).
	hold("fire-finished", "done")
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	if e := c.waitJournal("p", id, 1, "skipped").Data[0]; e["exestatus"] != "success" {
		t.Fatalf("run behind a finished run's slot: %v %v, want success", e["exestatus"], e["exedes"])
	}

	// The holder's claim is gone altogether.
	if _, err := slots.Put(ctx, slot, []byte("run-x fire-unknown")); err != nil {
		t.Fatal(err)
	}
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	if e := c.waitJournal("p", id, 2, "skipped").Data[0]; e["exestatus"] != "success" {
		t.Fatalf("run behind an unknown run's slot: %v %v, want success", e["exestatus"], e["exedes"])
	}

	// The holder's claim was refreshed just now: that run is alive, and this one waits
	// its turn by being skipped, as max_instances says.
	hold("fire-alive", "running "+slot+" run-fire-alive")
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	if e := c.waitJournal("p", id, 3, "skipped").Data[0]; e["exestatus"] != "skipped" {
		t.Fatalf("run beside a live run: %v %v, want skipped", e["exestatus"], e["exedes"])
	}
	if e, err := slots.Get(ctx, slot); err != nil || string(e.Value()) != "run-fire-alive fire-alive" {
		t.Fatalf("the live run's slot was touched: %v", err)
	}
}
