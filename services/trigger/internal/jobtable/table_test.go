package jobtable_test

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/services/trigger/internal/jobtable"
	"github.com/jobcenter/jobcenter/shared/job"
)

func jobN(i int) job.Job {
	return job.Job{ID: fmt.Sprintf("0b5c7a0e-0000-4000-8000-%012d", i), Key: fmt.Sprintf("k%d", i), Tenant: "p",
		Version: int64(i), State: job.Started, StartedAt: time.Unix(int64(i), 0).UTC(),
		Spec: job.Spec{Name: fmt.Sprintf("job %d", i), Trigger: job.Trigger{Kind: job.Interval, Every: time.Minute},
			Target: job.Target{Code: "return 1"}, Policy: job.DefaultPolicy()}}
}

// add puts j in t as the scheduler does: its record packed, its shared values interned.
func add(t *jobtable.Table, sh *jobtable.Shared, seed maphash.Seed, j job.Job, at int64) int32 {
	var r jobtable.Refs
	r.Plan = sh.Plans.Add(jobtable.AppendPlanKey(nil, &j), func(string) *jobtable.Plan { return jobtable.NewPlan(&j) })
	r.Tenant = sh.Tenants.Add([]byte(j.Tenant), func(s string) string { return s })
	r.Code, r.Target = sh.Texts.Add([]byte(j.Spec.Target.Code), func(s string) string { return s }), jobtable.HasCode
	rec, id := jobtable.Pack(nil, &j, r)
	e := t.Add(maphash.String(seed, id))
	en := t.Entry(e)
	en.Rec, en.Started = rec, true
	t.Schedule(e, at)
	return e
}

// The table finds each job by id, hands out the earliest next fire first however they
// were scheduled and moved, and forgets a removed job; its image reads back the same.
func TestTheTableFindsJobsAndOrdersTheirFires(t *testing.T) {
	seed := maphash.MakeSeed()
	var tb jobtable.Table
	var sh jobtable.Shared
	const n = 3000
	ats := map[int32]int64{}
	for i := range n {
		at := rand.Int64N(1 << 40)
		ats[add(&tb, &sh, seed, jobN(i), at)] = at
	}
	// Move half, remove a tenth.
	for i := 0; i < n; i += 2 {
		id := string(jobtable.AppendCompact(nil, jobN(i).ID))
		e := tb.Find(id, maphash.String(seed, id))
		if e < 0 {
			t.Fatalf("job %d not found", i)
		}
		if i%10 == 0 {
			tb.Remove(e, maphash.String(seed, id))
			delete(ats, e)
			if tb.Find(id, maphash.String(seed, id)) >= 0 {
				t.Fatalf("job %d found after its removal", i)
			}
			continue
		}
		ats[e] = rand.Int64N(1 << 40)
		tb.Schedule(e, ats[e])
	}
	if tb.Held() != len(ats) || tb.Queued() != len(ats) {
		t.Fatalf("holds %d, queued %d; want %d", tb.Held(), tb.Queued(), len(ats))
	}
	var im bytes.Buffer
	if _, err := jobtable.Snapshot(&tb, &sh).WriteTo(&im); err != nil {
		t.Fatal(err)
	}
	var back jobtable.Table
	var backSh jobtable.Shared
	if got, err := jobtable.Import(&im, seed, &back, &backSh); err != nil || got != len(ats) {
		t.Fatalf("image read back %d jobs, %v; want %d", got, err, len(ats))
	}
	for _, tab := range []*jobtable.Table{&tb, &back} {
		last := int64(-1)
		for range len(ats) {
			top, ok := tab.Peek()
			if !ok || top.At < last {
				t.Fatalf("fire at %d after %d (ok %v)", top.At, last, ok)
			}
			if tab == &tb && ats[top.E] != top.At {
				t.Fatalf("entry %d fires at %d, scheduled at %d", top.E, top.At, ats[top.E])
			}
			last = top.At
			tab.Unschedule(top.E)
		}
		if _, ok := tab.Peek(); ok {
			t.Fatal("fires left after every job's was taken")
		}
	}
}

func TestARecordReadsBackAsPacked(t *testing.T) {
	j := jobN(7)
	j.Spec.Target = job.Target{BizCode: "behaviour-7"}
	rec, id := jobtable.Pack(nil, &j, jobtable.Refs{Plan: 3, Tenant: 5, Target: jobtable.HasBiz})
	r, h := jobtable.ReadHead(rec)
	if h.Plan != 3 || h.Tenant != 5 || h.Version != 7 || h.Biz != "behaviour-7" || jobtable.Instant(h.X) != j.StartedAt || h.Y != int64(time.Minute) {
		t.Fatalf("head %+v", h)
	}
	if key, name := r.Compact(), r.Str(); key != j.Key || name != j.Spec.Name {
		t.Fatalf("key %q name %q", key, name)
	}
	if got := r.ID(); got != j.ID || id != rec[:len(id)] {
		t.Fatalf("id %q", got)
	}
	if err := jobtable.CheckRecord(rec); err != nil {
		t.Fatal(err)
	}
	if err := jobtable.CheckRecord(rec[:len(rec)-3]); err == nil {
		t.Fatal("a cut record passed its check")
	}
	// An HTTP job's call is a text, in the snippet's place; a record cannot have both.
	rec, _ = jobtable.Pack(nil, &j, jobtable.Refs{Plan: 3, Tenant: 5, Code: 9, Target: jobtable.HasHTTP})
	if _, h := jobtable.ReadHead(rec); h.Code != 9 || h.Target != jobtable.HasHTTP || jobtable.CheckRecord(rec) != nil {
		t.Fatalf("an HTTP job's head %+v", h)
	}
	rec, _ = jobtable.Pack(nil, &j, jobtable.Refs{Plan: 3, Tenant: 5, Code: 9, Target: jobtable.HasHTTP | jobtable.HasCode})
	if jobtable.CheckRecord(rec) == nil {
		t.Fatal("a record with a snippet and a call passed its check")
	}
}
