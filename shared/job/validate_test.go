package job_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// Validate is what every command's and event's definition must pass, however it was
// made: a message carries the policy in milliseconds, so a bound missed by a part of a
// second, on either side, is still missed.
func TestValidateRefusesEveryPolicyBeyondItsBoundsByAnyAmount(t *testing.T) {
	valid := func() job.Spec {
		return job.Spec{Pid: "d", Name: "n", Trigger: job.Trigger{Kind: job.Interval, Every: time.Minute},
			Target: job.Target{Code: "return 1"}, Policy: job.DefaultPolicy()}
	}
	if err := (valid()).Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		field  string
		change func(*job.Spec)
	}{
		{"misfire_grace_time", func(s *job.Spec) { s.Policy.MisfireGrace = -time.Millisecond }},
		{"misfire_grace_time", func(s *job.Spec) { s.Policy.MisfireGrace = job.MaxMisfireGrace + time.Millisecond }},
		{"retry_backoff", func(s *job.Spec) { s.Policy.RetryBackoff = -500 * time.Millisecond }},
		{"retry_backoff", func(s *job.Spec) { s.Policy.RetryBackoff = job.MaxRetryBackoff + time.Millisecond }},
		{"timeout", func(s *job.Spec) { s.Policy.Timeout = -time.Millisecond }},
		{"timeout", func(s *job.Spec) { s.Policy.Timeout = job.MaxTimeout + time.Millisecond }},
		{"max_instances", func(s *job.Spec) { s.Policy.MaxInstances = 0 }},
		{"retries", func(s *job.Spec) { s.Policy.Retries = job.MaxRetries + 1 }},
		{"seconds", func(s *job.Spec) { s.Trigger.Every = 1500 * time.Millisecond }},
		{"seconds", func(s *job.Spec) { s.Trigger.Every = -time.Second }},
		{"code", func(s *job.Spec) { s.Target.Code = "return '\xff'" }},
	}
	for _, tc := range tests {
		s := valid()
		tc.change(&s)
		err := s.Validate()
		var fe *job.FieldError
		if !asField(err, &fe) || fe.Field != tc.field {
			t.Errorf("%+v: %v; want an error on %s", s.Policy, err, tc.field)
		}
	}
	at := valid()
	at.Policy.MisfireGrace, at.Policy.Timeout = job.MaxMisfireGrace, job.MaxTimeout
	if err := at.Validate(); err != nil {
		t.Fatalf("the bounds themselves: %v", err)
	}
}

func asField(err error, fe **job.FieldError) bool {
	f, ok := err.(*job.FieldError)
	*fe = f
	return ok
}

// A request with several faults is answered naming the first, in the order of the
// request's fields.
func TestTheFirstFieldAtFaultIsNamed(t *testing.T) {
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	long := func(n int) string { return strings.Repeat("x", n) }
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		in   job.Input
		want string
	}{
		{job.Input{Pid: "d", Trigger: "interval", Seconds: n(0), Code: "return 1"}, "name"},
		{job.Input{Pid: "d", Trigger: "interval", Seconds: n(5)}, "name"},
		{job.Input{Pid: long(200), Name: "n", Trigger: "weekly", Code: "return 1"}, "pid"},
		{job.Input{Pid: "d", Name: "n", Description: long(2001) + "\x01", Trigger: "interval", Seconds: n(5), Code: "return 1"}, "description"},
		{job.Input{Pid: "d", Name: "n", Trigger: "interval", Seconds: n(5), FlowID: long(200), MaxInstances: n(0)}, "flow_id"},
		{job.Input{Pid: "d", Name: "n", Trigger: "interval", Seconds: n(5), Code: long(job.MaxCodeBytes + 1), Retries: n(-1)}, "code"},
		{job.Input{Pid: "d", Name: "n", Trigger: "interval", Seconds: n(0)}, "seconds"},
	}
	for _, tc := range tests {
		_, err := tc.in.ForCreate(now, time.UTC)
		var fe *job.FieldError
		if !asField(err, &fe) || fe.Field != tc.want {
			t.Errorf("%v; want an error on %s", err, tc.want)
		}
	}
	if _, err := (job.Input{Pid: "d", Name: "n", Description: long(2001) + "\x01", Trigger: "interval", Seconds: n(5), Code: "return 1"}).ForCreate(now, time.UTC); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("a long description with a control character: %v; want its length named first", err)
	}
}
