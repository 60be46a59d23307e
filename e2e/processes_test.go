package e2e_test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/teststack"
)

// buildServices compiles the three service programs once for the test binary.
var buildServices = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "jobcenter-bin-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/jobcenter",
		"./services/api/cmd/api", "./services/trigger/cmd/trigger", "./services/executor/cmd/executor")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{out: out, err: err}
	}
	return dir, nil
})

type buildError struct {
	out []byte
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + string(e.out) }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a service running as its own process.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *bytes.Buffer
}

func startProc(t *testing.T, bin, name string, env ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &bytes.Buffer{}}
	p.cmd = exec.Command(filepath.Join(bin, name))
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out)
		}
	})
	return p
}

// kill9 kills the process outright, as a crash would.
func (p *proc) kill9(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// term sends SIGTERM and expects a clean exit within the bound.
func (p *proc) term(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s exited with %v", p.name, err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not stop within 20s of SIGTERM", p.name)
	}
}

func TestTheServicesRunAsSeparateProcessesAndFireOnTime(t *testing.T) {
	bin, err := buildServices()
	if err != nil {
		t.Fatalf("build services: %v", err)
	}
	st := teststack.Start(t)
	httpAddr := freeAddr(t)
	common := []string{"NATS_URL=" + st.NATSURL, "MONGO_URI=" + st.MongoURI, "JOBCENTER_MONGO_DB=" + st.DB, "JOBCENTER_LOG_LEVEL=debug"}
	api := startProc(t, bin, "api", append(common, "JOBCENTER_HTTP_ADDR="+httpAddr)...)
	trigHealth := freeAddr(t)
	trig := startProc(t, bin, "trigger", append(common, "JOBCENTER_HEALTH_ADDR="+trigHealth)...)
	execHealth := freeAddr(t)
	ex := startProc(t, bin, "executor", append(common, "JOBCENTER_HEALTH_ADDR="+execHealth, "JOBCENTER_API_URL=http://"+httpAddr)...)

	c := &center{t: t, stack: st, url: "http://" + httpAddr}
	c.waitReady()
	c.do("GET", "/healthz", "", nil).must(t, 200)
	teststack.Eventually(t, 10*time.Second, "executor /readyz", func() bool {
		return (&center{t: t, url: "http://" + execHealth}).do("GET", "/readyz", "", nil).status == 200
	})

	body := intervalBody()
	body["seconds"] = 1
	id := c.do("POST", "/api/v1/jobs", "p", body).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
	var p journalPage
	teststack.Eventually(t, 15*time.Second, "three runs in the journal", func() bool {
		p = c.journal("p", id, 1, 10)
		return len(p.Data) >= 3 && p.Data[len(p.Data)-1]["exestatus"] == "success"
	})
	c.do("POST", "/api/v1/jobs/"+id+"/stop", "p", nil).must(t, 200)
	for _, e := range p.Data {
		if e["exestatus"] != "success" {
			continue
		}
		trig := parseJournalTime(t, e["triggertime"])
		end := parseJournalTime(t, e["updatetime"])
		if lag := end.Sub(trig); lag < 0 || lag > time.Second {
			t.Errorf("run %s ended %v after its scheduled time; want within a second", e["triggerid"], lag)
		}
	}
	// Each program serves its metrics: the api on its port, the others with their health.
	for _, m := range []struct{ url, name, label string }{
		{c.url, "jobcenter_http_requests_total", "route=/api/v1/jobs"},
		{"http://" + trigHealth, "jobcenter_fires_total", "service=trigger"},
		{"http://" + execHealth, "jobcenter_runs_total", "service=executor"},
	} {
		if v := scrape(t, m.url+"/metrics").value(m.name, m.label); v < 1 {
			t.Errorf("%s/metrics: %s{%s} = %v, want at least 1", m.url, m.name, m.label, v)
		}
	}
	for _, pr := range []*proc{api, trig, ex} {
		pr.term(t)
	}
}

func parseJournalTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	tm, err := time.Parse("2006-01-02T15:04:05.000-0700", s)
	if err != nil {
		t.Fatalf("journal time %q: %v", s, err)
	}
	return tm
}
