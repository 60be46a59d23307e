package firing_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/firing"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

func fire(job string, at time.Time) contracts.Fire {
	return contracts.Fire{V: contracts.Version, Tenant: "t", JobID: job, FireID: job + "@" + at.Format("150405.000"), JournalID: job + ":1",
		Seq: 1, RunType: contracts.RunTypeTrigger, TriggerStatus: contracts.TriggerFired, ScheduledAt: at, FiredAt: at,
		Target: contracts.Target{Code: "pass"}, MaxInstances: 1}
}

// A term's fires are stored only while its marker is the last one: once the next term's
// marker is written, the old term's fires are refused, however late they come; the new
// term's are stored. A marker written again by the same term moves its fires' fence.
func TestAFencedPublisherStoresOnlyWhileItsTermMarkerIsTheLast(t *testing.T) {
	st := teststack.Start(t)
	nc, js, err := bus.Dial(st.NATSURL, "test", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := bus.Provision(ctx, js, bus.StreamsConfig{Replicas: 1, Duplicates: 2 * time.Minute, RunsMaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	marker := func(after uint64) uint64 {
		t.Helper()
		ack, err := js.Publish(ctx, contracts.FenceSubject, []byte(`{"v":1,"instance":"x","term":1,"at":"2026-12-07T00:00:00Z"}`),
			jetstream.WithExpectLastSequencePerSubject(after))
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	stored := func(f contracts.Fire) bool {
		runs, err := js.Stream(ctx, contracts.StreamRuns)
		if err != nil {
			t.Fatal(err)
		}
		m, err := runs.GetLastMsgForSubject(ctx, contracts.FireSubject(f.Tenant, f.JobID))
		return err == nil && m != nil
	}
	at := time.Now().UTC()

	first := marker(0)
	old := firing.New(js, nil, nil, zerolog.Nop())
	old.Fence(first)
	if _, err := old.PublishNow(ctx, fire("a", at)); err != nil {
		t.Fatalf("a fire of the term whose marker is the last: %v", err)
	}
	second := marker(first) // the next term begins
	if _, err := old.PublishNow(ctx, fire("b", at)); err == nil || stored(fire("b", at)) {
		t.Fatalf("the old term's fire after the next term's marker: %v, stored %v", err, stored(fire("b", at)))
	}
	// Queued, as the scheduler queues them: refused too, and retried only until the
	// term ends.
	octx, stop := context.WithCancel(ctx)
	go old.Run(octx)
	old.Publish(fire("c", at))
	time.Sleep(time.Second)
	stop()
	if stored(fire("c", at)) {
		t.Fatal("a queued fire of the old term was stored after the next term's marker")
	}

	next := firing.New(js, nil, nil, zerolog.Nop())
	next.Fence(second)
	go next.Run(ctx)
	next.Publish(fire("d", at))
	if !next.WaitStored(ctx, 1) || !stored(fire("d", at)) {
		t.Fatal("the new term's fire was not stored")
	}
	// The new term writes its marker again (within the stream's age): its fires follow.
	next.Fence(marker(second))
	next.Publish(fire("e", at))
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if !next.WaitStored(wctx, 2) || !stored(fire("e", at)) {
		t.Fatal("after its marker was written again, the term's fire was not stored")
	}
}
