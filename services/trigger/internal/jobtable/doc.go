// Package jobtable is the scheduler's memory: every held job in little space, and its
// image. Of a job it keeps a 40-byte Entry (progress and queue slot, table.go) and a
// packed record of what its fires carry (record.go); what jobs share — a compiled
// trigger and policy (a Plan), a tenant, a snippet — is kept once (intern.go); jobs are
// found through an index of 8-byte slots (index.go) and ordered by their next fire in a
// heap (queue.go). An Image (image.go) is the table written out and read back.
//
// It holds and encodes; it decides nothing: when a job fires and what a fire carries
// are the scheduler's, its next instant job.Schedule's. It is not safe for concurrent
// use, except Shared, under its lock.
package jobtable
