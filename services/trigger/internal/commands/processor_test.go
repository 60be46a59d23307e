package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/kept"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// The processor over fakes of what it talks to: a store that keeps what it is given, a
// log of events that keeps each id once, the api's inbox and the scheduler. The whole
// path over the real broker and store is the end-to-end suite's.

type fakeStore struct {
	mu         sync.Mutex
	jobs       map[string]mongostore.StoredJob
	biz        map[string]string // tenant/bizcode → job id
	outcomes   map[string][]byte
	writes     []mongostore.JobWrite
	failPut    error
	checkpoint uint64
}

// Get and Put are the kept outcomes'.
func (s *fakeStore) Get(_ context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.outcomes[id]; ok {
		return o, nil
	}
	return nil, kept.ErrNotFound
}

func (s *fakeStore) GetJob(_ context.Context, id string) (mongostore.StoredJob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sj, ok := s.jobs[id]; ok {
		return sj, nil
	}
	return mongostore.StoredJob{}, mongostore.ErrNotFound
}

func (s *fakeStore) LiveSchedule(ctx context.Context, tenant, bizcode string) (mongostore.StoredJob, error) {
	s.mu.Lock()
	id, ok := s.biz[tenant+"/"+bizcode]
	s.mu.Unlock()
	if !ok {
		return mongostore.StoredJob{}, mongostore.ErrNotFound
	}
	sj, err := s.GetJob(ctx, id)
	if err == nil && !sj.Job.Live() {
		err = mongostore.ErrNotFound
	}
	return sj, err
}

func (s *fakeStore) PutJobs(_ context.Context, ws []mongostore.JobWrite) error {
	s.mu.Lock()
	if err := s.failPut; err != nil {
		s.mu.Unlock()
		// A store away answers after a while, as its timeout does.
		time.Sleep(20 * time.Millisecond)
		return err
	}
	defer s.mu.Unlock()
	for _, w := range ws {
		s.writes = append(s.writes, w)
		if cur, ok := s.jobs[w.Job.ID]; ok && cur.Job.Version > w.Job.Version {
			continue // as the store's fence does
		}
		s.jobs[w.Job.ID] = mongostore.StoredJob{Job: w.Job}
		if biz := w.Job.Spec.Target.BizCode; w.WithKeys && biz != "" {
			s.biz[w.Job.Tenant+"/"+biz] = w.Job.ID
		}
	}
	return nil
}

func (s *fakeStore) SaveJobsWritten(_ context.Context, _, seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkpoint = seq
	return nil
}

func (s *fakeStore) failing(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failPut = err
}

func (s *fakeStore) job(id string) (job.Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sj, ok := s.jobs[id]
	return sj.Job, ok
}

