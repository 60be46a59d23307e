package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/commands"
	trigmetrics "github.com/jobcenter/jobcenter/services/trigger/internal/metrics"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/metrics"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// The trigger's root, without a broker or a store: a term's start from the store or from
// an image, the replay of what the streams hold after them, and the flushes of fire
// progress. What the streams and the store do themselves is tested over real ones in
// the end-to-end suite.

var t0 = time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)

// bookStore is a termStore in memory that says what was asked of it, in order.
type bookStore struct {
	mu         sync.Mutex
	jobs       []mongostore.StoredJob
	checkpoint uint64
	failSaves  int // SaveProgress fails this many more times
	calls      []string
	saved      map[string]job.Progress
	put        map[string]mongostore.JobWrite
	order      []string // the jobs put, in order
	// checkpoints other than the fires', and the jobs checkpoint's term
	checkpoints map[string]uint64
	jobsTerm    uint64
}

func (b *bookStore) Checkpoint(context.Context, string) (uint64, error) { return b.checkpoint, nil }

func (b *bookStore) SaveCheckpoint(_ context.Context, name string, seq uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, fmt.Sprintf("checkpoint %s %d", name, seq))
	if name == checkpointFires {
		b.checkpoint = seq
	} else {
		b.checkpoints[name] = seq
	}
	return nil
}

func (b *bookStore) JobsWritten(ctx context.Context, end func(context.Context) (uint64, error)) (uint64, uint64, error) {
	b.mu.Lock()
	seq, ok := b.checkpoints[mongostore.CheckpointJobs]
	term := b.jobsTerm
	b.mu.Unlock()
	if ok {
		return seq, term, nil
	}
	seq, err := end(ctx)
	return seq, 0, err
}

func (b *bookStore) PutJobs(_ context.Context, ws []mongostore.JobWrite) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, fmt.Sprintf("put %d jobs", len(ws)))
	for _, w := range ws {
		b.put[w.Job.ID] = w
		b.order = append(b.order, w.Job.ID)
	}
	return nil
}

func (b *bookStore) SaveJobsWritten(_ context.Context, term, seq uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, fmt.Sprintf("jobs written %d in term %d", seq, term))
	b.checkpoints[mongostore.CheckpointJobs], b.jobsTerm = seq, term
	return nil
}

func (b *bookStore) EachJob(_ context.Context, fn func(mongostore.StoredJob)) error {
	b.mu.Lock()
	b.calls = append(b.calls, "each job")
	jobs := b.jobs
	b.mu.Unlock()
	for _, sj := range jobs {
		fn(sj)
	}
	return nil
}

func (b *bookStore) SaveProgress(_ context.Context, ps map[string]job.Progress) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failSaves > 0 {
		b.failSaves--
		b.calls = append(b.calls, "progress failed")
		return errors.New("store away")
	}
	b.calls = append(b.calls, fmt.Sprintf("progress of %d jobs", len(ps)))
	for id, p := range ps {
		b.saved[id] = p
	}
	return nil
}

func (b *bookStore) said() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

// message is one message a fake stream holds.
type message struct {
	subject string
	data    []byte
}

// memStreams is streams in memory: each stream's messages by sequence.
type memStreams struct {
	held    map[string]map[uint64]message
	info    map[string]*jetstream.StreamInfo
	asked   map[string]uint64 // the sequence each stream was last replayed from
	askedMu sync.Mutex
	broken  map[string]error // replays of these fail
}

func (m *memStreams) Info(_ context.Context, stream string) (*jetstream.StreamInfo, error) {
	if i, ok := m.info[stream]; ok {
		return i, nil
	}
	var first, last uint64
	for seq := range m.held[stream] {
		if first == 0 || seq < first {
			first = seq
		}
		last = max(last, seq)
	}
	return &jetstream.StreamInfo{Created: t0.Add(-time.Hour), State: jetstream.StreamState{FirstSeq: first, LastSeq: last}}, nil
}

