package scheduler_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
)

// imageJobs are jobs of every kind, target and id form the records pack differently.
func imageJobs() []job.Job {
	base := func(id, tenant string, tr job.Trigger, tg job.Target) job.Job {
		return job.Job{ID: id, Key: id + "-key", Tenant: tenant, State: job.Started, StartedAt: t0, Version: 3,
			Spec: job.Spec{Name: "name of " + id, Trigger: tr, Target: tg, Policy: job.DefaultPolicy()}}
	}
	every := func(d time.Duration) job.Trigger { return job.Trigger{Kind: job.Interval, Every: d} }
	strict := base("i2", "t2", every(3*time.Second), job.Target{Code: "print(1)"})
	strict.Spec.Policy = job.Policy{MisfireGrace: 5 * time.Second, MaxInstances: 2, Retries: 1, RetryBackoff: 2 * time.Second, Timeout: 7 * time.Second}
	stopped := base("s1", "t1", every(time.Second), job.Target{Code: "print(2)"})
	stopped.State = job.Stopped
	uuid := base("0f8fad5b-d9cb-469f-a165-70867728950e", "t1", every(2*time.Second), job.Target{Code: "print(1)"})
	uuid.Key = "c0ffee00c0ffee00"
	return []job.Job{
		base("i1", "t1", every(time.Second), job.Target{Code: "print(1)"}),
		strict,
		base("c1", "t1", job.Trigger{Kind: job.Cron, Cron: "*/2 * * ? * * *", Zone: "Asia/Shanghai"}, job.Target{FlowID: "flow-1"}),
		base("d1", "t2", job.Trigger{Kind: job.Date, RunAt: t0.Add(7 * time.Second)}, job.Target{BizCode: "biz-1"}),
		stopped,
		uuid,
		base("x1", "t3", every(time.Second), job.Target{Code: "gone"}),
	}
}

// settle returns once the loop has made every fire due at the clock's time: the second
// question is answered on a pass after the one that took the first.
func settle(s *scheduler.Scheduler) (held, queued int) {
	s.Len(context.Background())
	return s.Len(context.Background())
}

func utc(fs []contracts.Fire) []contracts.Fire {
	out := make([]contracts.Fire, len(fs))
	for i, f := range fs {
		f.ScheduledAt, f.FiredAt = f.ScheduledAt.UTC(), f.FiredAt.UTC()
		out[i] = f
	}
	return out
}

func cutImage(t *testing.T, s *scheduler.Scheduler) []byte {
	t.Helper()
	im, err := s.Cut(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := im.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAnImportedImageFiresExactlyAsTheSchedulerItWasCutFrom(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, recA := start(t, imageJobs()...)
		for range 4 {
			advance(time.Second)
			settle(a)
		}
		// A deleted job's shared values are let go; a job put just before the cut is in it.
		gone := imageJobs()[6]
		gone.State = job.Deleted
		a.Put(gone)
		late := imageJobs()[0]
		late.ID, late.StartedAt = "late", time.Now()
		a.Put(late)
		data := cutImage(t, a)
		firedA, finishedA := recA.snapshot()

		recB := &recorder{}
		b := startAt(t, time.Now(), recB, func(b *scheduler.Scheduler) {
			n, err := b.Import(bytes.NewReader(data))
			if err != nil || n != 7 {
				t.Fatalf("import: %d jobs, %v; want 7", n, err)
			}
			if plans, tenants, texts := scheduler.Shared(b); tenants != 2 || texts != 3 || plans != 4 {
				t.Fatalf("shared values after import: %d plans, %d tenants, %d texts; want 4, 2, 3", plans, tenants, texts)
			}
		})
		ha, qa := settle(a)
		if hb, qb := settle(b); ha != hb || qa != qb {
			t.Fatalf("held/queued: cut from %d/%d, imported %d/%d", ha, qa, hb, qb)
		}
		for range 10 {
			advance(time.Second)
			settle(a)
			settle(b)
		}
		allA, allFinA := recA.snapshot()
		afterA, finAfterA := utc(allA[len(firedA):]), allFinA[len(finishedA):]
		afterB, finB := recB.snapshot()
		if len(afterA) < 20 || !reflect.DeepEqual(afterA, utc(afterB)) {
			t.Fatalf("fires after the cut differ:\ncut from %+v\nimported %+v", afterA, utc(afterB))
		}
		if !reflect.DeepEqual(finAfterA, finB) || len(finB) != 1 || finB[0] != "d1" {
			t.Fatalf("finished after the cut: cut from %v, imported %v; want [d1]", finAfterA, finB)
		}
		// An exec continues the run numbers.
		fa, _ := a.FireNow(context.Background(), "i2", "cmd")
		fb, _ := b.FireNow(context.Background(), "i2", "cmd")
		if fa.Seq != fb.Seq || fa.Seq < 2 {
			t.Fatalf("exec after import: run %d, want %d", fb.Seq, fa.Seq)
		}
	})
}

