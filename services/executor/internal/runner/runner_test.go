package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/executor/internal/runner"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/jobcode"
	"github.com/jobcenter/jobcenter/shared/kills"
	"github.com/jobcenter/jobcenter/shared/teststack"
	"github.com/jobcenter/jobcenter/shared/workers"
)

const ackWait = time.Second

// bundle is one test's broker, runner, fire consumer and flow runner.
type bundle struct {
	t    *testing.T
	nc   *nats.Conn
	js   jetstream.JetStream
	r    *runner.Runner
	cons jetstream.Consumer
	// calls counts the runs that reached the flow runner, by fire id; params are the
	// parameters each last received.
	mu     sync.Mutex
	calls  map[string]int
	params map[string]string
	// hold is how long the flow runner takes.
	hold time.Duration
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	st := teststack.Start(t)
	nc, js, err := bus.Dial(st.NATSURL, "runner-test", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := bus.Provision(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	claims, err := bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{Bucket: "jobcenter_claims", TTL: time.Hour})
	if err == nil {
		err = bus.AllowKeyTTL(ctx, js, "jobcenter_claims")
	}
	if err != nil {
		t.Fatal(err)
	}
	slots, err := bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{Bucket: "jobcenter_slots", LimitMarkerTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := js.Stream(ctx, contracts.StreamRuns)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, contracts.StreamRuns, jetstream.ConsumerConfig{
		Durable: "executor", FilterSubject: contracts.FireSubjects, AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait,
	})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{t: t, nc: nc, js: js, cons: cons, calls: map[string]int{}, params: map[string]string{}}
	sub, err := nc.Subscribe(contracts.FlowSubject("t", "flow"), func(m *nats.Msg) {
		var req contracts.FlowRequest
		_ = json.Unmarshal(m.Data, &req)
		b.mu.Lock()
		b.calls[req.FireID]++
		b.params[req.FireID] = string(req.Params)
		hold := b.hold
		b.mu.Unlock()
		// Answered apart, so that runs at once are served at once.
		go func() {
			time.Sleep(hold)
			_ = m.Respond([]byte(`{"ok":true}`))
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	b.r = &runner.Runner{JS: js, NC: nc, Claims: claims, Slots: slots, Runs: runs, Timeout: 5 * time.Second,
		KeepAlive: ackWait / 4, StaleAfter: ackWait / 2, ClaimsKept: 10 * ackWait, Log: zerolog.Nop(),
		SDK: func(string) jobcode.SDK { return nil }}
	return b
}

// fire stores a fire of job j's run seq, to run the flow, with the job's max_instances
// (1 unless given).
func (b *bundle) fire(j string, seq int64, maxInstances ...int) contracts.Fire {
	return b.fireWith(j, seq, func(f *contracts.Fire) {
		if len(maxInstances) > 0 {
			f.MaxInstances = maxInstances[0]
		}
	})
}

// fireWith stores a fire of job j's run seq, to run the flow, as change makes it.
func (b *bundle) fireWith(j string, seq int64, change func(*contracts.Fire)) contracts.Fire {
	b.t.Helper()
	at := time.Now().UTC().Truncate(time.Millisecond)
	f := contracts.Fire{V: contracts.Version, FireID: job.FireID(j, at), JournalID: job.JournalID(j, seq), Seq: seq, Tenant: "t",
		JobID: j, JobKey: j, Name: j, RunType: contracts.RunTypeTrigger, ScheduledAt: at, FiredAt: at,
		Target: contracts.Target{FlowID: "flow"}, TriggerStatus: contracts.TriggerFired, MaxInstances: 1}
	change(&f)
	data, _ := json.Marshal(f)
	if _, err := b.js.Publish(context.Background(), contracts.FireSubject("t", j), data, jetstream.WithMsgID(f.FireID)); err != nil {
		b.t.Fatal(err)
	}
	return f
}

// take fetches the next delivery of a fire.
func (b *bundle) take() jetstream.Msg {
	b.t.Helper()
	batch, err := b.cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		b.t.Fatal(err)
	}
	for m := range batch.Messages() {
		return m
	}
	b.t.Fatal("no fire delivered within 5 s")
	return nil
}

// redelivered waits out the ack deadline and takes the fire's next copy.
func (b *bundle) redelivered() jetstream.Msg {
	b.t.Helper()
	time.Sleep(ackWait + 100*time.Millisecond)
	m := b.take()
	if md, _ := m.Metadata(); md.NumDelivered < 2 {
		b.t.Fatalf("expected a redelivered copy, got delivery %d", md.NumDelivered)
	}
	return m
}

// ends reads the end reports of the job stored in the stream.
func (b *bundle) ends(j string) []contracts.RunEvent {
	b.t.Helper()
	ctx := context.Background()
	c, err := b.js.OrderedConsumer(ctx, contracts.StreamRuns, jetstream.OrderedConsumerConfig{FilterSubjects: []string{contracts.RunSubject("t", j, "*")}})
	if err != nil {
		b.t.Fatal(err)
	}
	var out []contracts.RunEvent
	for {
		batch, err := c.FetchNoWait(100)
		if err != nil {
			b.t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var ev contracts.RunEvent
			_ = json.Unmarshal(m.Data(), &ev)
			if ev.EndedAt != nil {
				out = append(out, ev)
			}
		}
		if n == 0 {
			return out
		}
	}
}

// handle runs a delivery as the executor's consumer does, acknowledging it when the
// handler succeeds.
func (b *bundle) handle(m jetstream.Msg) error {
	err := b.r.Handle(context.Background(), m)
	if err == nil {
		_ = m.Ack()
	}
	return err
}

func (b *bundle) runs(fireID string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[fireID]
}

func TestAFireRedeliveredAfterItsRunEndedIsNotRunAgain(t *testing.T) {
	b := setup(t)
	f := b.fire("a", 1)
	if err := b.r.Handle(context.Background(), b.take()); err != nil {
		t.Fatal(err)
	}
	// The ack is lost: the fire comes again.
	if err := b.r.Handle(context.Background(), b.redelivered()); err != nil {
		t.Fatalf("the copy after the end: %v", err)
	}
	if n := b.runs(f.FireID); n != 1 {
		t.Fatalf("the flow ran %d times, want once", n)
	}
	if ends := b.ends("a"); len(ends) != 1 || ends[0].Status != contracts.RunSuccess {
		t.Fatalf("end reports: %+v, want one success", ends)
	}
}

func TestARunStartedWithParamsHandsThemToItsCodeOrFlow(t *testing.T) {
	b := setup(t)
	params := json.RawMessage(`{"day":"2026-12-01","n":[1,2.5]}`)
	flow := b.fireWith("flow", 1, func(f *contracts.Fire) { f.Params = params })
	b.fireWith("code", 1, func(f *contracts.Fire) {
		f.Target, f.Params = contracts.Target{Code: "log_print(params['day'])\nreturn [params['n'][1], len(params)]"}, params
	})
	b.fireWith("none", 1, func(f *contracts.Fire) { f.Target = contracts.Target{Code: "return len(params)"} })
	for range 3 {
		if err := b.handle(b.take()); err != nil {
			t.Fatal(err)
		}
	}
	b.mu.Lock()
	got := b.params[flow.FireID]
	b.mu.Unlock()
	if got != string(params) {
		t.Fatalf("the flow received params %q, want %s", got, params)
	}
	if ends := b.ends("code"); len(ends) != 1 || ends[0].Status != contracts.RunSuccess || ends[0].Result != "[2.5,2]" ||
		!strings.Contains(ends[0].Detail, "INFO 2026-12-01") {
		t.Fatalf("the code's run: %+v", ends)
	}
	if ends := b.ends("none"); len(ends) != 1 || ends[0].Result != "0" {
		t.Fatalf("a run without params: %+v, want params empty", ends)
	}
}

func TestARunWhoseExecutorDiedIsJournaledInterruptedAndNotRunAgain(t *testing.T) {
	b := setup(t)
	f := b.fire("b", 1)
	_ = b.take() // an executor takes the fire, reports its run begun, and dies
	began := contracts.RunEvent{V: contracts.Version, FireID: f.FireID, JournalID: f.JournalID, Tenant: "t", JobID: "b",
		Status: contracts.RunRunning, DynamicID: "dead-run", Attempts: 1, StartedAt: time.Now().UTC()}
	data, _ := json.Marshal(began)
	if _, err := b.js.Publish(context.Background(), contracts.RunSubject("t", "b", contracts.RunRunning), data,
		jetstream.WithMsgID(job.RunningReportID(f.FireID, 1))); err != nil {
		t.Fatal(err)
	}
	// Its slot, as the dead run left it.
	if _, err := b.r.Slots.Create(context.Background(), contracts.Token("b")+".1", []byte("dead-run "+f.FireID)); err != nil {
		t.Fatal(err)
	}
	err := b.r.Handle(context.Background(), b.redelivered())
	if err != nil && !errors.Is(err, runner.ErrRunElsewhere) {
		t.Fatal(err)
	}
	// Heard of within StaleAfter: it may still be alive; once stale, it is dead.
	time.Sleep(ackWait / 2)
	if err := b.r.Handle(context.Background(), b.redelivered()); err != nil {
		t.Fatalf("the copy of a dead run: %v", err)
	}
	if n := b.runs(f.FireID); n != 0 {
		t.Fatalf("the flow ran %d times; a run that began elsewhere must not run again", n)
	}
	ends := b.ends("b")
	if len(ends) != 1 || ends[0].Status != contracts.RunFailure || ends[0].Detail == "" {
		t.Fatalf("end reports: %+v, want one failure, interrupted", ends)
	}
	if _, err := b.r.Slots.Get(context.Background(), contracts.Token("b")+".1"); !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, jetstream.ErrKeyDeleted) {
		t.Fatalf("the dead run's slot is still held: %v", err)
	}
}

func TestTwoCopiesOfAFireTakenAtOnceRunItOnce(t *testing.T) {
	// With a duplicate window the first copy trusts its running report to tell; without
	// one it reads the stream first.
	for _, window := range []time.Duration{0, 2 * time.Minute} {
		t.Run("duplicate window "+window.String(), func(t *testing.T) {
			b := setup(t)
			b.r.DuplicateWindow = window
			b.hold = 400 * time.Millisecond
			f := b.fire("c", 1)
			first := b.take() // waits in a buffer past its ack deadline ...
			second := b.redelivered()
			var wg sync.WaitGroup
			var stepped atomic.Int32
			for _, m := range []jetstream.Msg{first, second} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := b.r.Handle(context.Background(), m)
					if errors.Is(err, runner.ErrRunElsewhere) {
						stepped.Add(1)
					} else if err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if n := b.runs(f.FireID); n != 1 || stepped.Load() != 1 {
				t.Fatalf("the flow ran %d times and %d copies stepped back; want 1 and 1", n, stepped.Load())
			}
		})
	}
}

func TestAFireWhileItsJobsRunGoesOnIsSkippedAndTheNextAfterItsEndRuns(t *testing.T) {
	for _, maxInstances := range []int{1, 2} {
		t.Run("max_instances "+string(rune('0'+maxInstances)), func(t *testing.T) {
			b := setup(t)
			b.hold = 600 * time.Millisecond
			j := "d" + string(rune('0'+maxInstances))
			fires := make([]contracts.Fire, maxInstances+1)
			msgs := make([]jetstream.Msg, maxInstances+1)
			for i := range fires {
				fires[i] = b.fire(j, int64(i+1), maxInstances)
				msgs[i] = b.take()
				time.Sleep(2 * time.Millisecond) // distinct instants
			}
			var wg sync.WaitGroup
			for _, m := range msgs[:maxInstances] {
				wg.Add(1)
				go func() { defer wg.Done(); _ = b.handle(m) }()
			}
			time.Sleep(200 * time.Millisecond) // the runs are under way
			if err := b.handle(msgs[maxInstances]); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			last := b.fire(j, int64(maxInstances+2), maxInstances)
			if err := b.handle(b.take()); err != nil {
				t.Fatal(err)
			}
			for _, f := range fires[:maxInstances] {
				if b.runs(f.FireID) != 1 {
					t.Fatalf("fire %d ran %d times", f.Seq, b.runs(f.FireID))
				}
			}
			if b.runs(fires[maxInstances].FireID) != 0 || b.runs(last.FireID) != 1 {
				t.Fatalf("the fire beyond max_instances ran %d times, the one after the runs ended %d; want 0 and 1",
					b.runs(fires[maxInstances].FireID), b.runs(last.FireID))
			}
			skipped := 0
			for _, e := range b.ends(j) {
				if e.Status == contracts.RunSkipped {
					skipped++
				}
			}
			if skipped != 1 {
				t.Fatalf("%d runs skipped, want 1", skipped)
			}
		})
	}
}

// An executor cut off from the broker right after taking a fire, while the job's run
// went on: the fire's redelivery is skipped elsewhere; the first copy, handled once the
// executor is back and the job free, must not run it (the chaos found it did: its claim
// was not taken by the skip).
func TestACopyOfAFireTakenBeforeItWasSkippedElsewhereDoesNotRunIt(t *testing.T) {
	b := setup(t)
	b.r.DuplicateWindow = 2 * time.Minute // the first copy trusts its claim to tell
	b.hold = 3 * ackWait
	first := b.fire("s", 1)
	running := b.take()
	done := make(chan error, 1)
	go func() { done <- b.handle(running) }()
	time.Sleep(100 * time.Millisecond) // its run is under way
	skipped := b.fire("s", 2)
	cutOff := b.take()       // taken by an executor that is then cut off ...
	again := b.redelivered() // ... so the broker hands it to another
	if err := b.handle(again); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The job is free now: the cut-off executor's copy comes.
	if err := b.r.Handle(context.Background(), cutOff); err != nil && !errors.Is(err, runner.ErrRunElsewhere) {
		t.Fatal(err)
	}
	if b.runs(first.FireID) != 1 || b.runs(skipped.FireID) != 0 {
		t.Fatalf("the first fire ran %d times, the skipped one %d; want 1 and 0", b.runs(first.FireID), b.runs(skipped.FireID))
	}
	var statuses []string
	for _, e := range b.ends("s") {
		statuses = append(statuses, e.FireID[strings.LastIndex(e.FireID, "@")+1:]+" "+e.Status)
	}
	if len(statuses) != 2 {
		t.Fatalf("ends stored: %v; want the first's success and the second's skip", statuses)
	}
}

// A skip that finds its fire claimed by a copy of it (an executor back from a cut-off,
// with no worker known yet, skips a fire another executor runs) stores nothing and does
// not settle the fire: its redelivery finds what became of that run.
func TestASkipOfAFireAnotherCopyClaimedLeavesTheFireUnsettled(t *testing.T) {
	b := setup(t)
	b.r.DuplicateWindow = 2 * time.Minute
	b.r.Workers = workers.NewRegistry(nil) // none online, as after a cut-off
	f := b.fireWith("w", 1, func(f *contracts.Fire) {
		f.Target, f.WorkerGroup, f.MisfireGraceMs = contracts.Target{FlowID: "hello"}, "g", 1
		f.ScheduledAt = f.ScheduledAt.Add(-time.Minute)
	})
	// The copy that runs it claimed it: its first running report.
	claim, _ := json.Marshal(contracts.RunEvent{V: contracts.Version, FireID: f.FireID, JournalID: f.JournalID, Tenant: "t", JobID: "w",
		Status: contracts.RunRunning, Attempts: 1, DynamicID: "elsewhere", StartedAt: time.Now().UTC()})
	if _, err := b.js.Publish(context.Background(), contracts.RunSubject("t", "w", contracts.RunRunning), claim,
		jetstream.WithMsgID(job.RunningReportID(f.FireID, 1))); err != nil {
		t.Fatal(err)
	}
	if err := b.r.Handle(context.Background(), b.take()); !errors.Is(err, runner.ErrRunElsewhere) {
		t.Fatalf("the skip of a fire claimed elsewhere: %v, want it handed back (ErrRunElsewhere)", err)
	}
	if ends := b.ends("w"); len(ends) != 0 {
		t.Fatalf("ends stored: %+v, want none (the run goes on elsewhere)", ends)
	}
}

// syncBuffer is a log an executor writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestARunStoppedAtItsTimeLimitSaysWhichLimitAndIsLoggedAtInfo(t *testing.T) {
	b := setup(t)
	var logs syncBuffer
	b.r.Log = zerolog.New(&logs).Level(zerolog.InfoLevel)
	b.r.Timeout = 200 * time.Millisecond
	b.hold = time.Second
	b.fire("slow", 1) // carries no timeout: the executor's own applies
	if err := b.handle(b.take()); err != nil {
		t.Fatal(err)
	}
	ends := b.ends("slow")
	want := "timeout: stopped at its limit of 200ms (the executor's JOBCENTER_EXEC_TIMEOUT)"
	if len(ends) != 1 || ends[0].Status != contracts.RunFailure || ends[0].Detail != want {
		t.Fatalf("end reports %+v; want one failure saying %q", ends, want)
	}
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["message"] == "run finished" {
			line = m
		}
	}
	if line == nil || line["level"] != "info" || line["status"] != "failure" || line["detail"] != want || line["job_id"] != "slow" {
		t.Fatalf("no info line for the failed run; the log:\n%s", logs.String())
	}
}

