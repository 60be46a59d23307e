package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/shared/egress"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// newClient is a Go client of the center acting as project.
func newClient(t *testing.T, c *center, project string, opts ...jobcenter.Option) *jobcenter.Client {
	t.Helper()
	cl, err := jobcenter.New(append([]jobcenter.Option{jobcenter.WithBaseURL(c.url), jobcenter.WithProject(project)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// waitRuns waits until the job's journal, read by the client, holds n finished runs.
func waitRuns(t *testing.T, cl *jobcenter.Client, id string, n int) *jobcenter.JournalPage {
	t.Helper()
	var p *jobcenter.JournalPage
	teststack.Eventually(t, 15*time.Second, "the journal never showed the runs", func() bool {
		var err error
		if p, err = cl.Journal(context.Background(), id, 1, 100); err != nil {
			t.Fatalf("journal: %v", err)
		}
		return p.ResultCount == int64(n) && len(p.Data) == n && !slices.ContainsFunc(p.Data, func(e jobcenter.JournalEntry) bool { return !e.Finished() })
	})
	return p
}

// apiErr asserts err is an *APIError with the status, code and (when not empty) field.
func apiErr(t *testing.T, err error, status int, code, field string) *jobcenter.APIError {
	t.Helper()
	var ae *jobcenter.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	if ae.Status != status || ae.Code != code || (field != "" && ae.Field != field) || ae.Message == "" {
		t.Fatalf("error %+v, want %d %s field %q", ae, status, code, field)
	}
	return ae
}

// must(call())(t) is the call's value, failing the test on its error.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func seedSpec() jobcenter.JobSpec {
	return jobcenter.JobSpec{Pid: pid, Name: "SDK周期任务", Description: "SDK周期任务, description",
		Trigger: jobcenter.TriggerInterval, Seconds: 300, Code: `log_print("周期任务", "INFO")`}
}

func TestClientCallsEveryOperationOfBothFacadesOnARealCenter(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p", jobcenter.WithUser("alice"))

	if err := cl.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}

	// AddJob: the seed's job info, typed.
	added := must(cl.AddJob(ctx, seedSpec()))(t)
	c.clk.Advance(time.Millisecond)
	if added.ID == "" || added.JobID == "" || added.Accepted != nil || added.NextRunTime != nil || added.Started() ||
		deref(added.CreateUser) != "alice" || added.ProjectID != "p" || added.DataLevel != "normal" ||
		deref(added.Code) != `log_print("周期任务", "INFO")` || added.FlowID != nil || added.JobParameter.Seconds == nil ||
		*added.JobParameter.Seconds != 300 || added.JobParameter.Trigger != "interval" || !added.JobParameter.Coalesce ||
		added.JobParameter.ID != added.JobID || added.JobParameter.ProjectID != "p" {
		t.Fatalf("added: %s", mustJSON(added))
	}
	if _, err := time.ParseInLocation(jobcenter.LocalTimeLayout, added.CreateTime, shanghai); err != nil {
		t.Fatalf("createTime %q", added.CreateTime)
	}
	// The typed job encodes back to exactly the seed's fields.
	var asMap map[string]any
	_ = json.Unmarshal([]byte(mustJSON(added)), &asMap)
	if len(asMap) != 15 {
		t.Fatalf("a job encodes with fields %v, want the seed's 15", keys(asMap))
	}

	// An Idempotency-Key makes a repeated add the same job.
	first := must(cl.AddJob(ctx, seedSpec(), jobcenter.IdempotencyKey("add-once")))(t)
	again := must(cl.AddJob(ctx, seedSpec(), jobcenter.IdempotencyKey("add-once")))(t)
	c.clk.Advance(time.Millisecond)
	if first.ID != again.ID {
		t.Fatalf("repeated add with one key made two jobs: %s %s", first.ID, again.ID)
	}

	// A broken rule is an *APIError naming the field, and errors.Is matches its code.
	bad := seedSpec()
	bad.Seconds = 0
	_, err := cl.AddJob(ctx, bad)
	apiErr(t, err, 400, "invalid", "seconds")
	if !errors.Is(err, jobcenter.ErrInvalid) || jobcenter.IsNotFound(err) {
		t.Fatalf("errors.Is on %v", err)
	}

	// A date job, its run date given as a time.
	at := c.clk.Now().Add(48 * time.Hour).Truncate(time.Second)
	dateJob := must(cl.AddJob(ctx, jobcenter.JobSpec{Pid: "other", Name: "SDK定时任务", Trigger: jobcenter.TriggerDate,
		RunDate: jobcenter.FormatRunDate(at), Code: `log_print("定时任务", "INFO")`, MaxInstances: ptr[int64](2)}))(t)
	if deref(dateJob.JobParameter.RunDate) != at.In(shanghai).Format(jobcenter.LocalTimeLayout) ||
		dateJob.JobParameter.MaxInstances == nil || *dateJob.JobParameter.MaxInstances != 2 {
		t.Fatalf("date job: %s", mustJSON(dateJob))
	}

	// GetJob by either id.
	for _, ref := range []string{added.ID, added.JobID} {
		if got := must(cl.GetJob(ctx, ref))(t); got.ID != added.ID || got.Name != "SDK周期任务" {
			t.Fatalf("get %s: %s", ref, mustJSON(got))
		}
	}

	// ListJobs: a page and the total; AllJobs pages through every one, oldest first.
	l := must(cl.ListJobs(ctx, jobcenter.ListOptions{Page: 1, Size: 2}))(t)
	if l.Total != 3 || len(l.Jobs) != 2 || l.Jobs[0].ID != added.ID {
		t.Fatalf("list: total %d, %d jobs", l.Total, len(l.Jobs))
	}
	if l := must(cl.ListJobs(ctx, jobcenter.ListOptions{Pid: "other"}))(t); l.Total != 1 || l.Jobs[0].ID != dateJob.ID {
		t.Fatalf("list of pid other: %+v", l)
	}
	var all []string
	for j, err := range cl.AllJobs(ctx, "", 1) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, j.ID)
	}
	if !slices.Equal(all, []string{added.ID, first.ID, dateJob.ID}) {
		t.Fatalf("AllJobs: %v", all)
	}

	// StartJob: the next run is about now + 300 s.
	started := must(cl.StartJob(ctx, added.JobID))(t)
	next, ok := started.NextRun(shanghai)
	if !ok || next.Before(c.clk.Now().Add(298*time.Second)) || next.After(c.clk.Now().Add(301*time.Second)) {
		t.Fatalf("started: next run %v", deref(started.NextRunTime))
	}

	// ExecJob: the run's id, then the run in the journal.
	execd := must(cl.ExecJob(ctx, added.ID))(t)
	if execd.FireID == "" {
		t.Fatal("exec gave no fire id")
	}
	p := waitRuns(t, cl, added.ID, 1)
	if e := p.Data[0]; e.TriggerID != execd.FireID || e.RunType != "manual" || e.ExeStatus != jobcenter.StatusSuccess ||
		e.JobInfoID != added.ID || !strings.Contains(e.ExeDes, "周期任务") || e.ExeStartTime == nil || e.UpdateTime == nil {
		t.Fatalf("the exec's entry: %s", mustJSON(e))
	}

	// UpdateJob: every 2 s now, pid kept; the clock fires it twice.
	upd := seedSpec()
	upd.Pid, upd.Name, upd.Seconds = "", "新SDK周期任务", 2
	updated := must(cl.UpdateJob(ctx, added.ID, upd))(t)
	if updated.Name != "新SDK周期任务" || updated.Pid != pid || *updated.JobParameter.Seconds != 2 || !updated.Started() {
		t.Fatalf("updated: %s", mustJSON(updated))
	}
	for i := 2; i <= 3; i++ {
		c.clk.Advance(2 * time.Second)
		waitRuns(t, cl, added.ID, i)
	}

	// The journal paging helper: every run once, newest first, from pages of one.
	p = must(cl.Journal(ctx, added.ID, 1, 100))(t)
	var paged []jobcenter.JournalEntry
	for e, err := range cl.AllJournal(ctx, added.ID, 1) {
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, e)
	}
	if len(paged) != 3 || mustJSON(paged) != mustJSON(p.Data) || paged[0].RunType != "trigger" || paged[2].RunType != "manual" {
		t.Fatalf("AllJournal: %s, want %s", mustJSON(paged), mustJSON(p.Data))
	}
	if t1, err := paged[0].Triggered(); err != nil || !t1.After(must(paged[1].Triggered())(t)) {
		t.Fatalf("triggertime: %v %v", t1, err)
	}
	if p := must(cl.Journal(ctx, added.ID, 2, 2))(t); p.PageIndex != 2 || p.PageSize != 2 || p.ResultCount != 3 || p.PageCount != 2 || len(p.Data) != 1 {
		t.Fatalf("page 2 of 2: %+v", p)
	}

	// StopJob, then History: every change, oldest first, with who.
	if stopped := must(cl.StopJob(ctx, added.ID))(t); stopped.Started() {
		t.Fatalf("stopped: %s", mustJSON(stopped))
	}
	h := must(cl.History(ctx, added.ID))(t)
	var events []string
	for _, ch := range h {
		events = append(events, ch.Event)
	}
	if !slices.Equal(events, []string{"created", "started", "updated", "stopped"}) || deref(h[0].User) != "alice" || h[2].Job.Name != "新SDK周期任务" {
		t.Fatalf("history: %v %s", events, mustJSON(h[0]))
	}

	// Another project sees nothing of p's: a 404, as for a job that does not exist.
	_, err = cl.ForProject("q").GetJob(ctx, added.ID)
	apiErr(t, err, 404, "not_found", "")

	// DeleteJob answers the job as deleted; it is not found afterwards, but what it did
	// (its journal) stays readable.
	if deleted := must(cl.DeleteJob(ctx, added.ID))(t); deleted.ID != added.ID {
		t.Fatalf("deleted: %s", mustJSON(deleted))
	}
	if _, err := cl.Journal(ctx, added.ID, 1, 10); err != nil {
		t.Fatalf("a deleted job's journal: %v", err)
	}
	for _, call := range []func() error{
		func() error { _, err := cl.GetJob(ctx, added.ID); return err },
		func() error { _, err := cl.StartJob(ctx, added.ID); return err },
	} {
		if err := call(); !jobcenter.IsNotFound(err) || !errors.Is(err, jobcenter.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	}

	// CronNext: the README's example, to the second.
	times := must(cl.CronNext(ctx, jobcenter.CronQuery{Expr: "0 30 2 * * ?", TZ: "America/New_York",
		From: time.Date(2025, 3, 8, 0, 0, 0, 0, time.FixedZone("EST", -5*3600)), Count: 3}))(t)
	var got []string
	for _, tm := range times {
		got = append(got, tm.Format(time.RFC3339))
	}
	if want := []string{"2025-03-08T02:30:00-05:00", "2025-03-10T02:30:00-04:00", "2025-03-11T02:30:00-04:00"}; !slices.Equal(got, want) {
		t.Fatalf("cron next: %v, want %v", got, want)
	}
	_, err = cl.CronNext(ctx, jobcenter.CronQuery{Expr: "0 0 25 * * ?"})
	apiErr(t, err, 400, "invalid", "expr")

	// The Quartz facade: save, status, fires into the journal, enable/disable/trigger/delete.
	respBiz(t, c, "p", "1202494946997833818", true)
	saved := must(cl.SaveSchedule(ctx, jobcenter.Schedule{JobName: "调度名称", CronExpression: "* * * ? * * *", BizCode: "1202494946997833818"}))(t)
	if saved.GroupJobID == "" || saved.Accepted {
		t.Fatalf("saved: %+v", saved)
	}
	st := must(cl.ScheduleStatuses(ctx, "1085425175626911843", "1202494946997833818"))(t)
	if len(st) != 1 || st[0] != (jobcenter.ScheduleStatus{JobInfoID: saved.GroupJobID, CronExpression: "* * * ? * * *", BizCode: "1202494946997833818", JobStatus: "enable"}) {
		t.Fatalf("status: %+v", st)
	}
	for i := 1; i <= 2; i++ {
		c.clk.Advance(time.Second)
		waitRuns(t, cl, saved.GroupJobID, i)
	}
	qp := must(cl.ScheduleJournal(ctx, saved.GroupJobID, 1, 1))(t)
	if qp.ResultCount != 2 || qp.PageCount != 2 || len(qp.Data) != 1 || qp.Data[0].ExeDes != "behaviour 1202494946997833818 ran" {
		t.Fatalf("schedule journal: %s", mustJSON(qp))
	}
	var qall []jobcenter.JournalEntry
	for e, err := range cl.AllScheduleJournal(ctx, saved.GroupJobID, 1) {
		if err != nil {
			t.Fatal(err)
		}
		qall = append(qall, e)
	}
	if len(qall) != 2 || qall[0].TriggerID == qall[1].TriggerID {
		t.Fatalf("AllScheduleJournal: %s", mustJSON(qall))
	}
	// Saving again changes the schedule and keeps its id.
	resaved := must(cl.SaveSchedule(ctx, jobcenter.Schedule{JobName: "调度名称", CronExpression: "0 0 12 * * ?", BizCode: "1202494946997833818", TimeZone: "Europe/Berlin"}))(t)
	if resaved.GroupJobID != saved.GroupJobID {
		t.Fatalf("save again: %s, want %s", resaved.GroupJobID, saved.GroupJobID)
	}
	if r := must(cl.DisableSchedule(ctx, saved.GroupJobID))(t); r.JobStatus != "disable" || r.JobInfoID != saved.GroupJobID {
		t.Fatalf("disable: %+v", r)
	}
	if r := must(cl.EnableSchedule(ctx, saved.GroupJobID))(t); r.JobStatus != "enable" {
		t.Fatalf("enable: %+v", r)
	}
	trig := must(cl.TriggerSchedule(ctx, saved.GroupJobID))(t)
	if trig.TriggerID == "" {
		t.Fatalf("trigger: %+v", trig)
	}
	if p := waitRuns(t, cl, saved.GroupJobID, 3); p.Data[0].TriggerID != trig.TriggerID || p.Data[0].RunType != "manual" {
		t.Fatalf("the triggered run: %s", mustJSON(p.Data[0]))
	}
	_, err = cl.SaveSchedule(ctx, jobcenter.Schedule{JobName: "x", CronExpression: "0 0 25 * * ?", BizCode: "b2"})
	apiErr(t, err, 400, "invalid", "")
	_, err = cl.ForProject("T2").ScheduleJournal(ctx, saved.GroupJobID, 1, 10)
	apiErr(t, err, 404, "not_found", "")
	if r := must(cl.DeleteSchedule(ctx, saved.GroupJobID))(t); !r.Deleted {
		t.Fatalf("delete: %+v", r)
	}
	if st := must(cl.ScheduleStatuses(ctx, "1202494946997833818"))(t); len(st) != 0 {
		t.Fatalf("status after delete: %+v", st)
	}

	// With the trigger away, a write is stored and answered 202: Accepted, applied later.
	c.stop("trigger")
	acc := must(cl.AddJob(ctx, seedSpec()))(t)
	if acc.Accepted == nil || acc.Accepted.Status != "accepted" || acc.Accepted.CommandID == "" || acc.ID == "" || acc.ID != acc.Accepted.ID {
		t.Fatalf("accepted: %s %+v", mustJSON(acc), acc.Accepted)
	}
	c.startTrigger()
	teststack.Eventually(t, 20*time.Second, "the accepted add was never applied", func() bool {
		_, err := cl.GetJob(ctx, acc.ID)
		return err == nil
	})

	// No server: the transport's error, not an *APIError.
	dead := must(jobcenter.New(jobcenter.WithBaseURL("http://127.0.0.1:1"), jobcenter.WithProject("p")))(t)
	var ae *jobcenter.APIError
	if _, err := dead.GetJob(ctx, "x"); err == nil || errors.As(err, &ae) {
		t.Fatalf("no server: %v", err)
	}
}