func (s *fakeStore) Put(_ context.Context, outcomes map[string][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, o := range outcomes {
		s.outcomes[id] = o
	}
	return nil
}

type fakeEvents struct {
	mu   sync.Mutex
	byID map[string]contracts.LifecycleEvent
	log  []contracts.LifecycleEvent
}

// Record stores each event once, at its place in the log (from 1).
func (e *fakeEvents) Record(_ context.Context, evs []contracts.LifecycleEvent) (uint64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range evs {
		if _, ok := e.byID[ev.ID]; !ok {
			e.byID[ev.ID] = ev
			e.log = append(e.log, ev)
		}
	}
	return uint64(len(e.log)), nil
}

type fakeReplies struct {
	mu  sync.Mutex
	got map[string]contracts.Outcome
}

func (r *fakeReplies) Publish(subject string, data []byte) error {
	var o contracts.Outcome
	if err := json.Unmarshal(data, &o); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[subject] = o
	return nil
}

type fakeSched struct {
	mu   sync.Mutex
	held map[string]job.Job
	seq  map[string]int64
}

func (s *fakeSched) Put(j job.Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held[j.ID] = j
}

func (s *fakeSched) FireNow(_ context.Context, jobID, commandID string) (contracts.Fire, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.held[jobID]; !ok {
		return contracts.Fire{}, false
	}
	s.seq[jobID]++
	return contracts.Fire{FireID: job.ManualFireID(jobID, commandID), JobID: jobID, Seq: s.seq[jobID]}, true
}

func (s *fakeSched) FireBackfill(_ context.Context, jobID, commandID string, ats []time.Time) ([]contracts.Fire, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.held[jobID]; !ok {
		return nil, false
	}
	fires := make([]contracts.Fire, len(ats))
	for i, at := range ats {
		s.seq[jobID]++
		fires[i] = contracts.Fire{FireID: job.BackfillFireID(jobID, commandID, at), JobID: jobID, Seq: s.seq[jobID],
			RunType: contracts.RunTypeBackfill, ScheduledAt: at}
	}
	return fires, true
}

func (s *fakeSched) Rearm(string, job.RunEnd) {}

// Unfire gives back the last number taken, as the scheduler does.
func (s *fakeSched) Unfire(jobID string, seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq[jobID] == seq {
		s.seq[jobID]--
	}
}

type fakeFires struct {
	mu     sync.Mutex
	stored map[string]int64 // fire id → run number
	log    []contracts.Fire // the fires stored, in order
}

func (f *fakeFires) PublishNow(_ context.Context, fire contracts.Fire) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if seq, ok := f.stored[fire.FireID]; ok {
		return seq, nil
	}
	f.stored[fire.FireID] = fire.Seq
	f.log = append(f.log, fire)
	return fire.Seq, nil
}

// msg is a command message at a stream position; only Data and Metadata are used.
type msg struct {
	jetstream.Msg
	data []byte
	seq  uint64
}

func (m *msg) Data() []byte { return m.data }
func (m *msg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: m.seq}}, nil
}

type bundle struct {
	p       *Processor
	store   *fakeStore
	events  *fakeEvents
	replies *fakeReplies
	sched   *fakeSched
	fires   *fakeFires
	at      time.Time
	seq     uint64
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{
		store:   &fakeStore{jobs: map[string]mongostore.StoredJob{}, biz: map[string]string{}, outcomes: map[string][]byte{}},
		events:  &fakeEvents{byID: map[string]contracts.LifecycleEvent{}},
		replies: &fakeReplies{got: map[string]contracts.Outcome{}},
		sched:   &fakeSched{held: map[string]job.Job{}, seq: map[string]int64{}},
		fires:   &fakeFires{stored: map[string]int64{}},
		at:      time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC),
	}
	behind := NewBehind(b.store, 1, time.Second, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	go behind.Run(ctx)
	t.Cleanup(func() { cancel(); <-behind.Done() })
	b.p = &Processor{Store: b.store, Kept: b.store, Behind: behind, Events: b.events, Replies: b.replies, Sched: b.sched, Fires: b.fires,
		Clock: clock.NewFake(b.at), Log: zerolog.Nop(), memo: newMemo()}
	return b
}

// cmd makes a command message; a command is idempotent (its outcome kept) when asked so.
func (b *bundle) cmd(c job.Command, idempotent bool) jetstream.Msg {
	c.Tenant, c.At = "p", b.at
	if c.ID == "" {
		c.ID = string(c.Type) + "-" + c.JobID
	}
	p := wire.CommandToPayload(c, "reply."+c.ID, idempotent)
	data, _ := json.Marshal(p)
	b.seq++
	return &msg{data: data, seq: b.seq}
}

// apply applies msgs, then waits for the job documents they changed to be written.
func (b *bundle) apply(t *testing.T, msgs ...jetstream.Msg) []error {
	t.Helper()
	errs := b.p.applyAll(context.Background(), msgs)
	b.written(t)
	return errs
}

func (b *bundle) written(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.p.Behind.Sync(ctx); err != nil {
		t.Fatalf("job documents not written: %v", err)
	}
}

