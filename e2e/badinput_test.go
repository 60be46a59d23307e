package e2e_test

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEveryRouteAnswersBrokenInputWithA4xxJSONErrorAndStoresNothing(t *testing.T) {
	c := newCenter(t)
	id := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 201).obj(t)["id"].(string)
	var saved map[string]map[string]string
	c.quartz("bizcronjob", "p", save("s", "0 0 12 * * ?", "b1")).must(t, 200).json(t, &saved)
	sched := saved["resp_data"]["group_job_id"]

	huge := strings.Repeat("x", 2<<20)
	longName := strings.Repeat("名", 5000)
	badUTF8 := "{\"pid\":\"p\",\"name\":\"\xff\xfe\",\"trigger\":\"interval\",\"seconds\":5,\"code\":\"x\"}"
	bodies := map[string]string{
		"malformed JSON":           `{"name": "x",`,
		"a JSON array":             `[]`,
		"a JSON string":            `"job"`,
		"two values":               `{} {}`,
		"invalid UTF-8":            badUTF8,
		"a huge body":              `{"name":"` + huge + `"}`,
		"a huge name":              `{"pid":"p","name":"` + longName + `","trigger":"interval","seconds":5,"code":"x"}`,
		"an unknown field":         `{"pid":"p","name":"n","trigger":"interval","seconds":5,"code":"x","evil":true}`,
		"wrong types":              `{"pid":1,"name":["n"],"trigger":{},"seconds":"5","code":false}`,
		"enormous seconds":         `{"pid":"p","name":"n","trigger":"interval","seconds":99999999999999999999,"code":"x"}`,
		"a far-future date":        `{"pid":"p","name":"n","trigger":"date","run_date":"9999-01-01 00:00:00","code":"x"}`,
		"an impossible date":       `{"pid":"p","name":"n","trigger":"date","run_date":"2030-02-30 00:00:00","code":"x"}`,
		"a null body":              `null`,
		"code that does not parse": `{"pid":"p","name":"n","trigger":"interval","seconds":5,"code":"x = 1\ndef ("}`,
		"code naming nothing":      `{"pid":"p","name":"n","trigger":"interval","seconds":5,"code":"log_print(y)"}`,
		"a key in capitals":        `{"pid":"p","name":"n","NAME":"m","trigger":"interval","seconds":5,"code":"return 1"}`,
		"a key twice":              `{"pid":"p","name":"n","name":"m","trigger":"interval","seconds":5,"code":"return 1"}`,
		"a lone surrogate":         `{"pid":"p","name":"n\ud800","trigger":"interval","seconds":5,"code":"return 1"}`,
		"a control character":      `{"pid":"p","name":"n","description":"a\u001bb","trigger":"interval","seconds":5,"code":"return 1"}`,
	}
	quartzBodies := map[string]string{
		"malformed JSON":        `{"xw_quartz": {`,
		"xw_quartz not object":  `{"xw_quartz": 5}`,
		"an unknown field":      `{"xw_quartz": {"opttype": "save", "evil": 1}}`,
		"invalid cron":          `{"xw_quartz": {"opttype": "save", "jobname": "j", "cronexpression": "0 0 25 ? * *", "bizcode": "b"}}`,
		"a 5-field cron":        `{"xw_quartz": {"opttype": "save", "jobname": "j", "cronexpression": "* * * * *", "bizcode": "b"}}`,
		"page abuse":            `{"xw_quartz": {"opttype": "quaryjournal", "jobinfoid": "` + sched + `", "pageindex": -5, "pagesize": 10}}`,
		"size abuse":            `{"xw_quartz": {"opttype": "quaryjournal", "jobinfoid": "` + sched + `", "pageindex": 1, "pagesize": 99999999999}}`,
		"a huge body":           `{"xw_quartz": {"jobname": "` + huge + `"}}`,
		"invalid UTF-8":         "{\"xw_quartz\": {\"opttype\": \"\xff\"}}",
		"codes of a wrong type": `{"codes": 5}`,
	}
	type req struct {
		name, method, path, project, body string
		headers                           []string
	}
	var reqs []req
	for name, b := range bodies {
		reqs = append(reqs, req{"add: " + name, "POST", "/api/v1/jobs", "p", b, nil})
		reqs = append(reqs, req{"update: " + name, "PUT", "/api/v1/jobs/" + id, "p", b, nil})
	}
	for name, b := range quartzBodies {
		path := "/task/quartz/bizcronjob"
		if strings.HasPrefix(name, "codes") {
			path = "/task/quartz/queryjobstatus"
		}
		reqs = append(reqs, req{"quartz: " + name, "POST", path, "", b, []string{"tecode", "p"}})
	}
	reqs = append(reqs,
		req{"add: a wrong content type", "POST", "/api/v1/jobs", "p", "", []string{"Content-Type", "application/xml"}},
		req{"add: an overlong project id", "POST", "/api/v1/jobs", strings.Repeat("p", 200), `{}`, nil},
		req{"add: a control character in the user", "POST", "/api/v1/jobs", "p", `{}`, []string{"X-User-Id", "a\tb"}},
		req{"list: size 0", "GET", "/api/v1/jobs?size=0", "p", "", nil},
		req{"list: size huge", "GET", "/api/v1/jobs?size=99999999999999999999", "p", "", nil},
		req{"list: page negative", "GET", "/api/v1/jobs?page=-1", "p", "", nil},
		req{"journal: size not a number", "GET", "/api/v1/jobs/" + id + "/journal?size=ten", "p", "", nil},
		req{"journal: page 0", "GET", "/api/v1/jobs/" + id + "/journal?page=0", "p", "", nil},
		req{"an unknown job", "POST", "/api/v1/jobs/nope/start", "p", "", nil},
		req{"history of an unknown job", "GET", "/api/v1/jobs/nope/history", "p", "", nil},
		req{"an unknown route", "GET", "/api/v2/jobs", "p", "", nil},
		req{"a wrong method", "PATCH", "/api/v1/jobs/" + id, "p", "", nil},
		req{"cron: invalid", "GET", "/api/v1/cron/next?expr=" + urlq("0 0 25 * * ?"), "", "", nil},
		req{"cron: count huge", "GET", "/api/v1/cron/next?expr=" + urlq("* * * ? * *") + "&count=100000", "", "", nil},
		req{"quartz: no tecode", "POST", "/task/quartz/bizcronjob", "", `{"xw_quartz": {"opttype": "save"}}`, nil},
		req{"list: a query string of 3,000 bytes", "GET", "/api/v1/jobs?pid=" + strings.Repeat("p", 3000), "p", "", nil},
		req{"cron: a query string of 3,000 bytes", "GET", "/api/v1/cron/next?expr=" + strings.Repeat("1", 3000), "", "", nil},
	)
	for _, r := range reqs {
		t.Run(r.name, func(t *testing.T) {
			var body any
			if r.body != "" {
				body = r.body
			}
			res := c.do(r.method, r.path, r.project, body, r.headers...)
			if res.status < 400 || res.status > 499 {
				t.Fatalf("status %d, want 4xx: %.300s", res.status, res.body)
			}
			var e map[string]any
			if err := json.Unmarshal(res.body, &e); err != nil {
				t.Fatalf("the %d answer is not JSON: %.300s", res.status, res.body)
			}
			if inner, ok := e["error"].(map[string]any); ok {
				if inner["code"] == "" || inner["message"] == "" {
					t.Fatalf("error body without code or message: %s", res.body)
				}
			} else if e["resp_code"] == nil || e["resp_msg"] == nil {
				t.Fatalf("not an error body: %.300s", res.body)
			}
		})
	}
	// A body far over the limit is answered 413 while the client still sends it: a real
	// client sending the whole of 12 MiB reads the answer, not a reset connection.
	tooBig := `{"pid":"p","name":"` + strings.Repeat("x", 12<<20) + `"}`
	for _, m := range []string{"POST", "PUT"} {
		path := map[string]string{"POST": "/api/v1/jobs", "PUT": "/api/v1/jobs/" + id}[m]
		if e := c.do(m, path, "p", tooBig).must(t, 413).obj(t)["error"].(map[string]any); e["code"] != "too_large" {
			t.Errorf("%s of 12 MiB: %v", m, e)
		}
	}
	// Code is compiled when it is written, and the answer says where it is wrong.
	for _, m := range []string{"POST", "PUT"} {
		path := map[string]string{"POST": "/api/v1/jobs", "PUT": "/api/v1/jobs/" + id}[m]
		e := c.do(m, path, "p", bodies["code that does not parse"]).must(t, 400).obj(t)["error"].(map[string]any)
		if e["field"] != "code" || e["message"] != "code: syntax error at line 2, column 6: not an identifier" {
			t.Errorf("%s with code that does not parse: %v", m, e)
		}
	}
	if r := c.do("GET", "/api/v1/jobs", "p", nil).must(t, 200); r.header.Get("X-Total-Count") != "2" {
		t.Fatalf("broken requests stored jobs: total %s", r.header.Get("X-Total-Count"))
	}
	if got := c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200).obj(t); got["jobParameter"].(map[string]any)["seconds"] != float64(300) {
		t.Fatalf("a broken update changed the job: %s", mustJSON(got))
	}
}
