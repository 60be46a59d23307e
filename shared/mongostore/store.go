// Package mongostore keeps Job Center's projections in MongoDB (or FerretDB): jobs, the
// keys that find them, the journal of runs and the trigger's checkpoints (kept command
// outcomes of older releases only until they move). Hot reads go by _id only: on FerretDB every other filter scans the whole
// collection. The indexes real MongoDB needs are declared all the same. Every write a
// trigger that lost its lease may still make only moves the store forward ($max on a
// job's version, progress, tails and the jobs checkpoint's term; keys by generation; the
// journal insert-only), so
// no write filters beyond _id. It holds what the domain decided; it must not decide
// (a job's state comes from job.Decide, a run's status from wire).
package mongostore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Collection names.
const (
	colJobs     = "jobs"
	colKeys     = "job_keys"
	colJournal  = "journal"
	colOutcomes = "outcomes"
	colState    = "state"
)

// ErrNotFound: no document with that id.
var ErrNotFound = errors.New("not found")

// Store is a MongoDB database holding the projections.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	// jobWrites serialises the updates of job documents made through this Store (the
	// command processor's, the fire progress, the journal counts): FerretDB applies an
	// update by reading the document and writing it back whole, so two at once can lose
	// one. Every update of a job document comes from the active trigger's Store.
	jobWrites sync.Mutex
}

// URISchemes are the schemes a MONGO_URI may use.
var URISchemes = []string{"mongodb", "mongodb+srv"}

// Open connects to uri and uses database name. An operation may take up to timeout, but
// finding no server fails within a second, so that the api answers 503 instead of hanging.
func Open(ctx context.Context, uri, name string, timeout time.Duration) (*Store, error) {
	fast := min(timeout, time.Second)
	opts := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(fast).
		SetConnectTimeout(fast).
		SetTimeout(timeout)
	c, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to mongodb (MONGO_URI): %w", err)
	}
	s := &Store{client: c, db: c.Database(name)}
	return s, nil
}

// EnsureIndexes declares the secondary indexes a real MongoDB needs for listing.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	_, err := s.db.Collection(colJobs).Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "life.tenant", Value: 1}, {Key: "life.createdAt", Value: 1}},
	})
	if err != nil {
		return fmt.Errorf("create jobs index: %w", err)
	}
	return nil
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error { return s.client.Ping(ctx, readpref.Primary()) }

// Close disconnects.
func (s *Store) Close(ctx context.Context) error { return s.client.Disconnect(ctx) }

// Drop removes every projection: a rebuild starts from nothing.
func (s *Store) Drop(ctx context.Context) error { return s.db.Drop(ctx) }

func notFound(err error) error {
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ErrNotFound
	}
	return err
}
