package runner_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

func withOverlap(o job.Overlap) func(*contracts.Fire) {
	return func(f *contracts.Fire) { f.Overlap = string(o) }
}

// handBack handles m, which must be handed back to wait (naming why), and takes its
// next delivery.
func (b *bundle) handBack(m jetstream.Msg, why string) jetstream.Msg {
	b.t.Helper()
	err := b.r.Handle(context.Background(), m)
	if err == nil || !strings.Contains(err.Error(), why) {
		b.t.Fatalf("the fire was not handed back to wait (%s): %v", why, err)
	}
	_ = m.Nak()
	return b.take()
}

// handleUntilRun handles m's deliveries, each handed back to wait (naming why), until
// one is handled.
func (b *bundle) handleUntilRun(m jetstream.Msg, why string) {
	b.t.Helper()
	for {
		err := b.r.Handle(context.Background(), m)
		if err == nil {
			_ = m.Ack()
			return
		}
		if !strings.Contains(err.Error(), why) {
			b.t.Fatal(err)
		}
		_ = m.Nak()
		m = b.take()
	}
}

// buffer_one: a fire finding the run under way waits for it and then runs; a further
// fire meanwhile is skipped, saying why.
func TestBufferOneRunsOneWaitingFireAfterTheRunUnderWayAndSkipsFurtherOnes(t *testing.T) {
	b := setup(t)
	b.hold = 1500 * time.Millisecond
	first := b.fireWith("buf", 1, withOverlap(job.OverlapBufferOne))
	running := make(chan error, 1)
	go func() { running <- b.handle(b.take()) }()
	teststack.Eventually(t, 5*time.Second, "the first run to begin", func() bool { return b.runs(first.FireID) == 1 })

	time.Sleep(2 * time.Millisecond)
	waiting := b.fireWith("buf", 2, withOverlap(job.OverlapBufferOne))
	again := b.handBack(b.take(), "overlap buffer_one")
	time.Sleep(2 * time.Millisecond)
	further := b.fireWith("buf", 3, withOverlap(job.OverlapBufferOne))
	m := b.take()
	for meta, _ := m.Metadata(); meta != nil && meta.NumDelivered > 1; meta, _ = m.Metadata() {
		_ = m.Nak() // the waiting fire's copy: the further fire's is wanted here
		again, m = m, b.take()
	}
	if err := b.handle(m); err != nil {
		t.Fatal(err)
	}
	// The waiting fire keeps waiting while the run goes on, then runs.
	b.handleUntilRun(again, "overlap buffer_one")
	if err := <-running; err != nil {
		t.Fatal(err)
	}
	if b.runs(first.FireID) != 1 || b.runs(waiting.FireID) != 1 || b.runs(further.FireID) != 0 {
		t.Fatalf("runs: first %d, waiting %d, further %d; want 1, 1, 0", b.runs(first.FireID), b.runs(waiting.FireID), b.runs(further.FireID))
	}
	var skipped []contracts.RunEvent
	for _, e := range b.ends("buf") {
		if e.Status == contracts.RunSkipped {
			skipped = append(skipped, e)
		}
	}
	if len(skipped) != 1 || skipped[0].FireID != further.FireID || !strings.Contains(skipped[0].Detail, "overlap buffer_one") {
		t.Fatalf("skipped: %+v; want the further fire, saying why", skipped)
	}
	// The place is given up once the waiting fire ran: the next fire may wait again.
	b.setHold(0)
	next := b.fireWith("buf", 4, withOverlap(job.OverlapBufferOne))
	if err := b.handle(b.take()); err != nil || b.runs(next.FireID) != 1 {
		t.Fatalf("the fire after: %v, ran %d times", err, b.runs(next.FireID))
	}
}

// cancel_other: a fire finding the run under way kills it, waits for its end, then runs.
func TestCancelOtherKillsTheRunUnderWayThenRuns(t *testing.T) {
	b := setup(t)
	b.hold = 10 * time.Second
	var kills []contracts.Kill
	var mu sync.Mutex
	b.r.Cancel = func(_ context.Context, k contracts.Kill) error {
		mu.Lock()
		kills = append(kills, k)
		mu.Unlock()
		b.r.Kill(k) // as the executors do on the kill's request
		return nil
	}
	first := b.fireWith("cancel", 1, withOverlap(job.OverlapCancelOther))
	running := make(chan error, 1)
	go func() { running <- b.handle(b.take()) }()
	teststack.Eventually(t, 5*time.Second, "the first run to begin", func() bool { return b.runs(first.FireID) == 1 })

	time.Sleep(2 * time.Millisecond)
	b.setHold(0)
	second := b.fireWith("cancel", 2, withOverlap(job.OverlapCancelOther))
	m := b.handBack(b.take(), "overlap cancel_other")
	if err := <-running; err != nil {
		t.Fatal(err)
	}
	b.handleUntilRun(m, "overlap cancel_other")
	mu.Lock()
	defer mu.Unlock()
	if len(kills) == 0 || kills[0].FireID != first.FireID || !strings.Contains(kills[0].By, second.FireID) {
		t.Fatalf("kills asked: %+v; want the first run's, naming the second fire", kills)
	}
	ends := b.ends("cancel")
	if len(ends) != 2 || ends[0].FireID != first.FireID || ends[0].Killed == nil || !strings.Contains(ends[0].Detail, "overlap cancel_other") ||
		ends[1].FireID != second.FireID || ends[1].Status != contracts.RunSuccess {
		t.Fatalf("ends: %+v; want the first killed by the policy, the second a success", ends)
	}
}

