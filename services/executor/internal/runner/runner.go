// Package runner executes fires: it claims each fire once (the "running" report's message
// id is derived from the fire id, so a redelivered fire is recognised), runs its target —
// code in the Starlark sandbox, or a business flow or behaviour by NATS request/reply or
// HTTP — within the execution timeout, and reports the result on the run subject. It
// must not run a fire it did not claim, nor report one run's end twice (the end report's
// message id is derived too).
package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/jobcode"
	"github.com/jobcenter/jobcenter/shared/kills"
	"github.com/jobcenter/jobcenter/shared/wire"
	"github.com/jobcenter/jobcenter/shared/workers"
)

// MaxDetail bounds the journal's exedes text.
const MaxDetail = 16 << 10

// SDKFactory gives the sdk_* calls of a run, bound to the run's project.
type SDKFactory func(tenant string) jobcode.SDK

// Metrics counts runs.
type Metrics interface {
	// Running: a run begins; over is called when it is over, whatever became of it.
	Running() (over func())
	// Ran: a run of target ("code", "flow" or "biz") ended with status (success,
	// failure or skipped) and its end is stored, took after it began.
	Ran(target, status string, took time.Duration)
	// Interrupted: a run cut off by its executor's end was journaled as failed.
	Interrupted()
}

// Runner executes fires.
type Runner struct {
	JS  jetstream.JetStream
	NC  *nats.Conn
	SDK SDKFactory
	// Claims records, per fire, that a run longer than a keepalive goes on ("running"),
	// and for the fires of a catch-up chain also that it began and ended ("done").
	Claims jetstream.KeyValue
	// Slots holds one key per run going on, per job, up to its max_instances.
	Slots jetstream.KeyValue
	// Runs is JOBCENTER_RUNS, where a redelivered fire looks for the reports of its run.
	Runs jetstream.Stream
	// DuplicateWindow is the runs stream's: a running report stored twice within it is
	// stored once.
	DuplicateWindow time.Duration
	// Timeout applies when a fire carries none.
	Timeout time.Duration
	// MaxSteps bounds the Starlark steps of each attempt of a code run (0: jobcode's).
	MaxSteps uint64
	// KeepAlive is how often a run under way tells the broker it is still being worked
	// on and refreshes its claim, so that its fire is redelivered only when its executor
	// is gone.
	KeepAlive time.Duration
	// StaleAfter is how long after its last refresh a claim marked running counts as
	// the claim of a dead run.
	StaleAfter time.Duration
	// ClaimsKept is how long a claim marked done is kept (0: as long as the bucket keeps
	// anything); a catch-up fire stored longer ago than that (when not 0) stops waiting
	// for a predecessor whose claim is not there.
	ClaimsKept time.Duration
	// Workers, when not nil, are the tenants' workers online: what a fire of a worker
	// group is handed to. WorkerWait is how long such a fire waits for one, past its
	// instant, when its job has no misfire grace.
	Workers    *workers.Registry
	WorkerWait time.Duration
	// Web makes HTTP jobs' calls: within the reach the operator allows
	// (JOBCENTER_HTTP_JOBS_REACH), following no redirect.
	Web *http.Client
	// FlowURL and BizURL, when set, are HTTP templates ({flow_id}; {bizcode}, {tecode})
	// used instead of NATS request/reply.
	FlowURL, BizURL string
	HTTP            *http.Client
	// Kills, when not nil, are the runs killed that this executor knows of: a fire killed
	// before its run began is not run.
	Kills *kills.Set
	// Cancel, when not nil, kills a run as a tenant's kill does, without waiting: what a
	// fire of a job whose overlap policy is cancel_other asks of the run under way.
	Cancel func(ctx context.Context, k contracts.Kill) error
	// Metrics, when not nil, counts the runs.
	Metrics Metrics
	Log     zerolog.Logger

	// live are the runs going on, by fire: what a kill ends; killed, those killed that
	// ended lately, whose kills' requests are still answered.
	liveMu sync.Mutex
	live   map[string]*liveRun
	killed map[string]keptKill

	// underWay is when each attempt going on must end, by fire: what a shutdown waits for.
	underWayMu sync.Mutex
	underWay   map[string]time.Time
}

// UnderWay reports how many attempts are going on and the latest instant one of them
// may end by its time limit: how long, at most, a shutdown waits for them.
func (r *Runner) UnderWay() (n int, until time.Time) {
	r.underWayMu.Lock()
	defer r.underWayMu.Unlock()
	for _, t := range r.underWay {
		if t.After(until) {
			until = t
		}
	}
	return len(r.underWay), until
}

// began records an attempt that must end by until, and returns what records its end.
func (r *Runner) began(fireID string, until time.Time) (ended func()) {
	r.underWayMu.Lock()
	defer r.underWayMu.Unlock()
	if r.underWay == nil {
		r.underWay = map[string]time.Time{}
	}
	r.underWay[fireID] = until
	return func() {
		r.underWayMu.Lock()
		defer r.underWayMu.Unlock()
		delete(r.underWay, fireID)
	}
}

// ErrRunElsewhere hands back a copy of a fire whose run goes on in another executor (or
// whose state cannot be told yet): it comes again later.
var ErrRunElsewhere = errors.New("the fire's run goes on in another executor")

// Why a catch-up fire is handed back.
var (
	errBeforeNotEnded = errors.New("the catch-up's fire before this one has not ended its run")
	errNoSlot         = errors.New("a catch-up fire waits for a run slot of its job")
)

// Claim values.
const (
	claimRunning = "running"
	claimDone    = "done"
)