// The client's JobSpec sends a jitter and an overlap policy, and JobParameter reads them
// back as the server shows them: the jitter spreads the fire times and, as part of the
// trigger, is gone after an update without it; the policy reaches the executors (with
// allow_all a second fire runs while the first goes on, where skip would skip it) and is
// kept by an update without it. Bad values are *APIErrors naming their field.
func TestClientSendsAJobsJitterAndOverlapPolicyAndReadsThemBack(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p")
	// Flow "gate" answers once release is closed: its runs go on until then.
	nc := connect(t, c.stack.NATSURL)
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open)
	var calls atomic.Int64
	if _, err := nc.Subscribe(contracts.FlowSubject("p", "gate"), func(m *nats.Msg) {
		calls.Add(1)
		go func() { <-release; _ = m.Respond([]byte(`{"ok":true}`)) }()
	}); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()

	spec := jobcenter.JobSpec{Pid: pid, Name: "抖动任务", Trigger: jobcenter.TriggerInterval, Seconds: 60, FlowID: "gate",
		Jitter: 30, Overlap: jobcenter.OverlapAllowAll}
	j := must(cl.AddJob(ctx, spec))(t)
	if p := j.JobParameter; p.Jitter == nil || *p.Jitter != 30 || p.Overlap != jobcenter.OverlapAllowAll {
		t.Fatalf("jobParameter: %s", mustJSON(p))
	}
	// The typed jobParameter encodes back to exactly the server's.
	var typed, raw map[string]any
	_ = json.Unmarshal([]byte(mustJSON(j.JobParameter)), &typed)
	raw = c.do("GET", "/api/v1/jobs/"+j.ID, "p", nil).must(t, 200).obj(t)["jobParameter"].(map[string]any)
	if !reflect.DeepEqual(typed, raw) {
		t.Fatalf("the typed jobParameter %v, the server's %v", typed, raw)
	}

	// Started now (the clock stands still), the k-th fire runs at now + 60k s plus an
	// offset below 30 s, to the millisecond; the offsets differ.
	now := c.clk.Now()
	started := must(cl.StartJob(ctx, j.ID))(t)
	pv := must(cl.Preview(ctx, j.ID, 6))(t)
	if len(pv.Next) != 6 || !pv.Started {
		t.Fatalf("preview: %+v", pv)
	}
	gaps := map[time.Duration]bool{}
	for i, at := range pv.Next {
		instant := now.Add(time.Duration(i+1) * time.Minute)
		if at.Before(instant.Truncate(time.Millisecond)) || !at.Before(instant.Add(30*time.Second)) {
			t.Fatalf("fire %d at %v, not within 30 s after its instant %v", i, at, instant)
		}
		if i > 0 {
			gaps[at.Sub(pv.Next[i-1])] = true
		}
	}
	if len(gaps) == 1 {
		t.Fatalf("every fire spread alike: %v", pv.Next)
	}
	if want := pv.Next[0].In(shanghai).Format(jobcenter.LocalTimeLayout); deref(started.NextRunTime) != want {
		t.Fatalf("next_run_time %s, the preview's first %s", deref(started.NextRunTime), want)
	}

	// allow_all: a second run begins while the first goes on.
	must(cl.ExecJob(ctx, j.ID))(t)
	teststack.Eventually(t, 10*time.Second, "the first run to reach its flow", func() bool { return calls.Load() == 1 })
	must(cl.ExecJob(ctx, j.ID))(t)
	teststack.Eventually(t, 10*time.Second, "the second run to reach the flow while the first goes on", func() bool { return calls.Load() == 2 })
	open()
	for _, e := range waitRuns(t, cl, j.ID, 2).Data {
		if e.ExeStatus != jobcenter.StatusSuccess {
			t.Fatalf("an allow_all run: %s", mustJSON(e))
		}
	}

	// An update without either: the trigger has no jitter, the policy is kept.
	upd := spec
	upd.Name, upd.Jitter, upd.Overlap = "抖动任务 2", 0, ""
	if p := must(cl.UpdateJob(ctx, j.ID, upd))(t).JobParameter; p.Jitter != nil || p.Overlap != jobcenter.OverlapAllowAll {
		t.Fatalf("after an update without them: %s", mustJSON(p))
	}
	// Skip, the default, is shown as no policy.
	upd.Jitter, upd.Overlap = 45, jobcenter.OverlapSkip
	if p := must(cl.UpdateJob(ctx, j.ID, upd))(t).JobParameter; p.Jitter == nil || *p.Jitter != 45 || p.Overlap != "" {
		t.Fatalf("after an update to skip with a jitter: %s", mustJSON(p))
	}

	for _, tc := range []struct {
		edit  func(*jobcenter.JobSpec)
		field string
	}{
		{func(s *jobcenter.JobSpec) { s.Jitter = -1 }, "jitter"},
		{func(s *jobcenter.JobSpec) { s.Jitter = 86401 }, "jitter"},
		{func(s *jobcenter.JobSpec) { s.Overlap = "queue" }, "overlap"},
		{func(s *jobcenter.JobSpec) { s.Overlap, s.MaxInstances = jobcenter.OverlapBufferOne, ptr[int64](2) }, "max_instances"},
	} {
		bad := spec
		tc.edit(&bad)
		_, err := cl.UpdateJob(ctx, j.ID, bad)
		apiErr(t, err, 400, "invalid", tc.field)
		_, err = cl.AddJob(ctx, bad)
		apiErr(t, err, 400, "invalid", tc.field)
	}
	if p := must(cl.GetJob(ctx, j.ID))(t).JobParameter; p.Jitter == nil || *p.Jitter != 45 || p.Overlap != "" || p.MaxInstances != nil {
		t.Fatalf("after the refusals: %s", mustJSON(p))
	}
}

// The client's JobSpec sends a fixed delay and JobParameter reads it back as the server
// shows it. Started, the job fires Seconds after its start, has no next run while that
// run goes on, and fires next Seconds after the run ended, not after its instant; as part
// of the trigger it is gone after an update without it. Bad combinations are *APIErrors
// naming their field.
func TestClientSendsAJobsFixedDelayAndReadsItBack(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p")
	// Flow "gate" answers once release is closed: the first run goes on until then.
	nc := connect(t, c.stack.NATSURL)
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open)
	if _, err := nc.Subscribe(contracts.FlowSubject("p", "gate"), func(m *nats.Msg) {
		go func() { <-release; _ = m.Respond([]byte(`{"ok":true}`)) }()
	}); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()

	spec := jobcenter.JobSpec{Pid: pid, Name: "固定延迟", Trigger: jobcenter.TriggerInterval, Seconds: 1, FlowID: "gate", FixedDelay: true}
	j := must(cl.AddJob(ctx, spec))(t)
	if !j.JobParameter.FixedDelay {
		t.Fatalf("jobParameter: %s", mustJSON(j.JobParameter))
	}
	// The typed jobParameter encodes back to exactly the server's.
	var typed map[string]any
	_ = json.Unmarshal([]byte(mustJSON(j.JobParameter)), &typed)
	raw := c.do("GET", "/api/v1/jobs/"+j.ID, "p", nil).must(t, 200).obj(t)["jobParameter"].(map[string]any)
	if !reflect.DeepEqual(typed, raw) {
		t.Fatalf("the typed jobParameter %v, the server's %v", typed, raw)
	}

	// The first fire, a second after the start (the clock stands still until moved).
	instant := c.clk.Now().Add(time.Second)
	local := func(at time.Time) string { return at.In(shanghai).Format(jobcenter.LocalTimeLayout) }
	if s := must(cl.StartJob(ctx, j.ID))(t); deref(s.NextRunTime) != local(instant) {
		t.Fatalf("started: next run %s, want %s", deref(s.NextRunTime), local(instant))
	}
	c.clk.Advance(time.Second)
	teststack.Eventually(t, 10*time.Second, "the first run to begin", func() bool {
		p := must(cl.Journal(ctx, j.ID, 1, 10))(t)
		return len(p.Data) == 1 && p.Data[0].ExeStatus == jobcenter.StatusRunning
	})
	if g := must(cl.GetJob(ctx, j.ID))(t); g.NextRunTime != nil {
		t.Fatalf("next run %s while the run goes on", *g.NextRunTime)
	}
	// The run ends on the executor's clock, later than the instant on the center's: its
	// end, not its instant, is what the next fire counts from.
	teststack.Eventually(t, 10*time.Second, "the real clock to pass the instant", func() bool { return time.Now().After(instant) })
	open()
	ended, err := time.Parse(jobcenter.JournalTimeLayout, deref(waitRuns(t, cl, j.ID, 1).Data[0].UpdateTime))
	if err != nil || !ended.After(instant) {
		t.Fatalf("the first run ended at %v (%v), not after its instant %v", ended, err, instant)
	}
	want := ended.Add(time.Second)
	teststack.Eventually(t, 10*time.Second, "next_run_time to count from the run's end", func() bool {
		return deref(must(cl.GetJob(ctx, j.ID))(t).NextRunTime) == local(want)
	})
	c.clk.Advance(want.Sub(c.clk.Now()))
	second := waitRuns(t, cl, j.ID, 2).Data[0]
	if at, err := second.Triggered(); err != nil || !at.Equal(want) || second.RunType != "trigger" {
		t.Fatalf("the second fire: %s, want it at %v, a second after the first run ended", mustJSON(second), want)
	}

	// An update without it: the trigger has none.
	upd := spec
	upd.Name, upd.FixedDelay = "固定延迟 2", false
	if p := must(cl.UpdateJob(ctx, j.ID, upd))(t).JobParameter; p.FixedDelay {
		t.Fatalf("after an update without it: %s", mustJSON(p))
	}
	for _, tc := range []struct {
		edit  func(*jobcenter.JobSpec)
		field string
	}{
		{func(s *jobcenter.JobSpec) { s.Trigger, s.Seconds, s.Cron = jobcenter.TriggerCron, 0, "0 0 * * * ?" }, "fixed_delay"},
		{func(s *jobcenter.JobSpec) {
			s.Trigger, s.Seconds, s.RunDate = jobcenter.TriggerDate, 0, "2099-01-01 00:00:00"
		}, "fixed_delay"},
		{func(s *jobcenter.JobSpec) { s.MisfireGraceTime = ptr[int64](5) }, "misfire_grace_time"},
	} {
		bad := spec
		tc.edit(&bad)
		_, err := cl.UpdateJob(ctx, j.ID, bad)
		apiErr(t, err, 400, "invalid", tc.field)
		_, err = cl.AddJob(ctx, bad)
		apiErr(t, err, 400, "invalid", tc.field)
	}
	if g := must(cl.GetJob(ctx, j.ID))(t); g.Name != "固定延迟 2" || g.JobParameter.FixedDelay || g.JobParameter.MisfireGraceTime != nil {
		t.Fatalf("after the refusals: %s", mustJSON(g))
	}
}

// Backfill runs a job's schedule's instants over a past range, each journaled once with
// RunType "backfill" at its instant, and answers what it stored; with the same
// IdempotencyKey it stores nothing more; MaxFires runs the first of a range too wide;
// with the trigger away it is Accepted and applied when the trigger returns. Bad ranges
// are *APIErrors naming their field.
func TestClientBackfillsAPastRangeOfAJobsSchedule(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p")
	local := func(at time.Time) string { return at.In(shanghai).Format(jobcenter.LocalTimeLayout) }

	j := must(cl.AddJob(ctx, jobcenter.JobSpec{Pid: pid, Name: "补跑", Trigger: jobcenter.TriggerInterval, Seconds: 60, Code: "return 1"}))(t)
	now := c.clk.Now().Truncate(time.Second)
	from := now.Add(-10 * time.Minute)
	req := jobcenter.BackfillRequest{From: local(from), To: jobcenter.FormatRunDate(from.Add(4 * time.Minute)), Concurrency: 2}
	got := must(cl.Backfill(ctx, j.ID, req, jobcenter.IdempotencyKey("bf-1")))(t)
	want := jobcenter.Backfilled{ID: j.ID, Fires: 5, First: local(from), Last: local(from.Add(4 * time.Minute)), Concurrency: 2}
	if *got != want {
		t.Fatalf("backfill answered %+v, want %+v", *got, want)
	}
	seen := map[time.Time]bool{}
	for _, e := range waitRuns(t, cl, j.ID, 5).Data {
		at, err := e.Triggered()
		if err != nil || e.RunType != "backfill" || e.ExeStatus != jobcenter.StatusSuccess || at.Sub(from)%time.Minute != 0 ||
			at.Before(from) || at.After(from.Add(4*time.Minute)) {
			t.Fatalf("a backfill run: %s", mustJSON(e))
		}
		seen[at] = true
	}
	if len(seen) != 5 {
		t.Fatalf("instants run: %v", seen)
	}
	// Sent again with its key (its answer lost): the same answer, and no run more. A
	// backfill stores its first fires before it is answered: they would be journaled
	// before the exec's run.
	if again := must(cl.Backfill(ctx, j.ID, req, jobcenter.IdempotencyKey("bf-1")))(t); *again != want {
		t.Fatalf("the repeat answered %+v", *again)
	}
	exec := must(cl.ExecJob(ctx, j.ID))(t)
	if p := waitRuns(t, cl, j.ID, 6); p.Data[0].TriggerID != exec.FireID {
		t.Fatalf("after the repeat and an exec: %s", mustJSON(p.Data))
	}

	// A range of more than 10,000 instants (eight days of minutes) runs its first
	// MaxFires only when asked so.
	wide := jobcenter.BackfillRequest{From: jobcenter.FormatRunDate(now.Add(-8 * 24 * time.Hour)), To: jobcenter.FormatRunDate(now)}
	_, err := cl.Backfill(ctx, j.ID, wide)
	apiErr(t, err, 400, "invalid", "to")
	wide.MaxFires = 3
	if got := must(cl.Backfill(ctx, j.ID, wide))(t); got.Fires != 3 || !got.Capped || got.Concurrency != 1 ||
		got.First != local(now.Add(-8*24*time.Hour)) || got.Last != local(now.Add(-8*24*time.Hour+2*time.Minute)) {
		t.Fatalf("a capped backfill answered %+v", *got)
	}
	waitRuns(t, cl, j.ID, 9)

	for _, tc := range []struct {
		req   jobcenter.BackfillRequest
		field string
	}{
		{jobcenter.BackfillRequest{To: local(now)}, "from"},
		{jobcenter.BackfillRequest{From: "yesterday", To: local(now)}, "from"},
		{jobcenter.BackfillRequest{From: local(now.Add(-time.Hour)), To: local(now.Add(time.Hour))}, "to"},
		{jobcenter.BackfillRequest{From: local(now.Add(-time.Hour)), To: local(now.Add(-2 * time.Hour))}, "to"},
		{jobcenter.BackfillRequest{From: local(now.Add(-time.Hour)), To: local(now), Concurrency: 101}, "concurrency"},
		{jobcenter.BackfillRequest{From: local(now.Add(-time.Hour)), To: local(now), MaxFires: -1}, "max_fires"},
	} {
		_, err := cl.Backfill(ctx, j.ID, tc.req)
		apiErr(t, err, 400, "invalid", tc.field)
	}
	_, err = cl.Backfill(ctx, "no-such-job", jobcenter.BackfillRequest{From: local(now.Add(-time.Hour)), To: local(now)})
	if apiErr(t, err, 404, "not_found", ""); !errors.Is(err, jobcenter.ErrNotFound) {
		t.Fatalf("an unknown job: %v", err)
	}
	if p := must(cl.Journal(ctx, j.ID, 1, 100))(t); p.ResultCount != 9 {
		t.Fatalf("after the refusals: %d runs", p.ResultCount)
	}

	// With the trigger away, the backfill is stored and answered 202: Accepted, applied
	// when the trigger returns, as of its acceptance.
	c.stop("trigger")
	acc := must(cl.Backfill(ctx, j.ID, jobcenter.BackfillRequest{From: local(now.Add(-time.Hour)), To: local(now.Add(-time.Hour + time.Minute))}))(t)
	if acc.Accepted == nil || acc.Accepted.Status != "accepted" || acc.Accepted.CommandID == "" || acc.ID != j.ID || acc.Fires != 0 {
		t.Fatalf("accepted: %+v %+v", *acc, acc.Accepted)
	}
	c.startTrigger()
	waitRuns(t, cl, j.ID, 11)
}

