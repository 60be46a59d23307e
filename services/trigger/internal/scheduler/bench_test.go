package scheduler_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
	"github.com/jobcenter/jobcenter/services/trigger/schedulerbench"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
)

// BenchmarkDueAfterAMonthOfDowntime: an every-second cron job catching up 2.6 million
// missed instants with one fire must not walk them (walking costs about 0.6 s).
func BenchmarkDueAfterAMonthOfDowntime(b *testing.B) {
	for b.Loop() {
		scheduler.Due(everySecondCron, t0.Add(time.Second), t0.Add(30*24*time.Hour), policy)
	}
}

// The benchmarks below use make bench's workload (schedulerbench.Jobs: half interval,
// half cron jobs, shaped like stored ones) on a scheduler already holding benchHeld jobs;
// make bench runs the same measures at a million jobs with medians.
const benchHeld = 100_000

// running returns a scheduler on a fake clock (nothing falls due unless the benchmark
// moves it) holding benchHeld jobs, its loop running until the benchmark ends.
func running(b *testing.B, pub scheduler.Publisher) (*scheduler.Scheduler, *clock.Fake) {
	b.Helper()
	clk := clock.NewFake(t0)
	s := schedulerbench.New(clk, pub)
	for _, j := range schedulerbench.Jobs(benchHeld, 0, t0) {
		s.Load(j, job.Progress{})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	s.Len(ctx)
	return s, clk
}

// BenchmarkLoad: one job loaded at start (no hand-over, the loop not running yet).
func BenchmarkLoad(b *testing.B) {
	jobs := schedulerbench.Jobs(b.N, 0, t0)
	s := schedulerbench.New(clock.NewFake(t0), schedulerbench.Discard{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Load(jobs[i], job.Progress{})
	}
}

// BenchmarkPut: one new started job scheduled through Put, from the call to the loop
// having applied it (the hand-over included).
func BenchmarkPut(b *testing.B) {
	s, _ := running(b, schedulerbench.Discard{})
	jobs := schedulerbench.Jobs(b.N, benchHeld, t0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Put(jobs[i])
	}
	s.Len(context.Background())
}

// BenchmarkPutReschedule: one held job given a new start through Put (an update).
func BenchmarkPutReschedule(b *testing.B) {
	s, _ := running(b, schedulerbench.Discard{})
	jobs := schedulerbench.Jobs(benchHeld, 0, t0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := jobs[i%len(jobs)]
		j.StartedAt = t0.Add(time.Duration(i/len(jobs)+1) * time.Second)
		s.Put(j)
	}
	s.Len(context.Background())
}

// BenchmarkFireDue: one fire, from the due instant to the Publisher, with b.N interval
// jobs due at the same instant among benchHeld that are not.
func BenchmarkFireDue(b *testing.B) {
	var pub counter
	s, clk := running(b, &pub)
	jobs := schedulerbench.Every(b.N, benchHeld, time.Second)
	schedulerbench.Anchor(jobs, 0, t0.Add(time.Second))
	for _, j := range jobs {
		s.Put(j)
	}
	s.Len(context.Background())
	b.ReportAllocs()
	b.ResetTimer()
	clk.Advance(time.Second)
	for pub.n.Load() < int64(b.N) {
		time.Sleep(50 * time.Microsecond)
	}
}

type counter struct{ n atomic.Int64 }

func (c *counter) Publish(contracts.Fire) { c.n.Add(1) }

// BenchmarkImage: a start taking up an image of benchHeld jobs instead of loading them,
// and what cutting one costs the loop. Per image, not per job.
func BenchmarkImage(b *testing.B) {
	s, clk := running(b, schedulerbench.Discard{})
	// One image for write and import, so that each measure can also run alone.
	im, err := s.Cut(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var data bytes.Buffer
	if _, err := im.WriteTo(&data); err != nil {
		b.Fatal(err)
	}
	b.Run("cut", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Cut(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write", func(b *testing.B) {
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			if _, err := im.WriteTo(&out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(out.Len())/benchHeld, "bytes/job")
	})
	b.Run("import", func(b *testing.B) {
		for b.Loop() {
			if _, err := schedulerbench.New(clk, schedulerbench.Discard{}).Import(bytes.NewReader(data.Bytes())); err != nil {
				b.Fatal(err)
			}
		}
	})
}