func (m *memStreams) ReplayFrom(_ context.Context, stream, _ string, start uint64, fn func(string, []byte, uint64) error) (uint64, error) {
	m.askedMu.Lock()
	m.asked[stream] = start
	m.askedMu.Unlock()
	if err := m.broken[stream]; err != nil {
		return 0, err
	}
	var last uint64
	for seq := range m.held[stream] {
		last = max(last, seq)
	}
	for seq := max(start, 1); seq <= last; seq++ {
		if msg, ok := m.held[stream][seq]; ok {
			if err := fn(msg.subject, msg.data, seq); err != nil {
				return seq, err
			}
		}
	}
	return last, nil
}

func (m *memStreams) add(stream string, seq uint64, subject string, v any) {
	data, ok := v.([]byte)
	if !ok {
		data, _ = json.Marshal(v)
	}
	if m.held[stream] == nil {
		m.held[stream] = map[uint64]message{}
	}
	m.held[stream][seq] = message{subject, data}
}

// setup is a trigger service over a bookStore and memStreams, with no broker or store.
type setup struct {
	s       *Service
	store   *bookStore
	streams *memStreams
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	reg := metrics.NewRegistry()
	m, err := trigmetrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	st := &bookStore{saved: map[string]job.Progress{}, put: map[string]mongostore.JobWrite{}, checkpoints: map[string]uint64{}}
	ms := &memStreams{held: map[string]map[uint64]message{}, info: map[string]*jetstream.StreamInfo{}, asked: map[string]uint64{}, broken: map[string]error{}}
	cfg := Config{Clock: clock.NewFake(t0.Add(time.Minute)), Log: zerolog.Nop(), Registry: reg}.WithDefaults()
	return &setup{s: &Service{cfg: cfg, book: st, streams: ms, metrics: m}, store: st, streams: ms}
}

func everyHour(id string, state job.State) job.Job {
	return job.Job{ID: id, Key: id + "-key", Tenant: "t1", State: state, StartedAt: t0, Version: 1,
		Spec: job.Spec{Name: "job " + id, Trigger: job.Trigger{Kind: job.Interval, Every: time.Hour},
			Target: job.Target{Code: "print(1)"}, Policy: job.DefaultPolicy()}}
}

func fire(jobID string, seq int64, runType string) contracts.Fire {
	f := contracts.Fire{V: contracts.Version, FireID: job.ManualFireID(jobID, fmt.Sprint(seq)), JournalID: job.JournalID(jobID, seq),
		Seq: seq, Tenant: "t1", JobID: jobID, RunType: runType, TriggerStatus: contracts.TriggerFired}
	if runType == contracts.RunTypeTrigger {
		// Named by its instant, as the scheduler names it; the instant is what a start
		// counts from.
		f.ScheduledAt = t0.Add(time.Duration(seq) * time.Hour)
		f.FireID = job.FireID(jobID, f.ScheduledAt)
	}
	return f
}

func (u *setup) addFire(seq uint64, f contracts.Fire) {
	u.streams.add(contracts.StreamRuns, seq, contracts.FireSubject(f.Tenant, f.JobID), f)
}

// running runs tm's loop while ask asks it something, with five seconds to answer.
func running(tm *term, ask func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = tm.sched.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	actx, acancel := context.WithTimeout(ctx, 5*time.Second)
	defer acancel()
	ask(actx)
}

// nextRun is the run number an exec of jobID would take.
func nextRun(t *testing.T, tm *term, jobID string) int64 {
	t.Helper()
	var f contracts.Fire
	var ok bool
	running(tm, func(ctx context.Context) { f, ok = tm.sched.FireNow(ctx, jobID, "exec") })
	if !ok {
		t.Fatalf("%s is not held", jobID)
	}
	return f.Seq
}

func held(tm *term) (n int) {
	running(tm, func(ctx context.Context) { n, _ = tm.sched.Len(ctx) })
	return n
}

