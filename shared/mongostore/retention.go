package mongostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/jobcenter/jobcenter/shared/config"
	"github.com/jobcenter/jobcenter/shared/job"
)

// The journal keeps a job's runs as a run of consecutive numbers, tail to head: retention
// removes the oldest from the bottom, and each job's tail is kept in colTails once any
// run of it was removed (no document: nothing was, the tail is run 1). Every read and
// every removal goes by _id: on FerretDB any other filter reads the whole collection.
const colTails = "journal_tails"

// JournalRetention bounds what the journal keeps: a run is removed once its fire is older
// than MaxAge, or once MaxPerJob newer runs of its job are journaled.
type JournalRetention struct {
	MaxAge time.Duration
	// MaxPerJob is how many of a job's newest runs are kept; 0 keeps them all (within
	// MaxAge).
	MaxPerJob int64
}

// The journal's retention settings: by age, unless told otherwise XXL-JOB's 30 days; by
// count per job, none.
var (
	JournalMaxAge    = config.Span[time.Duration]{Key: "JOBCENTER_JOURNAL_MAX_AGE", Default: 30 * 24 * time.Hour, Min: 10 * time.Second, Max: 100 * 365 * 24 * time.Hour}
	JournalMaxPerJob = config.Span[int]{Key: "JOBCENTER_JOURNAL_MAX_PER_JOB", Default: 0, Min: 0, Max: 1_000_000_000}
)

// WithDefaults fills what r leaves at zero as JournalRetentionFromEnv does.
func (r JournalRetention) WithDefaults() JournalRetention {
	r.MaxAge = JournalMaxAge.Or(r.MaxAge)
	return r
}

// Validate refuses what JournalRetentionFromEnv would refuse.
func (r JournalRetention) Validate() error {
	return errors.Join(JournalMaxAge.Check(r.MaxAge), JournalMaxPerJob.Check(int(r.MaxPerJob)))
}

// JournalRetentionFromEnv reads the journal's retention, which the api (for pages) and
// the trigger (which removes runs) read alike.
func JournalRetentionFromEnv(e *config.Env) JournalRetention {
	return JournalRetention{MaxAge: JournalMaxAge.From(e), MaxPerJob: int64(JournalMaxPerJob.From(e))}
}

type tailDoc struct {
	ID   string `bson:"_id"`
	Tail int64  `bson:"tail"`
	// At is when the tail run was fired (zero: not known).
	At time.Time `bson:"at"`
}

// JournalTail is a job's oldest run the journal may still hold, and when it was fired
// (zero when not known): 1 and zero until retention removed a run of the job.
func (s *Store) JournalTail(ctx context.Context, jobID string) (int64, time.Time, error) {
	var d tailDoc
	err := s.db.Collection(colTails).FindOne(ctx, bson.M{"_id": jobID}).Decode(&d)
	if notFound(err) == ErrNotFound {
		return 1, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read journal tail: %w", err)
	}
	return max(d.Tail, 1), d.At, nil
}

