package firing_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/trigger/internal/firing"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// BenchmarkPublisher: fires of as many jobs, each on its own subject with its own message
// id, queued on the Publisher as the scheduler queues them and timed until the broker has
// stored every one. It is the fire path with the broker in this process and nothing else
// at work: what the steady and burst benches' fire path would reach with the machine to
// itself. Run it with -benchtime 100000x; ns/op is per fire.
func BenchmarkPublisher(b *testing.B) {
	st := teststack.Start(b)
	nc, js, err := bus.Dial(st.NATSURL, "bench", zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := bus.Provision(ctx, js, bus.StreamsConfig{Replicas: 1, Duplicates: 2 * time.Minute, RunsMaxAge: time.Hour}); err != nil {
		b.Fatal(err)
	}
	p := firing.New(js, nil, nil, zerolog.Nop())
	go p.Run(ctx)
	at := time.Now().UTC().Truncate(time.Second)
	b.ResetTimer()
	for i := range b.N {
		id := "job" + strconv.Itoa(i)
		p.Publish(contracts.Fire{V: contracts.Version, Tenant: "bench", JobID: id, FireID: id + "@1", JournalID: id + ":1",
			Seq: 1, RunType: contracts.RunTypeTrigger, TriggerStatus: contracts.TriggerFired, ScheduledAt: at, FiredAt: at,
			Target: contracts.Target{Code: "pass"}, TimeoutMs: 5000, MaxInstances: 1})
	}
	if !p.WaitStored(ctx, uint64(b.N)) {
		b.Fatal("fires never stored")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fires/s")
}
