package jobcenter

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
)

// Kinds of event a tenant can follow on NATS.
const (
	// KindLifecycle: a job was created, updated, started, stopped, deleted or finished.
	KindLifecycle = "lifecycle"
	// KindFire: a job fell due (or was exec'd) and its run was handed to the executors.
	KindFire = "fire"
	// KindRun: a run started or ended.
	KindRun = "run"
	// KindLog: lines a run wrote, as it wrote them (core NATS on LogSubjects: not in a
	// stream, so never replayed).
	KindLog = "log"
)

// LogSubjects is the core NATS subject of a tenant's runs' live log lines (KindLog), or
// of one job's with jobID not empty.
func LogSubjects(tenant, jobID string) string {
	if jobID == "" {
		return contracts.TenantLogs(tenant)
	}
	return contracts.LogSubject(tenant, jobID)
}

// StreamFilter is where one kind of a tenant's events is: a JetStream stream and the
// subject filter that an ordered consumer of it follows.
type StreamFilter struct {
	Kind    string
	Stream  string
	Subject string
}

// TenantStreams lists where a tenant's events are, one filter a kind: its lifecycle
// events in JOBCENTER_EVENTS, its fires and run results in JOBCENTER_RUNS. With jobID
// not empty, only that job's (the job's id, not its jobId). Tenant and job are encoded
// with contracts.Token, so that no id can widen the subjects.
func TenantStreams(tenant, jobID string) []StreamFilter {
	if jobID == "" {
		return []StreamFilter{
			{KindLifecycle, contracts.StreamEvents, contracts.TenantEvents(tenant)},
			{KindFire, contracts.StreamRuns, contracts.TenantFires(tenant)},
			{KindRun, contracts.StreamRuns, contracts.TenantRuns(tenant)},
		}
	}
	return []StreamFilter{
		{KindLifecycle, contracts.StreamEvents, contracts.EventSubject(tenant, jobID, "*")},
		{KindFire, contracts.StreamRuns, contracts.FireSubject(tenant, jobID)},
		{KindRun, contracts.StreamRuns, contracts.RunSubject(tenant, jobID, "*")},
	}
}

// Event is one message of a tenant's events, decoded: exactly one of Lifecycle, Fire,
// Run and Log is set, as Kind says.
type Event struct {
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Tenant  string `json:"tenant"`
	JobID   string `json:"job_id"`
	// Type is the lifecycle event's type, the run's status, or "fire".
	Type string `json:"type"`
	// At is when it happened: the change, the fire, the run's end (or start).
	At time.Time `json:"at"`

	Lifecycle *contracts.LifecycleEvent `json:"lifecycle,omitempty"`
	Fire      *contracts.Fire           `json:"fire,omitempty"`
	Run       *contracts.RunEvent       `json:"run,omitempty"`
	Log       *contracts.RunLog         `json:"log,omitempty"`
}

// ParseEvent decodes a message of a subject listed by TenantStreams, or of LogSubjects.
func ParseEvent(subject string, data []byte) (Event, error) {
	tok := strings.Split(subject, ".")
	if len(tok) < 4 || tok[0] != "jobcenter" {
		return Event{}, fmt.Errorf("jobcenter: %q is not an event subject", subject)
	}
	e := Event{Subject: subject}
	var ok1, ok2 bool
	e.Tenant, ok1 = contracts.ParseToken(tok[2])
	e.JobID, ok2 = contracts.ParseToken(tok[3])
	if !ok1 || !ok2 {
		return Event{}, fmt.Errorf("jobcenter: %q has a malformed token", subject)
	}
	var err error
	switch {
	case tok[1] == "evt" && len(tok) == 5:
		e.Kind, e.Type, e.Lifecycle = KindLifecycle, tok[4], &contracts.LifecycleEvent{}
		if err = json.Unmarshal(data, e.Lifecycle); err == nil {
			e.At = e.Lifecycle.At
		}
	case tok[1] == "fire" && len(tok) == 4:
		e.Kind, e.Type, e.Fire = KindFire, KindFire, &contracts.Fire{}
		if err = json.Unmarshal(data, e.Fire); err == nil {
			e.At = e.Fire.FiredAt
		}
	case tok[1] == "run" && len(tok) == 5:
		e.Kind, e.Type, e.Run = KindRun, tok[4], &contracts.RunEvent{}
		if err = json.Unmarshal(data, e.Run); err == nil {
			e.At = e.Run.StartedAt
			if e.Run.EndedAt != nil {
				e.At = *e.Run.EndedAt
			}
		}
	case tok[1] == "log" && len(tok) == 4:
		e.Kind, e.Type, e.Log, e.At = KindLog, KindLog, &contracts.RunLog{}, time.Now()
		err = json.Unmarshal(data, e.Log)
	default:
		return Event{}, fmt.Errorf("jobcenter: %q is not a lifecycle, fire, run or log subject", subject)
	}
	if err != nil {
		return Event{}, fmt.Errorf("jobcenter: %s payload on %q: %w", e.Kind, subject, err)
	}
	return e, nil
}

// Summary is a one-line description of the event for people.
func (e Event) Summary() string {
	switch {
	case e.Lifecycle != nil:
		s := e.Lifecycle.Job.Spec.Name
		if e.Lifecycle.User != "" {
			s += " by " + e.Lifecycle.User
		}
		return s
	case e.Fire != nil:
		s := fmt.Sprintf("run #%d (%s) %s, scheduled %s", e.Fire.Seq, e.Fire.RunType, e.Fire.FireID, e.Fire.ScheduledAt.UTC().Format(JournalTimeLayout))
		if e.Fire.TriggerStatus == contracts.TriggerMissed {
			s += ", missed: " + e.Fire.Detail
		}
		return s
	case e.Run != nil:
		s := e.Run.FireID
		if e.Run.Attempts > 1 {
			s += fmt.Sprintf(", attempt %d", e.Run.Attempts)
		}
		if d := strings.TrimSpace(e.Run.Detail); d != "" {
			s += ": " + oneLine(d, 80)
		}
		return s
	case e.Log != nil:
		return e.Log.FireID + ": " + strings.Join(e.Log.Lines, " | ")
	}
	return ""
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
