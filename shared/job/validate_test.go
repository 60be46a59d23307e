package job_test

import (
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
