package runner

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/workers"
)

// A fire of a job its workers serve is handed to a worker of its group: the executor
// keeps the fire (its claim, its slot, its keepalive) and the run's journal, the worker
// does the work. The task is a NATS request to the worker whose one reply is the run's
// end, so a worker's end reaches the executor that dispatched it or no one: of the
// worker's end and an "interrupted" (its executor, or the worker, gone) exactly one is
// journaled — the end report's message id is the fire's.

// errNoWorker: no worker of the fire's group took its run.
var errNoWorker = errors.New("no worker took the run")

// errNotTaken: a worker did not take the run (it is gone, full or leaving): the next is tried.
var errNotTaken = errors.New("the worker did not take the run")

// errNoWorkerYet hands back a fire whose group has no worker online: it waits for one.
var errNoWorkerYet = errors.New("the fire waits for a worker of its group")

// handler is what a worker runs for f: its flow or behaviour.
func handler(f contracts.Fire) string { return cmp.Or(f.Target.FlowID, f.Target.BizCode) }

// awaitWorker reports whether f, a fire of a worker group, may run now; while no worker
// of its group is online it is handed back (waiting), until its wait is over: then it is
// journaled skipped and settled (done).
func (r *Runner) awaitWorker(ctx, work context.Context, msg jetstream.Msg, f contracts.Fire, log zerolog.Logger) (done bool, err error) {
	if r.Workers == nil || len(r.Workers.Eligible(f.Tenant, f.WorkerGroup, handler(f))) > 0 {
		return false, nil
	}
	wait := time.Duration(f.MisfireGraceMs) * time.Millisecond
	if wait <= 0 {
		wait = r.WorkerWait
	}
	if late := time.Since(f.ScheduledAt); late < wait {
		return false, bus.Later(errNoWorkerYet, workerDelay(msg))
	}
	ev := r.newRun(f)
	ev.Detail = fmt.Sprintf("missed: no worker of group %q running %q came within %v of the fire's instant (the job's misfire_grace_time, else JOBCENTER_WORKER_WAIT)",
		f.WorkerGroup, handler(f), wait)
	log.Info().Str("group", f.WorkerGroup).Msg("no worker came for the fire; journaled skipped")
	return true, r.runHeld(ctx, work, msg, f, ev, nil, true, func() {}, nil, log)
}

// workerDelay is how long a fire waiting for a worker waits before it looks again: a
// second at first, up to fifteen.
func workerDelay(msg jetstream.Msg) time.Duration {
	n := uint64(1)
	if md, err := msg.Metadata(); err == nil {
		n = max(md.NumDelivered, 1)
	}
	return min(time.Second<<min(n-1, 4), 15*time.Second)
}

// dispatch runs an attempt of f on its group's workers, by its route: the worker the
// route picks, or the next when one does not take it; every worker, each its shard, when
// the route is sharding.
func (r *Runner) dispatch(ctx context.Context, f contracts.Fire, runID string, attempt int, timeout time.Duration, onLog func(string)) (detail, result string, err error) {
	if r.Workers == nil {
		return "", "", errors.New("this executor follows no workers")
	}
	route := job.Route(cmp.Or(f.Route, string(job.RouteRoundRobin)))
	ws := workers.Order(route, r.Workers.Eligible(f.Tenant, f.WorkerGroup, handler(f)), f.JobID, f.Seq)
	if len(ws) == 0 {
		return "", "", fmt.Errorf("%w: no worker of group %q running %q is online", errNoWorker, f.WorkerGroup, handler(f))
	}
	if route == job.RouteSharding {
		return r.shards(ctx, f, ws, runID, attempt, timeout, onLog)
	}
	// When none takes it (full, or not answering: back from a broker's restart, workers
	// reconnect a moment after the executors), the run waits for one, for as long as a
	// worker not heard of stays listed: it is gone after that.
	deadline := time.Now().Add(contracts.WorkerGoneAfter)
	for {
		detail, result, taken, err := r.dispatchTo(ctx, f, ws, runID, attempt, timeout, onLog)
		if taken || time.Now().After(deadline) {
			return detail, result, err
		}
		for ws = nil; len(ws) == 0; ws = workers.Order(route, r.Workers.Eligible(f.Tenant, f.WorkerGroup, handler(f)), f.JobID, f.Seq) {
			if !clock.Sleep(ctx, 250*time.Millisecond) {
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return "", "", errTimedOut // its time ran out while it waited
				}
				return detail, result, err
			}
			if time.Now().After(deadline) {
				return detail, result, err
			}
		}
	}
}

