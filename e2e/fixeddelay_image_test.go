package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// A fixed-delay job queued from its run's end in the image a restart takes up, then
// updated (its trigger kept), still fires then.
func TestAFixedDelayJobQueuedFromItsRunsEndInAnImageStillFiresAfterAnUpdate(t *testing.T) {
	c := newCenterWithAll(t, nil, nil, func(cfg *trigger.Config) { cfg.ImageInterval = time.Second })
	obs := imageStore(t, c)
	flowRunner(t, c, "fd", func(int64) contracts.FlowReply { return contracts.FlowReply{OK: true} })
	id := c.do("POST", "/api/v1/jobs", "p", flowJob("fd", map[string]any{"seconds": 10, "fixed_delay": true})).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+id+"/start", "p", nil).must(t, 200)
	c.clk.Advance(10 * time.Second)
	c.waitJournal("p", id, 1)
	next := rearmed(t, c, id)
	after := time.Now()
	teststack.Eventually(t, 15*time.Second, "an image cut after the rearm", func() bool {
		info, err := obs.GetInfo(context.Background(), "trigger")
		return err == nil && info.ModTime.After(after.Add(500*time.Millisecond))
	})
	c.stop("trigger")
	c.startTrigger()
	c.do("PUT", "/api/v1/jobs/"+id, "p", flowJob("fd", map[string]any{"seconds": 10, "fixed_delay": true, "name": "renamed"})).must(t, 200)
	c.clk.Advance(next.Add(time.Second).Sub(c.clk.Now()))
	c.waitJournal("p", id, 2)
}
