package workers

import (
	"slices"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
)

func beat(id string, since time.Time, running int) contracts.WorkerBeat {
	return contracts.WorkerBeat{V: 1, ID: id, Group: "g", Handles: []string{"h"}, Since: since, Running: running, Capacity: 2}
}

func ids(ws []Worker) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

func TestTheRegistryKeepsWorkersHeardOfLatelyAndEachTenantsApart(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	r := NewRegistry(func() time.Time { return now })
	r.Beat("p", beat("b", now.Add(-time.Minute), 0))
	r.Beat("p", beat("a", now, 0))
	r.Beat("q", beat("c", now, 0))
	if got := ids(r.Online("p", "g")); !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("online, in the order they joined: %v", got)
	}
	if got := ids(r.Online("q", "")); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("another tenant's: %v", got)
	}
	// A full worker, or one leaving, takes no run; a leaving one with none under way is gone.
	r.Beat("p", beat("b", now.Add(-time.Minute), 2))
	left := beat("a", now, 1)
	left.Leaving = true
	r.Beat("p", left)
	if got := r.Eligible("p", "g", "h"); len(got) != 0 || !r.Alive("p", "a") {
		t.Fatalf("eligible: %v; a leaving worker with a run under way stays alive: %v", ids(got), r.Alive("p", "a"))
	}
	left.Running = 0
	r.Beat("p", left)
	if r.Alive("p", "a") {
		t.Fatal("a leaving worker with no run under way is still there")
	}
	// Silent for WorkerGoneAfter: gone.
	now = now.Add(contracts.WorkerGoneAfter + time.Millisecond)
	if got := r.Online("p", ""); len(got) != 0 || r.Alive("p", "b") {
		t.Fatalf("after the silence: %v", ids(got))
	}
	if r.Beat("p", contracts.WorkerBeat{ID: "x", Group: "bad group"}) {
		t.Fatal("a beat of a group that is none was taken")
	}
}

func TestEachRouteOrdersTheWorkersAsItSays(t *testing.T) {
	now := time.Now()
	ws := []Worker{{WorkerBeat: beat("a", now, 3)}, {WorkerBeat: beat("b", now, 1)}, {WorkerBeat: beat("c", now, 2)}}
	for seq, want := range map[int64]string{0: "a", 1: "b", 2: "c", 3: "a"} {
		if got := Order(job.RouteRoundRobin, ws, "j", seq); got[0].ID != want || len(got) != 3 {
			t.Errorf("round robin, run %d: %v", seq, ids(got))
		}
	}
	if got := Order(job.RouteLeastBusy, ws, "j", 0); got[0].ID != "b" {
		t.Errorf("least busy: %v", ids(got))
	}
	if got := Order(job.RouteFailover, ws, "j", 7); !slices.Equal(ids(got), []string{"a", "b", "c"}) {
		t.Errorf("failover: %v", ids(got))
	}
	// Consistent hash: the same worker for a job; a worker leaving moves only its jobs.
	moved := 0
	for i := range 100 {
		job1 := string(rune('A'+i%26)) + string(rune('a'+i/26))
		first := Order(job.RouteConsistentHash, ws, job1, 0)[0].ID
		if again := Order(job.RouteConsistentHash, ws, job1, 5)[0].ID; again != first {
			t.Fatalf("job %s: %s, then %s", job1, first, again)
		}
		without := Order(job.RouteConsistentHash, []Worker{ws[0], ws[2]}, job1, 0)[0].ID
		if first != "b" && without != first {
			t.Fatalf("job %s moved from %s to %s though b left", job1, first, without)
		}
		if first == "b" {
			moved++
		}
	}
	if moved == 0 || moved == 100 {
		t.Fatalf("b had %d of 100 jobs", moved)
	}
}

// A run handed out here counts on its worker until it ends, whatever the worker's last
// heartbeat (up to two seconds old) said: least_busy spreads a burst, and a worker whose
// runs ended takes runs again before its next beat.
func TestARunHandedOutCountsOnItsWorkerUntilItEnds(t *testing.T) {
	now := time.Now()
	r := NewRegistry(func() time.Time { return now })
	r.Beat("p", beat("a", now, 0))
	end1 := r.Dispatched("p", "a")
	end2 := r.Dispatched("p", "a")
	if got := r.Online("p", "g")[0].Running; got != 2 {
		t.Fatalf("two runs handed out, a beat saying none: running %d", got)
	}
	if got := r.Eligible("p", "g", "h"); len(got) != 0 {
		t.Fatalf("a worker of capacity 2 with 2 runs handed out is eligible: %v", ids(got))
	}
	r.Beat("p", beat("a", now, 2)) // its beat agrees; nothing counts twice
	end1()
	if got := r.Online("p", "g")[0].Running; got != 2 {
		t.Fatalf("the beat says 2 under way: running %d", got)
	}
	r.Beat("p", beat("a", now, 1))
	end2()
	if got := r.Online("p", "g")[0].Running; got != 1 {
		t.Fatalf("after both ended here, the beat's 1: running %d", got)
	}
	r.Beat("p", beat("a", now, 0))
	if got := r.Eligible("p", "g", "h"); len(got) != 1 || len(r.inFlight) != 0 {
		t.Fatalf("all ended: eligible %v, in flight %v", ids(got), r.inFlight)
	}
}
