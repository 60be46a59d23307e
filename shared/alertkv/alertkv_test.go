package alertkv

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/shared/alert"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

func jetStream(t *testing.T) jetstream.JetStream {
	s := teststack.Start(t)
	nc, err := nats.Connect(s.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// Two trigger instances deciding events of the same rule and job at once (a takeover)
// count each event once: the state is written by compare-and-set.
func TestAThrottlesStateCountsEachEventOnceUnderRacingWriters(t *testing.T) {
	js := jetStream(t)
	ctx := context.Background()
	kv, err := OpenStates(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := States{KV: kv}
	rule := alert.Rule{ID: "r", Tenant: "p.x", Throttle: &alert.Throttle{After: 10, Within: 3600}}
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	sent := make(chan alert.Decision, 100)
	for w := range 2 {
		wg.Go(func() {
			// Both writers decide all 20 events, as a redelivered batch would.
			for i := range 10 {
				// Two events a call, as a batch of them would come.
				evs := []Event{{fmt.Sprintf("e%d", 2*i), t0.Add(time.Duration(2*i) * time.Second)},
					{fmt.Sprintf("e%d", 2*i+1), t0.Add(time.Duration(2*i+1) * time.Second)}}
				ds, err := s.DecideAll(ctx, rule, "job.1", evs)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				for _, d := range ds {
					if d.Send {
						sent <- d
					}
				}
			}
		})
	}
	wg.Wait()
	close(sent)
	ids := map[string]int{}
	for d := range sent {
		ids[d.Event]++
	}
	// Twenty events, an alert each tenth: e9 and e19, each decided "send" by both writers
	// (the same decision, read back), and no other.
	if len(ids) != 2 || ids["e9"] != 2 || ids["e19"] != 2 {
		t.Fatalf("alerts decided: %v", ids)
	}
}

func TestTheCacheFollowsTheRulesAndATenantSeesOnlyItsOwn(t *testing.T) {
	js := jetStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv, err := OpenRules(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	rules := Rules{KV: kv}
	mk := func(tenant, id string) alert.Rule {
		return alert.Rule{ID: id, Tenant: tenant, Events: []string{alert.Failure}, Enabled: true, CreatedAt: time.Now()}
	}
	if err := rules.Create(ctx, mk("a.b", "r1")); err != nil {
		t.Fatal(err)
	}
	c := NewCache()
	go c.Follow(ctx, kv, func(err error) { t.Log(err) })
	teststack.Eventually(t, 5*time.Second, "the cache to load", c.Loaded)
	if !c.Any("a.b") || c.Any("a") || len(c.Of("a.b")) != 1 {
		t.Fatalf("loaded: %v", c.Of("a.b"))
	}
	for _, r := range []alert.Rule{mk("a", "r2"), mk("a.b", "r3")} {
		if err := rules.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	teststack.Eventually(t, 5*time.Second, "the new rules", func() bool { return len(c.Of("a.b")) == 2 && c.Any("a") })
	if got, err := rules.List(ctx, "a"); err != nil || len(got) != 1 || got[0].ID != "r2" {
		t.Fatalf("tenant a lists %v, %v", got, err)
	}
	if _, _, err := rules.Get(ctx, "a", "r1"); err != ErrNotFound {
		t.Fatalf("another tenant's rule: %v", err)
	}
	r, rev, err := rules.Get(ctx, "a.b", "r1")
	if err != nil {
		t.Fatal(err)
	}
	r.Enabled = false
	if err := rules.Update(ctx, r, rev); err != nil {
		t.Fatal(err)
	}
	if err := rules.Update(ctx, r, rev); err == nil {
		t.Fatal("a write of a rule changed since it was read")
	}
	if err := rules.Delete(ctx, "a", "r2"); err != nil {
		t.Fatal(err)
	}
	teststack.Eventually(t, 5*time.Second, "the change and the delete", func() bool {
		for _, r := range c.Of("a.b") {
			if r.ID == "r1" && r.Enabled {
				return false
			}
		}
		return !c.Any("a")
	})
}

// Deliveries are numbered once per alert, even by two instances at once, and listed
// newest first by number, a page at a time, filtered, stepping over gaps; a tenant sees
// only its own.
func TestDeliveriesAreNumberedOnceAndListedNewestFirst(t *testing.T) {
	js := jetStream(t)
	ctx := context.Background()
	d, err := OpenDeliveries(ctx, js, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 30 {
		for range 2 { // each alert's first attempt recorded twice at once
			wg.Go(func() {
				rec := &Delivery{ID: fmt.Sprintf("rule-1:j:%d:failure", i), Tenant: "p.1", RuleID: "rule-1", Event: "failure", JobID: fmt.Sprintf("j%d", i%3),
					RaisedAt: t0, Status: Delivered, Attempts: 1, LastAttempt: t0}
				if err := d.Put(ctx, rec); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	_ = d.Put(ctx, &Delivery{ID: "rule-2:x:1:failure", Tenant: "q", RuleID: "rule-2", Status: Failed})
	seen := map[string]bool{}
	var all []Delivery
	for before := int64(0); ; {
		page, next, err := d.List(ctx, "p.1", Filter{}, 7, before)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range page {
			if seen[rec.ID] {
				t.Fatalf("%s listed twice", rec.ID)
			}
			seen[rec.ID] = true
		}
		all = append(all, page...)
		if next == 0 {
			break
		}
		before = next
	}
	if len(all) != 30 {
		t.Fatalf("listed %d deliveries, want 30", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq >= all[i-1].Seq {
			t.Fatalf("not newest first: %d after %d", all[i].Seq, all[i-1].Seq)
		}
	}
	got, err := d.Get(ctx, "p.1", "rule-1:j:4:failure")
	if err != nil || got.JobID != "j1" {
		t.Fatalf("get by id: %+v, %v", got, err)
	}
	if _, err := d.Get(ctx, "q", "rule-1:j:4:failure"); err != ErrNotFound {
		t.Fatalf("another tenant's delivery: %v", err)
	}
	only, _, err := d.List(ctx, "p.1", Filter{JobID: "j2"}, 100, 0)
	if err != nil || len(only) != 10 {
		t.Fatalf("filtered by job: %d, %v", len(only), err)
	}
	// A second attempt replaces the first's outcome under the same number.
	got.Status, got.Attempts = Failed, 2
	if err := d.Put(ctx, &got); err != nil {
		t.Fatal(err)
	}
	again, _ := d.Get(ctx, "p.1", "rule-1:j:4:failure")
	if again.Seq != got.Seq || again.Attempts != 2 || again.Status != Failed {
		t.Fatalf("after a second attempt: %+v", again)
	}
}
