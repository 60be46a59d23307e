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

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
)

// jobDoc is a job's document: its lifecycle state (written by the command processor)
// and its fire progress (written by the scheduler), in fields apart.
type jobDoc struct {
	ID              string     `bson:"_id"`
	Key             string     `bson:"jobKey"`
	Tenant          string     `bson:"tenant"`
	Pid             string     `bson:"pid"`
	Name            string     `bson:"name"`
	Description     string     `bson:"description"`
	Trigger         string     `bson:"trigger"`
	Seconds         int64      `bson:"seconds,omitempty"`
	RunDate         *time.Time `bson:"runDate,omitempty"`
	Cron            string     `bson:"cron,omitempty"`
	Zone            string     `bson:"zone,omitempty"`
	Code            string     `bson:"code,omitempty"`
	FlowID          string     `bson:"flowId,omitempty"`
	BizCode         string     `bson:"bizCode,omitempty"`
	State           string     `bson:"state"`
	Coalesce        bool       `bson:"coalesce"`
	MisfireGraceMs  int64      `bson:"misfireGraceMs,omitempty"`
	MaxInstances    int        `bson:"maxInstances"`
	Retries         int        `bson:"retries,omitempty"`
	RetryBackoffMs  int64      `bson:"retryBackoffMs,omitempty"`
	TimeoutMs       int64      `bson:"timeoutMs,omitempty"`
	ReplaceExisting bool       `bson:"replaceExisting"`
	StartedAt       *time.Time `bson:"startedAt,omitempty"`
	CreatedAt       time.Time  `bson:"createdAt"`
	CreatedBy       string     `bson:"createdBy,omitempty"`
	UpdatedAt       time.Time  `bson:"updatedAt"`
	UpdatedBy       string     `bson:"updatedBy,omitempty"`
	Version         int64      `bson:"version"`
	LastCommand     string     `bson:"lastCommand,omitempty"`

	Progress `bson:",inline"`
}

// Progress is how far the scheduler has fired a job.
type Progress struct {
	// Seq is the number of the job's last run, saved every flush interval: runs 1..Seq are
	// stored fires, journaled a moment after.
	Seq int64 `bson:"fireSeq"`
	// LastFire is the scheduled instant of the job's last scheduled fire.
	LastFire *time.Time `bson:"lastFireAt,omitempty"`
}

// StoredJob is a job with its fire progress.
type StoredJob struct {
	Job      job.Job
	Progress Progress
}

func toDoc(j job.Job) jobDoc {
	d := jobDoc{
		ID: j.ID, Key: j.Key, Tenant: j.Tenant,
		Pid: j.Spec.Pid, Name: j.Spec.Name, Description: j.Spec.Description,
		Trigger: string(j.Spec.Trigger.Kind), Cron: j.Spec.Trigger.Cron, Zone: j.Spec.Trigger.Zone,
		Code: j.Spec.Target.Code, FlowID: j.Spec.Target.FlowID, BizCode: j.Spec.Target.BizCode,
		State: string(j.State), ReplaceExisting: j.ReplaceExisting,
		Coalesce: j.Spec.Policy.Coalesce, MisfireGraceMs: j.Spec.Policy.MisfireGrace.Milliseconds(), MaxInstances: j.Spec.Policy.MaxInstances,
		Retries: j.Spec.Policy.Retries, RetryBackoffMs: j.Spec.Policy.RetryBackoff.Milliseconds(), TimeoutMs: j.Spec.Policy.Timeout.Milliseconds(),
		CreatedAt: j.CreatedAt, CreatedBy: j.CreatedBy, UpdatedAt: j.UpdatedAt, UpdatedBy: j.UpdatedBy,
		Version: j.Version, LastCommand: j.LastCommand,
	}
	switch j.Spec.Trigger.Kind {
	case job.Interval:
		d.Seconds = int64(j.Spec.Trigger.Every / time.Second)
	case job.Date:
		at := j.Spec.Trigger.RunAt
		d.RunDate = &at
	}
	if !j.StartedAt.IsZero() {
		at := j.StartedAt
		d.StartedAt = &at
	}
	return d
}

