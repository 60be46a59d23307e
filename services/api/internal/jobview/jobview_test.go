package jobview

import (
	"fmt"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

var t0 = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

func state(id string, version int64, name string) job.Job {
	return job.Job{ID: id, Key: "key-" + id, Tenant: "t", Version: version, State: job.Stopped, CreatedAt: t0,
		Spec: job.Spec{Pid: "p", Name: name}}
}

func name(v *View, ref string) string {
	j, found := v.Get(ref)
	if found != Held {
		return ""
	}
	return j.Spec.Name
}

func TestTheNewestVersionWinsAndADeletedJobStaysDeleted(t *testing.T) {
	v := New(10)
	v.Learn(state("a", 1, "v1"))
	if name(v, "a") != "v1" || name(v, "key-a") != "v1" {
		t.Fatalf("a job is found by both ids: %q", name(v, "a"))
	}
	v.Learn(state("a", 3, "v3"))
	v.Learn(state("a", 2, "v2")) // an older state, late: a store read behind the events
	if got := name(v, "a"); got != "v3" {
		t.Fatalf("got %q, want the newest version v3", got)
	}
	gone := state("a", 4, "v3")
	gone.State = job.Deleted
	v.Learn(gone)
	v.Learn(state("a", 3, "v3")) // the outcome of the write before the delete, late
	if _, found := v.Get("a"); found != Unknown {
		t.Fatalf("a deleted job is %v in an incomplete view; want Unknown (the store answers)", found)
	}
	v.Complete()
	if _, found := v.Get("a"); found != Absent {
		t.Fatalf("a deleted job came back: %v", found)
	}
	if _, found := v.Get("key-a"); found != Absent {
		t.Fatalf("a deleted job is still found by its scheduler id: %v", found)
	}
}

func TestListsAreInTheStoresOrderWithExactTotalsPerTenantAndProject(t *testing.T) {
	v := New(100)
	// Learnt out of order: created at t0+i, ids breaking ties.
	for _, i := range []int{5, 1, 4, 2, 3, 0} {
		j := state(fmt.Sprintf("j%d", i), 1, "n")
		j.CreatedAt = t0.Add(time.Duration(i/2) * time.Second)
		if i%2 == 1 {
			j.Spec.Pid = "q"
		}
		v.Learn(j)
	}
	other := state("x", 1, "n")
	other.Tenant = "u"
	v.Learn(other)
	// A Quartz schedule belongs to no project: it is in its tenant's list once.
	schedule := state("s", 1, "n")
	schedule.Spec.Pid, schedule.CreatedAt = "", t0.Add(time.Hour)
	v.Learn(schedule)
	schedule.Version = 2
	v.Learn(schedule)
	if _, _, ok := v.List("t", "", 0, 10); ok {
		t.Fatal("an incomplete view listed")
	}
	v.Complete()
	ids := func(jobs []job.Job) (out []string) {
		for _, j := range jobs {
			out = append(out, j.ID)
		}
		return out
	}
	page, total, ok := v.List("t", "", 1, 3)
	if !ok || total != 7 || fmt.Sprint(ids(page)) != "[j1 j2 j3]" {
		t.Fatalf("tenant's page 2 of 3: %v of %d (%v)", ids(page), total, ok)
	}
	page, total, _ = v.List("t", "q", 0, 10)
	if total != 3 || fmt.Sprint(ids(page)) != "[j1 j3 j5]" {
		t.Fatalf("project q: %v of %d", ids(page), total)
	}
	if page, total, _ := v.List("t", "q", 10, 10); total != 3 || len(page) != 0 {
		t.Fatalf("past the end: %v of %d", ids(page), total)
	}
	// Moved to another project by an update, then deleted.
	moved := state("j1", 2, "n")
	moved.CreatedAt = t0
	v.Learn(moved)
	if _, total, _ := v.List("t", "q", 0, 10); total != 2 {
		t.Fatalf("project q after j1 moved out: %d", total)
	}
	gone := moved
	gone.Version, gone.State = 3, job.Deleted
	v.Learn(gone)
	if page, total, _ := v.List("t", "", 0, 10); total != 6 || fmt.Sprint(ids(page)) != "[j0 j2 j3 j4 j5 s]" {
		t.Fatalf("after the delete: %v of %d", ids(page), total)
	}
}

func TestABehavioursScheduleIsItsLiveJob(t *testing.T) {
	v := New(10)
	a := state("a", 1, "n")
	a.Spec.Target.BizCode = "biz"
	v.Learn(a)
	if j, found := v.Schedule("t", "biz"); found != Held || j.ID != "a" {
		t.Fatalf("schedule %v %v", j.ID, found)
	}
	if _, found := v.Schedule("u", "biz"); found != Unknown {
		t.Fatalf("another tenant's behaviour in an incomplete view: %v", found)
	}
	// b created by this api's write before the feed brings a's delete.
	b := state("b", 1, "n")
	b.Spec.Target.BizCode = "biz"
	v.Learn(b)
	a.Version, a.State = 2, job.Deleted
	v.Learn(a)
	v.Complete()
	if j, found := v.Schedule("t", "biz"); found != Held || j.ID != "b" {
		t.Fatalf("schedule after the old one's delete: %v %v", j.ID, found)
	}
	if _, found := v.Schedule("u", "biz"); found != Absent {
		t.Fatalf("another tenant's behaviour: %v", found)
	}
	var got []string
	v.Schedules("t", []string{"nope", "biz"}, func(i int, j *job.Job, found Found) {
		id := "-"
		if j != nil {
			id = j.ID
		}
		got = append(got, fmt.Sprint(i, id, found))
	})
	if fmt.Sprint(got) != fmt.Sprint([]string{fmt.Sprint(0, "-", Absent), fmt.Sprint(1, "b", Held)}) {
		t.Fatalf("many at once: %v", got)
	}
}

func TestPastItsCapTheViewHoldsTheJobsChangedLastAndSendsListsToTheStore(t *testing.T) {
	v := New(2)
	v.Learn(state("a", 1, "a1"))
	v.Learn(state("b", 1, "b1"))
	if !v.Complete() {
		t.Fatal("a view within its cap is complete")
	}
	c := state("c", 1, "c1")
	c.Spec.Target.BizCode = "biz"
	v.Learn(c)
	if v.IsComplete() {
		t.Fatal("a view past its cap stays complete")
	}
	// A read after the write that made c finds it, before the store has it.
	if name(v, "c") != "c1" || name(v, "key-c") != "c1" {
		t.Fatal("the job past the cap, changed last, is not held")
	}
	if j, found := v.Schedule("t", "biz"); found != Held || j.ID != "c" {
		t.Fatalf("its behaviour's schedule: %v %v", j.ID, found)
	}
	c.Version, c.Spec.Name = 2, "c2"
	v.Learn(c)
	if name(v, "c") != "c2" {
		t.Fatal("a job past the cap is not kept current")
	}
	if _, _, ok := v.List("t", "", 0, 10); ok {
		t.Fatal("an incomplete view listed")
	}
	if _, found := v.Get("never"); found != Unknown {
		t.Fatalf("a job never seen past the cap: %v; want Unknown", found)
	}
	// The jobs past the cap are bounded: the one changed longest ago goes first.
	for i := range recentKept {
		v.Learn(state(fmt.Sprint("x", i), 1, "x"))
	}
	if _, found := v.Get("c"); found != Unknown || v.Len() != 2+recentKept {
		t.Fatalf("past recentKept: c %v, holding %d; want c let go, %d held", found, v.Len(), 2+recentKept)
	}
	if v.Complete() {
		t.Fatal("a view that turned a job away became complete without a reload")
	}
	v.Reset()
	v.Learn(state("a", 2, "a2"))
	if !v.Complete() {
		t.Fatal("reloaded within its cap, the view is complete again")
	}
	z := New(0)
	z.Learn(state("a", 1, "a1"))
	if z.Complete() {
		t.Fatal("a view of cap 0 is never complete")
	}
}

func TestADeletedJobIsFoundAsDeletedByEitherId(t *testing.T) {
	v := New(10)
	a := state("a", 1, "n")
	v.Learn(a)
	a.Version, a.State = 2, job.Deleted
	v.Learn(a)
	for _, ref := range []string{"a", "key-a"} {
		if g, ok := v.Gone(ref); !ok || g.ID != "a" || g.State != job.Deleted {
			t.Fatalf("Gone(%q): %+v %v", ref, g, ok)
		}
	}
	for i := range goneKept {
		g := state(fmt.Sprint("g", i), 2, "n")
		g.State = job.Deleted
		v.Learn(g)
	}
	if _, ok := v.Gone("a"); ok {
		t.Fatal("the deleted jobs remembered are not bounded")
	}
	if _, ok := v.Gone("key-a"); ok {
		t.Fatal("a forgotten job is still found by its scheduler id")
	}
}

// Two apis: the schedule this api created is learnt before the events that deleted the
// one before it reach this api. Deleting the old one must not lose the new.
func TestABehavioursNewScheduleSurvivesTheLateDeleteOfTheOldOne(t *testing.T) {
	v := New(10)
	b := state("b", 1, "n")
	b.Spec.Target.BizCode = "x"
	v.Learn(b) // this api's write
	a := state("a", 1, "n")
	a.Spec.Target.BizCode = "x"
	v.Learn(a) // the events, late
	a.Version, a.State = 2, job.Deleted
	v.Learn(a)
	v.Learn(b) // b's own event: the same version
	v.Complete()
	if j, found := v.Schedule("t", "x"); found != Held || j.ID != "b" {
		t.Fatalf("the behaviour's schedule: %q %v; want b", j.ID, found)
	}
}
