package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/jobcenter/jobcenter/services/trigger/schedulerbench"
	"github.com/jobcenter/jobcenter/shared/clock"
)

// schedulerSection is the part 1: the scheduler core, no I/O.
func schedulerSection(o options, w io.Writer) (*section, error) {
	idle := o.jobs - o.fireRate
	if idle < 0 {
		return nil, fmt.Errorf("-fire-rate %d is more than -jobs %d", o.fireRate, o.jobs)
	}
	s := &section{Name: "scheduler", Columns: []string{"median"},
		Title: "1. Scheduler core, no I/O (services/trigger/internal/scheduler through its API)",
		Workload: fmt.Sprintf("Workload: %s jobs held (half interval jobs, every 1-24 h, running a snippet; half Quartz cron "+
			"schedules, %s distinct expressions, zone %s; "+schedulerbench.Mix+"), built as the store's decoder builds them (every string its own); "+
			"a Publisher and a Finisher that do nothing but record. Memory and operations on a fake clock (nothing falls "+
			"due); lateness on the real clock. Median of %d runs.",
			group(float64(o.jobs), 0), group(schedulerbench.CronExpressions, 0), schedulerbench.Zone, o.runs)}

	var (
		memTotal, memLive, memStruct, load []float64
		ops                                = map[schedulerbench.Op][]float64{}
		spread, aligned                    []schedulerbench.Lateness
		imCut, imWrite, imBytes, imImport  []float64
	)
	for i := range o.runs {
		fmt.Fprintf(w, "scheduler: run %d of %d ...\n", i+1, o.runs)
		m := schedulerbench.MeasureMemory(o.jobs)
		memTotal, memLive, memStruct, load = append(memTotal, m.PerJob), append(memLive, m.PerJobLive),
			append(memStruct, m.PerJobStructures), append(load, m.LoadPerSecond)
		for op, rate := range schedulerbench.MeasureOps(o.jobs, o.ops) {
			ops[op] = append(ops[op], rate)
		}
		l, err := schedulerbench.MeasureLateness(idle, o.fireRate, time.Second, o.fireFor)
		if err != nil {
			return nil, err
		}
		spread = append(spread, l)
		if l, err = schedulerbench.MeasureLateness(idle, o.fireRate, 0, o.fireFor); err != nil {
			return nil, err
		}
		aligned = append(aligned, l)
		im, err := schedulerbench.MeasureImage(o.jobs)
		if err != nil {
			return nil, err
		}
		imCut, imWrite = append(imCut, ms(im.Cut)), append(imWrite, ms(im.Write))
		imBytes, imImport = append(imBytes, float64(im.Bytes)/float64(o.jobs)), append(imImport, ms(im.Import))
	}

	bytes := func(label string, runs []float64, target bool) {
		r := row{Label: label, Values: []value{newValue("B", runs)}}
		if target {
			r.Target, r.Met = "≤ 200 B", met(median(runs) <= 200)
		}
		s.Rows = append(s.Rows, r)
	}
	bytes("memory per scheduled job, all it keeps (HeapInuse)", memTotal, true)
	bytes("  the same in live bytes (HeapAlloc)", memLive, false)
	bytes("  of which the scheduler's structures (HeapAlloc)", memStruct, false)
	s.Rows = append(s.Rows, row{Label: "load at start (Load, no hand-over)",
		Values: []value{newValue("ops/s", load)}})
	what := map[schedulerbench.Op]string{
		schedulerbench.Schedule:   "schedule (Put of a new started job)",
		schedulerbench.Reschedule: "reschedule (Put, new start)",
		schedulerbench.Unschedule: "unschedule (Put, stopped)",
		schedulerbench.Remove:     "remove (Put, deleted)",
	}
	for _, op := range schedulerbench.Ops {
		r := row{Label: what[op],
			Values: []value{newValue("ops/s", ops[op])}}
		if op != schedulerbench.Remove {
			r.Target, r.Met = "≥ 1,000,000/s", met(median(ops[op]) >= 1e6)
		}
		s.Rows = append(s.Rows, r)
	}
	lateRows := func(name string, ls []schedulerbench.Lateness, target bool) {
		q := func(f func(schedulerbench.Lateness) time.Duration) []float64 {
			var out []float64
			for _, l := range ls {
				out = append(out, float64(f(l))/float64(time.Millisecond))
			}
			return out
		}
		for _, p := range []struct {
			name string
			f    func(schedulerbench.Lateness) time.Duration
		}{
			{"p50", func(l schedulerbench.Lateness) time.Duration { return l.P50 }},
			{"p99", func(l schedulerbench.Lateness) time.Duration { return l.P99 }},
			{"p99.9", func(l schedulerbench.Lateness) time.Duration { return l.P999 }},
			{"max", func(l schedulerbench.Lateness) time.Duration { return l.Max }},
		} {
			r := row{Label: fmt.Sprintf("lateness %s, %s", p.name, name), Values: []value{newValue("ms", q(p.f))}}
			if target && p.name == "p99" {
				r.Target, r.Met = "≤ 1 ms", met(r.Values[0].Median <= 1)
			}
			s.Rows = append(s.Rows, r)
		}
		var handed, gcs, stolen []float64
		missing := 0
		for _, l := range ls {
			handed = append(handed, float64(l.Handed))
			gcs = append(gcs, float64(l.GCs))
			stolen = append(stolen, float64(l.Stolen)/float64(time.Millisecond))
			missing += l.Expected - l.Handed
		}
		v := newValue("", handed)
		v.Text = fmt.Sprintf("%s of %s", group(v.Median, 0), group(float64(ls[0].Expected), 0))
		s.Rows = append(s.Rows, row{Label: "  fires handed to the Publisher, " + name, Values: []value{v},
			Target: "none missing", Met: met(missing == 0)})
		s.Rows = append(s.Rows, row{Label: "  garbage collections in the window, " + name, Values: []value{newValue("", gcs)}})
		s.Rows = append(s.Rows, row{Label: "  CPU time stolen by the hypervisor in the window, " + name, Values: []value{newValue("ms", stolen)}})
	}
	lateRows("spread", spread, true)
	lateRows("aligned", aligned, false)
	s.Rows = append(s.Rows,
		row{Label: "image: cut (the loop held while it copies its table)", Values: []value{newValue("ms", imCut)}},
		row{Label: "image: written out (off the loop)", Values: []value{newValue("ms", imWrite)}},
		row{Label: "  image size per job", Values: []value{newValue("B", imBytes)}},
		row{Label: "image: taken up by a new scheduler (Import, as a start)", Values: []value{newValue("ms", imImport)}})
	s.Notes = append(s.Notes,
		fmt.Sprintf("memory: HeapInuse (and HeapAlloc) after runtime.GC, before building %s jobs and after loading them and dropping the built slice, ÷ N; "+
			"the scheduler's structures: HeapAlloc before and after Load with the built jobs still alive (its entry, record, index and heap slots, its share of the interned plans, tenants and snippets)", group(float64(o.jobs), 0)),
		fmt.Sprintf("spread: %s interval jobs every 1 s, first fires spread evenly over the second (%s fires/s), among the %s held; "+
			"aligned: the same jobs all due on the same instant each second (a burst of %s, as cron jobs on one second are); %s recorded after 1 s of warm-up",
			group(float64(o.fireRate), 0), group(float64(o.fireRate), 0), group(float64(o.jobs), 0), group(float64(o.fireRate), 0), o.fireFor),
		"lateness: from a fire's scheduled instant to the scheduler calling Publish with it (time.Now in Publish); the Publisher does nothing else; "+
			"CPU time stolen: the steal column of /proc/stat, all CPUs, over the window (a virtual machine's CPU taken by the host stops the loop)",
		fmt.Sprintf("image: of the %s jobs held by a running scheduler on a fake clock, written to memory and imported from it "+
			"(the trigger stores it in a JetStream object store; section 6 has a start taking it up)", group(float64(o.jobs), 0)),
		fmt.Sprintf("ops: on top of the %s held, %s Puts of each kind in a row from one goroutine (as the trigger's command applier), "+
			"compiled on that goroutine and queued to the loop, timed until the loop has applied the last", group(float64(o.jobs), 0), group(float64(o.ops), 0)))
	if o.profile != "" {
		if err := profileScheduler(o, idle); err != nil {
			return nil, err
		}
		s.Notes = append(s.Notes, "profiles (an extra run, not measured): "+filepath.Join(o.profile, "scheduler-*.pprof"))
	}
	return s, nil
}

