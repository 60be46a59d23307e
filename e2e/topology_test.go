package e2e_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// natsCluster starts three NATS servers in the test process from the deployment's own
// configuration (deployments/nats/nats.conf: accounts, users, JetStream, cluster routes
// with their own user), on local ports, and waits for the JetStream meta leader. It
// returns the servers and a NATS_URL naming all three with the services' user.
func natsCluster(t *testing.T, password string) ([]*server.Server, string) {
	t.Helper()
	const routePassword = "0123" // looks like a number: the quoting must keep it a string
	var clientPorts, routePorts []int
	for range 3 {
		clientPorts = append(clientPorts, freePort(t))
		routePorts = append(routePorts, freePort(t))
	}
	// As docker-compose.yml sets them: quoted, so that NATS reads each as a string.
	t.Setenv("NATS_JOBCENTER_PASSWORD", `"`+password+`"`)
	t.Setenv("NATS_SYS_PASSWORD", `"sys-`+password+`"`)
	t.Setenv("NATS_ROUTE_PASSWORD", `"`+routePassword+`"`)
	for i, p := range routePorts {
		t.Setenv(fmt.Sprintf("NATS_ROUTE_%d", i+1), fmt.Sprintf(`"nats-route://route:%s@127.0.0.1:%d"`, routePassword, p))
	}
	var servers []*server.Server
	var seeds []string
	for i := range 3 {
		t.Setenv("NATS_SERVER_NAME", fmt.Sprintf("nats-%d", i+1))
		opts, err := server.ProcessConfigFile("../deployments/nats/nats.conf")
		if err != nil {
			t.Fatalf("deployments/nats/nats.conf: %v", err)
		}
		// Only what a container gets from Docker differs: addresses and the data volume.
		opts.Host, opts.Port = "127.0.0.1", clientPorts[i]
		opts.Cluster.Host, opts.Cluster.Port = "127.0.0.1", routePorts[i]
		opts.HTTPPort = 0
		opts.StoreDir = filepath.Join(t.TempDir(), "jetstream")
		opts.NoSigs = true
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatalf("nats server %d: %v", i+1, err)
		}
		go s.Start()
		t.Cleanup(s.Shutdown)
		servers = append(servers, s)
		seeds = append(seeds, fmt.Sprintf("nats://jobcenter:%s@127.0.0.1:%d", password, clientPorts[i]))
	}
	for _, s := range servers {
		if !s.ReadyForConnections(20 * time.Second) {
			t.Fatalf("nats server %s not ready", s.Name())
		}
	}
	teststack.Eventually(t, 30*time.Second, "the NATS cluster elected no JetStream meta leader", func() bool {
		leaders := 0
		for _, s := range servers {
			if !s.JetStreamIsCurrent() {
				return false
			}
			if s.JetStreamIsLeader() {
				leaders++
			}
		}
		return leaders == 1
	})
	return servers, strings.Join(seeds, ",")
}

func freePort(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(freeAddr(t))
	var p int
	fmt.Sscan(port, &p)
	return p
}

func TestTheProductionTopologyRunsAJobWithoutContainers(t *testing.T) {
	bin, err := buildServices()
	if err != nil {
		t.Fatalf("build services: %v", err)
	}
	const password = "5e1f00d4" // hex, as .env.example asks
	servers, natsURL := natsCluster(t, password)

	// Auth is on: no user, or a wrong password, is refused.
	plain := strings.ReplaceAll(strings.Split(natsURL, ",")[0], "jobcenter:"+password+"@", "")
	for _, u := range []string{plain, strings.Replace(plain, "nats://", "nats://jobcenter:wrong@", 1)} {
		if nc, err := nats.Connect(u); err == nil {
			nc.Close()
			t.Fatalf("NATS took a connection without the services' password: %s", u)
		}
	}

	st := &teststack.Stack{Dir: t.TempDir(), DB: "jobcenter"}
	st.StartFerret(t)

	tenantKey, tenantLine := api.MintKey("p")
	serviceKey, serviceLine := api.MintKey("*")
	httpAddr := freeAddr(t)
	common := []string{"NATS_URL=" + natsURL, "MONGO_URI=" + st.MongoURI, "JOBCENTER_MONGO_DB=" + st.DB,
		"JOBCENTER_STREAM_REPLICAS=3", "JOBCENTER_LEASE_TTL=2s", "JOBCENTER_LOG_LEVEL=info"}
	startProc(t, bin, "api", append(common, "JOBCENTER_HTTP_ADDR="+httpAddr, "JOBCENTER_API_KEYS="+tenantLine+","+serviceLine)...)
	for _, name := range []string{"trigger-a", "trigger-b"} {
		startProc(t, bin, "trigger", append(common, "JOBCENTER_HEALTH_ADDR="+freeAddr(t), "JOBCENTER_INSTANCE_ID="+name)...)
	}
	for range 2 {
		startProc(t, bin, "executor", append(common, "JOBCENTER_HEALTH_ADDR="+freeAddr(t),
			"JOBCENTER_API_URL=http://"+httpAddr, "JOBCENTER_API_KEY="+serviceKey)...)
	}
	c := &center{t: t, url: "http://" + httpAddr}
	c.waitReady()
	key := []string{"Authorization", "Bearer " + tenantKey}

	// Keys are on: without one, a 401, and nothing stored.
	c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 401)
	c.do("GET", "/api/v1/jobs", "p", nil).must(t, 401)

	// A job every second whose code calls the api back (the executors' service key).
	body := intervalBody()
	body["seconds"] = 1
	body["code"] = "log_print('jobs: %d' % len(sdk_get_jobs()), 'INFO')"
	id := c.do("POST", "/api/v1/jobs", "p", body, key...).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil, key...).must(t, 200)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil, key...).must(t, 200)
	page := func() (succeeded int, manual bool, sample map[string]any) {
		var p journalPage
		c.do("GET", "/api/v1/jobs/"+id+"/journal?size=100", "p", nil, key...).must(t, 200).json(t, &p)
		for _, e := range p.Data {
			if e["exestatus"] == "success" {
				succeeded++
				sample = e
				manual = manual || e["runtype"] == contracts.RunTypeManual
			}
		}
		return succeeded, manual, sample
	}
	var before int
	teststack.Eventually(t, 30*time.Second, "three successful runs and the manual one in the journal", func() bool {
		n, manual, e := page()
		before = n
		return n >= 4 && manual && strings.Contains(fmt.Sprint(e["exedes"]), "jobs: 1")
	})

	// Every stream and bucket has three replicas, spread over the three servers.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	for names := js.StreamNames(ctx); ; {
		name, ok := <-names.Name()
		if !ok {
			break
		}
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info := s.CachedInfo()
		if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
			t.Errorf("stream %s: %d replicas (%+v), want 3", name, info.Config.Replicas, info.Cluster)
		}
	}

	// One NATS server dies — the JetStream meta leader, the worst one to lose: the other
	// two keep quorum, the services reconnect to them, and the job keeps firing.
	for _, s := range servers {
		if s.JetStreamIsLeader() {
			s.Shutdown()
			s.WaitForShutdown()
			t.Logf("stopped %s, the meta leader", s.Name())
			break
		}
	}
	teststack.Eventually(t, 60*time.Second, "the job stopped firing after a NATS server died", func() bool {
		n, _, _ := page()
		return n >= before+5
	})
	if os.Getenv("E2E_LOG") != "" {
		n, _, _ := page()
		t.Logf("%d successful runs, %d of them after the server died", n, n-before)
	}
}