// SaveJournalTail records that the job's runs below tail are removed; at is when run tail
// was fired.
func (s *Store) SaveJournalTail(ctx context.Context, jobID string, tail int64, at time.Time) error {
	// Only forward ($max; a tail's fire time grows with it): a janitor that lost its lease
	// and saves late cannot bring back a tail whose runs are removed.
	_, err := s.db.Collection(colTails).UpdateOne(ctx, bson.M{"_id": jobID},
		bson.M{"$max": bson.M{"tail": tail, "at": at}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("save journal tail: %w", err)
	}
	return nil
}

// DropJournalTail forgets a job whose journal is empty and which is deleted.
func (s *Store) DropJournalTail(ctx context.Context, jobID string) error {
	if _, err := s.db.Collection(colTails).DeleteOne(ctx, bson.M{"_id": jobID}); err != nil {
		return fmt.Errorf("drop journal tail: %w", err)
	}
	return nil
}

// EachJournalTail calls fn with every tail saved.
func (s *Store) EachJournalTail(ctx context.Context, fn func(jobID string, tail int64, at time.Time)) error {
	cur, err := s.db.Collection(colTails).Find(ctx, bson.M{})
	if err != nil {
		return fmt.Errorf("read journal tails: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d tailDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("read journal tails: %w", err)
		}
		fn(d.ID, max(d.Tail, 1), d.At)
	}
	return cur.Err()
}

// Span is the lowest and the highest run of a job that the journal holds.
type Span struct{ Lowest, Highest int64 }

// JournalSpans finds every job with a run in the journal, and the span of its runs. It
// reads the whole journal, so it is for a one-time migration, never a hot path.
func (s *Store) JournalSpans(ctx context.Context) (map[string]Span, error) {
	cur, err := s.db.Collection(colJournal).Find(ctx, bson.M{}, options.Find().SetProjection(bson.M{"jobId": 1, "seq": 1, "_id": 0}))
	if err != nil {
		return nil, fmt.Errorf("find journals: %w", err)
	}
	defer cur.Close(ctx)
	spans := map[string]Span{}
	for cur.Next(ctx) {
		var d struct {
			JobID string `bson:"jobId"`
			Seq   int64  `bson:"seq"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("find journals: %w", err)
		}
		sp, ok := spans[d.JobID]
		if !ok {
			sp = Span{d.Seq, d.Seq}
		}
		spans[d.JobID] = Span{min(sp.Lowest, d.Seq), max(sp.Highest, d.Seq)}
	}
	return spans, cur.Err()
}

// Journaled reports whether the journal holds run seq of the job.
func (s *Store) Journaled(ctx context.Context, jobID string, seq int64) (bool, error) {
	return s.hasFire(ctx, job.JournalID(jobID, seq))
}

// FiredAt is when run seq of the job was fired; ok is false when the journal does not
// hold it.
func (s *Store) FiredAt(ctx context.Context, jobID string, seq int64) (at time.Time, ok bool, err error) {
	var d struct {
		FiredAt time.Time `bson:"firedAt"`
	}
	err = s.db.Collection(colJournal).FindOne(ctx, bson.M{"_id": job.JournalID(jobID, seq)},
		options.FindOne().SetProjection(bson.M{"firedAt": 1})).Decode(&d)
	if notFound(err) == ErrNotFound {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return d.FiredAt, true, nil
}

// RunRange is a job's runs From to To-1.
type RunRange struct {
	JobID    string
	From, To int64
}

// deletesPerWrite bounds one bulk removal: FerretDB removes about 8,000 records a second
// by _id, so a write takes at most about a third of a second.
const deletesPerWrite = 3000

// DeleteRuns removes the runs of each range, every record of each (its fire, the start
// of its first attempt, its end), and returns how many runs it removed.
func (s *Store) DeleteRuns(ctx context.Context, ranges []RunRange) (int64, error) {
	var fires, runs []mongo.WriteModel
	var removed int64
	flush := func(force bool) error {
		if len(fires)+len(runs) < deletesPerWrite && !force {
			return nil
		}
		// Reports first, fires last: a page finds a job's runs by their fires, so no
		// page shows a run whose reports are half gone.
		if len(runs) > 0 {
			if _, err := s.db.Collection(colRuns).BulkWrite(ctx, runs, options.BulkWrite().SetOrdered(false)); err != nil {
				return err
			}
		}
		if len(fires) > 0 {
			r, err := s.db.Collection(colJournal).BulkWrite(ctx, fires, options.BulkWrite().SetOrdered(false))
			if err != nil {
				return err
			}
			removed += r.DeletedCount
		}
		fires, runs = fires[:0], runs[:0]
		return nil
	}
	for _, rg := range ranges {
		for seq := rg.From; seq < rg.To; seq++ {
			id := job.JournalID(rg.JobID, seq)
			fires = append(fires, mongo.NewDeleteOneModel().SetFilter(bson.M{"_id": id}))
			runs = append(runs, mongo.NewDeleteOneModel().SetFilter(bson.M{"_id": job.RunEndID(id)}),
				mongo.NewDeleteOneModel().SetFilter(bson.M{"_id": job.RunStartID(id, 1)}))
			if err := flush(false); err != nil {
				return removed, fmt.Errorf("remove runs: %w", err)
			}
		}
	}
	if err := flush(true); err != nil {
		return removed, fmt.Errorf("remove runs: %w", err)
	}
	return removed, nil
}

// JournalSize is what the journal's collections hold: records and bytes of data.
type JournalSize struct {
	Records, Bytes int64
}

// JournalSize reads the journal's collections' statistics: cheap on both MongoDB and
// FerretDB, where counting the documents reads them all.
func (s *Store) JournalSize(ctx context.Context) (JournalSize, error) {
	var total JournalSize
	for _, col := range []string{colJournal, colRuns} {
		var st struct {
			Count int64 `bson:"count"`
			Size  int64 `bson:"size"`
		}
		err := s.db.RunCommand(ctx, bson.D{{Key: "collStats", Value: col}}).Decode(&st)
		var ce mongo.CommandError
		if errors.As(err, &ce) && ce.Code == 26 { // MongoDB: no such collection yet
			continue
		}
		if err != nil {
			return JournalSize{}, fmt.Errorf("journal size: %w", err)
		}
		total.Records += st.Count
		total.Bytes += st.Size
	}
	return total, nil
}

// StoreBytes is the size of the database: its data and indexes.
func (s *Store) StoreBytes(ctx context.Context) (int64, error) {
	var st struct {
		DataSize  float64 `bson:"dataSize"`
		IndexSize float64 `bson:"indexSize"`
	}
	if err := s.db.RunCommand(ctx, bson.D{{Key: "dbStats", Value: 1}}).Decode(&st); err != nil {
		return 0, fmt.Errorf("store size: %w", err)
	}
	return int64(st.DataSize + st.IndexSize), nil
}
