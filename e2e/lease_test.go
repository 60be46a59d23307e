package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// A trigger whose lease is taken steps down and abandons the connection its fires go out
// on (fires it holds, cut off from the broker, would be stored after its successor
// began); once the lease is free again it becomes active on a new one, and fires.
func TestATriggerThatLosesItsLeaseAbandonsItsFiresConnectionAndFiresAgainOnANewOne(t *testing.T) {
	log := &lockedBuffer{}
	c := newCenterWithAll(t, nil, nil, func(cfg *trigger.Config) { cfg.Log = zerolog.New(log).Level(zerolog.InfoLevel) })
	ids := startedJobs(t, c, "p", 1)
	fired := func(n int) func() bool {
		return func() bool {
			c.clk.Advance(time.Second) // the center's clock: each look is a second later
			return c.journal("p", ids[0], 1, 1).ResultCount > n
		}
	}
	teststack.Eventually(t, 10*time.Second, "the job never fired", fired(0))

	js, err := jetstream.New(connect(t, c.stack.NATSURL))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(context.Background(), trigger.LeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(context.Background(), "trigger", []byte("intruder")); err != nil {
		t.Fatal(err)
	}
	teststack.Eventually(t, 10*time.Second, "the trigger did not abandon its fires' connection", func() bool {
		return strings.Contains(log.String(), "lease lost: the fires not yet stored are dropped")
	})
	// The intruder never renews: its key expires, the trigger takes the lease again, on a
	// new connection for its fires.
	before := c.journal("p", ids[0], 1, 1).ResultCount
	teststack.Eventually(t, 30*time.Second, "the job did not fire again after the trigger's new term", fired(before+2))
}
