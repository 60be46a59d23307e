package e2e_test

import (
	"strings"
	"testing"
	"time"
)

func TestKilling9TheAllInOneProcessAndRestartingItOnItsDataLosesNothing(t *testing.T) {
	bin, err := buildServices()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	dir := t.TempDir()
	httpAddr := freeAddr(t)
	env := []string{"JOBCENTER_DATA_DIR=" + dir, "JOBCENTER_HTTP_ADDR=" + httpAddr, "JOBCENTER_NATS_LISTEN=" + freeAddr(t),
		"JOBCENTER_LEASE_TTL=2s", "JOBCENTER_LOG_LEVEL=info"}
	p := startProc(t, bin, "jobcenter", env...)
	c := &center{t: t, url: "http://" + httpAddr}
	c.waitReady()
	// The api's port serves the three services' metrics, from one registry.
	m := scrape(t, c.url+"/metrics")
	for name, service := range map[string]string{"jobcenter_http_requests_total": "api",
		"jobcenter_trigger_active": "trigger", "jobcenter_runs_in_progress": "executor"} {
		if v := m.labelValues(name, "service"); len(v) != 1 || v[0] != service {
			t.Errorf("all-in-one /metrics: %s has services %v, want [%s]", name, v, service)
		}
	}
	ids := startedJobs(t, c, "p", 3)
	time.Sleep(2500 * time.Millisecond)

	killed := time.Now()
	p.kill9(t)
	p = startProc(t, bin, "jobcenter", env...)
	c.waitReady()
	back := time.Now()
	time.Sleep(2500 * time.Millisecond)
	for _, id := range ids {
		c.do("POST", "/api/v1/jobs/"+id+"/stop", "p", nil).must(t, 200)
	}
	fires := 0
	for _, id := range ids {
		at := runsOnce(t, c, "p", id, outage{killed, back.Add(3 * time.Second)})
		if !at[len(at)-1].After(back) {
			t.Errorf("job %s did not fire after the restart", id)
		}
		fires += len(at)
	}
	p.term(t)
	t.Logf("all-in-one killed and restarted (back in %v): %d fires over %d jobs, none doubled", back.Sub(killed).Round(time.Millisecond), fires, len(ids))
}

// keyedAllInOne starts the all-in-one program on a fresh data folder with these API key
// lines, its answers to the test's own requests checked against the contract, and waits
// until it is ready.
func keyedAllInOne(t *testing.T, bin string, keyLines ...string) (*proc, *center) {
	t.Helper()
	return keyedAllInOneWith(t, bin, nil, keyLines...)
}

// keyedAllInOneWith is keyedAllInOne with more settings (NAME=value).
func keyedAllInOneWith(t *testing.T, bin string, env []string, keyLines ...string) (*proc, *center) {
	t.Helper()
	httpAddr := freeAddr(t)
	p := startProc(t, bin, "jobcenter", append([]string{"JOBCENTER_DATA_DIR=" + t.TempDir(), "JOBCENTER_HTTP_ADDR=" + httpAddr,
		"JOBCENTER_NATS_LISTEN=" + freeAddr(t), "JOBCENTER_API_KEYS=" + strings.Join(keyLines, ","), "JOBCENTER_LOG_LEVEL=warn"}, env...)...)
	c := &center{t: t, url: "http://" + httpAddr}
	watchContract(t, c.url)
	c.waitReady()
	return p, c
}
