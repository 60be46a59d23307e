package jobcache

import (
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
)

func state(id string, version int64, name string) job.Job {
	return job.Job{ID: id, Key: "key-" + id, Tenant: "t", Version: version, Spec: job.Spec{Name: name}, State: job.Stopped}
}

func name(t *testing.T, c *Cache, ref string) string {
	t.Helper()
	j, ok := c.Get(ref)
	if !ok {
		return ""
	}
	return j.Spec.Name
}

func TestTheNewestVersionWinsAndAStoreReadOnlyFillsAnEmptyPlace(t *testing.T) {
	c := New(10, time.Second, clock.NewFake(time.Unix(0, 0)))
	c.Loaded(state("a", 1, "v1"))
	if name(t, c, "a") != "v1" || name(t, c, "key-a") != "v1" {
		t.Fatalf("a store read into an empty cache is kept, by both ids: %q", name(t, c, "a"))
	}
	c.Learn(state("a", 3, "v3"))
	c.Learn(state("a", 2, "v2"))  // an older event, late
	c.Loaded(state("a", 2, "v2")) // the store, behind the events
	if got := name(t, c, "a"); got != "v3" {
		t.Fatalf("got %q, want the newest version v3", got)
	}
	// An event for a job never read is kept, so that a store read behind it cannot
	// take its place.
	c.Learn(state("b", 2, "b2"))
	c.Loaded(state("b", 1, "b1"))
	if got := name(t, c, "b"); got != "b2" {
		t.Fatalf("got %q, want b2", got)
	}
	if _, ok := c.Get("nope"); ok {
		t.Fatal("a job never seen was found")
	}
}

func TestAFullCacheTakesNoNewJobButKeepsItsOwnCurrent(t *testing.T) {
	c := New(2, time.Second, clock.NewFake(time.Unix(0, 0)))
	c.Learn(state("a", 1, "a1"))
	c.Learn(state("b", 1, "b1"))
	c.Learn(state("c", 1, "c1"))
	c.Loaded(state("d", 1, "d1"))
	if c.Len() != 2 || name(t, c, "c") != "" || name(t, c, "d") != "" {
		t.Fatalf("a full cache took a new job: %d held", c.Len())
	}
	c.Learn(state("a", 2, "a2"))
	if name(t, c, "a") != "a2" {
		t.Fatal("a held job was not updated when full")
	}
	none := New(0, time.Second, nil)
	if none.Learn(state("a", 1, "a1")); none.Len() != 0 {
		t.Fatal("a cache of size 0 kept a job")
	}
}

func TestAfterForgettingStoreReadsAreNotKeptForAWhile(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	c := New(10, 10*time.Second, clk)
	c.Learn(state("a", 5, "a5"))
	c.Forget()
	if c.Len() != 0 {
		t.Fatal("Forget kept jobs")
	}
	// Events are still learnt: they are current.
	c.Learn(state("b", 1, "b1"))
	// A store read may be older than an event missed in the gap.
	c.Loaded(state("a", 4, "a4"))
	if name(t, c, "a") != "" || name(t, c, "b") != "b1" {
		t.Fatalf("during the quiet time: a=%q b=%q", name(t, c, "a"), name(t, c, "b"))
	}
	clk.Advance(10 * time.Second)
	c.Loaded(state("a", 5, "a5"))
	if name(t, c, "a") != "a5" {
		t.Fatal("a store read after the quiet time was not kept")
	}
}
