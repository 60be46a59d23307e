package job_test

import (
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// A job's offsets are a fixed function of the job and the instant (every trigger
// instance computes the same), spread over the jitter, short of the next instant.
func TestAJobsFiresAreSpreadTheSameEverywhereShortOfTheNextInstant(t *testing.T) {
	t.Parallel()
	tr := job.Trigger{Kind: job.Interval, Every: 10 * time.Second, Jitter: time.Hour}
	s := tr.Compile(now)
	seen := map[time.Duration]bool{}
	at := now
	for range 1000 {
		next, _ := s.Next(at)
		following, _ := s.Next(next)
		off := s.Offset("job-1", next, following, true)
		if off < 0 || off >= 10*time.Second || off%time.Millisecond != 0 {
			t.Fatalf("offset %v at %v: want whole ms below the 10 s to the next instant", off, next)
		}
		if again := s.Offset("job-1", next, following, true); again != off {
			t.Fatalf("offset %v then %v for the same job and instant", off, again)
		}
		seen[off.Truncate(time.Second)] = true
		at = next
	}
	if len(seen) < 10 {
		t.Fatalf("offsets fall in %d of the 10 seconds they may: not spread", len(seen))
	}
	// Fixed across processes: this value is what every instance, of any build, computes.
	if got := s.Offset("job-1", now.Add(10*time.Second), now.Add(20*time.Second), true); got != 3729*time.Millisecond {
		t.Fatalf("offset of job-1 at %v is %v; a change would move the fires of running jobs", now.Add(10*time.Second), got)
	}
	// The jitter bounds it when the next instant is further, or there is none.
	date := job.Trigger{Kind: job.Date, RunAt: now.Add(time.Hour), Jitter: 30 * time.Second}.Compile(now)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if off := date.Offset(id, now.Add(time.Hour), time.Time{}, false); off < 0 || off >= 30*time.Second {
			t.Fatalf("a date's offset %v beyond its jitter", off)
		}
	}
	plain := job.Trigger{Kind: job.Interval, Every: time.Second}.Compile(now)
	if off := plain.Offset("a", now, now.Add(time.Second), true); off != 0 {
		t.Fatalf("a job without jitter spread by %v", off)
	}
}

// NextFire is the first spread fire after t: the instant before t when its fire is still
// ahead, never an instant at or before the start.
func TestTheNextFireOfAJitteredJobMayBeItsLastInstantSpread(t *testing.T) {
	t.Parallel()
	j := job.Job{ID: "job-2", State: job.Started, StartedAt: now,
		Spec: job.Spec{Trigger: job.Trigger{Kind: job.Cron, Cron: "0 * * ? * *", Zone: "UTC", Jitter: 50 * time.Second}}}
	s := j.Spec.Trigger.Compile(j.StartedAt)
	first, _ := s.Next(now)
	off := s.Offset(j.ID, first, first.Add(time.Minute), true)
	if off == 0 {
		t.Fatal("pick another id: this one is not spread at its first instant")
	}
	for _, c := range []struct {
		name string
		t    time.Time
		want time.Time
	}{
		{"at the start", now, first.Add(off)},
		{"at the first instant", first, first.Add(off)},
		{"just before its spread fire", first.Add(off - time.Millisecond), first.Add(off)},
		{"at its spread fire", first.Add(off), first.Add(time.Minute).Add(s.Offset(j.ID, first.Add(time.Minute), first.Add(2*time.Minute), true))},
	} {
		if got, ok := j.Next(c.t); !ok || !got.Equal(c.want) {
			t.Errorf("%s: next fire %v, want %v", c.name, got, c.want)
		}
	}
	// Started just after an instant whose spread fire is still ahead: not a fire of this start.
	j.StartedAt = first.Add(time.Second)
	second, _ := s.Next(first)
	want := second.Add(s.Offset(j.ID, second, second.Add(time.Minute), true))
	if got, _ := j.Next(j.StartedAt); !got.Equal(want) {
		t.Errorf("started after an instant: next fire %v, want %v (the instant after the start)", got, want)
	}
}

// The last instant of a life is spread no later than its end: no fire after end_date.
func TestTheLastInstantOfALifeIsSpreadNoLaterThanItsEnd(t *testing.T) {
	t.Parallel()
	end := now.Add(100*time.Second + 300*time.Millisecond)
	s := job.Trigger{Kind: job.Interval, Every: 10 * time.Second, Jitter: time.Hour, End: end}.Compile(now)
	last := now.Add(100 * time.Second)
	if _, ok := s.Next(last); ok {
		t.Fatalf("an instant after %v, the last before the end", last)
	}
	spread := 0
	for i := range 200 {
		id := string(rune('a'+i%26)) + string(rune('a'+i/26))
		off := s.Offset(id, last, time.Time{}, false)
		if off < 0 || last.Add(off).After(end) {
			t.Fatalf("job %s: the last instant spread by %v, past the end %v", id, off, end)
		}
		if off > 0 {
			spread++
		}
	}
	if spread < 150 {
		t.Fatalf("%d of 200 jobs' last fires spread at all", spread)
	}
}