func TestAStartWithoutAnImageLoadsTheStoreThenTheFiresStoredAfterItsCheckpoint(t *testing.T) {
	t.Parallel()
	u := newSetup(t)
	// The store saved a's progress up to run 5 and b's to run 1, with the fires up to
	// stream sequence 11.
	u.store.jobs = []mongostore.StoredJob{
		{Job: everyHour("a", job.Started), Progress: job.Progress{Seq: 5, LastFire: t0.Add(5 * time.Hour)}},
		{Job: everyHour("b", job.Stopped), Progress: job.Progress{Seq: 1}},
	}
	u.store.checkpoint = 11
	// Replayed, these would take a back: they are before the checkpoint and must not be.
	u.addFire(10, fire("a", 4, contracts.RunTypeTrigger))
	u.addFire(11, fire("a", 5, contracts.RunTypeTrigger))
	// Stored after the checkpoint, not saved in the store yet.
	u.addFire(12, fire("a", 6, contracts.RunTypeTrigger))
	u.addFire(13, fire("b", 2, contracts.RunTypeManual))
	u.streams.add(contracts.StreamRuns, 14, contracts.FireSubject("t1", "a"), []byte("not a fire"))

	tm, fromImage, err := u.s.start(context.Background(), nil, u.s.js, nil)
	if err != nil || fromImage {
		t.Fatalf("start: from image %v, %v", fromImage, err)
	}
	if got := u.streams.asked[contracts.StreamRuns]; got != 12 {
		t.Fatalf("fires replayed from sequence %d; want 12, after the checkpoint", got)
	}
	// The fires replayed are saved again by the next flush, with a checkpoint after them.
	progress, seq := tm.pub.Take()
	if seq != 13 || progress["a"].Seq != 6 || progress["b"].Seq != 2 || len(progress) != 2 {
		t.Fatalf("progress to save again: %v up to %d; want a at 6, b at 2, up to 13", progress, seq)
	}
	if !progress["a"].LastFire.Equal(t0.Add(6*time.Hour)) || !progress["b"].LastFire.IsZero() {
		t.Fatalf("last scheduled fires: %v; want a's run 6, none for b's exec", progress)
	}
	if a, b := nextRun(t, tm, "a"), nextRun(t, tm, "b"); a != 7 || b != 3 {
		t.Fatalf("next run numbers a %d, b %d; want 7 and 3: no number used twice after a crash", a, b)
	}
}