// Handle runs one fire message. ctx ends at shutdown: a run under way still finishes
// (within its timeout), but no retry starts after it.
//
// A fire is run at most once. Its "running" report, stored with the message id
// job.RunningReportID before the run begins, is its claim: of two copies that start at
// once, the one whose report is a duplicate steps back. A copy that may come after a run
// began (delivered before, or stored longer ago than a redelivery takes) first looks for
// that run in JOBCENTER_RUNS: the reports of its fire stored after it, and the claim a run
// longer than a keepalive refreshes in jobcenter_claims. The fires of a catch-up that runs
// each fire are claimed in jobcenter_claims instead (handleChained), so that each can wait
// for the one before it.
func (r *Runner) Handle(ctx context.Context, msg jetstream.Msg) error {
	f, err := wire.DecodeFire(msg.Data())
	if err != nil {
		return bus.Poison(err)
	}
	if f.TriggerStatus == contracts.TriggerMissed {
		return nil // journaled as missed from the fire itself; nothing runs
	}
	log := r.Log.With().Str("tenant", f.Tenant).Str("job_id", f.JobID).Str("fire_id", f.FireID).Logger()
	work := context.WithoutCancel(ctx)
	if f.CatchUp || f.AfterFireID != "" {
		return r.handleChained(ctx, work, msg, f, log)
	}
	key := contracts.Token(f.FireID)
	if r.mayHaveRun(msg) {
		st, began, holder, err := r.prior(work, msg, f, key)
		if err != nil {
			return fmt.Errorf("look for the fire's run: %w", err)
		}
		switch st {
		case priorEnded:
			log.Debug().Msg("fire redelivered after its run ended; not run again")
			return nil
		case priorAlive:
			return bus.Later(ErrRunElsewhere, time.Second)
		case priorDead:
			return r.interrupt(work, f, began, holder, log)
		}
	}
	if f.WorkerGroup != "" {
		// A fire waits for a worker of its group before it is claimed: none is online.
		if done, err := r.awaitWorker(ctx, work, msg, f, log); done || err != nil {
			return err
		}
	}
	ev := r.newRun(f)
	overlap := job.Overlap(f.Overlap)
	if overlap == job.OverlapBufferOne {
		// Another fire waits for the run under way: it goes first. While a run goes on
		// this one is the further fire, skipped; between that run's end and the waiting
		// fire's turn, it comes again.
		other, err := r.waitsFirst(work, f)
		if err != nil {
			return err
		}
		if other {
			if _, busy, err := r.runUnderWay(work, f); err != nil || !busy {
				if err != nil {
					return err
				}
				return bus.Later(errBuffered, turnDelay(msg))
			}
			ev.Detail = skippedBuffered
			return r.runHeld(ctx, work, msg, f, ev, nil, true, func() {}, nil, log)
		}
	}
	slot, holder, busy, err := r.begin(work, f, &ev)
	if err != nil {
		return err
	}
	switch {
	case busy && overlap == job.OverlapBufferOne:
		waiting, err := r.buffer(work, f)
		if err != nil {
			return err
		}
		if waiting {
			return bus.Later(errBuffered, turnDelay(msg))
		}
		ev.Detail = skippedBuffered
	case busy && overlap == job.OverlapCancelOther:
		waiting, err := r.cancelOther(work, f, holder)
		if err != nil {
			return err
		}
		if waiting {
			return bus.Later(errCancelling, turnDelay(msg))
		}
		ev.Detail = skippedSuperseded
	case !busy && overlap == job.OverlapBufferOne:
		r.unbuffer(work, f, log)
	case !busy && overlap == job.OverlapCancelOther:
		_ = r.Claims.Delete(work, cancelsKey(f.FireID)) // lapses with the bucket's age if not
	}
	claim := []byte(claimRunning + " " + ev.DynamicID)
	return r.runHeld(ctx, work, msg, f, ev, slot, busy, func() { r.touchLive(work, key, claim, log) }, nil, log)
}

// handleChained runs a fire of a catch-up chain, claimed in jobcenter_claims: it waits
// for the run of the fire before it to end, and for a slot rather than being skipped.
func (r *Runner) handleChained(ctx, work context.Context, msg jetstream.Msg, f contracts.Fire, log zerolog.Logger) error {
	if f.AfterFireID != "" {
		if err := r.awaitTurn(work, msg, f); err != nil {
			return err
		}
	}
	key := contracts.Token(f.FireID)
	if f.WorkerGroup != "" {
		if done, err := r.awaitWorker(ctx, work, msg, f, log); done || err != nil {
			if done && err == nil {
				// Settled, skipped: the fire after it in the chain takes its turn.
				r.settleClaim(work, key, log)
			}
			return err
		}
	}
	ev := r.newRun(f)
	// The claim names the run, and so the slot it holds (a slot's value is its run's
	// id): whoever settles this fire if this executor dies frees that slot at once.
	// Rewritten with each keepalive, it also shows the run alive.
	claim := []byte(claimRunning + " " + ev.DynamicID)
	if _, err := r.Claims.Create(work, key, claim); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("claim fire: %w", err)
		}
		return r.claimed(work, f, key, log)
	}
	if r.mayHaveRun(msg) {
		// The claim may be new because an older one is gone (the bucket's age passed):
		// the stream still tells whether a run of this fire ended.
		if st, _, _, err := r.prior(work, msg, f, ""); err != nil {
			_ = r.Claims.Delete(work, key)
			return fmt.Errorf("look for the fire's run: %w", err)
		} else if st == priorEnded {
			// Done, not deleted: the fire after it in the chain waits for this mark.
			r.settleClaim(work, key, log)
			return nil
		}
	}
	slot, _, busy, err := r.begin(work, f, &ev)
	if busy {
		// A catch-up runs each of its fires: this one waits for its turn instead of being
		// skipped (the run before it may not have ended in every executor's eyes yet).
		err = bus.Later(errNoSlot, turnDelay(msg))
	}
	if err != nil {
		// Give the claim back, so that the redelivery runs the fire.
		_ = r.Claims.Delete(work, key)
		return err
	}
	touch := func() {
		if _, err := r.Claims.Put(work, key, claim); err != nil {
			log.Warn().Err(err).Msg("claim not refreshed")
		}
	}
	return r.runHeld(ctx, work, msg, f, ev, slot, false, touch, func() { r.settleClaim(work, key, log) }, log)
}

