// Package wire converts between the domain (package job) and the NATS payloads
// (package contracts): jobs, commands, a command's rejection (errors.go), and the one
// decoder of each fire and run report (runs.go). Both sides stay free of each other's
// tags. It does no I/O and decides no rule of the domain's.
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

// SpecToPayload converts a validated definition.
func SpecToPayload(s job.Spec) contracts.JobSpec {
	p := contracts.JobSpec{
		Pid:         s.Pid,
		Name:        s.Name,
		Description: s.Description,
		Trigger:     string(s.Trigger.Kind),
		Cron:        s.Trigger.Cron,
		TimeZone:    s.Trigger.Zone,
		FlowID:      s.Target.FlowID,
		Code:        s.Target.Code,
		BizCode:     s.Target.BizCode,
		HTTP:        HTTPToPayload(s.Target.HTTP),
		Policy: contracts.Policy{
			Coalesce: s.Policy.Coalesce, MisfireGraceMs: s.Policy.MisfireGrace.Milliseconds(),
			MaxInstances: s.Policy.MaxInstances, Retries: s.Policy.Retries, RetryBackoffMs: s.Policy.RetryBackoff.Milliseconds(),
			TimeoutMs: s.Policy.Timeout.Milliseconds(), PauseAfterFailures: s.Policy.PauseAfterFailures,
			OnSuccess: s.Policy.OnSuccess, OnFailure: s.Policy.OnFailure, Overlap: string(s.Policy.Overlap),
			WorkerGroup: s.Policy.Group, Route: string(s.Policy.Route),
		},
	}
	switch s.Trigger.Kind {
	case job.Interval:
		p.Seconds = int64(s.Trigger.Every / time.Second)
	case job.Date:
		at := s.Trigger.RunAt
		p.RunDate = &at
	}
	p.StartDate, p.EndDate = timePtr(s.Trigger.Start), timePtr(s.Trigger.End)
	p.Jitter, p.FixedDelay, p.Calendars = int64(s.Trigger.Jitter/time.Second), s.Trigger.FixedDelay, s.Trigger.Calendars
	return p
}

// TargetToPayload converts what a run executes, for its fire.
func TargetToPayload(t job.Target) contracts.Target {
	return contracts.Target{Code: t.Code, FlowID: t.FlowID, BizCode: t.BizCode, HTTP: HTTPToPayload(t.HTTP)}
}

// HTTPToPayload converts an HTTP job's call; nil stays nil.
func HTTPToPayload(c *job.HTTPCall) *contracts.HTTPCall {
	if c == nil {
		return nil
	}
	return &contracts.HTTPCall{Method: c.Method, URL: c.URL, Headers: c.Headers, Body: c.Body, ExpectStatus: c.ExpectStatus}
}

// HTTPFromPayload converts back, an empty list or map as none (so that a call read back
// is the same as the one written).
func HTTPFromPayload(c *contracts.HTTPCall) *job.HTTPCall {
	if c == nil {
		return nil
	}
	out := &job.HTTPCall{Method: c.Method, URL: c.URL, Body: c.Body}
	if len(c.Headers) > 0 {
		out.Headers = c.Headers
	}
	if len(c.ExpectStatus) > 0 {
		out.ExpectStatus = c.ExpectStatus
	}
	return out
}

// SpecFromPayload converts back; it trusts the payload, which the trigger wrote.
func SpecFromPayload(p contracts.JobSpec) job.Spec {
	s := job.Spec{
		Pid:         p.Pid,
		Name:        p.Name,
		Description: p.Description,
		Trigger: job.Trigger{
			Kind:  job.Kind(p.Trigger),
			Every: time.Duration(p.Seconds) * time.Second,
			Cron:  p.Cron,
			Zone:  p.TimeZone,
			// Jitter is whole seconds (Validate): a payload's is too.
			Jitter:     time.Duration(p.Jitter) * time.Second,
			FixedDelay: p.FixedDelay,
			Calendars:  p.Calendars,
		},
		Target: job.Target{Code: p.Code, FlowID: p.FlowID, BizCode: p.BizCode, HTTP: HTTPFromPayload(p.HTTP)},
		Policy: job.Policy{
			Coalesce: p.Policy.Coalesce, MisfireGrace: time.Duration(p.Policy.MisfireGraceMs) * time.Millisecond,
			MaxInstances: p.Policy.MaxInstances, Retries: p.Policy.Retries, RetryBackoff: time.Duration(p.Policy.RetryBackoffMs) * time.Millisecond,
			Timeout: time.Duration(p.Policy.TimeoutMs) * time.Millisecond, PauseAfterFailures: p.Policy.PauseAfterFailures,
			OnSuccess: p.Policy.OnSuccess, OnFailure: p.Policy.OnFailure, Overlap: job.Overlap(p.Policy.Overlap),
			Group: p.Policy.WorkerGroup, Route: job.Route(p.Policy.Route),
		},
	}
	if p.RunDate != nil {
		s.Trigger.RunAt = p.RunDate.UTC()
	}
	if p.StartDate != nil {
		s.Trigger.Start = p.StartDate.UTC()
	}
	if p.EndDate != nil {
		s.Trigger.End = p.EndDate.UTC()
	}
	return s
}