func (b *bundle) reply(t *testing.T, commandID string) contracts.Outcome {
	t.Helper()
	o, ok := b.replies.got["reply."+commandID]
	if !ok {
		t.Fatalf("command %s was not answered", commandID)
	}
	return o
}

func spec(biz string) *job.Spec {
	s := job.Spec{Pid: "d", Name: "n", Trigger: job.Trigger{Kind: job.Interval, Every: time.Minute}, Policy: job.DefaultPolicy()}
	if biz != "" {
		s.Target.BizCode = biz
	} else {
		s.Target.Code = "return 1"
	}
	return &s
}

func TestACreateIsRecordedWrittenWithItsKeysScheduledAndAnswered(t *testing.T) {
	b := setup(t)
	errs := b.apply(t, b.cmd(job.Command{Type: job.Create, JobID: "j1", JobKey: "k1", Spec: spec(""), Enable: true}, true))
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	if n := len(b.events.log); n != 2 || b.events.log[0].Type != contracts.EventCreated || b.events.log[1].Type != contracts.EventStarted {
		t.Fatalf("events %+v; want created, started", b.events.log)
	}
	w := b.store.writes
	if len(w) != 1 || !w[0].WithKeys || w[0].CommandSeq != 1 || w[0].Job.State != job.Started || w[0].Job.Version != 1 {
		t.Fatalf("writes %+v; want the started job with its keys, at stream position 1", w)
	}
	if j, ok := b.sched.held["j1"]; !ok || j.State != job.Started {
		t.Fatalf("the scheduler holds %+v", b.sched.held)
	}
	o := b.reply(t, "create-j1")
	if o.Error != nil || o.Job == nil || o.Job.ID != "j1" || o.Job.State != string(job.Started) {
		t.Fatalf("answer %+v", o)
	}
	if _, ok := b.store.outcomes["create-j1"]; !ok {
		t.Fatal("an idempotent command's outcome is not kept")
	}
}

func TestARedeliveredCommandChangesNothingAndIsAnsweredTheSame(t *testing.T) {
	b := setup(t)
	renamed := spec("")
	renamed.Name = "renamed"
	create := b.cmd(job.Command{Type: job.Create, JobID: "j1", JobKey: "k1", Spec: spec("")}, false)
	update := b.cmd(job.Command{Type: job.Update, JobID: "j1", Spec: renamed}, false)
	b.apply(t, create, update)
	first := b.reply(t, "update-j1")
	events, writes := len(b.events.log), len(b.store.writes)
	// The update again (acknowledged too late, or replayed after a takeover), once with
	// the job remembered, once read from the store in a new term.
	for _, fresh := range []bool{false, true} {
		if fresh {
			b.p.memo = newMemo()
		}
		if errs := b.apply(t, update); errs[0] != nil {
			t.Fatal(errs[0])
		}
		if len(b.events.log) != events {
			t.Fatalf("a redelivered update recorded %d more events", len(b.events.log)-events)
		}
		if got := b.store.jobs["j1"].Job; got.Version != 2 {
			t.Fatalf("a redelivered update took the job to version %d; want it left at 2", got.Version)
		}
		again := b.reply(t, "update-j1")
		if again.Job == nil || again.Job.Version != first.Job.Version || again.Job.Spec.Name != "renamed" {
			t.Fatalf("answered %+v, first %+v", again.Job, first.Job)
		}
	}
	// Written again all the same (idempotent): a crash may have cut the first write short.
	if len(b.store.writes) == writes {
		t.Fatal("a redelivered command's writes were not made again")
	}
}

