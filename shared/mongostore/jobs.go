package mongostore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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
	ID       string      `bson:"_id"`
	Life     lifeDoc     `bson:"life"`
	Progress progressDoc `bson:",inline"`
}

// storedDoc is a job's document as read: its lifecycle state under life, or, in a
// document written before life held it (and not moved yet, see MigrateJobLayout), at
// its top.
type storedDoc struct {
	ID       string      `bson:"_id"`
	Life     *lifeDoc    `bson:"life"`
	Legacy   lifeDoc     `bson:",inline"`
	Progress progressDoc `bson:",inline"`
}

func (d storedDoc) toJob() StoredJob {
	doc := jobDoc{ID: d.ID, Life: d.Legacy, Progress: d.Progress}
	if d.Life != nil {
		doc.Life = *d.Life
	}
	return doc.toJob()
}

// lifeDoc is a job's lifecycle state, written whole with $max: MongoDB compares two
// documents field by field in order, and the version comes first, then the position of
// the command that made the state, so a write only takes a job forward. A trigger that
// lost its lease and finishes the batch it began cannot write a job back over what the
// new active trigger wrote; the filter stays _id alone, the only one FerretDB answers
// without reading the whole collection.
type lifeDoc struct {
	Version int64 `bson:"version"`
	// CommandSeq orders the states of one version: an exec remembers its command on the
	// job without a new version.
	CommandSeq     int64      `bson:"commandSeq"`
	LastCommand    string     `bson:"lastCommand,omitempty"`
	Key            string     `bson:"jobKey"`
	Tenant         string     `bson:"tenant"`
	Pid            string     `bson:"pid"`
	Name           string     `bson:"name"`
	Description    string     `bson:"description"`
	Trigger        string     `bson:"trigger"`
	Seconds        int64      `bson:"seconds,omitempty"`
	RunDate        *time.Time `bson:"runDate,omitempty"`
	Cron           string     `bson:"cron,omitempty"`
	Zone           string     `bson:"zone,omitempty"`
	LifeStart      *time.Time `bson:"lifeStart,omitempty"`
	LifeEnd        *time.Time `bson:"lifeEnd,omitempty"`
	JitterS        int64      `bson:"jitterS,omitempty"`
	FixedDelay     bool       `bson:"fixedDelay,omitempty"`
	Calendars      []string   `bson:"calendars,omitempty"`
	Code           string     `bson:"code,omitempty"`
	FlowID         string     `bson:"flowId,omitempty"`
	BizCode        string     `bson:"bizCode,omitempty"`
	State          string     `bson:"state"`
	Coalesce       bool       `bson:"coalesce"`
	MisfireGraceMs int64      `bson:"misfireGraceMs,omitempty"`
	MaxInstances   int        `bson:"maxInstances"`
	Retries        int        `bson:"retries,omitempty"`
	RetryBackoffMs int64      `bson:"retryBackoffMs,omitempty"`
	TimeoutMs      int64      `bson:"timeoutMs,omitempty"`
	StartedAt      *time.Time `bson:"startedAt,omitempty"`
	CreatedAt      time.Time  `bson:"createdAt"`
	CreatedBy      string     `bson:"createdBy,omitempty"`
	UpdatedAt      time.Time  `bson:"updatedAt"`
	UpdatedBy      string     `bson:"updatedBy,omitempty"`
	// What follows a run; last, so that $max still orders by version first.
	PauseAfterFailures int      `bson:"pauseAfterFailures,omitempty"`
	Overlap            string   `bson:"overlap,omitempty"`
	OnSuccess          []string `bson:"onSuccess,omitempty"`
	OnFailure          []string `bson:"onFailure,omitempty"`
	HTTP               *httpDoc `bson:"http,omitempty"`
	WorkerGroup        string   `bson:"workerGroup,omitempty"`
	Route              string   `bson:"route,omitempty"`
}

// httpDoc is an HTTP job's call; its headers a list, as a header's name may hold a dot.
type httpDoc struct {
	Method       string      `bson:"method"`
	URL          string      `bson:"url"`
	Headers      []headerDoc `bson:"headers,omitempty"`
	Body         string      `bson:"body,omitempty"`
	ExpectStatus []int       `bson:"expectStatus,omitempty"`
}

