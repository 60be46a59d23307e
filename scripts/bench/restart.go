package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// The restart section's tenants: the probes, whose fires are watched, and the rest.
const (
	restartTenant = "bench-restart"
	probeTenant   = "bench-probe"
	restartEvery  = time.Hour
	// restartLimit bounds a start's watch: loading 1,000,000 jobs from FerretDB takes
	// minutes.
	restartLimit = 20 * time.Minute
)

// startRun is one start of the program on the seeded store. Every time is from the exec;
// -1 is not reached.
type startRun struct {
	ready, loaded, firstProbe, onTime time.Duration
	// bad counts the probe instants after the exec whose fire was missing or late, up to
	// the instant from which all were on time.
	bad      int
	cpu, rss float64
	// load is the machine's 1-minute load average at the exec.
	load float64
}

// restartSection is the part 6: kill -9 with 1,000,000 jobs scheduled, and start
// again.
func restartSection(o options, w io.Writer) (*section, error) {
	n, p := o.restartJobs, o.restartProbes
	if p < 1 || p >= n {
		return nil, fmt.Errorf("-restart-probes %d must be between 1 and -restart-jobs %d", p, n)
	}
	s := &section{Name: "restart", Columns: []string{"median"},
		Title: "6. Restart (the all-in-one program, cmd/jobcenter: embedded NATS JetStream and FerretDB on SQLite)",
		Workload: fmt.Sprintf("Workload: %s started interval jobs held: %s every %s, their fires spread evenly over the hour "+
			"(about %s a second), and %d probes every 1 s, spread evenly over the second, each running the snippet `pass`; "+
			"seeded as job documents into the store (mongostore's shape, inserted in batches of %s) before the first start. "+
			"The program is started on it, and once it fires on time and has stored its scheduler's image it is killed with SIGKILL and started again at once, on "+
			"the same data folder, %d times (one store for all: each restart finds the progress the last one saved). A probe "+
			"fire is on time when it is stored in JetStream within %s of its instant; the program fires on time from the first "+
			"probe instant after which every probe fire, through %s of them, was on time. Times are from the exec of the program. "+
			"%s; the probes' fires are read from outside over its "+
			"NATS port. Median of %d restarts.",
			group(float64(n), 0), group(float64(n-p), 0), human(restartEvery), group(float64(n-p)/restartEvery.Seconds(), 0), p,
			group(seedBatch, 0), o.runs, human(o.restartOnTime), human(o.restartSettle), settings(o), o.runs)}

	st, err := newStack(o, w, "restart")
	if err != nil {
		return nil, err
	}
	defer st.remove()
	seeded := time.Now().UTC().Truncate(time.Second)
	probeOffset := func(i int) time.Duration {
		return (time.Duration(i) * time.Second / time.Duration(p)).Truncate(time.Millisecond)
	}
	t := time.Now()
	if err := st.seedStore(func(ctx context.Context, db *mongo.Database, ms *mongostore.Store) error {
		if err := insertJobs(ctx, ms, p, func(i int) job.Job {
			return benchJob(6, i, probeTenant, job.Trigger{Kind: job.Interval, Every: time.Second}, seeded.Add(probeOffset(i)), seeded)
		}); err != nil {
			return err
		}
		// Anchored an hour back, so that each fires first within the hour after seeding.
		return insertJobs(ctx, ms, n-p, func(i int) job.Job {
			at := seeded.Add(-restartEvery + time.Duration(i)*(restartEvery/time.Duration(n-p))).Truncate(time.Millisecond)
			return benchJob(7, i, restartTenant, job.Trigger{Kind: job.Interval, Every: restartEvery}, at, seeded)
		})
	}); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(w, "restart: seeded %s jobs in %s\n", group(float64(n), 0), time.Since(t).Round(time.Millisecond))
	probes := probeSet{n: p, anchor: seeded, offset: probeOffset, index: map[string]int{}}
	for i := range p {
		probes.index[benchID(6, i)] = i
	}

	fmt.Fprintf(w, "restart: first start (load %s) ...\n", loadAvg())
	cold, err := startOnce(o, w, st, probes)
	if err != nil {
		return nil, err
	}
	if cold.onTime < 0 {
		return nil, fmt.Errorf("the first start never fired on time (log: %s)", st.log())
	}
	// The restarts take up the image of the scheduler that the first start, having loaded
	// every job from the store, stores once it can.
	imaged, err := st.waitImage(restartLimit)
	if err != nil {
		return nil, err
	}
	imageAfter := imaged.Sub(st.started)
	fmt.Fprintf(w, "restart: scheduler image stored %s after the first start\n", imageAfter.Round(time.Millisecond))
	var rs []startRun
	for i := range o.runs {
		time.Sleep(2 * time.Second)
		fmt.Fprintf(w, "restart: kill -9, start again: run %d of %d (load %s) ...\n", i+1, o.runs, loadAvg())
		st.kill()
		r, err := startOnce(o, w, st, probes)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	if o.profile != "" {
		st.kill()
		fmt.Fprintln(w, "restart: kill -9, an extra start under perf ...")
		done := make(chan error, 1)
		if err := st.start(); err != nil {
			return nil, err
		}
		go func() {
			_, err := perfRecord(o, st.pid(), "restart", 30*time.Second)
			done <- err
		}()
		if err := <-done; err != nil {
			fmt.Fprintf(w, "restart: no profile: %v\n", err)
		} else {
			s.Notes = append(s.Notes, "profile of the first 30 s after /readyz of an extra restart (not measured): "+o.profile+"/restart.txt")
		}
	}
	st.stop()
	printLogSummary(w, st)

	per := func(f func(startRun) time.Duration) value {
		var runs []float64
		for _, r := range rs {
			runs = append(runs, ms(f(r)))
		}
		v := newValue("ms", runs)
		for i, x := range v.Runs {
			if x < 0 {
				v.Runs[i] = -1
			}
		}
		if nReached := countIf(runs, func(x float64) bool { return x >= 0 }); nReached < len(runs) {
			// Runs not reached are slower than any: the median is theirs if they are half.
			if 2*nReached <= len(runs) {
				v.Median, v.Text = -1, "not reached"
			}
		}
		return v
	}
	coldValue := func(d time.Duration) value {
		v := newValue("ms", []float64{ms(d)})
		if d < 0 {
			v.Median, v.Runs, v.Text = -1, []float64{-1}, "not reached"
		}
		return v
	}
	s.Rows = append(s.Rows,
		row{Label: "first start: to the scheduler holding every job", Values: []value{coldValue(cold.loaded)}},
		row{Label: "first start: to firing on time", Values: []value{coldValue(cold.onTime)}},
		row{Label: "first start: to its scheduler image stored", Values: []value{coldValue(imageAfter)}},
		row{Label: "restart after kill -9: to the api answering (/healthz)", Values: []value{per(func(r startRun) time.Duration { return r.ready })}},
		row{Label: "restart: to the scheduler holding every job", Values: []value{per(func(r startRun) time.Duration { return r.loaded })}},
		row{Label: "restart: to the first probe fire stored", Values: []value{per(func(r startRun) time.Duration { return r.firstProbe })}},
	)
	on := per(func(r startRun) time.Duration { return r.onTime })
	s.Rows = append(s.Rows, row{Label: "restart: to firing on time again", Values: []value{on},
		Target: "≤ 20 s", Met: met(on.Median >= 0 && on.Median <= 20_000)})
	var bad, cpu, rss, load []float64
	for _, r := range rs {
		bad, cpu, rss, load = append(bad, float64(r.bad)), append(cpu, r.cpu), append(rss, r.rss), append(load, r.load)
	}
	s.Rows = append(s.Rows,
		row{Label: "  probe instants after the exec missed or late, before that", Values: []value{newValue("", bad)}},
		row{Label: "  server CPU, from the exec until on time for -restart-settle", Values: []value{newValue("cores", cpu)}},
		row{Label: "  server RSS once firing on time", Values: []value{newValue("MiB", rss)}},
		row{Label: "machine load average (1 min) at the exec", Values: []value{loadValue(load)}})
	s.Notes = append(s.Notes,
		"the first start loads every job from the store (FerretDB) and then stores an image of its scheduler (jobcenter_scheduler_image_timestamp_seconds); each restart takes that image up, then replays the fires stored since it: more at each run, as the image ages (JOBCENTER_IMAGE_INTERVAL, 1 min, bounds its age in use; the first start's image is the only one here)",
		"holding every job: the first read of /metrics (every 100 ms) whose jobcenter_jobs{state=\"held\"} is every job; the trigger publishes it once its scheduler runs",
		"the killed program's trigger lease lives on for JOBCENTER_LEASE_TTL (5 s) after its last renewal: the new trigger waits it out before it loads the jobs",
		"a missed instant is a probe fire never stored: fires due while the program was down or loading coalesce into one catch-up fire per job, late by definition",
		"-1 in the JSON's runs: not reached within 20 minutes")
	return s, nil
}

func countIf(xs []float64, f func(float64) bool) int {
	n := 0
	for _, x := range xs {
		if f(x) {
			n++
		}
	}
	return n
}

// probeSet is the probe jobs: job i fires at anchor + offset(i) + k s.
type probeSet struct {
	n      int
	anchor time.Time
	offset func(i int) time.Duration
	index  map[string]int // job id → i
}

// probeFire is a probe's fire, by job and scheduled millisecond.
type probeFire struct {
	i  int
	at int64
}

// judge looks at every probe instant in [from, until]: the last one whose fire is missing
// or later than onTime, and how many such.
func (p probeSet) judge(stored map[probeFire]time.Time, from, until time.Time, onTime time.Duration) (lastBad time.Time, bad int) {
	first := from.Sub(p.anchor).Truncate(time.Second) - time.Second
	for k := first; ; k += time.Second {
		base := p.anchor.Add(k)
		if base.After(until) {
			return lastBad, bad
		}
		for i := range p.n {
			at := base.Add(p.offset(i))
			if at.Before(from) || at.After(until) {
				continue
			}
			s, ok := stored[probeFire{i, at.UnixMilli()}]
			if !ok || s.Sub(at) > onTime {
				bad++
				lastBad = later(lastBad, at)
			}
		}
	}
}

// next is the first probe instant after t.
func (p probeSet) next(t time.Time) time.Time {
	best := time.Time{}
	base := p.anchor.Add(t.Sub(p.anchor).Truncate(time.Second) - time.Second)
	for k := range 3 {
		for i := range p.n {
			at := base.Add(time.Duration(k)*time.Second + p.offset(i))
			if at.After(t) && (best.IsZero() || at.Before(best)) {
				best = at
			}
		}
	}
	return best
}

// startOnce starts the program on the store and watches the probes' fires until every
// one has been on time for -restart-settle, or restartLimit has passed.
func startOnce(o options, w io.Writer, st *stack, probes probeSet) (startRun, error) {
	r := startRun{ready: -1, loaded: -1, firstProbe: -1, onTime: -1, load: load1()}
	if err := st.start(); err != nil {
		return r, err
	}
	t0 := st.started
	r.ready = time.Since(t0)
	nc, js, err := st.dial()
	if err != nil {
		return r, err
	}
	defer nc.Close()
	ctx := context.Background()
	stream, err := js.Stream(ctx, contracts.StreamRuns)
	if err != nil {
		return r, err
	}
	from := t0
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{contracts.TenantFires(probeTenant)}, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &from,
	})
	if err != nil {
		return r, err
	}
	stored := map[probeFire]time.Time{}
	var firstStored time.Time
	fetch := func() error {
		for {
			batch, err := cons.FetchNoWait(1000)
			if err != nil {
				return err
			}
			got := 0
			for msg := range batch.Messages() {
				got++
				md, err := msg.Metadata()
				if err != nil {
					return err
				}
				var f fireFields
				if err := decode(streamMsg{subject: msg.Subject(), data: msg.Data(), seq: md.Sequence.Stream}, &f); err != nil {
					return err
				}
				i, ok := probes.index[f.JobID]
				if !ok {
					continue
				}
				k := probeFire{i, f.ScheduledAt.UnixMilli()}
				if _, seen := stored[k]; !seen {
					stored[k] = md.Timestamp
				}
				if firstStored.IsZero() || md.Timestamp.Before(firstStored) {
					firstStored = md.Timestamp
				}
			}
			if err := batch.Error(); err != nil {
				return err
			}
			if got == 0 {
				return nil
			}
		}
	}
	deadline := t0.Add(restartLimit)
	var loadedAt time.Time
	// A fire stored on time reaches this reader within a moment; an instant is judged once
	// it is a second old.
	const judgeAfter = time.Second
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if loadedAt.IsZero() {
			if held, _, ok := st.jobsHeld(); ok && held >= float64(o.restartJobs) {
				loadedAt = time.Now()
			}
		}
		if err := fetch(); err != nil {
			return r, fmt.Errorf("read probe fires: %w", err)
		}
		if loadedAt.IsZero() {
			continue
		}
		until := time.Now().Add(-judgeAfter)
		lastBad, _ := probes.judge(stored, t0, until, o.restartOnTime)
		if until.Sub(later(lastBad, t0)) >= o.restartSettle {
			break
		}
	}
	if !loadedAt.IsZero() {
		r.loaded = loadedAt.Sub(t0)
	}
	if !firstStored.IsZero() {
		r.firstProbe = firstStored.Sub(t0)
	}
	until := time.Now().Add(-judgeAfter)
	lastBad, bad := probes.judge(stored, t0, until, o.restartOnTime)
	if until.Sub(later(lastBad, t0)) >= o.restartSettle {
		at := probes.next(lastBad)
		if lastBad.IsZero() {
			at = probes.next(t0)
		}
		r.onTime, r.bad = at.Sub(t0), bad
	}
	r.cpu = procCPU(st.pid()).Seconds() / time.Since(t0).Seconds()
	r.rss = float64(procRSSKB(st.pid())) / 1024
	fmt.Fprintf(w, "restart: ready %s, loaded %s, first probe fire %s, on time %s (%d probe instants missed or late)\n",
		r.ready.Round(time.Millisecond), r.loaded.Round(time.Millisecond), r.firstProbe.Round(time.Millisecond), r.onTime.Round(time.Millisecond), r.bad)
	return r, nil
}