func TestABehaviourWithALiveScheduleRefusesASecondOne(t *testing.T) {
	b := setup(t)
	b.apply(t, b.cmd(job.Command{Type: job.Create, JobID: "s1", JobKey: "k1", Spec: spec("biz")}, false))
	b.apply(t, b.cmd(job.Command{Type: job.Create, JobID: "s2", JobKey: "k2", Spec: spec("biz")}, false))
	o := b.reply(t, "create-s2")
	if o.Error == nil || !errors.Is(wire.ErrorFromPayload(*o.Error), job.ErrBizTaken) {
		t.Fatalf("second schedule answered %+v", o)
	}
	if _, ok := b.store.jobs["s2"]; ok {
		t.Fatal("the refused schedule was written")
	}
	// Deleted, the behaviour may be scheduled again.
	b.apply(t, b.cmd(job.Command{Type: job.Delete, JobID: "s1"}, false))
	b.apply(t, b.cmd(job.Command{ID: "again", Type: job.Create, JobID: "s3", JobKey: "k3", Spec: spec("biz")}, false))
	if o := b.reply(t, "again"); o.Error != nil {
		t.Fatalf("scheduled again after the delete: %+v", o.Error)
	}
}

func TestAJobsCommandsInOneFetchApplyInOrderEachOnTheStateBefore(t *testing.T) {
	b := setup(t)
	errs := b.apply(t,
		b.cmd(job.Command{Type: job.Create, JobID: "j1", JobKey: "k1", Spec: spec("")}, false),
		b.cmd(job.Command{Type: job.Start, JobID: "j1"}, false),
		b.cmd(job.Command{Type: job.Stop, JobID: "j1"}, false),
	)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	if got := b.store.jobs["j1"].Job; got.State != job.Stopped || got.Version != 3 {
		t.Fatalf("job ends %s at version %d; want stopped at 3", got.State, got.Version)
	}
	var types []string
	for _, e := range b.events.log {
		types = append(types, e.Type)
	}
	if want := []string{"created", "started", "stopped"}; len(types) != 3 || types[0] != want[0] || types[1] != want[1] || types[2] != want[2] {
		t.Fatalf("events %v; want %v", types, want)
	}
}

func TestAStoreFailureDelaysTheJobDocumentNotTheAnswerAndItIsWrittenOnceBack(t *testing.T) {
	b := setup(t)
	b.apply(t, b.cmd(job.Command{Type: job.Create, JobID: "j1", JobKey: "k1", Spec: spec("")}, false))
	b.store.failing(errors.New("store away"))
	start := b.cmd(job.Command{Type: job.Start, JobID: "j1"}, false)
	if errs := b.p.applyAll(context.Background(), []jetstream.Msg{start}); errs[0] != nil {
		t.Fatalf("a command whose events are stored: %v; want it applied", errs[0])
	}
	if o := b.reply(t, "start-j1"); o.Job == nil || o.Job.State != string(job.Started) || o.Job.Version != 2 {
		t.Fatalf("answer while the store is away: %+v", o)
	}
	if j, _ := b.store.job("j1"); j.Version != 1 {
		t.Fatalf("the store has version %d while its writes fail", j.Version)
	}
	// The next command of the job is decided on the state not yet written.
	stop := b.cmd(job.Command{Type: job.Stop, JobID: "j1"}, false)
	b.p.applyAll(context.Background(), []jetstream.Msg{stop})
	if o := b.reply(t, "stop-j1"); o.Error != nil || o.Job.Version != 3 {
		t.Fatalf("a stop after the unwritten start: %+v", o)
	}
	b.store.failing(nil)
	b.written(t)
	if j, _ := b.store.job("j1"); j.Version != 3 || j.State != job.Stopped {
		t.Fatalf("written once the store is back: %s at version %d; want stopped at 3", j.State, j.Version)
	}
	if b.store.checkpoint != 3 {
		t.Fatalf("jobs checkpoint %d; want 3, the stop's event", b.store.checkpoint)
	}
	started := 0
	for _, e := range b.events.log {
		if e.Type == contracts.EventStarted {
			started++
		}
	}
	if started != 1 {
		t.Fatalf("started recorded %d times", started)
	}
}