type headerDoc struct {
	Name  string `bson:"n"`
	Value string `bson:"v"`
}

func toHTTPDoc(c *job.HTTPCall) *httpDoc {
	if c == nil {
		return nil
	}
	d := &httpDoc{Method: c.Method, URL: c.URL, Body: c.Body, ExpectStatus: c.ExpectStatus}
	for _, k := range slices.Sorted(maps.Keys(c.Headers)) {
		d.Headers = append(d.Headers, headerDoc{k, c.Headers[k]})
	}
	return d
}

func (d *httpDoc) call() *job.HTTPCall {
	if d == nil {
		return nil
	}
	c := &job.HTTPCall{Method: d.Method, URL: d.URL, Body: d.Body}
	if len(d.ExpectStatus) > 0 {
		c.ExpectStatus = d.ExpectStatus
	}
	if len(d.Headers) > 0 {
		c.Headers = make(map[string]string, len(d.Headers))
		for _, h := range d.Headers {
			c.Headers[h.Name] = h.Value
		}
	}
	return c
}

// progressDoc is how far the scheduler has fired a job (job.Progress), saved every flush
// interval: runs 1..Seq are stored fires, journaled a moment after.
type progressDoc struct {
	Seq      int64      `bson:"fireSeq"`
	LastFire *time.Time `bson:"lastFireAt,omitempty"`
}

// StoredJob is a job with its fire progress.
type StoredJob struct {
	Job      job.Job
	Progress job.Progress
}

func toDoc(w JobWrite) jobDoc { return jobDoc{ID: w.Job.ID, Life: toLife(w)} }

