package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobcenter/jobcenter/shared/bus"
)

// Consumer names a durable JetStream consumer.
type Consumer struct {
	Stream, Name string
}

// Consumers are the metrics of the JetStream consumers a service owns: their state on
// the server, read at each scrape (pending, waiting for an ack, redelivered), and what
// this process settled (redeliveries it handled, messages it dead-lettered).
type Consumers struct {
	info        *consumerInfo
	dead        *prometheus.CounterVec
	redelivered *prometheus.CounterVec
}

// NewConsumers registers the metrics of the named consumers. Point them at a broker
// with Watch.
func NewConsumers(r *Registrar, consumers ...Consumer) *Consumers {
	label := []string{"stream", "consumer"}
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "consumer", name), help, label, nil)
	}
	c := &Consumers{
		info: Add(r, &consumerInfo{
			consumers: consumers,
			timeout:   time.Second,
			pending:   desc("pending_messages", "Messages in the stream not yet delivered to the consumer (JetStream consumer info, read at scrape)."),
			ackPending: desc("ack_pending_messages",
				"Messages delivered to the consumer and not yet acknowledged (JetStream consumer info, read at scrape)."),
			redelivered: desc("redelivered_messages",
				"Messages delivered more than once and not yet acknowledged (JetStream consumer info, read at scrape)."),
			waiting: desc("waiting_pulls", "Pull requests waiting on the consumer: instances ready to take work (JetStream consumer info, read at scrape)."),
			up:      desc("info_up", "1 when the consumer's info was read at this scrape, 0 when the broker did not answer within a second or the consumer does not exist."),
		}),
		dead: r.CounterVec("dead_letters_total",
			"Messages this process could not process and set aside on jobcenter.dead.<consumer>.", "consumer"),
		redelivered: r.CounterVec("messages_redelivered_total",
			"Messages this process handled that had been delivered before (a retry, or a redelivery after an ack deadline).", "consumer"),
	}
	// Shown from the start, at 0: a rate over a series that appears only at its first
	// count misses that count.
	for _, cons := range consumers {
		c.dead.WithLabelValues(cons.Name)
		c.redelivered.WithLabelValues(cons.Name)
	}
	return c
}

// Watch reads the consumers' state through js from now on (the last service to call it
// wins, when several share a registry).
func (c *Consumers) Watch(js jetstream.JetStream) {
	c.info.mu.Lock()
	defer c.info.mu.Unlock()
	c.info.js = js
}

// Settled counts a message settled by consumer: a bus.Observer.
func (c *Consumers) Settled(consumer string, msg jetstream.Msg, o bus.Outcome) {
	if o == bus.DeadLettered {
		c.dead.WithLabelValues(consumer).Inc()
	}
	if md, err := msg.Metadata(); err == nil && md.NumDelivered > 1 {
		c.redelivered.WithLabelValues(consumer).Inc()
	}
}

// consumerInfo asks the broker for each consumer's info when scraped, within a bound.
type consumerInfo struct {
	mu        sync.Mutex
	js        jetstream.JetStream
	consumers []Consumer
	timeout   time.Duration

	pending, ackPending, redelivered, waiting, up *prometheus.Desc
}

func (c *consumerInfo) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pending, c.ackPending, c.redelivered, c.waiting, c.up} {
		ch <- d
	}
}

func (c *consumerInfo) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	js := c.js
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	for _, cons := range c.consumers {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, cons.Stream, cons.Name)
		}
		var info *jetstream.ConsumerInfo
		if js != nil && ctx.Err() == nil {
			if jc, err := js.Consumer(ctx, cons.Stream, cons.Name); err == nil {
				info = jc.CachedInfo()
			}
		}
		if info == nil {
			gauge(c.up, 0)
			continue
		}
		gauge(c.up, 1)
		gauge(c.pending, float64(info.NumPending))
		gauge(c.ackPending, float64(info.NumAckPending))
		gauge(c.redelivered, float64(info.NumRedelivered))
		gauge(c.waiting, float64(info.NumWaiting))
	}
}
