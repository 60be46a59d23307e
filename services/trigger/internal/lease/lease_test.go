package lease_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/services/trigger/internal/lease"
)

const ttl = 4 * time.Second

// bucket is a key-value bucket as the lease sees it, in memory, on the bubble's clock: a
// key expires ttl after its last write, a write names the revision it replaces, and a
// cut-off bucket answers nothing until the caller gives up, and nothing is done for a
// caller that gave up already.
type bucket struct {
	jetstream.KeyValue // any other method panics

	mu      sync.Mutex
	value   string
	rev     uint64 // the key's revision; 0: no key
	seq     uint64
	written time.Time
	cut     bool
}

// live is the key's revision, 0 when it is missing or expired.
func (b *bucket) live() uint64 {
	if b.rev != 0 && time.Since(b.written) >= ttl {
		b.rev = 0
	}
	return b.rev
}

func (b *bucket) write(v string) uint64 {
	b.seq++
	b.value, b.rev, b.written = v, b.seq, time.Now()
	return b.rev
}

func (b *bucket) wait(ctx context.Context) (bool, error) {
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	b.mu.Lock()
	cut := b.cut
	b.mu.Unlock()
	if cut {
		<-ctx.Done()
		return true, ctx.Err()
	}
	return false, nil
}

func (b *bucket) Create(ctx context.Context, _ string, v []byte, _ ...jetstream.KVCreateOpt) (uint64, error) {
	if cut, err := b.wait(ctx); cut {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.live() != 0 {
		return 0, jetstream.ErrKeyExists
	}
	return b.write(string(v)), nil
}

func (b *bucket) Update(ctx context.Context, _ string, v []byte, last uint64) (uint64, error) {
	if cut, err := b.wait(ctx); cut {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.live() != last {
		return 0, jetstream.ErrKeyRevisionMismatch
	}
	return b.write(string(v)), nil
}

func (b *bucket) Put(_ context.Context, _ string, v []byte) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.write(string(v)), nil
}

func (b *bucket) Delete(ctx context.Context, _ string, _ ...jetstream.KVDeleteOpt) error {
	if cut, err := b.wait(ctx); cut {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rev = 0
	return nil
}

func (b *bucket) setCut(cut bool) {
	b.mu.Lock()
	b.cut = cut
	b.mu.Unlock()
}

// holder is one instance: it records when it was active.
type holder struct {
	l              *lease.Lease
	mu             sync.Mutex
	active         bool
	began, stepped time.Time
	drain          time.Duration // how long fn takes to return once its context ends
	cause          error         // why its context ended
}

func newHolder(b *bucket, name string) *holder {
	return &holder{l: &lease.Lease{KV: b, Key: "trigger", Holder: name, TTL: ttl, Log: zerolog.Nop()}}
}

func (h *holder) hold(ctx context.Context, wg *sync.WaitGroup) {
	wg.Go(func() {
		_ = h.l.Hold(ctx, func(held context.Context) {
			h.set(true)
			<-held.Done()
			h.mu.Lock()
			h.cause = context.Cause(held)
			h.mu.Unlock()
			time.Sleep(h.drain)
			h.set(false)
		})
	})
}

func (h *holder) set(active bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.active = active
	if active {
		h.began = time.Now()
	} else {
		h.stepped = time.Now()
	}
}

// why is the cause its context ended with.
func (h *holder) why() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cause
}

func (h *holder) is() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.active
}