func toLife(w JobWrite) lifeDoc {
	j := w.Job
	d := lifeDoc{
		CommandSeq: int64(w.CommandSeq), Key: j.Key, Tenant: j.Tenant,
		Pid: j.Spec.Pid, Name: j.Spec.Name, Description: j.Spec.Description,
		Trigger: string(j.Spec.Trigger.Kind), Cron: j.Spec.Trigger.Cron, Zone: j.Spec.Trigger.Zone,
		Code: j.Spec.Target.Code, FlowID: j.Spec.Target.FlowID, BizCode: j.Spec.Target.BizCode,
		State:    string(j.State),
		Coalesce: j.Spec.Policy.Coalesce, MisfireGraceMs: j.Spec.Policy.MisfireGrace.Milliseconds(), MaxInstances: j.Spec.Policy.MaxInstances,
		Retries: j.Spec.Policy.Retries, RetryBackoffMs: j.Spec.Policy.RetryBackoff.Milliseconds(), TimeoutMs: j.Spec.Policy.Timeout.Milliseconds(),
		CreatedAt: j.CreatedAt, CreatedBy: j.CreatedBy, UpdatedAt: j.UpdatedAt, UpdatedBy: j.UpdatedBy,
		Version: j.Version, LastCommand: j.LastCommand,
		PauseAfterFailures: j.Spec.Policy.PauseAfterFailures, OnSuccess: j.Spec.Policy.OnSuccess, OnFailure: j.Spec.Policy.OnFailure,
		Overlap: string(j.Spec.Policy.Overlap), HTTP: toHTTPDoc(j.Spec.Target.HTTP),
		WorkerGroup: j.Spec.Policy.Group, Route: string(j.Spec.Policy.Route),
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
	if tr := j.Spec.Trigger; !tr.Start.IsZero() {
		d.LifeStart = &tr.Start
	}
	if tr := j.Spec.Trigger; !tr.End.IsZero() {
		d.LifeEnd = &tr.End
	}
	d.JitterS, d.FixedDelay, d.Calendars = int64(j.Spec.Trigger.Jitter/time.Second), j.Spec.Trigger.FixedDelay, j.Spec.Trigger.Calendars
	return d
}

func (doc jobDoc) toJob() StoredJob {
	d := doc.Life
	j := job.Job{
		ID: doc.ID, Key: d.Key, Tenant: d.Tenant,
		Spec: job.Spec{
			Pid: d.Pid, Name: d.Name, Description: d.Description,
			Trigger: job.Trigger{Kind: job.Kind(d.Trigger), Every: time.Duration(d.Seconds) * time.Second, Cron: d.Cron, Zone: d.Zone},
			Target:  job.Target{Code: d.Code, FlowID: d.FlowID, BizCode: d.BizCode, HTTP: d.HTTP.call()},
			Policy: job.Policy{Coalesce: d.Coalesce, MisfireGrace: time.Duration(d.MisfireGraceMs) * time.Millisecond, MaxInstances: d.MaxInstances,
				Retries: d.Retries, RetryBackoff: time.Duration(d.RetryBackoffMs) * time.Millisecond,
				Timeout: time.Duration(d.TimeoutMs) * time.Millisecond, PauseAfterFailures: d.PauseAfterFailures,
				OnSuccess: d.OnSuccess, OnFailure: d.OnFailure, Overlap: job.Overlap(d.Overlap),
				Group: d.WorkerGroup, Route: job.Route(d.Route)},
		},
		State:     job.State(d.State),
		CreatedAt: d.CreatedAt.UTC(), CreatedBy: d.CreatedBy, UpdatedAt: d.UpdatedAt.UTC(), UpdatedBy: d.UpdatedBy,
		Version: d.Version, LastCommand: d.LastCommand,
	}
	if d.RunDate != nil {
		j.Spec.Trigger.RunAt = d.RunDate.UTC()
	}
	if d.LifeStart != nil {
		j.Spec.Trigger.Start = d.LifeStart.UTC()
	}
	if d.LifeEnd != nil {
		j.Spec.Trigger.End = d.LifeEnd.UTC()
	}
	j.Spec.Trigger.Jitter, j.Spec.Trigger.FixedDelay = time.Duration(d.JitterS)*time.Second, d.FixedDelay
	j.Spec.Trigger.Calendars = d.Calendars
	if d.StartedAt != nil {
		j.StartedAt = d.StartedAt.UTC()
	}
	p := job.Progress{Seq: doc.Progress.Seq}
	if doc.Progress.LastFire != nil {
		p.LastFire = doc.Progress.LastFire.UTC()
	}
	return StoredJob{Job: j, Progress: p}
}

// lifecycleMax writes a job's lifecycle state unless the document holds a newer version,
// leaving its fire progress alone; a document made by it looks like an inserted one.
func lifecycleMax(w JobWrite) bson.M {
	return bson.M{"$max": bson.M{"life": toLife(w)}, "$setOnInsert": bson.M{"fireSeq": int64(0)}}
}

// BizKey is the key that finds a tenant's schedule of a behaviour: one schedule per
// (tenant, bizcode).
func BizKey(tenant, bizcode string) string {
	return "biz." + contracts.Token(tenant) + "." + contracts.Token(bizcode)
}

// JobKey is the key that finds a job by its scheduler id (the SDK's jobId).
func JobKey(key string) string { return "job." + key }

// keysOf are the keys that find j: its scheduler id's, and its behaviour's while it is
// live.
func keysOf(j job.Job) []string {
	keys := []string{JobKey(j.Key)}
	if biz := j.Spec.Target.BizCode; biz != "" && j.Live() {
		keys = append(keys, BizKey(j.Tenant, biz))
	}
	return keys
}

// GetJob reads a job by its record id (any tenant, any state).
func (s *Store) GetJob(ctx context.Context, id string) (StoredJob, error) {
	var d storedDoc
	if err := s.db.Collection(colJobs).FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		return StoredJob{}, notFound(err)
	}
	return d.toJob(), nil
}

// ResolveKey returns the record id a key (a job's scheduler id, or another alias) names.
func (s *Store) ResolveKey(ctx context.Context, key string) (string, error) {
	d, err := s.readKey(ctx, key)
	return d.jobID(), err
}

func (s *Store) readKey(ctx context.Context, key string) (keyDoc, error) {
	var d keyDoc
	if err := s.db.Collection(colKeys).FindOne(ctx, bson.M{"_id": key}).Decode(&d); err != nil {
		return d, notFound(err)
	}
	return d, nil
}

