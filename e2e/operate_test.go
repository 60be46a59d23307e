package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// Operating jobs beyond the SDK's calls, on real centers: versions and rollback, export
// and import (the kill, params and live log are in the client, console and Python tests).

func TestEveryDefinitionIsAVersionAndARollbackIsANewOne(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p", jobcenter.WithUser("alice"))
	j := must(cl.AddJob(ctx, seedSpec()))(t)
	c.clk.Advance(time.Millisecond)
	v2 := seedSpec()
	v2.Name, v2.Seconds = "v2", 600
	must(cl.UpdateJob(ctx, j.ID, v2))(t)
	c.clk.Advance(time.Millisecond)
	must(cl.StartJob(ctx, j.ID))(t) // a start is not a version
	vs := must(cl.Versions(ctx, j.JobID))(t)
	if len(vs) != 2 || vs[0].Version != 2 || vs[0].Event != "updated" || vs[0].Job.Name != "v2" || *vs[0].Job.JobParameter.Seconds != 600 ||
		vs[1].Version != 1 || vs[1].Event != "created" || vs[1].Job.Name != "SDK周期任务" || deref(vs[1].User) != "alice" {
		t.Fatalf("versions: %s", mustJSON(vs))
	}
	rolled := must(cl.Rollback(ctx, j.ID, 1))(t)
	if rolled.Name != "SDK周期任务" || *rolled.JobParameter.Seconds != 300 || !rolled.Started() {
		t.Fatalf("rolled back to version 1: %s", mustJSON(rolled))
	}
	vs = must(cl.Versions(ctx, j.ID))(t)
	if len(vs) != 3 || vs[0].Version != 3 || vs[0].Job.Name != "SDK周期任务" || *vs[0].Job.JobParameter.Seconds != 300 {
		t.Fatalf("the rollback is version 3: %s", mustJSON(vs))
	}
	// A rollback to the definition the job has already makes no version.
	if again := must(cl.Rollback(ctx, j.ID, 3))(t); again.Name != "SDK周期任务" || len(must(cl.Versions(ctx, j.ID))(t)) != 3 {
		t.Fatalf("a rollback to the current definition made a version: %s", mustJSON(again))
	}
	_, err := cl.Rollback(ctx, j.ID, 9)
	apiErr(t, err, 404, "not_found", "version")
	c.do("POST", "/api/v1/jobs/"+j.ID+"/versions/x/rollback", "p", nil).must(t, 400)
	_, err = newClient(t, c, "q").Versions(ctx, j.ID)
	apiErr(t, err, 404, "not_found", "")
	if got := must(cl.Versions(ctx, j.ID))(t); len(got) != 3 {
		t.Fatalf("refused rollbacks made versions: %d", len(got))
	}
}

