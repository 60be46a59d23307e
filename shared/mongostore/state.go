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
	var d struct {
		Seq int64 `bson:"seq"`
	}
	err := s.db.Collection(colState).FindOne(ctx, bson.M{"_id": name}).Decode(&d)
	if notFound(err) == ErrNotFound {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read checkpoint %s: %w", name, err)
	}
	return uint64(d.Seq), nil
}

// CheckpointJobs names the checkpoint of the events stream's last sequence whose job
// documents are written: the trigger writes them behind the events.
const CheckpointJobs = "trigger.jobs"

// JobsWritten returns the events stream's last sequence whose job documents the store
// holds, and the lease term that saved it (0: none was saved). A store without the
// checkpoint was written only by triggers that wrote each document before answering:
// its sequence is end's answer (the stream's last sequence now).
func (s *Store) JobsWritten(ctx context.Context, end func(context.Context) (uint64, error)) (seq, term uint64, err error) {
	var d struct {
		Mark struct {
			Term int64 `bson:"term"`
			Seq  int64 `bson:"seq"`
		} `bson:"mark"`
	}
	err = s.db.Collection(colState).FindOne(ctx, bson.M{"_id": CheckpointJobs}).Decode(&d)
	switch {
	case notFound(err) == ErrNotFound:
		seq, err = end(ctx)
		return seq, 0, err
	case err != nil:
		return 0, 0, fmt.Errorf("read checkpoint %s: %w", CheckpointJobs, err)
	}
	return uint64(d.Mark.Seq), uint64(d.Mark.Term), nil
}

// SaveJobsWritten saves the jobs checkpoint at seq, made in the lease's term. It is
// ordered by term, then sequence ($max): a trigger that lost the lease and finishes its
// writes late cannot claim documents the active one has not written yet.
func (s *Store) SaveJobsWritten(ctx context.Context, term, seq uint64) error {
	mark := bson.D{{Key: "term", Value: int64(term)}, {Key: "seq", Value: int64(seq)}}
	return s.upsertState(ctx, CheckpointJobs, bson.M{"$max": bson.M{"mark": mark}})
}

// SaveCheckpoint writes a named stream position.
func (s *Store) SaveCheckpoint(ctx context.Context, name string, seq uint64) error {
	return s.upsertState(ctx, name, bson.M{"$set": bson.M{"seq": int64(seq)}})
}

// upsertState applies update to the state document name, making it if it is missing.
func (s *Store) upsertState(ctx context.Context, name string, update bson.M) error {
	save := func() error {
		_, err := s.db.Collection(colState).UpdateOne(ctx, bson.M{"_id": name}, update, options.UpdateOne().SetUpsert(true))
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