func TestABehaviourScheduledOrDeletedButNotWrittenYetDecidesTheNextSchedule(t *testing.T) {
	b := setup(t)
	b.apply(t, b.cmd(job.Command{Type: job.Create, JobID: "s1", JobKey: "k1", Spec: spec("biz")}, false))
	b.store.failing(errors.New("store away"))
	ctx := context.Background()
	// s1 deleted, not written: the store still shows it live.
	b.p.applyAll(ctx, []jetstream.Msg{b.cmd(job.Command{Type: job.Delete, JobID: "s1"}, false)})
	b.p.applyAll(ctx, []jetstream.Msg{b.cmd(job.Command{Type: job.Create, JobID: "s2", JobKey: "k2", Spec: spec("biz")}, false)})
	if o := b.reply(t, "create-s2"); o.Error != nil {
		t.Fatalf("scheduled after a delete not yet written: %+v", o.Error)
	}
	// s2 not written: the store knows no schedule of the behaviour but s1, deleted.
	b.p.applyAll(ctx, []jetstream.Msg{b.cmd(job.Command{Type: job.Create, JobID: "s3", JobKey: "k3", Spec: spec("biz")}, false)})
	if o := b.reply(t, "create-s3"); o.Error == nil || !errors.Is(wire.ErrorFromPayload(*o.Error), job.ErrBizTaken) {
		t.Fatalf("a second schedule while the first is not written: %+v", o)
	}
	b.store.failing(nil)
	b.written(t)
	if _, ok := b.store.job("s3"); ok {
		t.Fatal("the refused schedule was written")
	}
	if j, _ := b.store.job("s2"); !j.Live() || b.store.biz["p/biz"] != "s2" {
		t.Fatalf("written: s2 %+v, the behaviour's key to %q", j, b.store.biz["p/biz"])
	}
}

func TestAMessageThatIsNotACommandIsSetAsideAndTheRestApply(t *testing.T) {
	b := setup(t)
	errs := b.apply(t, &msg{data: []byte("{not json"), seq: 99},
		b.cmd(job.Command{Type: job.Create, JobID: "j1", JobKey: "k1", Spec: spec("")}, false))
	if !bus.IsPoison(errs[0]) || errs[1] != nil {
		t.Fatalf("errors %v; want poison, then none", errs)
	}
	if _, ok := b.store.jobs["j1"]; !ok {
		t.Fatal("the command after the bad message was not applied")
	}
}

func TestAnIdempotentCommandAppliedBeforeIsAnsweredWithItsKeptOutcomeAlone(t *testing.T) {
	b := setup(t)
	create := b.cmd(job.Command{Type: job.Create, JobID: "j1", JobKey: "k1", Spec: spec("")}, true)
	b.apply(t, create)
	if b.reply(t, "create-j1").Kept {
		t.Fatal("a first application is answered as a repeat")
	}
	writes, events := len(b.store.writes), len(b.events.log)
	b.p.memo = newMemo() // a new term: nothing remembered
	if errs := b.apply(t, create); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if len(b.store.writes) != writes || len(b.events.log) != events {
		t.Fatal("a kept outcome's command was applied again")
	}
	if o := b.reply(t, "create-j1"); o.Job == nil || o.Job.ID != "j1" || !o.Kept {
		t.Fatalf("answer %+v; want the kept outcome, marked as answering a repeat", o)
	}
}

