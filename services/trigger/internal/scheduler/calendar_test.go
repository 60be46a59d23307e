package scheduler_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
	"github.com/jobcenter/jobcenter/shared/calendar"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
)

// calendars is a tenant's calendars as the trigger's cache holds them.
type calendars struct {
	mu sync.Mutex
	m  map[string]*calendar.Compiled
}

func (c *calendars) get(key string) *calendar.Compiled {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *calendars) set(t *testing.T, tenant string, cal calendar.Calendar) {
	t.Helper()
	compiled, err := cal.Compile(time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[calendar.Key(tenant, cal.Name)] = compiled
}

// A job naming a calendar does not fire at the instants it excludes; a change of the
// calendar reschedules the job at once, from now; a job of another tenant naming a
// calendar of the same name is not its.
func TestACalendarsExcludedInstantsAreNoFireAndAChangeReschedules(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cals := &calendars{m: map[string]*calendar.Compiled{}}
		cals.set(t, "t", calendar.Calendar{Name: "quiet", Ranges: []calendar.Range{{From: t0.Add(2 * time.Minute), To: t0.Add(5 * time.Minute)}}})
		cals.set(t, "other", calendar.Calendar{Name: "quiet", Ranges: []calendar.Range{{From: t0, To: t0.Add(time.Hour)}}})
		mk := func(id, tenant string) job.Job {
			return job.Job{ID: id, Key: id, Tenant: tenant, State: job.Started, StartedAt: t0, Version: 1,
				Spec: job.Spec{Name: id, Trigger: job.Trigger{Kind: job.Interval, Every: time.Minute, Calendars: []string{"quiet"}},
					Target: job.Target{Code: "x"}, Policy: job.DefaultPolicy()}}
		}
		rec := &recorder{}
		s := scheduler.New(scheduler.Config{Clock: clock.Real{}, Sleep: time.Sleep, Publisher: rec, Finisher: rec, Policy: policy,
			ExecTimeout: time.Second, Log: zerolog.Nop(), Calendars: cals.get})
		s.Load(mk("mine", "t"), job.Progress{})
		time.Sleep(t0.Sub(time.Now()))
		runScheduler(t, s)
		advance(6 * time.Minute)
		fires, _ := rec.snapshot()
		var got []int
		for _, f := range fires {
			if f.JobID == "mine" {
				got = append(got, int(f.ScheduledAt.Sub(t0)/time.Minute))
			}
		}
		if want := []int{1, 5, 6}; !equalInts(got, want) {
			t.Fatalf("fired at minutes %v, want %v (2 to 4 excluded)", got, want)
		}
		// Minutes 8 to 9 excluded from now on: the job, queued for 7, fires at 7 then 10.
		cals.set(t, "t", calendar.Calendar{Name: "quiet", Ranges: []calendar.Range{{From: t0.Add(7 * time.Minute), To: t0.Add(10 * time.Minute)}}})
		s.CalendarChanged(calendar.Key("t", "quiet"))
		advance(5 * time.Minute)
		fires, _ = rec.snapshot()
		got = got[:0]
		for _, f := range fires {
			got = append(got, int(f.ScheduledAt.Sub(t0)/time.Minute))
		}
		if want := []int{1, 5, 6, 10, 11}; !equalInts(got, want) {
			t.Fatalf("after the change fired at minutes %v, want %v (7 to 9 now excluded)", got, want)
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// runScheduler runs s's loop in the test's bubble until the test ends.
func runScheduler(t *testing.T, s *scheduler.Scheduler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}
