// Package job is Job Center's domain: what a job is, the rules its definition must
// follow (the job-center SDK's and Quartz's), how a command changes a job, and when a
// job's trigger fires next (Schedule), how far a job has fired (Progress), and the rule
// of one schedule per behaviour. Each rule is decided here once and the edges translate
// it. It knows nothing of HTTP, NATS or MongoDB, and must not: it imports only the cron
// parser.
package job
