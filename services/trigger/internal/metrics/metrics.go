// Package metrics holds the trigger's Prometheus metrics. The command processor, the
// scheduler and the fire publisher know them only through small interfaces of their own.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/metrics"
)

// Trigger is the trigger's metrics.
type Trigger struct {
	// Consumers are those of the commands and the journal.
	Consumers *metrics.Consumers

	applied, rejected *prometheus.CounterVec
	applyLag          *prometheus.HistogramVec
	active            prometheus.Gauge
	held, scheduled   prometheus.Gauge
	fires             *prometheus.CounterVec
	lateness          *prometheus.HistogramVec
	skipped           *prometheus.CounterVec
	imageAt           prometheus.Gauge
	imageBytes        prometheus.Gauge
	removed           *prometheus.CounterVec
	journalJobs       prometheus.Gauge
	streamMsgs        *prometheus.GaugeVec
	streamBytes       *prometheus.GaugeVec
	journalRecords    prometheus.Gauge
	journalBytes      prometheus.Gauge
	storeBytes        prometheus.Gauge
}

// New registers the trigger's metrics into reg, labelled service="trigger".
func New(reg prometheus.Registerer, consumers ...metrics.Consumer) (*Trigger, error) {
	r := metrics.NewRegistrar(reg, "trigger")
	m := &Trigger{
		Consumers: metrics.NewConsumers(r, consumers...),
		applied: r.CounterVec("commands_applied_total",
			"Commands applied to the job projection, by command type.", "type"),
		rejected: r.CounterVec("commands_rejected_total",
			"Commands refused against the job's state, by command type and reason (invalid, conflict, not_found).", "type", "reason"),
		applyLag: r.HistogramVec("command_apply_lag_seconds",
			"From a command's acceptance by the api to its application (or rejection) by the trigger, by command type.",
			metrics.DurationBuckets, "type"),
		active: r.Gauge("trigger_active", "1 while this instance holds the lease and fires, 0 while it stands by."),
		fires: r.CounterVec("fires_total",
			"Fires stored in JetStream, by kind (scheduled, manual) and status (fired; missed: later than the job's misfire_grace_time, not run).",
			"kind", "status"),
		lateness: r.HistogramVec("fire_lateness_seconds",
			"From a fire's scheduled instant to its storing in JetStream, by kind (a manual fire is scheduled when it is made).",
			metrics.DurationBuckets, "kind"),
		skipped: r.CounterVec("fires_skipped_total",
			"Due instants not fired: coalesced into a later fire of the same job, or beyond JOBCENTER_MAX_CATCHUP (reason catchup_limit).",
			"reason"),
		imageAt: r.Gauge("scheduler_image_timestamp_seconds",
			"When this instance last stored an image of its scheduler, which a start takes up instead of loading every job (Unix seconds; 0: none yet)."),
		imageBytes: r.Gauge("scheduler_image_bytes", "The size of the last image of the scheduler this instance stored."),
		removed: r.CounterVec("journal_removed_total",
			"Runs removed from the journal by retention, by reason: age (older than JOBCENTER_JOURNAL_MAX_AGE) or count (beyond JOBCENTER_JOURNAL_MAX_PER_JOB of their job).",
			"reason"),
		journalJobs: r.Gauge("journal_jobs", "Jobs with a journal that the active trigger's retention follows."),
		streamMsgs: r.GaugeVec("stream_messages",
			"Messages Job Center's JetStream streams and buckets hold (KV_ and OBJ_ are buckets), as the active trigger last read them.", "stream"),
		streamBytes: r.GaugeVec("stream_bytes",
			"Bytes Job Center's JetStream streams and buckets hold (KV_ and OBJ_ are buckets), as the active trigger last read them.", "stream"),
		journalRecords: r.Gauge("journal_records", "Records the journal's collections hold (a run is up to three: its fire, its start, its end)."),
		journalBytes:   r.Gauge("journal_bytes", "Bytes of data the journal's collections hold."),
		storeBytes:     r.Gauge("store_bytes", "Bytes of data and indexes of the whole store database."),
	}
	jobs := r.GaugeVec("jobs",
		"Jobs held by the active trigger's scheduler: state=\"scheduled\" those started with a next fire, state=\"held\" every live job.",
		"state")
	m.held, m.scheduled = jobs.WithLabelValues("held"), jobs.WithLabelValues("scheduled")
	// Shown from the start, at 0, as every counter whose labels are known beforehand.
	m.skipped.WithLabelValues("coalesced")
	m.skipped.WithLabelValues("catchup_limit")
	m.removed.WithLabelValues("age")
	m.removed.WithLabelValues("count")
	return m, r.Err()
}

