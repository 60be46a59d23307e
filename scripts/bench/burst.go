package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
)

const burstTenant = "bench-burst"

// burstRun is what one run of the burst saw. Each "until" is from the instant the jobs
// were due; not reached (within -burst-wait) is negative.
type burstRun struct {
	n           int
	loadedAhead time.Duration // how long before the instant the scheduler held every job
	stored      int
	fire        latencies
	started     int
	ended       int
	journaled   int
	// untilStored: every fire stored; untilStarted, untilEnded: every run begun, ended
	// (its end report stored); untilEntries: every fire's journal entry written;
	// untilJournaled: every run's end journaled.
	untilStored, untilStarted, untilEnded, untilEntries, untilJournaled time.Duration
	cpu, rss                                                            float64
	// load is the machine's 1-minute load average when the run began.
	load float64
}

// burstSection is the part 3: many date jobs due at the same instant.
func burstSection(o options, w io.Writer) (*section, error) {
	n := o.burstJobs
	s := &section{Name: "burst", Columns: []string{"median"},
		Title: "3. Burst (the all-in-one program, cmd/jobcenter: embedded NATS JetStream and FerretDB on SQLite)",
		Workload: fmt.Sprintf("Workload: %s date jobs, all due at the same instant (a whole second), each running the snippet `pass`; "+
			"seeded as started job documents into the store (mongostore's shape, inserted in batches of %s) before the program "+
			"starts, the instant far enough ahead for the program to have loaded them. Times run from that instant; the run "+
			"waits at most %s after it. %s, on a fresh data folder "+
			"each run, read from outside over its NATS port and after the run from its stream files. Median of %d runs.",
			group(float64(n), 0), group(seedBatch, 0), human(o.burstWait), settings(o), o.runs)}
	var rs []burstRun
	for i := range o.runs {
		fmt.Fprintf(w, "burst: run %d of %d (load %s) ...\n", i+1, o.runs, loadAvg())
		r, err := runBurst(o, w, "")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "burst: %d stored in %s; %d journaled in %s\n", r.stored, r.untilStored, r.journaled, r.untilJournaled)
		rs = append(rs, r)
	}
	if o.profile != "" {
		fmt.Fprintln(w, "burst: an extra run under perf ...")
		if _, err := runBurst(o, w, "burst"); err != nil {
			return nil, err
		}
		s.Notes = append(s.Notes, "profile of the first 20 s after the instant (an extra run, not measured): "+filepath.Join(o.profile, "burst.txt"))
	}

	per := func(f func(burstRun) float64) []float64 {
		out := make([]float64, len(rs))
		for i, r := range rs {
			out[i] = f(r)
		}
		return out
	}
	count := func(label string, f func(burstRun) int, target string) {
		runs := per(func(r burstRun) float64 { return float64(f(r)) })
		v := newValue("", runs)
		worst := n
		for _, r := range rs {
			worst = min(worst, f(r))
		}
		v.Text = fmt.Sprintf("%s of %s", group(v.Median, 0), group(float64(n), 0))
		if worst < n {
			v.Text += fmt.Sprintf(" (worst run: %s)", group(float64(worst), 0))
		}
		r := row{Label: label, Values: []value{v}, Target: target}
		if target != "" {
			r.Met = met(worst == n)
		}
		s.Rows = append(s.Rows, r)
	}
	until := func(label string, f func(burstRun) time.Duration, limit time.Duration) {
		runs := per(func(r burstRun) float64 {
			if d := f(r); d >= 0 {
				return ms(d)
			}
			return -1
		})
		v := newValue("ms", runs)
		notAll := false
		for _, x := range runs {
			notAll = notAll || x < 0
		}
		if notAll {
			// A run that never got there is slower than any that did.
			for i, x := range runs {
				if x < 0 {
					runs[i] = ms(o.burstWait) * 10
				}
			}
			if m := median(runs); m > ms(o.burstWait) {
				v.Median, v.Text = -1, "not within "+human(o.burstWait)
			} else {
				v.Median = m
			}
			for i, x := range runs {
				if x > ms(o.burstWait) {
					v.Runs[i] = -1
				}
			}
		}
		r := row{Label: label, Values: []value{v}}
		if limit > 0 {
			r.Target = fmt.Sprintf("≤ %g s", limit.Seconds())
			r.Met = met(v.Median >= 0 && v.Median <= ms(limit))
		}
		s.Rows = append(s.Rows, r)
	}
	s.Rows = append(s.Rows, row{Label: "scheduler loaded, ahead of the instant",
		Values: []value{newValue("ms", per(func(r burstRun) float64 { return ms(r.loadedAhead) }))}})
	count("fires stored", func(r burstRun) int { return r.stored }, "none missing")
	until("until every fire is stored in JetStream", func(r burstRun) time.Duration { return r.untilStored }, time.Second)
	count("  fires stored within 1 s of the instant", func(r burstRun) int { return r.fire.within(time.Second) }, "all")
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p99", 0.99}} {
		s.Rows = append(s.Rows, row{Label: "  lateness to the fire stored, " + q.name,
			Values: []value{msValue(per(func(r burstRun) float64 { return r.fire.quantile(q.q) }), "not all stored")}})
	}
	until("until every fire's journal entry is written (\"waiting\")", func(r burstRun) time.Duration { return r.untilEntries }, 0)
	count("runs begun", func(r burstRun) int { return r.started }, "")
	until("until every run has begun", func(r burstRun) time.Duration { return r.untilStarted }, 0)
	until("until every run has ended (end report stored)", func(r burstRun) time.Duration { return r.untilEnded }, 0)
	count("runs journaled (their end)", func(r burstRun) int { return r.journaled }, "all")
	until("until every run is journaled", func(r burstRun) time.Duration { return r.untilJournaled }, 15*time.Second)
	s.Rows = append(s.Rows,
		row{Label: "server CPU, from the instant to the end of the run", Values: []value{newValue("cores", per(func(r burstRun) float64 { return r.cpu }))}},
		row{Label: "server RSS, most", Values: []value{newValue("MiB", per(func(r burstRun) float64 { return r.rss }))}},
		row{Label: "machine load average (1 min) as the run began", Values: []value{loadValue(per(func(r burstRun) float64 { return r.load }))}})
	s.Notes = append(s.Notes,
		"stored: the fire message's JetStream timestamp (the broker's clock), read back from the stream after the run; begun: the first \"running\" report's started_at (the executor's clock); ended: the end report's JetStream timestamp",
		"journaled: the first read (every 20 ms) of the journal consumer's ack floor that covers the message; the projection acks a message once its records are written, so this is an upper bound by up to 20 ms",
		fmt.Sprintf("each fired date job also sends a finish command, which the trigger applies as it applies the api's commands; the run does not wait for them"),
		"-1 in the JSON's runs: not reached within the wait")
	return s, nil
}

