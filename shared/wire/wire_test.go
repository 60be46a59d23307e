package wire_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// An event is taken only as the trigger records it; anything else on the events stream
// is refused with what is wrong, whoever wrote it.
func TestAnEventIsTakenOnlyAsTheTriggerRecordsIt(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)
	event := func() contracts.LifecycleEvent {
		spec := job.Spec{Pid: "D", Name: "n", Trigger: job.Trigger{Kind: job.Interval, Every: 5 * time.Second},
			Target: job.Target{Code: "x = 1"}, Policy: job.DefaultPolicy()}
		j := job.Job{ID: "j1", Key: "k1", Tenant: "a.b", Spec: spec, State: job.Started, StartedAt: at, CreatedAt: at, UpdatedAt: at, Version: 1}
		return contracts.LifecycleEvent{V: contracts.Version, ID: "c1:started", Type: contracts.EventStarted, Tenant: "a.b",
			JobID: "j1", CommandID: "c1", At: at, Job: wire.JobToPayload(j)}
	}
	tests := []struct {
		name    string
		edit    func(e *contracts.LifecycleEvent, subject *string)
		refusal string // "" when taken
	}{
		{"as recorded", func(*contracts.LifecycleEvent, *string) {}, ""},
		{"another version", func(e *contracts.LifecycleEvent, _ *string) { e.V = 2 }, "schema version 2"},
		{"an unknown type", func(e *contracts.LifecycleEvent, s *string) {
			e.Type = "exploded"
			*s = contracts.EventSubject("a.b", "j1", "exploded")
		}, "unknown type"},
		{"another tenant's subject", func(_ *contracts.LifecycleEvent, s *string) { *s = contracts.EventSubject("other", "j1", "started") }, "wrong subject"},
		{"another type's subject", func(_ *contracts.LifecycleEvent, s *string) { *s = contracts.EventSubject("a.b", "j1", "created") }, "wrong subject"},
		{"a job of another tenant", func(e *contracts.LifecycleEvent, _ *string) { e.Job.Tenant = "other" }, "not the job and tenant"},
		{"another job", func(e *contracts.LifecycleEvent, _ *string) { e.Job.ID = "j2" }, "not the job and tenant"},
		{"an unknown state", func(e *contracts.LifecycleEvent, _ *string) { e.Job.State = "running" }, "unknown state"},
		{"an invalid definition", func(e *contracts.LifecycleEvent, _ *string) { e.Job.Spec.Seconds = 0 }, "invalid definition"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, subject := event(), contracts.EventSubject("a.b", "j1", contracts.EventStarted)
			tc.edit(&e, &subject)
			data, _ := json.Marshal(e)
			got, j, err := wire.EventJob(subject, data)
			if tc.refusal == "" {
				if err != nil || got.ID != e.ID || j.ID != "j1" || j.Tenant != "a.b" || j.State != job.Started || j.Spec.Trigger.Every != 5*time.Second {
					t.Fatalf("want the event taken, got %v (job %+v)", err, j)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.refusal) {
				t.Fatalf("want a refusal saying %q, got %v", tc.refusal, err)
			}
		})
	}
	if _, _, err := wire.EventJob(contracts.EventSubject("a", "j", "created"), []byte("{")); err == nil {
		t.Fatal("a payload that does not decode was taken")
	}
}

func TestARejectionReadBackFromAnOutcomeIsTheDomainErrorItWas(t *testing.T) {
	for _, err := range []error{
		&job.FieldError{Field: "seconds", Msg: "must be at least 1"},
		&job.ConflictError{Field: "id", Msg: "a job with this id exists"},
		job.CheckBizcode(job.Command{Type: job.Create, JobID: "b", Spec: &job.Spec{Target: job.Target{BizCode: "x"}}}, &job.Job{ID: "a"}),
		job.ErrNotFound,
	} {
		p := wire.ErrorToPayload(err)
		back := wire.ErrorFromPayload(*p)
		if back.Error() != err.Error() || !reflect.DeepEqual(wire.ErrorToPayload(back), p) {
			t.Fatalf("%v came back as %v (%+v)", err, back, p)
		}
		for _, target := range []error{job.ErrInvalid, job.ErrConflict, job.ErrNotFound, job.ErrBizTaken} {
			if errors.Is(back, target) != errors.Is(err, target) {
				t.Fatalf("%v: errors.Is(%v) differs once read back", err, target)
			}
		}
	}
	if err := wire.ErrorFromPayload(contracts.Error{Code: "new_code", Message: "m"}); !errors.Is(err, job.ErrInvalid) || err.Error() != "m" {
		t.Fatalf("an unknown code: %v", err)
	}
	if err := wire.ErrorFromPayload(*wire.ErrorToPayload(errors.New("a plain refusal"))); !errors.Is(err, job.ErrInvalid) || err.Error() != "a plain refusal" {
		t.Fatalf("a refusal without a field: %v", err)
	}
}
