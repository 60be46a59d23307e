// Package contracts is Job Center's public contract on NATS: stream names, subjects,
// and the JSON payloads that producers and consumers share. It holds no logic beyond
// building subjects; every payload carries a schema version in its "v" field.
//
// Subjects (every tenant and id segment is encoded with Token):
//
//	jobcenter.cmd.<tenant>                     commands from the api       (JOBCENTER_COMMANDS)
//	jobcenter.evt.<tenant>.<job>.<type>        job lifecycle events        (JOBCENTER_EVENTS)
//	jobcenter.fire.<tenant>.<job>              fires, the executors' work  (JOBCENTER_RUNS)
//	jobcenter.run.<tenant>.<job>.<status>      run progress and results    (JOBCENTER_RUNS)
//	jobcenter.flow.<tenant>.<flow_id>          request/reply: run a business flow
//	jobcenter.biz.<tenant>.<bizcode>           request/reply: run a business behaviour
//	jobcenter.dead.<consumer>                  messages a consumer set aside
//
// Schemas embeds a JSON Schema of every payload and an AsyncAPI document of the whole;
// SchemaFor names the schema of a subject's messages.
package contracts
