// Package jobcenter is a typed Go client for Job Center's two HTTP facades: the
// job-center SDK's operations (add, get, list, update, start, stop, exec, delete, the
// journal and a job's history), the Quartz scheduling API (save, status, enable, disable,
// delete, trigger, journal), the cron preview, alert rules and calendars of excluded
// times. It also decodes the NATS events that
// Job Center publishes for a tenant (see [TenantStreams] and [ParseEvent]).
//
// Every call takes a context; every answer that is not a success is an [*APIError]
// carrying the HTTP status and the server's code, message and field, so that
//
//	var apiErr *jobcenter.APIError
//	if errors.As(err, &apiErr) && apiErr.Field == "seconds" { … }
//	if errors.Is(err, jobcenter.ErrNotFound) { … }
//
// both work. A transport failure (no server, a timeout) is returned as it is.
//
// A client is safe for concurrent use:
//
//	c, err := jobcenter.New(
//		jobcenter.WithBaseURL("http://127.0.0.1:8001"),
//		jobcenter.WithProject("b90ba90e-2431-11f0-a3b3-f2cf1bfaab0e"),
//		jobcenter.WithUser("fa11e670"),
//		jobcenter.WithAPIKey(os.Getenv("JOBCENTER_API_KEY")),
//	)
//	job, err := c.AddJob(ctx, jobcenter.JobSpec{
//		Pid: "d1138d88-49ec-11f0-b168-c6ee2c8e08e7", Name: "SDK周期任务",
//		Trigger: jobcenter.TriggerInterval, Seconds: 300, Code: `log_print("周期任务", "INFO")`,
//	}, jobcenter.IdempotencyKey("add-sdk-job-1"))
//
// The project is the tenant of both facades: it is sent as X-Project-Id to the
// job-center routes and as the tecode header to the Quartz routes.
package jobcenter