// The client's calendar calls: a calendar added, read, listed, changed and deleted, its
// typed form encoding back to exactly the server's; a job's JobSpec.Calendars, read back
// as JobParameter.Calendars, whose excluded instants NextRunTime and Preview skip and a
// change of the calendar moves; a Quartz schedule's Schedule.Calendars; and every
// refusal an *APIError naming its field.
func TestClientManagesCalendarsWhoseExcludedTimesAJobSkips(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p", jobcenter.WithUser("alice"))
	local := func(at time.Time) string { return at.In(shanghai).Format(jobcenter.LocalTimeLayout) }
	now := c.clk.Now().Truncate(time.Second)

	// A range in ISO-8601 is shown in the calendar's zone (the server's, none given).
	spec := jobcenter.CalendarSpec{Name: "quiet", Description: "维护窗口",
		Ranges: []jobcenter.CalendarRange{{From: jobcenter.FormatRunDate(now.Add(90 * time.Second)), To: local(now.Add(270 * time.Second))}}}
	quiet := must(cl.AddCalendar(ctx, spec))(t)
	want := jobcenter.Calendar{CalendarSpec: jobcenter.CalendarSpec{Name: "quiet", Description: "维护窗口", Timezone: "Asia/Shanghai",
		Ranges: []jobcenter.CalendarRange{{From: local(now.Add(90 * time.Second)), To: local(now.Add(270 * time.Second))}}},
		UpdatedAt: local(c.clk.Now()), UpdatedBy: ptr("alice")}
	if !reflect.DeepEqual(*quiet, want) {
		t.Fatalf("added %s, want %s", mustJSON(quiet), mustJSON(want))
	}
	// Its window and its cron's hour are days and hours away from the test's own minutes
	// (a fixed hour 3 UTC excluded them when the test ran between 3 and 4 UTC).
	days := [...]string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
	away := now.UTC().AddDate(0, 0, 3)
	holidays := must(cl.AddCalendar(ctx, jobcenter.CalendarSpec{Name: "holidays", Timezone: "UTC", Dates: []string{"2030-10-01", "2030-10-02"},
		Weekly: []jobcenter.CalendarWindow{{From: days[away.Weekday()] + " 00:00", To: days[(away.Weekday()+2)%7] + " 00:00"}},
		Cron:   fmt.Sprintf("* * %d ? * *", (now.UTC().Hour()+12)%24)}))(t)
	// The typed calendar encodes back to exactly the server's.
	var typed, raw map[string]any
	_ = json.Unmarshal([]byte(mustJSON(holidays)), &typed)
	raw = c.do("GET", "/api/v1/calendars/holidays", "p", nil).must(t, 200).obj(t)
	if !reflect.DeepEqual(typed, raw) {
		t.Fatalf("the typed calendar %v, the server's %v", typed, raw)
	}
	if got := must(cl.Calendars(ctx))(t); len(got) != 2 || !reflect.DeepEqual(got[0], *holidays) || !reflect.DeepEqual(got[1], *quiet) {
		t.Fatalf("the project's calendars, by name: %s", mustJSON(got))
	}
	if got := must(cl.Calendar(ctx, "quiet"))(t); !reflect.DeepEqual(got, quiet) {
		t.Fatalf("read %s, added %s", mustJSON(got), mustJSON(quiet))
	}
	if got := must(cl.ForProject("q").Calendars(ctx))(t); len(got) != 0 {
		t.Fatalf("another project's calendars: %s", mustJSON(got))
	}

	// Refusals name the field; nothing is stored.
	for _, tc := range []struct {
		spec  jobcenter.CalendarSpec
		field string
	}{
		{jobcenter.CalendarSpec{Dates: []string{"2030-10-01"}}, "name"},
		{jobcenter.CalendarSpec{Name: "x"}, "dates"},
		{jobcenter.CalendarSpec{Name: "x", Dates: []string{"2030-10-01", "2030-02-30"}}, "dates[1]"},
		{jobcenter.CalendarSpec{Name: "x", Weekly: []jobcenter.CalendarWindow{{From: "SAT 00:00", To: "SUNDAY"}}}, "weekly[0].to"},
		{jobcenter.CalendarSpec{Name: "x", Ranges: []jobcenter.CalendarRange{{From: "soon", To: "later"}}}, "ranges[0].from"},
		{jobcenter.CalendarSpec{Name: "x", Cron: "0 61 * * * ?"}, "cron"},
		{jobcenter.CalendarSpec{Name: "x", Timezone: "Mars/Base", Dates: []string{"2030-10-01"}}, "timezone"},
	} {
		_, err := cl.AddCalendar(ctx, tc.spec)
		apiErr(t, err, 400, "invalid", tc.field)
	}
	_, err := cl.AddCalendar(ctx, spec)
	if apiErr(t, err, 409, "conflict", ""); !errors.Is(err, jobcenter.ErrConflict) {
		t.Fatalf("a second calendar of a name: %v", err)
	}
	_, err = cl.UpdateCalendar(ctx, "quiet", jobcenter.CalendarSpec{Name: "loud", Dates: []string{"2030-10-01"}})
	apiErr(t, err, 400, "invalid", "name")
	for _, err := range []error{second(cl.Calendar(ctx, "nope")), second(cl.UpdateCalendar(ctx, "nope", spec)), cl.DeleteCalendar(ctx, "nope"),
		second(cl.ForProject("q").Calendar(ctx, "quiet"))} {
		if !jobcenter.IsNotFound(err) {
			t.Fatalf("a calendar the project does not have: %v", err)
		}
	}
	if got := must(cl.Calendars(ctx))(t); len(got) != 2 {
		t.Fatalf("after the refusals: %s", mustJSON(got))
	}

	// A job naming them: minutes 2 to 4 after its start are no fire.
	js := jobcenter.JobSpec{Pid: pid, Name: "日历任务", Trigger: jobcenter.TriggerInterval, Seconds: 60, Code: "return 1",
		Calendars: []string{"quiet", "holidays"}}
	j := must(cl.AddJob(ctx, js))(t)
	if got := j.JobParameter.Calendars; !slices.Equal(got, []string{"quiet", "holidays"}) {
		t.Fatalf("JobParameter.Calendars %v", got)
	}
	typed = nil
	_ = json.Unmarshal([]byte(mustJSON(j.JobParameter)), &typed)
	raw = c.do("GET", "/api/v1/jobs/"+j.ID, "p", nil).must(t, 200).obj(t)["jobParameter"].(map[string]any)
	if !reflect.DeepEqual(typed, raw) {
		t.Fatalf("the typed jobParameter %v, the server's %v", typed, raw)
	}
	start := c.clk.Now().Truncate(time.Millisecond)
	started := must(cl.StartJob(ctx, j.ID))(t)
	minute := func(k int) time.Time { return start.Add(time.Duration(k) * time.Minute) }
	pv := must(cl.Preview(ctx, j.ID, 3))(t)
	if len(pv.Next) != 3 || !pv.Next[0].Equal(minute(1)) || !pv.Next[1].Equal(minute(5)) || !pv.Next[2].Equal(minute(6)) {
		t.Fatalf("preview %v; want minutes 1, 5 and 6 after the start %v", pv.Next, start)
	}
	if deref(started.NextRunTime) != local(minute(1)) {
		t.Fatalf("next_run_time %s, want %s", deref(started.NextRunTime), local(minute(1)))
	}

	// The calendar read, changed and written back: minutes 1 to 5 excluded now, the job's
	// next fire moves to minute 6 at once.
	cur := must(cl.Calendar(ctx, "quiet"))(t)
	cur.Ranges = []jobcenter.CalendarRange{{From: local(start), To: local(minute(6))}}
	cur.Description = "更长的维护窗口"
	c.clk.Advance(time.Second)
	changed := must(cl.UpdateCalendar(ctx, "quiet", cur.CalendarSpec))(t)
	if changed.Description != "更长的维护窗口" || changed.UpdatedAt != local(c.clk.Now()) || !reflect.DeepEqual(changed.Ranges, cur.Ranges) {
		t.Fatalf("updated %s", mustJSON(changed))
	}
	teststack.Eventually(t, 10*time.Second, "the job to be rescheduled past the new exclusion", func() bool {
		return deref(must(cl.GetJob(ctx, j.ID))(t).NextRunTime) == local(minute(6))
	})
	if pv := must(cl.Preview(ctx, j.ID, 1))(t); len(pv.Next) != 1 || !pv.Next[0].Equal(minute(6)) {
		t.Fatalf("preview after the change %v, want minute 6", pv.Next)
	}

	// Named, it is not deleted: the 409 names the job.
	err = cl.DeleteCalendar(ctx, "quiet")
	if ae := apiErr(t, err, 409, "conflict", ""); !strings.Contains(ae.Message, j.ID) {
		t.Fatalf("deleting a calendar a job names: %+v", ae)
	}
	for _, tc := range []struct {
		names []string
		field string
	}{{[]string{"nope"}, "calendars[0]"}, {[]string{"quiet", "quiet"}, "calendars[1]"}, {[]string{"bad name"}, "calendars[0]"}} {
		bad := js
		bad.Calendars = tc.names
		_, err := cl.UpdateJob(ctx, j.ID, bad)
		apiErr(t, err, 400, "invalid", tc.field)
		_, err = cl.AddJob(ctx, bad)
		apiErr(t, err, 400, "invalid", tc.field)
	}

	// A Quartz schedule names calendars too; saved again without, it has none.
	sched := jobcenter.Schedule{JobName: "日历调度", CronExpression: "0 0 12 * * ?", BizCode: "b-cal", Calendars: []string{"nope"}}
	_, err = cl.SaveSchedule(ctx, sched)
	if ae := apiErr(t, err, 400, "invalid", ""); !strings.Contains(ae.Message, "calendars[0]") {
		t.Fatalf("a schedule naming no calendar: %+v", ae)
	}
	sched.Calendars = []string{"holidays"}
	saved := must(cl.SaveSchedule(ctx, sched))(t)
	if got := must(cl.GetJob(ctx, saved.GroupJobID))(t).JobParameter.Calendars; !slices.Equal(got, []string{"holidays"}) {
		t.Fatalf("the schedule's calendars: %v", got)
	}
	sched.Calendars = nil
	must(cl.SaveSchedule(ctx, sched))(t)
	if got := must(cl.GetJob(ctx, saved.GroupJobID))(t).JobParameter.Calendars; got != nil {
		t.Fatalf("the schedule saved without calendars: %v", got)
	}

	// An update without them leaves the job with none; then they go.
	js.Calendars = nil
	if p := must(cl.UpdateJob(ctx, j.ID, js))(t).JobParameter; p.Calendars != nil {
		t.Fatalf("after an update without calendars: %s", mustJSON(p))
	}
	for _, name := range []string{"quiet", "holidays"} {
		if err := cl.DeleteCalendar(ctx, name); err != nil {
			t.Fatalf("delete %s: %v", name, err)
		}
	}
	if _, err := cl.Calendar(ctx, "quiet"); !jobcenter.IsNotFound(err) {
		t.Fatalf("a deleted calendar: %v", err)
	}
	if got := must(cl.Calendars(ctx))(t); len(got) != 0 {
		t.Fatalf("after the deletes: %s", mustJSON(got))
	}
}

// second is the error of a call's two results.
// httpCenter is a center whose HTTP jobs may call the loopback receiver of a test.
func httpCenter(t *testing.T) *center {
	t.Helper()
	return newCenterWith(t, func(cfg *api.Config) { cfg.HTTPReach = egress.Any }, func(cfg *executor.Config) { cfg.HTTPReach = egress.Any })
}

// The client's JobSpec sends an HTTP job's call and Job.HTTP reads it back as the server
// shows it: the method upper case, header names canonical, their values masked but for
// those that never carry a credential. The call read, sent back in an update, keeps its
// secrets: the receiver gets them on the runs after it. Bad calls are *APIErrors naming
// their field, and a job of another target shows no call.
func TestClientAddsAnHTTPJobReadsItMaskedAndAnUpdateKeepsItsSecrets(t *testing.T) {
	c := httpCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p")
	srv, got := receiver(t)

	spec := jobcenter.JobSpec{Pid: pid, Name: "HTTP任务", Trigger: jobcenter.TriggerInterval, Seconds: 300,
		HTTP: &jobcenter.HTTPCall{Method: "post", URL: srv.URL + "/ok", Body: `{"day":"today"}`, ExpectStatus: []int{200, 204},
			Headers: map[string]string{"authorization": "Bearer s3cret", "Content-Type": "application/json"}}}
	j := must(cl.AddJob(ctx, spec))(t)
	want := jobcenter.HTTPCall{Method: "POST", URL: srv.URL + "/ok", Body: `{"day":"today"}`, ExpectStatus: []int{200, 204},
		Headers: map[string]string{"Authorization": jobcenter.MaskedValue, "Content-Type": "application/json"}}
	shown := func(where string, j *jobcenter.Job) {
		t.Helper()
		if j.HTTP == nil || !reflect.DeepEqual(*j.HTTP, want) || j.Code != nil || j.FlowID != nil {
			t.Fatalf("%s shows the job as %s, want the call %s", where, mustJSON(j), mustJSON(want))
		}
	}
	shown("the add's answer", j)
	shown("a read", must(cl.GetJob(ctx, j.JobID))(t))
	l := must(cl.ListJobs(ctx, jobcenter.ListOptions{Pid: pid}))(t)
	if len(l.Jobs) != 1 {
		t.Fatalf("list: %s", mustJSON(l))
	}
	shown("the list", &l.Jobs[0])
	// The typed call encodes back to exactly the server's.
	var typed, raw map[string]any
	_ = json.Unmarshal([]byte(mustJSON(must(cl.GetJob(ctx, j.ID))(t))), &typed)
	raw = c.do("GET", "/api/v1/jobs/"+j.ID, "p", nil).must(t, 200).obj(t)
	if !reflect.DeepEqual(typed["http"], raw["http"]) || strings.Contains(mustJSON(raw), "s3cret") {
		t.Fatalf("the typed call %v, the server's %v", typed["http"], raw["http"])
	}

	// A run sends the call with its secret; the journal says what was called and got.
	x := must(cl.ExecJob(ctx, j.ID))(t)
	e := waitRuns(t, cl, j.ID, 1).Data[0]
	if e.ExeStatus != jobcenter.StatusSuccess || !strings.HasPrefix(e.ExeDes, "POST "+srv.URL+"/ok → 200 OK (") ||
		!strings.Contains(e.ExeDes, "\nhello from the receiver") || strings.Contains(e.ExeDes, "s3cret") {
		t.Fatalf("the run's journal entry: %s", mustJSON(e))
	}
	if r := got(); len(r) != 1 || r[0].method != "POST" || r[0].auth != "Bearer s3cret" || r[0].body != `{"day":"today"}` ||
		r[0].contentType != "application/json" || r[0].fireID != x.FireID {
		t.Fatalf("the receiver was sent %+v (run %s)", r, x.FireID)
	}

	// The call read, masked, sent back with another name: the secret is kept.
	upd := spec
	upd.Name, upd.HTTP = "HTTP任务 2", j.HTTP
	renamed := must(cl.UpdateJob(ctx, j.ID, upd))(t)
	shown("the update's answer", renamed)
	if renamed.Name != "HTTP任务 2" {
		t.Fatalf("update: %s", mustJSON(renamed))
	}
	must(cl.ExecJob(ctx, j.ID))(t)
	waitRuns(t, cl, j.ID, 2)
	if r := got(); len(r) != 2 || r[1].auth != "Bearer s3cret" {
		t.Fatalf("after an update that sent the call read, the receiver was sent %+v", r)
	}

	// Refused, naming the field: a masked value for a header the job does not have, a
	// header the center sets, a status that is none, two targets. The job is as it was.
	for _, tc := range []struct {
		edit  func(*jobcenter.JobSpec)
		field string
	}{
		{func(s *jobcenter.JobSpec) { s.HTTP.Headers["X-Token"] = jobcenter.MaskedValue }, "http.headers.X-Token"},
		{func(s *jobcenter.JobSpec) { s.HTTP.Headers["Host"] = "elsewhere" }, "http.headers.Host"},
		{func(s *jobcenter.JobSpec) { s.HTTP.ExpectStatus = []int{99} }, "http.expect_status"},
		{func(s *jobcenter.JobSpec) { s.HTTP.URL = "ftp://example.com/" }, "http.url"},
		{func(s *jobcenter.JobSpec) { s.Code = "return 1" }, "http"},
	} {
		bad := upd
		call := *j.HTTP
		call.Headers = map[string]string{"Authorization": jobcenter.MaskedValue, "Content-Type": "application/json"}
		bad.HTTP = &call
		tc.edit(&bad)
		_, err := cl.UpdateJob(ctx, j.ID, bad)
		apiErr(t, err, 400, "invalid", tc.field)
	}
	shown("a read after the refusals", must(cl.GetJob(ctx, j.ID))(t))

	// Another target drops the call; a code job shows none.
	upd.HTTP, upd.Code = nil, "return 1"
	if cj := must(cl.UpdateJob(ctx, j.ID, upd))(t); cj.HTTP != nil || deref(cj.Code) != "return 1" {
		t.Fatalf("the job made a code job: %s", mustJSON(cj))
	}
	if _, has := c.do("GET", "/api/v1/jobs/"+j.ID, "p", nil).must(t, 200).obj(t)["http"]; has {
		t.Fatal("a code job's info has an http field")
	}
}

func second[T any](_ T, err error) error { return err }

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// cli runs jobctl with the settings env (NAME=value) on top of a clean environment.
type cli struct {
	bin string
	env []string
}

// newCLI builds jobctl into the test's temporary directory.
func newCLI(t *testing.T, env ...string) *cli {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "jobctl")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/jobcenter/jobcenter/cmd/jobctl").CombinedOutput(); err != nil {
		t.Fatalf("go build jobctl: %v\n%s", err, out)
	}
	return &cli{bin: bin, env: env}
}

// result is one run of jobctl.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
}

// tail starts `jobctl events tail args…` and waits for the line on stderr saying it has
// begun following (or, should it end first, all it wrote there); out gathers stdout.
func (c *cli) tail(t *testing.T, ctx context.Context, args ...string) (cmd *exec.Cmd, out *bytes.Buffer, line string) {
	t.Helper()
	cmd = c.command(ctx, append([]string{"events", "tail"}, args...)...)
	out = &bytes.Buffer{}
	cmd.Stdout = out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	following := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var all []string
		for sc.Scan() {
			all = append(all, sc.Text())
			if strings.HasPrefix(sc.Text(), "following ") {
				following <- sc.Text()
			}
		}
		following <- strings.Join(all, "\n")
	}()
	return cmd, out, <-following
}

func (c *cli) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JOBCENTER_") && !strings.HasPrefix(kv, "NATS_URL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, c.env...)
	return cmd
}

// run runs jobctl to its end and checks its exit code.
func (c *cli) run(t *testing.T, wantCode int, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := c.command(ctx, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("jobctl %v: %v", args, err)
	}
	r := result{stdout: out.String(), stderr: errOut.String(), code: cmd.ProcessState.ExitCode()}
	if r.code != wantCode {
		t.Fatalf("jobctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, wantCode, r.stdout, r.stderr)
	}
	return r
}

// rows are a table's lines, each split into cells on runs of spaces.
func rows(s string) [][]string {
	var out [][]string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		out = append(out, strings.Fields(l))
	}
	return out
}

