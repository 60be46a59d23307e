package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/kept"
)

// The writes section: what writes leave behind, under a steady rate for minutes, with
// the duplicate and idempotency windows short enough to see them level off.
const (
	writesDuplicates  = 30 * time.Second
	writesIdempotency = time.Minute
	writesEvery       = 10 * time.Second
)

// held is what a stream holds at one moment.
type held struct{ msgs, bytes float64 }

// writesSection runs start/stop with an Idempotency-Key each at a paced rate and samples
// the commands stream, the kept outcomes and the events as they go.
func writesSection(o options, w io.Writer) (*section, error) {
	s := &section{Name: "writes",
		Title: "8. What writes leave behind (the all-in-one program)",
		Workload: fmt.Sprintf("Workload: start/stop of 64 jobs in turn, each request with an Idempotency-Key of its own, sent at %s a second "+
			"for %s; JOBCENTER_DUPLICATE_WINDOW %s and JOBCENTER_IDEMPOTENCY_WINDOW %s, so that what a write leaves levels off within "+
			"them; each stream read every %s; levels: the mean of the last third of the run against the middle third. Median of %d runs.",
			group(o.writesRate, 0), human(o.writesFor), human(writesDuplicates), human(writesIdempotency), human(writesEvery), o.runs),
		Columns: []string{"value"}}
	var rs []writesRun
	for i := range o.runs {
		fmt.Fprintf(w, "writes: run %d of %d (load %s) ...\n", i+1, o.runs, loadAvg())
		r, err := runWrites(o, w)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	add := func(label, unit, target string, f func(writesRun) float64, ok func(float64) bool) {
		addRow(s, rs, label, unit, target, f, ok)
	}
	level := func(v float64) bool { return v >= -10 && v <= 10 }
	add("writes answered a second", "/s", "", func(r writesRun) float64 { return r.rate }, nil)
	add("JOBCENTER_COMMANDS: messages held, last third", "", "", func(r writesRun) float64 { return r.commands }, nil)
	add("  change, last third against the middle", "%", "within ±10%", func(r writesRun) float64 { return r.commandsDrift }, level)
	add("kept outcomes (KV_jobcenter_outcomes): held, last third", "", "", func(r writesRun) float64 { return r.outcomes }, nil)
	add("  change, last third against the middle", "%", "within ±10%", func(r writesRun) float64 { return r.outcomesDrift }, level)
	add("JOBCENTER_EVENTS: bytes a write, kept", "bytes", "", func(r writesRun) float64 { return r.eventBytes }, nil)
	s.Notes = append(s.Notes, "a command is held until applied and the duplicate window has passed: about the rate times the window and an eighth; "+
		"an outcome for the idempotency window: about the rate times the window; events are kept (the truth)")
	return s, nil
}

type writesRun struct{ rate, commands, commandsDrift, outcomes, outcomesDrift, eventBytes float64 }

func runWrites(o options, w io.Writer) (writesRun, error) {
	var r writesRun
	if o.jobcenter == "" {
		return r, fmt.Errorf("writes: -jobcenter names the all-in-one program (make bench passes ./bin/jobcenter)")
	}
	dir, err := os.MkdirTemp("", "jobcenter-bench-writes-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	c, err := startCenter(o.jobcenter, dir, o.conns, "JOBCENTER_DUPLICATE_WINDOW="+writesDuplicates.String(),
		"JOBCENTER_IDEMPOTENCY_WINDOW="+writesIdempotency.String())
	if err != nil {
		return r, err
	}
	defer c.stop()
	fx, err := c.setupWrites(o.conns)
	if err != nil {
		return r, fmt.Errorf("setup: %w (log: %s)", err, filepath.Join(dir, "jobcenter.log"))
	}
	nc, err := nats.Connect(c.nats)
	if err != nil {
		return r, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return r, err
	}
	read := func(name string) (held, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, name)
		if err != nil {
			return held{}, err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return held{}, err
		}
		return held{msgs: float64(info.State.Msgs), bytes: float64(info.State.Bytes)}, nil
	}
	done := make(chan loadResult, 1)
	go func() {
		done <- drive(o.conns, o.writesFor, o.writesRate, func(worker, i int, rng *rand.Rand) (int, error) {
			op := "/start"
			if i%2 == 1 {
				op = "/stop"
			}
			st, _, err := c.doAs("POST", "/api/v1/jobs/"+fx[worker]+op, "X-Project-Id", writeProject, "",
				"Idempotency-Key", fmt.Sprintf("w%d-%d-%d", worker, i, rng.Uint64()))
			return st, err
		})
	}()
	var cmds, outs, evs []held
	began := time.Now()
	for t := writesEvery; t <= o.writesFor; t += writesEvery {
		sleepUntil(began.Add(t))
		cm, err1 := read(contracts.StreamCommands)
		ou, err2 := read("KV_" + kept.Bucket)
		ev, err3 := read(contracts.StreamEvents)
		if err1 != nil || err2 != nil || err3 != nil {
			return r, fmt.Errorf("read the streams: %v %v %v", err1, err2, err3)
		}
		cmds, outs, evs = append(cmds, cm), append(outs, ou), append(evs, ev)
		fmt.Fprintf(w, "writes: at %s: %.0f commands held, %.0f outcomes kept, %.0f events (%.1f MiB)\n",
			human(t), cm.msgs, ou.msgs, ev.msgs, ev.bytes/(1<<20))
	}
	res := <-done
	r.rate = float64(res.ok) / res.elapsed.Seconds()
	third := len(cmds) / 3
	mean := func(hs []held) float64 {
		sum := 0.0
		for _, h := range hs {
			sum += h.msgs
		}
		return sum / float64(len(hs))
	}
	drift := func(hs []held) (last, change float64) {
		mid, end := mean(hs[third:2*third]), mean(hs[2*third:])
		return end, (end - mid) / mid * 100
	}
	r.commands, r.commandsDrift = drift(cmds)
	r.outcomes, r.outcomesDrift = drift(outs)
	first, last := evs[0], evs[len(evs)-1]
	if n := last.msgs - first.msgs; n > 0 {
		r.eventBytes = (last.bytes - first.bytes) / n
	}
	return r, nil
}

// setupWrites adds one stopped job per connection, in the write project.
func (c *center) setupWrites(conns int) ([]string, error) {
	var ids []string
	for i := range conns {
		st, b, err := c.do("POST", "/api/v1/jobs", writeProject,
			fmt.Sprintf(`{"pid":"bench","name":"writes %d","trigger":"interval","seconds":86400,"code":"return 1"}`, i))
		if err != nil || st != 201 {
			return nil, fmt.Errorf("add job: %d %s %v", st, b, err)
		}
		var j struct{ ID string }
		if err := json.Unmarshal(b, &j); err != nil || j.ID == "" {
			return nil, fmt.Errorf("add job: %s", b)
		}
		ids = append(ids, j.ID)
	}
	return ids, nil
}
