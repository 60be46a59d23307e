package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// SaveOutcomes keeps commands' outcomes (JSON, by command id) so that a repeated
// request is answered with them.
func (s *Store) SaveOutcomes(ctx context.Context, outcomes map[string][]byte) error {
	if len(outcomes) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, 0, len(outcomes))
	for id, o := range outcomes {
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": id}).
			SetUpdate(bson.M{"$set": bson.M{"outcome": string(o)}}).SetUpsert(true))
	}
	if err := bulkUpdate(ctx, s.db.Collection(colOutcomes), models, nil); err != nil {
		return fmt.Errorf("save outcomes: %w", err)
	}
	return nil
}

// Outcome returns a kept outcome, or ErrNotFound.
func (s *Store) Outcome(ctx context.Context, commandID string) ([]byte, error) {
	var d struct {
		Outcome string `bson:"outcome"`
	}
	if err := s.db.Collection(colOutcomes).FindOne(ctx, bson.M{"_id": commandID}).Decode(&d); err != nil {
		return nil, notFound(err)
	}
	return []byte(d.Outcome), nil
}

// Checkpoint reads a named stream position (0 when none was saved).
func (s *Store) Checkpoint(ctx context.Context, name string) (uint64, error) {
	seq, _, err := s.CheckpointFound(ctx, name)
	return seq, err
}

// CheckpointFound reads a named stream position, and whether one was ever saved.
func (s *Store) CheckpointFound(ctx context.Context, name string) (seq uint64, found bool, err error) {
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