// settleClaim marks a chained fire's claim done once the fire is settled (run, or
// skipped): the next fire of its chain waits for that mark.
func (r *Runner) settleClaim(ctx context.Context, key string, log zerolog.Logger) {
	if err := r.markDone(ctx, key); err != nil {
		log.Warn().Err(err).Msg("claim not marked done; a redelivered copy will find the run's end already reported")
	}
}

// newRun is the report of a run of f about to begin.
func (r *Runner) newRun(f contracts.Fire) contracts.RunEvent {
	return contracts.RunEvent{
		V: contracts.Version, FireID: f.FireID, JournalID: f.JournalID, Tenant: f.Tenant, JobID: f.JobID,
		Status: contracts.RunRunning, DynamicID: newID(), StartedAt: time.Now().UTC(),
	}
}

// runHeld runs a fire that is this executor's to run, holding slot, or reports it
// skipped when busy (every slot of its job taken); touch is called with each keepalive,
// and ended (when not nil) once its end is stored, beside the slot's release.
func (r *Runner) runHeld(ctx, work context.Context, msg jetstream.Msg, f contracts.Fire, ev contracts.RunEvent,
	slot *slotLease, busy bool, touch, ended func(), log zerolog.Logger) error {
	release := sync.OnceFunc(func() { slot.release(log) })
	defer release()
	if r.Metrics != nil {
		defer r.Metrics.Running()()
	}
	stop := keepWorking(msg, r.KeepAlive, func() {
		touch()
		slot.renew(work, log)
	})
	defer stop()
	var lr *liveRun
	if busy {
		ev.Status = contracts.RunSkipped
		if ev.Detail == "" {
			ev.Detail = fmt.Sprintf("skipped: %d run(s) of this job still going (max_instances %d)", f.MaxInstances, f.MaxInstances)
		}
	} else {
		// The run is tracked once its claim is held: a kill that came before (it is in
		// Kills) ends it now, without running it; one that comes later finds it.
		kctx, tracked, untrack := r.track(work, f)
		defer untrack()
		lr = tracked
		if kctx.Err() != nil {
			ev.Status, ev.Detail = contracts.RunFailure, "before it began: it was not run"
		} else {
			r.execute(ctx, kctx, f, &ev, log)
		}
		// A run whose work ended well before its kill took hold is not killed.
		if k := lr.stopped(); k != nil && ev.Status == contracts.RunFailure {
			ev.Status, ev.Killed, ev.Result = contracts.RunFailure, k, ""
			ev.Detail = killedDetail(*k, ev.Detail)
		}
	}
	end := time.Now().UTC()
	ev.EndedAt, ev.Then = &end, f.Then
	if err := r.reportFinal(ctx, work, ev); errors.Is(err, errClaimedElsewhere) {
		return bus.Later(ErrRunElsewhere, time.Second)
	} else if err != nil {
		return err
	}
	if lr != nil {
		lr.end(ev)
	}
	stop() // no keepalive may mark the claim running again once it is done
	if ended != nil {
		// The slot is freed and the claim marked done together: neither needs the other.
		freed := make(chan struct{})
		go func() { defer close(freed); release() }()
		ended()
		<-freed
	} else {
		release()
	}
	if r.Metrics != nil {
		r.Metrics.Ran(targetKind(f), ev.Status, end.Sub(ev.StartedAt))
	}
	// A failure is an operator's business (info); a success is the common case (debug).
	line := log.Debug()
	if ev.Status == contracts.RunFailure {
		line = log.Info().Str("detail", firstLine(ev.Detail))
	}
	line.Str("status", ev.Status).Int("attempts", ev.Attempts).Dur("took", end.Sub(ev.StartedAt)).Msg("run finished")
	return nil
}

// begin makes ev's run the fire's run, within the job's max_instances: it stores the
// run's first running report (the claim) and, for a job that allows more than one run at
// once, takes one of its slots; a job whose overlap policy is allow_all takes none.
// busy: every run the job allows is going on (holder, when it allows one, is that run's
// fire), and nothing is stored. An error leaves nothing held.
func (r *Runner) begin(ctx context.Context, f contracts.Fire, ev *contracts.RunEvent) (slot *slotLease, holder string, busy bool, err error) {
	ev.Attempts = 1
	defer func() {
		if busy || err != nil {
			ev.Attempts = 0 // no attempt was made
		}
	}()
	allowAll := job.Overlap(f.Overlap) == job.OverlapAllowAll
	if f.MaxInstances <= 1 && !allowAll {
		holder, busy, err = r.alone(ctx, f, *ev)
		return nil, holder, busy, err
	}
	if !allowAll {
		if slot, busy, err = r.takeSlot(ctx, f, ev.DynamicID); err != nil || busy {
			return nil, "", busy, err
		}
	}
	ack, err := r.report(ctx, *ev, job.RunningReportID(f.FireID, 1))
	switch {
	case err == nil && ack.Duplicate:
		err = bus.Later(ErrRunElsewhere, time.Second)
	case err != nil && r.stored(ctx, contracts.RunSubject(f.Tenant, f.JobID, contracts.RunRunning), ev.DynamicID):
		err = nil // stored, though its answer was lost
	}
	if err != nil {
		slot.release(r.Log)
		return nil, "", false, err
	}
	return slot, "", false, nil
}