func TestAProjectExportedIsImportedIntoAnotherCenterOnceWithADryRunFirst(t *testing.T) {
	from := newCenter(t)
	ctx := context.Background()
	src := newClient(t, from, "p")
	interval := must(src.AddJob(ctx, jobcenter.JobSpec{Pid: pid, Name: "每五分钟", Trigger: jobcenter.TriggerInterval, Seconds: 300,
		Code: "return 1", Retries: ptr[int64](2), MaxInstances: ptr[int64](3)}))(t)
	must(src.StartJob(ctx, interval.ID))(t)
	dated := must(src.AddJob(ctx, jobcenter.JobSpec{Pid: "other", Name: "一次", Trigger: jobcenter.TriggerDate,
		RunDate: jobcenter.FormatRunDate(from.clk.Now().Add(48 * time.Hour)), FlowID: "flow-1"}))(t)
	must(src.SaveSchedule(ctx, jobcenter.Schedule{JobName: "夜间", CronExpression: "0 0 3 * * ?", BizCode: "1202494946997833818"}))(t)
	// A job that chains to the date job and back: the date job is updated to name it after
	// it was created, so the document lists a child after its parent.
	chained := must(src.AddJob(ctx, jobcenter.JobSpec{Pid: pid, Name: "链", Trigger: jobcenter.TriggerInterval, Seconds: 600,
		Code: "return 3", OnSuccess: &[]string{dated.ID}}))(t)
	datedSpec := jobcenter.JobSpec{Name: "一次", Trigger: jobcenter.TriggerDate, RunDate: jobcenter.FormatRunDate(from.clk.Now().Add(48 * time.Hour)),
		FlowID: "flow-1", OnFailure: &[]string{chained.ID}}
	if _, err := src.UpdateJob(ctx, dated.ID, datedSpec); err == nil {
		t.Fatal("a chain back to its parent was accepted")
	}
	datedSpec.OnFailure = &[]string{interval.ID}
	dated = must(src.UpdateJob(ctx, dated.ID, datedSpec))(t)
	doc := must(src.Export(ctx, ""))(t)
	var parsed struct {
		Kind      string           `json:"kind"`
		Jobs      []map[string]any `json:"jobs"`
		Schedules []map[string]any `json:"schedules"`
	}
	if err := json.Unmarshal(doc, &parsed); err != nil || parsed.Kind != "jobcenter.export" || len(parsed.Jobs) != 3 || len(parsed.Schedules) != 1 {
		t.Fatalf("export: %v %s", err, doc)
	}
	// Jobs come in the list's order; each is found by its id.
	at := func(id string) int {
		return slices.IndexFunc(parsed.Jobs, func(j map[string]any) bool { return j["id"] == id })
	}
	ij, dj := at(interval.ID), at(dated.ID)
	if _, hasRunDate := parsed.Jobs[ij]["run_date"]; hasRunDate || parsed.Jobs[ij]["retries"] != float64(2) || parsed.Jobs[ij]["started"] != true ||
		parsed.Jobs[dj]["flow_id"] != "flow-1" || parsed.Jobs[dj]["started"] != false {
		t.Fatalf("exported jobs: %v", parsed.Jobs)
	}
	if only := must(src.Export(ctx, "other"))(t); !json.Valid(only) || len(only) >= len(doc) {
		t.Fatalf("export of one directory: %s", only)
	}

	to := newCenter(t)
	dst := newClient(t, to, "q")
	// A bad document is refused whole, naming the first problem: nothing is imported.
	var bad map[string]any
	_ = json.Unmarshal(doc, &bad)
	bad["jobs"].([]any)[dj].(map[string]any)["name"] = ""
	badDoc, _ := json.Marshal(bad)
	_, err := dst.Import(ctx, badDoc, false)
	apiErr(t, err, 400, "invalid", fmt.Sprintf("jobs[%d].name", dj))
	for field, change := range map[string]func(m map[string]any){
		"jobs[0].started":      func(m map[string]any) { m["jobs"].([]any)[0].(map[string]any)["started"] = "yes" },
		"jobs[0].on_success":   func(m map[string]any) { m["jobs"].([]any)[0].(map[string]any)["on_success"] = "abc" },
		"jobs[0].color":        func(m map[string]any) { m["jobs"].([]any)[0].(map[string]any)["color"] = "red" },
		"schedules[0].enabled": func(m map[string]any) { m["schedules"].([]any)[0].(map[string]any)["enabled"] = "yes" },
	} {
		var m map[string]any
		_ = json.Unmarshal(doc, &m)
		change(m)
		data, _ := json.Marshal(m)
		_, err := dst.Import(ctx, data, true)
		apiErr(t, err, 400, "invalid", field)
	}
	if l := must(dst.ListJobs(ctx, jobcenter.ListOptions{}))(t); l.Total != 0 {
		t.Fatalf("a refused import left %d jobs", l.Total)
	}

	dry := must(dst.Import(ctx, doc, true))(t)
	if !dry.DryRun || len(dry.Create) != 4 || len(dry.Change) != 0 || len(dry.Leave) != 0 {
		t.Fatalf("dry run: %s", mustJSON(dry))
	}
	if l := must(dst.ListJobs(ctx, jobcenter.ListOptions{}))(t); l.Total != 0 {
		t.Fatalf("a dry run imported %d jobs", l.Total)
	}
	done := must(dst.Import(ctx, doc, false))(t)
	if done.DryRun || len(done.Create) != 4 {
		t.Fatalf("import: %s", mustJSON(done))
	}
	got := must(dst.GetJob(ctx, interval.JobID))(t)
	if got.ID != interval.ID || got.Name != "每五分钟" || !got.Started() || *got.JobParameter.Retries != 2 || *got.JobParameter.MaxInstances != 3 {
		t.Fatalf("the imported interval job: %s", mustJSON(got))
	}
	if got := must(dst.GetJob(ctx, dated.ID))(t); got.Started() || deref(got.FlowID) != "flow-1" || got.Pid != "other" {
		t.Fatalf("the imported date job: %s", mustJSON(got))
	}
	if got := must(dst.GetJob(ctx, chained.ID))(t); !slices.Equal(got.JobParameter.OnSuccess, []string{dated.ID}) {
		t.Fatalf("the imported chain: %s", mustJSON(got.JobParameter))
	}
	if got := must(dst.GetJob(ctx, dated.ID))(t); !slices.Equal(got.JobParameter.OnFailure, []string{interval.ID}) {
		t.Fatalf("the imported chain of the date job: %s", mustJSON(got.JobParameter))
	}
	if st := must(dst.ScheduleStatuses(ctx, "1202494946997833818"))(t); len(st) != 1 || st[0].JobStatus != "enable" || st[0].CronExpression != "0 0 3 * * ?" {
		t.Fatalf("the imported schedule: %s", mustJSON(st))
	}
	// The same document again changes nothing; so does importing it where it came from.
	for name, cl := range map[string]*jobcenter.Client{"again": dst, "into its own center": src} {
		r := must(cl.Import(ctx, doc, false))(t)
		if len(r.Create) != 0 || len(r.Change) != 0 || len(r.Leave) != 4 {
			t.Fatalf("%s: %s", name, mustJSON(r))
		}
	}
	// A changed document changes what differs, and says what.
	_ = json.Unmarshal(doc, &bad)
	bad["jobs"].([]any)[ij].(map[string]any)["seconds"] = 120
	bad["jobs"].([]any)[dj].(map[string]any)["started"] = true
	changed, _ := json.Marshal(bad)
	r := must(dst.Import(ctx, changed, false))(t)
	what := map[string][]string{}
	for _, s := range r.Change {
		what[s.ID] = s.What
	}
	if len(r.Change) != 2 || !slices.Equal(what[interval.ID], []string{"definition"}) || !slices.Equal(what[dated.ID], []string{"started"}) || len(r.Leave) != 2 {
		t.Fatalf("a changed document: %s", mustJSON(r))
	}
	if got := must(dst.GetJob(ctx, interval.ID))(t); *got.JobParameter.Seconds != 120 || !got.Started() {
		t.Fatalf("after the change: %s", mustJSON(got))
	}
	// Ids another project's jobs hold cannot be imported: nothing is.
	_, err = newClient(t, to, "r").Import(ctx, doc, false)
	if ae := apiErr(t, err, 409, "conflict", ""); !strings.HasPrefix(ae.Field, "jobs[") {
		t.Fatalf("the conflict names %q, want an entry's id", ae.Field)
	}
	if l := must(newClient(t, to, "r").ListJobs(ctx, jobcenter.ListOptions{}))(t); l.Total != 0 {
		t.Fatalf("a refused import left %d jobs", l.Total)
	}
}