func TestADamagedImageIsAnErrorAndLeavesTheSchedulerEmpty(t *testing.T) {
	t.Parallel()
	var data []byte
	synctest.Test(t, func(t *testing.T) {
		a, _ := start(t, imageJobs()...)
		advance(2 * time.Second)
		settle(a)
		data = cutImage(t, a)
	})
	fresh := func() *scheduler.Scheduler {
		return scheduler.New(scheduler.Config{Clock: clock.NewFake(t0), Publisher: &recorder{}, Finisher: &recorder{}, Log: zerolog.Nop()})
	}
	for cut := range len(data) {
		if _, err := fresh().Import(bytes.NewReader(data[:cut])); err == nil {
			t.Fatalf("an image cut short at %d of %d bytes was taken", cut, len(data))
		}
	}
	for i := range data {
		damaged := bytes.Clone(data)
		damaged[i] ^= 0x5a
		s := fresh()
		if _, err := s.Import(bytes.NewReader(damaged)); err != nil {
			// Refused whole: the good image is taken afterwards.
			if n, err := s.Import(bytes.NewReader(data)); err != nil || n != 7 {
				t.Fatalf("after refusing byte %d damaged, the good image: %d, %v", i, n, err)
			}
		}
		// A change that still reads as an image (a name's letter, a run number) is not
		// detectable here: the object store's digest is what catches those.
	}
	if _, err := fresh().Import(bytes.NewReader(append(bytes.Clone(data), 0))); err == nil {
		t.Fatal("an image with bytes after its end was taken")
	}
}

func TestChangesAppliedAfterAnImportAndFinishingSpentJobs(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, _ := start(t, imageJobs()...)
		advance(8 * time.Second) // d1 fires; its finish is asked of the recorder
		settle(a)
		data := cutImage(t, a)

		rec := &recorder{}
		b := startAt(t, time.Now(), rec, func(b *scheduler.Scheduler) {
			if _, err := b.Import(bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			stopped := imageJobs()[0]
			stopped.State = job.Stopped
			b.Apply(stopped)
			b.FinishSpent()
			if _, fin := rec.snapshot(); !reflect.DeepEqual(fin, []string{"d1"}) {
				t.Fatalf("finished after import: %v, want [d1] (its finish may have been lost)", fin)
			}
		})
		settle(b)
		advance(3 * time.Second)
		settle(b)
		fires, _ := rec.snapshot()
		for _, f := range fires {
			if f.JobID == "i1" || f.JobID == "d1" {
				t.Fatalf("fired %s after import: %+v", f.JobID, f)
			}
		}
		if len(fires) == 0 {
			t.Fatal("nothing fired after import")
		}
	})
}

func TestARecordClaimingMoreBytesThanItHoldsIsDamagedNotAllocated(t *testing.T) {
	t.Parallel()
	// A uuid id, a head of zeros, then a key in hex form (0x02) claiming 2^42 bytes:
	// decoded as is, 2^43 bytes would be allocated, and the process would die.
	huge := string(append([]byte{1}, make([]byte, 16)...)) + "\x00\x00\x00\x00\x00" + "\x00" +
		"\x02\x80\x80\x80\x80\x80\x80\x01" + "ab"
	// A uuid id, then every field, then a raw name claiming 2^62 bytes.
	tooLongName := string(append([]byte{1}, make([]byte, 16)...)) + "\x00\x00\x00\x00\x00\x00" + "\x00\x00" +
		"\x80\x80\x80\x80\x80\x80\x80\x80\x40"
	for _, rec := range []string{huge, tooLongName, "", "\x07", string([]byte{1, 2, 3})} {
		if err := scheduler.CheckRecord(rec); err == nil {
			t.Fatalf("record %q was taken", rec)
		}
	}
}
