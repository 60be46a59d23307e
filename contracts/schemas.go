package contracts

import (
	"embed"
	"strings"
)

// Schemas holds the contract in machine-readable form: a JSON Schema (draft 2020-12) of
// every payload under schemas/, and the AsyncAPI 3.0 document that ties them to subjects,
// asyncapi.json. The schemas refer to each other by relative file name ("job.json"), as
// the same files do on disk.
//
//go:embed asyncapi.json schemas/*.json
var Schemas embed.FS

// Paths in Schemas: one schema per payload, the parts they share, and the AsyncAPI document.
const (
	SchemaCommand        = "schemas/command.json"
	SchemaOutcome        = "schemas/outcome.json"
	SchemaLifecycleEvent = "schemas/lifecycle-event.json"
	SchemaFire           = "schemas/fire.json"
	SchemaRunEvent       = "schemas/run-event.json"
	SchemaFlowRequest    = "schemas/flow-request.json"
	SchemaFlowReply      = "schemas/flow-reply.json"
	SchemaRunLog         = "schemas/run-log.json"
	SchemaKill           = "schemas/kill.json"
	SchemaKillReply      = "schemas/kill-reply.json"
	SchemaAlert          = "schemas/alert.json"
	// The workers' messages; a task's reply, the run's end, is SchemaWorkerResult.
	SchemaWorkerBeat     = "schemas/worker-beat.json"
	SchemaWorkerTask     = "schemas/worker-task.json"
	SchemaWorkerResult   = "schemas/worker-result.json"
	SchemaWorkerProgress = "schemas/worker-progress.json"
	SchemaWorkerCancel   = "schemas/worker-cancel.json"
	// SchemaDeadLetterHeaders describes a dead letter's headers; its payload is the
	// original message as it was.
	SchemaDeadLetterHeaders = "schemas/dead-letter-headers.json"
	// SchemaJob and SchemaJobSpec are parts of the payload schemas, not payloads.
	SchemaJob     = "schemas/job.json"
	SchemaJobSpec = "schemas/job-spec.json"
	// SchemaHTTPCall is an HTTP job's call, part of a job's spec and of its fires.
	SchemaHTTPCall = "schemas/http-call.json"
	AsyncAPI       = "asyncapi.json"
)

// MessageSchema names, as paths in Schemas, the schemas of a message on one subject:
// Payload of its body and Headers of its NATS headers; "" where that part is not
// described.
type MessageSchema struct {
	Payload string
	Headers string
}

// SchemaFor returns the schemas of a message published on subject, and false for a
// subject outside the contract (an unknown family or the wrong number of tokens). A
// reply has no subject of its own — it goes to the requester's inbox — so it is not
// found here: a command's Outcome is SchemaOutcome, a runner's answer SchemaFlowReply.
func SchemaFor(subject string) (MessageSchema, bool) {
	tokens := strings.Split(subject, ".")
	if len(tokens) < 3 || tokens[0] != "jobcenter" {
		return MessageSchema{}, false
	}
	var n int
	var s MessageSchema
	switch tokens[1] {
	case "cmd": // jobcenter.cmd.<tenant>
		n, s = 3, MessageSchema{Payload: SchemaCommand}
	case "evt": // jobcenter.evt.<tenant>.<job>.<type>
		n, s = 5, MessageSchema{Payload: SchemaLifecycleEvent}
	case "fire": // jobcenter.fire.<tenant>.<job>
		n, s = 4, MessageSchema{Payload: SchemaFire}
	case "run": // jobcenter.run.<tenant>.<job>.<status>
		n, s = 5, MessageSchema{Payload: SchemaRunEvent}
	case "flow", "biz": // jobcenter.flow.<tenant>.<flow_id>, jobcenter.biz.<tenant>.<bizcode>
		n, s = 4, MessageSchema{Payload: SchemaFlowRequest}
	case "log": // jobcenter.log.<tenant>.<job>
		n, s = 4, MessageSchema{Payload: SchemaRunLog}
	case "kill", "cancel": // jobcenter.kill.<tenant>.<job>, jobcenter.cancel.<tenant>.<job>
		n, s = 4, MessageSchema{Payload: SchemaKill}
	case "alert": // jobcenter.alert.<tenant>
		n, s = 3, MessageSchema{Payload: SchemaAlert}
	case "dead": // jobcenter.dead.<consumer>
		n, s = 3, MessageSchema{Headers: SchemaDeadLetterHeaders}
	case "workers": // jobcenter.workers.<tenant>.<group>.<worker>
		n, s = 5, MessageSchema{Payload: SchemaWorkerBeat}
	case "task": // jobcenter.task.<tenant>.<worker>, jobcenter.task.<tenant>.<worker>.cancel
		n, s = 4, MessageSchema{Payload: SchemaWorkerTask}
		if len(tokens) == 5 && tokens[4] == "cancel" {
			n, s = 5, MessageSchema{Payload: SchemaWorkerCancel}
		}
	case "progress": // jobcenter.progress.<tenant>.<run>
		n, s = 4, MessageSchema{Payload: SchemaWorkerProgress}
	default:
		return MessageSchema{}, false
	}
	if len(tokens) != n {
		return MessageSchema{}, false
	}
	return s, true
}
