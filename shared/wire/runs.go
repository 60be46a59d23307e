package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
)

// ErrVersion: a payload of a schema version this build does not read. Consumers set it
// aside, where an operator sees it, rather than misread it.
var ErrVersion = errors.New("unknown schema version")

// DecodeFire reads a fire as stored on a fire subject, checked as the trigger makes fires:
// this build's version, its ids, a known trigger status and a run policy within the
// bounds a job may have. Whatever fails is not a fire the trigger made.
func DecodeFire(data []byte) (contracts.Fire, error) {
	var f contracts.Fire
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("fire does not decode: %w", err)
	}
	switch {
	case f.V != contracts.Version:
		return f, fmt.Errorf("fire has schema version %d; this build reads %d: %w", f.V, contracts.Version, ErrVersion)
	case f.FireID == "" || f.JournalID == "" || f.JobID == "":
		return f, errors.New("fire lacks fire_id, journal_id or job_id")
	case f.JournalID != job.JournalID(f.JobID, f.Seq):
		return f, fmt.Errorf("fire's journal_id %q is not run %d of job %q", f.JournalID, f.Seq, f.JobID)
	case f.TriggerStatus != contracts.TriggerFired && f.TriggerStatus != contracts.TriggerMissed:
		return f, fmt.Errorf("fire has an unknown triggerstatus %q", f.TriggerStatus)
	case f.Retries < 0 || f.Retries > job.MaxRetries:
		return f, fmt.Errorf("fire's retries %d is outside 0..%d", f.Retries, job.MaxRetries)
	case f.MaxInstances < 0 || f.MaxInstances > job.MaxInstances:
		return f, fmt.Errorf("fire's max_instances %d is outside 0..%d", f.MaxInstances, job.MaxInstances)
	case f.RetryBackoffMs < 0 || time.Duration(f.RetryBackoffMs)*time.Millisecond > job.MaxRetryBackoff:
		return f, fmt.Errorf("fire's retry_backoff_ms %d is outside 0..%d", f.RetryBackoffMs, job.MaxRetryBackoff.Milliseconds())
	case f.TimeoutMs < 0:
		return f, fmt.Errorf("fire's timeout_ms %d is negative", f.TimeoutMs)
	}
	return f, nil
}

// EntryStatus is a run's status as its journal entry shows it (its exestatus): a missed
// fire is skipped from the start; any other fire waits until an executor reports on it
// (reported is "" until then), then shows what its newest report says.
func EntryStatus(triggerStatus, reported string) string {
	switch {
	case triggerStatus == contracts.TriggerMissed:
		return contracts.RunSkipped
	case reported == "":
		return contracts.RunWaiting
	}
	return reported
}

// RunStatuses are the statuses a run report may have.
var RunStatuses = []string{contracts.RunRunning, contracts.RunSuccess, contracts.RunFailure, contracts.RunSkipped}

// DecodeRunEvent reads a run report as stored on a run subject, checked as executors make
// them: this build's version, its ids, a known status, and an end for every status but
// running.
func DecodeRunEvent(data []byte) (contracts.RunEvent, error) {
	var r contracts.RunEvent
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("run event does not decode: %w", err)
	}
	switch {
	case r.V != contracts.Version:
		return r, fmt.Errorf("run event has schema version %d; this build reads %d: %w", r.V, contracts.Version, ErrVersion)
	case r.FireID == "" || r.JournalID == "" || r.JobID == "":
		return r, errors.New("run event lacks fire_id, journal_id or job_id")
	case !slices.Contains(RunStatuses, r.Status):
		return r, fmt.Errorf("run event has an unknown status %q", r.Status)
	case (r.Status == contracts.RunRunning) != (r.EndedAt == nil):
		return r, fmt.Errorf("run event of status %q has ended_at %v: only a running report has none", r.Status, r.EndedAt)
	case r.Attempts < 0:
		return r, fmt.Errorf("run event's attempts %d is negative", r.Attempts)
	}
	if _, _, ok := job.ParseJournalID(r.JournalID); !ok {
		return r, fmt.Errorf("run event's journal_id %q names no run", r.JournalID)
	}
	return r, nil
}
