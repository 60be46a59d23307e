package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MoveOutcomes hands put the outcomes of idempotent commands that releases before the
// key-value bucket kept here, a thousand at a time, then removes them: the active
// trigger calls it at the start of its term. It returns how many it moved.
func (s *Store) MoveOutcomes(ctx context.Context, put func(map[string][]byte) error) (int, error) {
	col := s.db.Collection(colOutcomes)
	cur, err := col.Find(ctx, bson.M{}, options.Find().SetBatchSize(1000))
	if err != nil {
		return 0, fmt.Errorf("read kept outcomes: %w", err)
	}
	defer cur.Close(ctx)
	n := 0
	batch := map[string][]byte{}
	for cur.Next(ctx) {
		var d struct {
			ID      string `bson:"_id"`
			Outcome string `bson:"outcome"`
		}
		if err := cur.Decode(&d); err != nil {
			return n, fmt.Errorf("read kept outcomes: %w", err)
		}
		if batch[d.ID] = []byte(d.Outcome); len(batch) == 1000 {
			if err := put(batch); err != nil {
				return n, err
			}
			n, batch = n+len(batch), map[string][]byte{}
		}
	}
	if err := cur.Err(); err != nil {
		return n, fmt.Errorf("read kept outcomes: %w", err)
	}
	if len(batch) > 0 {
		if err := put(batch); err != nil {
			return n, err
		}
		n += len(batch)
	}
	if n == 0 {
		return 0, nil
	}
	return n, col.Drop(ctx)
}

// Checkpoint reads a named stream position (0 when none was saved).
func (s *Store) Checkpoint(ctx context.Context, name string) (uint64, error) {
	seq, _, err := s.checkpointFound(ctx, name)
	return seq, err
}

// CheckpointJobs names the checkpoint of the events stream's last sequence whose job
// documents are written: the trigger writes them behind the events.
const CheckpointJobs = "trigger.jobs"

// JobsWritten returns the events stream's last sequence whose job documents the store
// holds: its jobs checkpoint (found), or, in a store without one, end's answer (the
// stream's last sequence now): a store without it was written only by triggers that
// wrote each document before answering.
func (s *Store) JobsWritten(ctx context.Context, end func(context.Context) (uint64, error)) (seq uint64, found bool, err error) {
	seq, found, err = s.checkpointFound(ctx, CheckpointJobs)
	if err != nil || found {
		return seq, found, err
	}
	seq, err = end(ctx)
	return seq, false, err
}

// checkpointFound reads a named stream position, and whether one was ever saved.
func (s *Store) checkpointFound(ctx context.Context, name string) (seq uint64, found bool, err error) {
	var d struct {
		Seq int64 `bson:"seq"`
	}
	err = s.db.Collection(colState).FindOne(ctx, bson.M{"_id": name}).Decode(&d)
	if notFound(err) == ErrNotFound {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read checkpoint %s: %w", name, err)
	}
	return uint64(d.Seq), true, nil
}

// SaveCheckpoint writes a named stream position.
func (s *Store) SaveCheckpoint(ctx context.Context, name string, seq uint64) error {
	save := func() error {
		_, err := s.db.Collection(colState).UpdateOne(ctx, bson.M{"_id": name},
			bson.M{"$set": bson.M{"seq": int64(seq)}}, options.UpdateOne().SetUpsert(true))
		return err
	}
	err := save()
	if mongo.IsDuplicateKeyError(err) {
		// Two upserts made the document at once (two triggers starting together): it is
		// there now, and is updated.
		err = save()
	}
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	return nil
}