func TestChildJobsRunAfterTheirParentAndAJobFailingTooOftenIsPaused(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p")
	code := func(name, code string) jobcenter.JobSpec {
		return jobcenter.JobSpec{Pid: pid, Name: name, Trigger: jobcenter.TriggerInterval, Seconds: 60, Code: code}
	}
	onOK := must(cl.AddJob(ctx, code("after success", "return 'ok'")))(t)
	onFail := must(cl.AddJob(ctx, code("after failure", "return 'handled'")))(t)
	theirs := must(newClient(t, c, "q").AddJob(ctx, code("theirs", "return 1")))(t)

	parent := code("parent", "return 1")
	parent.OnSuccess, parent.OnFailure = &[]string{onOK.ID}, &[]string{onFail.ID}
	p := must(cl.AddJob(ctx, parent))(t)
	if !slices.Equal(p.JobParameter.OnSuccess, []string{onOK.ID}) || !slices.Equal(p.JobParameter.OnFailure, []string{onFail.ID}) {
		t.Fatalf("the parent's jobParameter: %s", mustJSON(p.JobParameter))
	}
	run := must(cl.ExecJob(ctx, p.ID))(t).FireID
	waitRuns(t, cl, p.ID, 1)
	child := waitRuns(t, cl, onOK.ID, 1).Data[0]
	if child.RunType != "chain" || child.Parent == nil || child.Parent.TriggerID != run || child.Parent.JobInfoID != p.ID || child.ExeStatus != "success" {
		t.Fatalf("the child's run: %s", mustJSON(child))
	}
	if j := must(cl.Journal(ctx, onFail.ID, 1, 10))(t); j.ResultCount != 0 {
		t.Fatalf("the failure's child ran after a success: %s", mustJSON(j))
	}

	// A child named by its jobId is kept by its id.
	byKey := code("by key", "return 1")
	byKey.OnSuccess = &[]string{onOK.JobID}
	if got := must(cl.AddJob(ctx, byKey))(t); !slices.Equal(got.JobParameter.OnSuccess, []string{onOK.ID}) {
		t.Fatalf("a child named by its jobId: %s", mustJSON(got.JobParameter))
	}

	// A chain that would loop, a job that runs itself, another tenant's job, a job that
	// is not there: refused when written, naming the field; nothing changes.
	loop := code("after success", "return 'ok'")
	loop.OnSuccess = &[]string{p.ID}
	_, err := cl.UpdateJob(ctx, onOK.ID, loop)
	apiErr(t, err, 409, "conflict", "on_success[0]")
	self := parent
	self.OnFailure = &[]string{p.ID}
	_, err = cl.UpdateJob(ctx, p.ID, self)
	apiErr(t, err, 409, "conflict", "on_failure[0]")
	for _, id := range []string{theirs.ID, "no-such-job"} {
		bad := code("x", "return 1")
		bad.OnSuccess = &[]string{onOK.ID, id}
		_, err = cl.AddJob(ctx, bad)
		apiErr(t, err, 400, "invalid", "on_success[1]")
	}
	if v := must(cl.Versions(ctx, onOK.ID))(t); len(v) != 1 {
		t.Fatalf("a refused chain changed the job: %d versions", len(v))
	}

	// A job failing on schedule: its failure child runs each time, and after two failed
	// runs in a row it stops by itself, its history saying why.
	failing := code("failing", "return 1 // 0")
	failing.OnFailure, failing.PauseAfterFailures = &[]string{onFail.ID}, ptr[int64](2)
	f := must(cl.AddJob(ctx, failing))(t)
	must(cl.StartJob(ctx, f.ID))(t)
	for i := 1; i <= 2; i++ {
		c.clk.Advance(60 * time.Second)
		waitRuns(t, cl, f.ID, i)
	}
	waitRuns(t, cl, onFail.ID, 2)
	teststack.Eventually(t, 10*time.Second, "the failing job to be paused", func() bool {
		return !must(cl.GetJob(ctx, f.ID))(t).Started()
	})
	h := must(cl.History(ctx, f.ID))(t)
	last := h[len(h)-1]
	if last.Event != "stopped" || deref(last.User) != "jobcenter" || !strings.Contains(last.Reason, "2 of its runs in a row failed") {
		t.Fatalf("the pause in the history: %s", mustJSON(last))
	}
	// A child deleted since it was named is not run, and the parent can still be changed;
	// an export leaves the child out.
	must(cl.DeleteJob(ctx, onOK.ID))(t)
	renamed := parent
	renamed.Name = "parent renamed"
	if got := must(cl.UpdateJob(ctx, p.ID, renamed))(t); got.Name != "parent renamed" {
		t.Fatalf("the parent of a deleted child: %s", mustJSON(got))
	}
	var exported struct {
		Jobs []map[string]any `json:"jobs"`
	}
	_ = json.Unmarshal(must(cl.Export(ctx, ""))(t), &exported)
	for _, j := range exported.Jobs {
		if j["id"] == p.ID && j["on_success"] != nil {
			t.Fatalf("the export names a deleted child: %v", j)
		}
	}

	// Stopped, it fires no more.
	c.clk.Advance(120 * time.Second)
	time.Sleep(300 * time.Millisecond)
	if j := must(cl.Journal(ctx, f.ID, 1, 10))(t); j.ResultCount != 2 {
		t.Fatalf("the paused job ran on: %d runs", j.ResultCount)
	}
}
