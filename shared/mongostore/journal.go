package mongostore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// The journal is append-only: each fire is one record, and each report on its run (the
// start of each attempt, the end) is another, never changed once written. On FerretDB an
// update is a read, a change in Go and a rewrite of the document in a transaction of its
// own, while many records go in one insert; and immutable records make the journal the
// same whatever order its messages are projected in, and however often.
const colRuns = "journal_runs"

// FireRecord is a fire as the journal keeps it; its id is JournalID(job, seq).
type FireRecord struct {
	ID            string    `bson:"_id"`
	JobID         string    `bson:"jobId"`
	Tenant        string    `bson:"tenant"`
	Seq           int64     `bson:"seq"`
	TriggerID     string    `bson:"triggerId"`
	RunType       string    `bson:"runType"`
	TriggerStatus string    `bson:"triggerStatus"`
	TriggerTime   time.Time `bson:"triggerTime"`
	FiredAt       time.Time `bson:"firedAt"`
	// Detail says why a missed fire was not run.
	Detail string `bson:"detail,omitempty"`
	// Params are the parameters the run was started with (JSON), when it was.
	Params string `bson:"params,omitempty"`
	// ParentFireID, on a chain's run, is the run whose end started it.
	ParentFireID string `bson:"parentFireId,omitempty"`
}

// RunRecord is one report on a run: its id is the journal id and "r<attempt>" for the
// start of an attempt, or "final" for the end.
type RunRecord struct {
	ID        string     `bson:"_id"`
	JournalID string     `bson:"journalId"`
	Status    string     `bson:"status"`
	Attempts  int        `bson:"attempts"`
	StartedAt time.Time  `bson:"startedAt"`
	EndedAt   *time.Time `bson:"endedAt,omitempty"`
	Detail    string     `bson:"detail,omitempty"`
	DynamicID string     `bson:"dynamicId,omitempty"`
	// KilledAt and KilledBy, on the end of a run a tenant killed: when, and their user.
	KilledAt *time.Time `bson:"killedAt,omitempty"`
	KilledBy string     `bson:"killedBy,omitempty"`
}

// JournalRecords is what one batch of messages adds to the journal.
type JournalRecords struct {
	Fires []FireRecord
	Runs  []RunRecord
}

// WriteJournal inserts records; those already there are left as they are. It changes no
// job: a page finds the job's newest run from the records (JournalHead), so a run is on
// its job's pages as soon as its record is written, and a busy journal makes no update
// per job, the costliest write of the embedded store.
func (s *Store) WriteJournal(ctx context.Context, r JournalRecords) error {
	if err := insertNew(ctx, s.db.Collection(colJournal), r.Fires); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := insertNew(ctx, s.db.Collection(colRuns), r.Runs); err != nil {
		return fmt.Errorf("write run reports: %w", err)
	}
	// A job's first run starts its tail, so that a start of the trigger knows each
	// journal's tail and age without reading its runs.
	var tails []tailDoc
	for _, f := range r.Fires {
		if f.Seq == 1 {
			tails = append(tails, tailDoc{ID: f.JobID, Tail: 1, At: f.FiredAt})
		}
	}
	if err := insertNew(ctx, s.db.Collection(colTails), tails); err != nil {
		return fmt.Errorf("write journal tails: %w", err)
	}
	return nil
}

// insertNew inserts docs, skipping those whose _id exists: a replayed message adds
// nothing.
func insertNew[T any](ctx context.Context, col *mongo.Collection, docs []T) error {
	if len(docs) == 0 {
		return nil
	}
	all := make([]any, len(docs))
	for i := range docs {
		all[i] = docs[i]
	}
	_, err := col.InsertMany(ctx, all, options.InsertMany().SetOrdered(false))
	_, err = duplicates(err)
	return err
}

// Entry is one run as the journal shows it: its fire and its latest report.
type Entry struct {
	Fire FireRecord
	// Run is the end report, else the first start report, else nil (not picked up yet).
	Run *RunRecord
}

// Status is the run's state (see wire.EntryStatus).
func (e Entry) Status() string {
	if e.Run == nil {
		return wire.EntryStatus(e.Fire.TriggerStatus, "")
	}
	return wire.EntryStatus(e.Fire.TriggerStatus, e.Run.Status)
}

// Updated is the time of the run's last change: its end, its start, or when a missed
// fire was recorded.
func (e Entry) Updated() *time.Time {
	switch {
	case e.Fire.TriggerStatus == contracts.TriggerMissed:
		return &e.Fire.FiredAt
	case e.Run == nil:
		return nil
	case e.Run.EndedAt != nil:
		return e.Run.EndedAt
	}
	return &e.Run.StartedAt
}

// Detail is the run's log or error, or why a missed fire was not run.
func (e Entry) Detail() string {
	if e.Run == nil {
		return e.Fire.Detail
	}
	return e.Run.Detail
}

// Page is one page of a journal, newest first.
type Page struct {
	Index, Size, Total, Pages int64
	Entries                   []Entry
}

