package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/health"
	"github.com/jobcenter/jobcenter/shared/metrics"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// scraped is one /metrics answer, parsed.
type scraped map[string]*dto.MetricFamily

// scrapeClient reads /metrics outside the api's contract check: the metrics are not
// part of the JSON API.
var scrapeClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

func scrape(t *testing.T, url string) scraped {
	t.Helper()
	resp, err := scrapeClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: not the Prometheus text format: %v", url, err)
	}
	return fams
}

// value sums the series of the named metric whose labels include want ("k=v" pairs): a
// counter's or gauge's value, a histogram's count of observations.
func (s scraped) value(name string, want ...string) float64 {
	fam := s[name]
	if fam == nil {
		return 0
	}
	sum := 0.0
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for _, w := range want {
			k, v, _ := strings.Cut(w, "=")
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

// labelValues lists the values the named metric has for label.
func (s scraped) labelValues(name, label string) []string {
	seen := map[string]bool{}
	for _, m := range s[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				seen[l.GetValue()] = true
			}
		}
	}
	var out []string
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// expect fails the test for each metric not at its wanted value.
func expect(t *testing.T, where string, s scraped, want map[string]float64) {
	t.Helper()
	for key, w := range want {
		name, labels, _ := strings.Cut(key, "{")
		var ls []string
		if labels = strings.TrimSuffix(labels, "}"); labels != "" {
			ls = strings.Split(labels, ",")
		}
		if got := s.value(name, ls...); got != w {
			t.Errorf("%s: %s = %v, want %v", where, key, got, w)
		}
	}
}

// serveHealth serves a service's health and metrics as its program does, and returns
// the address.
func serveHealth(t *testing.T, m http.Handler) string {
	t.Helper()
	started := make(chan struct{})
	close(started)
	addr := freeAddr(t)
	srv, err := health.Serve(addr, started, func(context.Context) error { return nil }, m, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + addr
}

func TestMetricsCountTheCommandsFiresRunsAndRequestsEachServiceHandled(t *testing.T) {
	apiReg, trigReg, execReg := metrics.NewRegistry(), metrics.NewRegistry(), metrics.NewRegistry()
	c := newCenterWith(t, func(cfg *api.Config) { cfg.Registry = apiReg }, func(cfg *executor.Config) { cfg.Registry = execReg })
	c.stop("trigger")
	c.startTrigger(func(cfg *trigger.Config) { cfg.Registry = trigReg })
	trigURL, execURL := serveHealth(t, metrics.Handler(trigReg)), serveHealth(t, metrics.Handler(execReg))
	for _, u := range []string{trigURL, execURL} {
		if resp, err := scrapeClient.Get(u + "/healthz"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s/healthz: %v %v", u, resp, err)
		} else {
			resp.Body.Close()
		}
	}

	// Three jobs: one that succeeds, one that fails, one date job.
	okBody := intervalBody()
	okBody["code"] = "return 1"
	ok := c.do("POST", "/api/v1/jobs", "p", okBody).must(t, 201).obj(t)["id"].(string)
	badBody := intervalBody()
	badBody["code"] = "x = 1 // 0"
	bad := c.do("POST", "/api/v1/jobs", "p", badBody).must(t, 201).obj(t)["id"].(string)
	dateBody := intervalBody()
	delete(dateBody, "seconds")
	dateBody["trigger"], dateBody["run_date"] = "date", c.clk.Now().Add(450*time.Second).In(shanghai).Format("2006-01-02 15:04:05")
	date := c.do("POST", "/api/v1/jobs", "p", dateBody).must(t, 201).obj(t)["id"].(string)

	// Manual fires: two successes, one failure. The second exec waits for the first run's
	// end: at once, it could find the job's one run slot still held and be skipped.
	c.do("POST", "/api/v1/jobs/"+ok+"/exec", "p", nil).must(t, 200)
	c.waitJournal("p", ok, 1)
	c.do("POST", "/api/v1/jobs/"+ok+"/exec", "p", nil).must(t, 200)
	c.do("POST", "/api/v1/jobs/"+bad+"/exec", "p", nil).must(t, 200)
	c.waitJournal("p", ok, 2)
	c.waitJournal("p", bad, 1)

	// Scheduled fires: the interval job at 300 s (then stopped), the date job at 450 s,
	// which then finishes; starting it again is refused by the trigger.
	c.do("POST", "/api/v1/jobs/"+ok+"/start", "p", nil).must(t, 200)
	c.do("POST", "/api/v1/jobs/"+date+"/start", "p", nil).must(t, 200)
	teststack.Eventually(t, 10*time.Second, "jobcenter_jobs{state=scheduled} never showed the two started jobs", func() bool {
		return scrape(t, trigURL+"/metrics").value("jobcenter_jobs", "state=scheduled") == 2
	})
	c.clk.Advance(300 * time.Second)
	c.waitJournal("p", ok, 3)
	c.do("POST", "/api/v1/jobs/"+ok+"/stop", "p", nil).must(t, 200)
	c.clk.Advance(150 * time.Second)
	c.waitJournal("p", date, 1)
	teststack.Eventually(t, 10*time.Second, "the date job never showed finished", func() bool {
		return c.do("GET", "/api/v1/jobs/"+date, "p", nil).obj(t)["next_run_time"] == nil
	})
	c.do("POST", "/api/v1/jobs/"+date+"/start", "p", nil).must(t, 409)

	// Requests answered 404: a job that does not exist, a path that is no route.
	c.do("GET", "/api/v1/jobs/no-such-job", "p", nil).must(t, 404)
	c.do("GET", "/no/such/path", "p", nil).must(t, 404)

	// The trigger: 5 fires stored (3 manual, 2 scheduled), the commands it decided.
	var trig scraped
	teststack.Eventually(t, 10*time.Second, "the trigger's metrics never settled", func() bool {
		trig = scrape(t, trigURL+"/metrics")
		return trig.value("jobcenter_commands_applied_total", "type=finish") == 1 && trig.value("jobcenter_jobs", "state=scheduled") == 0
	})
	expect(t, "trigger", trig, map[string]float64{
		"jobcenter_fires_total":                                                  5,
		"jobcenter_fires_total{kind=manual,status=fired}":                        3,
		"jobcenter_fires_total{kind=scheduled,status=fired}":                     2,
		"jobcenter_fires_total{status=missed}":                                   0,
		"jobcenter_fire_lateness_seconds":                                        5,
		"jobcenter_commands_applied_total{type=create}":                          3,
		"jobcenter_commands_applied_total{type=exec}":                            3,
		"jobcenter_commands_applied_total{type=start}":                           2,
		"jobcenter_commands_applied_total{type=stop}":                            1,
		"jobcenter_commands_rejected_total":                                      1,
		"jobcenter_commands_rejected_total{type=start,reason=conflict}":          1,
		"jobcenter_command_apply_lag_seconds":                                    11,
		"jobcenter_jobs{state=held}":                                             3,
		"jobcenter_trigger_active":                                               1,
		"jobcenter_dead_letters_total":                                           0,
		"jobcenter_consumer_info_up{consumer=trigger,stream=JOBCENTER_COMMANDS}": 1,
		"jobcenter_consumer_info_up{consumer=journal,stream=JOBCENTER_RUNS}":     1,
	})
	if v := trig.labelValues("jobcenter_fires_total", "service"); len(v) != 1 || v[0] != "trigger" {
		t.Errorf("trigger: jobcenter_fires_total has service labels %v, want [trigger]", v)
	}

	// The executor: 4 successes (the interval job 3 times, the date job), 1 failure.
	var ex scraped
	teststack.Eventually(t, 10*time.Second, "the executor's metrics never showed the runs", func() bool {
		ex = scrape(t, execURL+"/metrics")
		return ex.value("jobcenter_runs_total") == 5
	})
	expect(t, "executor", ex, map[string]float64{
		"jobcenter_runs_total{status=success,target=code}":       4,
		"jobcenter_runs_total{status=failure,target=code}":       1,
		"jobcenter_run_duration_seconds":                         5,
		"jobcenter_run_duration_seconds{status=success}":         4,
		"jobcenter_runs_in_progress":                             0,
		"jobcenter_runs_interrupted_total":                       0,
		"jobcenter_consumer_info_up{consumer=executor}":          1,
		"jobcenter_consumer_pending_messages{consumer=executor}": 0,
	})

	// The api: the commands it stored, the requests by route pattern and status.
	a := scrape(t, c.url+"/metrics")
	expect(t, "api", a, map[string]float64{
		"jobcenter_commands_accepted_total":                                                  10,
		"jobcenter_commands_accepted_total{type=create}":                                     3,
		"jobcenter_commands_accepted_total{type=exec}":                                       3,
		"jobcenter_commands_accepted_total{type=start}":                                      3,
		"jobcenter_commands_accepted_total{type=stop}":                                       1,
		"jobcenter_commands_unanswered_total":                                                0,
		"jobcenter_http_requests_total{method=POST,route=/api/v1/jobs,status=201}":           3,
		"jobcenter_http_requests_total{method=POST,route=/api/v1/jobs/:id/exec,status=200}":  3,
		"jobcenter_http_requests_total{method=POST,route=/api/v1/jobs/:id/start,status=409}": 1,
		"jobcenter_http_requests_total{method=GET,route=/api/v1/jobs/:id,status=404}":        1,
		"jobcenter_http_requests_total{method=GET,route=unmatched,status=404}":               1,
		"jobcenter_http_request_duration_seconds{method=POST,route=/api/v1/jobs/:id/exec}":   3,
	})
	for _, route := range a.labelValues("jobcenter_http_requests_total", "route") {
		if strings.Contains(route, "no-such") || strings.Contains(route, ok) {
			t.Errorf("api: a raw path became a route label: %q", route)
		}
	}
	for name, s := range map[string]scraped{"api": a, "trigger": trig, "executor": ex} {
		if s["go_goroutines"] == nil || s["process_cpu_seconds_total"] == nil {
			t.Errorf("%s: the Go and process collectors are missing", name)
		}
	}
	if v := a.labelValues("jobcenter_http_requests_total", "service"); fmt.Sprint(v) != "[api]" {
		t.Errorf("api: jobcenter_http_requests_total has service labels %v, want [api]", v)
	}
}
