package metrics_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/metrics"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// value is the sum of the gathered series of name whose labels include want.
func value(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) (float64, bool) {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	sum, found := 0.0, false
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !hasLabels(m, want) {
				continue
			}
			found = true
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum, found
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func TestAServiceRestartedOnTheSameRegistryKeepsCountingOnTheSameMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "things_total", Help: "Things."}
	for range 2 {
		r := metrics.NewRegistrar(reg, "svc")
		c := metrics.Add(r, prometheus.NewCounter(opts))
		if err := r.Err(); err != nil {
			t.Fatalf("second registration: %v", err)
		}
		c.Inc()
	}
	// Another service registers the same metric under its own label.
	other := metrics.NewRegistrar(reg, "other")
	metrics.Add(other, prometheus.NewCounter(opts)).Add(5)
	if err := other.Err(); err != nil {
		t.Fatal(err)
	}
	if v, _ := value(t, reg, "jobcenter_things_total", map[string]string{"service": "svc"}); v != 2 {
		t.Fatalf("svc counted %v, want 2", v)
	}
	if v, _ := value(t, reg, "jobcenter_things_total", map[string]string{"service": "other"}); v != 5 {
		t.Fatalf("other counted %v, want 5", v)
	}
	// A metric defined two ways is an error, not a panic.
	bad := metrics.NewRegistrar(reg, "svc")
	metrics.Add(bad, prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metrics.Namespace, Name: "things_total", Help: "Other."}))
	if bad.Err() == nil {
		t.Fatal("a gauge and a counter of one name were both registered")
	}
}

func TestTheRegistrarsConstructorsNameEachMetricInTheNamespaceAndKeepItAcrossARestart(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	for range 2 {
		r := metrics.NewRegistrar(reg, "svc")
		r.Counter("c_total", "C.").Inc()
		r.CounterVec("cv_total", "CV.", "kind").WithLabelValues("a").Inc()
		r.Gauge("g", "G.").Inc()
		r.GaugeVec("gv", "GV.", "kind").WithLabelValues("a").Inc()
		r.HistogramVec("h_seconds", "H.", metrics.DurationBuckets, "kind").WithLabelValues("a").Observe(1)
		if err := r.Err(); err != nil {
			t.Fatalf("registration: %v", err)
		}
	}
	for _, name := range []string{"jobcenter_c_total", "jobcenter_cv_total", "jobcenter_g", "jobcenter_gv"} {
		if v, _ := value(t, reg, name, map[string]string{"service": "svc"}); v != 2 {
			t.Errorf("%s = %v after two registrations, want 2", name, v)
		}
	}
	if _, found := value(t, reg, "jobcenter_h_seconds", map[string]string{"service": "svc", "kind": "a"}); !found {
		t.Error("no jobcenter_h_seconds{kind=\"a\"}")
	}
}

func TestTheHandlerServesTheGoAndProcessCollectors(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	metrics.Handler(metrics.NewRegistry()).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "process_cpu_seconds_total") {
		t.Fatalf("status %d:\n%.500s", rec.Code, body)
	}
}

func TestConsumerMetricsShowTheBrokersStateAndCountDeadLettersAndRedeliveries(t *testing.T) {
	t.Parallel()
	st := &teststack.Stack{Dir: t.TempDir()}
	st.StartNATS(t)
	nc, js, err := bus.Dial(st.NATSURL, "test", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	// A short ack deadline: the retried message comes back by its nak's delay, or, should
	// that nak be late on a loaded machine, by its deadline, within the test's time (the
	// default 30 s is the whole test's; it failed so once under make test).
	cons, err := js.CreateOrUpdateConsumer(ctx, "S", jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	r := metrics.NewRegistrar(reg, "svc")
	m := metrics.NewConsumers(r, metrics.Consumer{Stream: "S", Name: "c"}, metrics.Consumer{Stream: "S", Name: "missing"})
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if up, _ := value(t, reg, "jobcenter_consumer_info_up", map[string]string{"consumer": "c"}); up != 0 {
		t.Fatalf("info_up %v before Watch, want 0", up)
	}
	m.Watch(js)
	for _, s := range []string{"s.ok", "s.poison", "s.retry"} {
		if _, err := js.Publish(ctx, s, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	want := func(name, consumer string, v float64) {
		t.Helper()
		if got, _ := value(t, reg, name, map[string]string{"consumer": consumer, "service": "svc"}); got != v {
			t.Fatalf("%s{consumer=%q} = %v, want %v", name, consumer, got, v)
		}
	}
	want("jobcenter_consumer_info_up", "c", 1)
	want("jobcenter_consumer_info_up", "missing", 0)
	// The broker counts a consumer's pending messages as it gets to them, not as each
	// publish is acknowledged: under load the count can lag the publishes a moment.
	teststack.Eventually(t, 10*time.Second, "the consumer never showed 3 pending", func() bool {
		v, _ := value(t, reg, "jobcenter_consumer_pending_messages", map[string]string{"consumer": "c"})
		return v == 3
	})

	// One message is poison, one fails once and succeeds on its redelivery.
	failed := false
	done := make(chan struct{})
	h := func(_ context.Context, msg jetstream.Msg) error {
		switch msg.Subject() {
		case "s.poison":
			return bus.Poison(errors.New("bad"))
		case "s.retry":
			if !failed {
				failed = true
				return errors.New("not now")
			}
			close(done)
		}
		return nil
	}
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	c := bus.Consumer{Name: "c", NC: nc, Log: zerolog.Nop(), Observe: m.Settled}
	go func() { _ = c.Each(cctx, cons, 1, h) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the retried message never came back")
	}
	teststack.Eventually(t, 10*time.Second, "the consumer never showed all acknowledged", func() bool {
		v, _ := value(t, reg, "jobcenter_consumer_ack_pending_messages", map[string]string{"consumer": "c"})
		return v == 0
	})
	want("jobcenter_dead_letters_total", "c", 1)
	want("jobcenter_messages_redelivered_total", "c", 1)
	want("jobcenter_consumer_pending_messages", "c", 0)
}
