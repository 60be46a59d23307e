package mongostore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

func open(t *testing.T) *mongostore.Store {
	t.Helper()
	st := teststack.Start(t)
	s, err := mongostore.Open(context.Background(), st.MongoURI, st.DB, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func sampleJob() job.Job {
	at := time.Date(2025, 7, 9, 8, 0, 0, 0, time.UTC)
	return job.Job{
		ID: "rec-1", Key: "key-1", Tenant: "p1",
		Spec: job.Spec{Pid: "dir", Name: "n", Description: "d",
			Trigger: job.Trigger{Kind: job.Date, RunAt: at}, Target: job.Target{Code: "return 1"}, Policy: job.DefaultPolicy()},
		State:     job.Stopped,
		CreatedAt: at.Add(-time.Hour), UpdatedAt: at.Add(-time.Hour), Version: 1, LastCommand: "c1",
	}
}

func TestAJobIsFoundByEitherIdAndKeepsItsProgressAcrossLifecycleWrites(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	j := sampleJob()
	if err := s.PutJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	lf := time.Date(2025, 7, 9, 8, 0, 0, 0, time.UTC)
	if err := s.SaveProgress(ctx, map[string]job.Progress{j.ID: {Seq: 7, LastFire: lf}}); err != nil {
		t.Fatal(err)
	}
	// A later lifecycle write turns the job into an interval job; progress must survive
	// and the date's field must go.
	j.Spec.Trigger = job.Trigger{Kind: job.Interval, Every: 5 * time.Second}
	j.Version = 2
	if err := s.PutJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"rec-1", "key-1"} {
		got, err := s.FindJob(ctx, id)
		if err != nil {
			t.Fatalf("find %s: %v", id, err)
		}
		if got.Job.ID != "rec-1" || got.Progress.Seq != 7 || !got.Progress.LastFire.Equal(lf) {
			t.Fatalf("find %s: got %+v", id, got)
		}
		if got.Job.Spec.Trigger.Kind != job.Interval || got.Job.Spec.Trigger.Every != 5*time.Second || !got.Job.Spec.Trigger.RunAt.IsZero() {
			t.Fatalf("trigger not replaced: %+v", got.Job.Spec.Trigger)
		}
	}
	if _, err := s.FindJob(ctx, "nope"); err != mongostore.ErrNotFound {
		t.Fatalf("unknown id: got %v, want ErrNotFound", err)
	}
}

func TestAJournalPageReadsNewestFirstWithTrueCountsAndRecordsAreWrittenOnce(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	if err := s.PutJob(ctx, sampleJob()); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)
	var recs mongostore.JournalRecords
	for seq := int64(1); seq <= 25; seq++ {
		recs.Fires = append(recs.Fires, mongostore.FireRecord{ID: job.JournalID("rec-1", seq), JobID: "rec-1", Seq: seq,
			TriggerStatus: "success", TriggerTime: at.Add(time.Duration(seq) * time.Second)})
	}
	end := at.Add(time.Minute)
	recs.Runs = []mongostore.RunRecord{
		{ID: job.RunStartID("rec-1:25", 1), JournalID: "rec-1:25", Status: "running", Attempts: 1, StartedAt: at},
		{ID: job.RunEndID("rec-1:25"), JournalID: "rec-1:25", Status: "success", Attempts: 1, StartedAt: at, EndedAt: &end, Detail: "ok"},
		{ID: job.RunStartID("rec-1:24", 1), JournalID: "rec-1:24", Status: "running", Attempts: 1, StartedAt: at},
	}
	if err := s.WriteJournal(ctx, recs); err != nil {
		t.Fatal(err)
	}
	// Written again (a replay), with a second, different end of run 25: nothing changes;
	// the first end stays.
	recs.Runs[1].Status = "failure"
	if err := s.WriteJournal(ctx, recs); err != nil {
		t.Fatal(err)
	}
	// A page finds the head from wherever it starts looking: the saved fire progress is
	// behind the journal, or ahead of it when the journal is behind.
	for _, near := range []int64{0, 1, 3, 17, 24, 25, 26, 31, 1000, 1 << 40} {
		p, err := s.JournalPage(ctx, "rec-1", near, 0, 1, 5)
		if err != nil || p.Total != 25 || p.Entries[0].Fire.Seq != 25 {
			t.Fatalf("looking from %d: total %d, %v; want 25", near, p.Total, err)
		}
	}
	if p, err := s.JournalPage(ctx, "no-such-job", 40, 0, 1, 5); err != nil || p.Total != 0 || len(p.Entries) != 0 {
		t.Fatalf("a job without runs: %+v, %v", p, err)
	}
	tests := []struct {
		page, size     int64
		wantFirst      int64
		wantN, wantPgs int64
	}{
		{1, 10, 25, 10, 3},
		{3, 10, 5, 5, 3},
		{4, 10, 0, 0, 3},
		{1, 100, 25, 25, 1},
	}
	for _, tc := range tests {
		p, err := s.JournalPage(ctx, "rec-1", 25, 0, tc.page, tc.size)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(p.Entries)) != tc.wantN || p.Pages != tc.wantPgs || p.Total != 25 {
			t.Fatalf("page %d size %d: got %d entries, %d pages, total %d", tc.page, tc.size, len(p.Entries), p.Pages, p.Total)
		}
		if tc.wantN > 0 && p.Entries[0].Fire.Seq != tc.wantFirst {
			t.Fatalf("page %d: first seq %d, want %d", tc.page, p.Entries[0].Fire.Seq, tc.wantFirst)
		}
	}
	for id, want := range map[string]string{"rec-1:25": "success", "rec-1:24": "running", "rec-1:23": "waiting"} {
		e, err := s.GetEntry(ctx, id)
		if err != nil || e.Status() != want {
			t.Fatalf("entry %s: %s, %v; want %s", id, e.Status(), err, want)
		}
	}
	if e, _ := s.GetEntry(ctx, "rec-1:25"); e.Detail() != "ok" || !e.Updated().Equal(end) {
		t.Fatalf("entry 25: %+v", e)
	}
}