// watch fails the test whenever both are active at once, checking every 10 ms.
func watch(ctx context.Context, t *testing.T, wg *sync.WaitGroup, a, b *holder) {
	wg.Go(func() {
		for ctx.Err() == nil {
			if a.is() && b.is() {
				t.Errorf("both instances active at %v", time.Now())
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// scene is two instances on one bucket, a holding the lease from the start.
type scene struct {
	kv          *bucket
	a, b        *holder
	wg          sync.WaitGroup
	ctx         context.Context
	stop, stopA context.CancelFunc
}

// begin sets a scene in a synctest bubble; a takes drain to return once told to stop.
func begin(drain time.Duration) *scene {
	s := &scene{kv: &bucket{}}
	s.a, s.b = newHolder(s.kv, "a"), newHolder(s.kv, "b")
	s.a.drain = drain
	s.ctx, s.stop = context.WithCancel(context.Background())
	actx, stopA := context.WithCancel(s.ctx)
	s.stopA = stopA
	s.a.hold(actx, &s.wg)
	synctest.Wait()
	return s
}

// standby starts b, and a watch that fails the test if both are ever active at once.
func (s *scene) standby(t *testing.T) {
	s.b.hold(s.ctx, &s.wg)
	watch(s.ctx, t, &s.wg, s.a, s.b)
}

func (s *scene) end() {
	s.stop()
	s.wg.Wait()
}

func TestOneInstanceIsActiveAndTheStandbyTakesOverAsSoonAsItIsReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := begin(0)
		a, b := s.a, s.b
		s.standby(t)
		// A renews a quarter of the TTL apart: over ten TTLs the standby never gets in.
		time.Sleep(10 * ttl)
		if !a.is() || b.is() {
			t.Fatalf("after 10 TTLs: a active %v, b active %v", a.is(), b.is())
		}
		s.stopA()
		time.Sleep(time.Second)
		if !b.is() {
			t.Fatal("the standby did not take over within a second of the release")
		}
		if gap := b.began.Sub(a.stepped); gap < 0 || gap > ttl/10 {
			t.Errorf("the standby took over %v after a stepped down; want within %v", gap, ttl/10)
		}
		s.end()
	})
}

func TestAHolderCutOffFromTheBucketStepsDownBeforeItsKeyExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := begin(0)
		a, b, kv := s.a, s.b, s.kv
		// A few renewals; the cut falls between two (a quarter of the TTL apart).
		time.Sleep(ttl + ttl/8)
		kv.setCut(true)
		kv.mu.Lock()
		expires := kv.written.Add(ttl)
		kv.mu.Unlock()
		time.Sleep(ttl)
		if a.is() {
			t.Fatal("a holder that cannot renew is still active a TTL later")
		}
		if !a.stepped.Before(expires) {
			t.Fatalf("stepped down at %v, its key expired at %v", a.stepped, expires)
		}
		if why := a.why(); !errors.Is(why, lease.ErrLost) {
			t.Fatalf("the holder's context ended with %v, want lease.ErrLost (its term must not drain into a successor's)", why)
		}
		// The bucket comes back: the other instance takes the expired key.
		kv.setCut(false)
		s.standby(t)
		time.Sleep(2 * ttl)
		if a.is() == b.is() {
			t.Fatalf("after the cut: a active %v, b active %v; want exactly one", a.is(), b.is())
		}
		s.end()
	})
}

func TestAHolderWhoseKeyWasTakenStepsDownAtItsNextRenewal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := begin(0)
		a := s.a
		taken := time.Now()
		if _, err := s.kv.Put(s.ctx, "trigger", []byte("intruder")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(ttl / 2)
		if a.is() {
			t.Fatal("still active half a TTL after its key was overwritten")
		}
		if d := a.stepped.Sub(taken); d > ttl/4 {
			t.Errorf("stepped down %v after the key was taken; want within a renewal (%v)", d, ttl/4)
		}
		if why := a.why(); !errors.Is(why, lease.ErrLost) {
			t.Errorf("the holder's context ended with %v, want lease.ErrLost", why)
		}
		s.end()
	})
}

func TestTheLeaseIsKeptWhileTheHolderDrainsAfterShutdownBegins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := begin(3 * ttl) // a drains longer than its key lives without renewals
		a, b := s.a, s.b
		s.standby(t)
		s.stopA()
		time.Sleep(2 * ttl)
		if !a.is() || b.is() {
			t.Fatalf("while a drains: a active %v, b active %v", a.is(), b.is())
		}
		time.Sleep(2 * ttl)
		if a.is() || !b.is() {
			t.Fatalf("after a drained: a active %v, b active %v", a.is(), b.is())
		}
		s.end()
	})
}
