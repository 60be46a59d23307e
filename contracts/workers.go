package contracts

import (
	"encoding/json"
	"time"
)

// Workers are a tenant's own processes that run its flows and behaviours: each says which
// group it belongs to with a heartbeat, and the executors hand each fire of a job served
// by a group to one of its workers (or, sharded, to all of them) by its job's route.
// Every worker subject names its tenant, so a tenant's NATS user can be walled into its
// own (WorkerPermissions).

// WorkerBeatEvery is how often a worker sends its heartbeat; a worker not heard of for
// WorkerGoneAfter has left its group (its runs under way are journaled interrupted).
const (
	WorkerBeatEvery = 2 * time.Second
	WorkerGoneAfter = 3 * WorkerBeatEvery
)

// WorkerBeatSubjects are every tenant's heartbeats.
const WorkerBeatSubjects = "jobcenter.workers.>"

// WorkerBeatSubject is where worker id of tenant's group sends its heartbeat.
func WorkerBeatSubject(tenant, group, id string) string {
	return "jobcenter.workers." + Token(tenant) + "." + Token(group) + "." + Token(id)
}

// WorkerTaskSubject is where worker id takes its runs: a request whose one reply is the
// run's end (WorkerResult).
func WorkerTaskSubject(tenant, id string) string {
	return "jobcenter.task." + Token(tenant) + "." + Token(id)
}

// WorkerCancelSubject is where worker id is told to stop a run (WorkerCancel): it was
// killed, or its time is up.
func WorkerCancelSubject(tenant, id string) string { return WorkerTaskSubject(tenant, id) + ".cancel" }

// WorkerProgressSubject is where a worker reports a run's log lines and progress
// (WorkerProgress), as the run's task names it.
func WorkerProgressSubject(tenant, runID string) string {
	return "jobcenter.progress." + Token(tenant) + "." + Token(runID)
}

// WorkerBeat is a worker's heartbeat.
type WorkerBeat struct {
	V  int    `json:"v"`
	ID string `json:"id"`
	// Group is the group it serves; Handles the flows and behaviours it runs.
	Group   string   `json:"group"`
	Handles []string `json:"handles"`
	Host    string   `json:"host,omitempty"`
	Version string   `json:"version,omitempty"`
	// Since is when it started; Running how many runs it has under way, of at most
	// Capacity at once.
	Since    time.Time `json:"since"`
	Running  int       `json:"running"`
	Capacity int       `json:"capacity"`
	// Leaving: it stops, and takes no new run (its runs under way end first).
	Leaving bool `json:"leaving,omitempty"`
}

// WorkerTask is a run handed to a worker.
type WorkerTask struct {
	V      int    `json:"v"`
	Tenant string `json:"tenant"`
	JobID  string `json:"job_id"`
	FireID string `json:"fire_id"`
	// RunID names the run (the journal's dynamicid); Attempt counts its tries from 1.
	RunID   string `json:"run_id"`
	Attempt int    `json:"attempt"`
	// Handler is what the worker runs: the job's flow_id or bizcode.
	Handler     string    `json:"handler"`
	ScheduledAt time.Time `json:"scheduled_at"`
	// Params are the run's parameters, when it was started with them (exec with a body).
	Params json.RawMessage `json:"params,omitempty"`
	// TimeoutMs is how long the run may take; past it the executor stops waiting.
	TimeoutMs int64 `json:"timeout_ms"`
	// Shard, on a sharded job's run, is this worker's part: Index of Total.
	Shard *Shard `json:"shard,omitempty"`
	// Progress is the subject the worker reports the run's log and progress on.
	Progress string `json:"progress"`
}

// Shard is one worker's part of a sharded run (XXL-JOB's sharding broadcast).
type Shard struct {
	Index int `json:"index"`
	Total int `json:"total"`
}

// WorkerResult is a worker's answer to a task: its run's end. OK false (or a non-empty
// Error) fails the run; Output is its log, Result the JSON of the value it returned (as
// a run's end reports it).
type WorkerResult struct {
	V      int    `json:"v"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Output string `json:"output,omitempty"`
	Result string `json:"result,omitempty"`
	// Busy: the worker took no run (it is at its capacity or leaving): another is tried.
	Busy bool `json:"busy,omitempty"`
}

// WorkerProgress is a run's news from its worker: log lines, and how far it is (0 to 1,
// when the worker says).
type WorkerProgress struct {
	V        int      `json:"v"`
	FireID   string   `json:"fire_id"`
	RunID    string   `json:"run_id"`
	Lines    []string `json:"lines,omitempty"`
	Progress *float64 `json:"progress,omitempty"`
}

// WorkerCancel tells a worker to stop a run.
type WorkerCancel struct {
	V      int    `json:"v"`
	FireID string `json:"fire_id"`
	RunID  string `json:"run_id"`
	Reason string `json:"reason"`
}

// WorkerPermissions are the subjects a tenant's NATS user may publish and subscribe to:
// its own workers' heartbeats, tasks and progress, its flow and behaviour requests, and
// its own events; replies only to the requests it received.
func WorkerPermissions(tenant string) (publish, subscribe []string) {
	t := Token(tenant)
	publish = []string{"jobcenter.workers." + t + ".>", "jobcenter.progress." + t + ".>"}
	subscribe = []string{
		"jobcenter.task." + t + ".>", "jobcenter.flow." + t + ".>", "jobcenter.biz." + t + ".>",
		TenantEvents(tenant), TenantFires(tenant), TenantRuns(tenant), TenantLogs(tenant),
	}
	return publish, subscribe
}
