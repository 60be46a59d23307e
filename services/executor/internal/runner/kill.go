package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
)

// errKilled is the cause a killed run's work is cancelled with.
var errKilled = errors.New("killed")

// liveRun is a run going on in this executor, which a kill can end.
type liveRun struct {
	fire   contracts.Fire
	cancel context.CancelCauseFunc
	mu     sync.Mutex
	// working: the run's work goes on; a kill after it has stopped does not change how
	// the run ended.
	working bool
	killed  *contracts.Killed
	// ended is closed once the run's end (last) is stored.
	ended chan struct{}
	last  contracts.RunEvent
}

// end records the run's end, stored.
func (lr *liveRun) end(ev contracts.RunEvent) {
	lr.mu.Lock()
	lr.last = ev
	lr.mu.Unlock()
	close(lr.ended)
}

// Ended waits up to within for the run's end to be stored, and returns it.
func (lr *liveRun) Ended(within time.Duration) (contracts.RunEvent, bool) {
	select {
	case <-lr.ended:
		lr.mu.Lock()
		defer lr.mu.Unlock()
		return lr.last, true
	case <-time.After(within):
		return contracts.RunEvent{}, false
	}
}

// kill cancels the run's work, if it goes on and was not killed already, and reports
// whether this kill did (the first kill stands).
func (lr *liveRun) kill(k contracts.Killed) bool {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if !lr.working || lr.killed != nil {
		return false
	}
	lr.killed = &k
	lr.cancel(errKilled)
	return true
}

// stopped marks the run's work over and returns its kill, if it was killed.
func (lr *liveRun) stopped() *contracts.Killed {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.working = false
	return lr.killed
}

// track records a run going on, whose work ctx a kill cancels; untrack ends the record.
// A kill known already (Kills) cancels it at once: whichever of track and Kill comes
// second sees the other.
func (r *Runner) track(work context.Context, f contracts.Fire) (context.Context, *liveRun, func()) {
	ctx, cancel := context.WithCancelCause(work)
	lr := &liveRun{fire: f, cancel: cancel, working: true, ended: make(chan struct{})}
	r.liveMu.Lock()
	if r.live == nil {
		r.live = map[string]*liveRun{}
	}
	r.live[f.FireID] = lr
	r.liveMu.Unlock()
	if k, ok := r.Kills.Known(work, f); ok {
		lr.kill(k)
	}
	return ctx, lr, func() {
		r.liveMu.Lock()
		if r.live[f.FireID] == lr {
			delete(r.live, f.FireID)
		}
		if lr.killedBy() != nil {
			// A kill read from the bucket may end the run before the kill's own request
			// comes: that request is answered from here for a while.
			r.endedKilled(lr)
		}
		r.liveMu.Unlock()
		cancel(nil)
	}
}

// killedBy is the run's kill, nil if it was not killed.
func (lr *liveRun) killedBy() *contracts.Killed {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return lr.killed
}

// keepKilled is how long a killed run's end answers its kill's request.
const keepKilled = time.Minute

// endedKilled keeps a killed run that has ended, dropping those kept longer than
// keepKilled; liveMu is held.
func (r *Runner) endedKilled(lr *liveRun) {
	now := time.Now()
	if r.killed == nil {
		r.killed = map[string]keptKill{}
	}
	for id, k := range r.killed {
		if now.Sub(k.at) > keepKilled {
			delete(r.killed, id)
		}
	}
	r.killed[lr.fire.FireID] = keptKill{lr, now}
}

// keptKill is a killed run that has ended, and when.
type keptKill struct {
	lr *liveRun
	at time.Time
}

// Ended is a run's end once stored, waited for up to a bound.
type Ended interface {
	Ended(within time.Duration) (contracts.RunEvent, bool)
}

// Kill ends the run of k's fire if it goes on in this executor: its work is cancelled (a
// flow or behaviour's runner is told on the job's cancel subject) and its end, stored as
// killed, can be waited for. held is false when no run of the fire (of k's tenant and
// job) goes on here; the kill is remembered all the same, so that the fire, if it comes
// here later, is not run. A run whose work had stopped ends as it would have.
func (r *Runner) Kill(k contracts.Kill) (ended Ended, held bool) {
	if r.Kills != nil {
		r.Kills.Add(k)
	}
	r.liveMu.Lock()
	lr := r.live[k.FireID]
	if lr == nil {
		if kk, ok := r.killed[k.FireID]; ok {
			lr = kk.lr
		}
	}
	r.liveMu.Unlock()
	if lr == nil || lr.fire.Tenant != k.Tenant || lr.fire.JobID != k.JobID {
		return nil, false
	}
	if !lr.kill(k.Killed) {
		return lr, true // ended, or killed already: its runner was told then
	}
	if lr.fire.Target.Code == "" {
		k.V = contracts.Version
		data, _ := json.Marshal(k)
		if err := r.NC.Publish(contracts.CancelSubject(k.Tenant, k.JobID), data); err != nil {
			r.Log.Warn().Err(err).Str("fire_id", k.FireID).Msg("the runner was not told of the kill")
		}
	}
	return lr, true
}

// killedDetail is the exedes of a killed run: who killed it and when, then what it wrote.
func killedDetail(k contracts.Killed, detail string) string {
	who := ""
	if k.By != "" {
		who = " by " + k.By
	}
	return clip(fmt.Sprintf("killed%s at %s\n%s", who, k.At.UTC().Format("2006-01-02T15:04:05.000Z07:00"), detail), MaxDetail)
}