// Applied counts a command applied, lag after it was accepted.
func (m *Trigger) Applied(cmdType string, lag time.Duration) {
	cmdType = knownType(cmdType)
	m.applied.WithLabelValues(cmdType).Inc()
	m.applyLag.WithLabelValues(cmdType).Observe(max(lag, 0).Seconds())
}

// Rejected counts a command refused for reason, lag after it was accepted.
func (m *Trigger) Rejected(cmdType, reason string, lag time.Duration) {
	cmdType = knownType(cmdType)
	m.rejected.WithLabelValues(cmdType, reason).Inc()
	m.applyLag.WithLabelValues(cmdType).Observe(max(lag, 0).Seconds())
}

// Active notes whether this instance is the active one.
func (m *Trigger) Active(on bool) {
	v := 0.0
	if on {
		v = 1
	}
	m.active.Set(v)
}

// Jobs notes how many jobs the scheduler holds and how many of them are scheduled.
func (m *Trigger) Jobs(held, scheduled int) {
	m.held.Set(float64(held))
	m.scheduled.Set(float64(scheduled))
}

// Imaged notes an image of the scheduler stored at at, of size bytes.
func (m *Trigger) Imaged(at time.Time, bytes int64) {
	m.imageAt.Set(float64(at.UnixMilli()) / 1000)
	m.imageBytes.Set(float64(bytes))
}

// Skipped counts due instants not fired, for reason ("coalesced" or "catchup_limit").
func (m *Trigger) Skipped(reason string, n int) {
	m.skipped.WithLabelValues(reason).Add(float64(n))
}

// Stored counts a fire stored in JetStream, lateness after its scheduled instant.
func (m *Trigger) Stored(f contracts.Fire, lateness time.Duration) {
	kind := "scheduled"
	switch f.RunType {
	case contracts.RunTypeManual:
		kind = "manual"
	case contracts.RunTypeChain:
		kind = "chain"
	case contracts.RunTypeBackfill:
		kind = "backfill"
	}
	status := "fired"
	if f.TriggerStatus == contracts.TriggerMissed {
		status = "missed"
	}
	m.fires.WithLabelValues(kind, status).Inc()
	if kind != "backfill" { // a past instant: its lateness is the range's age, not the trigger's
		m.lateness.WithLabelValues(kind).Observe(max(lateness, 0).Seconds())
	}
}

// Removed counts n runs removed from the journal for reason ("age" or "count").
func (m *Trigger) Removed(reason string, n int64) {
	if n > 0 {
		m.removed.WithLabelValues(reason).Add(float64(n))
	}
}

// Tracked notes how many jobs with a journal retention follows.
func (m *Trigger) Tracked(jobs int) { m.journalJobs.Set(float64(jobs)) }

// Stream notes what a stream or bucket holds.
func (m *Trigger) Stream(name string, msgs, bytes uint64) {
	m.streamMsgs.WithLabelValues(name).Set(float64(msgs))
	m.streamBytes.WithLabelValues(name).Set(float64(bytes))
}

// Store notes what the journal and the whole store hold.
func (m *Trigger) Store(journalRecords, journalBytes, storeBytes int64) {
	m.journalRecords.Set(float64(journalRecords))
	m.journalBytes.Set(float64(journalBytes))
	m.storeBytes.Set(float64(storeBytes))
}

// knownType keeps a malformed command's type from becoming a label value.
func knownType(t string) string {
	switch t {
	case contracts.CmdCreate, contracts.CmdUpdate, contracts.CmdStart, contracts.CmdStop,
		contracts.CmdExec, contracts.CmdDelete, contracts.CmdFinish, contracts.CmdBackfill, contracts.CmdRearm:
		return t
	}
	return "other"
}