// runBurst is one run; with profile set it is an extra run under perf, its figures not kept.
func runBurst(o options, w io.Writer, profile string) (burstRun, error) {
	n := o.burstJobs
	r := burstRun{n: n, load: load1(), untilStored: -1, untilStarted: -1, untilEnded: -1, untilEntries: -1, untilJournaled: -1}
	st, err := newStack(o, w, "burst")
	if err != nil {
		return r, err
	}
	defer st.remove()
	due := time.Now().Add(steadyLead(n)).Truncate(time.Second).Add(time.Second).UTC()
	created := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(i int) job.Job {
		return benchJob(3, i, burstTenant, job.Trigger{Kind: job.Date, RunAt: due}, created, created)
	}
	loaded, err := st.seedAndStart(w, "burst", n, mk)
	if err != nil {
		return r, err
	}
	r.loadedAhead = due.Sub(loaded)
	if r.loadedAhead < 0 {
		fmt.Fprintf(w, "burst: the scheduler held every job only %s after the instant\n", -r.loadedAhead)
	}
	nc, js, err := st.dial()
	if err != nil {
		return r, err
	}
	defer nc.Close()
	floor := watchFloor(js, journalConsumer, 20*time.Millisecond)
	defer floor.end()
	sleepUntil(due)
	u := watchUsage(st.pid())
	if profile != "" {
		if _, err := perfRecord(o, st.pid(), profile, 20*time.Second); err != nil {
			fmt.Fprintf(w, "burst: no profile: %v\n", err)
		}
		u.end()
		st.stop()
		return r, nil
	}

	// Wait until the executors have nothing left and the journal has acked all there is.
	ctx := context.Background()
	deadline := due.Add(o.burstWait)
	var l2 uint64
	sleepUntil(due.Add(time.Second))
	for time.Now().Before(deadline) {
		if l2 == 0 {
			_, pending, ackPending, err := consumerState(ctx, js, executorConsumer)
			if err == nil && pending == 0 && ackPending == 0 {
				if last, err := lastSeq(ctx, js); err == nil && last >= uint64(2*n) {
					l2 = last
				}
			}
		} else if floor.last() >= l2 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	stopped := time.Now()
	r.cpu, r.rss = u.end()
	floor.end()
	nc.Close()
	st.stop()
	printLogSummary(w, st)

	index := make(map[string]int, n)
	type rec struct {
		stored       time.Time
		fireSeq      uint64
		start, ended time.Time
		endSeq       uint64
	}
	recs := make([]rec, 0, n)
	var ff fireFields
	if err := st.readBack(contracts.FireSubjects, due.Add(-time.Second), func(m streamMsg) bool {
		if m.stored.After(stopped) {
			return false
		}
		ff = fireFields{}
		if decode(m, &ff) != nil || !ff.ScheduledAt.Equal(due) {
			return true
		}
		if _, dup := index[ff.FireID]; !dup {
			index[ff.FireID] = len(recs)
			recs = append(recs, rec{stored: m.stored, fireSeq: m.seq})
		}
		return true
	}); err != nil {
		return r, fmt.Errorf("read back fires: %w", err)
	}
	var rf runFields
	if err := st.readBack(contracts.RunSubjects, due, func(m streamMsg) bool {
		if m.stored.After(stopped) {
			return false
		}
		rf = runFields{}
		if decode(m, &rf) != nil {
			return true
		}
		i, ok := index[rf.FireID]
		if !ok {
			return true
		}
		switch {
		case rf.EndedAt == nil && recs[i].start.IsZero():
			recs[i].start = rf.StartedAt
		case rf.EndedAt != nil && recs[i].endSeq == 0:
			recs[i].ended, recs[i].endSeq = m.stored, m.seq
		}
		return true
	}); err != nil {
		return r, fmt.Errorf("read back runs: %w", err)
	}

	r.stored = len(recs)
	var fire []time.Duration
	var lastStored, lastStart, lastEnd, lastEntry, lastJournal time.Time
	for _, x := range recs {
		fire = append(fire, x.stored.Sub(due))
		lastStored = later(lastStored, x.stored)
		if at, ok := floor.when(x.fireSeq); ok {
			lastEntry = later(lastEntry, at)
		} else {
			lastEntry = stopped.Add(time.Hour)
		}
		if !x.start.IsZero() {
			r.started++
			lastStart = later(lastStart, x.start)
		}
		if x.endSeq == 0 {
			continue
		}
		r.ended++
		lastEnd = later(lastEnd, x.ended)
		if at, ok := floor.when(x.endSeq); ok {
			r.journaled++
			lastJournal = later(lastJournal, at)
		}
	}
	r.fire = newLatencies(fire, n)
	reached := func(all bool, at time.Time) time.Duration {
		if !all || at.After(stopped) {
			return -1
		}
		return at.Sub(due)
	}
	r.untilStored = reached(r.stored == n, lastStored)
	r.untilEntries = reached(r.stored == n, lastEntry)
	r.untilStarted = reached(r.started == n, lastStart)
	r.untilEnded = reached(r.ended == n, lastEnd)
	r.untilJournaled = reached(r.journaled == n, lastJournal)
	return r, nil
}
