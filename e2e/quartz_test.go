package e2e_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger"
)

// quartz posts to the Quartz API as tenant tecode (none when "").
func (c *center) quartz(path, tecode string, body any) reply {
	c.t.Helper()
	if tecode == "" {
		return c.do("POST", "/task/quartz/"+path, "", body)
	}
	return c.do("POST", "/task/quartz/"+path, "", body, "tecode", tecode)
}

func save(name, cron, biz string) map[string]any {
	return map[string]any{"xw_quartz": map[string]any{"opttype": "save", "jobname": name, "cronexpression": cron, "bizcode": biz}}
}

func opt(o, id string) map[string]any {
	return map[string]any{"xw_quartz": map[string]any{"opttype": o, "jobinfoid": id}}
}

func journalReq(id string, page, size any) map[string]any {
	return map[string]any{"xw_quartz": map[string]any{"opttype": "quaryjournal", "jobinfoid": id, "pageindex": page, "pagesize": size}}
}

// respBiz answers behaviour bizcode of tenant on NATS with ok, until the test ends.
func respBiz(t *testing.T, c *center, tenant, bizcode string, ok bool) {
	t.Helper()
	nc := connect(t, c.stack.NATSURL)
	_, err := nc.Subscribe(contracts.BizSubject(tenant, bizcode), func(m *nats.Msg) {
		rep := contracts.FlowReply{OK: ok, Output: "behaviour " + bizcode + " ran"}
		if !ok {
			rep.Error = "java.net.SocketTimeoutException: timeout"
		}
		data, _ := json.Marshal(rep)
		checkRunnerCall(c, m, data)
		_ = m.Respond(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.FlushWithContext(context.Background())
}

func TestTheSeedsThreeQuartzRequestsAnswerInTheSeedsShapes(t *testing.T) {
	c := newCenter(t)
	// 3. 为业务行为设置调度 — verbatim.
	var saved struct {
		RespData struct {
			GroupJobID string `json:"group_job_id"`
		} `json:"resp_data"`
	}
	c.quartz("bizcronjob", "T1", `{
    "xw_quartz":{
        "opttype":"save",
        "jobname":"调度名称",
        "cronexpression":"57 24 11 ? * * *",
        "bizcode":"1202494946997833818"
    }
}`).must(t, 200).json(t, &saved)
	id := saved.RespData.GroupJobID
	if id == "" {
		t.Fatal("no group_job_id")
	}
	// 1. 根据行为code查询调度信息 — verbatim but for the saved code among them.
	var status struct {
		RespData []map[string]string `json:"resp_data"`
	}
	c.quartz("queryjobstatus", "T1", `{
    "codes":"1085425175626911843,1202494946997833818",
    "jobtype":""
}`).must(t, 200).json(t, &status)
	want := map[string]string{"jobinfoid": id, "cronexpression": "57 24 11 ? * * *", "bizcode": "1202494946997833818", "jobstatus": "enable"}
	if len(status.RespData) != 1 || mustJSON(status.RespData[0]) != mustJSON(want) {
		t.Fatalf("status: %s", mustJSON(status))
	}
	// 2. 查询调度历史 — verbatim but for the id.
	r := c.quartz("bizcronjob", "T1", `{
    "xw_quartz":{
        "opttype":"quaryjournal",
        "jobinfoid":"`+id+`",
        "pageindex":1,
        "pagesize":10
    }
}`).must(t, 200).obj(t)
	list := r["resp_data"].(map[string]any)["quartz_list"].(map[string]any)
	if list["pageSize"] != float64(10) || list["pageIndex"] != float64(1) || list["resultCount"] != float64(0) ||
		list["pageCount"] != float64(0) || len(list["data"].([]any)) != 0 {
		t.Fatalf("journal: %s", mustJSON(r))
	}
}

func TestASavedEverySecondScheduleFiresItsBehaviourIntoTheJournal(t *testing.T) {
	c := newCenter(t)
	respBiz(t, c, "T1", "biz-ok", true)
	var saved map[string]map[string]string
	c.quartz("bizcronjob", "T1", save("每秒", "* * * ? * * *", "biz-ok")).must(t, 200).json(t, &saved)
	id := saved["resp_data"]["group_job_id"]
	for i := 1; i <= 3; i++ {
		c.clk.Advance(time.Second)
		c.waitJournal("T1", id, i)
	}
	var r struct {
		RespData struct {
			QuartzList journalPage `json:"quartz_list"`
		} `json:"resp_data"`
	}
	c.quartz("bizcronjob", "T1", journalReq(id, 1, 2)).must(t, 200).json(t, &r)
	p := r.RespData.QuartzList
	if p.ResultCount != 3 || p.PageCount != 2 || len(p.Data) != 2 {
		t.Fatalf("journal page: %+v", p)
	}
	e := p.Data[0]
	wantKeys := []string{"triggerid", "jobinfoid", "exestarttime", "exedes", "exestatus", "triggerstatus", "exetotaltime", "dynamicid", "triggertime", "updatetime", "runtype"}
	if len(e) != len(wantKeys) {
		t.Fatalf("entry fields %v, want %v", keys(e), wantKeys)
	}
	trig := parseJournalTime(t, e["triggertime"])
	if e["exestatus"] != "success" || e["triggerstatus"] != "success" || e["runtype"] != "trigger" || e["jobinfoid"] != id ||
		e["exedes"] != "behaviour biz-ok ran" || trig.Nanosecond() != 0 || !strings.HasSuffix(e["triggertime"].(string), "+0000") {
		t.Fatalf("entry: %s", mustJSON(e))
	}
	// Past the end: empty, with the true counts.
	c.quartz("bizcronjob", "T1", journalReq(id, 9, 2)).must(t, 200).json(t, &r)
	if p := r.RespData.QuartzList; len(p.Data) != 0 || p.ResultCount != 3 || p.PageCount != 2 || p.PageIndex != 9 {
		t.Fatalf("past the end: %+v", p)
	}
	for _, size := range []any{0, -1, 1000000, "x"} {
		c.quartz("bizcronjob", "T1", journalReq(id, 1, size)).must(t, 400)
	}
	c.quartz("bizcronjob", "T1", journalReq(id, 0, 10)).must(t, 400)
}

func TestEveryOpttypeWorksAndSavingAgainChangesTheSameSchedule(t *testing.T) {
	c := newCenter(t)
	respBiz(t, c, "T1", "b1", false)
	var saved map[string]map[string]string
	c.quartz("bizcronjob", "T1", save("s", "0 0 12 * * ?", "b1")).must(t, 200).json(t, &saved)
	id := saved["resp_data"]["group_job_id"]
	c.quartz("bizcronjob", "T1", save("s2", "0 0/15 * * * ?", "b1")).must(t, 200).json(t, &saved)
	if saved["resp_data"]["group_job_id"] != id {
		t.Fatalf("saving again made a new schedule: %v", saved)
	}
	status := func() map[string]string {
		var s struct {
			RespData []map[string]string `json:"resp_data"`
		}
		c.quartz("queryjobstatus", "T1", map[string]any{"codes": " b1 , nope,b1", "jobtype": ""}).must(t, 200).json(t, &s)
		if len(s.RespData) == 0 {
			return nil
		}
		if len(s.RespData) != 1 {
			t.Fatalf("status lists %d entries for one code", len(s.RespData))
		}
		return s.RespData[0]
	}
	if s := status(); s["cronexpression"] != "0 0/15 * * * ?" || s["jobstatus"] != "enable" {
		t.Fatalf("after the second save: %v", s)
	}
	r := c.quartz("bizcronjob", "T1", opt("disable", id)).must(t, 200).obj(t)
	if r["resp_data"].(map[string]any)["jobstatus"] != "disable" || status()["jobstatus"] != "disable" {
		t.Fatalf("disable: %s", mustJSON(r))
	}
	c.quartz("bizcronjob", "T1", opt("enable", id)).must(t, 200)
	if status()["jobstatus"] != "enable" {
		t.Fatal("enable did not enable")
	}
	// trigger: one manual run now; the behaviour fails, as the seed's journal shows.
	r = c.quartz("bizcronjob", "T1", opt("trigger", id)).must(t, 200).obj(t)
	if r["resp_data"].(map[string]any)["triggerid"] == "" {
		t.Fatalf("trigger: %s", mustJSON(r))
	}
	e := c.waitJournal("T1", id, 1).Data[0]
	if e["runtype"] != "manual" || e["exestatus"] != "failure" || e["triggerstatus"] != "success" ||
		!strings.Contains(e["exedes"].(string), "java.net.SocketTimeoutException: timeout") {
		t.Fatalf("manual run: %s", mustJSON(e))
	}
	del := c.do("POST", "/task/quartz/bizcronjob", "", opt("delete", id), "tecode", "T1", "Idempotency-Key", "del-q").must(t, 200)
	if s := status(); s != nil {
		t.Fatalf("a deleted schedule still shows: %v", s)
	}
	// Sent again with its key (its answer lost), the delete gets the first answer.
	if again := c.do("POST", "/task/quartz/bizcronjob", "", opt("delete", id), "tecode", "T1", "Idempotency-Key", "del-q").must(t, 200); string(again.body) != string(del.body) {
		t.Fatalf("repeated delete: %s, first %s", again.body, del.body)
	}
	c.quartz("bizcronjob", "T1", opt("delete", id)).must(t, 404)
	c.quartz("bizcronjob", "T1", opt("enable", id)).must(t, 404)
	// A behaviour whose schedule was deleted can be scheduled anew.
	c.quartz("bizcronjob", "T1", save("s3", "0 0 12 * * ?", "b1")).must(t, 200).json(t, &saved)
	if saved["resp_data"]["group_job_id"] == id || status()["jobstatus"] != "enable" {
		t.Fatalf("re-save after delete: %v", saved)
	}
}

func TestQuartzMistakesAre4xxNamingTheProblemAndChangeNothing(t *testing.T) {
	c := newCenter(t)
	var saved map[string]map[string]string
	c.quartz("bizcronjob", "T1", save("s", "0 0 12 * * ?", "b1")).must(t, 200).json(t, &saved)
	id := saved["resp_data"]["group_job_id"]
	tests := []struct {
		name, tecode string
		body         any
		status       int
		msg          string
	}{
		{"no tecode", "", save("s", "0 0 12 * * ?", "b2"), 400, "tecode"},
		{"unknown opttype", "T1", map[string]any{"xw_quartz": map[string]any{"opttype": "explode"}}, 400, "opttype"},
		{"no opttype", "T1", map[string]any{"xw_quartz": map[string]any{}}, 400, "opttype"},
		{"no xw_quartz", "T1", map[string]any{}, 400, "xw_quartz"},
		{"save without cron", "T1", save("s", "", "b2"), 400, "cronexpression"},
		{"save without bizcode", "T1", save("s", "0 0 12 * * ?", ""), 400, "bizcode"},
		{"save without jobname", "T1", save("", "0 0 12 * * ?", "b2"), 400, "jobname"},
		{"a 5-field Unix cron", "T1", save("s", "*/5 * * * *", "b2"), 400, "cronexpression"},
		{"both day fields", "T1", save("s", "0 0 12 1 * MON", "b2"), 400, "cronexpression"},
		{"a cron that never fires again", "T1", save("s", "0 0 0 1 1 ? 1999", "b2"), 400, "cronexpression"},
		{"a bizcode with a comma", "T1", save("s", "0 0 12 * * ?", "a,b"), 400, "bizcode: must not contain a comma"},
		{"xw_quartz not an object", "T1", map[string]any{"xw_quartz": "save"}, 400, "xw_quartz: must be of type object, got a JSON string"},
		{"a bizcode of the wrong type", "T1", map[string]any{"xw_quartz": map[string]any{"opttype": "save", "jobname": "s",
			"cronexpression": "0 0 12 * * ?", "bizcode": 1}}, 400, "bizcode: must be of type string"},
		{"an unknown time zone", "T1", map[string]any{"xw_quartz": map[string]any{"opttype": "save", "jobname": "s",
			"cronexpression": "0 0 12 * * ?", "bizcode": "b2", "timezone": "Mars/Base"}}, 400, "timezone: unknown time zone"},
		{"enable without jobinfoid", "T1", opt("enable", ""), 400, "jobinfoid"},
		{"unknown jobinfoid", "T1", opt("trigger", "nope"), 404, "jobinfoid: no schedule"},
		{"another tenant's jobinfoid", "T2", opt("disable", id), 404, "jobinfoid: no schedule"},
		{"another tenant's journal", "T2", journalReq(id, 1, 10), 404, "jobinfoid: no schedule"},
		{"status without codes", "T1", map[string]any{"jobtype": ""}, 400, "codes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := "bizcronjob"
			if tc.name == "status without codes" {
				path = "queryjobstatus"
			}
			var e map[string]string
			c.quartz(path, tc.tecode, tc.body).must(t, tc.status).json(t, &e)
			if e["resp_code"] == "" || !strings.Contains(e["resp_msg"], tc.msg) {
				t.Fatalf("answer %v; want resp_code and a resp_msg naming %q", e, tc.msg)
			}
		})
	}
	// Each facade keeps to its own jobs in a shared tenant: the SDK cannot rewrite a
	// schedule, the Quartz API cannot drive an SDK job, and a bizcode key is no job id.
	c.do("PUT", "/api/v1/jobs/"+id, "T1", intervalBody()).must(t, 409)
	// Its SDK job info shows what it runs on: the expression and the zone (Asia/Shanghai,
	// JOBCENTER_TZ, as the save gave none); an SDK job's does not.
	if p := c.do("GET", "/api/v1/jobs/"+id, "T1", nil).must(t, 200).obj(t)["jobParameter"].(map[string]any); p["trigger"] != "cron" ||
		p["cron"] != "0 0 12 * * ?" || p["timezone"] != "Asia/Shanghai" {
		t.Fatalf("the schedule's SDK job parameters: %s", mustJSON(p))
	}
	sdkJob := c.do("POST", "/api/v1/jobs", "T1", intervalBody()).must(t, 201).obj(t)["id"].(string)
	if p := c.do("GET", "/api/v1/jobs/"+sdkJob, "T1", nil).must(t, 200).obj(t)["jobParameter"].(map[string]any); p["cron"] != nil || p["timezone"] != nil {
		t.Fatalf("an interval job shows a cron: %s", mustJSON(p))
	}
	var e map[string]string
	c.quartz("bizcronjob", "T1", opt("enable", sdkJob)).must(t, 404).json(t, &e)
	if !strings.Contains(e["resp_msg"], "jobinfoid") {
		t.Fatalf("enable of an SDK job: %v", e)
	}
	c.do("GET", "/api/v1/jobs/biz.T1.b1", "T1", nil).must(t, 404)

	var s struct {
		RespData []map[string]string `json:"resp_data"`
	}
	c.quartz("queryjobstatus", "T1", map[string]any{"codes": "b1,b2", "jobtype": ""}).must(t, 200).json(t, &s)
	if len(s.RespData) != 1 || s.RespData[0]["jobstatus"] != "enable" {
		t.Fatalf("mistakes changed something: %s", mustJSON(s))
	}
	c.quartz("queryjobstatus", "T2", map[string]any{"codes": "b1", "jobtype": ""}).must(t, 200).json(t, &s)
	if len(s.RespData) != 0 {
		t.Fatalf("tenant T2 sees T1's schedule: %s", mustJSON(s))
	}
}

func TestABehaviourThatDoesNotAnswerInTimeFailsWithTimeout(t *testing.T) {
	c := newCenter(t)
	c.stop("trigger")
	c.startTrigger(func(cfg *trigger.Config) { cfg.ExecTimeout = 500 * time.Millisecond })
	nc := connect(t, c.stack.NATSURL)
	// A responder that never answers.
	if _, err := nc.Subscribe(contracts.BizSubject("T1", "slow"), func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	_ = nc.FlushWithContext(context.Background())
	var saved map[string]map[string]string
	c.quartz("bizcronjob", "T1", save("s", "0 0 12 * * ?", "slow")).must(t, 200).json(t, &saved)
	id := saved["resp_data"]["group_job_id"]
	c.quartz("bizcronjob", "T1", opt("trigger", id)).must(t, 200)
	e := c.waitJournal("T1", id, 1).Data[0]
	if e["exestatus"] != "failure" || e["exedes"] != "timeout: stopped at its limit of 500ms (the job's timeout, or JOBCENTER_EXEC_TIMEOUT for a job without one)" {
		t.Fatalf("run: %s", mustJSON(e))
	}
}

func TestTheCronPreviewAgreesWithQuartz(t *testing.T) {
	c := newCenter(t)
	tests := []struct {
		expr, tz, from string
		count          int
		want           []string
	}{
		// The seed's expression: every 30 minutes from 08:00 to 19:30.
		{"0 */30 8-19 ? * * *", "Asia/Shanghai", "2025-07-01T19:10:00+08:00", 3,
			[]string{"2025-07-01T19:30:00+08:00", "2025-07-02T08:00:00+08:00", "2025-07-02T08:30:00+08:00"}},
		// Quartz skips a wall-clock time that does not exist on the spring-forward day.
		{"0 30 2 * * ?", "America/New_York", "2025-03-08T00:00:00-05:00", 3,
			[]string{"2025-03-08T02:30:00-05:00", "2025-03-10T02:30:00-04:00", "2025-03-11T02:30:00-04:00"}},
		// The last Friday of the month, and 29 February.
		{"0 0 10 ? * 6L", "Europe/Berlin", "2025-01-01T00:00:00+01:00", 2,
			[]string{"2025-01-31T10:00:00+01:00", "2025-02-28T10:00:00+01:00"}},
		{"0 0 0 29 2 ?", "UTC", "2025-01-01T00:00:00Z", 2,
			[]string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		// A year range that runs out.
		{"0 0 0 1 1 ? 2026-2027", "UTC", "2025-01-01T00:00:00Z", 5,
			[]string{"2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
	}
	for _, tc := range tests {
		q := "/api/v1/cron/next?expr=" + urlq(tc.expr) + "&tz=" + urlq(tc.tz) + "&from=" + urlq(tc.from) + "&count=" + itoa(tc.count)
		var got struct{ Next []string }
		c.do("GET", q, "", nil).must(t, 200).json(t, &got)
		if mustJSON(got.Next) != mustJSON(tc.want) {
			t.Errorf("%s in %s from %s: got %v, want %v", tc.expr, tc.tz, tc.from, got.Next, tc.want)
		}
	}
	for _, q := range []string{"expr=" + urlq("*/5 * * * *"), "", "expr=" + urlq("0 0 12 * * ?") + "&tz=Mars/Base",
		"expr=" + urlq("0 0 12 * * ?") + "&count=0", "expr=" + urlq("0 0 12 * * ?") + "&count=101", "expr=" + urlq("0 0 12 * * ?") + "&from=yesterday"} {
		code, field := c.do("GET", "/api/v1/cron/next?"+q, "", nil).must(t, 400).errField(t)
		if code != "invalid" || field == "" {
			t.Errorf("%s: %s %s", q, code, field)
		}
	}
}