func (d jobDoc) toJob() StoredJob {
	j := job.Job{
		ID: d.ID, Key: d.Key, Tenant: d.Tenant,
		Spec: job.Spec{
			Pid: d.Pid, Name: d.Name, Description: d.Description,
			Trigger: job.Trigger{Kind: job.Kind(d.Trigger), Every: time.Duration(d.Seconds) * time.Second, Cron: d.Cron, Zone: d.Zone},
			Target:  job.Target{Code: d.Code, FlowID: d.FlowID, BizCode: d.BizCode},
			Policy: job.Policy{Coalesce: d.Coalesce, MisfireGrace: time.Duration(d.MisfireGraceMs) * time.Millisecond, MaxInstances: d.MaxInstances,
				Retries: d.Retries, RetryBackoff: time.Duration(d.RetryBackoffMs) * time.Millisecond,
				Timeout: time.Duration(d.TimeoutMs) * time.Millisecond},
		},
		State: job.State(d.State), ReplaceExisting: d.ReplaceExisting,
		CreatedAt: d.CreatedAt.UTC(), CreatedBy: d.CreatedBy, UpdatedAt: d.UpdatedAt.UTC(), UpdatedBy: d.UpdatedBy,
		Version: d.Version, LastCommand: d.LastCommand,
	}
	if d.RunDate != nil {
		j.Spec.Trigger.RunAt = d.RunDate.UTC()
	}
	if d.StartedAt != nil {
		j.StartedAt = d.StartedAt.UTC()
	}
	p := d.Progress
	if p.LastFire != nil {
		t := p.LastFire.UTC()
		p.LastFire = &t
	}
	return StoredJob{Job: j, Progress: p}
}

// lifecycleSet is the $set of a job's lifecycle fields, leaving its fire progress alone.
func lifecycleSet(j job.Job) bson.M {
	raw, err := bson.Marshal(toDoc(j))
	if err != nil {
		panic(fmt.Sprintf("marshal job doc: %v", err)) // a fixed struct of plain fields cannot fail
	}
	var m bson.M
	if err := bson.Unmarshal(raw, &m); err != nil {
		panic(fmt.Sprintf("unmarshal job doc: %v", err))
	}
	delete(m, "_id")
	delete(m, "fireSeq")
	delete(m, "lastFireAt")
	unset := bson.M{}
	for _, f := range []string{"seconds", "runDate", "cron", "zone", "code", "flowId", "bizCode", "startedAt", "misfireGraceMs", "retries", "retryBackoffMs", "timeoutMs"} {
		if _, ok := m[f]; !ok {
			unset[f] = ""
		}
	}
	// A document made by this upsert looks like an inserted one.
	u := bson.M{"$set": m, "$setOnInsert": bson.M{"fireSeq": int64(0)}}
	if len(unset) > 0 {
		u["$unset"] = unset
	}
	return u
}

// BizKey is the key that finds a tenant's schedule of a behaviour: one schedule per
// (tenant, bizcode).
func BizKey(tenant, bizcode string) string {
	return "biz." + contracts.Token(tenant) + "." + contracts.Token(bizcode)
}

// JobKey is the key that finds a job by its scheduler id (the SDK's jobId).
func JobKey(key string) string { return "job." + key }

// GetJob reads a job by its record id (any tenant, any state).
func (s *Store) GetJob(ctx context.Context, id string) (StoredJob, error) {
	var d jobDoc
	if err := s.db.Collection(colJobs).FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		return StoredJob{}, notFound(err)
	}
	return d.toJob(), nil
}

