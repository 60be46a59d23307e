package e2e_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

func TestEveryBrokenRuleIsA400NamingTheFieldAndStoresNothing(t *testing.T) {
	c := newCenter(t)
	past := time.Now().In(shanghai).Add(-time.Minute).Format("2006-01-02 15:04:05")
	tests := []struct {
		name   string
		edit   func(map[string]any)
		raw    string
		status int
		field  string
	}{
		{name: "trigger neither date, interval nor cron", edit: func(b map[string]any) { b["trigger"] = "weekly" }, status: 400, field: "trigger"},
		{name: "a cron trigger without its expression", edit: func(b map[string]any) { b["trigger"] = "cron" }, status: 400, field: "cron"},
		{name: "no trigger", edit: func(b map[string]any) { delete(b, "trigger") }, status: 400, field: "trigger"},
		{name: "interval without seconds", edit: func(b map[string]any) { delete(b, "seconds") }, status: 400, field: "seconds"},
		{name: "seconds zero", edit: func(b map[string]any) { b["seconds"] = 0 }, status: 400, field: "seconds"},
		{name: "seconds negative", edit: func(b map[string]any) { b["seconds"] = -1 }, status: 400, field: "seconds"},
		{name: "seconds fractional", edit: func(b map[string]any) { b["seconds"] = 1.5 }, status: 400, field: "seconds"},
		{name: "seconds a string", edit: func(b map[string]any) { b["seconds"] = "60" }, status: 400, field: "seconds"},
		{name: "seconds enormous", edit: func(b map[string]any) { b["seconds"] = 1e15 }, status: 400, field: "seconds"},
		{name: "date without run_date", edit: func(b map[string]any) { b["trigger"] = "date" }, status: 400, field: "run_date"},
		{name: "date in the past", edit: func(b map[string]any) { b["trigger"], b["run_date"] = "date", past }, status: 400, field: "run_date"},
		{name: "date unreadable", edit: func(b map[string]any) { b["trigger"], b["run_date"] = "date", "next tuesday" }, status: 400, field: "run_date"},
		{name: "neither code nor flow_id", edit: func(b map[string]any) { delete(b, "code") }, status: 400, field: "code"},
		{name: "code null and flow_id null", edit: func(b map[string]any) { b["code"], b["flow_id"] = nil, nil }, status: 400, field: "code"},
		{name: "no name", edit: func(b map[string]any) { delete(b, "name") }, status: 400, field: "name"},
		{name: "no pid", edit: func(b map[string]any) { delete(b, "pid") }, status: 400, field: "pid"},
		{name: "name a number", edit: func(b map[string]any) { b["name"] = 5 }, status: 400, field: "name"},
		{name: "an unknown field", edit: func(b map[string]any) { b["cronexpression"] = "* * *" }, status: 400, field: "cronexpression"},
		{name: "malformed JSON", raw: `{"name": `, status: 400},
		{name: "not an object", raw: `[1,2]`, status: 400},
		{name: "empty body", raw: ` `, status: 400},
		{name: "a huge body", raw: `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, status: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body any = tc.raw
			if tc.raw == "" {
				b := intervalBody()
				tc.edit(b)
				body = b
			}
			code, field := c.do("POST", "/api/v1/jobs", "p", body).must(t, tc.status).errField(t)
			if field != tc.field || code == "" {
				t.Fatalf("code %q field %q, want field %q", code, field, tc.field)
			}
		})
	}
	t.Run("a wrong content type", func(t *testing.T) {
		c.do("POST", "/api/v1/jobs", "p", nil, "Content-Type", "text/plain").must(t, 415)
	})
	t.Run("no X-Project-Id", func(t *testing.T) {
		_, field := c.do("POST", "/api/v1/jobs", "", intervalBody()).must(t, 400).errField(t)
		if field != "X-Project-Id" {
			t.Fatalf("field %q", field)
		}
	})
	t.Run("paging out of range", func(t *testing.T) {
		for _, q := range []string{"size=0", "size=1001", "page=0", "page=-1", "size=x"} {
			c.do("GET", "/api/v1/jobs?"+q, "p", nil).must(t, 400)
		}
	})
	if r := c.do("GET", "/api/v1/jobs", "p", nil).must(t, 200); r.header.Get("X-Total-Count") != "0" {
		t.Fatalf("bad requests stored jobs: %s", r.body)
	}
	// An update breaking a rule changes nothing either.
	id := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 201).obj(t)["id"].(string)
	bad := intervalBody()
	bad["seconds"] = -3
	c.do("PUT", "/api/v1/jobs/"+id, "p", bad).must(t, 400)
	if got := c.do("GET", "/api/v1/jobs/"+id, "p", nil).obj(t); got["jobParameter"].(map[string]any)["seconds"] != float64(300) {
		t.Fatalf("a rejected update changed the job: %s", mustJSON(got))
	}
}

func TestAProjectSeesAndTouchesOnlyItsOwnJobs(t *testing.T) {
	c := newCenter(t)
	a := c.do("POST", "/api/v1/jobs", "project-a", intervalBody()).must(t, 201).obj(t)
	for _, ref := range []string{a["id"].(string), a["jobId"].(string)} {
		c.do("GET", "/api/v1/jobs/"+ref, "project-b", nil).must(t, 404)
		c.do("GET", "/api/v1/jobs/"+ref+"/journal", "project-b", nil).must(t, 404)
		for _, op := range []string{"start", "stop", "exec"} {
			c.do("POST", "/api/v1/jobs/"+ref+"/"+op, "project-b", nil).must(t, 404)
		}
		c.do("PUT", "/api/v1/jobs/"+ref, "project-b", intervalBody()).must(t, 404)
		c.do("DELETE", "/api/v1/jobs/"+ref, "project-b", nil).must(t, 404)
	}
	if r := c.do("GET", "/api/v1/jobs", "project-b", nil).must(t, 200); r.header.Get("X-Total-Count") != "0" {
		t.Fatalf("project b lists %s", r.body)
	}
	c.do("GET", "/api/v1/jobs/"+a["id"].(string), "project-a", nil).must(t, 200)
}

func TestARepeatedIdempotencyKeyIsAppliedOnce(t *testing.T) {
	c := newCenter(t)
	first := c.do("POST", "/api/v1/jobs", "p", intervalBody(), "Idempotency-Key", "k-1").must(t, 201).obj(t)
	again := c.do("POST", "/api/v1/jobs", "p", intervalBody(), "Idempotency-Key", "k-1").must(t, 201).obj(t)
	if first["id"] != again["id"] || first["jobId"] != again["jobId"] {
		t.Fatalf("same key, different jobs: %v %v", first["id"], again["id"])
	}
	other := c.do("POST", "/api/v1/jobs", "p", intervalBody(), "Idempotency-Key", "k-2").must(t, 201).obj(t)
	if other["id"] == first["id"] {
		t.Fatal("a new key made no new job")
	}
	if r := c.do("GET", "/api/v1/jobs", "p", nil).must(t, 200); r.header.Get("X-Total-Count") != "2" {
		t.Fatalf("total %s, want 2", r.header.Get("X-Total-Count"))
	}
	// The same key on another request is another command: start really starts.
	id := first["id"].(string)
	started := c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil, "Idempotency-Key", "k-1").must(t, 200).obj(t)
	if started["next_run_time"] == nil {
		t.Fatalf("a start with a key used for the create did not start: %s", mustJSON(started))
	}
	// An exec repeated with its key runs once.
	for i := 0; i < 3; i++ {
		c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil, "Idempotency-Key", "exec-1").must(t, 200)
	}
	c.do("POST", "/api/v1/jobs/"+id+"/stop", "p", nil).must(t, 200)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	if p := c.waitJournal("p", id, 2); p.Data[0]["triggerid"] == p.Data[1]["triggerid"] {
		t.Fatalf("runs: %s", mustJSON(p.Data))
	}
	// The same key with another body is refused (the IETF draft's 422), and changes nothing.
	changed := intervalBody()
	changed["name"] = "anchanged"
	e := c.do("POST", "/api/v1/jobs", "p", changed, "Idempotency-Key", "k-1").must(t, 422).obj(t)["error"].(map[string]any)
	if e["code"] != "idempotency_key_reused" || e["field"] != "Idempotency-Key" || !strings.Contains(e["message"].(string), "different body") {
		t.Fatalf("another body with the same key: %v", e)
	}
	c.do("PUT", "/api/v1/jobs/"+id, "p", intervalBody(), "Idempotency-Key", "u-1").must(t, 200)
	c.do("PUT", "/api/v1/jobs/"+id, "p", changed, "Idempotency-Key", "u-1").must(t, 422)
	if r := c.do("GET", "/api/v1/jobs", "p", nil).must(t, 200); r.header.Get("X-Total-Count") != "2" || strings.Contains(string(r.body), "anchanged") {
		t.Fatalf("a refused request changed the jobs: %s", r.body)
	}
	// Past the broker's de-duplication window the trigger answers with the kept outcome,
	// which names the first request's body: a command sent as the api sends it, but
	// stored anew (another message id), is answered so.
	keptFirst := keptFingerprint(t, c, "p", first["id"].(string))
	if keptFirst == "" || keptFirst == "-" {
		t.Fatalf("the kept outcome of an add carries fingerprint %q", keptFirst)
	}
	// A delete sent again with its key (its first answer lost) gets the first answer, not
	// a 404; a new delete of the deleted job is a 404.
	gone := c.do("DELETE", "/api/v1/jobs/"+id, "p", nil, "Idempotency-Key", "del-1").must(t, 200).obj(t)
	if again := c.do("DELETE", "/api/v1/jobs/"+id, "p", nil, "Idempotency-Key", "del-1").must(t, 200).obj(t); again["id"] != gone["id"] || again["updateTime"] != gone["updateTime"] {
		t.Fatalf("repeated delete: %s, first %s", mustJSON(again), mustJSON(gone))
	}
	c.do("DELETE", "/api/v1/jobs/"+id, "p", nil, "Idempotency-Key", "del-2").must(t, 404)
	c.do("DELETE", "/api/v1/jobs/"+id, "p", nil).must(t, 404)
}

func TestWithTheTriggerDownAWriteIsAcceptedAndAppliedWhenItReturns(t *testing.T) {
	c := newCenter(t)
	c.stop("trigger")
	r := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 202).obj(t)
	id := r["id"].(string)
	if r["jobId"] == "" || r["status"] != "accepted" {
		t.Fatalf("202 body: %s", mustJSON(r))
	}
	c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 404)
	c.startTrigger()
	teststack.Eventually(t, 10*time.Second, "the accepted job was never applied", func() bool {
		return c.do("GET", "/api/v1/jobs/"+id, "p", nil).status == 200
	})
}

func TestAfterARestartOnTheSameDataJobsAndTheirRunsCarryOn(t *testing.T) {
	c := newCenter(t)
	body := intervalBody()
	body["seconds"] = 1
	id := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
	c.clk.Advance(time.Second)
	c.waitJournal("p", id, 1)
	c.clk.Advance(time.Second)
	c.waitJournal("p", id, 2)
	for _, s := range []string{"api", "executor", "trigger"} {
		c.stop(s)
	}
	c.startAPI()
	c.startTrigger()
	c.startExecutor()
	c.waitReady()
	if got := c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200).obj(t); got["next_run_time"] == nil {
		t.Fatalf("the job is no longer started: %s", mustJSON(got))
	}
	c.clk.Advance(time.Second)
	p := c.waitJournal("p", id, 3)
	if p.Data[0]["triggerid"] == p.Data[1]["triggerid"] {
		t.Fatalf("a run number was reused: %s", mustJSON(p.Data))
	}
}

func TestAFlowJobIsHandedToItsRunnerAndAMissingRunnerFailsTheRun(t *testing.T) {
	c := newCenter(t)
	nc := connect(t, c.stack.NATSURL)
	got := make(chan contracts.FlowRequest, 1)
	sub, err := nc.Subscribe(contracts.FlowSubject("p", "flow-ok"), func(m *nats.Msg) {
		var req contracts.FlowRequest
		_ = json.Unmarshal(m.Data, &req)
		got <- req
		reply, _ := json.Marshal(contracts.FlowReply{OK: true, Output: "flow ran"})
		checkRunnerCall(c, m, reply)
		_ = m.Respond(reply)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	_ = nc.FlushWithContext(context.Background())

	body := intervalBody()
	delete(body, "code")
	body["flow_id"] = "flow-ok"
	ok := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)
	if ok["flowId"] != "flow-ok" || ok["code"] != nil {
		t.Fatalf("flow job info: %s", mustJSON(ok))
	}
	c.do("POST", "/api/v1/jobs/"+ok["id"].(string)+"/exec", "p", nil).must(t, 200)
	p := c.waitJournal("p", ok["id"].(string), 1)
	if p.Data[0]["exestatus"] != "success" || p.Data[0]["exedes"] != "flow ran" {
		t.Fatalf("flow run: %s", mustJSON(p.Data[0]))
	}
	if req := <-got; req.FlowID != "flow-ok" || req.Tenant != "p" || req.JobID != ok["id"] {
		t.Fatalf("flow request: %+v", req)
	}

	body["flow_id"] = "flow-nobody"
	none := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)
	c.do("POST", "/api/v1/jobs/"+none["id"].(string)+"/exec", "p", nil).must(t, 200)
	p = c.waitJournal("p", none["id"].(string), 1)
	if p.Data[0]["exestatus"] != "failure" || !strings.Contains(p.Data[0]["exedes"].(string), "no responder") {
		t.Fatalf("flow without runner: %s", mustJSON(p.Data[0]))
	}
}

func TestTheSeedsJobCodeRunsWithTheSDKInItsOwnProject(t *testing.T) {
	c := newCenter(t)
	code := `# 导入SDK
global sdk_add_job

pid = "d1138d88-49ec-11f0-b168-c6ee2c8e08e7" # 目录ID
name = "SDK周期任务" # 任务名称
description = "SDK周期任务, description" # 任务描述
trigger = "interval" # 周期任务
seconds = 300 # 每1分钟执行一次
code = """log_print("周期任务", "INFO")""" # 任务执行代码

# 添加任务
job_info1 = sdk_add_job(pid, name, description, trigger, seconds=seconds, code=code)
log_print("added " + job_info1["id"], "INFO")

return None`
	body := intervalBody()
	body["code"] = code
	id := c.do("POST", "/api/v1/jobs", "seedproj", body).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "seedproj", nil).must(t, 200)
	p := c.waitJournal("seedproj", id, 1)
	if p.Data[0]["exestatus"] != "success" || !strings.Contains(p.Data[0]["exedes"].(string), "added ") {
		t.Fatalf("seed code run: %s", mustJSON(p.Data[0]))
	}
	var list []map[string]any
	c.do("GET", "/api/v1/jobs", "seedproj", nil).must(t, 200).json(t, &list)
	if len(list) != 2 {
		t.Fatalf("the snippet's sdk_add_job did not add a job to its own project: %d jobs", len(list))
	}
}

// keptFingerprint sends the command that created job id once more, with another body's
// fingerprint and a fresh message id (as after the de-duplication window), and returns
// the fingerprint of the outcome the trigger answers with, after checking it is the
// kept outcome of that create.
func keptFingerprint(t *testing.T, c *center, tenant, id string) string {
	t.Helper()
	ctx := context.Background()
	nc := connect(t, c.stack.NATSURL)
	js, _ := jetstream.New(nc)
	cons, err := js.OrderedConsumer(ctx, contracts.StreamCommands, jetstream.OrderedConsumerConfig{FilterSubjects: []string{contracts.CommandSubject(tenant)}})
	if err != nil {
		t.Fatal(err)
	}
	var cmd contracts.Command
	for cmd.ID == "" {
		batch, err := cons.FetchNoWait(100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var x contracts.Command
			if json.Unmarshal(m.Data(), &x) == nil && x.Type == "create" && x.JobID == id {
				cmd = x
			}
		}
		if n == 0 {
			t.Fatalf("no create command of %s in the stream", id)
		}
	}
	inbox := nats.NewInbox() + "." + cmd.ID // the api's form: its inbox, then the command
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	cmd.ReplyTo, cmd.Fingerprint = inbox, "another body"
	data, _ := json.Marshal(cmd)
	if _, err := js.Publish(ctx, contracts.CommandSubject(tenant), data, jetstream.WithMsgID("fresh-"+cmd.ID)); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal("no outcome:", err)
	}
	var o contracts.Outcome
	if err := json.Unmarshal(m.Data, &o); err != nil || o.Job == nil || o.Job.ID != id || o.CommandID != cmd.ID {
		t.Fatalf("the outcome is not the kept one of %s: %s", id, m.Data)
	}
	return o.Fingerprint
}
