package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

func TestWithTheBrokerDownWritesAre503QuicklyAndTheCenterRecoversWhenItReturns(t *testing.T) {
	c := newCenter(t)
	id := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 201).obj(t)["id"].(string)
	c.stack.StopNATS(t)
	began := time.Now()
	code, _ := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 503).errField(t)
	if took := time.Since(began); took > 1500*time.Millisecond || code != "unavailable" {
		t.Fatalf("503 %q after %v; want it within a second and a half", code, took)
	}
	// Reads come from the store and still work.
	c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200)
	c.do("GET", "/readyz", "", nil).must(t, 503)
	c.stack.StartNATS(t)
	teststack.Eventually(t, 20*time.Second, "writes never recovered", func() bool {
		return c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).status == 200
	})
	c.waitReady()
}

func TestAFlowRunsByHTTPWhenAFlowURLIsSet(t *testing.T) {
	c := newCenter(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req contracts.FlowRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		switch {
		case r.URL.Path == "/biz/p/B7" && req.BizCode == "B7" && req.Tenant == "p":
			_, _ = io.WriteString(w, `{"ok": true, "output": "behaviour by http"}`)
		case strings.HasSuffix(r.URL.Path, "/good") && req.FlowID == "good":
			_, _ = io.WriteString(w, `{"ok": true, "output": "done by http"}`)
		case strings.HasSuffix(r.URL.Path, "/slow"):
			time.Sleep(3 * time.Second)
		default:
			http.Error(w, "flow exploded", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	c.stop("trigger")
	c.startTrigger(func(cfg *trigger.Config) { cfg.ExecTimeout = time.Second })
	c.stop("executor")
	c.startExecutor(func(cfg *executor.Config) {
		cfg.FlowURL = srv.URL + "/flows/{flow_id}"
		cfg.BizURL = srv.URL + "/biz/{tecode}/{bizcode}"
		cfg.Timeout = time.Second
	})
	c.waitReady()
	tests := []struct{ flow, status, detail string }{
		{"good", "success", "done by http"},
		{"bad", "failure", "HTTP 500"},
		{"slow", "failure", "timeout"},
	}
	for _, tc := range tests {
		body := intervalBody()
		delete(body, "code")
		body["flow_id"] = tc.flow
		id := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)["id"].(string)
		c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
		e := c.waitJournal("p", id, 1).Data[0]
		if e["exestatus"] != tc.status || !strings.Contains(e["exedes"].(string), tc.detail) {
			t.Fatalf("flow %s: %s", tc.flow, mustJSON(e))
		}
	}
	// A Quartz behaviour goes to JOBCENTER_BIZ_URL with its tecode and bizcode.
	var saved map[string]map[string]string
	c.quartz("bizcronjob", "p", save("s", "0 0 12 * * ?", "B7")).must(t, 200).json(t, &saved)
	sched := saved["resp_data"]["group_job_id"]
	c.quartz("bizcronjob", "p", opt("trigger", sched)).must(t, 200)
	if e := c.waitJournal("p", sched, 1).Data[0]; e["exestatus"] != "success" || e["exedes"] != "behaviour by http" {
		t.Fatalf("behaviour by http: %s", mustJSON(e))
	}
}

func TestWithTheStoreDownReadsAre503QuicklyAndAcceptedWritesApplyWhenItReturns(t *testing.T) {
	c := newCenter(t)
	id := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 201).obj(t)["id"].(string)
	c.stack.StopFerret(t)
	began := time.Now()
	code, _ := c.do("GET", "/api/v1/jobs/"+id+"/journal", "p", nil).must(t, 503).errField(t)
	if took := time.Since(began); took > 1500*time.Millisecond || code != "unavailable" {
		t.Fatalf("503 %q after %v; want it within a second and a half", code, took)
	}
	// The job view holds every job: it answers for one it does not hold.
	c.do("GET", "/api/v1/jobs/nope", "p", nil).must(t, 404)
	// A job the api holds is still read from its memory, and a write to it is applied:
	// the trigger decides on the state it remembers, and its document is written behind,
	// once the store is back.
	if got := c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200).obj(t); got["id"] != id {
		t.Fatalf("read from the job view: %v", got)
	}
	if got := c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200).obj(t); got["next_run_time"] == nil {
		t.Fatalf("started while the store is down: %v", got)
	}
	c.do("GET", "/readyz", "", nil).must(t, 503)
	// A new job needs no read: its command is stored, and waits for the store.
	accepted := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 202).obj(t)["id"].(string)

	c.stack.StartFerret(t)
	teststack.Eventually(t, 20*time.Second, "the accepted write was never applied", func() bool {
		return c.do("GET", "/api/v1/jobs/"+accepted, "p", nil).status == 200
	})
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	c.waitJournal("p", id, 1)
}