// LiveSchedule reads a behaviour's live schedule (one per tenant and bizcode), or
// ErrNotFound when it has none.
func (s *Store) LiveSchedule(ctx context.Context, tenant, bizcode string) (StoredJob, error) {
	id, err := s.ResolveKey(ctx, BizKey(tenant, bizcode))
	if err != nil {
		return StoredJob{}, err
	}
	sj, err := s.GetJob(ctx, id)
	if err == nil && (!sj.Job.Live() || sj.Job.Tenant != tenant) {
		err = ErrNotFound
	}
	return sj, err
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

// PutJob writes a job's lifecycle state not made by a command (a rebuild's), and the
// keys that find it.
func (s *Store) PutJob(ctx context.Context, j job.Job) error {
	return s.PutJobs(ctx, []JobWrite{{Job: j, WithKeys: true}})
}

// JobWrite is one job's lifecycle state.
type JobWrite struct {
	Job job.Job
	// WithKeys writes the keys that find the job too (keysOf): when it is created, and
	// in a rebuild.
	WithKeys bool
	// CommandSeq is the position in the commands stream of the command that made the
	// state (0 when none did): of two states of one version, the later command's stays.
	CommandSeq uint64
}

// Merge is the one write of two of one job's: the newer state as the store's fence
// orders them (version, then command position), with the keys if either writes them.
func (w JobWrite) Merge(o JobWrite) JobWrite {
	if w.Job.ID == "" {
		return o
	}
	newer := o
	if w.Job.Version > o.Job.Version || w.Job.Version == o.Job.Version && w.CommandSeq > o.CommandSeq {
		newer = w
	}
	newer.WithKeys = w.WithKeys || o.WithKeys
	return newer
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
			update = append(update, upsertJob(w))
		}
	}
	if len(fresh) > 0 {
		docs := make([]any, len(fresh))
		for i, w := range fresh {
			docs[i] = toDoc(w)
		}
		_, err := col.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		// A job inserted before (a replayed create) is written like a known one.
		dups, err := duplicates(err)
		if err != nil {
			return fmt.Errorf("put jobs: %w", err)
		}
		for _, i := range dups {
			update = append(update, upsertJob(fresh[i]))
		}
	}
	if err := s.updateJobs(ctx, update); err != nil {
		return fmt.Errorf("put jobs: %w", err)
	}
	var keys []keyDoc
	for _, w := range ws {
		if !w.WithKeys {
			continue
		}
		for _, k := range keysOf(w.Job) {
			keys = append(keys, newKey(k, w.Job.ID, w.Job.Tenant))
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

func upsertJob(w JobWrite) mongo.WriteModel {
	return mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": w.Job.ID}).SetUpdate(lifecycleMax(w)).SetUpsert(true)
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
		if err := s.repoint(ctx, keys[i]); err != nil {
			return fmt.Errorf("put job key %s: %w", keys[i].ID, err)
		}
	}
	return nil
}

// repoint points an existing key at k's job, if the job it names now was deleted and
// k's is not: a deleted job stays deleted, so the key's next job is always a live one.
// The change is $max on the key's generation (one more than read), so that of two
// writers that read the same generation only one changes it, and a trigger that lost its
// lease cannot point the key back at a job the new active trigger has moved it past.
func (s *Store) repoint(ctx context.Context, k keyDoc) error {
	cur, err := s.readKey(ctx, k.ID)
	if err != nil {
		return err
	}
	if cur.jobID() == k.jobID() {
		return nil
	}
	for id, wantLive := range map[string]bool{cur.jobID(): false, k.jobID(): true} {
		sj, err := s.GetJob(ctx, id)
		if err != nil && err != ErrNotFound {
			return err
		}
		if (err == nil && sj.Job.Live()) != wantLive {
			return nil // decided on a state that is gone: the newer writer's key stands
		}
	}
	beforeRepoint()
	ref := keyRef{Gen: cur.Ref.Gen + 1, JobID: k.jobID()}
	_, err = s.db.Collection(colKeys).UpdateOne(ctx, bson.M{"_id": k.ID}, bson.M{"$max": bson.M{"ref": ref}})
	return err
}

// beforeRepoint lets a test act between repoint's checks and its write.
var beforeRepoint = func() {}

// keyDoc maps a key to the job it names.
type keyDoc struct {
	ID     string `bson:"_id"`
	Ref    keyRef `bson:"ref"`
	Tenant string `bson:"tenant"`
	// LegacyJobID is where keys written before generations named their job.
	LegacyJobID string `bson:"jobId,omitempty"`
}

// keyRef is the job a key names, and how many times the key has been pointed: compared
// as a document, the generation decides.
type keyRef struct {
	Gen   int64  `bson:"gen"`
	JobID string `bson:"jobId"`
}

func newKey(key, jobID, tenant string) keyDoc {
	return keyDoc{ID: key, Ref: keyRef{Gen: 1, JobID: jobID}, Tenant: tenant}
}

func (d keyDoc) jobID() string {
	if d.Ref.JobID == "" {
		return d.LegacyJobID
	}
	return d.Ref.JobID
}

// SaveProgress writes the fire progress of many jobs in one round trip.
func (s *Store) SaveProgress(ctx context.Context, ps map[string]job.Progress) error {
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
		if !p.LastFire.IsZero() {
			up["lastFireAt"] = p.LastFire
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
	cur, err := s.db.Collection(colJobs).Find(ctx, bson.M{"life.state": bson.M{"$ne": string(job.Deleted)}}, options.Find().SetBatchSize(1000))
	if err != nil {
		return fmt.Errorf("load jobs: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d storedDoc
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
	filter := bson.M{"life.tenant": tenant, "life.state": bson.M{"$ne": string(job.Deleted)}}
	if pid != "" {
		filter["life.pid"] = pid
	}
	col := s.db.Collection(colJobs)
	total, err := col.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count jobs: %w", err)
	}
	cur, err := col.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "life.createdAt", Value: 1}, {Key: "_id", Value: 1}}).
		SetSkip(skip).SetLimit(limit))
	if err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	var docs []storedDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	out := make([]StoredJob, len(docs))
	for i, d := range docs {
		out[i] = d.toJob()
	}
	return out, total, nil
}

