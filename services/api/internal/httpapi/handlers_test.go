package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api/internal/commander"
	"github.com/jobcenter/jobcenter/services/api/internal/httpapi"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// The job and Quartz handlers over a fake store and a fake commander: what a request
// becomes (the command sent, or nothing), and how each outcome is answered. The same
// requests against the real services are the end-to-end suite's.

type fakeStore struct {
	mu      sync.Mutex
	jobs    map[string]mongostore.StoredJob // by id and by key
	biz     map[string]string               // tenant/bizcode → id
	journal map[string][]mongostore.Entry   // by job id, newest first
}

func (s *fakeStore) put(j job.Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[j.ID], s.jobs[j.Key] = mongostore.StoredJob{Job: j}, mongostore.StoredJob{Job: j}
	if j.Spec.Target.BizCode != "" && j.Live() {
		s.biz[j.Tenant+"/"+j.Spec.Target.BizCode] = j.ID
	}
}

func (s *fakeStore) FindJob(_ context.Context, id string) (mongostore.StoredJob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sj, ok := s.jobs[id]; ok {
		return sj, nil
	}
	return mongostore.StoredJob{}, mongostore.ErrNotFound
}

func (s *fakeStore) ListJobs(context.Context, string, string, int64, int64) ([]mongostore.StoredJob, int64, error) {
	return nil, 0, errors.New("not used")
}

func (s *fakeStore) JournalPage(_ context.Context, jobID string, _, _, index, size int64) (mongostore.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, ok := s.journal[jobID]
	if !ok {
		return mongostore.Page{}, errors.New("no journal in this fake")
	}
	p := mongostore.Page{Index: index, Size: size, Total: int64(len(all)), Pages: (int64(len(all)) + size - 1) / size}
	lo := min((index-1)*size, int64(len(all)))
	p.Entries = all[lo:min(lo+size, int64(len(all)))]
	return p, nil
}

func (s *fakeStore) LiveSchedule(ctx context.Context, tenant, bizcode string) (mongostore.StoredJob, error) {
	s.mu.Lock()
	id, ok := s.biz[tenant+"/"+bizcode]
	s.mu.Unlock()
	if !ok {
		return mongostore.StoredJob{}, mongostore.ErrNotFound
	}
	return s.FindJob(ctx, id)
}

// fakeCommander answers each command with answer's result, keeping what it was sent.
type fakeCommander struct {
	mu     sync.Mutex
	sent   []commander.Command
	answer func(cmd commander.Command, n int) (commander.Result, error)
}

func (f *fakeCommander) Send(_ context.Context, cmd commander.Command) (commander.Result, error) {
	f.mu.Lock()
	f.sent = append(f.sent, cmd)
	n := len(f.sent)
	f.mu.Unlock()
	return f.answer(cmd, n)
}

// applied answers as the trigger applying the command would, in the simplest way.
func applied(cmd commander.Command, _ int) (commander.Result, error) {
	j := job.Job{ID: cmd.JobID, Key: cmd.JobKey, Tenant: cmd.Tenant, State: job.Stopped, CreatedAt: cmd.At, UpdatedAt: cmd.At, Version: 1}
	if cmd.Spec != nil {
		j.Spec = *cmd.Spec
	}
	if cmd.Enable {
		j.State, j.StartedAt = job.Started, cmd.At
	}
	return commander.Result{Job: &j}, nil
}

type handlerBundle struct {
	h     http.Handler
	store *fakeStore
	cmds  *fakeCommander
}

func setupHandlers(t *testing.T) *handlerBundle {
	t.Helper()
	b := &handlerBundle{
		store: &fakeStore{jobs: map[string]mongostore.StoredJob{}, biz: map[string]string{}},
		cmds:  &fakeCommander{answer: applied},
	}
	b.h = httpapi.New(httpapi.Deps{Store: b.store, Commander: b.cmds, Loc: time.UTC, StoreTimeout: time.Second,
		Clock: clock.NewFake(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)), Log: zerolog.Nop()})
	return b
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (b *handlerBundle) do(t *testing.T, method, path string, body any, headers ...string) answer {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	a := answer{status: rec.Code, header: rec.Header()}
	_ = json.Unmarshal(rec.Body.Bytes(), &a.body)
	return a
}

func intervalJob() map[string]any {
	return map[string]any{"pid": "d", "name": "n", "trigger": "interval", "seconds": 60, "code": "return 1"}
}

