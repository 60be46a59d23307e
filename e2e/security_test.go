package e2e_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// keyedCenter starts a center with keys on: keyA opens tenant "pa", keyB tenant "pb",
// and the executor presents a service key for job code's sdk_* calls.
func keyedCenter(t *testing.T) (c *center, keyA, keyB string) {
	t.Helper()
	keyA, lineA := api.MintKey("pa")
	keyB, lineB := api.MintKey("pb")
	service, _ := api.MintKey("*")
	c = newCenterWith(t,
		func(cfg *api.Config) { cfg.Keys, cfg.ServiceKey = lineA+","+lineB, service },
		func(cfg *executor.Config) { cfg.APIKey = service })
	return c, keyA, keyB
}

func TestWithKeysOnlyAKeyOfTheTenantOpensItsJobs(t *testing.T) {
	c, keyA, keyB := keyedCenter(t)
	bearer := func(k string) []string { return []string{"Authorization", "Bearer " + k} }

	code, _ := c.do("POST", "/api/v1/jobs", "pa", intervalBody()).must(t, 401).errField(t)
	r := c.do("POST", "/api/v1/jobs", "pa", intervalBody(), bearer("jc_wrong")...).must(t, 401)
	if code != "unauthorized" || r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("401: %s %v", code, r.header)
	}
	if code, field := c.do("POST", "/api/v1/jobs", "pb", intervalBody(), bearer(keyA)...).must(t, 403).errField(t); code != "forbidden" || field != "X-Project-Id" {
		t.Fatalf("a's key for b: %s %s", code, field)
	}
	b := c.do("POST", "/api/v1/jobs", "pb", intervalBody(), bearer(keyB)...).must(t, 201).obj(t)["id"].(string)
	c.do("GET", "/api/v1/jobs/"+b, "pb", nil, bearer(keyA)...).must(t, 403)
	c.do("GET", "/api/v1/jobs/"+b, "pa", nil, bearer(keyA)...).must(t, 404)
	c.do("POST", "/task/quartz/queryjobstatus", "", map[string]any{"codes": "x"}, append(bearer(keyA), "tecode", "pb")...).must(t, 403)
	c.do("POST", "/task/quartz/queryjobstatus", "", map[string]any{"codes": "x"}, append(bearer(keyA), "tecode", "pa")...).must(t, 200)
	c.do("GET", "/healthz", "", nil).must(t, 200)
	c.do("GET", "/api/v1/cron/next?expr="+urlq("0 0 12 * * ?"), "", nil).must(t, 200)

	// Job code's sdk_* calls go through with the executors' key, as the job's own
	// project only: b's job is not found from a's code.
	body := intervalBody()
	body["code"] = "jobs = sdk_get_jobs()\nlog_print('sees %d' % len(jobs), 'INFO')\nsdk_get_job(\"" + b + "\")"
	a := c.do("POST", "/api/v1/jobs", "pa", body, bearer(keyA)...).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+a+"/exec", "pa", nil, bearer(keyA)...).must(t, 200)
	var p journalPage
	teststack.Eventually(t, 15*time.Second, "the run never finished", func() bool {
		c.do("GET", "/api/v1/jobs/"+a+"/journal", "pa", nil, bearer(keyA)...).must(t, 200).json(t, &p)
		return len(p.Data) == 1 && p.Data[0]["exestatus"] == "failure"
	})
	if d := p.Data[0]["exedes"].(string); !strings.Contains(d, "sees 1") || !strings.Contains(d, "job not found") {
		t.Fatalf("the snippet's sdk calls: %q", d)
	}
}

func TestATenantBeyondItsRateGets429WithRetryAfter(t *testing.T) {
	c := newCenterWith(t, func(cfg *api.Config) { cfg.RateLimit = 2 }, nil)
	limited := 0
	for i := 0; i < 12; i++ {
		r := c.do("GET", "/api/v1/jobs", "busy", nil)
		if r.status == 429 {
			limited++
			if code, _ := r.errField(t); code != "rate_limited" {
				t.Fatalf("429 body: %s", r.body)
			}
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
				t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
			}
		}
	}
	if limited == 0 {
		t.Fatal("12 requests at once never met the limit of 2 a second (burst 4)")
	}
	c.do("GET", "/api/v1/jobs", "calm", nil).must(t, 200)
}

