package mongostore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/jobcenter/jobcenter/shared/job"
)

// Entry is one run in a job's journal. A run's reports may be projected in any order
// (a batch that failed is retried after newer ones), so a "running" report and the
// final one write fields apart, and Status and Updated derive the entry's state.
type Entry struct {
	ID            string    `bson:"_id"` // JournalID(job, seq)
	JobID         string    `bson:"jobId"`
	Tenant        string    `bson:"tenant"`
	Seq           int64     `bson:"seq"`
	TriggerID     string    `bson:"triggerId"`
	RunType       string    `bson:"runType"`
	TriggerStatus string    `bson:"triggerStatus"`
	TriggerTime   time.Time `bson:"triggerTime"`
	FiredAt       time.Time `bson:"firedAt"`
	// ExeStatus is "waiting", then "running"; FinalStatus, once set, overrides it.
	ExeStatus    string     `bson:"exeStatus"`
	FinalStatus  string     `bson:"finalStatus,omitempty"`
	ExeStartTime *time.Time `bson:"exeStartTime,omitempty"`
	RunUpdate    *time.Time `bson:"runUpdate,omitempty"`
	FinalTime    *time.Time `bson:"finalTime,omitempty"`
	ExeDes       string     `bson:"exeDes,omitempty"`
	ExeTotalTime int        `bson:"exeTotalTime"`
	DynamicID    string     `bson:"dynamicId,omitempty"`
}

// Status is the run's state: its final status once it has one.
func (e Entry) Status() string {
	if e.FinalStatus != "" {
		return e.FinalStatus
	}
	return e.ExeStatus
}

// Updated is the time of the run's last change: its end once it has one.
func (e Entry) Updated() *time.Time {
	if e.FinalTime != nil {
		return e.FinalTime
	}
	return e.RunUpdate
}

// JournalID is the _id of a job's run number seq: a journal page is a set of _id reads.
func JournalID(jobID string, seq int64) string { return job.JournalID(jobID, seq) }

// JournalWrite is one change to a journal entry: Set always, SetOnInsert only when the
// entry is new, Max raises fields (never lowers them).
type JournalWrite struct {
	ID          string
	Set         bson.M
	SetOnInsert bson.M
	Max         bson.M
}

// WriteJournal applies many journal changes in one round trip, then raises each job's
// journal count to the highest run number written (heads: job id → run number). The
// count is written after the entries, so a page never counts an entry it cannot show.
func (s *Store) WriteJournal(ctx context.Context, ws []JournalWrite, heads map[string]int64) error {
	if len(ws) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, 0, len(ws))
	for _, w := range ws {
		u := bson.M{}
		if len(w.Set) > 0 {
			u["$set"] = w.Set
		}
		if len(w.SetOnInsert) > 0 {
			u["$setOnInsert"] = w.SetOnInsert
		}
		if len(w.Max) > 0 {
			u["$max"] = w.Max
		}
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": w.ID}).SetUpdate(u).SetUpsert(true))
	}
	if _, err := s.db.Collection(colJournal).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true)); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if len(heads) == 0 {
		return nil
	}
	models = models[:0]
	for id, seq := range heads {
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": id}).
			SetUpdate(bson.M{"$max": bson.M{"journalSeq": seq}}))
	}
	if _, err := s.db.Collection(colJobs).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
		return fmt.Errorf("write journal counts: %w", err)
	}
	return nil
}

// Page is one page of a journal, newest first.
type Page struct {
	Index, Size, Total, Pages int64
	Entries                   []Entry
}

// JournalPage reads page index (from 1) of size entries of a job whose journal holds runs
// 1..total (StoredJob.Journal), newest first, by _id only. A page past the end is empty with the true counts;
// entries not yet written (the projection lags its stream by milliseconds) are left out.
func (s *Store) JournalPage(ctx context.Context, jobID string, total, index, size int64) (Page, error) {
	p := Page{Index: index, Size: size, Total: total}
	if size > 0 {
		p.Pages = (total + size - 1) / size
	}
	hi := total - (index-1)*size
	lo := max(hi-size+1, 1)
	if size <= 0 || hi < 1 {
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
			var e Entry
			err := s.db.Collection(colJournal).FindOne(ctx, bson.M{"_id": JournalID(jobID, hi-int64(i))}).Decode(&e)
			if err == nil {
				entries[i] = &e
			} else if notFound(err) != ErrNotFound {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	p.Entries = make([]Entry, 0, len(entries))
	for i, e := range entries {
		if errs[i] != nil {
			return Page{}, fmt.Errorf("read journal: %w", errs[i])
		}
		if e != nil {
			p.Entries = append(p.Entries, *e)
		}
	}
	return p, nil
}

// GetEntry reads one journal entry.
func (s *Store) GetEntry(ctx context.Context, id string) (Entry, error) {
	var e Entry
	if err := s.db.Collection(colJournal).FindOne(ctx, bson.M{"_id": id}).Decode(&e); err != nil {
		return Entry{}, notFound(err)
	}
	return e, nil
}