func errorOf(a answer) (code, field string) {
	e, _ := a.body["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	return code, field
}

func TestAnAddSendsACreateOfTheParsedDefinitionAndAnswersTheJobInfo(t *testing.T) {
	b := setupHandlers(t)
	a := b.do(t, "POST", "/api/v1/jobs", intervalJob(), "X-Project-Id", "p", "X-User-Id", "u1")
	if a.status != 201 {
		t.Fatalf("answered %d %v", a.status, a.body)
	}
	if len(b.cmds.sent) != 1 {
		t.Fatalf("sent %d commands", len(b.cmds.sent))
	}
	c := b.cmds.sent[0]
	if c.Type != job.Create || c.Tenant != "p" || c.User != "u1" || c.JobID == "" || c.JobKey == "" || c.Idempotent ||
		c.Spec == nil || c.Spec.Trigger.Every != time.Minute || c.Spec.Target.Code != "return 1" {
		t.Fatalf("sent %+v", c)
	}
	if a.body["id"] != c.JobID || a.body["jobId"] != c.JobKey {
		t.Fatalf("job info names %v / %v, the command %s / %s", a.body["id"], a.body["jobId"], c.JobID, c.JobKey)
	}
	if p, _ := a.body["jobParameter"].(map[string]any); p["seconds"] != float64(60) || p["replace_existing"] != true {
		t.Fatalf("jobParameter %v", p)
	}
}

func TestARequestWithAnIdempotencyKeyIsTheSameCommandEachTime(t *testing.T) {
	b := setupHandlers(t)
	for range 2 {
		b.do(t, "POST", "/api/v1/jobs", intervalJob(), "X-Project-Id", "p", "Idempotency-Key", "k-1")
	}
	other := intervalJob()
	other["name"] = "other"
	b.do(t, "POST", "/api/v1/jobs", other, "X-Project-Id", "p", "Idempotency-Key", "k-1")
	s := b.cmds.sent
	if len(s) != 3 || !s[0].Idempotent || s[0].Fingerprint == "" {
		t.Fatalf("sent %+v", s)
	}
	if s[0].ID != s[1].ID || s[0].JobID != s[1].JobID || s[0].JobKey != s[1].JobKey || s[0].Fingerprint != s[1].Fingerprint {
		t.Fatal("the same request with the same key made another command")
	}
	// Another body under the same key: the same command (the trigger answers it with the
	// first one's outcome), told apart by its fingerprint.
	if s[2].ID != s[0].ID || s[2].Fingerprint == s[0].Fingerprint {
		t.Fatalf("another body: id %s fingerprint %q; first %s %q", s[2].ID, s[2].Fingerprint, s[0].ID, s[0].Fingerprint)
	}
}

func TestEachOutcomeOfACommandIsAnsweredWithItsStatus(t *testing.T) {
	tests := []struct {
		name      string
		result    error
		accepted  bool
		status    int
		code      string
		wantField string
	}{
		{name: "accepted, the trigger away", accepted: true, status: 202},
		{name: "invalid", result: &job.FieldError{Field: "seconds", Msg: "must be greater than 0"}, status: 400, code: "invalid", wantField: "seconds"},
		{name: "conflict", result: &job.ConflictError{Field: "id", Msg: "a job with this id exists"}, status: 409, code: "conflict", wantField: "id"},
		{name: "not found", result: job.ErrNotFound, status: 404, code: "not_found"},
		{name: "key reused", result: commander.ErrKeyReused, status: 422, code: "idempotency_key_reused", wantField: "Idempotency-Key"},
		{name: "broker away", result: fmt.Errorf("%w: timeout", commander.ErrUnavailable), status: 503, code: "unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := setupHandlers(t)
			b.cmds.answer = func(commander.Command, int) (commander.Result, error) { return commander.Result{}, tc.result }
			a := b.do(t, "POST", "/api/v1/jobs", intervalJob(), "X-Project-Id", "p")
			if a.status != tc.status {
				t.Fatalf("answered %d %v; want %d", a.status, a.body, tc.status)
			}
			if tc.accepted {
				c := b.cmds.sent[0]
				if a.body["status"] != "accepted" || a.body["id"] != c.JobID || a.body["jobId"] != c.JobKey || a.body["commandId"] != c.ID {
					t.Fatalf("accepted answer %v", a.body)
				}
				return
			}
			if code, field := errorOf(a); code != tc.code || field != tc.wantField {
				t.Fatalf("error %v; want code %s field %q", a.body, tc.code, tc.wantField)
			}
		})
	}
}