// layoutCheckpoint marks a store whose job documents all keep their lifecycle state under
// "life".
const layoutCheckpoint = "jobs-layout-life"

// MigrateJobLayout moves the lifecycle state of job documents written before it was kept
// under "life" (by $max, so a newer state written meanwhile stays), once per store: the
// active trigger calls it at the start of its term, so that no trigger of the old layout
// is active after it. Until then a job of the old layout reads as before by its ids
// and the scheduler loads it, but lists (which filter on life) miss it. It returns how
// many documents it moved.
func (s *Store) MigrateJobLayout(ctx context.Context) (int, error) {
	if done, err := s.Checkpoint(ctx, layoutCheckpoint); err != nil || done > 0 {
		return 0, err
	}
	col := s.db.Collection(colJobs)
	cur, err := col.Find(ctx, bson.M{"life": bson.M{"$exists": false}})
	if err != nil {
		return 0, fmt.Errorf("find jobs of the old layout: %w", err)
	}
	defer cur.Close(ctx)
	var models []mongo.WriteModel
	for cur.Next(ctx) {
		var old struct {
			ID   string  `bson:"_id"`
			Life lifeDoc `bson:",inline"`
		}
		if err := cur.Decode(&old); err != nil {
			return 0, fmt.Errorf("decode job of the old layout: %w", err)
		}
		unset := bson.M{}
		elems, _ := cur.Current.Elements()
		for _, e := range elems {
			switch k := e.Key(); k {
			case "_id", "fireSeq", "lastFireAt":
			default:
				unset[k] = ""
			}
		}
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": old.ID}).
			SetUpdate(bson.M{"$max": bson.M{"life": old.Life}, "$unset": unset}))
	}
	if err := cur.Err(); err != nil {
		return 0, fmt.Errorf("read jobs of the old layout: %w", err)
	}
	if err := s.updateJobs(ctx, models); err != nil {
		return 0, fmt.Errorf("move jobs to the new layout: %w", err)
	}
	return len(models), s.SaveCheckpoint(ctx, layoutCheckpoint, 1)
}
