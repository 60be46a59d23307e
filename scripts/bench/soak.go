package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/job"
)

const soakTenant = "bench-soak"

// soakSample is what the program holds and has done at one moment of a soak.
type soakSample struct {
	at time.Time
	// runs ended; cpu seconds of the process; heap in use; the data folder.
	runs, cpuSec, heap, disk float64
	// stored is the messages every stream and bucket of Job Center has stored since it
	// was made (the sum of their last sequences): what the run path writes to the broker.
	stored float64
}

// soakRun is one soak's figures, over its measured stretch (after the warm-up).
type soakRun struct {
	rate, cpuPerRun, storedPerRun, bytesPerRun, heapPerRun, plateau float64
}

// soakSection is issue 18's soak: the all-in-one program running interval jobs for a long
// stretch with a short journal retention, measuring what each run costs and leaves.
func soakSection(o options, w io.Writer) (*section, error) {
	keep := o.soakKeep
	s := &section{Name: "soak",
		Title: "7. Soak: what a run costs and leaves behind (the all-in-one program)",
		Workload: fmt.Sprintf("Workload: %s interval jobs every 1 s running `pass`, their fires spread over the second, seeded into the store "+
			"before the program starts; JOBCENTER_JOURNAL_MAX_AGE and JOBCENTER_RUNS_MAX_AGE %s, so that what runs leave levels off "+
			"after that long; %s in all, sampled every %s; the figures are over the stretch after the first %s (the warm-up: the "+
			"retention filling). %s. Median of %d runs.",
			group(float64(o.soakJobs), 0), human(keep), human(o.soakFor), human(o.soakEvery), human(keep+o.soakEvery), settings(o), o.runs),
		Columns: []string{group(float64(o.soakJobs), 0) + " jobs"}}
	var runs []soakRun
	for i := range o.runs {
		fmt.Fprintf(w, "soak: run %d of %d (load %s) ...\n", i+1, o.runs, loadAvg())
		r, err := runSoak(o, w)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "soak: %.0f runs/s, %.0f µs CPU a run, %.2f stored messages a run, %.0f bytes on disk a run, heap %+.1f bytes a run, data folder %+.1f%% over the last stretch\n",
			r.rate, r.cpuPerRun, r.storedPerRun, r.bytesPerRun, r.heapPerRun, r.plateau)
		runs = append(runs, r)
	}
	add := func(label, unit, target string, f func(soakRun) float64, ok func(float64) bool) {
		addRow(s, runs, label, unit, target, f, ok)
	}
	add("runs a second, sustained", "runs/s", "≥ 3,000 (at enough jobs)", func(r soakRun) float64 { return r.rate }, nil)
	add("CPU a run, the whole process", "µs", "≤ 400", func(r soakRun) float64 { return r.cpuPerRun }, func(v float64) bool { return v <= 400 })
	add("broker messages stored a run (every stream and bucket)", "", "≤ 3", func(r soakRun) float64 { return r.storedPerRun }, func(v float64) bool { return v <= 3 })
	s.Rows[len(s.Rows)-1].Values[0].Text = fmt.Sprintf("%.3f", s.Rows[len(s.Rows)-1].Values[0].Median)
	add("data folder per run kept (disk ÷ runs within the retention)", "bytes", "≤ 1,024", func(r soakRun) float64 { return r.bytesPerRun }, func(v float64) bool { return v <= 1024 })
	add("heap in use, growth per run after the warm-up", "bytes", "≤ 5", func(r soakRun) float64 { return r.heapPerRun }, func(v float64) bool { return v <= 5 })
	add("data folder, change over the last half of the stretch", "%", "within ±10%", func(r soakRun) float64 { return r.plateau }, func(v float64) bool { return v >= -10 && v <= 10 })
	s.Notes = append(s.Notes, "stored messages count every message a stream or bucket stored (its last sequence), server-made markers included, and "+
		"what is not per run too (the trigger's lease renewals, about one a second, and its scheduler images); "+
		"CPU is the process's user and system time; heap is go_memstats_heap_inuse_bytes, the mean of the stretch's last third against its first")
	return s, nil
}