// alone stores the first running report of a job that runs one run at a time, if no
// other run of it goes on: the job's last running report (its subject's last message)
// must belong to a run that has ended, and the report is stored only if that is still
// the last one (a compare-and-set on the subject), so no slot is written per run. A run
// whose executor died holds the job until its fire's redelivery journals it interrupted.
// holder is the fire of the run that holds the job, when busy.
func (r *Runner) alone(ctx context.Context, f contracts.Fire, ev contracts.RunEvent) (holder string, busy bool, err error) {
	subject := contracts.RunSubject(f.Tenant, f.JobID, contracts.RunRunning)
	for range 8 {
		var expect uint64
		last, err := r.Runs.GetLastMsgForSubject(ctx, subject)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
		case err != nil:
			return "", false, fmt.Errorf("read the job's last run: %w", err)
		default:
			expect = last.Sequence
			if rep, derr := wire.DecodeRunEvent(last.Data); derr == nil {
				if rep.FireID == f.FireID {
					return "", false, bus.Later(ErrRunElsewhere, time.Second) // a copy of this fire runs
				}
				gone, err := r.over(ctx, f, rep, last)
				if err != nil {
					return "", false, err
				}
				if !gone {
					return rep.FireID, true, nil
				}
			}
		}
		ack, err := r.report(ctx, ev, job.RunningReportID(f.FireID, 1), jetstream.WithExpectLastSequencePerSubject(expect))
		switch {
		case err == nil && ack.Duplicate:
			return "", false, bus.Later(ErrRunElsewhere, time.Second)
		case err == nil:
			return "", false, nil
		case wrongRevision(err):
			continue // another run of the job began meanwhile: look again
		case r.stored(ctx, subject, ev.DynamicID):
			return "", false, nil // stored, though its answer was lost
		}
		return "", false, err
	}
	return "", true, nil
}

// over reports whether the run whose running report rep is the job's last (at last) no
// longer holds its job: its end is stored after it, or it has not been heard of for
// StaleAfter (no report since, and no claim rewritten by a keepalive). A silent run's
// executor died, or was cut off from the broker for longer than a redelivery takes and
// will find its run journaled interrupted; a later attempt of a run already journaled
// interrupted ends with no end stored after it, so waiting for one would hold the job
// for ever.
func (r *Runner) over(ctx context.Context, f contracts.Fire, rep contracts.RunEvent, last *jetstream.RawStreamMsg) (bool, error) {
	ended, err := r.ended(ctx, f, rep.FireID, last.Sequence)
	if err != nil || ended {
		return ended, err
	}
	heard := last.Time
	e, err := r.Claims.Get(ctx, contracts.Token(rep.FireID))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return false, fmt.Errorf("read the job's last run's claim: %w", err)
	case string(e.Value()) == claimDone:
		return true, nil
	case e.Created().After(heard):
		heard = e.Created()
	}
	return time.Since(heard) >= r.StaleAfter, nil
}

// stored reports whether the job's last running report is run holder's: a publish
// whose answer was lost (a timeout) may have been stored all the same.
func (r *Runner) stored(ctx context.Context, subject, holder string) bool {
	last, err := r.Runs.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		return false
	}
	rep, err := wire.DecodeRunEvent(last.Data)
	return err == nil && rep.DynamicID == holder
}

// ended reports whether the run of fireID, whose running report is at sequence from,
// has reported its end: a success or failure stored after it (a run that reports
// running is never skipped).
func (r *Runner) ended(ctx context.Context, f contracts.Fire, fireID string, from uint64) (bool, error) {
	for _, status := range []string{contracts.RunSuccess, contracts.RunFailure} {
		subject := contracts.RunSubject(f.Tenant, f.JobID, status)
		for seq := from + 1; ; {
			m, err := r.Runs.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				break
			}
			if err != nil {
				return false, fmt.Errorf("read the job's last run's end: %w", err)
			}
			if rep, err := wire.DecodeRunEvent(m.Data); err == nil && rep.FireID == fireID {
				return true, nil
			}
			seq = m.Sequence + 1
		}
	}
	return false, nil
}

// mayHaveRun reports whether a run of msg's fire may have begun before where its running
// report cannot tell: the fire was delivered before, or was stored so long ago that a
// copy of it handed to another executor (while this one sat in a buffer) may have
// reported its run before the runs stream's duplicate window. Any later copy's report
// is a duplicate of the first, so it steps back without reading the stream.
func (r *Runner) mayHaveRun(msg jetstream.Msg) bool {
	md, err := msg.Metadata()
	return err != nil || md.NumDelivered > 1 || time.Since(md.Timestamp) > r.lateAfter()
}

// lateAfter is how long after it was stored a fire's first copy reads the stream for a
// run of it: the duplicate window less a redelivery (2·StaleAfter), or StaleAfter when
// the window is not known or too short.
func (r *Runner) lateAfter() time.Duration {
	return max(r.DuplicateWindow-2*r.StaleAfter, r.StaleAfter)
}

// What became of a fire's earlier run.
type priorRun int

const (
	priorNone  priorRun = iota // none began
	priorEnded                 // its end is reported
	priorAlive                 // it began, and was heard of within StaleAfter
	priorDead                  // it began, and was not heard of since: its executor is gone
)

