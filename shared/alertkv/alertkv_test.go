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
			for i := range 20 {
				d, err := s.Decide(ctx, rule, "job.1", fmt.Sprintf("e%d", i), t0.Add(time.Duration(i)*time.Second))
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if d.Send {
					sent <- d
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