// dispatchTo hands an attempt of f to the first of ws that takes it; taken is false when
// none did.
func (r *Runner) dispatchTo(ctx context.Context, f contracts.Fire, ws []workers.Worker, runID string, attempt int, timeout time.Duration, onLog func(string)) (detail, result string, taken bool, err error) {
	for _, w := range ws {
		// What the worker logged is kept here too: a worker that dies, or a run cut short,
		// sends no output of its own, and its journal entry shows what came before.
		var (
			mu     sync.Mutex // lines come on the progress subscription's goroutine
			logged strings.Builder
		)
		res, err := r.task(ctx, f, w, runID, attempt, timeout, nil, func(line string) {
			mu.Lock()
			if logged.Len() < maxLoggedByWorker {
				logged.WriteString(line + "\n")
			}
			mu.Unlock()
			onLog(line)
		})
		if errors.Is(err, errNotTaken) {
			continue
		}
		if err != nil {
			mu.Lock()
			defer mu.Unlock()
			return strings.TrimSpace(fmt.Sprintf("worker %s%s\n%s", w.ID, onHost(w), logged.String())), "", true, err
		}
		detail = fmt.Sprintf("worker %s%s\n%s", w.ID, onHost(w), res.Output)
		if !res.OK || res.Error != "" {
			return strings.TrimSpace(detail), res.Result, true, errors.New(cmp.Or(res.Error, "the worker reported failure"))
		}
		return strings.TrimSpace(detail), res.Result, true, nil
	}
	return "", "", false, fmt.Errorf("%w: none of the %d workers of group %q running %q took it", errNoWorker, len(ws), f.WorkerGroup, handler(f))
}

// maxLoggedByWorker bounds the lines of a run kept for its journal entry when the worker
// sends no output of its own: the journal keeps 16 KiB of a run's log.
const maxLoggedByWorker = 16 << 10

func onHost(w workers.Worker) string {
	if w.Host == "" {
		return ""
	}
	return " on " + w.Host
}

// shards runs f on every worker, each its shard: the run succeeds when every shard does.
// Its journal entry is one, with each shard's outcome; its result, theirs in order.
func (r *Runner) shards(ctx context.Context, f contracts.Fire, ws []workers.Worker, runID string, attempt int, timeout time.Duration, onLog func(string)) (string, string, error) {
	type outcome struct {
		res contracts.WorkerResult
		err error
	}
	out := make([]outcome, len(ws))
	var wg sync.WaitGroup
	var logMu sync.Mutex
	for i, w := range ws {
		wg.Go(func() {
			log := func(line string) {
				logMu.Lock()
				defer logMu.Unlock()
				onLog(fmt.Sprintf("[shard %d] %s", i, line))
			}
			shard := &contracts.Shard{Index: i, Total: len(ws)}
			res, err := r.task(ctx, f, w, runID, attempt, timeout, shard, log)
			// Its worker full, or not answering yet (back from a broker's restart): it is
			// waited for while it stays listed, as a run of one worker is.
			for deadline := time.Now().Add(contracts.WorkerGoneAfter); errors.Is(err, errNotTaken) && time.Now().Before(deadline) &&
				clock.Sleep(ctx, 250*time.Millisecond); {
				res, err = r.task(ctx, f, w, runID, attempt, timeout, shard, log)
			}
			out[i] = outcome{res, err}
		})
	}
	wg.Wait()
	var detail strings.Builder
	results := make([]json.RawMessage, len(ws))
	failed := 0
	for i, o := range out {
		status := "success"
		switch {
		case o.err != nil:
			status, failed = "failure: "+o.err.Error(), failed+1
		case !o.res.OK || o.res.Error != "":
			status, failed = "failure: "+cmp.Or(o.res.Error, "the worker reported failure"), failed+1
		}
		fmt.Fprintf(&detail, "shard %d/%d on worker %s%s: %s\n", i, len(ws), ws[i].ID, onHost(ws[i]), status)
		if o.res.Output != "" {
			detail.WriteString(strings.TrimRight(o.res.Output, "\n") + "\n")
		}
		results[i] = json.RawMessage("null")
		if json.Valid([]byte(o.res.Result)) {
			results[i] = json.RawMessage(o.res.Result)
		}
	}
	res, _ := json.Marshal(results)
	if failed > 0 {
		return strings.TrimSpace(detail.String()), string(res), fmt.Errorf("%d of %d shards failed", failed, len(ws))
	}
	return strings.TrimSpace(detail.String()), string(res), nil
}

