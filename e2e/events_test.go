package e2e_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// follower records what a subscriber of one tenant sees.
type follower struct {
	mu     sync.Mutex
	events []contracts.LifecycleEvent
	fires  []contracts.Fire
	runs   []contracts.RunEvent
}

func follow(t *testing.T, c *center, tenant string) *follower {
	t.Helper()
	nc := connect(t, c.stack.NATSURL)
	f := &follower{}
	sub := func(subject string, fn func([]byte)) {
		if _, err := nc.Subscribe(subject, func(m *nats.Msg) { f.mu.Lock(); defer f.mu.Unlock(); fn(m.Data) }); err != nil {
			t.Fatal(err)
		}
	}
	sub(contracts.TenantEvents(tenant), func(d []byte) {
		var e contracts.LifecycleEvent
		_ = json.Unmarshal(d, &e)
		f.events = append(f.events, e)
	})
	sub(contracts.TenantFires(tenant), func(d []byte) {
		var e contracts.Fire
		_ = json.Unmarshal(d, &e)
		f.fires = append(f.fires, e)
	})
	sub(contracts.TenantRuns(tenant), func(d []byte) {
		var e contracts.RunEvent
		_ = json.Unmarshal(d, &e)
		f.runs = append(f.runs, e)
	})
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSubscribersFollowLifecycleFireAndRunEventsOfOneTenant(t *testing.T) {
	c := newCenter(t)
	f := follow(t, c, "p")
	other := follow(t, c, "q")
	body := intervalBody()
	body["seconds"] = 1
	id := c.do("POST", "/api/v1/jobs", "p", body, "X-User-Id", "alice").must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
	c.clk.Advance(time.Second)
	c.waitJournal("p", id, 1)
	c.do("POST", "/api/v1/jobs/"+id+"/stop", "p", nil).must(t, 200)
	c.do("DELETE", "/api/v1/jobs/"+id, "p", nil).must(t, 200)

	teststack.Eventually(t, 5*time.Second, "events never all arrived", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.events) == 4 && len(f.fires) == 1 && len(f.runs) == 2
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, want := range []string{"created", "started", "stopped", "deleted"} {
		e := f.events[i]
		if e.Type != want || e.V != contracts.Version || e.Tenant != "p" || e.JobID != id || e.Job.ID != id || e.At.IsZero() || e.ID == "" {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	if f.events[0].User != "alice" || f.events[0].Job.State != "stopped" || f.events[1].Job.State != "started" {
		t.Fatalf("created/started: %+v", f.events[:2])
	}
	fire := f.fires[0]
	if fire.JobID != id || fire.Tenant != "p" || fire.Seq != 1 || fire.ScheduledAt.IsZero() || fire.FiredAt.Before(fire.ScheduledAt) {
		t.Fatalf("fire: %+v", fire)
	}
	if f.runs[0].Status != "running" || f.runs[1].Status != "success" || f.runs[1].FireID != fire.FireID || f.runs[1].EndedAt == nil {
		t.Fatalf("runs: %+v", f.runs)
	}
	other.mu.Lock()
	defer other.mu.Unlock()
	if len(other.events)+len(other.fires)+len(other.runs) != 0 {
		t.Fatal("another tenant's subscriber saw p's events")
	}
}
