package e2e_test

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// violations collects the permission errors the server reports to a connection.
type violations struct {
	mu   sync.Mutex
	errs []string
}

func (v *violations) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.errs = append(v.errs, err.Error())
}

func (v *violations) has(s string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range v.errs {
		if strings.Contains(strings.ToLower(e), "permissions violation") && strings.Contains(e, s) {
			return true
		}
	}
	return false
}

// With JOBCENTER_NATS_AUTH on, the all-in-one program's NATS takes the center's own
// services and each tenant's users (its name, one of its API keys) only, and walls each
// tenant into its own subjects: a worker with tenant A's credentials cannot take,
// answer or even see tenant B's tasks, nor pass for one of B's workers.
func TestWithNATSAuthATenantsWorkersAreWalledIntoItsOwnSubjects(t *testing.T) {
	bin, err := buildServices()
	if err != nil {
		t.Fatalf("build services: %v", err)
	}
	keyA, lineA := api.MintKey("A")
	keyB, lineB := api.MintKey("B")
	natsAddr, httpAddr, dataDir := freeAddr(t), freeAddr(t), t.TempDir()
	start := func(keys string) *proc {
		return startProc(t, bin, "jobcenter", "JOBCENTER_DATA_DIR="+dataDir, "JOBCENTER_NATS_LISTEN="+natsAddr,
			"JOBCENTER_HTTP_ADDR="+httpAddr, "JOBCENTER_API_KEYS="+keys, "JOBCENTER_NATS_AUTH=true")
	}
	center1 := start(lineA + "," + lineB)
	c := &center{t: t, url: "http://" + httpAddr}
	c.waitReady()
	natsURL := "nats://" + natsAddr

	// No credentials, a wrong key, or another tenant's key: refused.
	for _, opt := range []nats.Option{nil, nats.UserInfo("A", "jc_wrong"), nats.UserInfo("A", keyB), nats.UserInfo("jobcenter", keyA)} {
		opts := []nats.Option{nats.MaxReconnects(0)}
		if opt != nil {
			opts = append(opts, opt)
		}
		if nc, err := nats.Connect(natsURL, opts...); err == nil {
			nc.Close()
			t.Fatalf("a connection with options %d was let in", len(opts))
		}
	}

	// A's user may take its own tasks, and nothing of B's.
	var v violations
	nc, err := nats.Connect(natsURL, nats.UserInfo("A", keyA), nats.ErrorHandler(v.handler))
	if err != nil {
		t.Fatalf("tenant A's user: %v", err)
	}
	defer nc.Close()
	if _, err := nc.SubscribeSync("jobcenter.task.A.mine"); err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{"jobcenter.task.B.>", "jobcenter.task.*.x", "jobcenter.>", "jobcenter.fire.B.>", "$JS.API.>", "_INBOX.>"} {
		_, _ = nc.SubscribeSync(subject)
		_ = nc.Flush()
		teststack.Eventually(t, 5*time.Second, "no violation for subscribing "+subject, func() bool { return v.has(subject) })
	}
	// Posing as one of B's workers: the beat is refused, and B's registry stays empty.
	_ = nc.Publish("jobcenter.workers.B.g.fake", []byte(`{"v":1,"id":"fake","group":"g","handles":["hello"],"since":"2026-12-07T00:00:00Z","running":0,"capacity":8}`))
	_ = nc.Flush()
	teststack.Eventually(t, 5*time.Second, "no violation for a beat of B", func() bool { return v.has("jobcenter.workers.B.g.fake") })

	// A's worker, with A's key, runs A's jobs; B sees none of A's workers.
	out := &lockedBuffer{}
	w := exec.Command(buildWorker(t), "-group", "g")
	w.Env = append(os.Environ(), "NATS_URL="+natsURL, "JOBCENTER_TENANT=A", "JOBCENTER_API_KEY="+keyA)
	w.Stdout, w.Stderr = out, out
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- w.Wait() }()
	defer func() { _ = w.Process.Kill() }()
	var group struct{ Workers []map[string]any }
	teststack.Eventually(t, 15*time.Second, "A's worker never joined", func() bool {
		c.do("GET", "/api/v1/workers/g", "A", nil, "Authorization", "Bearer "+keyA).must(t, 200).json(t, &group)
		return len(group.Workers) == 1
	})
	c.do("GET", "/api/v1/workers/g", "B", nil, "Authorization", "Bearer "+keyB).must(t, 200).json(t, &group)
	if len(group.Workers) != 0 {
		t.Fatalf("B sees workers: %v", group.Workers)
	}
	job := workerJob("walled", "hello", "g", "")
	id := c.do("POST", "/api/v1/jobs", "A", job, "Authorization", "Bearer "+keyA).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "A", nil, "Authorization", "Bearer "+keyA).must(t, 200)
	teststack.Eventually(t, 15*time.Second, "A's job never ran on A's worker", func() bool {
		var p journalPage
		c.do("GET", "/api/v1/jobs/"+id+"/journal", "A", nil, "Authorization", "Bearer "+keyA).must(t, 200).json(t, &p)
		return len(p.Data) == 1 && p.Data[0]["exestatus"] == "success" && strings.Contains(p.Data[0]["exedes"].(string), "hello from ")
	})
	// B's job of the same group waits: A's worker is not B's.
	idB := c.do("POST", "/api/v1/jobs", "B", job, "Authorization", "Bearer "+keyB).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+idB+"/exec", "B", nil, "Authorization", "Bearer "+keyB).must(t, 200)
	var p journalPage
	teststack.Eventually(t, 10*time.Second, "B's fire was not journaled", func() bool {
		c.do("GET", "/api/v1/jobs/"+idB+"/journal", "B", nil, "Authorization", "Bearer "+keyB).must(t, 200).json(t, &p)
		return len(p.Data) == 1
	})
	if p.Data[0]["exestatus"] != "waiting" {
		t.Fatalf("B's fire, with only A's worker online: %s", mustJSON(p.Data[0]))
	}

	// A's key is withdrawn: once the center comes back without it, NATS refuses the
	// worker's reconnection and gives up on it; the worker says so and exits, rather than
	// running on outside its group.
	center1.term(t)
	_, lineA2 := api.MintKey("A")
	start(lineA2 + "," + lineB)
	c.waitReady()
	select {
	case err := <-exited:
		if err == nil || !strings.Contains(out.String(), "out of its group") {
			t.Fatalf("the worker whose key was withdrawn exited with %v:\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the worker whose key was withdrawn is still running:\n%s", out.String())
	}
}