// Hundreds of jobs' writes at once, as a busy trigger and journal make them, must all
// land: FerretDB cannot take a hundred updates in one command.
func TestTheProgressAndWritesOfHundredsOfJobsAtOnceAllLand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := open(t)
	const n = 300
	var ws []mongostore.JobWrite
	for i := range n {
		j := sampleJob()
		j.ID, j.Key = fmt.Sprintf("rec-%d", i), fmt.Sprintf("key-%d", i)
		ws = append(ws, mongostore.JobWrite{Job: j})
	}
	if err := s.PutJobs(ctx, ws); err != nil {
		t.Fatal(err)
	}
	progress := map[string]job.Progress{}
	for i := range ws {
		ws[i].Job.Version, ws[i].Job.Spec.Name = 2, "renamed"
		progress[ws[i].Job.ID] = job.Progress{Seq: int64(i)}
	}
	if err := s.PutJobs(ctx, ws); err != nil {
		t.Fatalf("update %d jobs: %v", n, err)
	}
	if err := s.SaveProgress(ctx, progress); err != nil {
		t.Fatalf("save the progress of %d jobs: %v", n, err)
	}
	for _, i := range []int{0, n / 2, n - 1} {
		got, err := s.GetJob(ctx, fmt.Sprintf("rec-%d", i))
		if err != nil || got.Job.Spec.Name != "renamed" || got.Progress.Seq != int64(i) {
			t.Fatalf("job %d: %+v %v", i, got, err)
		}
	}
}

// TestFireProgressAndJournalTailsOnlyMoveForward: a trigger that lost its lease may still
// save what it had; the store keeps the newer progress and tail the new active trigger
// saved.
func TestFireProgressAndJournalTailsOnlyMoveForward(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	j := sampleJob()
	if err := s.PutJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	late, early := time.Date(2025, 7, 9, 9, 0, 0, 0, time.UTC), time.Date(2025, 7, 9, 8, 0, 0, 0, time.UTC)
	for _, p := range []job.Progress{{Seq: 9, LastFire: late}, {Seq: 4, LastFire: early}} {
		if err := s.SaveProgress(ctx, map[string]job.Progress{j.ID: p}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.GetJob(ctx, j.ID); err != nil || got.Progress.Seq != 9 || !got.Progress.LastFire.Equal(late) {
		t.Fatalf("progress after a stale save: %+v, %v", got.Progress, err)
	}
	for _, tail := range []int64{100, 40} {
		if err := s.SaveJournalTail(ctx, j.ID, tail, early.Add(time.Duration(tail)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	var found int64
	if err := s.EachJournalTail(ctx, func(id string, tail int64, _ time.Time) {
		if id == j.ID {
			found = tail
		}
	}); err != nil {
		t.Fatal(err)
	}
	if found != 100 {
		t.Fatalf("the journal's tail went back to %d", found)
	}
}

func TestAJobsWholeDefinitionIsStoredAndReadBack(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	j := sampleJob()
	j.Spec.Policy = job.Policy{Coalesce: false, MisfireGrace: time.Second, MaxInstances: 3, Retries: 2, RetryBackoff: time.Minute,
		Timeout: time.Hour, PauseAfterFailures: 4, OnSuccess: []string{"a", "b"}, OnFailure: []string{"c"}}
	if err := s.PutJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Every field of the definition, the zone of its instant aside.
	if !got.Job.Spec.Same(j.Spec) {
		t.Fatalf("stored\n%+v\nread back\n%+v", j.Spec, got.Job.Spec)
	}
}
