package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/shared/egress"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// The Python SDK (clients/python) is tested against the all-in-one program with API keys
// on: its unittest suite, and the seed's examples (clients/python/examples, the seed's
// snippets without their "global" lines and final "return") with their effects checked
// through the HTTP API.

const (
	pyDir         = "../clients/python"
	pyTestProject = "py-sdk-tests"
	seedProject   = "b90ba90e-2431-11f0-a3b3-f2cf1bfaab0e"
	pyTecode      = "T1"
	seedUser      = "fa11e670-2413-11f0-aa51-0a4444b8d20c"
)

// python3 returns the interpreter, or skips the test without one (fails it when CI is set).
func python3(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err == nil {
		if out, verr := exec.Command(py, "-c", "import sys; sys.exit(sys.version_info < (3, 9))").CombinedOutput(); verr != nil {
			err = fmt.Errorf("%s is older than Python 3.9: %v %s", py, verr, out)
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the Python SDK's tests need python3 (3.9+): %v", err)
		}
		t.Skipf("skipping the Python SDK's tests: no python3 3.9+ (%v); they fail instead when CI is set", err)
	}
	return py
}

// pyEnv is the environment of the SDK as a tenant: project, user and key.
func pyEnv(url, project, key string, extra ...string) []string {
	env := append(os.Environ(), "JOBCENTER_URL="+url, "JOBCENTER_PROJECT="+project, "JOBCENTER_USER="+seedUser,
		"JOBCENTER_API_KEY="+key, "JOBCENTER_TIMEOUT=10", "PYTHONDONTWRITEBYTECODE=1", "PYTHONIOENCODING=utf-8")
	return append(env, extra...)
}

func TestPythonSDK(t *testing.T) {
	py := python3(t)
	bin, err := buildServices()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	testKey, testLine := api.MintKey(pyTestProject)
	seedKey, seedLine := api.MintKey(seedProject)
	tecodeKey, tecodeLine := api.MintKey(pyTecode)
	// Flows go to a runner of the test's over HTTP: it holds flow "hold" until its request
	// is abandoned (a killed run's), and knows no other.
	runner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/flow/hold" {
			http.Error(w, "no such flow", http.StatusNotFound)
			return
		}
		// The body read, the server notices the client going (a read of the connection).
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}))
	t.Cleanup(runner.Close)
	// Alerts may reach the test's webhooks, and HTTP jobs its receivers, on this machine
	// (HTTPReach egress.Any, for the api and the executors alike). The center's NATS
	// listens where the test says, for the Python workers (the last setting of a name wins).
	natsAddr := freeAddr(t)
	p, c := keyedAllInOneWith(t, bin, []string{"JOBCENTER_FLOW_URL=" + runner.URL + "/flow/{flow_id}", "JOBCENTER_ALERTS_ALLOW_PRIVATE=true",
		egress.Setting + "=" + string(egress.Any), "JOBCENTER_NATS_LISTEN=" + natsAddr}, testLine, seedLine, tecodeLine)
	url := c.url
	// Python is another process: it talks to the api through a contract-checking proxy.
	pyURL := contractProxy(t, url)

	t.Run("unittest", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(py, "-m", "unittest", "-v", "tests/test_sdk.py")
		cmd.Dir = pyDir
		cmd.Env = pyEnv(pyURL, pyTestProject, testKey, "JOBCENTER_TECODE="+pyTecode, "JOBCENTER_TEST_TECODE_KEY="+tecodeKey,
			"JOBCENTER_NATS_URL=nats://"+natsAddr)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.Contains(string(out), "skipped") {
			t.Fatalf("python3 -m unittest tests/test_sdk.py: %v\n%s", err, out)
		}
		t.Logf("%s", lastLines(string(out), 3))
	})
	t.Run("seed examples", func(t *testing.T) {
		t.Parallel()
		seedExamples(t, py, &center{t: t, url: url}, pyURL, seedKey)
	})
	t.Cleanup(func() { p.term(t) })
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// snippetResult is what tests/run_example.py prints: the snippet's variables and the
// JobCenterError it raised, if any.
type snippetResult struct {
	Vars  map[string]any `json:"vars"`
	Error *struct {
		Status  int     `json:"status"`
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Field   *string `json:"field"`
	} `json:"error"`
}

