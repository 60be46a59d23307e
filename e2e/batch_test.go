package e2e_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/teststack"
)

// The trigger applies commands in batches; these writes arrive together, several for
// each job, so batches hold commands of many jobs and a job's commands fall in
// consecutive batches. Each job must end in the state its own writes, in their order,
// make, and a behaviour saved many times at once must still have one schedule.
func TestWritesArrivingTogetherApplyInEachJobsOrder(t *testing.T) {
	c := newCenter(t)
	const jobs, project = 24, "batch"
	var wg sync.WaitGroup
	errs := make(chan error, jobs*8)
	ids := make([]string, jobs)
	for i := range jobs {
		wg.Go(func() {
			// Each step must be answered 200/201 (applied) or 202 (stored, applied later);
			// the next is sent after the answer, so the job's commands are in this order.
			step := func(method, path string, body any, ok ...int) []byte {
				r, err := c.request(method, path, project, body)
				if err == nil && r.status != 202 && r.status != ok[0] {
					err = fmt.Errorf("%s %s: %d %s", method, path, r.status, r.body)
				}
				if err != nil {
					errs <- err
					return nil
				}
				return r.body
			}
			body := intervalBody()
			body["name"] = fmt.Sprintf("job %d", i)
			out := step("POST", "/api/v1/jobs", body, 201)
			var added map[string]any
			if json.Unmarshal(out, &added) != nil || added["id"] == nil {
				errs <- fmt.Errorf("create %d: %s", i, out)
				return
			}
			id := added["id"].(string)
			ids[i] = id
			// A create answered 202 is applied later; until then a write naming the job is
			// answered 404, as the api cannot find it yet.
			for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if r, err := c.request("GET", "/api/v1/jobs/"+id, project, nil); err == nil && r.status == 200 {
					break
				}
				if time.Now().After(deadline) {
					errs <- fmt.Errorf("job %d was never created", i)
					return
				}
			}
			step("POST", "/api/v1/jobs/"+id+"/start", nil, 200)
			body["description"] = fmt.Sprintf("updated %d", i)
			step("PUT", "/api/v1/jobs/"+id, body, 200)
			step("POST", "/api/v1/jobs/"+id+"/stop", nil, 200)
			step("POST", "/api/v1/jobs/"+id+"/start", nil, 200)
		})
	}
	const saves = 8
	groups := make(chan string, saves)
	for i := range saves {
		wg.Go(func() {
			r, err := c.request("POST", "/task/quartz/bizcronjob", "", save(fmt.Sprintf("s%d", i), "0 0 12 * * ?", "together"), "tecode", "T1")
			var saved map[string]map[string]string
			if err == nil && (r.status != 200 && r.status != 202 || json.Unmarshal(r.body, &saved) != nil) {
				err = fmt.Errorf("save %d: %d %s", i, r.status, r.body)
			}
			if err != nil {
				errs <- err
				return
			}
			// A save answered 202 names the schedule it would make, before the trigger has
			// decided whether the behaviour already has one.
			if r.status == 200 {
				groups <- saved["resp_data"]["group_job_id"]
			}
		})
	}
	wg.Wait()
	close(errs)
	close(groups)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	for i, id := range ids {
		teststack.Eventually(t, 15*time.Second, "job "+id+" never reached its last state", func() bool {
			got := c.do("GET", "/api/v1/jobs/"+id, project, nil).must(t, 200).obj(t)
			return got["description"] == fmt.Sprintf("updated %d", i) && got["next_run_time"] != nil
		})
	}
	var schedules []map[string]any
	teststack.Eventually(t, 15*time.Second, "the behaviour's saves did not settle on one schedule", func() bool {
		c.do("GET", "/api/v1/jobs?size=100", "T1", nil).must(t, 200).json(t, &schedules)
		return len(schedules) == 1
	})
	for g := range groups {
		if g != schedules[0]["id"] {
			t.Fatalf("a save answered schedule %q; the behaviour's one schedule is %v", g, schedules[0]["id"])
		}
	}
}
