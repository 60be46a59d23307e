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
	m := &Executor{
		Consumers: metrics.NewConsumers(r, consumers...),
		runs: r.CounterVec("runs_total",
			"Runs ended and reported, by status (success, failure, skipped: max_instances runs still going) and target (code, flow, biz).",
			"status", "target"),
		duration: r.HistogramVec("run_duration_seconds",
			"From a run's start to its end, every attempt included, by status and target.",
			metrics.DurationBuckets, "status", "target"),
		running: r.Gauge("runs_in_progress", "Runs under way in this process."),
		interrupted: r.Counter("runs_interrupted_total",
			"Runs cut off by their executor's end, found on redelivery and journaled as failed (not run again)."),
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
