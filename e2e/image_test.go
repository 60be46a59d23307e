package e2e_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/teststack"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// startLoggedTrigger starts the trigger with its log kept, and no image due but the one
// after a start from the store.
func (c *center) startLoggedTrigger() *lockedBuffer {
	c.t.Helper()
	log := &lockedBuffer{}
	c.startTrigger(func(cfg *trigger.Config) {
		cfg.Log = zerolog.New(log).Level(zerolog.InfoLevel)
		cfg.ImageInterval = time.Hour
	})
	return log
}

func imageStore(t *testing.T, c *center) jetstream.ObjectStore {
	t.Helper()
	js, err := jetstream.New(connect(t, c.stack.NATSURL))
	if err != nil {
		t.Fatal(err)
	}
	obs, err := js.ObjectStore(context.Background(), trigger.ImageBucket)
	if err != nil {
		t.Fatal(err)
	}
	return obs
}

// A start takes up the scheduler's last image, then what was recorded after it: new and
// deleted jobs, stopped and started ones, scheduled and manual fires. A damaged image is
// set aside for the store, whose start then stores a new image.
func TestAStartTakesUpTheSchedulersImageAndWhatFollowedIt(t *testing.T) {
	c := newCenter(t)
	add := func(name string, start bool) string {
		b := intervalBody()
		b["name"], b["seconds"] = name, 1
		id := c.do("POST", "/api/v1/jobs", "p", b).must(t, 201).obj(t)["id"].(string)
		if start {
			c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
		}
		return id
	}
	a, stopped, started, deleted := add("a", true), add("c", true), add("d", false), add("e", true)
	c.clk.Advance(time.Second)
	c.waitJournal("p", a, 1)

	// An image that does not read is set aside: the start loads from the store, then
	// stores an image of its own.
	c.stop("trigger")
	obs := imageStore(t, c)
	ctx := context.Background()
	if _, err := obs.Put(ctx, jetstream.ObjectMeta{Name: "trigger", Metadata: map[string]string{"events_seq": "0", "runs_seq": "0"}},
		strings.NewReader("not an image")); err != nil {
		t.Fatal(err)
	}
	log := c.startLoggedTrigger()
	teststack.Eventually(t, 10*time.Second, "no image stored after the start from the store", func() bool {
		info, err := obs.GetInfo(ctx, "trigger")
		return err == nil && info.Metadata["jobs"] == "4"
	})
	if out := log.String(); !strings.Contains(out, "cannot be used") || !strings.Contains(out, `"from_image":false`) {
		t.Fatalf("the damaged image was not set aside for the store:\n%s", out)
	}

	// After the image: a new job, a stop, a start, a delete (five lifecycle events), an
	// exec (none: its fire says it), and fires.
	b := add("b", true)
	c.do("POST", "/api/v1/jobs/"+stopped+"/stop", "p", nil).must(t, 200)
	c.do("POST", "/api/v1/jobs/"+started+"/start", "p", nil).must(t, 200)
	c.do("DELETE", "/api/v1/jobs/"+deleted, "p", nil).must(t, 200)
	c.do("POST", "/api/v1/jobs/"+stopped+"/exec", "p", nil).must(t, 200)
	stoppedRuns := c.waitJournal("p", stopped, 2).Data
	for i := 2; i <= 3; i++ {
		c.clk.Advance(time.Second)
		c.waitJournal("p", a, i)
	}

	// Two events the trigger did not record, written straight to the stream: a job of
	// tenant B on tenant A's subject, and a job that could never have been accepted.
	js, err := jetstream.New(connect(t, c.stack.NATSURL))
	if err != nil {
		t.Fatal(err)
	}
	forged := func(subject string, edit func(*contracts.Job)) {
		spec := job.Spec{Pid: "D", Name: "forged", Trigger: job.Trigger{Kind: job.Interval, Every: time.Second},
			Target: job.Target{Code: "x = 1"}, Policy: job.DefaultPolicy()}
		now := c.clk.Now()
		pj := wire.JobToPayload(job.Job{ID: "forged", Key: "forged-k", Tenant: "B", Spec: spec, State: job.Started,
			StartedAt: now, CreatedAt: now, UpdatedAt: now, Version: 1})
		edit(&pj)
		data, _ := json.Marshal(contracts.LifecycleEvent{V: contracts.Version, ID: "x:started", Type: contracts.EventStarted,
			Tenant: pj.Tenant, JobID: pj.ID, At: now, Job: pj})
		expectPoison(c, subject, data) // off the contract on purpose
		if _, err := js.Publish(ctx, subject, data); err != nil {
			t.Fatal(err)
		}
	}
	forged(contracts.EventSubject("A", "forged", contracts.EventStarted), func(*contracts.Job) {})
	forged(contracts.EventSubject("B", "forged", contracts.EventStarted), func(j *contracts.Job) { j.Spec.Seconds = 0 })

	c.stop("trigger")
	log = c.startLoggedTrigger()
	teststack.Eventually(t, 10*time.Second, "the trigger never became active", func() bool {
		return strings.Contains(log.String(), "trigger active")
	})
	if out := log.String(); !strings.Contains(out, "scheduler image taken up") || !strings.Contains(out, `"from_image":true`) ||
		!strings.Contains(out, `"events_replayed":5`) || strings.Count(out, "event not applied: not one the trigger recorded") != 2 {
		t.Fatalf("the start did not take up the image and the five events after it, and only them:\n%s", out)
	}
	// Neither the api nor the scheduler knows the forged job: it is no job, and never fires.
	c.do("GET", "/api/v1/jobs/forged", "B", nil).must(t, 404)
	c.do("GET", "/api/v1/jobs/forged", "A", nil).must(t, 404)
	for i := 4; i <= 6; i++ {
		c.clk.Advance(time.Second)
		c.waitJournal("p", a, i)
	}
	c.waitJournal("p", b, 5)
	c.waitJournal("p", started, 5)
	// Every second once, run numbers never reused: the fires after the image were
	// replayed, not made again.
	for _, id := range []string{a, b, started} {
		runsOnce(t, c, "p", id)
	}
	// The stopped job's exec after the image kept its run number: a second exec is the
	// next one, and the schedule did not resume.
	c.do("POST", "/api/v1/jobs/"+stopped+"/exec", "p", nil).must(t, 200)
	runs := c.waitJournal("p", stopped, 3).Data
	if runs[0]["triggerid"] == stoppedRuns[0]["triggerid"] || runs[1]["triggerid"] != stoppedRuns[0]["triggerid"] {
		t.Fatalf("runs of the stopped job before the restart %s, after %s", mustJSON(stoppedRuns), mustJSON(runs))
	}
	c.do("GET", "/api/v1/jobs/"+deleted, "p", nil).must(t, 404)
}
