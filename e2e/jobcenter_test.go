package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/teststack"
)

const pid = "d1138d88-49ec-11f0-b168-c6ee2c8e08e7"

// intervalBody is the seed's interval example as an HTTP body.
func intervalBody() map[string]any {
	return map[string]any{
		"pid": pid, "name": "SDK周期任务", "description": "SDK周期任务, description",
		"trigger": "interval", "seconds": 300, "code": `log_print("周期任务", "INFO")`,
	}
}

func TestTheSeedsJobCenterOperationsBehaveAsTheSeedDescribes(t *testing.T) {
	c := newCenter(t)
	const project = "b90ba90e-2431-11f0-a3b3-f2cf1bfaab0e"

	// sdk_add_job, interval: a new job is stopped, in the seed's shape.
	added := c.do("POST", "/api/v1/jobs", project, intervalBody(), "X-User-Id", "fa11e670").must(t, 201).obj(t)
	id, key := added["id"].(string), added["jobId"].(string)
	c.clk.Advance(time.Millisecond) // the list is in creation order
	if id == "" || key == "" || id == key {
		t.Fatalf("ids: %v %v", id, key)
	}
	wantKeys := []string{"code", "createTime", "createUser", "dataLevel", "description", "flowId", "id", "jobId",
		"jobParameter", "name", "next_run_time", "pid", "projectId", "updateTime", "updateUser"}
	if len(added) != len(wantKeys) {
		t.Fatalf("job info has fields %v, want exactly %v", keys(added), wantKeys)
	}
	for _, k := range wantKeys {
		if _, ok := added[k]; !ok {
			t.Fatalf("job info lacks %q", k)
		}
	}
	param := added["jobParameter"].(map[string]any)
	if added["next_run_time"] != nil || added["dataLevel"] != "normal" || added["projectId"] != project ||
		added["createUser"] != "fa11e670" || added["flowId"] != nil || added["code"] != `log_print("周期任务", "INFO")` ||
		param["id"] != key || param["project_id"] != project || param["coalesce"] != true || param["replace_existing"] != true ||
		param["seconds"] != float64(300) || param["trigger"] != "interval" || param["run_date"] != nil {
		t.Fatalf("job info: %s", mustJSON(added))
	}
	if _, err := time.ParseInLocation("2006-01-02 15:04:05", added["createTime"].(string), shanghai); err != nil {
		t.Fatalf("createTime %q is not the seed's format", added["createTime"])
	}

	// sdk_add_job, date.
	date := map[string]any{"pid": pid, "name": "SDK定时任务", "description": "SDK定时任务,description", "trigger": "date",
		"run_date": time.Now().In(shanghai).Add(48 * time.Hour).Format("2006-01-02 15:04:05"), "code": `log_print("定时任务", "INFO")`}
	dateJob := c.do("POST", "/api/v1/jobs", project, date).must(t, 201).obj(t)
	if dateJob["jobParameter"].(map[string]any)["run_date"] != date["run_date"] {
		t.Fatalf("run_date echoed as %v, want %v", dateJob["jobParameter"].(map[string]any)["run_date"], date["run_date"])
	}

	// sdk_get_job by either id.
	for _, ref := range []string{id, key} {
		got := c.do("GET", "/api/v1/jobs/"+ref, project, nil).must(t, 200).obj(t)
		if got["id"] != id {
			t.Fatalf("get by %s: %v", ref, got["id"])
		}
	}

	// sdk_get_jobs: the project's jobs, oldest first, with a total.
	var list []map[string]any
	r := c.do("GET", "/api/v1/jobs", project, nil).must(t, 200)
	r.json(t, &list)
	if len(list) != 2 || list[0]["id"] != id || r.header.Get("X-Total-Count") != "2" {
		t.Fatalf("list: %d jobs, total %s", len(list), r.header.Get("X-Total-Count"))
	}
	r = c.do("GET", "/api/v1/jobs?page=2&size=1", project, nil).must(t, 200)
	r.json(t, &list)
	if len(list) != 1 || list[0]["id"] != dateJob["id"] || r.header.Get("X-Total-Count") != "2" {
		t.Fatalf("page 2 of size 1: %v", list)
	}
	r = c.do("GET", "/api/v1/jobs?pid=other", project, nil).must(t, 200)
	r.json(t, &list)
	if len(list) != 0 || r.header.Get("X-Total-Count") != "0" {
		t.Fatalf("pid filter: %v", list)
	}

	// sdk_start_job: next_run_time is the next fire.
	started := c.do("POST", "/api/v1/jobs/"+key+"/start", project, nil).must(t, 200).obj(t)
	next, err := time.ParseInLocation("2006-01-02 15:04:05", fmt.Sprint(started["next_run_time"]), shanghai)
	if err != nil || next.Before(c.clk.Now().Add(299*time.Second)) || next.After(c.clk.Now().Add(301*time.Second)) {
		t.Fatalf("next_run_time %v, want about now+300s", started["next_run_time"])
	}

	// sdk_exec_job: one manual run now, schedule unchanged.
	c.do("POST", "/api/v1/jobs/"+id+"/exec", project, nil).must(t, 200)
	p := c.waitJournal(project, id, 1)
	e := p.Data[0]
	if e["runtype"] != "manual" || e["exestatus"] != "success" || e["triggerstatus"] != "success" || e["jobinfoid"] != id ||
		!strings.Contains(fmt.Sprint(e["exedes"]), "周期任务") {
		t.Fatalf("manual run: %s", mustJSON(e))
	}

	// sdk_update_job: changed, still started, rescheduled.
	upd := intervalBody()
	upd["name"], upd["seconds"] = "新SDK周期任务", 400
	delete(upd, "pid")
	updated := c.do("PUT", "/api/v1/jobs/"+id, project, upd, "X-User-Id", "u2").must(t, 200).obj(t)
	if updated["name"] != "新SDK周期任务" || updated["jobParameter"].(map[string]any)["seconds"] != float64(400) ||
		updated["pid"] != pid || updated["next_run_time"] == nil || updated["updateUser"] != "u2" || updated["createUser"] != "fa11e670" {
		t.Fatalf("update: %s", mustJSON(updated))
	}
	// The update rescheduled the started job from now, every 400 s.
	next, err = time.ParseInLocation("2006-01-02 15:04:05", fmt.Sprint(updated["next_run_time"]), shanghai)
	if err != nil || next.Before(c.clk.Now().Add(398*time.Second)) || next.After(c.clk.Now().Add(401*time.Second)) {
		t.Fatalf("next_run_time after the update %v, want about now+400s", updated["next_run_time"])
	}

	// sdk_stop_job.
	stopped := c.do("POST", "/api/v1/jobs/"+id+"/stop", project, nil).must(t, 200).obj(t)
	if stopped["next_run_time"] != nil {
		t.Fatalf("a stopped job has no next run: %v", stopped["next_run_time"])
	}

	// sdk_delete_job: gone afterwards.
	c.do("DELETE", "/api/v1/jobs/"+id, project, nil).must(t, 200)
	for _, ref := range []string{id, key} {
		code, _ := c.do("GET", "/api/v1/jobs/"+ref, project, nil).must(t, 404).errField(t)
		if code != "not_found" {
			t.Fatalf("deleted job: %s", code)
		}
	}
	c.do("POST", "/api/v1/jobs/"+id+"/start", project, nil).must(t, 404)
	// What it did stays readable: its journal (until retention removes it), not to
	// another project.
	if p := c.waitJournal(project, id, 1); p.Data[0]["runtype"] != "manual" {
		t.Fatalf("a deleted job's journal: %s", mustJSON(p))
	}
	c.do("GET", "/api/v1/jobs/"+id+"/journal", "other", nil).must(t, 404)
	r = c.do("GET", "/api/v1/jobs", project, nil).must(t, 200)
	if r.header.Get("X-Total-Count") != "1" {
		t.Fatalf("after delete, total %s", r.header.Get("X-Total-Count"))
	}
}

