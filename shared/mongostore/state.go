package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// SaveOutcome keeps a command's outcome (JSON) so that a repeated request is answered with it.
func (s *Store) SaveOutcome(ctx context.Context, commandID string, outcome []byte) error {
	_, err := s.db.Collection(colOutcomes).UpdateOne(ctx, bson.M{"_id": commandID},
		bson.M{"$set": bson.M{"outcome": string(outcome)}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("save outcome: %w", err)
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

// SaveCheckpoint writes a named stream position.
func (s *Store) SaveCheckpoint(ctx context.Context, name string, seq uint64) error {
	_, err := s.db.Collection(colState).UpdateOne(ctx, bson.M{"_id": name},
		bson.M{"$set": bson.M{"seq": int64(seq)}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	return nil
}
