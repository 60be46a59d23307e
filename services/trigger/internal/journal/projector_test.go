package journal_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/journal"
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
				recs := mongostore.JournalRecords{Heads: map[string]int64{}}
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