// profileScheduler repeats the measures once under the CPU profiler, and writes a heap
// profile with the jobs loaded.
func profileScheduler(o options, idle int) error {
	s := schedulerbench.New(clock.NewFake(time.Now()), schedulerbench.Discard{})
	schedulerbench.Load(s, schedulerbench.Jobs(o.jobs, 0, time.Now()))
	runtime.GC()
	if err := writeProfile(filepath.Join(o.profile, "scheduler-heap.pprof"), func(f *os.File) error {
		return pprof.Lookup("heap").WriteTo(f, 0)
	}); err != nil {
		return err
	}
	runtime.KeepAlive(s)
	s = nil
	cpu := func(name string, fn func() error) error {
		f, err := os.Create(filepath.Join(o.profile, name))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
		return fn()
	}
	if err := cpu("scheduler-ops-cpu.pprof", func() error { schedulerbench.MeasureOps(o.jobs, o.ops); return nil }); err != nil {
		return err
	}
	if err := cpu("scheduler-lateness-spread-cpu.pprof", func() error {
		_, err := schedulerbench.MeasureLateness(idle, o.fireRate, time.Second, o.fireFor)
		return err
	}); err != nil {
		return err
	}
	return cpu("scheduler-lateness-aligned-cpu.pprof", func() error {
		_, err := schedulerbench.MeasureLateness(idle, o.fireRate, 0, o.fireFor)
		return err
	})
}

func writeProfile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
