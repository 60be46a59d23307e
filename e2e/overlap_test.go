package e2e_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// A job's overlap policy decides what a fire does while its run goes on, through the
// whole center (api, trigger, executor over NATS): buffer_one waits and runs after it,
// a further fire skipped; cancel_other kills it and runs; allow_all runs at once.
func TestOverlapPoliciesDecideWhatAFireDoesWhileTheRunGoesOn(t *testing.T) {
	c := newCenter(t)
	nc := connect(t, c.stack.NATSURL)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := js.KeyValue(context.Background(), "jobcenter_claims")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var calls atomic.Int64
	// Flow "gate" is answered once release is closed; flow "first-hangs" never answers
	// its first call (a run only a kill ends) and answers the others at once.
	var firstSeen atomic.Bool
	for flow, answer := range map[string]func(m *nats.Msg){
		"gate": func(m *nats.Msg) { calls.Add(1); go func() { <-release; _ = m.Respond([]byte(`{"ok":true}`)) }() },
		"first-hangs": func(m *nats.Msg) {
			if firstSeen.CompareAndSwap(false, true) {
				return
			}
			_ = m.Respond([]byte(`{"ok":true}`))
		},
	} {
		if _, err := nc.Subscribe(contracts.FlowSubject("p", flow), answer); err != nil {
			t.Fatal(err)
		}
	}
	_ = nc.Flush()
	exec := func(id string) { c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200) }

	// buffer_one.
	b := c.do("POST", "/api/v1/jobs", "p", flowJob("gate", map[string]any{"overlap": "buffer_one", "timeout": 60})).must(t, 201).obj(t)
	if o := b["jobParameter"].(map[string]any)["overlap"]; o != "buffer_one" {
		t.Fatalf("jobParameter.overlap = %v", o)
	}
	buf := b["id"].(string)
	exec(buf)
	teststack.Eventually(t, 10*time.Second, "the first run to reach its flow", func() bool { return calls.Load() == 1 })
	exec(buf)
	teststack.Eventually(t, 10*time.Second, "the second fire to wait", func() bool {
		_, err := claims.Get(context.Background(), contracts.Token(buf+"@buffer"))
		return err == nil
	})
	exec(buf)
	var p journalPage
	teststack.Eventually(t, 15*time.Second, "the third fire to be journaled", func() bool {
		p = c.journal("p", buf, 1, 10)
		return len(p.Data) == 3 && p.Data[0]["exestatus"] == "skipped"
	})
	if e := p.Data[0]; e["exestatus"] != "skipped" || !strings.Contains(e["exedes"].(string), "overlap buffer_one") {
		t.Fatalf("the third fire, while one waits: %v %v", e["exestatus"], e["exedes"])
	}
	if calls.Load() != 1 {
		t.Fatalf("%d runs reached the flow while the first went on: %v", calls.Load(), p.Data)
	}
	close(release)
	p = c.waitJournal("p", buf, 3, "skipped")
	if p.Data[1]["exestatus"] != "success" || p.Data[2]["exestatus"] != "success" || calls.Load() != 2 {
		t.Fatalf("after the first run: %v, %v; %d runs", p.Data[2]["exestatus"], p.Data[1]["exestatus"], calls.Load())
	}

	// cancel_other.
	co := c.do("POST", "/api/v1/jobs", "p", flowJob("first-hangs", map[string]any{"overlap": "cancel_other"})).must(t, 201).obj(t)["id"].(string)
	exec(co)
	teststack.Eventually(t, 10*time.Second, "the first run to begin", func() bool { return firstSeen.Load() })
	exec(co)
	p = c.waitJournal("p", co, 2)
	first, second := p.Data[1], p.Data[0]
	if first["exestatus"] != "failure" || !strings.Contains(first["exedes"].(string), "killed by overlap cancel_other, for "+second["triggerid"].(string)) {
		t.Fatalf("the run under way: %v %v", first["exestatus"], first["exedes"])
	}
	if second["exestatus"] != "success" {
		t.Fatalf("the fire that cancelled it: %v %v", second["exestatus"], second["exedes"])
	}

	// allow_all.
	all := c.do("POST", "/api/v1/jobs", "p", flowJob("gate", map[string]any{"overlap": "allow_all"})).must(t, 201).obj(t)["id"].(string)
	before := calls.Load()
	for range 3 {
		exec(all)
	}
	p = c.waitJournal("p", all, 3)
	for _, e := range p.Data {
		if e["exestatus"] != "success" {
			t.Fatalf("an allow_all run: %v %v", e["exestatus"], e["exedes"])
		}
	}
	if calls.Load()-before != 3 {
		t.Fatalf("%d allow_all runs reached the flow, want 3", calls.Load()-before)
	}

	// Bad policies name their field and change nothing.
	for _, tc := range []struct {
		extra map[string]any
		field string
	}{
		{map[string]any{"overlap": "queue"}, "overlap"},
		{map[string]any{"overlap": 1}, "overlap"},
		{map[string]any{"overlap": "buffer_one", "max_instances": 2}, "max_instances"},
	} {
		r := c.do("PUT", "/api/v1/jobs/"+all, "p", flowJob("gate", tc.extra)).must(t, 400)
		if _, field := r.errField(t); field != tc.field {
			t.Fatalf("%v: error on %q, want %q", tc.extra, field, tc.field)
		}
	}
	if o := c.do("GET", "/api/v1/jobs/"+all, "p", nil).must(t, 200).obj(t)["jobParameter"].(map[string]any)["overlap"]; o != "allow_all" {
		t.Fatalf("after refused updates, overlap %v", o)
	}
}
