package retention_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/services/trigger/internal/retention"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

type counts struct {
	mu      sync.Mutex
	removed map[string]int64
	tracked int
}

func (c *counts) Removed(reason string, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removed[reason] += n
}

func (c *counts) Tracked(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tracked = n
}

func (c *counts) get(reason string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removed[reason]
}

// bundle is one test's store, clock and janitor.
type bundle struct {
	t     *testing.T
	store *mongostore.Store
	clock *clock.Fake
	m     *counts
	j     *retention.Janitor
}

func setup(t *testing.T, policy mongostore.JournalRetention) *bundle {
	t.Helper()
	st := teststack.Start(t)
	s, err := mongostore.Open(context.Background(), st.MongoURI, st.DB, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	b := &bundle{t: t, store: s, clock: clock.NewFake(t0), m: &counts{removed: map[string]int64{}}}
	b.j = retention.New(s, policy, b.clock, b.m, zerolog.Nop())
	return b
}

// start runs the janitor until the test ends.
func (b *bundle) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.j.Run(ctx) }()
	b.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.t.Errorf("janitor: %v", err)
		}
	})
}

// write journals runs from..to of a job, run i fired i seconds after t0, each with its
// start and end, and tells the janitor as the projector does.
func (b *bundle) write(jobID string, from, to int64, tell bool) {
	b.t.Helper()
	var recs mongostore.JournalRecords
	for seq := from; seq <= to; seq++ {
		id := job.JournalID(jobID, seq)
		at := t0.Add(time.Duration(seq) * time.Second)
		recs.Fires = append(recs.Fires, mongostore.FireRecord{ID: id, JobID: jobID, Seq: seq, TriggerStatus: "success", TriggerTime: at, FiredAt: at})
		recs.Runs = append(recs.Runs,
			mongostore.RunRecord{ID: job.RunStartID(id, 1), JournalID: id, Status: "running", Attempts: 1, StartedAt: at},
			mongostore.RunRecord{ID: job.RunEndID(id), JournalID: id, Status: "success", Attempts: 1, StartedAt: at, EndedAt: &at})
	}
	if err := b.store.WriteJournal(context.Background(), recs); err != nil {
		b.t.Fatal(err)
	}
	if tell {
		for _, f := range recs.Fires {
			b.j.Seen(f.JobID, f.Seq, f.FiredAt)
		}
	}
}

// kept reads which runs of the job the journal holds, and its page's total.
func (b *bundle) kept(jobID string, upTo int64) (lowest, n, total int64) {
	b.t.Helper()
	ctx := context.Background()
	for seq := int64(1); seq <= upTo; seq++ {
		ok, err := b.store.Journaled(ctx, jobID, seq)
		if err != nil {
			b.t.Fatal(err)
		}
		if ok {
			if lowest == 0 {
				lowest = seq
			}
			n++
		}
	}
	p, err := b.store.JournalPage(ctx, jobID, upTo, 0, 1, 10)
	if err != nil {
		b.t.Fatal(err)
	}
	return lowest, n, p.Total
}

