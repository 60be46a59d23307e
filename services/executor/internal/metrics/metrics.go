// Package metrics holds the executor's Prometheus metrics. The runner knows them only
// through a small interface of its own.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobcenter/jobcenter/shared/metrics"
)

// Executor is the executor's metrics.
type Executor struct {
	// Consumers are the executors' shared consumer of fires.
	Consumers *metrics.Consumers

	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	running     prometheus.Gauge
	interrupted prometheus.Counter
}

// New registers the executor's metrics into reg, labelled service="executor".
func New(reg prometheus.Registerer, consumers ...metrics.Consumer) (*Executor, error) {
	r := metrics.NewRegistrar(reg, "executor")
	ns := metrics.Namespace
	m := &Executor{
		Consumers: metrics.NewConsumers(r, consumers...),
		runs: metrics.Add(r, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "runs_total",
			Help: "Runs ended and reported, by status (success, failure, skipped: max_instances runs still going) and target (code, flow, biz).",
		}, []string{"status", "target"})),
		duration: metrics.Add(r, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "run_duration_seconds",
			Help:    "From a run's start to its end, every attempt included, by status and target.",
			Buckets: metrics.DurationBuckets,
		}, []string{"status", "target"})),
		running: metrics.Add(r, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "runs_in_progress",
			Help: "Runs under way in this process.",
		})),
		interrupted: metrics.Add(r, prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "runs_interrupted_total",
			Help: "Runs cut off by their executor's end, found on redelivery and journaled as failed (not run again).",
		})),
	}
	return m, r.Err()
}

// Running notes a run under way until over is called.
func (m *Executor) Running() (over func()) {
	m.running.Inc()
	return m.running.Dec
}

// Ran counts a run of target that ended with status, took after it began.
func (m *Executor) Ran(target, status string, took time.Duration) {
	m.runs.WithLabelValues(status, target).Inc()
	m.duration.WithLabelValues(status, target).Observe(max(took, 0).Seconds())
}

// Interrupted counts a run found cut off.
func (m *Executor) Interrupted() { m.interrupted.Inc() }