// prior finds what became of an earlier run of f: the reports of f stored in
// JOBCENTER_RUNS after f (the fire's job's run subjects, from the fire's sequence on), and
// the claim a run longer than a keepalive refreshes. It returns when the run was last
// heard of and the run's id, which names the slot it holds.
func (r *Runner) prior(ctx context.Context, msg jetstream.Msg, f contracts.Fire, key string) (st priorRun, heard time.Time, holder string, err error) {
	md, err := msg.Metadata()
	if err != nil {
		return priorNone, heard, "", err
	}
	subject := contracts.RunSubject(f.Tenant, f.JobID, "*")
	for seq := md.Sequence.Stream + 1; ; {
		m, err := r.Runs.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return priorNone, heard, "", err
		}
		seq = m.Sequence + 1
		rep, err := wire.DecodeRunEvent(m.Data)
		if err != nil || rep.FireID != f.FireID {
			continue
		}
		if rep.EndedAt != nil {
			return priorEnded, heard, "", nil
		}
		if m.Time.After(heard) {
			heard, holder = m.Time, rep.DynamicID
		}
	}
	if heard.IsZero() {
		// No run began: a run's claim is written only after its running report.
		return priorNone, heard, "", nil
	}
	var e jetstream.KeyValueEntry
	if key != "" {
		e, err = r.Claims.Get(ctx, key)
	} else {
		err = jetstream.ErrKeyNotFound
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return priorNone, heard, "", err
	case e.Created().After(heard):
		heard = e.Created()
		if v := strings.Fields(string(e.Value())); len(v) == 2 && holder == "" {
			holder = v[1]
		}
	}
	if time.Since(heard) < r.StaleAfter {
		return priorAlive, heard, holder, nil
	}
	return priorDead, heard, holder, nil
}

// touchLive shows a run longer than a keepalive alive: its claim, rewritten with each
// keepalive, lives a few keepalives unless rewritten again, so it goes by itself once
// the run has ended (the end report then answers for the run).
func (r *Runner) touchLive(ctx context.Context, key string, claim []byte, log zerolog.Logger) {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ttl := max(4*r.StaleAfter, 4*r.KeepAlive, 2*time.Second)
	if _, err := r.JS.Publish(pctx, "$KV."+r.Claims.Bucket()+"."+key, claim, jetstream.WithMsgTTL(ttl)); err != nil {
		log.Warn().Err(err).Msg("claim not refreshed")
	}
}

// interrupt settles a fire whose run began and was cut off with its executor: it is not
// run again, but journaled as failed with that reason, and the slot it held is freed.
func (r *Runner) interrupt(ctx context.Context, f contracts.Fire, began time.Time, holder string, log zerolog.Logger) error {
	if holder != "" {
		r.freeSlots(ctx, f, holder)
	}
	end := time.Now().UTC()
	if began.IsZero() {
		began = end
	}
	ev := contracts.RunEvent{
		V: contracts.Version, FireID: f.FireID, JournalID: f.JournalID, Tenant: f.Tenant, JobID: f.JobID,
		Status: contracts.RunFailure, DynamicID: newID(), Attempts: 1, StartedAt: began.UTC(), EndedAt: &end,
		Detail: "interrupted: the executor running this fire stopped before the run finished; it is not run again",
		Then:   f.Then,
	}
	// If the cut-off run did report its end, that report has this message id and wins.
	ack, err := r.report(ctx, ev, job.EndReportID(f.FireID))
	if err != nil {
		return err
	}
	if ack.Duplicate {
		return nil
	}
	if r.Metrics != nil {
		r.Metrics.Interrupted()
	}
	log.Warn().Msg("run was interrupted by its executor's end; journaled as failed")
	return nil
}

// targetKind names what a fire runs, for metrics.
func targetKind(f contracts.Fire) string {
	t := f.Target
	switch {
	case f.WorkerGroup != "":
		return "worker"
	case t.Code != "":
		return "code"
	case t.FlowID != "":
		return "flow"
	case t.BizCode != "":
		return "biz"
	case t.HTTP != nil:
		return "http"
	}
	return "none"
}

// errClaimedElsewhere: a skip found the fire claimed by a copy of it that runs it.
var errClaimedElsewhere = errors.New("the fire was claimed by a copy of it")