// eventually polls cond for up to 10 s of real time: the janitor works on its own
// goroutine against a real store.
func (b *bundle) eventually(what string, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunsOlderThanTheMaxAgeAreRemovedAsTheyAgeAndPagesCountWhatIsLeft(t *testing.T) {
	b := setup(t, mongostore.JournalRetention{MaxAge: time.Minute})
	b.write("a", 1, 30, true)
	b.write("b", 1, 3, true)
	b.start()
	// At t0+70s runs fired before t0+10s are past a minute: runs 1..9 of a, 1..3 of b.
	b.clock.Set(t0.Add(70 * time.Second))
	b.eventually("a's runs 1..9 and b's 1..3 removed", func() bool {
		low, n, total := b.kept("a", 30)
		return low == 10 && n == 21 && total == 21 && b.m.get("age") == 12
	})
	if _, n, total := b.kept("b", 3); n != 0 || total != 0 {
		t.Fatalf("b kept %d runs, its page counts %d; want none", n, total)
	}
	if !b.j.Below("a", 9) || b.j.Below("a", 10) {
		t.Fatal("Below should say run 9 of a is removed and run 10 is not")
	}
	// A granule later (a twentieth of the minute) the runs fired up to t0+15s go too.
	b.clock.Set(t0.Add(76 * time.Second))
	b.eventually("a's runs up to 15 removed", func() bool {
		low, _, _ := b.kept("a", 30)
		return low == 16
	})
	if got := b.m.get("count"); got != 0 {
		t.Fatalf("%d runs counted as removed by count; no count is set", got)
	}
	tail, at, err := b.store.JournalTail(context.Background(), "a")
	if err != nil || tail != 16 || !at.Equal(t0.Add(16*time.Second)) {
		t.Fatalf("a's saved tail: %d fired %v, %v; want 16 fired at t0+16s", tail, at, err)
	}
}

func TestAJobKeepsItsNewestRunsWhenACountIsSet(t *testing.T) {
	b := setup(t, mongostore.JournalRetention{MaxAge: 24 * time.Hour, MaxPerJob: 10})
	b.start()
	b.write("a", 1, 11, true) // within the slack of a tenth: nothing goes yet
	b.write("a", 12, 40, true)
	b.eventually("a keeps runs 31..40", func() bool {
		b.clock.Advance(time.Second) // a job is swept for count once a second at most
		low, n, total := b.kept("a", 40)
		return low == 31 && n == 10 && total == 10
	})
	if b.m.get("count") != 30 || b.m.get("age") != 0 {
		t.Fatalf("removed by count %d, by age %d; want 30 and 0", b.m.get("count"), b.m.get("age"))
	}
}

func TestJournalsWrittenBeforeTailsWereKeptAreFoundAndADeletedJobIsForgottenOnceEmpty(t *testing.T) {
	b := setup(t, mongostore.JournalRetention{MaxAge: time.Minute})
	// A journal from an older release whose oldest runs were rebuilt away: it starts at
	// run 5 with no tail saved, and nobody tells the janitor of it.
	b.write("old", 5, 20, false)
	b.clock.Set(t0.Add(72 * time.Second)) // runs fired before t0+12s are past a minute
	b.start()
	b.eventually("old keeps runs 12..20", func() bool {
		low, n, total := b.kept("old", 20)
		return low == 12 && n == 9 && total == 9
	})
	// The job does not exist (never stored): once every run is gone, its tail goes too.
	b.clock.Set(t0.Add(200 * time.Second))
	b.eventually("old's tail dropped", func() bool {
		found := false
		_ = b.store.EachJournalTail(context.Background(), func(id string, _ int64, _ time.Time) { found = found || id == "old" })
		return !found
	})
	if _, n, _ := b.kept("old", 20); n != 0 {
		t.Fatalf("old kept %d runs", n)
	}
}

func TestARunWrittenAfterTheOneAboveItIsNotTakenForRemoved(t *testing.T) {
	b := setup(t, mongostore.JournalRetention{MaxAge: time.Hour})
	b.start()
	// Run 2 of a new job is written before run 1 (its publish was retried).
	b.clock.Set(t0.Add(3 * time.Second))
	b.write("e", 2, 2, true)
	time.Sleep(300 * time.Millisecond) // a sweep of the job, if the janitor makes one
	b.clock.Advance(2 * time.Second)   // and another
	time.Sleep(300 * time.Millisecond)
	if b.j.Below("e", 1) {
		t.Fatal("run 1, not written yet, is taken for removed")
	}
	b.write("e", 1, 1, true)
	if _, n, total := b.kept("e", 2); n != 2 || total != 2 {
		t.Fatalf("the journal keeps %d runs and its page counts %d; want 2 and 2", n, total)
	}
}