func TestIntervalJobsFireEveryPeriodIntoTheJournal(t *testing.T) {
	c := newCenter(t)
	body := intervalBody()
	body["seconds"] = 2
	body["code"] = "log_print('tick', 'INFO')\nreturn {'n': 1}"
	id := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
	startedAt := c.clk.Now()
	for i := 1; i <= 3; i++ {
		c.clk.Advance(2 * time.Second)
		c.waitJournal("p", id, i)
	}
	p := c.journal("p", id, 1, 10)
	for i, e := range p.Data {
		// Newest first: run 3 was scheduled at start+6s.
		want := startedAt.Add(time.Duration(3-i) * 2 * time.Second).UTC().Truncate(time.Millisecond)
		got, err := time.Parse("2006-01-02T15:04:05.000-0700", e["triggertime"].(string))
		if err != nil || !got.Equal(want) {
			t.Fatalf("entry %d triggertime %v, want %v", i, e["triggertime"], want)
		}
		if e["runtype"] != "trigger" || e["exestatus"] != "success" || !strings.Contains(e["exedes"].(string), `{"n":1}`) {
			t.Fatalf("entry %d: %s", i, mustJSON(e))
		}
	}
	// Stopped: no more fires however far the clock moves. A probe exec after the move
	// must be run 4: had the clock fired the job, it would be later.
	c.do("POST", "/api/v1/jobs/"+id+"/stop", "p", nil).must(t, 200)
	c.clk.Advance(time.Minute)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	if p := c.waitJournal("p", id, 4); p.Data[0]["runtype"] != "manual" {
		t.Fatalf("a stopped job fired: %s", mustJSON(p.Data[0]))
	}
}

func TestADateJobFiresOnceAtItsDateThenIsFinished(t *testing.T) {
	c := newCenter(t)
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	body := intervalBody()
	delete(body, "seconds")
	body["trigger"], body["run_date"] = "date", at.UTC().Format("2006-01-02T15:04:05.000Z")
	id := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)["id"].(string)
	started := c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200).obj(t)
	if started["next_run_time"] != at.In(shanghai).Format("2006-01-02 15:04:05") {
		t.Fatalf("next_run_time %v", started["next_run_time"])
	}
	c.clk.Set(at)
	p := c.waitJournal("p", id, 1)
	if p.Data[0]["exestatus"] != "success" {
		t.Fatalf("run: %s", mustJSON(p.Data[0]))
	}
	teststack.Eventually(t, 5*time.Second, "the date job never showed finished", func() bool {
		return c.do("GET", "/api/v1/jobs/"+id, "p", nil).obj(t)["next_run_time"] == nil
	})
	c.clk.Advance(time.Hour)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	if p := c.waitJournal("p", id, 2); p.Data[0]["runtype"] != "manual" {
		t.Fatalf("a date job fired twice: %s", mustJSON(p.Data))
	}
	code, field := c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 409).errField(t)
	if code != "conflict" || field != "run_date" {
		t.Fatalf("restarting a finished date job: %s %s", code, field)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
