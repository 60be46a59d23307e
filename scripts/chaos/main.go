// Command chaos runs Job Center's services as real processes (an api, two triggers, two
// executors) over an embedded NATS and FerretDB, keeps them busy — jobs firing every
// second or two, a writer adding jobs without pause — and for a while kills a random
// service (kill -9) or the broker, then restarts it. At the end it counts, and fails on
// any accepted write not applied, any fire lost or journaled twice, any run doubled.
//
// With -cuts (the default; root and iproute2) the triggers and executors run in network
// namespaces of their own, and the chaos also cuts one off, alive, from the broker or
// (a trigger) from the store for longer than its lease or its fires' redelivery, then
// joins it again: a partition rather than a crash (netns.go).
//
// Fires due while no trigger was active (a takeover, a broker outage) coalesce into one
// catch-up fire, the SDK's default; those gaps are counted as coalesced, not lost. A run
// is counted at the flow runner, by fire id: a second call for the same fire is a run
// doubled. A tenth of the jobs' runs last 1.5 s, so that a kill or a cut finds runs under
// way. A few jobs fail every run, and an alert rule sends every failed or skipped run to
// a webhook that refuses each fifth alert's first attempt: each such run must be alerted
// exactly once, counted at the webhook by the run's fire id.
//
//	go run ./scripts/chaos -bin ./bin -duration 3m
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/embedded"
)