// reportFinal stores the run's end, trying for a while: given up, the redelivered fire
// would find the run's claim unfinished and journal it as interrupted.
//
// A skip is stored under the id of the fire's claim (its first running report), not of
// an end: it is the fire's one outcome, so a copy of the fire that an executor cut off
// took before the skip, and tries to claim after it, finds the claim taken and does not
// run; a copy that comes later than the duplicate window reads the stream first (prior)
// and finds the skip there.
func (r *Runner) reportFinal(ctx, work context.Context, ev contracts.RunEvent) error {
	wait := 250 * time.Millisecond
	deadline := time.Now().Add(2 * time.Minute)
	id := job.EndReportID(ev.FireID)
	if ev.Status == contracts.RunSkipped {
		id = job.RunningReportID(ev.FireID, 1)
	}
	for {
		ack, err := r.report(work, ev, id)
		if err == nil && ack.Duplicate && ev.Status == contracts.RunSkipped {
			// A copy of the fire claimed it first: it runs there, and this skip is not
			// stored. The fire is not settled here either: its redelivery finds what
			// became of that run (prior), should its executor die.
			return errClaimedElsewhere
		}
		if err == nil && ack.Duplicate {
			// Another executor found this run silent for longer than a redelivery takes
			// (this one was out of the broker's reach) and journaled it interrupted; the
			// job may have run again meanwhile.
			r.Log.Error().Str("tenant", ev.Tenant).Str("job_id", ev.JobID).Str("fire_id", ev.FireID).Str("status", ev.Status).
				Msg("run ended after it was journaled interrupted: its end is not journaled, and max_instances may have been exceeded")
		}
		if err == nil || time.Now().After(deadline) {
			return err
		}
		r.Log.Warn().Err(err).Str("tenant", ev.Tenant).Str("job_id", ev.JobID).Str("fire_id", ev.FireID).Msg("final report not stored; retrying")
		if !clock.Sleep(ctx, wait) {
			return err
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// execute runs the target, trying again after a doubling backoff while it fails and the
// job allows retries, and leaves the result in ev.
func (r *Runner) execute(ctx, work context.Context, f contracts.Fire, ev *contracts.RunEvent, log zerolog.Logger) {
	timeout := time.Duration(f.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = r.Timeout
	}
	backoff := time.Duration(f.RetryBackoffMs) * time.Millisecond
	// A retry's wait ends at shutdown (ctx) or when the run is killed (work).
	wait, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	defer context.AfterFunc(work, stopWaiting)()
	for attempt := 1; ; attempt++ {
		reported := attempt == 1 && ev.Attempts == 1 // stored before the run began: its claim
		ev.Attempts, ev.Status = attempt, contracts.RunRunning
		// Stored while the run goes on: the journal shows it running, but the run does not
		// wait for the broker to say so.
		running := func() error { return nil }
		if !reported {
			running = r.reportAsync(*ev, job.RunningReportID(f.FireID, attempt))
		}
		rctx, cancel := context.WithTimeout(work, timeout)
		lg := r.liveLog(f, attempt)
		detail, result, runErr := func() (string, string, error) {
			defer r.began(f.FireID, time.Now().Add(timeout))()
			defer lg.close()
			return r.run(rctx, f, ev.DynamicID, attempt, timeout, lg.add)
		}()
		ev.TimedOut = errors.Is(runErr, errTimedOut) || errors.Is(runErr, jobcode.ErrTimeout)
		if ev.TimedOut {
			runErr = timedOut(f, timeout)
		}
		cancel()
		if err := running(); err != nil {
			log.Warn().Err(err).Msg("running report not stored")
		}
		ev.Status, ev.Result, ev.Detail = contracts.RunSuccess, result, clip(detail, MaxDetail)
		if runErr == nil {
			return
		}
		ev.Status = contracts.RunFailure
		ev.Detail = clip(strings.TrimSpace(runErr.Error()+"\n"+detail), MaxDetail)
		if errors.Is(context.Cause(work), errKilled) {
			ev.Detail = clip(detail, MaxDetail) // runHeld says who killed it
			return
		}
		if attempt > f.Retries {
			return
		}
		pause := min(backoff<<(attempt-1), time.Hour)
		log.Info().Err(runErr).Int("attempt", attempt).Dur("backoff", pause).Msg("run failed; retrying")
		if !clock.Sleep(wait, pause) {
			if errors.Is(context.Cause(work), errKilled) {
				return
			}
			ev.Detail = clip("retries abandoned: the executor is shutting down\n"+ev.Detail, MaxDetail)
			return
		}
	}
}

// errTimedOut is a flow or behaviour that did not answer within the run's limit.
var errTimedOut = errors.New("timeout")

// timedOut says that a run reached its time limit, which limit, and where it is set.
func timedOut(f contracts.Fire, limit time.Duration) error {
	from := "the executor's JOBCENTER_EXEC_TIMEOUT"
	if f.TimeoutMs > 0 {
		from = "the job's timeout, or JOBCENTER_EXEC_TIMEOUT for a job without one"
	}
	return fmt.Errorf("timeout: stopped at its limit of %v (%s)", limit, from)
}

// claimed settles a chained fire that was claimed before: by a run that finished
// (nothing to do), or by one cut off when its executor died — it is not run again, but
// journaled as failed with that reason.
func (r *Runner) claimed(ctx context.Context, f contracts.Fire, key string, log zerolog.Logger) error {
	e, err := r.Claims.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read claim: %w", err)
	}
	if string(e.Value()) == claimDone {
		log.Debug().Msg("fire redelivered after its run finished; not run again")
		return nil
	}
	if time.Since(e.Created()) < r.StaleAfter {
		// The claim was refreshed lately: the run goes on elsewhere (this copy waited in a
		// buffer past its ack deadline). Hand the copy back: it comes again, and settles
		// once that run has ended, or its claim has gone stale with it.
		return bus.Later(ErrRunElsewhere, time.Second)
	}
	holder := ""
	if v := strings.Fields(string(e.Value())); len(v) == 2 {
		holder = v[1]
	}
	if err := r.interrupt(ctx, f, e.Created(), holder, log); err != nil {
		return err
	}
	if err := r.markDone(ctx, key); err != nil {
		return fmt.Errorf("mark claim done: %w", err)
	}
	return nil
}

// markDone marks a fire's claim done, to be kept ClaimsKept: long after its fire's last
// delivery, and then gone, so that claims do not pile up with the runs.
func (r *Runner) markDone(ctx context.Context, key string) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var opts []jetstream.PublishOpt
	if r.ClaimsKept > 0 {
		opts = append(opts, jetstream.WithMsgTTL(r.ClaimsKept))
	}
	// The bucket's own put, with the per-key TTL that KeyValue.Put cannot set.
	_, err := r.JS.Publish(pctx, "$KV."+r.Claims.Bucket()+"."+key, []byte(claimDone), opts...)
	return err
}

// awaitTurn hands a catch-up fire back until the run of the fire before it has ended,
// or never will here: its claim gone stale (its executor died; that fire is journaled as
// interrupted, not run again), or missing for a fire stored longer ago than claims are
// kept: its predecessor's claim may have come and gone while this one waited.
// A predecessor not yet claimed is waited for: it waits for its own turn.
func (r *Runner) awaitTurn(ctx context.Context, msg jetstream.Msg, f contracts.Fire) error {
	e, err := r.Claims.Get(ctx, contracts.Token(f.AfterFireID))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		md, merr := msg.Metadata()
		if merr == nil && r.ClaimsKept > 0 && time.Since(md.Timestamp) > r.ClaimsKept {
			return nil
		}
		// A trigger older than catch_up left the chain's first fire unclaimed: its
		// successor waits for it as long as ten redeliveries, then goes on.
		if merr == nil && !f.CatchUp && time.Since(md.Timestamp) > 20*r.StaleAfter {
			return nil
		}
	case err != nil:
		return fmt.Errorf("read the claim of the fire before: %w", err)
	case string(e.Value()) == claimDone, time.Since(e.Created()) >= r.StaleAfter:
		return nil
	}
	return bus.Later(errBeforeNotEnded, turnDelay(msg))
}