// imageOf cuts an image of jobs as the active term stores it.
func imageOf(t *testing.T, u *setup, jobs ...job.Job) []byte {
	t.Helper()
	tm := u.s.newTerm(u.s.js)
	for _, j := range jobs {
		tm.sched.Load(j, job.Progress{Seq: 2})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = tm.sched.Run(ctx); close(done) }()
	cut, err := tm.sched.Cut(ctx)
	cancel()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := cut.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// imageBucket is an object store holding one image.
type imageBucket struct {
	jetstream.ObjectStore // the rest is not used by a start
	data                  []byte
	info                  jetstream.ObjectInfo
}

func (b *imageBucket) GetInfo(_ context.Context, name string, _ ...jetstream.GetObjectInfoOpt) (*jetstream.ObjectInfo, error) {
	if name != imageObject || b.data == nil {
		return nil, jetstream.ErrObjectNotFound
	}
	return &b.info, nil
}

func (b *imageBucket) Get(ctx context.Context, name string, _ ...jetstream.GetObjectOpt) (jetstream.ObjectResult, error) {
	info, err := b.GetInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	return imageResult{io.NopCloser(bytes.NewReader(b.data)), info}, nil
}

type imageResult struct {
	io.ReadCloser
	info *jetstream.ObjectInfo
}

func (r imageResult) Info() (*jetstream.ObjectInfo, error) { return r.info, nil }
func (r imageResult) Error() error                         { return nil }

func bucket(data []byte, events, runs uint64, cut time.Time) *imageBucket {
	return &imageBucket{data: data, info: jetstream.ObjectInfo{ObjectMeta: jetstream.ObjectMeta{Name: imageObject,
		Metadata: map[string]string{metaEvents: fmt.Sprint(events), metaRuns: fmt.Sprint(runs)}}, ModTime: cut}}
}

func event(typ string, j job.Job) contracts.LifecycleEvent {
	return contracts.LifecycleEvent{V: contracts.Version, ID: j.ID + "-" + typ, Type: typ, Tenant: j.Tenant, JobID: j.ID, At: t0, Job: wire.JobToPayload(j)}
}

func TestAStartFromAnImageTakesUpTheEventsAfterItAndReplaysFiresFromTheEarlierOfItsCutAndTheCheckpoint(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name             string
		checkpoint, runs uint64
		wantFrom         uint64
	}{
		{"the checkpoint after the cut", 11, 9, 10},
		{"the checkpoint before the cut", 7, 9, 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			u := newSetup(t)
			img := imageOf(t, u, everyHour("a", job.Started), everyHour("b", job.Stopped))
			u.store.checkpoint = c.checkpoint
			u.store.jobs = []mongostore.StoredJob{{Job: everyHour("from-store", job.Started)}}
			// Recorded after the cut at 20: c created, b deleted; 19 was in the image.
			u.streams.add(contracts.StreamEvents, 19, contracts.EventSubject("t1", "z", contracts.EventCreated), event(contracts.EventCreated, everyHour("z", job.Started)))
			u.streams.add(contracts.StreamEvents, 20, contracts.EventSubject("t1", "y", contracts.EventCreated), event(contracts.EventCreated, everyHour("y", job.Started)))
			u.streams.add(contracts.StreamEvents, 21, contracts.EventSubject("t1", "c", contracts.EventCreated), event(contracts.EventCreated, everyHour("c", job.Started)))
			deleted := everyHour("b", job.Deleted)
			u.streams.add(contracts.StreamEvents, 22, contracts.EventSubject("t1", "b", contracts.EventDeleted), event(contracts.EventDeleted, deleted))
			u.addFire(c.wantFrom-1, fire("a", 99, contracts.RunTypeTrigger)) // before the replay: not taken
			u.addFire(c.wantFrom, fire("a", 3, contracts.RunTypeTrigger))
			u.addFire(12, fire("c", 1, contracts.RunTypeTrigger))

			tm, fromImage, err := u.s.start(context.Background(), bucket(img, 20, c.runs, t0), u.s.js, nil)
			if err != nil || !fromImage {
				t.Fatalf("start: from image %v, %v", fromImage, err)
			}
			if got := u.store.said(); len(got) != 0 {
				t.Fatalf("the store was asked %v; an image spares the load", got)
			}
			if ev, runs := u.streams.asked[contracts.StreamEvents], u.streams.asked[contracts.StreamRuns]; ev != 21 || runs != c.wantFrom {
				t.Fatalf("replayed events from %d, fires from %d; want 21 and %d", ev, runs, c.wantFrom)
			}
			if h := held(tm); h != 2 {
				t.Fatalf("%d jobs held; want a and c (b deleted after the cut)", h)
			}
			if a, cc := nextRun(t, tm, "a"), nextRun(t, tm, "c"); a != 4 || cc != 2 {
				t.Fatalf("next run numbers a %d, c %d; want 4 and 2", a, cc)
			}
		})
	}
}

func TestAnImageTheStreamsNoLongerFollowIsSetAsideAndTheStoreLoaded(t *testing.T) {
	t.Parallel()
	info := func(i jetstream.StreamInfo) func(*memStreams) {
		return func(m *memStreams) { m.info[contracts.StreamEvents] = &i }
	}
	for _, c := range []struct {
		name  string
		spoil func(*memStreams)
	}{
		{"recreated since the cut", info(jetstream.StreamInfo{Created: t0.Add(time.Second), State: jetstream.StreamState{FirstSeq: 1, LastSeq: 30}})},
		{"ends before the cut", info(jetstream.StreamInfo{Created: t0.Add(-time.Hour), State: jetstream.StreamState{FirstSeq: 1, LastSeq: 10}})},
		{"what followed the cut is gone", info(jetstream.StreamInfo{Created: t0.Add(-time.Hour), State: jetstream.StreamState{FirstSeq: 25, LastSeq: 30}})},
		// Found once the image is taken up: the term it was taken into is dropped.
		{"events after the cut unreadable", func(m *memStreams) {
			info(jetstream.StreamInfo{Created: t0.Add(-time.Hour), State: jetstream.StreamState{FirstSeq: 1, LastSeq: 25}})(m)
			m.broken[contracts.StreamEvents] = errors.New("broker away")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			u := newSetup(t)
			img := imageOf(t, u, everyHour("a", job.Started), everyHour("b", job.Started), everyHour("c", job.Started))
			c.spoil(u.streams)
			u.store.jobs = []mongostore.StoredJob{{Job: everyHour("from-store", job.Started), Progress: job.Progress{Seq: 8}}}
			u.store.checkpoint = 3
			tm, fromImage, err := u.s.start(context.Background(), bucket(img, 20, 0, t0), u.s.js, nil)
			if err != nil || fromImage {
				t.Fatalf("start: from image %v, %v", fromImage, err)
			}
			// A term afresh: nothing of the image is left in it.
			if h := held(tm); h != 1 {
				t.Fatalf("%d jobs held; want only the store's", h)
			}
			if n := nextRun(t, tm, "from-store"); n != 9 {
				t.Fatalf("next run %d; want 9", n)
			}
			if got := u.streams.asked[contracts.StreamRuns]; got != 4 {
				t.Fatalf("fires replayed from %d; want 4, after the store's checkpoint", got)
			}
		})
	}
}