// runSoak is one soak.
func runSoak(o options, w io.Writer) (soakRun, error) {
	var r soakRun
	st, err := newStack(o, w, "soak")
	if err != nil {
		return r, err
	}
	defer st.remove()
	st.env = append(slices.Clone(st.env), "JOBCENTER_JOURNAL_MAX_AGE="+o.soakKeep.String(), "JOBCENTER_RUNS_MAX_AGE="+o.soakKeep.String())
	n := o.soakJobs
	anchor := time.Now().Add(steadyLead(n)).Truncate(time.Second).Add(time.Second)
	created := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(i int) job.Job {
		at := anchor.Add(time.Duration(i) * time.Second / time.Duration(n)).Truncate(time.Millisecond).UTC()
		return benchJob(7, i, soakTenant, job.Trigger{Kind: job.Interval, Every: time.Second}, at, created)
	}
	if _, err := st.seedAndStart(w, "soak", n, mk); err != nil {
		return r, err
	}
	_, js, err := st.dial()
	if err != nil {
		return r, err
	}
	take := func() (soakSample, error) {
		m, ok := st.metrics("")
		if !ok {
			return soakSample{}, fmt.Errorf("no /metrics (log: %s)", st.log())
		}
		smp := soakSample{at: time.Now(), cpuSec: m["process_cpu_seconds_total"], heap: m["go_memstats_heap_inuse_bytes"], disk: st.diskMiB() * (1 << 20)}
		for k, v := range m {
			if strings.HasPrefix(k, "jobcenter_runs_total{") {
				smp.runs += v
			}
		}
		smp.stored, err = storedMessages(js)
		return smp, err
	}
	began := time.Now()
	var samples []soakSample
	for t := o.soakEvery; t <= o.soakFor; t += o.soakEvery {
		sleepUntil(began.Add(t))
		smp, err := take()
		if err != nil {
			return r, err
		}
		samples = append(samples, smp)
		fmt.Fprintf(w, "soak: at %s: %.0f runs, %.1f MiB on disk, heap %.1f MiB, %.0f messages stored\n",
			human(t), smp.runs, smp.disk/(1<<20), smp.heap/(1<<20), smp.stored)
	}
	warm := int((o.soakKeep + o.soakEvery) / o.soakEvery)
	if warm >= len(samples)-1 {
		return r, fmt.Errorf("-soak-for %s leaves no stretch after the warm-up of %s", human(o.soakFor), human(o.soakKeep+o.soakEvery))
	}
	a, b := samples[warm-1], samples[len(samples)-1]
	ran := b.runs - a.runs
	if ran <= 0 {
		return r, fmt.Errorf("no run ended after the warm-up (log: %s)", st.log())
	}
	r.rate = ran / b.at.Sub(a.at).Seconds()
	r.cpuPerRun = (b.cpuSec - a.cpuSec) / ran * 1e6
	r.storedPerRun = (b.stored - a.stored) / ran
	r.bytesPerRun = b.disk / (r.rate * o.soakKeep.Seconds())
	// The heap in use swings by tens of MiB with each collection: the means of the first
	// and last thirds of the stretch are compared, not two single samples.
	stretch := samples[warm-1:]
	third := max(len(stretch)/3, 1)
	early, late := stretch[:third], stretch[len(stretch)-third:]
	mean := func(ss []soakSample, f func(soakSample) float64) float64 {
		sum := 0.0
		for _, x := range ss {
			sum += f(x)
		}
		return sum / float64(len(ss))
	}
	heap := func(x soakSample) float64 { return x.heap }
	runsOf := func(x soakSample) float64 { return x.runs }
	if between := mean(late, runsOf) - mean(early, runsOf); between > 0 {
		r.heapPerRun = (mean(late, heap) - mean(early, heap)) / between
	}
	mid := samples[warm-1+(len(samples)-warm)/2]
	r.plateau = (b.disk - mid.disk) / mid.disk * 100
	st.stop()
	return r, nil
}

// storedMessages sums the last sequences of Job Center's streams and buckets.
func storedMessages(js jetstream.JetStream) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n float64
	l := js.ListStreams(ctx)
	for info := range l.Info() {
		if bus.OwnStream(info.Config.Name) {
			n += float64(info.State.LastSeq)
		}
	}
	return n, l.Err()
}

// addRow adds a row to s of f over every run's figures, met when ok (if given) holds
// for their median.
func addRow[R any](s *section, runs []R, label, unit, target string, f func(R) float64, ok func(float64) bool) {
	vals := make([]float64, len(runs))
	for i, r := range runs {
		vals[i] = f(r)
	}
	v := newValue(unit, vals)
	r := row{Label: label, Values: []value{v}, Target: target}
	if ok != nil {
		r.Met = met(ok(v.Median))
	}
	s.Rows = append(s.Rows, r)
}
