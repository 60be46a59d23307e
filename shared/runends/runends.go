// Package runends keeps, per fixed-delay job, the end of its last scheduled run, which
// its next fire counts from, in a key-value bucket: the trigger writes it before it
// acknowledges the run's end (a rearm command), reads it back when a term starts (an
// image, a load or a rebuild knows the job but not that end), and the api reads it for
// next_run_time. One key a job, replaced by each run's end and removed with the job: it
// does not grow with runs, as a lifecycle event a run would.
package runends

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/job"
)

// Bucket is where the ends are kept, by job.
const Bucket = "jobcenter_run_ends"

// Open opens the bucket, creating it if it is missing.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (Ends, error) {
	kv, err := bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "Fixed-delay jobs' last scheduled run's end, by job.",
		Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
	})
	if err == nil {
		// A deleted job's marker carries a lifetime (Delete), so none stays for good.
		err = bus.AllowKeyTTL(ctx, js, Bucket)
	}
	return Ends{KV: kv}, err
}

// Ends is the bucket's ends.
type Ends struct{ KV jetstream.KeyValue }

type stored struct {
	FireID    string    `json:"fire_id"`
	Instant   time.Time `json:"instant"`
	StartedAt time.Time `json:"started_at"`
	Ended     time.Time `json:"ended"`
}

// Put keeps job jobID's run's end, returning once it is stored, unless the end kept is of
// a later fire of the same start (a rearm sent again late must not undo a newer one).
// Only the active trigger's command processor writes, one command at a time.
func (e Ends) Put(ctx context.Context, jobID string, r job.RunEnd) error {
	if had, ok, err := e.Get(ctx, jobID); err != nil {
		return err
	} else if ok && had.StartedAt.Equal(r.StartedAt) && had.Instant.After(r.Instant) {
		return nil
	}
	data, _ := json.Marshal(stored{FireID: r.FireID, Instant: r.Instant, StartedAt: r.StartedAt, Ended: r.Ended})
	if _, err := e.KV.Put(ctx, contracts.Token(jobID), data); err != nil {
		return fmt.Errorf("keep the run's end: %w", err)
	}
	return nil
}

// Get returns job jobID's last run's end kept; ok is false when none is.
func (e Ends) Get(ctx context.Context, jobID string) (r job.RunEnd, ok bool, err error) {
	entry, err := e.KV.Get(ctx, contracts.Token(jobID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("read the run's end: %w", err)
	}
	var s stored
	if err := json.Unmarshal(entry.Value(), &s); err != nil {
		return r, false, nil
	}
	return job.RunEnd{FireID: s.FireID, Instant: s.Instant.UTC(), StartedAt: s.StartedAt.UTC(), Ended: s.Ended.UTC()}, true, nil
}

// Delete forgets job jobID's (it is deleted), if any: called for every job deleted (one
// may have been a fixed delay once), so the purge's marker expires in a second rather
// than stay a message a deleted job.
func (e Ends) Delete(ctx context.Context, jobID string) error {
	if err := e.KV.Purge(ctx, contracts.Token(jobID), jetstream.PurgeTTL(time.Second)); err != nil {
		return fmt.Errorf("forget the run's end: %w", err)
	}
	return nil
}