// allow_all: every fire runs at once, however many runs go on.
func TestAllowAllRunsEveryFireAtOnce(t *testing.T) {
	b := setup(t)
	b.hold = 800 * time.Millisecond
	var fires []contracts.Fire
	var msgs []jetstream.Msg
	for i := range 3 {
		fires = append(fires, b.fireWith("all", int64(i+1), withOverlap(job.OverlapAllowAll)))
		msgs = append(msgs, b.take())
		time.Sleep(2 * time.Millisecond)
	}
	var wg sync.WaitGroup
	began := time.Now()
	for _, m := range msgs {
		wg.Add(1)
		go func() { defer wg.Done(); _ = b.handle(m) }()
	}
	wg.Wait()
	for _, f := range fires {
		if b.runs(f.FireID) != 1 {
			t.Fatalf("fire %d ran %d times", f.Seq, b.runs(f.FireID))
		}
	}
	if took := time.Since(began); took > 2*b.hold {
		t.Fatalf("three runs of %v took %v: they did not run at once", b.hold, took)
	}
	for _, e := range b.ends("all") {
		if e.Status != contracts.RunSuccess {
			t.Fatalf("an end: %+v", e)
		}
	}
}

func (b *bundle) setHold(d time.Duration) {
	b.mu.Lock()
	b.hold = d
	b.mu.Unlock()
}

// buffer_one: a fire that comes between the run's end and the waiting fire's next turn
// is handed back (the waiting fire goes first), not skipped while nothing runs.
func TestBufferOneHandsBackAFireThatComesWhileTheWaitingOneIsDue(t *testing.T) {
	b := setup(t)
	b.hold = 700 * time.Millisecond
	first := b.fireWith("idle", 1, withOverlap(job.OverlapBufferOne))
	running := make(chan error, 1)
	go func() { running <- b.handle(b.take()) }()
	teststack.Eventually(t, 5*time.Second, "the first run to begin", func() bool { return b.runs(first.FireID) == 1 })
	time.Sleep(2 * time.Millisecond)
	b.fireWith("idle", 2, withOverlap(job.OverlapBufferOne))
	m2 := b.take()
	if err := b.r.Handle(context.Background(), m2); err == nil || !strings.Contains(err.Error(), "overlap buffer_one") {
		t.Fatalf("the second fire did not wait: %v", err)
	}
	_ = m2.NakWithDelay(time.Minute) // it comes again after the test: the third fire is taken next
	if err := <-running; err != nil {
		t.Fatal(err)
	}
	b.setHold(0)
	third := b.fireWith("idle", 3, withOverlap(job.OverlapBufferOne))
	m := b.take()
	if md, _ := m.Metadata(); md.NumDelivered != 1 {
		t.Fatal("took the waiting fire's copy, not the third fire")
	}
	if err := b.r.Handle(context.Background(), m); err == nil || !strings.Contains(err.Error(), "overlap buffer_one") {
		t.Fatalf("the third fire, while the job is idle and the second is due: %v; want handed back", err)
	}
	for _, e := range b.ends("idle") {
		if e.FireID == third.FireID {
			t.Fatalf("the third fire ended %s %q while nothing ran", e.Status, e.Detail)
		}
	}
}

// cancel_other: a fire kills only the run it found; coming again to find a newer run
// (begun between that run's end and its turn), it is superseded, not a killer of it.
func TestCancelOtherKillsOnlyTheRunItFoundNotANewerOne(t *testing.T) {
	b := setup(t)
	b.hold = 10 * time.Second
	b.r.Cancel = func(_ context.Context, k contracts.Kill) error { b.r.Kill(k); return nil }
	first := b.fireWith("co", 1, withOverlap(job.OverlapCancelOther))
	running := make(chan error, 1)
	go func() { running <- b.handle(b.take()) }()
	teststack.Eventually(t, 5*time.Second, "the first run to begin", func() bool { return b.runs(first.FireID) == 1 })
	time.Sleep(2 * time.Millisecond)
	second := b.fireWith("co", 2, withOverlap(job.OverlapCancelOther))
	m2 := b.take()
	if err := b.r.Handle(context.Background(), m2); err == nil {
		t.Fatal("the second fire did not wait")
	}
	// Its next turn is played below, by hand: the broker must not hand a copy meanwhile.
	_ = m2.NakWithDelay(time.Minute)
	if err := <-running; err != nil {
		t.Fatal(err)
	}
	b.setHold(3 * time.Second)
	third := b.fireWith("co", 3, withOverlap(job.OverlapCancelOther))
	m3 := b.take()
	go func() { running <- b.handle(m3) }()
	teststack.Eventually(t, 5*time.Second, "the third run to begin", func() bool { return b.runs(third.FireID) == 1 })
	if err := b.r.Handle(context.Background(), m2); err != nil { // the second's next turn
		t.Fatal(err)
	}
	_ = m2.Ack()
	if err := <-running; err != nil {
		t.Fatal(err)
	}
	ends := map[string]contracts.RunEvent{}
	for _, e := range b.ends("co") {
		ends[e.FireID] = e
	}
	if e := ends[first.FireID]; e.Killed == nil {
		t.Fatalf("the first run: %+v; want killed", e)
	}
	if e := ends[third.FireID]; e.Killed != nil || e.Status != contracts.RunSuccess {
		t.Fatalf("the third run: %s %q; want a success, not killed by the older fire", e.Status, e.Detail)
	}
	if e := ends[second.FireID]; e.Status != contracts.RunSkipped || !strings.Contains(e.Detail, "overlap cancel_other") || b.runs(second.FireID) != 0 {
		t.Fatalf("the second fire: %s %q, ran %d times; want skipped as superseded", e.Status, e.Detail, b.runs(second.FireID))
	}
}
