package wire_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/wire"
)

func goodFire() contracts.Fire {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return contracts.Fire{V: contracts.Version, FireID: job.FireID("j", at), JournalID: job.JournalID("j", 7), Seq: 7,
		Tenant: "t", JobID: "j", RunType: contracts.RunTypeTrigger, ScheduledAt: at, FiredAt: at,
		Target: contracts.Target{Code: "pass"}, TriggerStatus: contracts.TriggerFired, MaxInstances: 1, Retries: 2, RetryBackoffMs: 1000}
}

func goodRun() contracts.RunEvent {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return contracts.RunEvent{V: contracts.Version, FireID: "j@1", JournalID: job.JournalID("j", 7), Tenant: "t", JobID: "j",
		Status: contracts.RunSuccess, Attempts: 1, StartedAt: at, EndedAt: &at}
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAFireIsReadOnlyAsTheTriggerMakesIt(t *testing.T) {
	if f, err := wire.DecodeFire(encode(t, goodFire())); err != nil || f.Seq != 7 {
		t.Fatalf("a good fire: %+v, %v", f, err)
	}
	tests := []struct {
		name   string
		mutate func(*contracts.Fire)
		want   string
	}{
		{"another schema version", func(f *contracts.Fire) { f.V = 2 }, "schema version 2"},
		{"no fire id", func(f *contracts.Fire) { f.FireID = "" }, "lacks fire_id"},
		{"a journal id of another run", func(f *contracts.Fire) { f.Seq = 8 }, "journal_id"},
		{"an unknown trigger status", func(f *contracts.Fire) { f.TriggerStatus = "late" }, "triggerstatus"},
		{"retries past the bound a job may have", func(f *contracts.Fire) { f.Retries = job.MaxRetries + 1 }, "retries"},
		{"negative retries", func(f *contracts.Fire) { f.Retries = -1 }, "retries"},
		{"max_instances past the bound", func(f *contracts.Fire) { f.MaxInstances = job.MaxInstances + 1 }, "max_instances"},
		{"a backoff past an hour", func(f *contracts.Fire) { f.RetryBackoffMs = 2 * 3600 * 1000 }, "retry_backoff_ms"},
		{"a negative timeout", func(f *contracts.Fire) { f.TimeoutMs = -1 }, "timeout_ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := goodFire()
			tc.mutate(&f)
			_, err := wire.DecodeFire(encode(t, f))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
	if _, err := wire.DecodeFire([]byte(`{"v":`)); err == nil || !strings.Contains(err.Error(), "does not decode") {
		t.Fatalf("broken JSON: %v", err)
	}
	f := goodFire()
	f.V = 3
	if _, err := wire.DecodeFire(encode(t, f)); !errors.Is(err, wire.ErrVersion) {
		t.Fatalf("another version is not ErrVersion: %v", err)
	}
}

func TestARunReportIsReadOnlyWithAKnownStatusAndItsEnd(t *testing.T) {
	if r, err := wire.DecodeRunEvent(encode(t, goodRun())); err != nil || r.Status != contracts.RunSuccess {
		t.Fatalf("a good report: %+v, %v", r, err)
	}
	running := goodRun()
	running.Status, running.EndedAt = contracts.RunRunning, nil
	if _, err := wire.DecodeRunEvent(encode(t, running)); err != nil {
		t.Fatalf("a running report: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*contracts.RunEvent)
		want   string
	}{
		{"an unknown status", func(r *contracts.RunEvent) { r.Status = "exploded" }, `unknown status "exploded"`},
		{"an end without ended_at", func(r *contracts.RunEvent) { r.EndedAt = nil }, "ended_at"},
		{"a running report with an end", func(r *contracts.RunEvent) { r.Status = contracts.RunRunning }, "ended_at"},
		{"no journal id", func(r *contracts.RunEvent) { r.JournalID = "" }, "lacks"},
		{"a journal id naming no run", func(r *contracts.RunEvent) { r.JournalID = "j" }, "names no run"},
		{"negative attempts", func(r *contracts.RunEvent) { r.Attempts = -1 }, "attempts"},
		{"another schema version", func(r *contracts.RunEvent) { r.V = 0 }, "schema version 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := goodRun()
			tc.mutate(&r)
			_, err := wire.DecodeRunEvent(encode(t, r))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}
