package journal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/alerting"
	"github.com/jobcenter/jobcenter/services/trigger/internal/journal"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// TestARunsReportsGiveTheSameEntryInWhateverOrderTheyAreProjected: a batch that failed
// is retried after newer messages, so a "running" report may come after the final one.
func TestARunsReportsGiveTheSameEntryInWhateverOrderTheyAreProjected(t *testing.T) {
	st := teststack.Start(t)
	ctx := context.Background()
	s, err := mongostore.Open(ctx, st.MongoURI, st.DB, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)
	end := at.Add(2 * time.Second)
	fire := contracts.Fire{V: 1, FireID: "j@1", JournalID: "j:1", Seq: 1, Tenant: "p", JobID: "j", RunType: "trigger",
		ScheduledAt: at, FiredAt: at, TriggerStatus: contracts.TriggerFired}
	running := contracts.RunEvent{V: 1, FireID: "j@1", JournalID: "j:1", Tenant: "p", JobID: "j", Status: "running", DynamicID: "d", Attempts: 2, StartedAt: at}
	final := running
	final.Status, final.EndedAt, final.Detail = "success", &end, "ok"
	msg := func(subject string, v any) [2]any { b, _ := json.Marshal(v); return [2]any{subject, b} }
	orders := map[string][][2]any{
		"in order":         {msg("jobcenter.fire.p.j", fire), msg("jobcenter.run.p.j.running", running), msg("jobcenter.run.p.j.success", final)},
		"running last":     {msg("jobcenter.fire.p.j", fire), msg("jobcenter.run.p.j.success", final), msg("jobcenter.run.p.j.running", running)},
		"fire last":        {msg("jobcenter.run.p.j.success", final), msg("jobcenter.run.p.j.running", running), msg("jobcenter.fire.p.j", fire)},
		"final twice last": {msg("jobcenter.run.p.j.success", final), msg("jobcenter.fire.p.j", fire), msg("jobcenter.run.p.j.running", running), msg("jobcenter.run.p.j.success", final)},
	}
	for name, msgs := range orders {
		t.Run(name, func(t *testing.T) {
			if err := s.Drop(ctx); err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				var recs mongostore.JournalRecords
				if err := journal.Add(&recs, m[0].(string), m[1].([]byte)); err != nil {
					t.Fatal(err)
				}
				if err := s.WriteJournal(ctx, recs); err != nil {
					t.Fatal(err)
				}
			}
			e, err := s.GetEntry(ctx, "j:1")
			if err != nil {
				t.Fatal(err)
			}
			if e.Status() != "success" || !e.Updated().Equal(end) || e.Detail() != "ok" || e.Run.Attempts != 2 || e.Fire.TriggerStatus != "success" || !e.Fire.TriggerTime.Equal(at) {
				t.Fatalf("entry: %+v", e)
			}
		})
	}
}