// seedExamples runs the examples against pyURL (the api, or a proxy to it); c checks
// their effects.
func seedExamples(t *testing.T, py string, c *center, pyURL, key string) {
	auth := []string{"Authorization", "Bearer " + key}
	api := func(method, path string, body any) reply {
		t.Helper()
		return c.do(method, path, seedProject, body, auth...)
	}
	aliases := map[string]string{}
	run := func(example string) snippetResult {
		t.Helper()
		ids, _ := json.Marshal(aliases)
		cmd := exec.Command(py, "tests/run_example.py", filepath.Join("examples", example))
		cmd.Dir = pyDir
		cmd.Env = pyEnv(pyURL, seedProject, key, "SEED_IDS="+string(ids))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("example %s: %v\n%s%s", example, err, out, stderr.Bytes())
		}
		var r snippetResult
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("example %s printed %q: %v", example, out, err)
		}
		return r
	}
	noError := func(example string, r snippetResult) {
		t.Helper()
		if r.Error != nil {
			t.Fatalf("example %s raised %+v", example, *r.Error)
		}
	}
	// sameAsServer checks that what the snippet got is what the API answers now.
	sameAsServer := func(what string, got any, path string) {
		t.Helper()
		var want any
		api("GET", path, nil).must(t, 200).json(t, &want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s = %s\nthe API answers %s", what, mustJSON(got), mustJSON(want))
		}
	}
	nextRun := func(id string) any { return api("GET", "/api/v1/jobs/"+id, nil).must(t, 200).obj(t)["next_run_time"] }

	// 添加任务: the interval job is added; the date job's run_date, 2025-07-09, has passed,
	// so the seed's own rule (later than now) rejects it, naming run_date, and stores nothing.
	r := run("01_add_job.py")
	if r.Error == nil || r.Error.Status != 400 || r.Error.Code != "invalid" || r.Error.Field == nil || *r.Error.Field != "run_date" {
		t.Fatalf("the date part of the add example: error %+v, want 400 naming run_date (its date has passed)", r.Error)
	}
	info, _ := r.Vars["job_info1"].(map[string]any)
	param, _ := info["jobParameter"].(map[string]any)
	if info["name"] != "SDK周期任务" || info["pid"] != "d1138d88-49ec-11f0-b168-c6ee2c8e08e7" || info["createUser"] != seedUser ||
		info["projectId"] != seedProject || info["next_run_time"] != nil || param["seconds"] != float64(300) || param["trigger"] != "interval" {
		t.Fatalf("job_info1 = %s", mustJSON(r.Vars["job_info1"]))
	}
	id, jobID := info["id"].(string), info["jobId"].(string)
	sameAsServer("job_info1", info, "/api/v1/jobs/"+id)
	if total := api("GET", "/api/v1/jobs", nil).must(t, 200).header.Get("X-Total-Count"); total != "1" {
		t.Fatalf("after the add example the project has %s jobs, want 1 (the date job is not stored)", total)
	}

	// The other examples name the seed's job: its id and jobId stand for the job just added.
	aliases["d6f4a7fa-49ec-11f0-845f-c6ee2c8e08e7"] = id
	aliases["d6ef550c-49ec-11f0-845f-c6ee2c8e08e7"] = jobID

	r = run("02_get_job.py") // 获取项任务信息
	noError("02_get_job.py", r)
	sameAsServer("job_info", r.Vars["job_info"], "/api/v1/jobs/"+id)

	r = run("03_get_jobs.py") // 获取项目任务列表
	noError("03_get_jobs.py", r)
	sameAsServer("project_jobs", r.Vars["project_jobs"], "/api/v1/jobs")

	noError("04_start_job.py", run("04_start_job.py")) // 开启任务
	if nextRun(id) == nil {
		t.Fatal("after the start example the job has no next_run_time")
	}

	noError("06_exec_job.py", run("06_exec_job.py")) // 立即执行任务
	var page journalPage
	teststack.Eventually(t, 10*time.Second, "the exec example's run never finished in the journal", func() bool {
		api("GET", "/api/v1/jobs/"+id+"/journal", nil).must(t, 200).json(t, &page)
		return len(page.Data) == 1 && (page.Data[0]["exestatus"] == "success" || page.Data[0]["exestatus"] == "failure")
	})
	if e := page.Data[0]; e["runtype"] != "manual" || e["exestatus"] != "success" || !strings.Contains(fmt.Sprint(e["exedes"]), "周期任务") {
		t.Fatalf("the exec example's run: %s", mustJSON(e))
	}

	noError("05_stop_job.py", run("05_stop_job.py")) // 停止任务
	if nr := nextRun(id); nr != nil {
		t.Fatalf("after the stop example next_run_time = %v, want null", nr)
	}

	// 更新任务: the seed's two jobs to update, an interval and a date job.
	body := intervalBody()
	upd := api("POST", "/api/v1/jobs", body).must(t, 201).obj(t)
	body = map[string]any{"pid": pid, "name": "SDK定时任务", "description": "SDK定时任务,description", "trigger": "date",
		"run_date": time.Now().Add(48 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"), "code": `log_print("定时任务", "INFO")`}
	dated := api("POST", "/api/v1/jobs", body).must(t, 201).obj(t)
	aliases["5f4416e8-4a08-11f0-a3cd-e23276cb5279"] = upd["id"].(string)
	aliases["5f619a9c-4a08-11f0-a3cd-e23276cb5279"] = dated["id"].(string)
	r = run("07_update_job.py")
	// Its date part asks for 2025-06-27T16:00:00Z, which has passed: rejected as for the add.
	if r.Error == nil || r.Error.Status != 400 || r.Error.Field == nil || *r.Error.Field != "run_date" {
		t.Fatalf("the date part of the update example: error %+v, want 400 naming run_date (its date has passed)", r.Error)
	}
	info, _ = r.Vars["job_info1"].(map[string]any)
	param, _ = info["jobParameter"].(map[string]any)
	if info["id"] != upd["id"] || info["name"] != "新SDK周期任务" || info["description"] != "新SDK周期任务, description" ||
		param["seconds"] != float64(400) || info["code"] != `print_log("周期任务", "INFO")` || info["pid"] != pid {
		t.Fatalf("the update example's job_info1 = %s", mustJSON(info))
	}
	sameAsServer("job_info1 of the update example", info, "/api/v1/jobs/"+upd["id"].(string))
	sameAsServer("the date job the update example could not change", dated, "/api/v1/jobs/"+dated["id"].(string))

	noError("08_delete_job.py", run("08_delete_job.py")) // 删除任务
	for _, ref := range []string{id, jobID} {
		if code, _ := api("GET", "/api/v1/jobs/"+ref, nil).must(t, 404).errField(t); code != "not_found" {
			t.Fatalf("after the delete example GET %s: %s", ref, code)
		}
	}
}