func TestAnExecStoresItsFireOnceAndRemembersItsCommand(t *testing.T) {
	b := setup(t)
	b.apply(t, b.cmd(job.Command{Type: job.Create, JobID: "j1", JobKey: "k1", Spec: spec("")}, false))
	exec := b.cmd(job.Command{Type: job.Exec, JobID: "j1"}, false)
	b.apply(t, exec)
	o := b.reply(t, "exec-j1")
	if o.FireID != job.ManualFireID("j1", "exec-j1") {
		t.Fatalf("exec answered fire %q", o.FireID)
	}
	if got := b.store.jobs["j1"].Job.LastCommand; got != "exec-j1" {
		t.Fatalf("the job remembers %q", got)
	}
	b.apply(t, exec) // redelivered
	if len(b.fires.stored) != 1 || b.sched.seq["j1"] != 1 {
		t.Fatalf("fires %v, run numbers taken %d; want one", b.fires.stored, b.sched.seq["j1"])
	}
	// Redelivered after a crash between storing its fire and writing the job: the job
	// does not remember it, so the exec is decided again, and its fire is found stored.
	sj := b.store.jobs["j1"]
	sj.Job.LastCommand = "create-j1"
	b.store.jobs["j1"] = sj
	b.p.memo = newMemo()
	b.apply(t, exec)
	if len(b.fires.stored) != 1 || b.sched.seq["j1"] != 1 {
		t.Fatalf("after the crash: fires %v, run numbers taken %d; want one of each", b.fires.stored, b.sched.seq["j1"])
	}
	if o := b.reply(t, "exec-j1"); o.FireID != job.ManualFireID("j1", "exec-j1") {
		t.Fatalf("answered fire %q", o.FireID)
	}
}

// A backfill stores its first Concurrency fires, each saying what its run's end
// releases; a continuation (sent after such an end) stores the instant Concurrency after
// it, none past the backfill's end; applied again, nothing more is stored.
func TestABackfillReleasesConcurrencyFiresAndEachEndTheNext(t *testing.T) {
	b := setup(t)
	b.apply(t, b.cmd(job.Command{Type: job.Create, JobID: "j1", JobKey: "k1", Spec: spec("")}, false))
	from := b.at.Add(-10 * time.Minute)
	minute := func(k int) time.Time { return from.Add(time.Duration(k) * time.Minute) }
	bf := b.cmd(job.Command{Type: job.Backfill, JobID: "j1", Backfill: &job.BackfillRange{From: from, To: minute(4), Concurrency: 2}}, false)
	b.apply(t, bf)
	o := b.reply(t, "backfill-j1")
	if o.Error != nil || o.Backfilled == nil || o.Backfilled.Fires != 5 || !o.Backfilled.First.Equal(from) || !o.Backfilled.Last.Equal(minute(4)) || o.Backfilled.Capped {
		t.Fatalf("answer %+v %+v", o, o.Backfilled)
	}
	check := func(want ...int) {
		t.Helper()
		if len(b.fires.log) != len(want) {
			t.Fatalf("%d fires stored, want %d", len(b.fires.log), len(want))
		}
		for i, f := range b.fires.log {
			bt := f.Then
			if !f.CatchUp || f.AfterFireID != "" || f.RunType != contracts.RunTypeBackfill || !f.ScheduledAt.Equal(minute(want[i])) ||
				f.FireID != job.BackfillFireID("j1", "backfill-j1", minute(want[i])) || bt == nil || bt.Backfill == nil ||
				bt.Backfill.Of != "backfill-j1" || !bt.Backfill.At.Equal(minute(want[i])) || !bt.Backfill.To.Equal(minute(4)) || bt.Backfill.Concurrency != 2 {
				t.Fatalf("fire %d: %+v then %+v; want the backfill's claimed fire of minute %d", i, f, bt, want[i])
			}
		}
	}
	check(0, 1)
	if got := b.store.jobs["j1"].Job.LastCommand; got != "backfill-j1" {
		t.Fatalf("the job remembers %q", got)
	}
	b.apply(t, bf) // redelivered
	check(0, 1)
	next := func(k int) jetstream.Msg {
		return b.cmd(job.Command{ID: "next-" + strconv.Itoa(k), Type: job.Backfill, JobID: "j1",
			Backfill: &job.BackfillRange{From: minute(k), To: minute(4), Concurrency: 2, Of: "backfill-j1"}}, false)
	}
	b.apply(t, next(1)) // minute 1's run ended first: minute 3 takes its place
	b.apply(t, next(0))
	check(0, 1, 3, 2)
	b.apply(t, next(3), next(2)) // minute 3's: past the end, nothing; minute 2's: minute 4
	check(0, 1, 3, 2, 4)
	b.apply(t, next(4), next(0)) // the last's end releases nothing; one applied again, nothing
	check(0, 1, 3, 2, 4)
	if b.sched.seq["j1"] != 5 {
		t.Fatalf("%d run numbers taken, want 5", b.sched.seq["j1"])
	}
	// A range reaching into the future is refused, naming the field; nothing is stored.
	late := b.cmd(job.Command{ID: "late", Type: job.Backfill, JobID: "j1", Backfill: &job.BackfillRange{From: from, To: b.at.Add(time.Minute), Concurrency: 1}}, false)
	b.apply(t, late)
	if o := b.reply(t, "late"); o.Error == nil || o.Error.Field != "to" {
		t.Fatalf("a range into the future: %+v", o.Error)
	}
	check(0, 1, 3, 2, 4)
}