// JournalPage reads page index (from 1) of size entries of a job, newest first, by _id
// only. near is where to look for the newest run: the job's saved fire progress
// (StoredJob.Progress.Seq), a few seconds behind the fires and, when the journal is
// behind, ahead of it. keep, when positive, is how many of the newest runs a page may
// show (the retention by count, applied here exactly while the removal of older runs
// comes in batches). A page past the end is empty with the true counts.
func (s *Store) JournalPage(ctx context.Context, jobID string, near, keep, index, size int64) (Page, error) {
	tail, _, err := s.JournalTail(ctx, jobID)
	if err != nil {
		return Page{}, err
	}
	head, err := s.JournalHead(ctx, jobID, near, tail-1)
	if err != nil {
		return Page{}, fmt.Errorf("read journal: %w", err)
	}
	floor := tail - 1 // the runs shown are floor+1 .. head
	if keep > 0 {
		floor = max(floor, head-keep)
	}
	p := Page{Index: index, Size: size, Total: max(head-floor, 0)}
	if size > 0 {
		p.Pages = (p.Total + size - 1) / size
	}
	hi := head - (index-1)*size
	lo := max(hi-size+1, floor+1)
	if size <= 0 || hi <= floor {
		p.Entries = []Entry{}
		return p, nil
	}
	entries := make([]*Entry, hi-lo+1)
	errs := make([]error, len(entries))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range entries {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			entries[i], errs[i] = s.entry(ctx, job.JournalID(jobID, hi-int64(i)))
		}()
	}
	wg.Wait()
	p.Entries = make([]Entry, 0, len(entries))
	for i, e := range entries {
		if errs[i] != nil {
			return Page{}, fmt.Errorf("read journal: %w", errs[i])
		}
		// nil: removed by retention meanwhile, or its fire not written yet.
		if e != nil {
			p.Entries = append(p.Entries, *e)
		}
	}
	return p, nil
}

// GetEntry reads one run, or ErrNotFound.
func (s *Store) GetEntry(ctx context.Context, id string) (Entry, error) {
	e, err := s.entry(ctx, id)
	if err == nil && e == nil {
		err = ErrNotFound
	}
	if err != nil {
		return Entry{}, err
	}
	return *e, nil
}

// JournalHead finds the job's newest run with a record, looking first at run near; runs
// up to floor count as written (retention removed them), so the answer is floor when the
// journal holds none above it. It doubles its steps away from near until the runs found
// bracket the head, then halves the gap. A job's fires are journaled in their order, so
// the written runs are floor+1..head, and the search costs about
// 2·log2(|head − near|) + 2 reads by _id. (A fire stored out of order, after a publish
// retried, hides the runs above it until it is written, a moment later.)
func (s *Store) JournalHead(ctx context.Context, jobID string, near, floor int64) (int64, error) {
	floor = max(floor, 0)
	has := func(seq int64) (bool, error) {
		if seq <= floor {
			return true, nil
		}
		return s.hasFire(ctx, job.JournalID(jobID, seq))
	}
	start := max(near, floor+1)
	var lo, hi int64 // run lo is written (or lo is floor); run hi is not
	ok, err := has(start)
	switch {
	case err != nil:
		return 0, err
	case ok:
		lo = start
		for step := int64(1); ; step *= 2 {
			if ok, err = has(lo + step); err != nil {
				return 0, err
			}
			if !ok {
				hi = lo + step
				break
			}
			lo += step
		}
	default:
		hi, lo = start, floor
		for step := int64(1); hi-step > floor; step *= 2 {
			if ok, err = has(hi - step); err != nil {
				return 0, err
			}
			if ok {
				lo = hi - step
				break
			}
			hi -= step
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := has(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// hasFire reports whether the journal holds the run's fire record.
func (s *Store) hasFire(ctx context.Context, id string) (bool, error) {
	err := s.db.Collection(colJournal).FindOne(ctx, bson.M{"_id": id},
		options.FindOne().SetProjection(bson.M{"_id": 1})).Err()
	if notFound(err) == ErrNotFound {
		return false, nil
	}
	return err == nil, err
}

// entry assembles a run from its records; nil when its fire is not written yet.
// RunEnd reads the end of run id (a journal id), whether or not its fire is journaled yet.
func (s *Store) RunEnd(ctx context.Context, id string) (RunRecord, error) {
	var r RunRecord
	err := s.db.Collection(colRuns).FindOne(ctx, bson.M{"_id": job.RunEndID(id)}).Decode(&r)
	if err != nil {
		return RunRecord{}, notFound(err)
	}
	return r, nil
}

func (s *Store) entry(ctx context.Context, id string) (*Entry, error) {
	var e Entry
	err := s.db.Collection(colJournal).FindOne(ctx, bson.M{"_id": id}).Decode(&e.Fire)
	if notFound(err) == ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, rid := range []string{job.RunEndID(id), job.RunStartID(id, 1)} {
		var r RunRecord
		err := s.db.Collection(colRuns).FindOne(ctx, bson.M{"_id": rid}).Decode(&r)
		if err == nil {
			e.Run = &r
			break
		}
		if notFound(err) != ErrNotFound {
			return nil, err
		}
	}
	return &e, nil
}
