package jobview

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// BenchmarkHeapPerJob reports the heap the view takes a job, for jobs like the api
// bench's: an interval job with a snippet, its ids UUIDs, in one project.
func BenchmarkHeapPerJob(b *testing.B) {
	const n = 100_000
	jobs := make([]job.Job, n)
	for i := range jobs {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		jobs[i] = job.Job{ID: id, Key: "k" + id[1:], Tenant: "bench-read", State: job.Stopped, Version: 1,
			CreatedAt: t0.Add(time.Duration(i) * time.Millisecond), UpdatedAt: t0, CreatedBy: "user",
			Spec: job.Spec{Pid: "bench-pid", Name: fmt.Sprintf("read %d", i), Description: "a job",
				Trigger: job.Trigger{Kind: job.Interval, Every: 24 * time.Hour}, Target: job.Target{Code: "return 1"},
				Policy: job.DefaultPolicy()}}
	}
	var perJob float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		v := New(n)
		for _, j := range jobs {
			// Its own strings, as a job decoded from its event has.
			j.ID, j.Key, j.Tenant, j.CreatedBy = strings.Clone(j.ID), strings.Clone(j.Key), strings.Clone(j.Tenant), strings.Clone(j.CreatedBy)
			j.Spec.Pid, j.Spec.Name, j.Spec.Description = strings.Clone(j.Spec.Pid), strings.Clone(j.Spec.Name), strings.Clone(j.Spec.Description)
			j.Spec.Target.Code = strings.Clone(j.Spec.Target.Code)
			v.Learn(j)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perJob = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(v)
	}
	b.ReportMetric(perJob, "heap-B/job")
}