func TestEveryChangeOfAJobIsInItsHistoryWithWhoAndWhen(t *testing.T) {
	c := newCenter(t)
	id := c.do("POST", "/api/v1/jobs", "p", intervalBody(), "X-User-Id", "alice").must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil, "X-User-Id", "bob").must(t, 200)
	upd := intervalBody()
	upd["name"] = "renamed"
	c.do("PUT", "/api/v1/jobs/"+id, "p", upd, "X-User-Id", "carol").must(t, 200)
	c.do("DELETE", "/api/v1/jobs/"+id, "p", nil, "X-User-Id", "dave").must(t, 200)
	var h []map[string]any
	c.do("GET", "/api/v1/jobs/"+id+"/history", "p", nil).must(t, 200).json(t, &h)
	want := [][2]string{{"created", "alice"}, {"started", "bob"}, {"updated", "carol"}, {"deleted", "dave"}}
	if len(h) != len(want) {
		t.Fatalf("history: %s", mustJSON(h))
	}
	for i, w := range want {
		if h[i]["event"] != w[0] || h[i]["user"] != w[1] || h[i]["time"] == "" || h[i]["commandId"] == "" {
			t.Fatalf("change %d: %s", i, mustJSON(h[i]))
		}
	}
	if h[2]["job"].(map[string]any)["name"] != "renamed" {
		t.Fatalf("the update's state: %s", mustJSON(h[2]))
	}
	c.do("GET", "/api/v1/jobs/"+id+"/history", "other", nil).must(t, 404)
}

func TestACraftedTenantIdCannotReachAnotherTenantsJobsOrEvents(t *testing.T) {
	c := newCenter(t)
	nc := connect(t, c.stack.NATSURL)
	// A subscriber of tenant "a" must see only a's events.
	seen := make(chan string, 100)
	if _, err := nc.Subscribe(contracts.TenantEvents("a"), func(m *nats.Msg) {
		var e contracts.LifecycleEvent
		_ = json.Unmarshal(m.Data, &e)
		seen <- e.Tenant
	}); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	a := c.do("POST", "/api/v1/jobs", "a", intervalBody()).must(t, 201).obj(t)["id"].(string)
	for _, crafted := range []string{"a.>", "a.*", "*", ">", "a b", "a.b"} {
		id := c.do("POST", "/api/v1/jobs", crafted, intervalBody()).must(t, 201).obj(t)["id"].(string)
		c.do("GET", "/api/v1/jobs/"+a, crafted, nil).must(t, 404)
		c.do("POST", "/api/v1/jobs/"+a+"/exec", crafted, nil).must(t, 404)
		c.do("GET", "/api/v1/jobs/"+id, "a", nil).must(t, 404)
		c.do("POST", "/api/v1/jobs/"+id+"/exec", crafted, nil).must(t, 200)
	}
	// A marker: a's second job. Commands apply in order, so anything the crafted tenants
	// leaked onto a's subjects would arrive before the marker's event.
	c.do("POST", "/api/v1/jobs", "a", intervalBody()).must(t, 201)
	for got := 0; got < 2; {
		select {
		case tenant := <-seen:
			if tenant != "a" {
				t.Fatalf("a subscriber of tenant a saw an event of tenant %q", tenant)
			}
			got++
		case <-time.After(10 * time.Second):
			t.Fatal("the marker event never arrived")
		}
	}
	if r := c.do("GET", "/api/v1/jobs", "a", nil).must(t, 200); r.header.Get("X-Total-Count") != "2" {
		t.Fatalf("tenant a lists %s jobs", r.header.Get("X-Total-Count"))
	}
}

func TestHostileSnippetsEndAsFailedRunsAndTheExecutorCarriesOn(t *testing.T) {
	c := newCenter(t)
	hostile := map[string]string{
		"an endless loop":      "while True:\n    pass",
		"a huge string":        `s = "x" * 1000000000`,
		"a huge list":          "l = []\nfor i in range(100000000):\n    l.append(i)",
		"recursion":            "def f(n):\n    return f(n + 1)\nf(0)",
		"an enormous result":   `return "y" * 10000000`,
		"another tenant's job": `sdk_delete_job("no-such-job-of-mine")`,
	}
	// What reaches outside the sandbox does not even compile: refused when written.
	for code, why := range map[string]string{
		`load("os", "system")`: "code: syntax error at line 1, column 1: load() is not available in job code",
		`open("/etc/passwd")`:  "code: syntax error at line 1, column 1: undefined: open",
	} {
		body := intervalBody()
		body["code"] = code
		if e := c.do("POST", "/api/v1/jobs", "p", body).must(t, 400).obj(t)["error"].(map[string]any); e["field"] != "code" || e["message"] != why {
			t.Errorf("%s: %v", code, e)
		}
	}
	ids := map[string]string{}
	for name, code := range hostile {
		body := intervalBody()
		body["code"] = code
		id := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)["id"].(string)
		c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
		ids[name] = id
	}
	for name, id := range ids {
		e := c.waitJournal("p", id, 1).Data[0]
		if e["exestatus"] != "failure" || strings.TrimSpace(e["exedes"].(string)) == "" {
			t.Errorf("%s: %s", name, mustJSON(e))
		}
	}
	// And the executor still runs ordinary code.
	id := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	if e := c.waitJournal("p", id, 1).Data[0]; e["exestatus"] != "success" {
		t.Fatalf("after the hostile snippets: %s", mustJSON(e))
	}
}
