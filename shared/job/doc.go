// Package job is Job Center's domain: what a job is, the rules its definition must
// follow (the job-center SDK's and Quartz's), how a command changes a job, and when a
// job's trigger fires next. It knows nothing of HTTP, NATS or MongoDB.
package job