func TestAFlushSavesProgressBeforeTheCheckpointThatCoversItAndKeepsWhatFailedForTheNext(t *testing.T) {
	t.Parallel()
	u := newSetup(t)
	tm := u.s.newTerm(u.s.js)
	ctx := context.Background()
	u.s.flush(ctx, tm)
	if got := u.store.said(); len(got) != 0 {
		t.Fatalf("an empty flush wrote %v", got)
	}
	tm.pub.Record(fire("a", 1, contracts.RunTypeTrigger), 5)
	tm.pub.Record(fire("b", 1, contracts.RunTypeTrigger), 6)
	u.store.failSaves = 1
	u.s.flush(ctx, tm)
	// A checkpoint past progress not saved would make the next start skip those fires.
	if got := u.store.said(); !reflect.DeepEqual(got, []string{"progress failed"}) {
		t.Fatalf("after a failed save: %v; want no checkpoint", got)
	}
	tm.pub.Record(fire("a", 2, contracts.RunTypeTrigger), 7)
	u.s.flush(ctx, tm)
	want := []string{"progress failed", "progress of 2 jobs", "checkpoint " + checkpointFires + " 7"}
	if got := u.store.said(); !reflect.DeepEqual(got, want) {
		t.Fatalf("flushes: %v; want %v", got, want)
	}
	if u.store.saved["a"].Seq != 2 || u.store.saved["b"].Seq != 1 {
		t.Fatalf("saved %v; want a at 2, b at 1 (kept from the failed flush)", u.store.saved)
	}
}

func TestATermWritesTheJobDocumentsOfTheEventsAfterTheStoresCheckpointBeforeItReadsTheStore(t *testing.T) {
	t.Parallel()
	u := newSetup(t)
	u.store.checkpoints[mongostore.CheckpointJobs] = 3
	a1, a2, b1 := everyHour("a", job.Stopped), everyHour("a", job.Started), everyHour("b", job.Started)
	a2.Version = 2
	u.streams.add(contracts.StreamEvents, 3, contracts.EventSubject("t1", "z", contracts.EventCreated), event(contracts.EventCreated, everyHour("z", job.Started)))
	u.streams.add(contracts.StreamEvents, 4, contracts.EventSubject("t1", "a", contracts.EventCreated), event(contracts.EventCreated, a1))
	u.streams.add(contracts.StreamEvents, 5, contracts.EventSubject("t1", "b", contracts.EventCreated), event(contracts.EventCreated, b1))
	u.streams.add(contracts.StreamEvents, 6, contracts.EventSubject("t1", "a", contracts.EventStarted), event(contracts.EventStarted, a2))
	u.streams.add(contracts.StreamEvents, 7, "jobcenter.evt.t1.x.created", []byte("not an event"))
	if _, err := u.s.catchUp(context.Background(), 42); err != nil {
		t.Fatal(err)
	}
	if got := u.store.said(); !reflect.DeepEqual(got, []string{"put 2 jobs", "jobs written 7 in term 42"}) {
		t.Fatalf("the store was told %v", got)
	}
	if w := u.store.put["a"]; w.Job.Version != 2 || w.Job.State != job.Started || !w.WithKeys {
		t.Fatalf("a written as %+v; want its last state, version 2, with its keys", w)
	}
	if _, ok := u.store.put["z"]; ok {
		t.Fatal("an event at the checkpoint was written again")
	}
}