// turnDelay is how long a catch-up fire waits before asking again: briefly at first, as
// runs are often short, then up to a second.
func turnDelay(msg jetstream.Msg) time.Duration {
	n := uint64(1)
	if md, err := msg.Metadata(); err == nil {
		n = max(md.NumDelivered, 1)
	}
	return min(25*time.Millisecond<<min(n-1, 6), time.Second)
}

// freeSlots frees the slot of a dead run (holder), if it still holds one of the job's.
func (r *Runner) freeSlots(ctx context.Context, f contracts.Fire, holder string) {
	for i := 1; i <= max(f.MaxInstances, 1); i++ {
		k := slotKey(f, i)
		e, err := r.Slots.Get(ctx, k)
		if err != nil || slotHolder(e.Value()) != holder {
			continue
		}
		_ = r.Slots.Purge(ctx, k, jetstream.LastRevision(e.Revision()), jetstream.PurgeTTL(time.Second))
		return
	}
}

// A slot's value is the run holding it and that run's fire: "<run id> <fire id>".
func slotValue(holder string, f contracts.Fire) []byte { return []byte(holder + " " + f.FireID) }

// slotHolder is the run a slot's value names.
func slotHolder(v []byte) string {
	h, _, _ := strings.Cut(string(v), " ")
	return h
}

// slotKey names the job's i-th run slot.
func slotKey(f contracts.Fire, i int) string { return contracts.Token(f.JobID) + "." + strconv.Itoa(i) }

// takeSlot takes one of the job's max_instances run slots; busy is true when all are
// held. A slot is a lease on the broker's clock: it lives SlotTTL unless its run renews
// it (with each keepalive), so a dead executor's slot frees itself SlotTTL after its last
// renewal, whatever the executors' own clocks say.
func (r *Runner) takeSlot(ctx context.Context, f contracts.Fire, holder string) (s *slotLease, busy bool, err error) {
	for i := 1; i <= max(f.MaxInstances, 1); i++ {
		k := slotKey(f, i)
		for try := 0; ; try++ {
			value := slotValue(holder, f)
			rev, err := r.Slots.Create(ctx, k, value, jetstream.KeyTTL(r.slotTTL()))
			if err == nil {
				return &slotLease{r: r, key: k, value: value, rev: rev}, false, nil
			}
			// Taken; on a replicated bucket a lost race after a delete is "wrong last sequence".
			if !errors.Is(err, jetstream.ErrKeyExists) && !wrongRevision(err) {
				return nil, false, fmt.Errorf("take run slot: %w", err)
			}
			// Or free after all: the marker of its release expired while Create looked.
			if _, gerr := r.Slots.Get(ctx, k); try < 3 && (errors.Is(gerr, jetstream.ErrKeyNotFound) || errors.Is(gerr, jetstream.ErrKeyDeleted)) {
				continue
			}
			break
		}
	}
	// Every slot is taken: by runs of other fires, or by a copy of this very fire that
	// began meanwhile, which then is no reason to skip it.
	for i := 1; i <= max(f.MaxInstances, 1); i++ {
		if e, err := r.Slots.Get(ctx, slotKey(f, i)); err == nil && strings.HasSuffix(string(e.Value()), " "+f.FireID) {
			return nil, false, bus.Later(ErrRunElsewhere, time.Second)
		}
	}
	return nil, true, nil
}

// slotTTL: long enough to survive a missed renewal (renewals come every KeepAlive).
func (r *Runner) slotTTL() time.Duration { return max(r.StaleAfter, 2*r.KeepAlive, time.Second) }

// slotLease is a slot held by a run; nil when the run holds none (it was skipped).
type slotLease struct {
	r     *Runner
	key   string
	value []byte
	mu    sync.Mutex
	rev   uint64
	lost  bool
}

// held runs f with the lease locked, unless there is none or it lapsed.
func (s *slotLease) held(f func()) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lost {
		f()
	}
}

// renew extends the lease by SlotTTL, if it is still ours.
func (s *slotLease) renew(ctx context.Context, log zerolog.Logger) {
	s.held(func() {
		// The bucket's own put, with the per-key TTL that KeyValue.Update cannot set.
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ack, err := s.r.JS.Publish(pctx, "$KV."+s.r.Slots.Bucket()+"."+s.key, s.value,
			jetstream.WithExpectLastSequencePerSubject(s.rev), jetstream.WithMsgTTL(s.r.slotTTL()))
		switch {
		case err == nil:
			s.rev = ack.Sequence
		case wrongRevision(err):
			// Not renewed for SlotTTL (the broker was out of reach): it lapsed, and another
			// run of the job may have started. Said loudly: max_instances was not held.
			s.lost = true
			log.Error().Str("slot", s.key).Msg("run slot lapsed while the run went on: it was not renewed in time; max_instances may be exceeded")
		default:
			log.Warn().Err(err).Str("slot", s.key).Msg("run slot not renewed; it lapses unless a later renewal succeeds")
		}
	})
}

// release frees the slot, if it is still ours. A purge leaves a marker that lives a second,
// where a delete's would stay for ever, one per slot of every job ever run.
func (s *slotLease) release(log zerolog.Logger) {
	s.held(func() {
		err := s.r.Slots.Purge(context.Background(), s.key, jetstream.LastRevision(s.rev), jetstream.PurgeTTL(time.Second))
		if err != nil && !wrongRevision(err) {
			log.Warn().Err(err).Str("slot", s.key).Msg("slot not released; it lapses at its TTL")
		}
	})
}

