package mongostore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// journalOf writes runs 1..n of a job, run i fired i seconds after at, each with the
// start and end of its run.
func journalOf(t *testing.T, s *mongostore.Store, jobID string, n int64, at time.Time) {
	t.Helper()
	var recs mongostore.JournalRecords
	for seq := int64(1); seq <= n; seq++ {
		id := job.JournalID(jobID, seq)
		fired := at.Add(time.Duration(seq) * time.Second)
		recs.Fires = append(recs.Fires, mongostore.FireRecord{ID: id, JobID: jobID, Seq: seq,
			TriggerStatus: "success", TriggerTime: fired, FiredAt: fired})
		recs.Runs = append(recs.Runs,
			mongostore.RunRecord{ID: job.RunStartID(id, 1), JournalID: id, Status: "running", Attempts: 1, StartedAt: fired},
			mongostore.RunRecord{ID: job.RunEndID(id), JournalID: id, Status: "success", Attempts: 1, StartedAt: fired, EndedAt: &fired})
	}
	if err := s.WriteJournal(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

func TestRunsRemovedFromTheBottomLeaveTruePagesAndNoRecordBehind(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	journalOf(t, s, "a", 30, at)
	journalOf(t, s, "b", 5, at)
	before, err := s.JournalSize(ctx)
	if err != nil || before.Records != 35*3 || before.Bytes <= 0 {
		t.Fatalf("journal size before: %+v, %v; want 105 records", before, err)
	}

	n, err := s.DeleteRuns(ctx, []mongostore.RunRange{{JobID: "a", From: 1, To: 21}, {JobID: "b", From: 1, To: 6}})
	if err != nil || n != 25 {
		t.Fatalf("removed %d runs, %v; want 25", n, err)
	}
	if err := s.SaveJournalTail(ctx, "a", 21, at.Add(21*time.Second)); err != nil {
		t.Fatal(err)
	}
	after, err := s.JournalSize(ctx)
	if err != nil || after.Records != 10*3 {
		t.Fatalf("journal size after: %+v, %v; want the 30 records of a's runs 21..30", after, err)
	}
	if tail, tat, err := s.JournalTail(ctx, "a"); err != nil || tail != 21 || !tat.Equal(at.Add(21*time.Second)) {
		t.Fatalf("tail of a: %d %v %v", tail, tat, err)
	}
	if tail, tat, err := s.JournalTail(ctx, "b"); err != nil || tail != 1 || !tat.Equal(at.Add(time.Second)) {
		t.Fatalf("a job's first run starts its tail: %d %v %v", tail, tat, err)
	}
	if tail, tat, err := s.JournalTail(ctx, "c"); err != nil || tail != 1 || !tat.IsZero() {
		t.Fatalf("a job with no tail starts at run 1: %d %v %v", tail, tat, err)
	}
	for _, near := range []int64{0, 5, 21, 30, 99} {
		p, err := s.JournalPage(ctx, "a", near, 0, 1, 4)
		if err != nil || p.Total != 10 || p.Pages != 3 || len(p.Entries) != 4 || p.Entries[0].Fire.Seq != 30 {
			t.Fatalf("from %d: page 1 of a: total %d, pages %d, %d entries, %v", near, p.Total, p.Pages, len(p.Entries), err)
		}
	}
	last, err := s.JournalPage(ctx, "a", 30, 0, 3, 4)
	if err != nil || len(last.Entries) != 2 || last.Entries[1].Fire.Seq != 21 {
		t.Fatalf("last page of a ends at its tail, run 21: %+v %v", last.Entries, err)
	}
	// Retention by count shows the newest runs only, before or after they are removed.
	kept, err := s.JournalPage(ctx, "a", 30, 4, 1, 10)
	if err != nil || kept.Total != 4 || len(kept.Entries) != 4 || kept.Entries[3].Fire.Seq != 27 {
		t.Fatalf("keeping 4: total %d, %d entries, %v", kept.Total, len(kept.Entries), err)
	}
	if p, err := s.JournalPage(ctx, "b", 5, 0, 1, 10); err != nil || p.Total != 0 || len(p.Entries) != 0 {
		t.Fatalf("b, every run removed: %+v %v", p, err)
	}
	if _, ok, err := s.FiredAt(ctx, "a", 20); ok || err != nil {
		t.Fatalf("run 20 of a is removed, yet read: %v", err)
	}
	if fat, ok, err := s.FiredAt(ctx, "a", 21); !ok || err != nil || !fat.Equal(at.Add(21*time.Second)) {
		t.Fatalf("run 21 of a fired at %v %v %v", fat, ok, err)
	}
	// A write replayed after the removal adds nothing it did not hold.
	if ok, _ := s.Journaled(ctx, "a", 21); !ok {
		t.Fatal("run 21 of a should be journaled")
	}
	// Each job's first run started its tail; a's was moved on.
	tails := map[string]int64{}
	if err := s.EachJournalTail(ctx, func(id string, tail int64, _ time.Time) { tails[id] = tail }); err != nil || len(tails) != 2 || tails["a"] != 21 || tails["b"] != 1 {
		t.Fatalf("tails: %v %v", tails, err)
	}
	if err := s.DropJournalTail(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if spans, err := s.JournalSpans(ctx); err != nil || len(spans) != 1 || spans["a"] != (mongostore.Span{Lowest: 21, Highest: 30}) {
		t.Fatalf("journal spans: %v %v", spans, err)
	}
	if b, err := s.StoreBytes(ctx); err != nil || b <= 0 {
		t.Fatalf("store bytes: %d %v", b, err)
	}
}