func TestBrokenInputIsRefusedWithoutSendingAnything(t *testing.T) {
	b := setupHandlers(t)
	for _, body := range []map[string]any{
		{"pid": "d", "name": "n", "trigger": "interval", "seconds": 0, "code": "return 1"},
		{"pid": "d", "name": "n", "trigger": "interval", "seconds": 60},
		{"pid": "d", "name": "n", "trigger": "interval", "seconds": 60, "code": "def ("},
		{"pid": "d", "name": "n", "trigger": "interval", "seconds": 60, "code": "return 1", "max_instances": 101},
	} {
		if a := b.do(t, "POST", "/api/v1/jobs", body, "X-Project-Id", "p"); a.status != 400 {
			t.Errorf("%v: answered %d %v", body, a.status, a.body)
		}
	}
	if len(b.cmds.sent) != 0 {
		t.Fatalf("sent %d commands for input refused", len(b.cmds.sent))
	}
}

func TestAnotherTenantsJobIsNotFound(t *testing.T) {
	b := setupHandlers(t)
	b.store.put(job.Job{ID: "j1", Key: "k1", Tenant: "a", State: job.Stopped, Spec: *specOf(intervalJob())})
	for _, tenant := range []string{"b", "a"} {
		want := map[string]int{"a": 200, "b": 404}[tenant]
		if a := b.do(t, "GET", "/api/v1/jobs/j1", nil, "X-Project-Id", tenant); a.status != want {
			t.Fatalf("tenant %s: %d %v; want %d", tenant, a.status, a.body, want)
		}
		if a := b.do(t, "POST", "/api/v1/jobs/k1/stop", nil, "X-Project-Id", tenant); a.status != want {
			t.Fatalf("tenant %s stopping: %d %v; want %d", tenant, a.status, a.body, want)
		}
	}
	if len(b.cmds.sent) != 1 || b.cmds.sent[0].JobID != "j1" || b.cmds.sent[0].Type != job.Stop {
		t.Fatalf("sent %+v; want the owner's stop only", b.cmds.sent)
	}
}

func specOf(body map[string]any) *job.Spec {
	s, err := job.Input{Pid: body["pid"].(string), Name: body["name"].(string), Trigger: "interval",
		Seconds: ptr(int64(60)), Code: "return 1"}.ForCreate(time.Now(), time.UTC)
	if err != nil {
		panic(err)
	}
	return &s
}

func ptr[T any](v T) *T { return &v }

// Two saves of one behaviour race: the one whose create the trigger refuses, because the
// other's schedule came first, changes that schedule instead.
func TestAQuartzSaveThatLostTheRaceToCreateChangesTheSchedule(t *testing.T) {
	b := setupHandlers(t)
	winner := job.Job{ID: "s1", Key: "k1", Tenant: "T1", State: job.Started,
		Spec: job.Spec{Name: "w", Trigger: job.Trigger{Kind: job.Cron, Cron: "0 0 12 * * ?", Zone: "UTC"}, Target: job.Target{BizCode: "b1"}, Policy: job.DefaultPolicy()}}
	b.cmds.answer = func(cmd commander.Command, n int) (commander.Result, error) {
		if n == 1 {
			b.store.put(winner) // the other save, applied first
			return commander.Result{}, job.CheckBizcode(cmd.Command, &winner)
		}
		return applied(cmd, n)
	}
	save := map[string]any{"xw_quartz": map[string]any{"opttype": "save", "jobname": "n", "cronexpression": "0 0 13 * * ?", "bizcode": "b1"}}
	a := b.do(t, "POST", "/task/quartz/bizcronjob", save, "tecode", "T1")
	if a.status != 200 {
		t.Fatalf("answered %d %v", a.status, a.body)
	}
	s := b.cmds.sent
	if len(s) != 2 || s[0].Type != job.Create || s[1].Type != job.Update || s[1].JobID != "s1" || s[1].Spec.Trigger.Cron != "0 0 13 * * ?" {
		t.Fatalf("sent %+v", s)
	}
	if d, _ := a.body["resp_data"].(map[string]any); d["group_job_id"] != "s1" {
		t.Fatalf("answered %v; want the schedule s1", a.body)
	}
}

