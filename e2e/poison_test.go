package e2e_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

func TestBadMessagesOnAnyStreamAreDeadLetteredAndTheConsumersCarryOn(t *testing.T) {
	c := newCenter(t)
	nc := connect(t, c.stack.NATSURL)
	var mu sync.Mutex
	dead := map[string]string{} // original subject → reason
	if _, err := nc.Subscribe(contracts.DeadLetterSubjects, func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		dead[m.Header.Get("Jobcenter-Subject")] = m.Header.Get("Jobcenter-Reason")
	}); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	pub := func(subject string, data []byte) {
		t.Helper()
		expectPoison(c, subject, data) // bad on purpose; the dead letters it causes are still checked
		if _, err := js.Publish(ctx, subject, data); err != nil {
			t.Fatal(err)
		}
	}
	// A command that is not JSON; one whose interval of 0 s once divided by zero; a fire
	// that is not JSON; a run report that lacks its ids.
	pub("jobcenter.cmd.p", []byte("{not json"))
	zero, _ := json.Marshal(contracts.Command{V: 1, ID: "evil-1", Type: "create", Tenant: "p", JobID: "evil", JobKey: "evilkey",
		At: time.Now(), Enable: true, Spec: &contracts.JobSpec{Name: "x", Trigger: "interval", Seconds: 0, Code: "return 1"}})
	pub("jobcenter.cmd.p", zero)
	// A command without its time would give its job no creation or start time.
	noTime, _ := json.Marshal(contracts.Command{V: 1, ID: "evil-2", Type: "create", Tenant: "q", JobID: "evil2", JobKey: "evilkey2",
		Spec: &contracts.JobSpec{Name: "x", Trigger: "interval", Seconds: 5, Code: "return 1"}})
	pub("jobcenter.cmd.q", noTime)
	pub("jobcenter.fire.p.j1", []byte("\x00\x01garbage"))
	pub("jobcenter.run.p.j1.success", []byte(`{"status":"success"}`))
	// A fire of a schema version this build does not know is set aside, not misread.
	future, _ := json.Marshal(contracts.Fire{V: contracts.Version + 1, FireID: "j2@1", JournalID: "j2:1", Tenant: "p", JobID: "j2", Seq: 1})
	pub("jobcenter.fire.p.j2", future)

	teststack.Eventually(t, 10*time.Second, "the bad messages were not all dead-lettered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return dead["jobcenter.cmd.p"] != "" && strings.Contains(dead["jobcenter.cmd.q"], "lacks at") && dead["jobcenter.fire.p.j1"] != "" && dead["jobcenter.run.p.j1.success"] != "" &&
			strings.Contains(dead["jobcenter.fire.p.j2"], "schema version 2")
	})
	// The well-formed command with an impossible spec is rejected, not applied.
	c.do("GET", "/api/v1/jobs/evil", "p", nil).must(t, 404)
	// And everything still works.
	id := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/exec", "p", nil).must(t, 200)
	c.waitJournal("p", id, 1)
}
