// Package kills carries the kill of a run from the api to the executor running it. The
// api stores the kill in a key-value bucket, then asks the executors on core NATS
// (Ask); the one running the run ends it and answers once its end is stored. Each
// executor also follows the bucket into a set held in memory (Set), so a run not begun
// yet, or begun by an executor that did not hear the request, is killed as it begins
// instead of running. Entries live as long as a fire can be delivered (the runs
// stream's age), so the bucket holds only the kills of that span. It holds no rule of
// what a killed run reports (the runner decides).
package kills

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
)

// Bucket is the key-value bucket kills are kept in, by the fire's token.
const Bucket = "jobcenter_kills"

// Open opens the bucket, creating it if it is missing, with kept as its entries' lifetime.
func Open(ctx context.Context, js jetstream.JetStream, kept time.Duration, replicas int) (jetstream.KeyValue, error) {
	return bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Runs killed by a tenant, by fire, while a fire of theirs can still be delivered.",
		TTL:         kept,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
}

// Asker carries kills from the api to the executors.
type Asker struct {
	NC *nats.Conn
	KV jetstream.KeyValue
}

// Ask stores the kill, then asks the executors to end the run, waiting up to wait for
// the one running it (0: tells them, without waiting). A run killed before keeps its
// first kill, which Ask returns in place of k. reply is nil when none answered: no
// executor runs it now (it has ended, has not begun, or its executor is gone or out of
// reach).
func (a Asker) Ask(ctx context.Context, k contracts.Kill, wait time.Duration) (contracts.Kill, *contracts.KillReply, error) {
	k.V = contracts.Version
	data, _ := json.Marshal(k)
	if _, err := a.KV.Create(ctx, contracts.Token(k.FireID), data); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return k, nil, fmt.Errorf("store the kill: %w", err)
		}
		e, gerr := a.KV.Get(ctx, contracts.Token(k.FireID))
		var first contracts.Kill
		if gerr != nil || json.Unmarshal(e.Value(), &first) != nil {
			return k, nil, fmt.Errorf("read the run's kill: %w", errors.Join(err, gerr))
		}
		k, data = first, e.Value()
	}
	subject := contracts.KillSubject(k.Tenant, k.JobID)
	if wait <= 0 {
		if err := a.NC.Publish(subject, data); err != nil {
			return k, nil, fmt.Errorf("tell the executors: %w", err)
		}
		return k, nil, nil
	}
	rctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	msg, err := a.NC.RequestWithContext(rctx, subject, data)
	switch {
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return k, nil, nil
	case err != nil:
		return k, nil, fmt.Errorf("ask the executors: %w", err)
	}
	var rep contracts.KillReply
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return k, nil, fmt.Errorf("the executor's answer: %w", err)
	}
	return k, &rep, nil
}

// Set is the kills an executor knows, by fire id: those it was asked for and those in
// the bucket. Each is forgotten once older than the bucket's lifetime.
type Set struct {
	kept time.Duration
	mu   sync.Mutex
	m    map[string]contracts.Kill
	// added counts the adds since the last forgetting.
	added int
	// kv is the bucket, read by Known until loaded: the set holds its kills.
	kv     jetstream.KeyValue
	loaded atomic.Bool
}

// NewSet returns an empty set that forgets a kill kept after it was made; kv (when not
// nil) is the bucket Known reads until Loaded is called.
func NewSet(kept time.Duration, kv jetstream.KeyValue) *Set {
	return &Set{kept: kept, m: map[string]contracts.Kill{}, kv: kv}
}

// Loaded says the set holds the bucket's kills (Follow has read them): Known need not
// read the bucket any more.
func (s *Set) Loaded() { s.loaded.Store(true) }

// Known is Find, reading the bucket for the fire's kill while the set has not loaded it
// yet: an executor that has just started takes fires at once, and a fire killed before
// it started is still not run.
func (s *Set) Known(ctx context.Context, f contracts.Fire) (contracts.Killed, bool) {
	if k, ok := s.Find(f); ok || s == nil || s.kv == nil || s.loaded.Load() {
		return k, ok
	}
	e, err := s.kv.Get(ctx, contracts.Token(f.FireID))
	var k contracts.Kill
	if err != nil || json.Unmarshal(e.Value(), &k) != nil {
		return contracts.Killed{}, false
	}
	s.Add(k)
	return s.Find(f)
}

// Valid reports whether a kill names a run of its own job: a fire id begins with its
// job's id, so a kill cannot name another tenant's run, whatever it says.
func Valid(k contracts.Kill) bool {
	return k.FireID != "" && k.JobID != "" && strings.HasPrefix(k.FireID, k.JobID+"@")
}

// Add records a kill; one that is not Valid is ignored, and so is a second kill of a
// run: the first stands.
func (s *Set) Add(k contracts.Kill) {
	if !Valid(k) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.added++; s.added >= 1024 {
		s.added = 0
		s.forget(time.Now())
	}
	if _, ok := s.m[k.FireID]; !ok {
		s.m[k.FireID] = k
	}
}

// Find returns the kill of a fire's run, if it was killed: a kill of that fire of its
// tenant and job.
func (s *Set) Find(f contracts.Fire) (contracts.Killed, bool) {
	if s == nil {
		return contracts.Killed{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.m[f.FireID]
	if !ok || k.Tenant != f.Tenant || k.JobID != f.JobID {
		return contracts.Killed{}, false
	}
	return k.Killed, true
}

// forget drops the kills older than the bucket keeps them.
func (s *Set) forget(now time.Time) {
	for id, k := range s.m {
		if now.Sub(k.At) > s.kept {
			delete(s.m, id)
		}
	}
}

// Follow hands each kill in the bucket, then each one stored, to each (which should Add
// it), until ctx ends; a watch that fails is made again after a pause (bus.FollowBucket).
// ready is closed once those stored before it began have been handed over.
func Follow(ctx context.Context, kv jetstream.KeyValue, ready chan<- struct{}, each func(contracts.Kill), log func(error)) {
	bus.FollowBucket(ctx, kv, func(e jetstream.KeyValueEntry) {
		var k contracts.Kill
		if e.Operation() == jetstream.KeyValuePut && json.Unmarshal(e.Value(), &k) == nil && Valid(k) {
			each(k)
		}
	}, func() {
		if ready != nil {
			close(ready)
		}
	}, log)
}