// TestARunUnderWayIsKnownWithItsDeadline: what a shutdown waits for, and how long at most.
func TestARunUnderWayIsKnownWithItsDeadline(t *testing.T) {
	b := setup(t)
	b.r.Timeout = 3 * time.Second
	b.hold = 500 * time.Millisecond
	b.fire("long", 1)
	msg := b.take()
	began := time.Now()
	done := make(chan error, 1)
	go func() { done <- b.handle(msg) }()
	var n int
	var until time.Time
	teststack.Eventually(t, 5*time.Second, "the run was never under way", func() bool {
		n, until = b.r.UnderWay()
		return n == 1
	})
	if until.Before(began.Add(2*time.Second)) || until.After(time.Now().Add(3*time.Second)) {
		t.Errorf("under way until %v, %v after it was taken; want about its 3 s limit", until, until.Sub(began))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _ := b.r.UnderWay(); n != 0 {
		t.Fatalf("%d runs under way after the run ended", n)
	}
}

func TestAKilledRunEndsAtOnceSaysWhoKilledItAndItsRunnerIsTold(t *testing.T) {
	b := setup(t)
	b.hold = 10 * time.Second
	cancels := make(chan contracts.Kill, 1)
	sub, err := b.nc.Subscribe(contracts.CancelSubject("t", "long"), func(m *nats.Msg) {
		var k contracts.Kill
		_ = json.Unmarshal(m.Data, &k)
		cancels <- k
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	f := b.fireWith("long", 1, func(f *contracts.Fire) { f.Retries = 3 })
	handled := make(chan error, 1)
	go func() { handled <- b.handle(b.take()) }()
	teststack.Eventually(t, 5*time.Second, "the flow to be called", func() bool { return b.runs(f.FireID) == 1 })

	at := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	if _, held := b.r.Kill(contracts.Kill{Tenant: "other", JobID: "long", FireID: f.FireID, Killed: contracts.Killed{By: "mallory", At: at}}); held {
		t.Fatal("a kill naming another tenant ended the run")
	}
	began := time.Now()
	ended, held := b.r.Kill(contracts.Kill{Tenant: "t", JobID: "long", FireID: f.FireID, Killed: contracts.Killed{By: "alice", At: at}})
	if !held {
		t.Fatal("the run under way was not found")
	}
	ev, ok := ended.Ended(5 * time.Second)
	if !ok {
		t.Fatal("the killed run did not end within 5 s")
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("the kill took %v", took)
	}
	if err := <-handled; err != nil {
		t.Fatal(err)
	}
	if ev.Status != contracts.RunFailure || ev.Killed == nil || ev.Killed.By != "alice" || !ev.Killed.At.Equal(at) ||
		!strings.HasPrefix(ev.Detail, "killed by alice at 2026-12-07T08:00:00.000Z") || ev.Attempts != 1 {
		t.Fatalf("the killed run's end: %+v (retries must not follow a kill)", ev)
	}
	if ends := b.ends("long"); len(ends) != 1 || ends[0].Killed == nil {
		t.Fatalf("stored ends: %+v", ends)
	}
	select {
	case k := <-cancels:
		if k.FireID != f.FireID || k.By != "alice" {
			t.Fatalf("the runner was told %+v", k)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the flow's runner was not told of the kill")
	}
	// The same kill asked again (its request after the bucket's copy ended the run) is
	// answered with the run's end.
	again, held := b.r.Kill(contracts.Kill{Tenant: "t", JobID: "long", FireID: f.FireID, Killed: contracts.Killed{By: "alice", At: at}})
	if !held {
		t.Fatal("a run just killed is not answered for")
	}
	if ev2, ok := again.Ended(time.Second); !ok || ev2.Killed == nil || ev2.DynamicID != ev.DynamicID {
		t.Fatalf("answered %+v, %v", ev2, ok)
	}
}

func TestAFireKilledBeforeItsRunBeganIsNotRun(t *testing.T) {
	b := setup(t)
	b.r.Kills = kills.NewSet(time.Hour, nil)
	at := time.Now().UTC()
	f := b.fire("early", 1)
	// The kill reaches this executor before the fire does: it is remembered.
	if _, held := b.r.Kill(contracts.Kill{Tenant: "t", JobID: "early", FireID: f.FireID, Killed: contracts.Killed{By: "bob", At: at}}); held {
		t.Fatal("a fire not begun was found under way")
	}
	if err := b.handle(b.take()); err != nil {
		t.Fatal(err)
	}
	if n := b.runs(f.FireID); n != 0 {
		t.Fatalf("the killed fire ran %d times", n)
	}
	ends := b.ends("early")
	if len(ends) != 1 || ends[0].Status != contracts.RunFailure || ends[0].Killed == nil || ends[0].Killed.By != "bob" ||
		!strings.Contains(ends[0].Detail, "before it began") {
		t.Fatalf("ends: %+v", ends)
	}
	// Another job's fire of the same id in name is not this kill's.
	if _, ok := b.r.Kills.Find(contracts.Fire{FireID: f.FireID, Tenant: "other", JobID: "early"}); ok {
		t.Fatal("a kill was found for another tenant's fire")
	}
}

func TestAKillThatComesAsTheRunBeginsIsNotLost(t *testing.T) {
	b := setup(t)
	b.r.Kills = kills.NewSet(time.Hour, nil)
	b.hold = 3 * time.Second
	// Each run is killed the moment its claim (its first running report) is stored: before
	// the runner has begun its work.
	sub, err := b.nc.Subscribe("jobcenter.run."+contracts.Token("t")+".*."+contracts.RunRunning, func(m *nats.Msg) {
		var ev contracts.RunEvent
		_ = json.Unmarshal(m.Data, &ev)
		b.r.Kill(contracts.Kill{Tenant: ev.Tenant, JobID: ev.JobID, FireID: ev.FireID, Killed: contracts.Killed{By: "eve", At: time.Now()}})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	for i := range 10 {
		j := "racy" + strconv.Itoa(i)
		b.fire(j, 1)
		if err := b.handle(b.take()); err != nil {
			t.Fatal(err)
		}
		if ends := b.ends(j); len(ends) != 1 || ends[0].Killed == nil || ends[0].Status != contracts.RunFailure {
			t.Fatalf("run %d: ends %+v; the kill was lost", i, ends)
		}
	}
}

func TestTheLinesACodeRunWritesArePublishedAsItWritesThem(t *testing.T) {
	b := setup(t)
	lines := make(chan contracts.RunLog, 16)
	sub, err := b.nc.Subscribe("jobcenter.log."+contracts.Token("t")+".*", func(m *nats.Msg) {
		var l contracts.RunLog
		_ = json.Unmarshal(m.Data, &l)
		lines <- l
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	f := b.fireWith("chatty", 1, func(f *contracts.Fire) {
		f.Target = contracts.Target{Code: "for i in range(3):\n    log_print('line %d' % i)\nlog_print('bad', 'ERROR')"}
	})
	if err := b.handle(b.take()); err != nil {
		t.Fatal(err)
	}
	var got []string
	defer func() {
		if t.Failed() {
			t.Logf("lines: %q", got)
		}
	}()
	for len(got) < 4 {
		select {
		case l := <-lines:
			if l.FireID != f.FireID || l.JournalID != f.JournalID || l.Attempt != 1 || l.Seq != len(got)+1 {
				t.Fatalf("a batch %+v after %d lines", l, len(got))
			}
			got = append(got, l.Lines...)
		case <-time.After(5 * time.Second):
			t.Fatalf("lines published: %q", got)
		}
	}
	if want := []string{"INFO line 0", "INFO line 1", "INFO line 2", "ERROR bad"}; !slices.Equal(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
	if ends := b.ends("chatty"); len(ends) != 1 || !strings.Contains(ends[0].Detail, "INFO line 2\nERROR bad") {
		t.Fatalf("the run's end keeps its log: %+v", ends)
	}

	// A run that goes on longer than a batch's wait: its first line is out before its end.
	b.r.MaxSteps = 1_000_000_000
	slow := b.fireWith("slow", 1, func(f *contracts.Fire) {
		f.Target = contracts.Target{Code: "log_print('first')\nx = 0\nfor k in range(5000000):\n    x += k\nlog_print('last')"}
	})
	handled := make(chan error, 1)
	go func() { handled <- b.handle(b.take()) }()
	select {
	case l := <-lines:
		if l.FireID != slow.FireID || !slices.Equal(l.Lines, []string{"INFO first"}) {
			t.Fatalf("the first batch: %+v", l)
		}
		if ends := b.ends("slow"); len(ends) != 0 {
			t.Fatalf("the first line came after the run's end: %+v", ends)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no line while the run went on")
	}
	if err := <-handled; err != nil {
		t.Fatal(err)
	}
}
