// Package lease elects the one active trigger among many: the instance that holds a key
// in a JetStream key-value bucket whose entries expire after a TTL unless renewed. The
// holder renews by compare-and-set on the key's revision, so two instances can never
// both renew; an instance that cannot renew within the TTL steps down before another can
// take the key. It knows nothing of what the active instance does.
package lease

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/shared/bus"
)

// Lease is one instance's claim on a named role.
type Lease struct {
	KV     jetstream.KeyValue
	Key    string
	Holder string
	TTL    time.Duration
	Log    zerolog.Logger
}

// Bucket provisions the leases bucket: every key expires ttl after its last write.
func Bucket(ctx context.Context, js jetstream.JetStream, name string, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	return bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: name, TTL: ttl, History: 1, Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
	})
}

// Hold waits until it holds the lease, then runs fn with a context that ends when the
// lease is lost or ctx ends, and returns once fn has returned; the lease is released if
// still held. It returns ctx's error when ctx ends before the lease is won.
func (l *Lease) Hold(ctx context.Context, fn func(context.Context)) error {
	rev, err := l.Acquire(ctx)
	if err != nil {
		return err
	}
	return l.Keep(ctx, rev, fn)
}

// ErrLost is the cause of the context Keep gives fn when the lease was lost (not renewed
// in time, or taken): another instance may be active already.
var ErrLost = errors.New("the lease was lost")

// Keep runs fn while renewing a lease won at revision rev (see Hold).
func (l *Lease) Keep(ctx context.Context, rev uint64, fn func(context.Context)) error {
	l.Log.Info().Str("holder", l.Holder).Msg("lease won: this instance is active")
	held, lose := context.WithCancelCause(ctx)
	defer lose(nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(held)
	}()
	tick := time.NewTicker(l.TTL / 4)
	defer tick.Stop()
	// Renewals go on while fn winds down after ctx ends, so that the lease cannot lapse
	// while this instance still drains; each renewal is bounded, and the time of the
	// last one is taken before it was sent, so that it never overstates the lease.
	renewCtx := context.WithoutCancel(ctx)
	renewed := time.Now()
	for {
		select {
		case <-done:
			l.release(rev)
			return nil
		case <-tick.C:
			// Step down before the key can expire and be taken: a third of the TTL early.
			if time.Since(renewed) > l.TTL*2/3 {
				l.Log.Warn().Msg("lease not renewed in time: stepping down")
				lose(ErrLost)
				<-done
				return nil
			}
			sent := time.Now()
			rctx, cancel := context.WithTimeout(renewCtx, l.TTL/4)
			next, err := l.KV.Update(rctx, l.Key, []byte(l.Holder), rev)
			cancel()
			switch {
			case err == nil:
				rev, renewed = next, sent
			case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
				l.Log.Warn().Err(err).Msg("lease lost: stepping down")
				lose(ErrLost)
				<-done
				return nil
			default:
				l.Log.Warn().Err(err).Msg("lease renewal failed; retrying")
			}
		}
	}
}

// Acquire waits until it wins the lease and returns its revision, or ctx's error.
func (l *Lease) Acquire(ctx context.Context) (uint64, error) {
	wait := time.NewTicker(max(l.TTL/10, 100*time.Millisecond))
	defer wait.Stop()
	logged := false
	for {
		rev, err := l.KV.Create(ctx, l.Key, []byte(l.Holder))
		if err == nil {
			return rev, nil
		}
		if !logged && errors.Is(err, jetstream.ErrKeyExists) {
			l.Log.Info().Msg("another instance holds the lease: standing by")
			logged = true
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-wait.C:
		}
	}
}

// release gives the lease up at once, so a standby need not wait for the TTL.
func (l *Lease) release(rev uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := l.KV.Delete(ctx, l.Key, jetstream.LastRevision(rev)); err != nil {
		l.Log.Warn().Err(err).Msg("lease not released; it expires by itself")
	}
}
