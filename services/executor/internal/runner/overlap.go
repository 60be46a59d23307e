package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// A job's overlap policy (job.Overlap) decides what its fire does when it finds the
// job's run under way: skip (the default, within max_instances), buffer_one, cancel_other
// or allow_all (begin takes no slot). A fire that waits is handed back to the broker
// and comes again, as a catch-up's fire waiting for its turn does; it is run once, by
// the claim every run has.

// Why a fire waits under its job's overlap policy.
var (
	errBuffered   = errors.New("the fire waits for its job's run under way to end (overlap buffer_one)")
	errCancelling = errors.New("the fire waits for its job's run under way to end, killed (overlap cancel_other)")
)

// Details of fires their overlap policy skips.
const (
	skippedBuffered   = "skipped: another fire of this job waits already for the run under way (overlap buffer_one)"
	skippedSuperseded = "skipped: another run of this job began while this fire waited for the end of the run it cancelled (overlap cancel_other)"
)

// bufferKey is the claims bucket's key holding the fire of job jobID that waits for its
// run under way: it cannot be a fire's token (fire ids end in @ and a number or manual-).
func bufferKey(jobID string) string { return contracts.Token(jobID + "@buffer") }

// bufferStale is how long a waiting fire's hold lasts unless its fire comes again to
// renew it: a fire comes again within a second while it waits, or, its executor gone,
// after the broker's redelivery, by when another fire may wait in its place.
func (r *Runner) bufferStale() time.Duration { return r.StaleAfter + 3*time.Second }

// waitsFirst reports whether another fire of f's job waits for the run under way: it goes
// before f, which is then a further fire.
func (r *Runner) waitsFirst(ctx context.Context, f contracts.Fire) (bool, error) {
	e, err := r.Claims.Get(ctx, bufferKey(f.JobID))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read the job's waiting fire: %w", err)
	}
	return string(e.Value()) != f.FireID && time.Since(e.Created()) < r.bufferStale(), nil
}

// buffer makes f the fire that waits for its job's run under way, or renews its hold;
// false when another fire holds it (f is then skipped).
func (r *Runner) buffer(ctx context.Context, f contracts.Fire) (bool, error) {
	key, me := bufferKey(f.JobID), []byte(f.FireID)
	for range 4 {
		e, err := r.Claims.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if _, err := r.Claims.Create(ctx, key, me); errors.Is(err, jetstream.ErrKeyExists) {
				continue // another fire took it meanwhile: look again
			} else if err != nil {
				return false, fmt.Errorf("hold the job's waiting place: %w", err)
			}
			return true, nil
		case err != nil:
			return false, fmt.Errorf("read the job's waiting fire: %w", err)
		}
		age := time.Since(e.Created())
		mine := string(e.Value()) == f.FireID
		if mine && age < r.bufferStale()/2 {
			return true, nil
		}
		if !mine && age < r.bufferStale() {
			return false, nil
		}
		// Renewed (its own), or taken over from a fire gone for good, by compare-and-set.
		if _, err := r.Claims.Update(ctx, key, me, e.Revision()); err == nil {
			return true, nil
		} else if !revisionConflict(err) {
			return false, fmt.Errorf("hold the job's waiting place: %w", err)
		}
	}
	return false, bus.Later(errBuffered, time.Second) // contended: look again shortly
}

// unbuffer gives up f's waiting place once its run has begun, so that the next fire may
// wait. Best effort: a place left held lapses after bufferStale.
func (r *Runner) unbuffer(ctx context.Context, f contracts.Fire, log zerolog.Logger) {
	key := bufferKey(f.JobID)
	e, err := r.Claims.Get(ctx, key)
	if err != nil || string(e.Value()) != f.FireID {
		return
	}
	if err := r.Claims.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil && !revisionConflict(err) {
		log.Warn().Err(err).Msg("the job's waiting place not given up; it lapses")
	}
}

// cancelsKey is the claims bucket's key naming the run fire fireID cancelled: not a
// fire's token (no fire id ends in @cancels).
func cancelsKey(fireID string) string { return contracts.Token(fireID + "@cancels") }

// cancelOther kills the run of holder, the fire whose run holds f's job, as a tenant's
// kill does (stored, then asked of the executors without waiting), and remembers it as
// the run f cancelled: f then waits for that run's end (waiting). Only that run: when f
// comes again to find another run holding the job (one that began between the cancelled
// run's end and f's turn), f is superseded, not a killer of newer runs. Asking a kill
// again changes nothing: the first is kept.
func (r *Runner) cancelOther(ctx context.Context, f contracts.Fire, holder string) (waiting bool, err error) {
	if r.Cancel == nil || holder == "" {
		return false, bus.Later(errCancelling, time.Second)
	}
	key := cancelsKey(f.FireID)
	e, err := r.Claims.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		if _, err := r.Claims.Create(ctx, key, []byte(holder)); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return false, fmt.Errorf("remember the run cancelled (overlap cancel_other): %w", err)
		} else if err != nil {
			return false, bus.Later(errCancelling, time.Second) // a copy of f got there first
		}
	case err != nil:
		return false, fmt.Errorf("read the run cancelled (overlap cancel_other): %w", err)
	case string(e.Value()) != holder:
		return false, nil
	}
	k := contracts.Kill{Tenant: f.Tenant, JobID: f.JobID, FireID: holder,
		Killed: contracts.Killed{By: "overlap cancel_other, for " + f.FireID, At: time.Now().UTC()}}
	if err := r.Cancel(ctx, k); err != nil {
		return false, fmt.Errorf("kill the run under way (overlap cancel_other): %w", err)
	}
	return true, nil
}

// runUnderWay reports whether a run holds f's job (of one run at a time), and whose fire:
// alone's test, without its write.
func (r *Runner) runUnderWay(ctx context.Context, f contracts.Fire) (holder string, busy bool, err error) {
	last, err := r.Runs.GetLastMsgForSubject(ctx, contracts.RunSubject(f.Tenant, f.JobID, contracts.RunRunning))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("read the job's last run: %w", err)
	}
	rep, err := wire.DecodeRunEvent(last.Data)
	if err != nil {
		return "", false, nil
	}
	if rep.FireID == f.FireID {
		// The run under way is this fire's own, by a copy of it: not another run to
		// skip for, nor to wait behind.
		return "", false, bus.Later(ErrRunElsewhere, time.Second)
	}
	gone, err := r.over(ctx, f, rep, last)
	return rep.FireID, !gone, err
}

// revisionConflict reports whether a compare-and-set on a bucket's key lost to another
// write: the bucket's own error, or the stream's beneath it.
func revisionConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) || wrongRevision(err)
}