func TestAQuartzSaveOfACronThatNeverFiresIsRefusedAndSendsNothing(t *testing.T) {
	b := setupHandlers(t)
	save := map[string]any{"xw_quartz": map[string]any{"opttype": "save", "jobname": "n", "cronexpression": "0 0 12 * * ? 2001", "bizcode": "b1"}}
	a := b.do(t, "POST", "/task/quartz/bizcronjob", save, "tecode", "T1")
	if a.status != 400 || a.body["resp_code"] != "invalid" || len(b.cmds.sent) != 0 {
		t.Fatalf("answered %d %v, sent %d", a.status, a.body, len(b.cmds.sent))
	}
}

// A save may have a worker group run the behaviour, by a route (round robin unless it
// says); a route without a group, or a group that is none, is refused and sends nothing.
func TestAQuartzSaveMayHaveAWorkerGroupRunTheBehaviour(t *testing.T) {
	b := setupHandlers(t)
	save := func(extra map[string]any) answer {
		q := map[string]any{"opttype": "save", "jobname": "n", "cronexpression": "0 0 13 * * ?", "bizcode": "b1"}
		for k, v := range extra {
			q[k] = v
		}
		return b.do(t, "POST", "/task/quartz/bizcronjob", map[string]any{"xw_quartz": q}, "tecode", "T1")
	}
	for _, tc := range []struct {
		extra map[string]any
		field string
	}{
		{map[string]any{"route": "random"}, "route"},
		{map[string]any{"worker_group": "no spaces"}, "worker_group"},
		{map[string]any{"worker_group": "g", "route": "busiest"}, "route"},
	} {
		if a := save(tc.extra); a.status != 400 || !strings.Contains(fmt.Sprint(a.body["resp_msg"]), tc.field) || len(b.cmds.sent) != 0 {
			t.Fatalf("%v: answered %d %v, sent %d", tc.extra, a.status, a.body, len(b.cmds.sent))
		}
	}
	if a := save(map[string]any{"worker_group": "reports"}); a.status != 200 {
		t.Fatalf("answered %d %v", a.status, a.body)
	}
	if a := save(map[string]any{"worker_group": "reports", "route": "sharding"}); a.status != 200 {
		t.Fatalf("answered %d %v", a.status, a.body)
	}
	if s := b.cmds.sent; len(s) != 2 || s[0].Spec.Policy.Group != "reports" || s[0].Spec.Policy.Route != job.RouteRoundRobin ||
		s[1].Spec.Policy.Route != job.RouteSharding {
		t.Fatalf("sent %+v", s)
	}
}

func TestAnExecBodysParamsGoWithItsCommandAndBadOnesAreRefused(t *testing.T) {
	b := setupHandlers(t)
	b.store.put(job.Job{ID: "j1", Key: "k1", Tenant: "p", State: job.Stopped, Version: 1})
	if a := b.do(t, "POST", "/api/v1/jobs/j1/exec", nil, "X-Project-Id", "p"); a.status != 200 {
		t.Fatalf("exec without a body: %d %v", a.status, a.body)
	}
	if a := b.do(t, "POST", "/api/v1/jobs/j1/exec", map[string]any{"params": map[string]any{"day": "2026-12-01", "n": 2}},
		"X-Project-Id", "p"); a.status != 200 {
		t.Fatalf("exec with params: %d %v", a.status, a.body)
	}
	if s := b.cmds.sent; len(s) != 2 || s[0].Type != job.Exec || s[0].Params != "" || s[1].Params != `{"day":"2026-12-01","n":2}` {
		t.Fatalf("sent %+v", s)
	}
	big := strings.Repeat("x", job.MaxParams)
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{"params": []int{1}}, "params"},
		{map[string]any{"params": "day=1"}, "params"},
		{map[string]any{"params": map[string]any{"s": big}}, "params"},
		{map[string]any{"parms": map[string]any{}}, "parms"},
	} {
		a := b.do(t, "POST", "/api/v1/jobs/j1/exec", tc.body, "X-Project-Id", "p")
		if code, field := errorOf(a); a.status != 400 || code != "invalid" && code != "bad_request" || field != tc.field {
			t.Errorf("%v: answered %d %v; want 400 on %s", tc.body, a.status, a.body, tc.field)
		}
	}
	if len(b.cmds.sent) != 2 {
		t.Fatalf("sent %d commands; the refused execs sent some", len(b.cmds.sent))
	}
}

