package commands

import (
	"fmt"
	"testing"

	"github.com/jobcenter/jobcenter/shared/job"
)

func TestTheMemoKeepsTheLatestStateAndStaysWithinItsBound(t *testing.T) {
	m := newMemo()
	m.put(job.Job{ID: "a", Version: 1})
	m.put(job.Job{ID: "a", Version: 2})
	if j, ok := m.get("a"); !ok || j.Version != 2 {
		t.Fatalf("got %+v %v, want version 2", j, ok)
	}
	m.forget("a")
	if _, ok := m.get("a"); ok {
		t.Fatal("a forgotten job is still remembered")
	}
	for i := range memoSize + 10 {
		m.put(job.Job{ID: fmt.Sprint(i)})
	}
	if n := len(m.jobs); n != memoSize {
		t.Fatalf("the memo holds %d jobs, bound %d", n, memoSize)
	}
	if _, ok := m.get(fmt.Sprint(memoSize + 9)); !ok {
		t.Fatal("the last job put was not kept")
	}
}