// errWorkerGone ends the wait for a worker that stopped sending heartbeats.
type errWorkerGone struct{ w workers.Worker }

func (e errWorkerGone) Error() string {
	return fmt.Sprintf("interrupted: the worker %s%s stopped (no heartbeat for %v) before the run ended", e.w.ID, onHost(e.w), contracts.WorkerGoneAfter)
}

// task hands one attempt (one shard) to worker w and waits for its end: the reply, the
// worker's last heartbeat (gone: interrupted), the time limit or a kill (the worker is
// told to stop). Its log lines and progress come on the task's progress subject.
func (r *Runner) task(ctx context.Context, f contracts.Fire, w workers.Worker, runID string, attempt int, timeout time.Duration, shard *contracts.Shard, onLog func(string)) (contracts.WorkerResult, error) {
	progressID := runID
	if shard != nil {
		progressID = fmt.Sprintf("%s-%d", runID, shard.Index)
	}
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl)) // what is left of it, after a wait for a worker
	}
	t := contracts.WorkerTask{V: contracts.Version, Tenant: f.Tenant, JobID: f.JobID, FireID: f.FireID, RunID: runID, Attempt: attempt,
		Handler: handler(f), ScheduledAt: f.ScheduledAt, Params: f.Params, TimeoutMs: max(timeout.Milliseconds(), 1), Shard: shard,
		Progress: contracts.WorkerProgressSubject(f.Tenant, progressID)}
	sub, err := r.NC.Subscribe(t.Progress, func(m *nats.Msg) {
		var p contracts.WorkerProgress
		if json.Unmarshal(m.Data, &p) != nil {
			return
		}
		for _, line := range p.Lines {
			onLog(line)
		}
		if p.Progress != nil {
			onLog(fmt.Sprintf("progress %.0f%%", 100*min(max(*p.Progress, 0), 1)))
		}
	})
	if err != nil {
		return contracts.WorkerResult{}, fmt.Errorf("follow the worker's progress: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		tick := time.NewTicker(contracts.WorkerBeatEvery / 2)
		defer tick.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-tick.C:
				if !r.Workers.Alive(f.Tenant, w.ID) {
					cancel(errWorkerGone{w})
					return
				}
			}
		}
	}()
	data, _ := json.Marshal(t)
	defer r.Workers.Dispatched(f.Tenant, w.ID)()
	msg, err := r.NC.RequestWithContext(wctx, contracts.WorkerTaskSubject(f.Tenant, w.ID), data)
	if err != nil {
		var gone errWorkerGone
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			return contracts.WorkerResult{}, errNotTaken
		case errors.As(context.Cause(wctx), &gone):
			return contracts.WorkerResult{}, gone
		}
		// Its time is up, or it was killed: the worker is told to stop.
		why := "its time limit"
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = "it was killed"
		}
		stopMsg, _ := json.Marshal(contracts.WorkerCancel{V: contracts.Version, FireID: f.FireID, RunID: runID, Reason: why})
		_ = r.NC.Publish(contracts.WorkerCancelSubject(f.Tenant, w.ID), stopMsg)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return contracts.WorkerResult{}, errTimedOut
		}
		return contracts.WorkerResult{}, err
	}
	var res contracts.WorkerResult
	if err := json.Unmarshal(msg.Data, &res); err != nil {
		return contracts.WorkerResult{}, fmt.Errorf("the worker %s answered what is not a result: %w", w.ID, err)
	}
	if res.Busy {
		return contracts.WorkerResult{}, errNotTaken
	}
	return res, nil
}