func main() {
	bin := flag.String("bin", "./bin", "folder holding the api, trigger and executor programs")
	duration := flag.Duration("duration", 3*time.Minute, "how long to inflict chaos")
	jobs := flag.Int("jobs", 40, "interval jobs firing during the chaos")
	rate := flag.Int("writes", 20, "jobs the writer adds per second")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed, to replay a run")
	cuts := flag.Bool("cuts", true, "also cut triggers and executors off the broker or the store, in network namespaces (needs root and iproute2)")
	flag.Parse()
	if err := run(*bin, *duration, *jobs, *rate, *seed, *cuts); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

type chaos struct {
	bin, dir, natsAddr string
	// natsListen is where the broker listens: natsAddr, or every address when processes
	// in namespaces reach it over their veths.
	natsListen, storePort string
	cutter                *cutter
	env                   []string
	procs                 map[string]*exec.Cmd
	ns                    *server.Server
	api                   string
	mu                    sync.Mutex
	outages               [][2]time.Time
	kills                 map[string]int
}

func run(bin string, duration time.Duration, njobs, rate int, seed uint64, cuts bool) error {
	rng := rand.New(rand.NewPCG(seed, seed))
	dir, err := os.MkdirTemp("", "jobcenter-chaos-")
	if err != nil {
		return err
	}
	fmt.Printf("chaos: seed %d, %s of chaos, %d jobs firing every 1-2 s, %d writes/s, data and logs in %s\n", seed, duration, njobs, rate, dir)
	c := &chaos{bin: bin, dir: dir, natsAddr: freeAddr(), api: freeAddr(), procs: map[string]*exec.Cmd{}, kills: map[string]int{}}
	c.natsListen = c.natsAddr
	storeListen := "127.0.0.1:0"
	if cuts {
		if c.cutter, err = newCutter([]string{"trigger-1", "trigger-2", "executor-1", "executor-2"}); err != nil {
			return fmt.Errorf("network namespaces for the cuts (run as root with iproute2, or with -cuts=false): %w", err)
		}
		defer c.cutter.close()
		_, port, _ := net.SplitHostPort(c.natsAddr)
		c.natsListen, storeListen = "0.0.0.0:"+port, "0.0.0.0:0"
	}
	if c.ns, err = embedded.StartNATS(c.natsListen, filepath.Join(dir, "nats"), nil); err != nil {
		return err
	}
	fe, err := embedded.StartFerret(storeListen, filepath.Join(dir, "ferret"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer fe.Stop()
	if u, err := url.Parse(fe.URI()); err == nil {
		c.storePort = u.Port()
	}
	c.env = []string{"NATS_URL=nats://" + c.natsAddr, "MONGO_URI=" + fe.URI(), "JOBCENTER_LEASE_TTL=2s",
		"JOBCENTER_EXEC_REDELIVER_AFTER=3s", "JOBCENTER_LOG_LEVEL=info", "JOBCENTER_EXEC_TIMEOUT=10s",
		"JOBCENTER_ALERTS_ALLOW_PRIVATE=true", "JOBCENTER_ALERTS_BACKOFF=200ms"}
	hookHost := "127.0.0.1"
	if c.cutter != nil {
		hookHost = HookIP
	}
	hook, err := startHook(hookHost)
	if err != nil {
		return err
	}
	defer hook.close()
	names := []string{"api", "trigger-1", "trigger-2", "executor-1", "executor-2"}
	for _, n := range names {
		if err := c.start(n); err != nil {
			return err
		}
	}
	defer c.stopAll()

	// The flow runner: counts calls per fire.
	nc, err := bus.Connect("nats://"+c.natsAddr, "chaos-runner", zerolog.Nop())
	if err != nil {
		return err
	}
	defer nc.Close()
	var callsMu sync.Mutex
	calls := map[string]int{}
	if _, err := nc.Subscribe(contracts.FlowSubjects, func(m *nats.Msg) {
		var req contracts.FlowRequest
		_ = json.Unmarshal(m.Data, &req)
		callsMu.Lock()
		calls[req.FireID]++
		callsMu.Unlock()
		if strings.HasPrefix(req.FlowID, "fail") {
			_ = m.Respond([]byte(`{"ok":false,"error":"the chaos's failing flow"}`))
			return
		}
		if strings.HasSuffix(req.FlowID, "5") { // jobs every 2 s: the runs fit
			// A tenth of the jobs run for 1.5 s, so that cuts and kills find runs under way.
			go func() { time.Sleep(1500 * time.Millisecond); _ = m.Respond([]byte(`{"ok":true}`)) }()
			return
		}
		_ = m.Respond([]byte(`{"ok":true}`))
	}); err != nil {
		return err
	}
	if err := c.waitReady(60 * time.Second); err != nil {
		return err
	}
	if _, err := c.call("POST", "/api/v1/alerts", "chaos", `{"name":"chaos","events":["failure","skipped"],"channel":{"type":"webhook","url":"`+hook.url+`"}}`, nil, 201); err != nil {
		return err
	}
	var ids []string
	for i := range njobs + failingJobs {
		var j map[string]any
		flow := fmt.Sprintf("f%d", i)
		if i >= njobs {
			flow = fmt.Sprintf("fail%d", i)
		}
		body := fmt.Sprintf(`{"pid":"chaos","name":"j%d","trigger":"interval","seconds":%d,"flow_id":"%s"}`, i, 1+i%2, flow)
		if _, err := c.call("POST", "/api/v1/jobs", "chaos", body, &j, 201); err != nil {
			return err
		}
		id := j["id"].(string)
		if _, err := c.call("POST", "/api/v1/jobs/"+id+"/start", "chaos", "", nil, 200); err != nil {
			return err
		}
		ids = append(ids, id)
	}

	// The writer: every answered 201 or 202 must be applied in the end.
	var accepted []string
	stopWriter := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		tick := time.NewTicker(time.Second / time.Duration(max(rate, 1)))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopWriter:
				return
			case <-tick.C:
			}
			var j map[string]any
			body := fmt.Sprintf(`{"pid":"w","name":"w%d","trigger":"interval","seconds":60,"code":"return 1"}`, i)
			status, err := c.call("POST", "/api/v1/jobs", "writer", body, &j, 0)
			if err == nil && (status == 201 || status == 202) {
				accepted = append(accepted, j["id"].(string))
			} else {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()

	targets := append(slices.Clone(names), "broker")
	if c.cutter != nil {
		targets = append(targets, "cut trigger-1 broker", "cut trigger-2 broker", "cut trigger-1 store", "cut trigger-2 store",
			"cut executor-1 broker", "cut executor-2 broker")
	}
	end := time.Now().Add(duration)
	for time.Now().Before(end) {
		time.Sleep(time.Duration(3000+rng.IntN(5000)) * time.Millisecond)
		target := targets[rng.IntN(len(targets))]
		if f := strings.Fields(target); len(f) == 3 {
			// Longer than the lease (2 s) and the fires' redelivery (3 s): the others act.
			off := time.Duration(3000+rng.IntN(4000)) * time.Millisecond
			began := time.Now()
			fmt.Printf("  %s  cut  %-10s off the %s for %v\n", began.Format(time.TimeOnly), f[1], f[2], off.Round(time.Millisecond))
			c.kills[target]++
			if err := c.cutter.cut(f[1], f[2]); err != nil {
				return err
			}
			time.Sleep(off)
			if err := c.cutter.heal(f[1], f[2]); err != nil {
				return err
			}
			if err := c.waitReady(60 * time.Second); err != nil {
				return err
			}
			if f[2] == "broker" && strings.HasPrefix(f[1], "trigger") {
				c.outages = append(c.outages, [2]time.Time{began, time.Now().Add(5 * time.Second)})
			}
			continue
		}
		down := time.Duration(500+rng.IntN(2500)) * time.Millisecond
		began := time.Now()
		fmt.Printf("  %s  kill %-10s for %v\n", began.Format(time.TimeOnly), target, down.Round(time.Millisecond))
		c.kills[target]++
		if target == "broker" {
			c.ns.Shutdown()
			c.ns.WaitForShutdown()
			time.Sleep(down)
			if c.ns, err = embedded.StartNATS(c.natsListen, filepath.Join(dir, "nats"), nil); err != nil {
				return fmt.Errorf("restart broker: %w", err)
			}
		} else {
			c.kill(target)
			time.Sleep(down)
			if err := c.start(target); err != nil {
				return err
			}
		}
		if err := c.waitReady(60 * time.Second); err != nil {
			return err
		}
		if target == "broker" || target == "trigger-1" || target == "trigger-2" {
			// No trigger may have been active from the kill until a takeover could
			// complete: lease TTL, load, and a first fire.
			c.outages = append(c.outages, [2]time.Time{began, time.Now().Add(5 * time.Second)})
		}
	}
	close(stopWriter)
	<-writerDone
	fmt.Println("chaos over; settling")
	for _, id := range ids {
		if _, err := c.call("POST", "/api/v1/jobs/"+id+"/stop", "chaos", "", nil, 200); err != nil {
			return err
		}
	}
	return c.report(ids, accepted, calls, &callsMu, hook)
}

// failingJobs fail every run: with the runs cut off by kills, they give the alerts work.
const failingJobs = 4

func (c *chaos) report(ids, accepted []string, calls map[string]int, mu *sync.Mutex, hook *hook) error {
	var fires, lost, doubled, coalesced, runsDoubled, skipped int
	failures := map[string]int{}   // by the first words of their reason
	alertable := map[string]bool{} // the fire ids of the runs failed or skipped
	for _, id := range ids {
		entries, every, err := c.settledJournal(id)
		if err != nil {
			return err
		}
		seen := map[time.Time]bool{}
		var prev time.Time
		for _, e := range entries {
			at, _ := time.Parse("2006-01-02T15:04:05.000-0700", e["triggertime"].(string))
			fires++
			if seen[at] {
				doubled++
			}
			seen[at] = true
			switch e["exestatus"] {
			case "failure":
				reason := strings.Fields(fmt.Sprint(e["exedes"]))
				failures[strings.Join(reason[:min(3, len(reason))], " ")]++
				alertable[fmt.Sprint(e["triggerid"])] = true
			case "skipped":
				skipped++
				if e["triggerstatus"] != "missed" {
					alertable[fmt.Sprint(e["triggerid"])] = true
				}
			}
			if !prev.IsZero() && at.Sub(prev) > every {
				missing := int(at.Sub(prev)/every) - 1
				if c.inOutage(prev, at) {
					coalesced += missing
				} else {
					lost += missing
					fmt.Printf("  job %s: %d fire(s) missing between %s and %s\n", id, missing, prev.Format(time.TimeOnly), at.Format(time.TimeOnly))
				}
			}
			prev = at
		}
	}
	mu.Lock()
	for _, n := range calls {
		if n > 1 {
			runsDoubled += n - 1
		}
	}
	mu.Unlock()
	applied := 0
	for _, id := range accepted {
		for try := 0; try < 50; try++ {
			if status, _ := c.call("GET", "/api/v1/jobs/"+id, "writer", "", nil, 0); status == 200 {
				applied++
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	alerted, alertedTwice, unasked, unalerted := hook.settle(alertable, 90*time.Second)
	fmt.Printf("\nkills and cuts: %v\n\n", c.kills)
	fmt.Printf("| %-36s | %10s |\n|%s|%s|\n", "measure", "count", "--------------------------------------", "------------")
	for _, r := range []struct {
		k string
		v int
	}{
		{"writes accepted (201/202)", len(accepted)}, {"writes applied", applied},
		{"fires journaled", fires}, {"fires coalesced across outages", coalesced},
		{"fires lost", lost}, {"fires journaled twice", doubled},
		{"runs doubled (at the runner)", runsDoubled}, {"runs skipped (max_instances)", skipped},
		{"runs failed or skipped", len(alertable)}, {"alerts received, one a run", alerted},
		{"alert attempts refused by the webhook", hook.refusedCount()},
		{"runs not alerted", unalerted}, {"alerts of no such run", unasked}, {"alerts received twice", alertedTwice},
	} {
		fmt.Printf("| %-36s | %10d |\n", r.k, r.v)
	}
	for reason, n := range failures {
		fmt.Printf("| %-36s | %10d |\n", "runs failed: "+reason, n)
	}
	if applied != len(accepted) || lost > 0 || doubled > 0 || runsDoubled > 0 || unalerted > 0 || unasked > 0 || alertedTwice > 0 {
		return fmt.Errorf("FAILED: %d writes not applied, %d fires lost, %d journaled twice, %d runs doubled, %d runs not alerted, %d alerts of no such run, %d alerts received twice",
			len(accepted)-applied, lost, doubled, runsDoubled, unalerted, unasked, alertedTwice)
	}
	fmt.Println("\nPASS: nothing lost, nothing doubled")
	return nil
}

func (c *chaos) inOutage(a, b time.Time) bool {
	for _, o := range c.outages {
		if a.Before(o[1]) && b.After(o[0]) {
			return true
		}
	}
	return false
}

// settledJournal waits until no run of the job is waiting or running, and returns its
// entries oldest first, with its interval.
func (c *chaos) settledJournal(id string) ([]map[string]any, time.Duration, error) {
	var job map[string]any
	if _, err := c.call("GET", "/api/v1/jobs/"+id, "chaos", "", &job, 200); err != nil {
		return nil, 0, err
	}
	every := time.Duration(job["jobParameter"].(map[string]any)["seconds"].(float64)) * time.Second
	deadline := time.Now().Add(90 * time.Second)
	for {
		var p struct {
			ResultCount int              `json:"resultCount"`
			Data        []map[string]any `json:"data"`
		}
		if status, err := c.call("GET", "/api/v1/jobs/"+id+"/journal?size=1000", "chaos", "", &p, 200); err != nil {
			// The store is busy with the projections' catch-up after the chaos: a read may
			// time out (503) meanwhile; only the deadline ends the wait.
			if (status == http.StatusServiceUnavailable || status == 0) && time.Now().Before(deadline) {
				time.Sleep(time.Second)
				continue
			}
			return nil, 0, err
		}
		settled := len(p.Data) == p.ResultCount
		for _, e := range p.Data {
			if s := e["exestatus"]; s == "waiting" || s == "running" {
				settled = false
			}
		}
		if settled || time.Now().After(deadline) {
			slices.Reverse(p.Data)
			if !settled {
				fmt.Printf("  job %s: journal not settled after 90 s\n", id)
			}
			return p.Data, every, nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (c *chaos) start(name string) error {
	program := name
	env := slices.Clone(c.env)
	switch {
	case name == "api":
		env = append(env, "JOBCENTER_HTTP_ADDR="+c.api)
	case name[:len("trigger")] == "trigger":
		program = "trigger"
		env = append(env, "JOBCENTER_INSTANCE_ID="+name, "JOBCENTER_HEALTH_ADDR="+freeAddr())
	default:
		program = "executor"
		env = append(env, "JOBCENTER_API_URL=http://"+c.api, "JOBCENTER_HEALTH_ADDR="+freeAddr())
	}
	logf, err := os.OpenFile(filepath.Join(c.dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, natsPort, _ := net.SplitHostPort(c.natsAddr)
	env = append(env, c.cutter.env(name, natsPort, c.storePort)...) // the last of a name wins
	bin, err := filepath.Abs(filepath.Join(c.bin, program))
	if err != nil {
		return err
	}
	cmd := c.cutter.command(name, bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = append(os.Environ(), env...), logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	c.procs[name] = cmd
	return nil
}

func (c *chaos) kill(name string) {
	if p := c.procs[name]; p != nil {
		_ = p.Process.Signal(syscall.SIGKILL)
		_ = p.Wait()
	}
}

func (c *chaos) stopAll() {
	for _, p := range c.procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range c.procs {
		_ = p.Wait()
	}
	c.ns.Shutdown()
}

func (c *chaos) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if status, _ := c.call("GET", "/readyz", "", "", nil, 0); status == 200 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the center was not ready within %v (logs in %s)", timeout, c.dir)
}

var client = &http.Client{Timeout: 5 * time.Second}

// call sends a request; want 0 accepts any status.
func (c *chaos) call(method, path, project, body string, out any, want int) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, "http://"+c.api+path, bytes.NewBufferString(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if project != "" {
		req.Header.Set("X-Project-Id", project)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if want != 0 && resp.StatusCode != want {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		_ = json.Unmarshal(data, out)
	}
	return resp.StatusCode, nil
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