// TestFiresAreOnTheirJobsPagesOnceJournaled: the projector writes records only, and a
// page finds the newest run from them, whatever the job's saved progress says.
func TestFiresAreOnTheirJobsPagesOnceJournaled(t *testing.T) {
	st := teststack.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := mongostore.Open(ctx, st.MongoURI, st.DB, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc, js, err := bus.Dial(st.NATSURL, "projector-test", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := bus.Provision(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	j := job.Job{ID: "j", Key: "k", Tenant: "p", Spec: job.Spec{Pid: "d", Name: "n",
		Trigger: job.Trigger{Kind: job.Interval, Every: time.Second}, Target: job.Target{Code: "pass"}, Policy: job.DefaultPolicy()},
		State: job.Started, Version: 1}
	if err := s.PutJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, contracts.StreamRuns, jetstream.ConsumerConfig{
		Durable: journal.Consumer, AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	p := &journal.Projector{Store: s, NC: nc, Log: zerolog.Nop()}
	runProjector(t, ctx, p, cons)

	at := time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)
	total := func() int64 {
		sj, err := s.GetJob(ctx, "j")
		if err != nil {
			t.Fatal(err)
		}
		pg, err := s.JournalPage(ctx, "j", sj.Progress.Seq, 0, 1, 20)
		if err != nil {
			t.Fatal(err)
		}
		return pg.Total
	}
	for _, n := range []int64{37, 40} {
		for seq := total() + 1; seq <= n; seq++ {
			f := contracts.Fire{V: 1, FireID: fmt.Sprintf("j@%d", seq), JournalID: job.JournalID("j", seq), Seq: seq, Tenant: "p",
				JobID: "j", RunType: "trigger", ScheduledAt: at.Add(time.Duration(seq) * time.Second), TriggerStatus: contracts.TriggerFired}
			data, _ := json.Marshal(f)
			if _, err := js.Publish(ctx, contracts.FireSubject("p", "j"), data); err != nil {
				t.Fatal(err)
			}
		}
		teststack.Eventually(t, 10*time.Second, fmt.Sprintf("the page counts %d runs", n), func() bool { return total() == n })
	}
}

// alertsSeen records the events the projector would raise alerts for.
type alertsSeen struct {
	mu     sync.Mutex
	events []alerting.Event
}

func (a *alertsSeen) Wants(subject string, _ []byte) bool {
	return strings.HasSuffix(subject, ".failure") || strings.HasSuffix(subject, ".skipped")
}
func (a *alertsSeen) Raise(_ context.Context, evs []alerting.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, evs...)
	return nil
}

// A run reported ended twice — cut off, journaled interrupted by another executor, its
// own end (here a skip) stored too — is alerted once, for the end the journal keeps.
func TestARunEndedTwiceIsAlertedForTheEndTheJournalKeeps(t *testing.T) {
	ctx, s, js, cons, p, seen := alertingProjector(t)
	at := time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)
	end := at.Add(time.Second)
	fire := contracts.Fire{V: 1, FireID: "j@1", JournalID: "j:1", Seq: 1, Tenant: "p", JobID: "j", RunType: "trigger",
		ScheduledAt: at, FiredAt: at, TriggerStatus: contracts.TriggerFired}
	interrupted := contracts.RunEvent{V: 1, FireID: "j@1", JournalID: "j:1", Tenant: "p", JobID: "j", Status: contracts.RunFailure,
		DynamicID: "d-interrupt", Attempts: 1, StartedAt: at, EndedAt: &end, Detail: "interrupted"}
	skipped := interrupted
	skipped.Status, skipped.DynamicID, skipped.Detail = contracts.RunSkipped, "d-skip", "skipped"
	for _, m := range []struct {
		subject string
		v       any
	}{{contracts.FireSubject("p", "j"), fire}, {contracts.RunSubject("p", "j", "failure"), interrupted}, {contracts.RunSubject("p", "j", "skipped"), skipped}} {
		data, _ := json.Marshal(m.v)
		if _, err := js.Publish(ctx, m.subject, data); err != nil {
			t.Fatal(err)
		}
	}
	runProjector(t, ctx, p, cons)
	teststack.Eventually(t, 10*time.Second, "the run journaled", func() bool {
		e, err := s.GetEntry(ctx, "j:1")
		return err == nil && e.Run != nil && e.Run.EndedAt != nil
	})
	teststack.Eventually(t, 10*time.Second, "every message settled", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	seen.mu.Lock()
	defer seen.mu.Unlock()
	e, _ := s.GetEntry(ctx, "j:1")
	if len(seen.events) != 1 || seen.events[0].DynamicID != e.Run.DynamicID {
		t.Fatalf("alerted %+v; the journal keeps the end of run %s", seen.events, e.Run.DynamicID)
	}
}

// A run's end projected before its fire (the fire's batch failed and comes again after
// newer messages, as when the store was out of reach) is alerted all the same: make
// chaos found such a failure journaled and never alerted.
func TestARunsEndProjectedBeforeItsFireIsAlerted(t *testing.T) {
	ctx, _, js, cons, p, seen := alertingProjector(t)
	at := time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)
	end := at.Add(time.Second)
	failed := contracts.RunEvent{V: 1, FireID: "j@1", JournalID: "j:1", Tenant: "p", JobID: "j", Status: contracts.RunFailure,
		DynamicID: "d", Attempts: 1, StartedAt: at, EndedAt: &end, Detail: "it failed"}
	data, _ := json.Marshal(failed)
	if _, err := js.Publish(ctx, contracts.RunSubject("p", "j", "failure"), data); err != nil {
		t.Fatal(err)
	}
	runProjector(t, ctx, p, cons)
	teststack.Eventually(t, 10*time.Second, "the end was not alerted before its fire was journaled", func() bool {
		seen.mu.Lock()
		defer seen.mu.Unlock()
		return len(seen.events) == 1 && seen.events[0].DynamicID == "d"
	})
}

// alertingProjector is a projector of a fresh stack's runs stream, its alerts seen.
func alertingProjector(t *testing.T) (context.Context, *mongostore.Store, jetstream.JetStream, jetstream.Consumer, *journal.Projector, *alertsSeen) {
	t.Helper()
	st := teststack.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	s, err := mongostore.Open(ctx, st.MongoURI, st.DB, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc, js, err := bus.Dial(st.NATSURL, "projector-test", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := bus.Provision(ctx, js, bus.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, contracts.StreamRuns, jetstream.ConsumerConfig{
		Durable: journal.Consumer, AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	seen := &alertsSeen{}
	return ctx, s, js, cons, &journal.Projector{Store: s, NC: nc, Alerts: seen, Log: zerolog.Nop()}, seen
}

// runProjector runs p on cons until the test ends.
func runProjector(t *testing.T, ctx context.Context, p *journal.Projector, cons jetstream.Consumer) {
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(pctx, cons) }()
	t.Cleanup(func() { stop(); <-done })
}