// wrongRevision: a conditional write lost to another writer.
func wrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// keepWorking tells the broker the fire is in hand, and refreshes its claim, until stop.
func keepWorking(msg jetstream.Msg, every time.Duration, touch func()) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(max(every, 100*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
				touch()
			}
		}
	}()
	var once sync.Once
	// stop returns once no keepalive can run any more, not even one already under way.
	return func() { once.Do(func() { close(done); <-finished }) }
}

// reportAsync publishes a report without waiting; wait returns whether it was stored.
func (r *Runner) reportAsync(ev contracts.RunEvent, msgID string) (wait func() error) {
	data, _ := json.Marshal(ev)
	fut, err := r.JS.PublishAsync(contracts.RunSubject(ev.Tenant, ev.JobID, ev.Status), data, jetstream.WithMsgID(msgID))
	if err != nil {
		return func() error { return fmt.Errorf("report run %s: %w", ev.Status, err) }
	}
	return func() error {
		select {
		case <-fut.Ok():
			return nil
		case err := <-fut.Err():
			return fmt.Errorf("report run %s: %w", ev.Status, err)
		case <-time.After(5 * time.Second):
			return fmt.Errorf("report run %s: no answer from the broker in 5s", ev.Status)
		}
	}
}

func (r *Runner) report(ctx context.Context, ev contracts.RunEvent, msgID string, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	data, _ := json.Marshal(ev)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ack, err := r.JS.Publish(pctx, contracts.RunSubject(ev.Tenant, ev.JobID, ev.Status), data, append(opts, jetstream.WithMsgID(msgID))...)
	if err != nil {
		return nil, fmt.Errorf("report run %s: %w", ev.Status, err)
	}
	return ack, nil
}

// run executes the target and returns the run's log (or a flow's output), the JSON of
// its result, and why it failed.
func (r *Runner) run(ctx context.Context, f contracts.Fire, runID string, attempt int, timeout time.Duration, onLog func(string)) (detail, result string, err error) {
	switch t := f.Target; {
	case f.WorkerGroup != "":
		return r.dispatch(ctx, f, runID, attempt, timeout, onLog)
	case t.Code != "":
		res, err := jobcode.RunWith(ctx, t.Code, r.SDK(f.Tenant), jobcode.Limits{Timeout: timeout, MaxSteps: r.MaxSteps}, jobcode.Env{Params: string(f.Params), OnLog: onLog})
		detail = res.Log
		if err == nil && res.Value != nil {
			detail = strings.TrimSpace(strings.TrimRight(detail, "\n") + "\nreturn " + res.JSON)
		}
		return detail, res.JSON, err
	case t.FlowID != "":
		return r.call(ctx, f, contracts.FlowSubject(f.Tenant, t.FlowID), expand(r.FlowURL, map[string]string{"flow_id": t.FlowID, "tecode": f.Tenant}))
	case t.BizCode != "":
		return r.call(ctx, f, contracts.BizSubject(f.Tenant, t.BizCode), expand(r.BizURL, map[string]string{"bizcode": t.BizCode, "tecode": f.Tenant}))
	case t.HTTP != nil:
		return r.callHTTP(ctx, f, *t.HTTP)
	}
	return "", "", errors.New("the job has nothing to run")
}

// call hands the run to a flow or behaviour runner: HTTP POST when url is set, else NATS
// request/reply on subject.
func (r *Runner) call(ctx context.Context, f contracts.Fire, subject, target string) (string, string, error) {
	req, _ := json.Marshal(contracts.FlowRequest{
		V: contracts.Version, Tenant: f.Tenant, JobID: f.JobID, FireID: f.FireID,
		FlowID: f.Target.FlowID, BizCode: f.Target.BizCode, ScheduledAt: f.ScheduledAt, Params: f.Params,
	})
	var data []byte
	if target != "" {
		d, err := r.post(ctx, target, req)
		if err != nil {
			return "", "", err
		}
		data = d
	} else {
		msg, err := r.NC.RequestWithContext(ctx, subject, req)
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			return "", "", fmt.Errorf("no responder on %s", subject)
		case errors.Is(err, context.DeadlineExceeded):
			return "", "", errTimedOut
		case err != nil:
			return "", "", err
		}
		data = msg.Data
	}
	var rep contracts.FlowReply
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &rep); err != nil {
			return clip(string(data), MaxDetail), "", errors.New("the runner's answer is not a JSON reply")
		}
	} else {
		rep.OK = true
	}
	if !rep.OK || rep.Error != "" {
		msg := rep.Error
		if msg == "" {
			msg = "the runner reported failure"
		}
		return rep.Output, "", errors.New(msg)
	}
	return rep.Output, "", nil
}

func (r *Runner) post(ctx context.Context, target string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	hc := r.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, errTimedOut
		}
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxDetail))
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("HTTP %d from %s: %s", resp.StatusCode, target, clip(string(data), 512))
	}
	if len(bytes.TrimSpace(data)) > 0 && !json.Valid(data) {
		// A plain 2xx body is a success with that output.
		return json.Marshal(contracts.FlowReply{V: contracts.Version, OK: true, Output: string(data)})
	}
	return data, nil
}

// expand fills a URL template's {name} placeholders, path-escaped.
func expand(tmpl string, vals map[string]string) string {
	for k, v := range vals {
		tmpl = strings.ReplaceAll(tmpl, "{"+k+"}", url.PathEscape(v))
	}
	return tmpl
}

// firstLine is the first line of s, at most 200 bytes: a log line's summary of a detail.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return job.Clip(s, 200)
}

// clip bounds s to n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "\n…(truncated)"
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