// fakeKiller answers each kill with reply, keeping what it was asked and how long it may wait.
type fakeKiller struct {
	mu    sync.Mutex
	asked []contracts.Kill
	waits []time.Duration
	reply *contracts.KillReply
}

func (k *fakeKiller) Ask(_ context.Context, kill contracts.Kill, wait time.Duration) (contracts.Kill, *contracts.KillReply, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.asked, k.waits = append(k.asked, kill), append(k.waits, wait)
	return kill, k.reply, nil
}

func TestAKillIsAnsweredByWhatBecameOfItsRun(t *testing.T) {
	ended := time.Date(2026, 12, 7, 8, 0, 1, 0, time.UTC)
	entry := func(id, status string) mongostore.Entry {
		e := mongostore.Entry{Fire: mongostore.FireRecord{ID: id, JobID: "j1", TriggerID: "j1@" + id, TriggerStatus: "success"}}
		if status != "waiting" {
			e.Run = &mongostore.RunRecord{Status: status, StartedAt: ended}
			if status != "running" {
				e.Run.EndedAt = &ended
			}
		}
		return e
	}
	tests := []struct {
		name   string
		run    string
		reply  *contracts.KillReply
		status int
		answer string
		wait   time.Duration
		asked  bool
	}{
		{name: "a run under way, killed", run: "j1@running", reply: &contracts.KillReply{Status: "failure", Killed: true}, status: 200, answer: "killed", wait: httpapi.KillWait, asked: true},
		{name: "a run that ended before the kill took hold", run: "j1@running", reply: &contracts.KillReply{Status: "success"}, status: 409, wait: httpapi.KillWait, asked: true},
		{name: "a run whose executor does not answer", run: "j1@running", status: 202, answer: "kill_requested", wait: httpapi.KillWait, asked: true},
		{name: "a run not begun", run: "j1@waiting", status: 202, answer: "kill_requested", wait: 0, asked: true},
		{name: "a run that ended", run: "j1@success", status: 409},
		{name: "a run that failed", run: "j1@failure", status: 409},
		{name: "another job's run", run: "j2@running", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := setupHandlers(t)
			b.store.put(job.Job{ID: "j1", Key: "k1", Tenant: "p", State: job.Started, Version: 1})
			b.store.journal = map[string][]mongostore.Entry{"j1": {entry("running", "running"), entry("waiting", "waiting"), entry("success", "success"), entry("failure", "failure")}}
			killer := &fakeKiller{reply: tc.reply}
			b.h = httpapi.New(httpapi.Deps{Store: b.store, Commander: b.cmds, Loc: time.UTC, StoreTimeout: time.Second, Killer: killer,
				Clock: clock.NewFake(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)), Log: zerolog.Nop()})
			a := b.do(t, "POST", "/api/v1/jobs/k1/runs/"+tc.run+"/kill", nil, "X-Project-Id", "p", "X-User-Id", "alice")
			if a.status != tc.status {
				t.Fatalf("answered %d %v; want %d", a.status, a.body, tc.status)
			}
			if tc.answer != "" && (a.body["status"] != tc.answer || a.body["triggerid"] != tc.run || a.body["killed"].(map[string]any)["by"] != "alice") {
				t.Fatalf("answer %v", a.body)
			}
			if code, field := errorOf(a); tc.status >= 400 && (field != "run" || code == "") {
				t.Fatalf("error %v, want one on run", a.body)
			}
			if got := len(killer.asked) > 0; got != tc.asked {
				t.Fatalf("the executors were asked: %v, want %v", got, tc.asked)
			}
			if tc.asked && (killer.waits[0] != tc.wait || killer.asked[0].FireID != tc.run || killer.asked[0].By != "alice" || killer.asked[0].Tenant != "p") {
				t.Fatalf("asked %+v waiting %v", killer.asked[0], killer.waits[0])
			}
		})
	}
	// Another tenant's job: not found, nothing asked.
	b := setupHandlers(t)
	b.store.put(job.Job{ID: "j1", Key: "k1", Tenant: "p", State: job.Started, Version: 1})
	if a := b.do(t, "POST", "/api/v1/jobs/j1/runs/j1@running/kill", nil, "X-Project-Id", "q"); a.status != 404 {
		t.Fatalf("another tenant's kill: %d", a.status)
	}
}
