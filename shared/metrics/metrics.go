// Package metrics holds what the services' Prometheus metrics share: a registry with the
// Go and process collectors, the /metrics handler, registration under a service's name,
// and the metrics of the JetStream consumers a service owns. No global registry is used:
// each service registers into the one it is given, so several services — the all-in-one
// program, or many test centers — live in one process.
package metrics

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric of Job Center.
const Namespace = "jobcenter"

// NewRegistry returns a registry holding the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves g's metrics in the Prometheus text format (or OpenMetrics, when asked).
// A collector that fails leaves its metrics out; the rest are served.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registrar registers one service's collectors, each labelled service="<name>", and
// keeps the errors for Err.
type Registrar struct {
	reg  prometheus.Registerer
	errs []error
}

// NewRegistrar registers into reg under the service's name.
func NewRegistrar(reg prometheus.Registerer, service string) *Registrar {
	return &Registrar{reg: prometheus.WrapRegistererWith(prometheus.Labels{"service": service}, reg)}
}

// Err reports every registration that failed (a metric defined two ways), or nil.
func (r *Registrar) Err() error { return errors.Join(r.errs...) }

// Add registers c and returns it — or, when the same metric is registered already (a
// service restarted in the process with the same registry), the registered one, so that
// its counts go on.
func Add[C prometheus.Collector](r *Registrar, c C) C {
	err := r.reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	r.errs = append(r.errs, err)
	return c
}

// Counter adds a counter named jobcenter_<name>.
func (r *Registrar) Counter(name, help string) prometheus.Counter {
	return Add(r, prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}))
}

// CounterVec adds a counter named jobcenter_<name> with the labels.
func (r *Registrar) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return Add(r, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels))
}

// Gauge adds a gauge named jobcenter_<name>.
func (r *Registrar) Gauge(name, help string) prometheus.Gauge {
	return Add(r, prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}))
}

// GaugeVec adds a gauge named jobcenter_<name> with the labels.
func (r *Registrar) GaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return Add(r, prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels))
}

// HistogramVec adds a histogram named jobcenter_<name> with the buckets and the labels.
func (r *Registrar) HistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return Add(r, prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help,
		Buckets: buckets}, labels))
}

// DurationBuckets are histogram buckets, in seconds, from 5 ms to 10 minutes: for run
// durations, fire lateness and apply lag alike.
var DurationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