// ResolveKey returns the record id a key (a job's scheduler id, or another alias) names.
func (s *Store) ResolveKey(ctx context.Context, key string) (string, error) {
	var d struct {
		JobID string `bson:"jobId"`
	}
	if err := s.db.Collection(colKeys).FindOne(ctx, bson.M{"_id": key}).Decode(&d); err != nil {
		return "", notFound(err)
	}
	return d.JobID, nil
}

// FindJob reads a job by either of its ids: the record id or a key.
func (s *Store) FindJob(ctx context.Context, idOrKey string) (StoredJob, error) {
	sj, err := s.GetJob(ctx, idOrKey)
	if err == nil || err != ErrNotFound {
		return sj, err
	}
	id, err := s.ResolveKey(ctx, JobKey(idOrKey))
	if err != nil {
		return StoredJob{}, err
	}
	return s.GetJob(ctx, id)
}

// PutJob writes a job's lifecycle state, and the keys that find it.
func (s *Store) PutJob(ctx context.Context, j job.Job, keys ...string) error {
	return s.PutJobs(ctx, []JobWrite{{Job: j, Keys: keys}})
}

// JobWrite is one job's lifecycle state and the keys that find it.
type JobWrite struct {
	Job  job.Job
	Keys []string
}

// PutJobs writes the lifecycle state of many jobs, each at most once, in a few round
// trips: new jobs are inserted together, known ones updated in one bulk write, then the
// keys are inserted once.
func (s *Store) PutJobs(ctx context.Context, ws []JobWrite) error {
	if len(ws) == 0 {
		return nil
	}
	col := s.db.Collection(colJobs)
	var fresh []JobWrite
	var update []mongo.WriteModel
	for _, w := range ws {
		if w.Job.Version == 1 {
			fresh = append(fresh, w)
		} else {
			update = append(update, upsertJob(w.Job))
		}
	}
	if len(fresh) > 0 {
		docs := make([]any, len(fresh))
		for i, w := range fresh {
			docs[i] = toDoc(w.Job)
		}
		_, err := col.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		// A job inserted before (a replayed create) is written like a known one.
		dups, err := duplicates(err)
		if err != nil {
			return fmt.Errorf("put jobs: %w", err)
		}
		for _, i := range dups {
			update = append(update, upsertJob(fresh[i].Job))
		}
	}
	if err := s.updateJobs(ctx, update); err != nil {
		return fmt.Errorf("put jobs: %w", err)
	}
	var keys []keyDoc
	for _, w := range ws {
		for _, k := range w.Keys {
			keys = append(keys, keyDoc{ID: k, JobID: w.Job.ID, Tenant: w.Job.Tenant})
		}
	}
	return s.putKeys(ctx, keys)
}

// updateJobs applies updates of job documents, each bulk write under jobWrites: held
// for one bulk write, not all of them, so that a long write of one kind (the progress of
// ten thousand jobs) does not starve another (the journal counts) past its deadline.
func (s *Store) updateJobs(ctx context.Context, models []mongo.WriteModel) error {
	return bulkUpdate(ctx, s.db.Collection(colJobs), models, &s.jobWrites)
}

// updatesPerWrite bounds the updates sent in one bulk write. FerretDB 1.24 keeps each
// update's read open until the whole command ends, one SQLite connection each, from a
// pool of 100: a bulk write of a hundred updates waits for a connection that never
// comes free, until its deadline.
const updatesPerWrite = 32

// bulkUpdate applies updates in bulk writes of updatesPerWrite, each under mu when it
// is not nil.
func bulkUpdate(ctx context.Context, col *mongo.Collection, models []mongo.WriteModel, mu *sync.Mutex) error {
	for len(models) > 0 {
		n := min(len(models), updatesPerWrite)
		if mu != nil {
			mu.Lock()
		}
		_, err := col.BulkWrite(ctx, models[:n], options.BulkWrite().SetOrdered(false))
		if mu != nil {
			mu.Unlock()
		}
		if err != nil {
			return err
		}
		models = models[n:]
	}
	return nil
}