// In a synctest bubble: the writer's retries and the store's slow refusals pass on the
// bubble's clock, and Wait says when every goroutine is stuck.
func TestStagedJobsAreBoundedAndTheProcessorWaitsForTheWriterPastTheBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		b.p.Behind.Max = 2
		b.store.failing(errors.New("store away"))
		for i := range 2 {
			id := fmt.Sprintf("j%d", i)
			b.p.applyAll(context.Background(), []jetstream.Msg{b.cmd(job.Command{Type: job.Create, JobID: id, JobKey: "k" + id, Spec: spec("")}, false)})
		}
		third := make(chan []error, 1)
		go func() {
			third <- b.p.applyAll(context.Background(), []jetstream.Msg{b.cmd(job.Command{Type: job.Create, JobID: "j2", JobKey: "kj2", Spec: spec("")}, false)})
		}()
		time.Sleep(10 * time.Second) // the writer retries all the while
		synctest.Wait()
		select {
		case <-third:
			t.Fatal("a third job was staged past the bound while the store was away")
		default:
		}
		b.store.failing(nil)
		if errs := <-third; errs[0] != nil {
			t.Fatal(errs[0])
		}
		b.written(t)
		if _, ok := b.store.job("j2"); !ok {
			t.Fatal("the third job was not written")
		}
	})
}

func TestTwoWritesInOneFetchCannotEachCloseHalfOfALoop(t *testing.T) {
	b := setup(t)
	b.apply(t, b.cmd(job.Command{Type: job.Create, JobID: "a", JobKey: "ka", Spec: spec("")}, false),
		b.cmd(job.Command{Type: job.Create, JobID: "b", JobKey: "kb", Spec: spec("")}, false))
	toB, toA := spec(""), spec("")
	toB.Policy.OnSuccess, toA.Policy.OnSuccess = []string{"b"}, []string{"a"}
	first := b.cmd(job.Command{Type: job.Update, JobID: "a", Spec: toB}, false)
	for i, err := range b.apply(t, first, b.cmd(job.Command{Type: job.Update, JobID: "b", Spec: toA}, false)) {
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	if o := b.reply(t, "update-a"); o.Error != nil {
		t.Fatalf("the first half: %+v", o.Error)
	}
	o := b.reply(t, "update-b")
	if o.Error == nil || o.Error.Code != contracts.ErrorConflict || o.Error.Field != "on_success[0]" {
		t.Fatalf("the write closing the loop was answered %+v", o)
	}
	if got := b.store.jobs["b"].Job; len(got.Spec.Policy.OnSuccess) != 0 {
		t.Fatalf("the refused chain was written: %+v", got.Spec.Policy)
	}
	// The first write redelivered is recognised, not refused as a loop of its own.
	delete(b.replies.got, "reply.update-a")
	b.apply(t, first)
	if o := b.reply(t, "update-a"); o.Error != nil {
		t.Fatalf("the first write redelivered: %+v", o.Error)
	}
}
