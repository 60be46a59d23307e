package e2e_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// The api answers reads and lists from its view of the jobs, kept by the lifecycle
// events; the trigger writes the job documents behind its answers.

// anotherAPI starts a second api over the same broker and store; requests through the
// center it returns go to it.
func (c *center) anotherAPI() *center {
	c.t.Helper()
	o := &center{t: c.t, stack: c.stack, clk: c.clk, stops: map[string]func(){}, apiOpts: c.apiOpts}
	o.startAPI()
	o.waitReady()
	return o
}

func total(t *testing.T, r reply) int {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("X-Total-Count"))
	if err != nil {
		t.Fatalf("X-Total-Count %q", r.header.Get("X-Total-Count"))
	}
	return n
}

func TestAWriteIsReadAndListedAtOnceHereAndWithinASecondOnAnotherAPI(t *testing.T) {
	c := newCenter(t)
	other := c.anotherAPI()
	status := func(on *center) string {
		var s struct {
			RespData []map[string]string `json:"resp_data"`
		}
		on.quartz("queryjobstatus", "q", map[string]any{"codes": "b1", "jobtype": ""}).must(t, 200).json(t, &s)
		if len(s.RespData) == 0 {
			return ""
		}
		return s.RespData[0]["jobstatus"]
	}
	for i := range 20 {
		id := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 201).obj(t)["id"].(string)
		// On the api that answered: at once, with no wait for the store.
		c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200)
		if n := total(t, c.do("GET", "/api/v1/jobs?pid="+pid, "p", nil).must(t, 200)); n != i+1 {
			t.Fatalf("listed %d jobs right after adding job %d", n, i+1)
		}
		c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
		if got := c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200).obj(t); got["next_run_time"] == nil {
			t.Fatalf("read right after its start: %s", mustJSON(got))
		}
		// On the other, once its event comes.
		began := time.Now()
		teststack.Eventually(t, 2*time.Second, "the other api never showed the write", func() bool {
			r := other.do("GET", "/api/v1/jobs/"+id, "p", nil)
			return r.status == 200 && r.obj(t)["next_run_time"] != nil &&
				total(t, other.do("GET", "/api/v1/jobs?pid="+pid, "p", nil)) == i+1
		})
		if took := time.Since(began); took > time.Second {
			t.Fatalf("the other api showed the write after %v", took)
		}
	}
	var saved map[string]map[string]string
	c.quartz("bizcronjob", "q", save("s", "0 0 12 * * ?", "b1")).must(t, 200).json(t, &saved)
	sched := saved["resp_data"]["group_job_id"]
	if s := status(c); s != "enable" {
		t.Fatalf("status right after the save: %q", s)
	}
	c.quartz("bizcronjob", "q", opt("disable", sched)).must(t, 200)
	if s := status(c); s != "disable" {
		t.Fatalf("status right after the disable: %q", s)
	}
	teststack.Eventually(t, 2*time.Second, "the other api never showed the disable", func() bool { return status(other) == "disable" })
	c.quartz("bizcronjob", "q", opt("delete", sched)).must(t, 200)
	if s := status(c); s != "" {
		t.Fatalf("status right after the delete: %q", s)
	}
	other.quartz("bizcronjob", "q", save("s2", "0 0 12 * * ?", "b1")).must(t, 200)
}

func TestPastItsCapTheAPIListsFromTheStore(t *testing.T) {
	c := newCenterWith(t, func(cfg *api.Config) { cfg.CacheJobs = 2 }, nil)
	ids := map[string]bool{}
	for range 3 {
		ids[c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 201).obj(t)["id"].(string)] = true
	}
	// Past the cap the store answers, which the trigger writes a moment behind.
	teststack.Eventually(t, 5*time.Second, "the store never listed the third job", func() bool {
		return total(t, c.do("GET", "/api/v1/jobs", "p", nil).must(t, 200)) == 3
	})
	for id := range ids {
		c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200)
	}
	c.do("GET", "/api/v1/jobs/nope", "p", nil).must(t, 404)
}

func TestJobDocumentsLeftUnwrittenByATriggerAreWrittenByTheNextFromTheEvents(t *testing.T) {
	c := newCenter(t)
	id := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 201).obj(t)["id"].(string)
	store, err := mongostore.Open(context.Background(), c.stack.MongoURI, c.stack.DB, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	stored := func() job.State {
		sj, err := store.GetJob(context.Background(), id)
		if err != nil {
			return ""
		}
		return sj.Job.State
	}
	teststack.Eventually(t, 5*time.Second, "the job's document was never written", func() bool { return stored() == job.Stopped })
	// The store goes away; the trigger applies a start it can decide without it, and
	// stops before its document can be written.
	c.stack.StopFerret(t)
	c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
	c.stop("trigger")
	c.stack.StartFerret(t)
	if s := stored(); s != job.Stopped {
		t.Fatalf("the store has the job %q before a trigger wrote the start", s)
	}
	c.startTrigger()
	teststack.Eventually(t, 10*time.Second, "the next trigger never wrote the start from its event", func() bool { return stored() == job.Started })
	if got := c.do("GET", "/api/v1/jobs/"+id, "p", nil).must(t, 200).obj(t); got["next_run_time"] == nil {
		t.Fatalf("read after the takeover: %s", fmt.Sprint(got))
	}
}

func TestAppliedCommandsLeaveTheCommandsStreamAfterTheDuplicateWindow(t *testing.T) {
	short := func(s *bus.StreamsConfig) { s.Duplicates, s.IdempotencyWindow = 3*time.Second, time.Minute }
	c := newCenterWith(t, func(cfg *api.Config) { short(&cfg.Streams) }, nil)
	c.stop("trigger")
	c.startTrigger(func(cfg *trigger.Config) { short(&cfg.Streams) })
	for i := range 20 {
		c.do("POST", "/api/v1/jobs", "p", intervalBody(), "Idempotency-Key", fmt.Sprint("k-", i)).must(t, 201)
	}
	nc, err := nats.Connect(c.stack.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	held := func() uint64 {
		st, err := js.Stream(context.Background(), contracts.StreamCommands)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	if n := held(); n == 0 {
		t.Fatal("the commands were removed before the duplicate window passed")
	}
	teststack.Eventually(t, 15*time.Second, "applied commands stayed in the stream past the window", func() bool { return held() == 0 })
	// The jobs are there, and a request repeated past the window is answered from its
	// kept outcome, not applied again.
	if n := total(t, c.do("GET", "/api/v1/jobs", "p", nil).must(t, 200)); n != 20 {
		t.Fatalf("%d jobs after the commands were removed; want 20", n)
	}
	first := c.do("POST", "/api/v1/jobs", "p", intervalBody(), "Idempotency-Key", "again").must(t, 201).obj(t)["id"]
	// Past the broker's de-duplication window, on the broker's own clock.
	time.Sleep(4 * time.Second)
	if again := c.do("POST", "/api/v1/jobs", "p", intervalBody(), "Idempotency-Key", "again").must(t, 201).obj(t)["id"]; again != first {
		t.Fatalf("repeated past the window: %v, first %v", again, first)
	}
	if n := total(t, c.do("GET", "/api/v1/jobs", "p", nil).must(t, 200)); n != 21 {
		t.Fatalf("%d jobs; the repeat was applied again", n)
	}
}