func upsertJob(j job.Job) mongo.WriteModel {
	return mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": j.ID}).SetUpdate(lifecycleSet(j)).SetUpsert(true)
}

// duplicates returns the indexes of an unordered insert's documents refused as already
// there, or the error if anything else failed.
func duplicates(err error) ([]int, error) {
	if err == nil {
		return nil, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, err
	}
	var idx []int
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return nil, err
		}
		idx = append(idx, we.Index)
	}
	return idx, nil
}

// putKeys points keys at their jobs: inserted when new, changed when they named another
// job (a behaviour scheduled again after its schedule was deleted).
func (s *Store) putKeys(ctx context.Context, keys []keyDoc) error {
	if len(keys) == 0 {
		return nil
	}
	col := s.db.Collection(colKeys)
	docs := make([]any, len(keys))
	for i, k := range keys {
		docs[i] = k
	}
	_, err := col.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	dups, err := duplicates(err)
	if err != nil {
		return fmt.Errorf("put job keys: %w", err)
	}
	for _, i := range dups {
		k := keys[i]
		_, err := col.UpdateOne(ctx, bson.M{"_id": k.ID, "jobId": bson.M{"$ne": k.JobID}}, bson.M{"$set": bson.M{"jobId": k.JobID, "tenant": k.Tenant}})
		if err != nil {
			return fmt.Errorf("put job key %s: %w", k.ID, err)
		}
	}
	return nil
}

// keyDoc maps a key to the job it names.
type keyDoc struct {
	ID     string `bson:"_id"`
	JobID  string `bson:"jobId"`
	Tenant string `bson:"tenant"`
}

// SaveProgress writes the fire progress of many jobs in one round trip.
func (s *Store) SaveProgress(ctx context.Context, ps map[string]Progress) error {
	if len(ps) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, 0, len(ps))
	for id, p := range ps {
		// Only forward ($max): a trigger that lost its lease and saves late cannot take a
		// job's run numbers back below what the new active trigger saved, which would let
		// a later start reuse them. A filter beyond _id would read the whole collection
		// on FerretDB; $max keeps to _id.
		up := bson.M{"fireSeq": p.Seq}
		if p.LastFire != nil {
			up["lastFireAt"] = *p.LastFire
		}
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": id}).SetUpdate(bson.M{"$max": up}))
	}
	if err := s.updateJobs(ctx, models); err != nil {
		return fmt.Errorf("save fire progress: %w", err)
	}
	return nil
}

// EachJob calls fn for every job that is not deleted: the scheduler's load at start. It
// is one long read, so it takes its own deadline (ten minutes) instead of the
// per-operation timeout.
func (s *Store) EachJob(ctx context.Context, fn func(StoredJob)) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cur, err := s.db.Collection(colJobs).Find(ctx, bson.M{"state": bson.M{"$ne": string(job.Deleted)}}, options.Find().SetBatchSize(1000))
	if err != nil {
		return fmt.Errorf("load jobs: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d jobDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("decode job: %w", err)
		}
		fn(d.toJob())
	}
	return cur.Err()
}

// ListJobs returns one page of a tenant's live jobs, oldest first, optionally of one pid,
// and how many there are in all.
func (s *Store) ListJobs(ctx context.Context, tenant, pid string, skip, limit int64) ([]StoredJob, int64, error) {
	filter := bson.M{"tenant": tenant, "state": bson.M{"$ne": string(job.Deleted)}}
	if pid != "" {
		filter["pid"] = pid
	}
	col := s.db.Collection(colJobs)
	total, err := col.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count jobs: %w", err)
	}
	cur, err := col.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}).
		SetSkip(skip).SetLimit(limit))
	if err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	var docs []jobDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	out := make([]StoredJob, len(docs))
	for i, d := range docs {
		out[i] = d.toJob()
	}
	return out, total, nil
}