func TestAStoreWithoutAJobsCheckpointHadEveryDocumentWrittenBeforeItsAnswer(t *testing.T) {
	t.Parallel()
	u := newSetup(t)
	u.streams.add(contracts.StreamEvents, 9, contracts.EventSubject("t1", "a", contracts.EventCreated), event(contracts.EventCreated, everyHour("a", job.Started)))
	if _, err := u.s.catchUp(context.Background(), 42); err != nil {
		t.Fatal(err)
	}
	if got := u.store.said(); !reflect.DeepEqual(got, []string{"jobs written 9 in term 42"}) {
		t.Fatalf("the store was told %v; want only the checkpoint at the stream's end", got)
	}
}

func TestFireProgressWaitsForTheJobDocumentsStagedBeforeIt(t *testing.T) {
	t.Parallel()
	u := newSetup(t)
	tm := u.s.newTerm(u.s.js)
	tm.behind = commands.NewBehind(u.store, 42, time.Second, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	go tm.behind.Run(ctx)
	tm.behind.Stage(ctx, []mongostore.JobWrite{{Job: everyHour("new", job.Started), WithKeys: true}}, 1)
	tm.pub.Record(fire("new", 1, contracts.RunTypeTrigger), 1)
	u.s.flush(ctx, tm)
	want := []string{"put 1 jobs", "jobs written 1 in term 42", "progress of 1 jobs", "checkpoint " + checkpointFires + " 1"}
	if got := u.store.said(); !reflect.DeepEqual(got, want) {
		t.Fatalf("the store was told %v; want %v", got, want)
	}
	// A writer that stopped with writes left: the progress waits for the next term.
	cancel()
	<-tm.behind.Done()
	tm.behind.Stage(context.Background(), []mongostore.JobWrite{{Job: everyHour("later", job.Started)}}, 2)
	tm.pub.Record(fire("later", 1, contracts.RunTypeTrigger), 2)
	u.s.flush(context.Background(), tm)
	if got := u.store.said(); len(got) != len(want) {
		t.Fatalf("progress saved before its job's document: %v", got[len(want):])
	}
}

func TestACatchUpWritesADeletedSchedulesDocumentBeforeTheOneThatTookItsBehaviour(t *testing.T) {
	t.Parallel()
	u := newSetup(t)
	u.store.checkpoints[mongostore.CheckpointJobs] = 0
	sched := func(id string, state job.State, version int64) job.Job {
		j := everyHour(id, state)
		j.Spec.Target, j.Version = job.Target{BizCode: "biz"}, version
		return j
	}
	// Job ids chosen so that no map order puts them right by chance for every run.
	var evs []job.Job
	for i := range 20 {
		old, next := fmt.Sprintf("z%02d", i), fmt.Sprintf("a%02d", i)
		evs = append(evs, sched(old, job.Started, 1), sched(old, job.Deleted, 2), sched(next, job.Started, 1))
	}
	for i, j := range evs {
		typ := contracts.EventCreated
		if j.State == job.Deleted {
			typ = contracts.EventDeleted
		}
		u.streams.add(contracts.StreamEvents, uint64(i+1), contracts.EventSubject("t1", j.ID, typ), event(typ, j))
	}
	if _, err := u.s.catchUp(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	at := map[string]int{}
	for i, id := range u.store.order {
		at[id] = i
	}
	for i := range 20 {
		if old, next := fmt.Sprintf("z%02d", i), fmt.Sprintf("a%02d", i); at[old] > at[next] {
			t.Fatalf("%s's create written before %s's delete: %v", next, old, u.store.order)
		}
	}
}

func TestATermIsNumberedPastTheStoredOneWhenTheLeasesBucketNumbersAnew(t *testing.T) {
	t.Parallel()
	u := newSetup(t)
	u.store.checkpoints[mongostore.CheckpointJobs], u.store.jobsTerm = 5, 900
	if term, err := u.s.catchUp(context.Background(), 3); err != nil || term != 901 {
		t.Fatalf("term %d (%v); want 901, past the stored 900, as the lease's 3 is not", term, err)
	}
	if term, err := u.s.catchUp(context.Background(), 2000); err != nil || term != 2000 {
		t.Fatalf("term %d (%v); want the lease's 2,000", term, err)
	}
}
