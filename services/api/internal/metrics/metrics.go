// Package metrics holds the api's Prometheus metrics. The handlers and the commander
// know them only through small interfaces of their own.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/metrics"
)

// API is the api's metrics.
type API struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	accepted   *prometheus.CounterVec
	unanswered *prometheus.CounterVec
}

// New registers the api's metrics into reg, labelled service="api".
func New(reg prometheus.Registerer) (*API, error) {
	r := metrics.NewRegistrar(reg, "api")
	m := &API{
		requests: r.CounterVec("http_requests_total",
			"HTTP requests answered, by method, route pattern (\"unmatched\" for no route) and status.", "method", "route", "status"),
		duration: r.HistogramVec("http_request_duration_seconds",
			"Time to answer an HTTP request, by method and route pattern.",
			[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}, "method", "route"),
		accepted: r.CounterVec("commands_accepted_total",
			"Write commands stored in JetStream (accepted), by command type; a repeat of an Idempotency-Key is not counted again.", "type"),
		unanswered: r.CounterVec("commands_unanswered_total",
			"Accepted commands the trigger did not answer within JOBCENTER_APPLY_WAIT (answered 202), by command type.", "type"),
	}
	// Every type the api sends is shown from the start, at 0: a rate over a series that
	// appears only at its first count misses that count.
	for _, t := range []string{contracts.CmdCreate, contracts.CmdUpdate, contracts.CmdStart, contracts.CmdStop, contracts.CmdExec, contracts.CmdDelete} {
		m.accepted.WithLabelValues(t)
		m.unanswered.WithLabelValues(t)
	}
	return m, r.Err()
}

// Request counts an answered request; route is its pattern, "" when none matched.
func (m *API) Request(method, route string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	method = knownMethod(method)
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	if took >= 0 {
		m.duration.WithLabelValues(method, route).Observe(took.Seconds())
	}
}

// Accepted counts a command stored in JetStream; answered is false when the trigger's
// outcome did not come in time.
func (m *API) Accepted(cmdType string, answered bool) {
	m.accepted.WithLabelValues(cmdType).Inc()
	if !answered {
		m.unanswered.WithLabelValues(cmdType).Inc()
	}
}

// knownMethod keeps a client's made-up method from becoming a label value.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}
