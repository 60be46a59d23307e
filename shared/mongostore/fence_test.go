package mongostore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// A trigger that lost its lease may finish the batch of commands it began after the new
// active trigger has applied newer ones to the same jobs. Its writes must change nothing.
func TestAStaleTriggersJobWritesAreRefused(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	v1 := sampleJob()
	v1.Spec.Target = job.Target{FlowID: "flow-a"}
	v1.Spec.Description = "first"
	v2 := v1
	v2.Version, v2.LastCommand, v2.State = 2, "c2", job.Started
	v2.StartedAt = v1.CreatedAt.Add(time.Minute)
	v3 := v2
	v3.Version, v3.LastCommand, v3.State, v3.StartedAt = 3, "c3", job.Stopped, time.Time{}
	v3.Spec.Target, v3.Spec.Description = job.Target{Code: "return 3"}, ""

	// The new active trigger applies commands 1..3 (stream positions 11..13).
	for i, j := range []job.Job{v1, v2, v3} {
		if err := s.PutJobs(ctx, []mongostore.JobWrite{{Job: j, CommandSeq: uint64(11 + i)}}); err != nil {
			t.Fatal(err)
		}
	}
	// The stale one writes what its batch decided: versions 1 and 2, each of them as a
	// replayed create (an insert) and as an update.
	for _, j := range []job.Job{v2, v1} {
		if err := s.PutJobs(ctx, []mongostore.JobWrite{{Job: j, CommandSeq: 12}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetJob(ctx, v1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g := got.Job; g.Version != 3 || g.LastCommand != "c3" || g.State != job.Stopped || !g.StartedAt.IsZero() ||
		g.Spec.Target != v3.Spec.Target || g.Spec.Description != "" {
		t.Fatalf("after the stale writes the job is %+v; want version 3 as written", g)
	}

	// An exec remembers its command without a new version: the later command's state
	// stays, the earlier one's (written late) does not.
	exec := v3
	exec.LastCommand = "exec-14"
	older := v3
	older.LastCommand = "zz-older-but-greater-as-text"
	for _, w := range []mongostore.JobWrite{{Job: exec, CommandSeq: 14}, {Job: older, CommandSeq: 13}} {
		if err := s.PutJobs(ctx, []mongostore.JobWrite{w}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.GetJob(ctx, v1.ID); err != nil || got.Job.LastCommand != "exec-14" {
		t.Fatalf("exec's command: %q, %v; want exec-14", got.Job.LastCommand, err)
	}
}

// A behaviour scheduled again after its schedule was deleted moves its key to the new
// schedule; a stale trigger's late write of the key cannot move it back.
func TestAStaleTriggerCannotPointAKeyBack(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	key := mongostore.BizKey("p1", "biz")
	mk := func(id string) job.Job {
		j := sampleJob()
		j.ID, j.Key, j.Spec.Target = id, "key-"+id, job.Target{BizCode: "biz"}
		return j
	}
	deleted := func(j job.Job) job.Job {
		j.Version, j.State, j.LastCommand = j.Version+1, job.Deleted, "del-"+j.ID
		return j
	}
	j1, j2, j3 := mk("j1"), mk("j2"), mk("j3")
	for _, j := range []job.Job{j1, deleted(j1), j2, deleted(j2), j3} {
		if err := s.PutJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if id, err := s.ResolveKey(ctx, key); err != nil || id != "j3" {
		t.Fatalf("key names %q, %v; want j3", id, err)
	}
	// The stale trigger writes its batch's creates of j1 and j2, with the key.
	for _, j := range []job.Job{j2, j1} {
		if err := s.PutJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if id, err := s.ResolveKey(ctx, key); err != nil || id != "j3" {
		t.Fatalf("after stale writes the key names %q, %v; want j3", id, err)
	}
	for _, id := range []string{"j1", "j2"} {
		if got, err := s.GetJob(ctx, id); err != nil || got.Job.State != job.Deleted {
			t.Fatalf("job %s came back: %+v, %v", id, got.Job, err)
		}
	}
}

// Two writers may read a key at the same generation; the one that writes later, on what
// it read before the other's change, changes nothing.
func TestAKeyChangedSinceItWasReadIsNotPointedBack(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	key := mongostore.BizKey("p1", "biz")
	j0, j1, j2 := sampleJob(), sampleJob(), sampleJob()
	j0.ID, j1.ID, j2.ID = "j0", "j1", "j2"
	j1.Key, j2.Key = "key-j1", "key-j2"
	for _, j := range []*job.Job{&j0, &j1, &j2} {
		j.Spec.Target = job.Target{BizCode: "biz"}
	}
	gone := func(j job.Job) job.Job {
		j.Version, j.State = j.Version+1, job.Deleted
		return j
	}
	for _, j := range []job.Job{j0, gone(j0)} {
		if err := s.PutJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	// The stale trigger has checked that j0 is deleted and j1 live, when the new active
	// trigger applies j1's create, j1's delete and j2's create.
	once := false
	restore := mongostore.SetBeforeRepoint(func() {
		if once {
			return
		}
		once = true
		for _, j := range []job.Job{j1, gone(j1), j2} {
			if err := s.PutJob(ctx, j); err != nil {
				t.Error(err)
			}
		}
	})
	defer restore()
	if err := s.PutJob(ctx, j1); err != nil {
		t.Fatal(err)
	}
	if id, err := s.ResolveKey(ctx, key); err != nil || id != "j2" {
		t.Fatalf("key names %q, %v; want j2", id, err)
	}
}

// A store written before lifecycle states were kept under "life" is moved once, by the
// first active term of a trigger of this layout; its keys are read as they were.
func TestJobsOfTheOldLayoutAreMovedOnce(t *testing.T) {
	ctx := context.Background()
	s, db := openRaw(t)
	at := time.Date(2025, 7, 9, 8, 0, 0, 0, time.UTC)
	old := bson.D{{Key: "_id", Value: "old-1"}, {Key: "jobKey", Value: "old-key"}, {Key: "tenant", Value: "p1"},
		{Key: "pid", Value: "dir"}, {Key: "name", Value: "n"}, {Key: "description", Value: ""}, {Key: "trigger", Value: "interval"},
		{Key: "seconds", Value: int64(5)}, {Key: "code", Value: "return 1"}, {Key: "state", Value: "started"},
		{Key: "coalesce", Value: true}, {Key: "maxInstances", Value: 1}, {Key: "replaceExisting", Value: true},
		{Key: "startedAt", Value: at}, {Key: "createdAt", Value: at}, {Key: "updatedAt", Value: at},
		{Key: "version", Value: int64(2)}, {Key: "lastCommand", Value: "c2"}, {Key: "fireSeq", Value: int64(41)}}
	if _, err := db.Collection("jobs").InsertOne(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("job_keys").InsertOne(ctx, bson.D{{Key: "_id", Value: mongostore.JobKey("old-key")},
		{Key: "jobId", Value: "old-1"}, {Key: "tenant", Value: "p1"}}); err != nil {
		t.Fatal(err)
	}
	// Before it is moved (an api upgraded before any trigger), it reads as it was.
	if got, err := s.FindJob(ctx, "old-key"); err != nil || got.Job.Tenant != "p1" || got.Job.State != job.Started || got.Job.Version != 2 {
		t.Fatalf("old layout read before the move: %+v, %v", got.Job, err)
	}
	if n, err := s.MigrateJobLayout(ctx); err != nil || n != 1 {
		t.Fatalf("moved %d, %v; want 1", n, err)
	}
	got, err := s.FindJob(ctx, "old-key")
	if err != nil {
		t.Fatal(err)
	}
	if g := got.Job; g.ID != "old-1" || g.Version != 2 || g.State != job.Started || g.Spec.Trigger.Every != 5*time.Second ||
		g.Spec.Target.Code != "return 1" || !g.StartedAt.Equal(at) || got.Progress.Seq != 41 {
		t.Fatalf("moved job reads %+v", got)
	}
	if jobs, total, err := s.ListJobs(ctx, "p1", "dir", 0, 10); err != nil || total != 1 || len(jobs) != 1 {
		t.Fatalf("list after the move: %d of %d, %v", len(jobs), total, err)
	}
	var raw bson.M
	if err := db.Collection("jobs").FindOne(ctx, bson.M{"_id": "old-1"}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["state"]; ok {
		t.Fatalf("old fields left beside life: %v", raw)
	}
	// Once done, not again: a later old-layout document is not looked for.
	if n, err := s.MigrateJobLayout(ctx); err != nil || n != 0 {
		t.Fatalf("second run moved %d, %v; want 0", n, err)
	}
}

// Every trigger moves the old layout at its start, and two start at once.
func TestTriggersStartingTogetherAllGetPastTheLayoutMove(t *testing.T) {
	ctx := context.Background()
	st := teststack.Start(t)
	errs := make(chan error, 8)
	for range cap(errs) {
		s, err := mongostore.Open(ctx, st.MongoURI, st.DB, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		go func() {
			_, err := s.MigrateJobLayout(ctx)
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestOutcomesKeptByOlderReleasesAreMovedOnceAndRemoved: outcomes kept in the store before
// the key-value bucket are handed over whole, then gone from the store.
func TestOutcomesKeptByOlderReleasesAreMovedOnceAndRemoved(t *testing.T) {
	ctx := context.Background()
	s, db := openRaw(t)
	var docs []any
	for i := range 2500 {
		docs = append(docs, bson.M{"_id": fmt.Sprintf("cmd-%d", i), "outcome": fmt.Sprintf(`{"n":%d}`, i)})
	}
	if _, err := db.Collection("outcomes").InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	n, err := s.MoveOutcomes(ctx, func(b map[string][]byte) error {
		for id, o := range b {
			got[id] = o
		}
		return nil
	})
	if err != nil || n != 2500 || len(got) != 2500 || string(got["cmd-7"]) != `{"n":7}` {
		t.Fatalf("moved %d (%d handed over, cmd-7 %q): %v", n, len(got), got["cmd-7"], err)
	}
	if n, err := s.MoveOutcomes(ctx, func(map[string][]byte) error { return errors.New("called") }); n != 0 || err != nil {
		t.Fatalf("moved again: %d %v; want nothing left", n, err)
	}
}

// openRaw opens a store and, beside it, its database as a plain client sees it: for
// documents laid out as older releases wrote them.
func openRaw(t *testing.T) (*mongostore.Store, *mongo.Database) {
	t.Helper()
	ctx := context.Background()
	st := teststack.Start(t)
	s, err := mongostore.Open(ctx, st.MongoURI, st.DB, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	cl, err := mongo.Connect(options.Client().ApplyURI(st.MongoURI))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Disconnect(context.Background()) })
	return s, cl.Database(st.DB)
}

// TestTheJobsCheckpointOfAnOlderTermIsRefused: a trigger that lost the lease and saves
// its checkpoint late cannot claim documents the active one has not written.
func TestTheJobsCheckpointOfAnOlderTermIsRefused(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	end := func(context.Context) (uint64, error) { return 77, nil }
	if seq, term, err := s.JobsWritten(ctx, end); err != nil || term != 0 || seq != 77 {
		t.Fatalf("a store without the checkpoint: %d, term %d, %v; want the stream's end, no term", seq, term, err)
	}
	for _, step := range []struct{ term, seq, want uint64 }{
		{5, 100, 100},
		{4, 200, 100}, // the stale trigger, late
		{5, 150, 150},
		{6, 10, 10}, // a new term starts lower: it is what that term has written
		{5, 500, 10},
	} {
		if err := s.SaveJobsWritten(ctx, step.term, step.seq); err != nil {
			t.Fatal(err)
		}
		if seq, term, err := s.JobsWritten(ctx, end); err != nil || term == 0 || seq != step.want {
			t.Fatalf("after term %d saved %d: %d, term %d, %v; want %d", step.term, step.seq, seq, term, err, step.want)
		}
	}
}