// cell finds the value of a two-column table's key.
func cell(t *testing.T, table, key string) string {
	t.Helper()
	for _, l := range strings.Split(table, "\n") {
		if v, ok := strings.CutPrefix(l, key+"  "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q row in:\n%s", key, table)
	return ""
}

func TestJobctlDrivesARealCenterWithTablesJSONAndExitCodes(t *testing.T) {
	c, keyA, keyB := keyedCenter(t)
	ctx := context.Background()
	clA := newClient(t, c, "pa", jobcenter.WithAPIKey(keyA))
	clB := newClient(t, c, "pb", jobcenter.WithAPIKey(keyB))
	// jobctl is another process: it talks to the api through a contract-checking proxy.
	ctl := newCLI(t, "JOBCENTER_URL="+contractProxy(t, c.url), "JOBCENTER_PROJECT=pa", "JOBCENTER_API_KEY="+keyA, "NATS_URL="+c.stack.NATSURL)

	t.Run("the client sends its key: none is a 401, another tenant's a 403", func(t *testing.T) {
		_, err := newClient(t, c, "pa").ListJobs(ctx, jobcenter.ListOptions{})
		if ae := apiErr(t, err, 401, "unauthorized", ""); !errors.Is(err, jobcenter.ErrUnauthorized) || ae.RequestID == "" {
			t.Fatalf("401: %+v", ae)
		}
		_, err = clA.ForProject("pb").ListJobs(ctx, jobcenter.ListOptions{})
		apiErr(t, err, 403, "forbidden", "X-Project-Id")
		_, err = clA.ForProject("pb").ScheduleStatuses(ctx, "x")
		apiErr(t, err, 403, "forbidden", "")
		must(clA.ListJobs(ctx, jobcenter.ListOptions{}))(t)
	})

	t.Run("help and usage errors", func(t *testing.T) {
		r := ctl.run(t, 0, "--help")
		for _, want := range []string{"Exit codes:", "events tail", "quartz save", "JOBCENTER_URL", "JOBCENTER_API_KEY"} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("jobctl --help lacks %q:\n%s", want, r.stdout)
			}
		}
		for _, args := range [][]string{{"add", "--help"}, {"help", "journal"}, {"events", "tail", "-h"}, {"quartz", "save", "--help"}, {"help", "preview"}} {
			r := ctl.run(t, 0, args...)
			if !strings.Contains(r.stdout, "Usage: jobctl") || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "3  not found") {
				t.Fatalf("jobctl %v help:\n%s", args, r.stdout)
			}
		}
		ctl.run(t, 1)
		ctl.run(t, 1, "frobnicate")
		ctl.run(t, 1, "quartz")
		ctl.run(t, 1, "get")
		ctl.run(t, 1, "get", "a", "b")
		ctl.run(t, 1, "list", "--no-such-flag")
		ctl.run(t, 1, "add", "--name", "x", "--code", "1")                      // when it runs is missing
		ctl.run(t, 1, "add", "--seconds", "5", "--run-date", "2030-01-01", "x") // both, and an extra argument
		// A command's help lists its own flags, however it is asked for.
		for _, args := range [][]string{{"help", "add"}, {"update", "--help"}} {
			if r := ctl.run(t, 0, args...); !strings.Contains(r.stdout, "--cron string") || !strings.Contains(r.stdout, "--timezone string") {
				t.Fatalf("jobctl %v lacks --cron and --timezone:\n%s", args, r.stdout)
			}
		}
		if r := ctl.run(t, 0, "help", "preview"); !strings.Contains(r.stdout, "--count int") {
			t.Fatalf("jobctl help preview lacks --count:\n%s", r.stdout)
		}
		if r := ctl.run(t, 1, "get", "x", "--project", ""); !strings.Contains(r.stderr, "JOBCENTER_PROJECT") {
			t.Fatalf("no project: %s", r.stderr)
		}
	})

	var id, key string
	t.Run("add start journal stop delete round trip", func(t *testing.T) {
		// add --json: the seed's job info, exactly.
		r := ctl.run(t, 0, "add", "--pid", pid, "--name", "周期任务", "--description", "d", "--seconds", "2",
			"--code", "log_print('tick', 'INFO')\nreturn 7", "--user", "bob", "--json")
		var added map[string]any
		r.json(t, &added)
		if len(added) != 15 || added["createUser"] != "bob" || added["next_run_time"] != nil || added["projectId"] != "pa" {
			t.Fatalf("add --json: %s", r.stdout)
		}
		id, key = added["id"].(string), added["jobId"].(string)

		// get: a table for people.
		r = ctl.run(t, 0, "get", key)
		if cell(t, r.stdout, "ID") != id || cell(t, r.stdout, "STATE") != "stopped" || cell(t, r.stdout, "TRIGGER") != "every 2s" ||
			cell(t, r.stdout, "NAME") != "周期任务" || cell(t, r.stdout, "NEXT RUN") != "-" || !strings.HasSuffix(cell(t, r.stdout, "CREATED"), "by bob") {
			t.Fatalf("get:\n%s", r.stdout)
		}

		// start: a table with the next run; then two fires.
		r = ctl.run(t, 0, "start", id)
		if !strings.HasPrefix(r.stdout, "started "+id+"\n") || cell(t, r.stdout, "STATE") != "started" || cell(t, r.stdout, "NEXT RUN") == "-" {
			t.Fatalf("start:\n%s", r.stdout)
		}
		for i := 1; i <= 2; i++ {
			c.clk.Advance(2 * time.Second)
			waitRuns(t, clA, id, i)
		}

		// exec --json: the run's id and the job.
		var execd struct {
			FireID string         `json:"fireId"`
			Job    map[string]any `json:"job"`
		}
		ctl.run(t, 0, "exec", id, "--json").json(t, &execd)
		if execd.FireID == "" || execd.Job["id"] != id {
			t.Fatalf("exec --json: %+v", execd)
		}
		waitRuns(t, clA, id, 3)

		// journal: a table, newest first, with a footer; --json: the server's page.
		r = ctl.run(t, 0, "journal", id, "--size", "2")
		rs := rows(r.stdout)
		if len(rs) != 4 || rs[0][0] != "TRIGGER" || rs[1][1] != "manual" || rs[1][3] != "success" || rs[1][6] != execd.FireID ||
			rs[2][1] != "trigger" || !strings.Contains(r.stdout, "page 1 of 2, 3 runs in all (next: --page 2)") {
			t.Fatalf("journal:\n%s", r.stdout)
		}
		var page jobcenter.JournalPage
		ctl.run(t, 0, "journal", id, "--page", "2", "--size", "2", "--json").json(t, &page)
		if page.PageIndex != 2 || page.PageSize != 2 || page.ResultCount != 3 || page.PageCount != 2 || len(page.Data) != 1 ||
			page.Data[0].RunType != "trigger" || page.Data[0].ExeStatus != "success" || !strings.Contains(page.Data[0].ExeDes, "7") {
			t.Fatalf("journal --json page 2: %+v", page)
		}
		var every []jobcenter.JournalEntry
		ctl.run(t, 0, "journal", id, "--all", "--size", "1", "--json").json(t, &every)
		if len(every) != 3 || every[0].TriggerID != execd.FireID {
			t.Fatalf("journal --all: %+v", every)
		}

		// exec --params: the run's parameters, shown by the journal (the table's detail
		// and the JSON's params); the Go client's ExecJobWithParams the same. Not an
		// object: a usage error, nothing sent.
		ctl.run(t, 1, "exec", id, "--params", "[1]")
		r = ctl.run(t, 0, "exec", id, "--params", `{"day": "2026-12-01"}`)
		withParams := must(clA.ExecJobWithParams(ctx, id, map[string]any{"n": 2}))(t)
		waitRuns(t, clA, id, 5)
		var runs jobcenter.JournalPage
		ctl.run(t, 0, "journal", id, "--size", "2", "--json").json(t, &runs)
		// jobctl --json indents: compare the params as they marshal.
		if runs.ResultCount != 5 || runs.Data[0].TriggerID != withParams.FireID || mustJSON(runs.Data[0].Params) != `{"n":2}` ||
			mustJSON(runs.Data[1].Params) != `{"day":"2026-12-01"}` || runs.Data[1].RunType != "manual" {
			t.Fatalf("journal of the runs with params: %s", mustJSON(runs))
		}
		if r = ctl.run(t, 0, "journal", id, "--size", "2"); !strings.Contains(r.stdout, `params {"day":"2026-12-01"}`) {
			t.Fatalf("journal table without the params:\n%s", r.stdout)
		}
		if _, err := clA.ExecJobWithParams(ctx, id, map[string]any{"big": strings.Repeat("x", 9000)}); err == nil {
			t.Fatal("params over 8 KiB were accepted")
		} else {
			apiErr(t, err, 400, "invalid", "params")
		}

		// list: the table and the SDK's array.
		r = ctl.run(t, 0, "list")
		if rs := rows(r.stdout); len(rs) != 3 || rs[1][0] != id || rs[1][1] != "started" || !strings.Contains(r.stdout, "jobs 1–1 of 1") {
			t.Fatalf("list:\n%s", r.stdout)
		}
		var list []map[string]any
		ctl.run(t, 0, "list", "--json", "--pid", pid).json(t, &list)
		if len(list) != 1 || list[0]["id"] != id {
			t.Fatalf("list --json: %s", mustJSON(list))
		}

		// update: only the flags given change.
		r = ctl.run(t, 0, "update", id, "--seconds", "400", "--retries", "2")
		if cell(t, r.stdout, "TRIGGER") != "every 400s" || cell(t, r.stdout, "NAME") != "周期任务" || !strings.Contains(cell(t, r.stdout, "TARGET"), "tick") ||
			!strings.Contains(cell(t, r.stdout, "POLICY"), "2 retries") || cell(t, r.stdout, "PID") != pid {
			t.Fatalf("update:\n%s", r.stdout)
		}
		ctl.run(t, 1, "update", id) // nothing to change

		// stop, then delete; afterwards 404 is exit 3, in words and in JSON.
		if r := ctl.run(t, 0, "stop", id); cell(t, r.stdout, "STATE") != "stopped" {
			t.Fatalf("stop:\n%s", r.stdout)
		}
		if r := ctl.run(t, 0, "delete", id, "--json"); !strings.Contains(r.stdout, `"id": "`+id+`"`) {
			t.Fatalf("delete --json:\n%s", r.stdout)
		}
		r = ctl.run(t, 3, "get", id)
		if !strings.Contains(r.stderr, "404 not_found") || r.stdout != "" {
			t.Fatalf("get after delete: %q %q", r.stdout, r.stderr)
		}
		r = ctl.run(t, 3, "stop", key, "--json")
		var e struct {
			Error struct {
				Status  int    `json:"status"`
				Code    string `json:"code"`
				Message string `json:"message"`
				Exit    int    `json:"exit"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Error.Status != 404 || e.Error.Code != "not_found" || e.Error.Exit != 3 {
			t.Fatalf("stop after delete --json: %q", r.stderr)
		}
		var h []map[string]any
		ctl.run(t, 0, "history", id, "--json").json(t, &h)
		if len(h) != 5 || h[4]["event"] != "deleted" {
			t.Fatalf("history: %s", mustJSON(h))
		}
	})

	t.Run("exit codes of rejections and failures", func(t *testing.T) {
		r := ctl.run(t, 2, "add", "--pid", pid, "--name", "x", "--seconds", "0", "--code", "1")
		if !strings.Contains(r.stderr, "400 invalid") || !strings.Contains(r.stderr, "seconds") {
			t.Fatalf("invalid: %s", r.stderr)
		}
		if r := ctl.run(t, 2, "list", "--api-key", "jc_wrong"); !strings.Contains(r.stderr, "401 unauthorized") {
			t.Fatalf("wrong key: %s", r.stderr)
		}
		ctl.run(t, 2, "list", "--project", "pb") // a's key for b: 403
		ctl.run(t, 3, "get", "no-such-job")
		if r := ctl.run(t, 4, "list", "--url", "http://127.0.0.1:1"); !strings.Contains(r.stderr, "cannot reach") {
			t.Fatalf("no server: %s", r.stderr)
		}
		ctl.run(t, 4, "events", "tail", "--nats", "nats://127.0.0.1:1", "--count", "1")
	})

	t.Run("cron next", func(t *testing.T) {
		r := ctl.run(t, 0, "cron", "next", "0 30 2 * * ?", "--tz", "America/New_York", "--from", "2025-03-08T00:00:00-05:00", "--count", "3")
		if r.stdout != "2025-03-08T02:30:00-05:00\n2025-03-10T02:30:00-04:00\n2025-03-11T02:30:00-04:00\n" {
			t.Fatalf("cron next:\n%s", r.stdout)
		}
		var out struct{ Next []string }
		ctl.run(t, 0, "cron", "next", "0", "0", "12", "?", "*", "MON-FRI", "--count", "2", "--json").json(t, &out)
		if len(out.Next) != 2 {
			t.Fatalf("cron next --json: %+v", out)
		}
		if r := ctl.run(t, 2, "cron", "next", "0 0 25 * * ?"); !strings.Contains(r.stderr, "400 invalid") {
			t.Fatalf("invalid cron: %s", r.stderr)
		}
		ctl.run(t, 1, "cron", "next")
	})

	t.Run("a cron job in its own zone: added, shown, previewed, made an interval and a cron again", func(t *testing.T) {
		const expr, trigger = "0 30 2 ? * MON-FRI", "cron 0 30 2 ? * MON-FRI (America/New_York)"
		ny, _ := time.LoadLocation("America/New_York")
		r := ctl.run(t, 0, "add", "--pid", pid, "--name", "cron 定时", "--cron", expr, "--timezone", "America/New_York", "--code", "return 1")
		id := cell(t, r.stdout, "ID")
		if cell(t, r.stdout, "TRIGGER") != trigger || cell(t, r.stdout, "STATE") != "stopped" {
			t.Fatalf("add --cron:\n%s", r.stdout)
		}
		var j jobcenter.Job
		ctl.run(t, 0, "get", id, "--json").json(t, &j)
		if p := j.JobParameter; p.Trigger != "cron" || p.Cron != expr || p.Timezone != "America/New_York" || p.Seconds != nil || p.RunDate != nil {
			t.Fatalf("get --json of a cron job: %s", mustJSON(j))
		}
		if r := ctl.run(t, 0, "list"); !slices.ContainsFunc(strings.Split(r.stdout, "\n"), func(l string) bool {
			return strings.HasPrefix(l, id) && strings.Contains(l, "  "+trigger+"  ")
		}) {
			t.Fatalf("list without the cron job's trigger:\n%s", r.stdout)
		}

		// preview: ten times, one a line, at 02:30 on weekdays in New York with its offset,
		// after now and in order; stopped, so counted as if started now.
		r = ctl.run(t, 0, "preview", j.JobID)
		lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
		if len(lines) != 11 || !strings.HasPrefix(lines[10], "(stopped: ") {
			t.Fatalf("preview:\n%s", r.stdout)
		}
		now := c.clk.Now()
		var prev time.Time
		for i, l := range lines[:10] {
			at, err := time.Parse(time.RFC3339, l)
			local := at.In(ny)
			_, off := at.Zone()
			_, nyOff := local.Zone()
			if err != nil || !at.After(now) || !at.After(prev) || local.Hour() != 2 || local.Minute() != 30 || local.Second() != 0 ||
				local.Weekday() == time.Saturday || local.Weekday() == time.Sunday || off != nyOff {
				t.Fatalf("preview line %d %q (now %v):\n%s", i, l, now, r.stdout)
			}
			prev = at
		}
		// --json: the server's shape, the same times.
		var pv map[string]any
		ctl.run(t, 0, "preview", id, "--count", "3", "--json").json(t, &pv)
		if len(pv) != 2 || pv["started"] != false || fmt.Sprint(pv["next"]) != "["+strings.Join(lines[:3], " ")+"]" {
			t.Fatalf("preview --json: %s, want the table's first three", mustJSON(pv))
		}
		ctl.run(t, 0, "start", id)
		ctl.run(t, 0, "preview", id, "--count", "1", "--json").json(t, &pv)
		if pv["started"] != true || len(pv["next"].([]any)) != 1 {
			t.Fatalf("preview --json of the started job: %s", mustJSON(pv))
		}
		if r := ctl.run(t, 0, "preview", id, "--count", "2"); strings.Contains(r.stdout, "(stopped") || len(strings.Split(strings.TrimSpace(r.stdout), "\n")) != 2 {
			t.Fatalf("preview of the started job:\n%s", r.stdout)
		}

		// An interval, then a cron again: the flag of a trigger makes the job that kind and
		// drops the other kind's fields; --timezone alone changes a cron job's zone.
		r = ctl.run(t, 0, "update", id, "--seconds", "600")
		j = jobcenter.Job{} // json.Unmarshal keeps the fields the JSON leaves out
		ctl.run(t, 0, "get", id, "--json").json(t, &j)
		if cell(t, r.stdout, "TRIGGER") != "every 600s" || j.JobParameter.Cron != "" || j.JobParameter.Timezone != "" || cell(t, r.stdout, "NAME") != "cron 定时" {
			t.Fatalf("update --seconds of a cron job:\n%s\n%s", r.stdout, mustJSON(j))
		}
		if r := ctl.run(t, 0, "preview", id, "--count", "2", "--json"); !strings.Contains(r.stdout, "+08:00") { // JOBCENTER_TZ's offset
			t.Fatalf("preview of the interval job: %s", r.stdout)
		}
		ctl.run(t, 1, "update", id, "--timezone", "Europe/Berlin") // an interval has no zone
		r = ctl.run(t, 0, "update", id, "--cron", "0 0 9 ? * MON")
		if cell(t, r.stdout, "TRIGGER") != "cron 0 0 9 ? * MON (Asia/Shanghai)" || !strings.Contains(cell(t, r.stdout, "TARGET"), "return 1") {
			t.Fatalf("update --cron of an interval job (the server's zone):\n%s", r.stdout)
		}
		if r = ctl.run(t, 0, "update", id, "--timezone", "Europe/Berlin"); cell(t, r.stdout, "TRIGGER") != "cron 0 0 9 ? * MON (Europe/Berlin)" {
			t.Fatalf("update --timezone of a cron job:\n%s", r.stdout)
		}
		for _, at := range strings.Fields(ctl.run(t, 0, "preview", id, "--count", "3").stdout) {
			if l, err := time.Parse(time.RFC3339, at); err != nil || (!strings.HasSuffix(at, "+01:00") && !strings.HasSuffix(at, "+02:00")) || l.Hour() != 9 || l.Weekday() != time.Monday {
				t.Fatalf("preview in Berlin: %q", at)
			}
		}

		// Refusals: a bad expression or zone names its field (exit 2), nothing changed;
		// two triggers, or a count of none, are usage errors.
		var e struct {
			Error struct {
				Status int    `json:"status"`
				Field  string `json:"field"`
				Exit   int    `json:"exit"`
			} `json:"error"`
		}
		for _, tc := range []struct {
			args  []string
			field string
		}{
			{[]string{"add", "--pid", pid, "--name", "x", "--cron", "0 61 * * * ?", "--code", "1"}, "cron"},
			{[]string{"add", "--pid", pid, "--name", "x", "--cron", "*/5 * * * *", "--code", "1"}, "cron"},
			{[]string{"update", id, "--cron", "0 0 0 1 1 ? 2020"}, "cron"},
			{[]string{"update", id, "--trigger", "cron", "--cron", ""}, "cron"},
			{[]string{"update", id, "--timezone", "Mars/Base"}, "timezone"},
			{[]string{"preview", id, "--count", "101"}, "count"},
		} {
			r := ctl.run(t, 2, append(tc.args, "--json")...)
			if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Error.Status != 400 || e.Error.Field != tc.field || e.Error.Exit != 2 {
				t.Fatalf("jobctl %v: %s, want a 400 naming %s", tc.args, r.stderr, tc.field)
			}
			if r := ctl.run(t, 2, tc.args...); !strings.Contains(r.stderr, "400 invalid") || !strings.Contains(r.stderr, tc.field) {
				t.Fatalf("jobctl %v: %s", tc.args, r.stderr)
			}
		}
		if r := ctl.run(t, 0, "get", id); cell(t, r.stdout, "TRIGGER") != "cron 0 0 9 ? * MON (Europe/Berlin)" {
			t.Fatalf("the job after the refusals:\n%s", r.stdout)
		}
		ctl.run(t, 1, "add", "--pid", pid, "--name", "x", "--seconds", "5", "--cron", expr, "--code", "1")
		ctl.run(t, 1, "update", id, "--run-date", "2030-01-01 00:00:00", "--cron", expr)
		ctl.run(t, 1, "add", "--pid", pid, "--name", "x", "--timezone", "UTC", "--code", "1")
		ctl.run(t, 1, "preview", id, "--count", "0")
		ctl.run(t, 1, "preview")
		ctl.run(t, 3, "preview", "no-such-job")
		ctl.run(t, 0, "delete", id)
	})

	t.Run("a lifetime: added, shown, previewed, kept by an update, its end cleared, a bad end refused", func(t *testing.T) {
		for _, args := range [][]string{{"help", "add"}, {"update", "--help"}} {
			if r := ctl.run(t, 0, args...); !strings.Contains(r.stdout, "--start-date string") || !strings.Contains(r.stdout, "--end-date string") {
				t.Fatalf("jobctl %v lacks --start-date and --end-date:\n%s", args, r.stdout)
			}
		}
		// The clock stands still: a stopped job's preview counts from now, every 600 s.
		now := c.clk.Now()
		iso := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
		local := func(d time.Duration) string { return now.Add(d).In(shanghai).Format(jobcenter.LocalTimeLayout) }
		start, end := 25*time.Minute, 94*time.Minute
		// fires reads preview --json: the times the job fires at, each checked within its
		// lifetime and count of them.
		fires := func(t *testing.T, id string, count, want int, every time.Duration) {
			t.Helper()
			var pv struct{ Next []string }
			ctl.run(t, 0, "preview", id, "--count", strconv.Itoa(count), "--json").json(t, &pv)
			if len(pv.Next) != want {
				t.Fatalf("preview of %d: %d times, want %d: %v", count, len(pv.Next), want, pv.Next)
			}
			first := (start + every - 1) / every // the first k with now + k·every at or after the start
			for i, s := range pv.Next {
				at, err := time.Parse(time.RFC3339Nano, s)
				exp := now.Add((first + time.Duration(i)) * every)
				if err != nil || (!at.Equal(exp) && !at.Equal(exp.Truncate(time.Millisecond))) || at.After(now.Add(end)) {
					t.Fatalf("preview time %d %q, want %v within its lifetime: %v", i, s, exp, pv.Next)
				}
			}
		}

		// add: the start in ISO-8601, the end in the server's local form; both shown in
		// the local form.
		r := ctl.run(t, 0, "add", "--pid", pid, "--name", "限期任务", "--seconds", "600", "--code", "return 1",
			"--start-date", iso(start), "--end-date", local(end))
		id := cell(t, r.stdout, "ID")
		lifetime := "from " + local(start) + " until " + local(end)
		if cell(t, r.stdout, "LIFETIME") != lifetime || cell(t, r.stdout, "TRIGGER") != "every 600s" {
			t.Fatalf("add with a lifetime:\n%s", r.stdout)
		}
		if r := ctl.run(t, 0, "get", id); cell(t, r.stdout, "LIFETIME") != lifetime {
			t.Fatalf("get of a job with a lifetime:\n%s", r.stdout)
		}
		var j jobcenter.Job
		ctl.run(t, 0, "get", id, "--json").json(t, &j)
		if p := j.JobParameter; deref(p.StartDate) != local(start) || deref(p.EndDate) != local(end) {
			t.Fatalf("get --json of a job with a lifetime: %s", mustJSON(j))
		}

		// preview: from the first fire at or after the start to the last before the end:
		// at 30, 40, … 90 minutes, seven in all, fewer than the count asked.
		fires(t, id, 10, 7, 10*time.Minute)
		if r := ctl.run(t, 0, "preview", id); !strings.Contains(r.stdout, "(no more: it fires 7 more times)") || !strings.Contains(r.stdout, "(stopped: ") {
			t.Fatalf("preview of a job with a lifetime:\n%s", r.stdout)
		}
		ctl.run(t, 0, "start", id)
		fires(t, id, 10, 7, 10*time.Minute)

		// update: a lifetime not mentioned is kept, with another name or period.
		r = ctl.run(t, 0, "update", id, "--name", "限期任务 2")
		if cell(t, r.stdout, "LIFETIME") != lifetime || cell(t, r.stdout, "NAME") != "限期任务 2" {
			t.Fatalf("update --name of a job with a lifetime:\n%s", r.stdout)
		}
		if r = ctl.run(t, 0, "update", id, "--seconds", "300"); cell(t, r.stdout, "LIFETIME") != lifetime {
			t.Fatalf("update --seconds of a job with a lifetime:\n%s", r.stdout)
		}
		fires(t, id, 20, 14, 5*time.Minute) // at 25, 30, … 90 minutes

		// A bad end: refused naming end_date (exit 2), the lifetime as it was.
		var e struct {
			Error struct {
				Status int    `json:"status"`
				Field  string `json:"field"`
				Exit   int    `json:"exit"`
			} `json:"error"`
		}
		for _, args := range [][]string{
			{"update", id, "--end-date", iso(-time.Hour)},       // in the past
			{"update", id, "--end-date", iso(10 * time.Minute)}, // before the start
			{"update", id, "--end-date", "next tuesday"},        // not a date
			{"add", "--pid", pid, "--name", "x", "--seconds", "5", "--code", "1", "--end-date", "2020-01-01 00:00:00"},
		} {
			r := ctl.run(t, 2, append(args, "--json")...)
			if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Error.Status != 400 || e.Error.Field != "end_date" || e.Error.Exit != 2 {
				t.Fatalf("jobctl %v: %s, want a 400 naming end_date", args, r.stderr)
			}
			if r := ctl.run(t, 2, args...); !strings.Contains(r.stderr, "400 invalid") || !strings.Contains(r.stderr, "end_date") {
				t.Fatalf("jobctl %v: %s", args, r.stderr)
			}
		}
		if r := ctl.run(t, 0, "get", id); cell(t, r.stdout, "LIFETIME") != lifetime {
			t.Fatalf("the job after the refusals:\n%s", r.stdout)
		}

		// --end-date '': no end; the start kept. It fires on, past the old end.
		r = ctl.run(t, 0, "update", id, "--end-date", "")
		if cell(t, r.stdout, "LIFETIME") != "from "+local(start) {
			t.Fatalf("update --end-date '':\n%s", r.stdout)
		}
		j = jobcenter.Job{}
		ctl.run(t, 0, "get", id, "--json").json(t, &j)
		if p := j.JobParameter; deref(p.StartDate) != local(start) || p.EndDate != nil {
			t.Fatalf("get --json after the end was cleared: %s", mustJSON(j))
		}
		end = 1000 * time.Hour
		fires(t, id, 20, 20, 5*time.Minute)

		// A date job has no lifetime: the one kept is dropped when the job becomes one.
		r = ctl.run(t, 0, "update", id, "--run-date", iso(3*time.Hour))
		j = jobcenter.Job{}
		ctl.run(t, 0, "get", id, "--json").json(t, &j)
		if p := j.JobParameter; p.Trigger != "date" || p.StartDate != nil || p.EndDate != nil || strings.Contains(r.stdout, "LIFETIME") {
			t.Fatalf("update --run-date of a job with a lifetime:\n%s\n%s", r.stdout, mustJSON(j))
		}
		r = ctl.run(t, 2, "update", id, "--start-date", iso(time.Hour), "--json")
		if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Error.Status != 400 || e.Error.Field != "start_date" {
			t.Fatalf("a date job given a lifetime: %s", r.stderr)
		}
		ctl.run(t, 0, "delete", id)
	})

	t.Run("a jitter and an overlap policy: added, shown, previewed spread, kept by updates, cleared, bad ones refused", func(t *testing.T) {
		for _, args := range [][]string{{"help", "add"}, {"update", "--help"}} {
			if r := ctl.run(t, 0, args...); !strings.Contains(r.stdout, "--jitter int") || !strings.Contains(r.stdout, "--overlap string") {
				t.Fatalf("jobctl %v lacks --jitter and --overlap:\n%s", args, r.stdout)
			}
		}
		const jitter, policy = "up to 120s after each instant", "overlap cancel_other (a fire kills the run under way)"
		r := ctl.run(t, 0, "add", "--pid", pid, "--name", "抖动任务", "--seconds", "600", "--code", "return 1",
			"--jitter", "120", "--overlap", "cancel_other")
		id := cell(t, r.stdout, "ID")
		if cell(t, r.stdout, "JITTER") != jitter || cell(t, r.stdout, "POLICY") != policy || cell(t, r.stdout, "TRIGGER") != "every 600s" {
			t.Fatalf("add with a jitter and an overlap policy:\n%s", r.stdout)
		}
		var j jobcenter.Job
		ctl.run(t, 0, "get", id, "--json").json(t, &j)
		if p := j.JobParameter; p.Jitter == nil || *p.Jitter != 120 || p.Overlap != jobcenter.OverlapCancelOther {
			t.Fatalf("get --json: %s", mustJSON(j))
		}

		// Started now (the clock stands still), the k-th fire runs at now + 600k s plus an
		// offset below 120 s of its own; NEXT RUN is the first.
		now := c.clk.Now()
		r = ctl.run(t, 0, "start", id)
		var pv struct{ Next []string }
		ctl.run(t, 0, "preview", id, "--count", "5", "--json").json(t, &pv)
		if len(pv.Next) != 5 {
			t.Fatalf("preview: %v", pv.Next)
		}
		offsets := map[time.Duration]bool{}
		for i, s := range pv.Next {
			at, err := time.Parse(time.RFC3339Nano, s)
			instant := now.Add(time.Duration(i+1) * 10 * time.Minute)
			if err != nil || at.Before(instant.Truncate(time.Millisecond)) || !at.Before(instant.Add(2*time.Minute)) {
				t.Fatalf("preview time %d %q, not within 120 s after %v", i, s, instant)
			}
			offsets[at.Sub(instant).Round(time.Millisecond)] = true
			if i == 0 && cell(t, r.stdout, "NEXT RUN") != at.In(shanghai).Format(jobcenter.LocalTimeLayout) {
				t.Fatalf("NEXT RUN of the started job, the preview's first %s:\n%s", s, r.stdout)
			}
		}
		if len(offsets) == 1 {
			t.Fatalf("every fire spread alike: %v", pv.Next)
		}

		// Updates that do not name them keep both: the jitter from the job read, the policy
		// by the server.
		for _, args := range [][]string{{"--name", "抖动任务 2"}, {"--seconds", "300"}} {
			r = ctl.run(t, 0, append([]string{"update", id}, args...)...)
			if cell(t, r.stdout, "JITTER") != jitter || cell(t, r.stdout, "POLICY") != policy {
				t.Fatalf("update %v:\n%s", args, r.stdout)
			}
		}

		// Refused naming the field (exit 2), or a usage error (exit 1); the job as it was.
		var e struct {
			Error struct {
				Status int    `json:"status"`
				Field  string `json:"field"`
			} `json:"error"`
		}
		for _, tc := range []struct {
			args  []string
			field string
		}{
			{[]string{"update", id, "--jitter", "-1"}, "jitter"},
			{[]string{"update", id, "--jitter", "86401"}, "jitter"},
			{[]string{"update", id, "--overlap", "queue"}, "overlap"},
			{[]string{"update", id, "--max-instances", "2"}, "max_instances"},
			{[]string{"add", "--pid", pid, "--name", "x", "--seconds", "5", "--code", "1", "--overlap", "buffer_one", "--max-instances", "3"}, "max_instances"},
		} {
			r := ctl.run(t, 2, append(tc.args, "--json")...)
			if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Error.Status != 400 || e.Error.Field != tc.field {
				t.Fatalf("jobctl %v: %s, want a 400 naming %s", tc.args, r.stderr, tc.field)
			}
		}
		ctl.run(t, 1, "update", id, "--jitter", "soon")
		r = ctl.run(t, 0, "get", id)
		if cell(t, r.stdout, "JITTER") != jitter || cell(t, r.stdout, "POLICY") != policy || cell(t, r.stdout, "TRIGGER") != "every 300s" {
			t.Fatalf("the job after the refusals:\n%s", r.stdout)
		}

		// --jitter 0 and --overlap skip: neither shown any more.
		r = ctl.run(t, 0, "update", id, "--jitter", "0", "--overlap", "skip")
		if strings.Contains(r.stdout, "JITTER") || cell(t, r.stdout, "POLICY") != "default (coalesce, 1 at once, no retries)" {
			t.Fatalf("update --jitter 0 --overlap skip:\n%s", r.stdout)
		}
		j = jobcenter.Job{}
		ctl.run(t, 0, "get", id, "--json").json(t, &j)
		if p := j.JobParameter; p.Jitter != nil || p.Overlap != "" {
			t.Fatalf("get --json after the jitter and policy were cleared: %s", mustJSON(j))
		}
		ctl.run(t, 0, "delete", id)
	})

	t.Run("a fixed delay: added, shown, counted from the run's end, kept by updates, dropped and cleared, bad ones refused", func(t *testing.T) {
		for _, args := range [][]string{{"help", "add"}, {"update", "--help"}} {
			if r := ctl.run(t, 0, args...); !strings.Contains(r.stdout, "  --fixed-delay  ") {
				t.Fatalf("jobctl %v lacks --fixed-delay:\n%s", args, r.stdout)
			}
		}
		r := ctl.run(t, 0, "add", "--pid", pid, "--name", "固定延迟", "--seconds", "1", "--code", "return 1", "--fixed-delay")
		id := cell(t, r.stdout, "ID")
		if cell(t, r.stdout, "FIXED DELAY") != "each fire 1s after the last run ended" || cell(t, r.stdout, "TRIGGER") != "every 1s" {
			t.Fatalf("add --fixed-delay:\n%s", r.stdout)
		}
		var j jobcenter.Job
		ctl.run(t, 0, "get", id, "--json").json(t, &j)
		if !j.JobParameter.FixedDelay {
			t.Fatalf("get --json: %s", mustJSON(j))
		}

		// Started now (the clock stands still), it fires a second later. Its run ends on
		// the executor's clock, later than the instant on the center's, and NEXT RUN is a
		// second after that end.
		local := func(at time.Time) string { return at.In(shanghai).Format(jobcenter.LocalTimeLayout) }
		instant := c.clk.Now().Add(time.Second)
		if r := ctl.run(t, 0, "start", id); cell(t, r.stdout, "NEXT RUN") != local(instant) {
			t.Fatalf("start, want the next run at %s:\n%s", local(instant), r.stdout)
		}
		teststack.Eventually(t, 10*time.Second, "the real clock to pass the instant", func() bool { return time.Now().After(instant) })
		c.clk.Advance(time.Second)
		ended, err := time.Parse(jobcenter.JournalTimeLayout, deref(waitRuns(t, clA, id, 1).Data[0].UpdateTime))
		if err != nil || !ended.After(instant) {
			t.Fatalf("the run ended at %v (%v), not after its instant %v", ended, err, instant)
		}
		teststack.Eventually(t, 10*time.Second, "NEXT RUN to count from the run's end", func() bool {
			return cell(t, ctl.run(t, 0, "get", id).stdout, "NEXT RUN") == local(ended.Add(time.Second))
		})

		// Updates that do not name it keep it, in the words of the new period.
		r = ctl.run(t, 0, "update", id, "--name", "固定延迟 2")
		if cell(t, r.stdout, "FIXED DELAY") != "each fire 1s after the last run ended" {
			t.Fatalf("update --name:\n%s", r.stdout)
		}
		r = ctl.run(t, 0, "update", id, "--seconds", "300")
		if cell(t, r.stdout, "FIXED DELAY") != "each fire 300s after the last run ended" {
			t.Fatalf("update --seconds:\n%s", r.stdout)
		}

		// Refused naming the field (exit 2); the job as it was.
		var e struct {
			Error struct {
				Status int    `json:"status"`
				Field  string `json:"field"`
			} `json:"error"`
		}
		for _, tc := range []struct {
			args  []string
			field string
		}{
			{[]string{"update", id, "--misfire-grace-time", "5"}, "misfire_grace_time"},
			{[]string{"update", id, "--cron", "0 0 * * * ?", "--fixed-delay"}, "fixed_delay"},
			{[]string{"add", "--pid", pid, "--name", "x", "--run-date", "2099-01-01 00:00:00", "--code", "1", "--fixed-delay"}, "fixed_delay"},
		} {
			r := ctl.run(t, 2, append(tc.args, "--json")...)
			if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Error.Status != 400 || e.Error.Field != tc.field {
				t.Fatalf("jobctl %v: %s, want a 400 naming %s", tc.args, r.stderr, tc.field)
			}
		}
		r = ctl.run(t, 0, "get", id)
		if cell(t, r.stdout, "FIXED DELAY") != "each fire 300s after the last run ended" || cell(t, r.stdout, "POLICY") != "default (coalesce, 1 at once, no retries)" {
			t.Fatalf("the job after the refusals:\n%s", r.stdout)
		}

		// Made a cron job it drops its fixed delay, and an interval again has none unless
		// given; --fixed-delay=false clears it.
		r = ctl.run(t, 0, "update", id, "--cron", "0 0 * * * ?")
		if strings.Contains(r.stdout, "FIXED DELAY") || !strings.HasPrefix(cell(t, r.stdout, "TRIGGER"), "cron 0 0 * * * ?") {
			t.Fatalf("update --cron:\n%s", r.stdout)
		}
		if r = ctl.run(t, 0, "update", id, "--seconds", "60"); strings.Contains(r.stdout, "FIXED DELAY") {
			t.Fatalf("an interval again:\n%s", r.stdout)
		}
		if r = ctl.run(t, 0, "update", id, "--fixed-delay"); cell(t, r.stdout, "FIXED DELAY") != "each fire 60s after the last run ended" {
			t.Fatalf("update --fixed-delay:\n%s", r.stdout)
		}
		if r = ctl.run(t, 0, "update", id, "--fixed-delay=false"); strings.Contains(r.stdout, "FIXED DELAY") {
			t.Fatalf("update --fixed-delay=false:\n%s", r.stdout)
		}
		j = jobcenter.Job{}
		ctl.run(t, 0, "get", id, "--json").json(t, &j)
		if j.JobParameter.FixedDelay {
			t.Fatalf("get --json after the fixed delay was cleared: %s", mustJSON(j))
		}
		ctl.run(t, 0, "delete", id)
	})

	t.Run("backfill: a past range run now and journaled, sent again once, capped, bad ranges refused", func(t *testing.T) {
		r := ctl.run(t, 0, "add", "--pid", pid, "--name", "补跑", "--seconds", "60", "--code", "return 1")
		id := cell(t, r.stdout, "ID")
		local := func(at time.Time) string { return at.In(shanghai).Format(jobcenter.LocalTimeLayout) }
		now := c.clk.Now().Truncate(time.Second)
		from := now.Add(-10 * time.Minute)
		args := []string{"backfill", id, "--from", local(from), "--to", from.Add(4 * time.Minute).UTC().Format(time.RFC3339),
			"--concurrency", "2", "--idempotency-key", "bf-ctl-1"}
		r = ctl.run(t, 0, args...)
		if !strings.HasPrefix(r.stdout, "backfilled "+id+":") || cell(t, r.stdout, "FIRES") != "5" || cell(t, r.stdout, "FIRST") != local(from) ||
			cell(t, r.stdout, "LAST") != local(from.Add(4*time.Minute)) || cell(t, r.stdout, "CONCURRENCY") != "2" || cell(t, r.stdout, "CAPPED") != "no" {
			t.Fatalf("backfill:\n%s", r.stdout)
		}
		waitRuns(t, clA, id, 5)
		// The journal's RUN TYPE is backfill, each at its instant.
		r = ctl.run(t, 0, "journal", id)
		var instants []string
		for _, row := range rows(r.stdout)[1:] {
			if len(row) > 3 && row[1] == "backfill" && row[3] == "success" {
				instants = append(instants, row[0])
			}
		}
		slices.Sort(instants)
		if len(instants) != 5 || instants[0] != from.UTC().Format(jobcenter.JournalTimeLayout) || instants[4] != from.Add(4*time.Minute).UTC().Format(jobcenter.JournalTimeLayout) {
			t.Fatalf("journal: backfill runs at %v\n%s", instants, r.stdout)
		}
		// Sent again with its key: the first answer, and no run more (an exec's run is
		// journaled after the fires a repeat would have stored before its answer).
		var again jobcenter.Backfilled
		ctl.run(t, 0, append(args, "--json")...).json(t, &again)
		if again != (jobcenter.Backfilled{ID: id, Fires: 5, First: local(from), Last: local(from.Add(4 * time.Minute)), Concurrency: 2}) {
			t.Fatalf("backfill --json again: %+v", again)
		}
		ctl.run(t, 0, "exec", id)
		waitRuns(t, clA, id, 6)

		// Eight days of minutes are more than 10,000 instants: refused naming to, unless
		// --max-fires runs the first ones.
		wide := []string{"backfill", id, "--from", now.Add(-8 * 24 * time.Hour).UTC().Format(time.RFC3339), "--to", local(now)}
		var e struct {
			Error struct {
				Status int    `json:"status"`
				Field  string `json:"field"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(ctl.run(t, 2, append(wide, "--json")...).stderr), &e); err != nil || e.Error.Field != "to" {
			t.Fatalf("a range of 11,521 instants: %+v %v", e, err)
		}
		r = ctl.run(t, 0, append(wide, "--max-fires", "3")...)
		if cell(t, r.stdout, "FIRES") != "3" || cell(t, r.stdout, "CAPPED") != "yes: the range holds more instants than --max-fires" ||
			cell(t, r.stdout, "FIRST") != local(now.Add(-8*24*time.Hour)) {
			t.Fatalf("backfill --max-fires 3:\n%s", r.stdout)
		}
		waitRuns(t, clA, id, 9)

		// Refused naming the field (exit 2), a usage error (exit 1), an unknown job (exit 3):
		// nothing stored.
		hour := []string{"--from", local(now.Add(-time.Hour)), "--to", local(now)}
		for _, tc := range []struct {
			args  []string
			field string
		}{
			{[]string{"--from", "yesterday", "--to", local(now)}, "from"},
			{[]string{"--from", local(now.Add(-time.Hour)), "--to", local(now.Add(time.Hour))}, "to"},
			{[]string{"--from", local(now), "--to", local(now.Add(-time.Hour))}, "to"},
			{append([]string{"--concurrency", "101"}, hour...), "concurrency"},
			{append([]string{"--max-fires", "-1"}, hour...), "max_fires"},
		} {
			r := ctl.run(t, 2, append(append([]string{"backfill", id}, tc.args...), "--json")...)
			if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Error.Status != 400 || e.Error.Field != tc.field {
				t.Fatalf("jobctl backfill %v: %s, want a 400 naming %s", tc.args, r.stderr, tc.field)
			}
		}
		ctl.run(t, 1, "backfill", id, "--from", local(now.Add(-time.Hour)))
		ctl.run(t, 1, append([]string{"backfill", id, "--concurrency", "0"}, hour...)...)
		ctl.run(t, 1, append([]string{"backfill"}, hour...)...)
		ctl.run(t, 3, append([]string{"backfill", "no-such-job"}, hour...)...)
		if p := must(clA.Journal(ctx, id, 1, 100))(t); p.ResultCount != 9 {
			t.Fatalf("after the refusals: %d runs", p.ResultCount)
		}
		ctl.run(t, 0, "delete", id)
	})

	t.Run("quartz save status journal", func(t *testing.T) {
		respBiz(t, c, "pa", "biz-7", true)
		var saved jobcenter.Saved
		ctl.run(t, 0, "quartz", "save", "--name", "调度名称", "--cron", "* * * ? * * *", "--biz", "biz-7", "--json").json(t, &saved)
		if saved.GroupJobID == "" {
			t.Fatal("no group_job_id")
		}
		r := ctl.run(t, 0, "quartz", "status", "biz-7,unknown")
		if rs := rows(r.stdout); len(rs) < 2 || rs[1][0] != saved.GroupJobID || rs[1][2] != "enable" || !strings.Contains(r.stdout, "1 of 2 codes") {
			t.Fatalf("quartz status:\n%s", r.stdout)
		}
		c.clk.Advance(time.Second)
		waitRuns(t, clA, saved.GroupJobID, 1)
		var page jobcenter.JournalPage
		ctl.run(t, 0, "quartz", "journal", saved.GroupJobID, "--json").json(t, &page)
		if page.ResultCount != 1 || page.PageSize != 10 || page.Data[0].ExeDes != "behaviour biz-7 ran" {
			t.Fatalf("quartz journal: %+v", page)
		}
		if r := ctl.run(t, 0, "quartz", "disable", saved.GroupJobID); !strings.Contains(r.stdout, "disable") {
			t.Fatalf("quartz disable: %s", r.stdout)
		}
		ctl.run(t, 2, "quartz", "save", "--name", "x", "--cron", "nope", "--biz", "b")
		ctl.run(t, 3, "quartz", "journal", "no-such-schedule")
		ctl.run(t, 0, "quartz", "delete", saved.GroupJobID)
	})

	t.Run("events tail follows its tenant's fires and runs, not another's", func(t *testing.T) {
		mine := must(clA.AddJob(ctx, seedSpec()))(t)
		must(clA.StartJob(ctx, mine.ID))(t)

		tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		cmd, out, line := ctl.tail(t, tctx, "--count", "5", "--json")
		if !strings.HasPrefix(line, "following ") {
			t.Fatalf("events tail never began following: %s", line)
		}

		// Another tenant's job is added, run and stopped first: none of it may show.
		theirs := must(clB.AddJob(ctx, seedSpec()))(t)
		must(clB.StartJob(ctx, theirs.ID))(t)
		must(clB.ExecJob(ctx, theirs.ID))(t)
		waitRuns(t, clB, theirs.ID, 1)
		// Then one of ours fires on schedule and is stopped: fire, running, its log line
		// (live), success, stopped.
		c.clk.Advance(300 * time.Second)
		waitRuns(t, clA, mine.ID, 1)
		must(clA.StopJob(ctx, mine.ID))(t)

		if err := cmd.Wait(); err != nil {
			t.Fatalf("events tail --count 5 did not end well: %v\n%s", err, out.String())
		}
		var kinds []string
		dec := json.NewDecoder(out)
		for dec.More() {
			var e jobcenter.Event
			if err := dec.Decode(&e); err != nil {
				t.Fatal(err)
			}
			if e.Tenant != "pa" || e.JobID != mine.ID {
				t.Fatalf("events tail of pa printed another's event: %s", mustJSON(e))
			}
			kinds = append(kinds, e.Kind+"/"+e.Type)
			if e.Kind == jobcenter.KindFire && (e.Fire == nil || e.Fire.RunType != "trigger" || e.Fire.Seq != 1) {
				t.Fatalf("fire: %s", mustJSON(e))
			}
			if e.Kind == jobcenter.KindLog && (e.Log == nil || !slices.Equal(e.Log.Lines, []string{"INFO 周期任务"})) {
				t.Fatalf("log: %s", mustJSON(e))
			}
		}
		slices.Sort(kinds)
		if want := []string{"fire/fire", "lifecycle/stopped", "log/log", "run/running", "run/success"}; !slices.Equal(kinds, want) {
			t.Fatalf("events tail printed %v, want %v", kinds, want)
		}

		// A table for people: with --all the past replays; --job narrows to one job.
		r := ctl.run(t, 0, "events", "tail", "--all", "--job", mine.JobID, "--count", "2", "--kinds", "lifecycle")
		rs := rows(r.stdout)
		// A row: date, time, job, kind, event, detail.
		if len(rs) != 3 || rs[0][0] != "TIME" || rs[1][2] != mine.ID || rs[1][3] != "lifecycle" || rs[1][4] != "created" || rs[2][4] != "started" {
			t.Fatalf("events tail --all table:\n%s", r.stdout)
		}
		ctl.run(t, 3, "events", "tail", "--job", "no-such-job")
		ctl.run(t, 1, "events", "tail", "--kinds", "nope")
	})

	t.Run("versions rollback export import", func(t *testing.T) {
		j := must(clA.AddJob(ctx, seedSpec()))(t)
		v2 := seedSpec()
		v2.Seconds = 900
		must(clA.UpdateJob(ctx, j.ID, v2))(t)
		r := ctl.run(t, 0, "versions", j.ID)
		if rs := rows(r.stdout); len(rs) != 3 || rs[1][0] != "2" || rs[1][3] != "updated" || rs[2][0] != "1" || rs[2][3] != "created" {
			t.Fatalf("versions:\n%s", r.stdout)
		}
		r = ctl.run(t, 0, "rollback", j.ID, "1")
		if !strings.HasPrefix(r.stdout, "rolled back to version 1: "+j.ID) || cell(t, r.stdout, "TRIGGER") != "every 300s" {
			t.Fatalf("rollback:\n%s", r.stdout)
		}
		ctl.run(t, 3, "rollback", j.ID, "7")
		ctl.run(t, 1, "rollback", j.ID, "first")
		doc := ctl.run(t, 0, "export").stdout
		file := filepath.Join(t.TempDir(), "jobs.json")
		if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		r = ctl.run(t, 0, "import", file, "--dry-run")
		if !strings.Contains(r.stdout, "dry run: would import: 0 created, 0 changed,") || !strings.Contains(r.stdout, j.ID) {
			t.Fatalf("import --dry-run of the project's own export:\n%s", r.stdout)
		}
		var res jobcenter.ImportResult
		ctl.run(t, 0, "import", file, "--json").json(t, &res)
		if len(res.Create)+len(res.Change) != 0 || len(res.Leave) == 0 {
			t.Fatalf("import --json: %+v", res)
		}
		if err := os.WriteFile(file, []byte(`{"kind":"jobcenter.export","version":1,"project":"pa","exported_at":"2026-12-07T00:00:00Z","jobs":[{"id":"x","jobId":"y","started":false,"name":"n","pid":"d","trigger":"interval","seconds":0,"code":"x = 1"}],"schedules":[]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := ctl.run(t, 2, "import", file); !strings.Contains(r.stderr, "jobs[0].seconds") {
			t.Fatalf("a bad document: %s", r.stderr)
		}
		must(clA.DeleteJob(ctx, j.ID))(t)

		// Chains and a pause, set by flags: shown in the job's policy.
		child := must(clA.AddJob(ctx, seedSpec()))(t)
		if r := ctl.run(t, 2, "add", "--pid", pid, "--name", "parent", "--seconds", "60", "--code", "return 1",
			"--on-failure", child.ID+","+child.ID); !strings.Contains(r.stderr, "on_failure[1]") {
			t.Fatalf("a job listed twice: %s", r.stderr)
		}
		r = ctl.run(t, 0, "add", "--pid", pid, "--name", "parent", "--seconds", "60", "--code", "return 1",
			"--on-success", child.ID, "--pause-after-failures", "3")
		if p := cell(t, r.stdout, "POLICY"); !strings.Contains(p, "on success run "+child.ID) || !strings.Contains(p, "pauses itself after 3 failures in a row") {
			t.Fatalf("add with a chain and a pause:\n%s", r.stdout)
		}
	})

	t.Run("kill ends a run under way once; an ended or unknown run is refused", func(t *testing.T) {
		// A flow runner that takes the request and never answers: the run goes on until killed.
		held := make(chan string, 4)
		cancels := make(chan contracts.Kill, 4)
		nc, err := nats.Connect(c.stack.NATSURL)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if _, err := nc.Subscribe(contracts.FlowSubject("pa", "hold"), func(m *nats.Msg) {
			var req contracts.FlowRequest
			_ = json.Unmarshal(m.Data, &req)
			held <- req.FireID
		}); err != nil {
			t.Fatal(err)
		}
		long := must(clA.AddJob(ctx, jobcenter.JobSpec{Pid: pid, Name: "held", Trigger: jobcenter.TriggerInterval, Seconds: 3600,
			FlowID: "hold", Timeout: ptr[int64](120)}))(t)
		if _, err := nc.Subscribe(contracts.CancelSubject("pa", long.ID), func(m *nats.Msg) {
			var k contracts.Kill
			_ = json.Unmarshal(m.Data, &k)
			cancels <- k
		}); err != nil {
			t.Fatal(err)
		}
		_ = nc.Flush()
		run := must(clA.ExecJob(ctx, long.ID))(t).FireID
		select {
		case got := <-held:
			if got != run {
				t.Fatalf("the runner was asked for %s, want %s", got, run)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the flow was never asked for")
		}
		teststack.Eventually(t, 10*time.Second, "the run under way in the journal", func() bool {
			p := must(clA.Journal(ctx, long.ID, 1, 1))(t)
			return len(p.Data) == 1 && p.Data[0].ExeStatus == jobcenter.StatusRunning
		})
		// Another tenant cannot reach it.
		_, err = clB.KillRun(ctx, long.ID, run)
		apiErr(t, err, 404, "not_found", "")
		r := ctl.run(t, 0, "kill", long.JobID, run, "--user", "carol")
		if r.stdout != "killed "+run+"\n" {
			t.Fatalf("jobctl kill: %q", r.stdout)
		}
		select {
		case k := <-cancels:
			if k.FireID != run || k.By != "carol" {
				t.Fatalf("the runner was told %+v", k)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the runner was not told of the kill")
		}
		p := waitRuns(t, clA, long.ID, 1)
		e := p.Data[0]
		if e.ExeStatus != jobcenter.StatusFailure || e.Killed == nil || e.Killed.By == nil || *e.Killed.By != "carol" ||
			!strings.HasPrefix(e.ExeDes, "killed by carol at ") || e.ExeTotalTime != 1 {
			t.Fatalf("the killed run's entry: %s", mustJSON(e))
		}
		// Ended: a conflict (exit 2); not a run of the job: not found (exit 3).
		_, err = clA.KillRun(ctx, long.ID, run)
		apiErr(t, err, 409, "conflict", "run")
		ctl.run(t, 2, "kill", long.ID, run)
		ctl.run(t, 3, "kill", long.ID, long.ID+"@no-such-run")
		ctl.run(t, 3, "kill", long.ID, id+"@1") // another job's run
	})
}

// dingRobot is a DingTalk robot's webhook: it takes a message only when its URL carries
// the token and a signature made with the secret, as DingTalk's does, and keeps its text.
type dingRobot struct {
	*httptest.Server
	mu      sync.Mutex
	texts   []string
	refused int
}

func newDingRobot(t *testing.T, token, secret string) *dingRobot {
	d := &dingRobot{}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(q.Get("timestamp") + "\n" + secret))
		var msg struct {
			Text struct {
				Content string `json:"content"`
			} `json:"text"`
		}
		_ = json.NewDecoder(r.Body).Decode(&msg)
		d.mu.Lock()
		defer d.mu.Unlock()
		if r.URL.Path != "/robot/send" || q.Get("access_token") != token || q.Get("sign") != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
			d.refused++
			fmt.Fprint(w, `{"errcode":310000,"errmsg":"sign not match"}`)
			return
		}
		d.texts = append(d.texts, msg.Text.Content)
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *dingRobot) received() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.texts)
}

// waitDelivered waits until each alert has been delivered; one given up on fails at once.
func waitDelivered(t *testing.T, cl *jobcenter.Client, ids ...string) {
	t.Helper()
	var last []jobcenter.AlertDelivery
	teststack.Eventually(t, 15*time.Second, fmt.Sprintf("alerts %v never delivered: %+v", ids, &last), func() bool {
		last = must(cl.AlertDeliveries(context.Background(), jobcenter.DeliveryQuery{Limit: 500}))(t).Deliveries
		done := 0
		for _, d := range last {
			if !slices.Contains(ids, d.ID) {
				continue
			}
			if d.Status == jobcenter.DeliveryFailed {
				t.Fatalf("alert %s failed: %s", d.ID, d.Error)
			}
			if d.Status == jobcenter.DeliveryDelivered {
				done++
			}
		}
		return done == len(ids)
	})
}

// raisedID reads the alert's id from what "jobctl alerts test" printed.
func raisedID(t *testing.T, r result) string {
	t.Helper()
	first, _, _ := strings.Cut(r.stdout, "\n")
	id, ok := strings.CutPrefix(first, "raised ")
	if !ok || id == "" {
		t.Fatalf("alerts test printed:\n%s", r.stdout)
	}
	return id
}

func TestJobctlManagesAlertRulesAndShowsWhatBecameOfTheirAlerts(t *testing.T) {
	c := newAlertingCenter(t, nil)
	ctx := context.Background()
	cl := newClient(t, c, "p")
	ctl := newCLI(t, "JOBCENTER_URL="+contractProxy(t, c.url), "JOBCENTER_PROJECT=p")
	// The webhook takes an alert only at the URL with its token and with the rule's own
	// header: an alert that arrives proves both were kept.
	h := newHook(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RequestURI() != "/hook?token=s3cret" || r.Header.Get("Authorization") != "Bearer xyz" {
			http.Error(w, "wrong token", http.StatusUnauthorized)
			return
		}
		h.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(hook.Close)
	const secret = "SECd3adb33f"
	ding := newDingRobot(t, "tok", secret)
	failing := must(cl.AddJob(ctx, jobcenter.JobSpec{Pid: pid, Name: "failing", Trigger: jobcenter.TriggerInterval, Seconds: 3600,
		Code: "fail('x')"}))(t)

	t.Run("help, and bad input refused naming the field with nothing stored", func(t *testing.T) {
		r := ctl.run(t, 0, "alerts", "add", "--help")
		for _, want := range []string{"Usage: jobctl alerts add", "--webhook URL", "--throttle-after", "Examples:", "3  not found"} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("alerts add --help lacks %q:\n%s", want, r.stdout)
			}
		}
		if r := ctl.run(t, 0, "--help"); !strings.Contains(r.stdout, "alerts deliveries") {
			t.Fatalf("jobctl --help lacks the alerts:\n%s", r.stdout)
		}
		r = ctl.run(t, 2, "alerts", "add", "--event", "exploded", "--type", "webhook", "--webhook", hook.URL+"/hook?token=s3cret")
		if !strings.Contains(r.stderr, "400 invalid") || !strings.Contains(r.stderr, `"exploded" is not an event`) || !strings.Contains(r.stderr, "events[0]") {
			t.Fatalf("a bad event: %s", r.stderr)
		}
		var e struct {
			Error struct {
				Status int    `json:"status"`
				Field  string `json:"field"`
				Exit   int    `json:"exit"`
			} `json:"error"`
		}
		r = ctl.run(t, 2, "alerts", "add", "--event", "failure", "--type", "pager", "--webhook", hook.URL, "--json")
		if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Error.Status != 400 || e.Error.Field != "channel.type" || e.Error.Exit != 2 {
			t.Fatalf("a bad channel type --json: %q", r.stderr)
		}
		ctl.run(t, 1, "alerts")
		ctl.run(t, 1, "alerts", "show")
		ctl.run(t, 1, "alerts", "add", "--event", "failure", "--type", "webhook", "--webhook", hook.URL, "--header", "no colon")
		ctl.run(t, 1, "alerts", "add", "--event", "failure", "--type", "webhook", "--webhook", hook.URL, "--within", "60")
		file := filepath.Join(t.TempDir(), "typo.json")
		if err := os.WriteFile(file, []byte(`{"events": ["failure"], "chanel": {"type": "webhook"}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := ctl.run(t, 1, "alerts", "add", "--file", file); !strings.Contains(r.stderr, `"chanel"`) {
			t.Fatalf("a file with an unknown field: %s", r.stderr)
		}
		if rules := must(cl.AlertRules(ctx))(t); len(rules) != 0 {
			t.Fatalf("refused rules were stored: %+v", rules)
		}
	})

	var hookRule jobcenter.AlertRule
	var dingID string
	t.Run("add by flags and from a file; list and show them with their secrets masked", func(t *testing.T) {
		ctl.run(t, 0, "alerts", "add", "--name", "on call", "--event", "failure", "--event", "paused", "--type", "webhook",
			"--webhook", hook.URL+"/hook?token=s3cret", "--header", "Authorization: Bearer xyz", "--json").json(t, &hookRule)
		if hookRule.ID == "" || !hookRule.Enabled || !slices.Equal(hookRule.Events, []string{"failure", "paused"}) || len(hookRule.Jobs) != 0 ||
			hookRule.Channel.URL != hook.URL+"/***" || hookRule.Channel.Headers["Authorization"] != "***" {
			t.Fatalf("added --json: %s", mustJSON(hookRule))
		}

		c.clk.Advance(time.Millisecond) // rules are listed oldest first: this one is younger

		// A DingTalk robot's rule from a file, the flags given with it adding to it: the
		// failing job's only (named by its jobId, kept by its id), throttled, disabled.
		file := filepath.Join(t.TempDir(), "ding.json")
		body := fmt.Sprintf(`{"events": ["failure", "timeout"], "channel": {"type": "dingtalk", "url": "%s/robot/send?access_token=tok", "secret": %q}}`, ding.URL, secret)
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		r := ctl.run(t, 0, "alerts", "add", "--file", file, "--name", "钉钉", "--job", failing.JobID, "--disabled",
			"--throttle-after", "3", "--within", "600", "--silence", "3600")
		dingID = cell(t, r.stdout, "ID")
		if !strings.HasPrefix(r.stdout, "added "+dingID+"\n") || cell(t, r.stdout, "ENABLED") != "no" || cell(t, r.stdout, "EVENTS") != "failure,timeout" ||
			cell(t, r.stdout, "JOBS") != failing.ID || cell(t, r.stdout, "CHANNEL") != "dingtalk" || cell(t, r.stdout, "TARGET") != ding.URL+"/***" ||
			cell(t, r.stdout, "SECRET") != "***" || cell(t, r.stdout, "THROTTLE") != "1 per 3 in 600s, then none for 3600s" || cell(t, r.stdout, "NAME") != "钉钉" {
			t.Fatalf("added from a file:\n%s", r.stdout)
		}

		r = ctl.run(t, 0, "alerts", "list")
		rs := rows(r.stdout)
		if len(rs) != 3 || !slices.Equal(rs[0], []string{"ID", "ENABLED", "EVENTS", "JOBS", "CHANNEL", "THROTTLE", "NAME"}) ||
			!slices.Equal(rs[1][:6], []string{hookRule.ID, "yes", "failure,paused", "all", "webhook", hook.URL + "/***"}) ||
			!strings.HasSuffix(strings.Join(rs[1], " "), "every event on call") ||
			!slices.Equal(rs[2][:6], []string{dingID, "no", "failure,timeout", failing.ID, "dingtalk", ding.URL + "/***"}) ||
			!strings.HasSuffix(strings.Join(rs[2], " "), "1 per 3 in 600s, then none for 3600s 钉钉") {
			t.Fatalf("alerts list:\n%s", r.stdout)
		}
		var list struct {
			Rules []jobcenter.AlertRule `json:"rules"`
		}
		ctl.run(t, 0, "alerts", "list", "--json").json(t, &list)
		if len(list.Rules) != 2 || list.Rules[0].ID != hookRule.ID || list.Rules[1].ID != dingID || list.Rules[1].Channel.Secret != "***" ||
			list.Rules[1].Throttle == nil || *list.Rules[1].Throttle != (jobcenter.AlertThrottle{After: 3, Within: 600, Silence: 3600}) {
			t.Fatalf("alerts list --json: %s", mustJSON(list))
		}

		r = ctl.run(t, 0, "alerts", "show", hookRule.ID)
		if cell(t, r.stdout, "HEADERS") != "Authorization: ***" || cell(t, r.stdout, "TARGET") != hook.URL+"/***" ||
			cell(t, r.stdout, "THROTTLE") != "every event" || cell(t, r.stdout, "NAME") != "on call" || strings.Contains(r.stdout, "s3cret") {
			t.Fatalf("alerts show:\n%s", r.stdout)
		}
		ctl.run(t, 3, "alerts", "show", "rule-000000000000")
		ctl.run(t, 3, "alerts", "show", hookRule.ID, "--project", "q") // another project's
	})

	var fire, testID string
	t.Run("a failed run's alert and test alerts arrive; their deliveries are listed", func(t *testing.T) {
		fire = must(cl.ExecJob(ctx, failing.ID))(t).FireID
		if a := h.waitAlerts(t, "failure", 1)[0]; a["rule_id"] != hookRule.ID || a["job_id"] != failing.ID || a["triggerid"] != fire {
			t.Fatalf("the failure's alert: %v", a)
		}
		c.clk.Advance(time.Second) // the test alerts are raised later: newest first, they come first

		testID = raisedID(t, ctl.run(t, 0, "alerts", "test", hookRule.ID))
		var raised struct{ ID, Status string }
		ctl.run(t, 0, "alerts", "test", dingID, "--json").json(t, &raised) // a disabled rule is tested all the same
		if raised.Status != "raised" || raised.ID == "" {
			t.Fatalf("alerts test --json: %+v", raised)
		}
		waitDelivered(t, cl, testID, raised.ID)
		if got := ding.received(); len(got) != 1 || !strings.Contains(got[0], "test") {
			t.Fatalf("the robot received %q", got)
		}
		if a := h.waitAlerts(t, "test", 1)[0]; a["rule_id"] != hookRule.ID {
			t.Fatalf("the test alert: %v", a)
		}

		r := ctl.run(t, 0, "alerts", "deliveries", "--rule", hookRule.ID)
		rs := rows(r.stdout)
		if len(rs) != 4 || !slices.Equal(rs[0], []string{"RAISED", "EVENT", "JOB", "RUN", "STATUS", "ATTEMPTS", "TARGET", "ERROR"}) ||
			!slices.Equal(rs[1][1:], []string{"test", "-", "-", "delivered", "1", hook.URL + "/***", "-"}) ||
			!slices.Equal(rs[2][1:], []string{"failure", failing.ID, fire, "delivered", "1", hook.URL + "/***", "-"}) ||
			rs[3][0] != "2" || rs[3][1] != "deliveries" {
			t.Fatalf("alerts deliveries:\n%s", r.stdout)
		}
		var all jobcenter.DeliveryPage
		ctl.run(t, 0, "alerts", "deliveries", "--all", "--limit", "1", "--json").json(t, &all)
		if len(all.Deliveries) != 3 || all.NextCursor != "" || all.Deliveries[2].ID == all.Deliveries[1].ID {
			t.Fatalf("alerts deliveries --all: %s", mustJSON(all))
		}
		// A page, and the next one by the cursor its footer names.
		r = ctl.run(t, 0, "alerts", "deliveries", "--limit", "1")
		_, cursor, ok := strings.Cut(r.stdout, "--cursor ")
		cursor, _, _ = strings.Cut(cursor, " ")
		if rs := rows(r.stdout); len(rs) != 3 || !ok || cursor == "" {
			t.Fatalf("alerts deliveries --limit 1:\n%s", r.stdout)
		}
		var next jobcenter.DeliveryPage
		ctl.run(t, 0, "alerts", "deliveries", "--limit", "1", "--cursor", cursor, "--json").json(t, &next)
		if len(next.Deliveries) != 1 || next.Deliveries[0].ID != all.Deliveries[1].ID {
			t.Fatalf("the page after %s: %s, want the second of %s", cursor, mustJSON(next), mustJSON(all))
		}
		var failed jobcenter.DeliveryPage
		ctl.run(t, 0, "alerts", "deliveries", "--job", failing.ID, "--status", "failed", "--json").json(t, &failed)
		if failed.Deliveries == nil || len(failed.Deliveries) != 0 {
			t.Fatalf("no failed deliveries: %s", mustJSON(failed))
		}
		if r := ctl.run(t, 2, "alerts", "deliveries", "--status", "exploded"); !strings.Contains(r.stderr, "status") {
			t.Fatalf("a bad status: %s", r.stderr)
		}
		ctl.run(t, 1, "alerts", "deliveries", "--limit", "0")
	})

	t.Run("an update changes only the flags given: URL, header and secret are kept", func(t *testing.T) {
		ctl.run(t, 1, "alerts", "update", hookRule.ID) // nothing to change
		r := ctl.run(t, 0, "alerts", "update", hookRule.ID, "--disabled")
		if !strings.HasPrefix(r.stdout, "updated "+hookRule.ID+"\n") || cell(t, r.stdout, "ENABLED") != "no" || cell(t, r.stdout, "EVENTS") != "failure,paused" ||
			cell(t, r.stdout, "NAME") != "on call" || cell(t, r.stdout, "HEADERS") != "Authorization: ***" {
			t.Fatalf("update --disabled:\n%s", r.stdout)
		}
		if got := must(cl.AlertRule(ctx, hookRule.ID))(t); got.Enabled || !reflect.DeepEqual(got.Channel, hookRule.Channel) || got.Name != "on call" {
			t.Fatalf("the rule after update --disabled: %s", mustJSON(got))
		}
		if r := ctl.run(t, 0, "alerts", "update", hookRule.ID, "--disabled=false"); cell(t, r.stdout, "ENABLED") != "yes" {
			t.Fatalf("update --disabled=false:\n%s", r.stdout)
		}
		r = ctl.run(t, 0, "alerts", "update", dingID, "--disabled=false", "--event", "failure", "--throttle-after", "0")
		if cell(t, r.stdout, "ENABLED") != "yes" || cell(t, r.stdout, "EVENTS") != "failure" || cell(t, r.stdout, "THROTTLE") != "every event" ||
			cell(t, r.stdout, "SECRET") != "***" || cell(t, r.stdout, "JOBS") != failing.ID || cell(t, r.stdout, "NAME") != "钉钉" {
			t.Fatalf("update of the robot's rule:\n%s", r.stdout)
		}
		// Another type starts the channel anew: its URL is not the one read.
		if r := ctl.run(t, 2, "alerts", "update", dingID, "--type", "slack"); !strings.Contains(r.stderr, "channel.url") {
			t.Fatalf("another type without a URL: %s", r.stderr)
		}

		// Sent to what is stored: the webhook's token and header, the robot's secret.
		hookTest := raisedID(t, ctl.run(t, 0, "alerts", "test", hookRule.ID))
		dingTest := raisedID(t, ctl.run(t, 0, "alerts", "test", dingID))
		waitDelivered(t, cl, hookTest, dingTest)
		// Enabled again, both send a failed run's alert.
		again := must(cl.ExecJob(ctx, failing.ID))(t).FireID
		failures := h.waitAlerts(t, "failure", 2)
		if failures[1]["triggerid"] != again {
			t.Fatalf("the second failure's alert: %v", failures[1])
		}
		teststack.Eventually(t, 15*time.Second, "the robot never got the failure", func() bool {
			got := ding.received()
			return len(got) == 3 && strings.Contains(got[2], "failing")
		})
		ding.mu.Lock()
		refused := ding.refused
		ding.mu.Unlock()
		if refused != 0 {
			t.Fatalf("the robot refused %d messages: the secret was not kept", refused)
		}

		r = ctl.run(t, 0, "alerts", "update", dingID, "--type", "email", "--to", "ops@example.com,dev@example.com")
		if cell(t, r.stdout, "CHANNEL") != "email" || cell(t, r.stdout, "TARGET") != "ops@example.com,dev@example.com" || strings.Contains(r.stdout, "SECRET") {
			t.Fatalf("update to e-mail:\n%s", r.stdout)
		}
	})

	t.Run("delete; afterwards the rule is not found", func(t *testing.T) {
		if r := ctl.run(t, 0, "alerts", "delete", hookRule.ID); r.stdout != "deleted "+hookRule.ID+"\n" {
			t.Fatalf("alerts delete: %q", r.stdout)
		}
		ctl.run(t, 3, "alerts", "show", hookRule.ID)
		ctl.run(t, 3, "alerts", "test", hookRule.ID)
		ctl.run(t, 3, "alerts", "delete", hookRule.ID)
		var deleted map[string]any
		ctl.run(t, 0, "alerts", "delete", dingID, "--json").json(t, &deleted)
		if deleted["id"] != dingID || deleted["deleted"] != true {
			t.Fatalf("alerts delete --json: %v", deleted)
		}
		if r := ctl.run(t, 0, "alerts", "list"); !strings.Contains(r.stdout, "no alert rules") {
			t.Fatalf("alerts list after delete:\n%s", r.stdout)
		}
	})
}

// jobctl's calendars commands, and --calendar on add, update and quartz save: calendars
// added by flags and from a file, listed and shown; a job naming them shows them, and its
// NEXT RUN and preview skip what they exclude; updates keep them, replace them and clear
// them; a calendar a job names is not deleted; bad input is refused naming the field.
func TestJobctlManagesCalendarsAndTheJobsThatNameThem(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p")
	ctl := newCLI(t, "JOBCENTER_URL="+contractProxy(t, c.url), "JOBCENTER_PROJECT=p", "JOBCENTER_USER=bob")
	local := func(at time.Time) string { return at.In(shanghai).Format(jobcenter.LocalTimeLayout) }
	now := c.clk.Now().Truncate(time.Second)
	// A weekly window three days away: never one of the job's instants below.
	day := strings.ToUpper(now.Add(72 * time.Hour).In(shanghai).Weekday().String()[:3])
	window := day + " 03:00-" + day + " 04:00"
	// A cron of an hour twelve hours away, in UTC.
	hourly := fmt.Sprintf("* * %d ? * *", (now.UTC().Hour()+12)%24)
	var e struct {
		Error struct {
			Status  int    `json:"status"`
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"error"`
	}
	refused := func(t *testing.T, field string, args ...string) {
		t.Helper()
		r := ctl.run(t, 2, append(args, "--json")...)
		if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Error.Status != 400 || e.Error.Field != field {
			t.Fatalf("jobctl %v: %s, want a 400 naming %s", args, r.stderr, field)
		}
	}

	t.Run("help, and bad input refused naming the field with nothing stored", func(t *testing.T) {
		r := ctl.run(t, 0, "calendars", "add", "--help")
		for _, want := range []string{"Usage: jobctl calendars add", "--weekly WINDOW", "--range FROM/TO", "--date DAY", "Examples:", "3  not found"} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("calendars add --help lacks %q:\n%s", want, r.stdout)
			}
		}
		if r := ctl.run(t, 0, "--help"); !strings.Contains(r.stdout, "calendars delete") {
			t.Fatalf("jobctl --help lacks the calendars:\n%s", r.stdout)
		}
		for _, args := range [][]string{{"help", "add"}, {"update", "--help"}, {"quartz", "save", "--help"}} {
			if r := ctl.run(t, 0, args...); !strings.Contains(r.stdout, "--calendar NAME") {
				t.Fatalf("jobctl %v lacks --calendar:\n%s", args, r.stdout)
			}
		}
		if r := ctl.run(t, 0, "calendars", "list"); !strings.Contains(r.stdout, "no calendars") {
			t.Fatalf("calendars list of none:\n%s", r.stdout)
		}
		refused(t, "dates[1]", "calendars", "add", "--name", "x", "--date", "2030-10-01,2030-02-30")
		refused(t, "dates", "calendars", "add", "--name", "x")
		refused(t, "name", "calendars", "add", "--name", "bad name", "--date", "2030-10-01")
		refused(t, "weekly[0].from", "calendars", "add", "--name", "x", "--weekly", "SATURDAY-MON 00:00")
		refused(t, "ranges[0].to", "calendars", "add", "--name", "x", "--range", local(now)+"/"+local(now))
		refused(t, "cron", "calendars", "add", "--name", "x", "--cron", "0 61 * * * ?")
		refused(t, "timezone", "calendars", "add", "--name", "x", "--date", "2030-10-01", "--timezone", "Mars/Base")
		if r := ctl.run(t, 1, "calendars", "add", "--name", "x", "--weekly", "SAT 00:00"); !strings.Contains(r.stderr, "FROM-TO") {
			t.Fatalf("a window without its end: %s", r.stderr)
		}
		if r := ctl.run(t, 1, "calendars", "add", "--name", "x", "--range", local(now)); !strings.Contains(r.stderr, "FROM/TO") {
			t.Fatalf("a range without its end: %s", r.stderr)
		}
		file := filepath.Join(t.TempDir(), "typo.json")
		if err := os.WriteFile(file, []byte(`{"name": "x", "date": ["2030-10-01"]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := ctl.run(t, 1, "calendars", "add", "--file", file); !strings.Contains(r.stderr, `"date"`) {
			t.Fatalf("a file with an unknown field: %s", r.stderr)
		}
		ctl.run(t, 1, "calendars")
		ctl.run(t, 1, "calendars", "show")
		ctl.run(t, 1, "calendars", "update", "x") // nothing to change
		ctl.run(t, 1, "calendars", "update", "x", "--name", "y")
		if cals := must(cl.Calendars(ctx))(t); len(cals) != 0 {
			t.Fatalf("refused calendars were stored: %s", mustJSON(cals))
		}
	})

	from, to := local(now.Add(90*time.Second)), local(now.Add(270*time.Second))
	t.Run("add by flags and from a file; list and show them", func(t *testing.T) {
		r := ctl.run(t, 0, "calendars", "add", "--name", "quiet", "--description", "维护窗口", "--range", from+"/"+to, "--weekly", window)
		if !strings.HasPrefix(r.stdout, "added quiet\n") || cell(t, r.stdout, "TIMEZONE") != "Asia/Shanghai" || cell(t, r.stdout, "RANGES") != from+"/"+to ||
			cell(t, r.stdout, "WEEKLY") != window || cell(t, r.stdout, "DATES") != "-" || cell(t, r.stdout, "CRON") != "-" ||
			cell(t, r.stdout, "UPDATED") != local(c.clk.Now())+" by bob" || cell(t, r.stdout, "DESCRIPTION") != "维护窗口" {
			t.Fatalf("added by flags:\n%s", r.stdout)
		}
		// From a file, the flags given with it adding to it.
		file := filepath.Join(t.TempDir(), "holidays.json")
		if err := os.WriteFile(file, []byte(`{"name": "holidays", "timezone": "UTC", "dates": ["2030-10-01"], "cron": "`+hourly+`"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		var added jobcenter.Calendar
		ctl.run(t, 0, "calendars", "add", "--file", file, "--date", "2030-10-01,2030-10-02", "--description", "国庆", "--json").json(t, &added)
		if want := must(cl.Calendar(ctx, "holidays"))(t); !reflect.DeepEqual(added, *want) || !slices.Equal(added.Dates, []string{"2030-10-01", "2030-10-02"}) ||
			added.Timezone != "UTC" || added.Cron != hourly || added.Description != "国庆" {
			t.Fatalf("added from a file --json: %s", mustJSON(added))
		}
		if r := ctl.run(t, 2, "calendars", "add", "--file", file); !strings.Contains(r.stderr, "409 conflict") {
			t.Fatalf("a second calendar of a name: %s", r.stderr)
		}

		r = ctl.run(t, 0, "calendars", "list")
		rs := rows(r.stdout)
		if len(rs) != 3 || !slices.Equal(rs[0], []string{"NAME", "TIMEZONE", "EXCLUDES", "UPDATED", "DESCRIPTION"}) ||
			!strings.HasPrefix(strings.Join(rs[1], " "), "holidays UTC 2 dates, cron "+hourly+" ") || rs[1][len(rs[1])-1] != "国庆" ||
			!strings.HasPrefix(strings.Join(rs[2], " "), "quiet Asia/Shanghai 1 weekly window, 1 range ") || rs[2][len(rs[2])-1] != "维护窗口" {
			t.Fatalf("calendars list:\n%s", r.stdout)
		}
		var list struct {
			Calendars []jobcenter.Calendar `json:"calendars"`
		}
		ctl.run(t, 0, "calendars", "list", "--json").json(t, &list)
		if want := must(cl.Calendars(ctx))(t); !reflect.DeepEqual(list.Calendars, want) {
			t.Fatalf("calendars list --json: %s", mustJSON(list))
		}
		var shown jobcenter.Calendar
		ctl.run(t, 0, "calendars", "show", "quiet", "--json").json(t, &shown)
		if want := must(cl.Calendar(ctx, "quiet"))(t); !reflect.DeepEqual(shown, *want) {
			t.Fatalf("calendars show --json: %s", mustJSON(shown))
		}
		ctl.run(t, 3, "calendars", "show", "nope")
		ctl.run(t, 3, "calendars", "show", "quiet", "--project", "q") // another project's
	})

	t.Run("a job names them: shown, its next runs skip what they exclude, kept by updates, replaced, cleared", func(t *testing.T) {
		const shown = "no fire at the times quiet, holidays exclude"
		start := c.clk.Now().Truncate(time.Millisecond)
		minute := func(k int) time.Time { return start.Add(time.Duration(k) * time.Minute) }
		r := ctl.run(t, 0, "add", "--pid", pid, "--name", "日历任务", "--seconds", "60", "--code", "return 1",
			"--calendar", "quiet", "--calendar", "holidays", "--start")
		id := cell(t, r.stdout, "ID")
		if cell(t, r.stdout, "CALENDARS") != shown || cell(t, r.stdout, "NEXT RUN") != local(minute(1)) {
			t.Fatalf("add --calendar:\n%s", r.stdout)
		}
		var j jobcenter.Job
		ctl.run(t, 0, "get", id, "--json").json(t, &j)
		if !slices.Equal(j.JobParameter.Calendars, []string{"quiet", "holidays"}) {
			t.Fatalf("get --json: %s", mustJSON(j))
		}
		// Minutes 2 to 4 are in quiet's range: no fire.
		var pv struct{ Next []time.Time }
		ctl.run(t, 0, "preview", id, "--count", "3", "--json").json(t, &pv)
		if len(pv.Next) != 3 || !pv.Next[0].Equal(minute(1)) || !pv.Next[1].Equal(minute(5)) || !pv.Next[2].Equal(minute(6)) {
			t.Fatalf("preview %v; want minutes 1, 5 and 6 after the start %v", pv.Next, start)
		}

		// Updates that do not name them keep them (comma-separated works too).
		if r = ctl.run(t, 0, "update", id, "--name", "日历任务 2"); cell(t, r.stdout, "CALENDARS") != shown || cell(t, r.stdout, "NAME") != "日历任务 2" {
			t.Fatalf("update --name:\n%s", r.stdout)
		}
		refused(t, "calendars[0]", "update", id, "--calendar", "nope")
		refused(t, "calendars[1]", "update", id, "--calendar", "quiet,quiet")
		refused(t, "calendars[0]", "add", "--pid", pid, "--name", "x", "--seconds", "5", "--code", "1", "--calendar", "nope")

		// Named, a calendar is not deleted: the refusal names the job.
		if r := ctl.run(t, 2, "calendars", "delete", "quiet"); !strings.Contains(r.stderr, "409 conflict") || !strings.Contains(r.stderr, id) {
			t.Fatalf("delete of a calendar a job names: %s", r.stderr)
		}
		// Changed, the job is rescheduled at once: minutes 1 to 5 excluded, it fires at 6.
		c.clk.Advance(time.Second)
		r = ctl.run(t, 0, "calendars", "update", "quiet", "--range", local(start)+"/"+local(minute(6)))
		if cell(t, r.stdout, "RANGES") != local(start)+"/"+local(minute(6)) || cell(t, r.stdout, "WEEKLY") != window || cell(t, r.stdout, "DESCRIPTION") != "维护窗口" {
			t.Fatalf("calendars update --range:\n%s", r.stdout)
		}
		teststack.Eventually(t, 10*time.Second, "the job to be rescheduled past the new exclusion", func() bool {
			return cell(t, ctl.run(t, 0, "get", id).stdout, "NEXT RUN") == local(minute(6))
		})
		// An update of another part keeps the ranges read; '' clears a list.
		r = ctl.run(t, 0, "calendars", "update", "quiet", "--description", "only the range", "--weekly", "")
		if cell(t, r.stdout, "RANGES") != local(start)+"/"+local(minute(6)) || cell(t, r.stdout, "WEEKLY") != "-" || cell(t, r.stdout, "DESCRIPTION") != "only the range" {
			t.Fatalf("calendars update --weekly '':\n%s", r.stdout)
		}
		refused(t, "name", "calendars", "update", "quiet", "--file", writeFile(t, `{"name": "loud", "dates": ["2030-10-01"]}`))
		refused(t, "dates", "calendars", "update", "quiet", "--range", "", "--weekly", "")

		// --calendar replaces them, '' clears them. A change of the trigger reschedules
		// the job from the update.
		if r = ctl.run(t, 0, "update", id, "--calendar", "holidays"); cell(t, r.stdout, "CALENDARS") != "no fire at the times holidays exclude" ||
			cell(t, r.stdout, "NEXT RUN") != local(c.clk.Now().Add(time.Minute)) {
			t.Fatalf("update --calendar holidays:\n%s", r.stdout)
		}
		if r = ctl.run(t, 0, "update", id, "--calendar", ""); strings.Contains(r.stdout, "CALENDARS") {
			t.Fatalf("update --calendar '':\n%s", r.stdout)
		}
		if p := must(cl.GetJob(ctx, id))(t).JobParameter; p.Calendars != nil {
			t.Fatalf("the job after --calendar '': %s", mustJSON(p))
		}

		// A Quartz schedule names them with --calendar; saved again without, it has none.
		var saved jobcenter.Saved
		ctl.run(t, 0, "quartz", "save", "--name", "日历调度", "--cron", "0 0 12 * * ?", "--biz", "b-cal", "--calendar", "holidays,quiet", "--json").json(t, &saved)
		if got := must(cl.GetJob(ctx, saved.GroupJobID))(t).JobParameter.Calendars; !slices.Equal(got, []string{"holidays", "quiet"}) {
			t.Fatalf("the schedule's calendars: %v", got)
		}
		if r := ctl.run(t, 0, "get", saved.GroupJobID); cell(t, r.stdout, "CALENDARS") != "no fire at the times holidays, quiet exclude" {
			t.Fatalf("get of the schedule:\n%s", r.stdout)
		}
		if r := ctl.run(t, 2, "quartz", "save", "--name", "日历调度", "--cron", "0 0 12 * * ?", "--biz", "b-cal", "--calendar", "nope"); !strings.Contains(r.stderr, "calendars[0]") {
			t.Fatalf("a save naming no calendar: %s", r.stderr)
		}
		ctl.run(t, 0, "quartz", "save", "--name", "日历调度", "--cron", "0 0 12 * * ?", "--biz", "b-cal")
		if got := must(cl.GetJob(ctx, saved.GroupJobID))(t).JobParameter.Calendars; got != nil {
			t.Fatalf("the schedule saved without --calendar: %v", got)
		}
	})

	t.Run("delete; afterwards the calendar is not found", func(t *testing.T) {
		if r := ctl.run(t, 0, "calendars", "delete", "quiet"); r.stdout != "deleted quiet\n" {
			t.Fatalf("calendars delete: %q", r.stdout)
		}
		ctl.run(t, 3, "calendars", "show", "quiet")
		ctl.run(t, 3, "calendars", "update", "quiet", "--date", "2030-10-01")
		ctl.run(t, 3, "calendars", "delete", "quiet")
		var deleted map[string]any
		ctl.run(t, 0, "calendars", "delete", "holidays", "--json").json(t, &deleted)
		if deleted["name"] != "holidays" || deleted["deleted"] != true {
			t.Fatalf("calendars delete --json: %v", deleted)
		}
		if r := ctl.run(t, 0, "calendars", "list"); !strings.Contains(r.stdout, "no calendars") {
			t.Fatalf("calendars list after delete:\n%s", r.stdout)
		}
	})
}

// writeFile writes content to a file of the test's and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "file.json")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// jobctl's --http-* flags on add and update: an HTTP job added, shown with its secrets
// masked, run with them; an update that does not name the call keeps it working, one
// that names a header changes that header only. Two targets, or a call without a URL,
// are usage errors; a bad call is the server's refusal naming its field.
func TestJobctlAddsAndUpdatesHTTPJobsKeepingTheirSecrets(t *testing.T) {
	c := httpCenter(t)
	cl := newClient(t, c, "p")
	ctl := newCLI(t, "JOBCENTER_URL="+contractProxy(t, c.url), "JOBCENTER_PROJECT=p")
	srv, got := receiver(t)
	for _, args := range [][]string{{"help", "add"}, {"update", "--help"}} {
		r := ctl.run(t, 0, args...)
		for _, want := range []string{"--http-url URL", "--http-method METHOD", "--http-header 'Name: value'", "--http-body string", "--http-body-file string", "--http-expect STATUSES"} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("jobctl %v lacks %q:\n%s", args, want, r.stdout)
			}
		}
	}
	// run execs the job and waits for its n-th run, which must succeed: what the
	// receiver was sent by it.
	run := func(id string, n int) seen {
		t.Helper()
		ctl.run(t, 0, "exec", id)
		if e := waitRuns(t, cl, id, n).Data[0]; e.ExeStatus != jobcenter.StatusSuccess || strings.Contains(e.ExeDes, "s3cret") {
			t.Fatalf("run %d: %s", n, mustJSON(e))
		}
		r := got()
		if len(r) != n {
			t.Fatalf("the receiver got %d calls, want %d", len(r), n)
		}
		return r[n-1]
	}

	r := ctl.run(t, 0, "add", "--pid", pid, "--name", "ping", "--seconds", "900", "--http-method", "post", "--http-url", srv.URL+"/ok",
		"--http-header", "authorization: Bearer s3cret", "--http-header", "Content-Type: application/json",
		"--http-body", `{"day":"today"}`, "--http-expect", "200,204")
	id := cell(t, r.stdout, "ID")
	if cell(t, r.stdout, "TARGET") != "http POST "+srv.URL+"/ok" || cell(t, r.stdout, "HEADERS") != "Authorization: ***; Content-Type: application/json" ||
		cell(t, r.stdout, "BODY") != `{"day":"today"}` || cell(t, r.stdout, "EXPECTS") != "status 200 or 204" || strings.Contains(r.stdout, "s3cret") {
		t.Fatalf("add an HTTP job:\n%s", r.stdout)
	}
	if s := run(id, 1); s.method != "POST" || s.auth != "Bearer s3cret" || s.body != `{"day":"today"}` || s.contentType != "application/json" {
		t.Fatalf("the first run sent %+v", s)
	}

	// An update that does not name the call sends back the one read, masked: the secret
	// is kept.
	r = ctl.run(t, 0, "update", id, "--name", "ping 2", "--run-timeout", "5")
	if cell(t, r.stdout, "NAME") != "ping 2" || cell(t, r.stdout, "TARGET") != "http POST "+srv.URL+"/ok" ||
		cell(t, r.stdout, "HEADERS") != "Authorization: ***; Content-Type: application/json" {
		t.Fatalf("update --name of an HTTP job:\n%s", r.stdout)
	}
	if s := run(id, 2); s.auth != "Bearer s3cret" || s.body != `{"day":"today"}` {
		t.Fatalf("after update --name the run sent %+v", s)
	}

	// A header named is added or replaced, the others kept; the body from a file; the
	// statuses cleared.
	r = ctl.run(t, 0, "update", id, "--http-header", "X-Trace: 1", "--http-header", "content-type: text/plain",
		"--http-body-file", writeFile(t, "plain words"), "--http-expect", "")
	if cell(t, r.stdout, "HEADERS") != "Authorization: ***; Content-Type: text/plain; X-Trace: ***" ||
		cell(t, r.stdout, "BODY") != "plain words" || cell(t, r.stdout, "EXPECTS") != "any 2xx" {
		t.Fatalf("update --http-header --http-body-file --http-expect '':\n%s", r.stdout)
	}
	if s := run(id, 3); s.auth != "Bearer s3cret" || s.body != "plain words" || s.contentType != "text/plain" {
		t.Fatalf("after the headers changed the run sent %+v", s)
	}
	// 'Name:' removes one; --http-method changes the method alone.
	ctl.run(t, 0, "update", id, "--http-header", "Authorization:", "--http-method", "put")
	var j jobcenter.Job
	ctl.run(t, 0, "get", id, "--json").json(t, &j)
	if j.HTTP == nil || j.HTTP.Method != "PUT" || !reflect.DeepEqual(j.HTTP.Headers, map[string]string{"Content-Type": "text/plain", "X-Trace": "***"}) {
		t.Fatalf("get --json after removing Authorization: %s", mustJSON(j))
	}
	if s := run(id, 4); s.method != "PUT" || s.auth != "" || s.body != "plain words" {
		t.Fatalf("after Authorization was removed the run sent %+v", s)
	}

	// Usage errors (exit 1), before anything is sent.
	code := []string{"add", "--pid", pid, "--name", "x", "--seconds", "60", "--code", "return 1"}
	for _, args := range [][]string{
		append(slices.Clone(code), "--http-url", srv.URL+"/ok"),
		{"add", "--pid", pid, "--name", "x", "--seconds", "60", "--flow-id", "f", "--http-method", "POST"},
		{"add", "--pid", pid, "--name", "x", "--seconds", "60", "--http-method", "POST"},
		{"add", "--pid", pid, "--name", "x", "--seconds", "60", "--http-url", srv.URL, "--http-expect", "2xx"},
		{"add", "--pid", pid, "--name", "x", "--seconds", "60", "--http-url", srv.URL, "--http-header", "no colon"},
		{"add", "--pid", pid, "--name", "x", "--seconds", "60", "--http-url", srv.URL, "--http-body", "a", "--http-body-file", "-"},
		{"update", id, "--code", "return 1", "--http-header", "X-A: b"},
	} {
		if r := ctl.run(t, 1, args...); !strings.Contains(r.stderr, "http") {
			t.Fatalf("jobctl %v: %s", args, r.stderr)
		}
	}
	// A code job given a header only is no HTTP job yet: it needs --http-url.
	cid := cell(t, ctl.run(t, 0, code...).stdout, "ID")
	if r := ctl.run(t, 1, "update", cid, "--http-header", "X-A: b"); !strings.Contains(r.stderr, "--http-url") {
		t.Fatalf("update of a code job with a header only: %s", r.stderr)
	}
	// The server's refusals (exit 2) name the field; the job is as it was.
	var e struct {
		Error struct {
			Status int    `json:"status"`
			Field  string `json:"field"`
		} `json:"error"`
	}
	for _, tc := range []struct {
		args  []string
		field string
	}{
		{[]string{"update", id, "--http-header", "Host: elsewhere"}, "http.headers.Host"},
		{[]string{"update", id, "--http-header", "X-New: ***"}, "http.headers.X-New"},
		{[]string{"update", id, "--http-expect", "99"}, "http.expect_status"},
		{[]string{"update", id, "--http-url", "ftp://example.com/"}, "http.url"},
		{[]string{"update", id, "--http-method", "FETCH"}, "http.method"},
	} {
		r := ctl.run(t, 2, append(tc.args, "--json")...)
		if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Error.Status != 400 || e.Error.Field != tc.field {
			t.Fatalf("jobctl %v: %s, want a 400 naming %s", tc.args, r.stderr, tc.field)
		}
	}
	var after jobcenter.Job
	ctl.run(t, 0, "get", id, "--json").json(t, &after)
	if !reflect.DeepEqual(after.HTTP, j.HTTP) {
		t.Fatalf("the call after the refusals: %s, was %s", mustJSON(after.HTTP), mustJSON(j.HTTP))
	}

	// --code makes it a code job: no call shown any more.
	r = ctl.run(t, 0, "update", id, "--code", "return 1")
	if cell(t, r.stdout, "TARGET") != "code: return 1" || strings.Contains(r.stdout, "HEADERS") || strings.Contains(r.stdout, "EXPECTS") {
		t.Fatalf("update --code of an HTTP job:\n%s", r.stdout)
	}
	// And --http-url makes a code job an HTTP job again, a GET by default.
	r = ctl.run(t, 0, "update", cid, "--http-url", srv.URL+"/ok")
	if cell(t, r.stdout, "TARGET") != "http GET "+srv.URL+"/ok" || cell(t, r.stdout, "EXPECTS") != "any 2xx" {
		t.Fatalf("update --http-url of a code job:\n%s", r.stdout)
	}
	ctl.run(t, 0, "exec", cid)
	if e := waitRuns(t, cl, cid, 1).Data[0]; e.ExeStatus != jobcenter.StatusSuccess || !strings.HasPrefix(e.ExeDes, "GET "+srv.URL+"/ok → 200 OK (") {
		t.Fatalf("the former code job's run: %s", mustJSON(e))
	}
}
