package e2e_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// Behind NATS's walls (JOBCENTER_NATS_AUTH=true) a project's user may not use
// JetStream: jobctl events tail connects with the project's API key and follows the
// project's own subjects live on core NATS, with the same output; it refuses a replay
// clearly, and says so when NATS refuses the key.
func TestJobctlEventsTailFollowsAWalledProjectLiveWithItsKey(t *testing.T) {
	bin, err := buildServices()
	if err != nil {
		t.Fatalf("build services: %v", err)
	}
	keyA, lineA := api.MintKey("A")
	keyB, lineB := api.MintKey("B")
	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	startProc(t, bin, "jobcenter", "JOBCENTER_DATA_DIR="+t.TempDir(), "JOBCENTER_NATS_LISTEN="+natsAddr,
		"JOBCENTER_HTTP_ADDR="+httpAddr, "JOBCENTER_API_KEYS="+lineA+","+lineB, "JOBCENTER_NATS_AUTH=true")
	c := &center{t: t, url: "http://" + httpAddr}
	c.waitReady()
	common := []string{"JOBCENTER_URL=" + c.url, "NATS_URL=nats://" + natsAddr}
	ctlA := newCLI(t, append(common, "JOBCENTER_PROJECT=A", "JOBCENTER_API_KEY="+keyA)...)
	ctlB := &cli{bin: ctlA.bin, env: append(common, "JOBCENTER_PROJECT=B", "JOBCENTER_API_KEY="+keyB)}

	// addAndExec adds a code job, runs it once now, and returns its id.
	addAndExec := func(ctl *cli, name string) string {
		t.Helper()
		var j struct{ ID string }
		ctl.run(t, 0, "add", "--pid", "p", "--name", name, "--seconds", "3600", "--code", "log_print(\"hi\", \"INFO\")\nreturn 1", "--json").json(t, &j)
		ctl.run(t, 0, "exec", j.ID)
		return j.ID
	}
	succeeded := func(ctl *cli, id string) func() bool {
		return func() bool {
			var p struct {
				Data []map[string]any `json:"data"`
			}
			ctl.run(t, 0, "journal", id, "--json").json(t, &p)
			return len(p.Data) == 1 && p.Data[0]["exestatus"] == "success"
		}
	}

	t.Run("live with the project's key: its fires and runs, not another's", func(t *testing.T) {
		tctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd, out, line := ctlA.tail(t, tctx, "--count", "5", "--json")
		if !strings.HasPrefix(line, "following ") || !strings.Contains(line, "jobcenter.fire.A.>") ||
			!strings.Contains(line, " live ") {
			t.Fatalf("events tail never began following live: %s", line)
		}

		// B's job is added and run first: none of it may show.
		theirs := addAndExec(ctlB, "theirs")
		teststack.Eventually(t, 20*time.Second, "B's run never succeeded", succeeded(ctlB, theirs))
		// Then A's: created, its fire, running, its log line, success.
		mine := addAndExec(ctlA, "mine")

		if err := cmd.Wait(); err != nil {
			t.Fatalf("events tail --count 5 did not end well: %v\n%s", err, out.String())
		}
		var kinds []string
		dec := json.NewDecoder(out)
		for dec.More() {
			var e jobcenter.Event
			if err := dec.Decode(&e); err != nil {
				t.Fatal(err)
			}
			if e.Tenant != "A" || e.JobID != mine {
				t.Fatalf("events tail of A printed another's event: %s", mustJSON(e))
			}
			kinds = append(kinds, e.Kind+"/"+e.Type)
			if e.Kind == jobcenter.KindFire && (e.Fire == nil || e.Fire.RunType != "manual") {
				t.Fatalf("fire: %s", mustJSON(e))
			}
			if e.Kind == jobcenter.KindRun && e.Type == "success" && (e.Run == nil || e.Run.Result != "1") {
				t.Fatalf("run: %s", mustJSON(e))
			}
		}
		slices.Sort(kinds)
		if want := []string{"fire/fire", "lifecycle/created", "log/log", "run/running", "run/success"}; !slices.Equal(kinds, want) {
			t.Fatalf("events tail printed %v, want %v", kinds, want)
		}
		teststack.Eventually(t, 20*time.Second, "A's run never succeeded", succeeded(ctlA, mine))

		// The table, narrowed to one job and kind (--job goes through the API).
		tctx2, cancel2 := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel2()
		cmd, out, line = ctlA.tail(t, tctx2, "--job", mine, "--kinds", "run", "--count", "2")
		if !strings.HasPrefix(line, "following jobcenter.run.A."+mine+".* ") {
			t.Fatalf("events tail --job: %s", line)
		}
		ctlA.run(t, 0, "exec", mine)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("events tail --job --count 2: %v\n%s", err, out.String())
		}
		if rs := rows(out.String()); len(rs) != 3 || rs[0][0] != "TIME" || rs[1][2] != mine || rs[1][4] != "running" || rs[2][4] != "success" {
			t.Fatalf("events tail --job table:\n%s", out.String())
		}
	})

	t.Run("no replay behind the walls: a clear error", func(t *testing.T) {
		for _, args := range [][]string{{"--since", "10m"}, {"--all"}} {
			r := ctlA.run(t, 4, append([]string{"events", "tail", "--count", "1"}, args...)...)
			if !strings.Contains(r.stderr, "cannot replay") || !strings.Contains(r.stderr, "JetStream") ||
				!strings.Contains(r.stderr, "GET /api/v1/events") || strings.Contains(r.stderr, "set --nats") {
				t.Fatalf("events tail %v under NATS auth: %s", args, r.stderr)
			}
		}
	})

	t.Run("a refused key says so", func(t *testing.T) {
		r := ctlA.run(t, 4, "events", "tail", "--count", "1", "--api-key", "jc_wrong")
		if !strings.Contains(r.stderr, "NATS at nats://"+natsAddr+" refused project A's credentials (its API key") || strings.Contains(r.stderr, "set --nats") {
			t.Fatalf("wrong key: %s", r.stderr)
		}
		// B's key is not A's.
		if r := ctlA.run(t, 4, "events", "tail", "--count", "1", "--api-key", keyB); !strings.Contains(r.stderr, "refused project A's credentials") {
			t.Fatalf("another project's key: %s", r.stderr)
		}
		if r := ctlA.run(t, 4, "events", "tail", "--count", "1", "--api-key", ""); !strings.Contains(r.stderr, "wants credentials") {
			t.Fatalf("no key: %s", r.stderr)
		}
	})
}
