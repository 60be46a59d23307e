package scheduler_test

import (
	"bytes"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
	"github.com/jobcenter/jobcenter/shared/job"
)

func fixedDelayJob() job.Job {
	return job.Job{ID: "fd", Key: "fd-key", Tenant: "t", State: job.Started, StartedAt: t0, Version: 1,
		Spec: job.Spec{Name: "fd", Trigger: job.Trigger{Kind: job.Interval, Every: 10 * time.Second, FixedDelay: true},
			Target: job.Target{Code: "x"}, Policy: job.DefaultPolicy()}}
}

// A fixed-delay job fires its start's instant once, then waits — however long its run
// takes — until it is told of the run's end (Rearm), its next fire then counting from it; a
// scheduler that loads it or takes up an image while it waits waits too, and does not
// take it for spent.
func TestAFixedDelayJobWaitsForItsRunsEndThenCountsFromIt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := fixedDelayJob()
		s, rec := start(t, j)
		advance(10 * time.Second)
		settled(t, "the start's instant fires", func() bool { f, _ := rec.snapshot(); return len(f) == 1 })
		first, _ := rec.snapshot()
		if want := job.FireID("fd", t0.Add(10*time.Second)); first[0].FireID != want || first[0].Then == nil || !first[0].Then.Rearm {
			t.Fatalf("first fire %+v; want %s, asking for a rearm after its run", first[0], want)
		}
		advance(time.Minute) // the run goes on: nothing fires
		settled(t, "no fire while waiting", func() bool { f, fin := rec.snapshot(); return len(f) == 1 && len(fin) == 0 })

		// Others take over while it waits: by image, and by loading it with its last fire.
		data := cutImage(t, s)
		recB, recC := &recorder{}, &recorder{}
		b := startAt(t, time.Now(), recB, func(b *scheduler.Scheduler) {
			if _, err := b.Import(bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			b.FinishSpent()
		})
		startAt(t, time.Now(), recC, func(c *scheduler.Scheduler) {
			c.Load(j, job.Progress{Seq: 1, LastFire: first[0].ScheduledAt})
		})
		advance(time.Minute)
		for name, r := range map[string]*recorder{"imported": recB, "loaded": recC} {
			if f, fin := r.snapshot(); len(f) != 0 || len(fin) != 0 {
				t.Fatalf("%s while the run goes on: fired %v, finished %v", name, ids(f), fin)
			}
		}

		// The run ended 5 s ago: the next fire counts 10 s from then.
		ended := time.Now().Add(-5 * time.Second).UTC().Truncate(time.Millisecond)
		end := job.RunEnd{FireID: first[0].FireID, Instant: t0.Add(10 * time.Second), StartedAt: t0, Ended: ended}
		for _, sc := range []*scheduler.Scheduler{s, b} {
			sc.Rearm("fd", end)
		}
		// A Put of the job meanwhile (an update keeping its start) keeps that.
		s.Put(j)
		advance(5 * time.Second)
		for name, r := range map[string]*recorder{"first": rec, "imported": recB} {
			f, _ := r.snapshot()
			if last := f[len(f)-1]; last.FireID != job.FireID("fd", ended.Add(10*time.Second)) || !last.ScheduledAt.Equal(ended.Add(10*time.Second)) {
				t.Fatalf("%s: after the rearm fired %v; want the instant 10 s after the run's end", name, ids(f))
			}
		}
		// The same end again (a replayed command) fires nothing more; nor does an end of
		// another start.
		s.Rearm("fd", end)
		other := end
		other.StartedAt = t0.Add(time.Second)
		s.Rearm("fd", other)
		advance(time.Minute)
		if f, _ := rec.snapshot(); len(f) != 2 {
			t.Fatalf("fires after a replayed rearm: %v", ids(f))
		}
	})
}
