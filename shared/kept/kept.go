// Package kept keeps the outcomes of writes sent with an Idempotency-Key for the
// idempotency window, in a JetStream key-value bucket. The trigger stores an outcome
// before it answers the write, so a request repeated after any crash gets the first
// answer; the broker removes it once the window has passed, so outcomes do not pile up.
// It holds no rule of when an outcome is kept (the commands processor decides) or what
// it says (contracts.Outcome).
package kept

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/shared/bus"
)

// Bucket is the key-value bucket the outcomes are kept in.
const Bucket = "jobcenter_outcomes"

// ErrNotFound: no outcome is kept for the command (never applied, or past the window).
var ErrNotFound = errors.New("no kept outcome")

// Outcomes reads and keeps outcomes by command id.
type Outcomes struct {
	js jetstream.JetStream
	kv jetstream.KeyValue
}

// Open opens the bucket, creating it if it is missing, with window as its entries'
// lifetime.
func Open(ctx context.Context, js jetstream.JetStream, window time.Duration, replicas int) (*Outcomes, error) {
	kv, err := bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "The outcomes of writes sent with an Idempotency-Key, for the idempotency window.",
		TTL:         window,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, err
	}
	return &Outcomes{js: js, kv: kv}, nil
}

// Get returns the outcome kept for a command, or ErrNotFound.
func (o *Outcomes) Get(ctx context.Context, commandID string) ([]byte, error) {
	e, err := o.kv.Get(ctx, key(commandID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read kept outcome: %w", err)
	}
	return e.Value(), nil
}

// Put keeps outcomes by command id, all at once, and returns once all are stored.
func (o *Outcomes) Put(ctx context.Context, outcomes map[string][]byte) error {
	acks := make([]jetstream.PubAckFuture, 0, len(outcomes))
	for id, data := range outcomes {
		// What kv.Put publishes, without waiting for each acknowledgement in turn.
		a, err := o.js.PublishAsync("$KV."+Bucket+"."+key(id), data)
		if err != nil {
			return fmt.Errorf("keep outcome: %w", err)
		}
		acks = append(acks, a)
	}
	for _, a := range acks {
		select {
		case <-a.Ok():
		case err := <-a.Err():
			return fmt.Errorf("keep outcome: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// key is a command id as a key: itself when it is one the bucket takes (the api's are
// hex), else its digest.
func key(commandID string) string {
	ok := commandID != "" && len(commandID) <= 64
	for _, r := range commandID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			ok = false
			break
		}
	}
	if ok {
		return commandID
	}
	sum := sha256.Sum256([]byte(commandID))
	return "h" + hex.EncodeToString(sum[:16])
}