// JobToPayload converts a job's state.
func JobToPayload(j job.Job) contracts.Job {
	return contracts.Job{
		ID:          j.ID,
		Key:         j.Key,
		Tenant:      j.Tenant,
		Spec:        SpecToPayload(j.Spec),
		State:       string(j.State),
		StartedAt:   timePtr(j.StartedAt),
		CreatedAt:   j.CreatedAt,
		CreatedBy:   j.CreatedBy,
		UpdatedAt:   j.UpdatedAt,
		UpdatedBy:   j.UpdatedBy,
		Version:     j.Version,
		LastCommand: j.LastCommand,
	}
}

// JobFromPayload converts back.
func JobFromPayload(p contracts.Job) job.Job {
	j := job.Job{
		ID:          p.ID,
		Key:         p.Key,
		Tenant:      p.Tenant,
		Spec:        SpecFromPayload(p.Spec),
		State:       job.State(p.State),
		CreatedAt:   p.CreatedAt.UTC(),
		CreatedBy:   p.CreatedBy,
		UpdatedAt:   p.UpdatedAt.UTC(),
		UpdatedBy:   p.UpdatedBy,
		Version:     p.Version,
		LastCommand: p.LastCommand,
	}
	if p.StartedAt != nil {
		j.StartedAt = p.StartedAt.UTC()
	}
	return j
}

// CommandToPayload converts a domain command; replyTo and idempotent are transport matters.
func CommandToPayload(c job.Command, replyTo string, idempotent bool) contracts.Command {
	p := contracts.Command{
		V:          contracts.Version,
		ID:         c.ID,
		Type:       string(c.Type),
		Tenant:     c.Tenant,
		JobID:      c.JobID,
		JobKey:     c.JobKey,
		User:       c.User,
		At:         c.At,
		ReplyTo:    replyTo,
		Idempotent: idempotent,
		Version:    c.Version,
		Enable:     c.Enable,
	}
	if c.Params != "" {
		p.Params = json.RawMessage(c.Params)
	}
	p.ParentFireID, p.Reason, p.FireID = c.ParentFireID, c.Reason, c.FireID
	if c.Spec != nil {
		s := SpecToPayload(*c.Spec)
		p.Spec = &s
	}
	if b := c.Backfill; b != nil {
		p.Backfill = &contracts.BackfillRange{From: b.From, To: b.To, Concurrency: b.Concurrency, MaxFires: b.MaxFires, Of: b.Of}
	}
	return p
}

// CommandFromPayload converts back.
func CommandFromPayload(p contracts.Command) job.Command {
	c := job.Command{
		ID:      p.ID,
		Type:    job.CommandType(p.Type),
		Tenant:  p.Tenant,
		JobID:   p.JobID,
		JobKey:  p.JobKey,
		User:    p.User,
		At:      p.At.UTC(),
		Version: p.Version,
		Enable:  p.Enable,
		Params:  string(p.Params),
		// ParentFireID and Reason: a chain's exec, a pause's stop.
		ParentFireID: p.ParentFireID,
		Reason:       p.Reason,
		FireID:       p.FireID,
	}
	if p.Spec != nil {
		s := SpecFromPayload(*p.Spec)
		c.Spec = &s
	}
	if b := p.Backfill; b != nil {
		c.Backfill = &job.BackfillRange{From: b.From.UTC(), To: b.To.UTC(), Concurrency: b.Concurrency, MaxFires: b.MaxFires, Of: b.Of}
	}
	return c
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// EventJob reads a lifecycle event as stored on subject and returns it with its job,
// checked as the trigger records events: of this build's version, on the subject its
// tenant, job and type make, about that job of that tenant, in a known state, with a
// definition the trigger would accept. Whatever fails is not an event the trigger
// recorded, and is to be set aside, not applied.
func EventJob(subject string, data []byte) (contracts.LifecycleEvent, job.Job, error) {
	var e contracts.LifecycleEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return e, job.Job{}, fmt.Errorf("event does not decode: %w", err)
	}
	switch {
	case e.V != contracts.Version:
		return e, job.Job{}, fmt.Errorf("event has schema version %d; this build reads %d", e.V, contracts.Version)
	case !slices.Contains([]string{contracts.EventCreated, contracts.EventUpdated, contracts.EventStarted,
		contracts.EventStopped, contracts.EventDeleted, contracts.EventFinished}, e.Type):
		return e, job.Job{}, fmt.Errorf("event has an unknown type %q", e.Type)
	case e.JobID == "" || e.Job.ID != e.JobID || e.Job.Tenant != e.Tenant:
		return e, job.Job{}, errors.New("event's job is not the job and tenant it names")
	case subject != contracts.EventSubject(e.Tenant, e.JobID, e.Type):
		return e, job.Job{}, fmt.Errorf("event of type %q for %s/%s is on the wrong subject %s", e.Type, e.Tenant, e.JobID, subject)
	}
	j := JobFromPayload(e.Job)
	switch j.State {
	case job.Stopped, job.Started, job.Finished, job.Deleted:
	default:
		return e, job.Job{}, fmt.Errorf("event's job is in an unknown state %q", j.State)
	}
	if err := j.Spec.Validate(); err != nil {
		return e, job.Job{}, fmt.Errorf("event's job has an invalid definition: %w", err)
	}
	return e, j, nil
}
