// Package jobcenter is a typed Go client for Job Center's two HTTP facades: the
// job-center SDK's operations (add, get, list, update, start, stop, exec, delete, the
// journal and a job's history), the Quartz scheduling API (save, status, enable, disable,
// delete, trigger, journal), the cron preview, alert rules, calendars of excluded times
// and the project's workers online ([Client.Workers], [Client.WorkerGroup]). It also
// decodes the NATS events that Job Center publishes for a tenant (see [TenantStreams]
// and [ParseEvent]).
//
// A job runs one of three targets: code (a Starlark snippet the center runs), a flow
// (FlowID) or an HTTP call ([HTTPCall]: each run sends it, and succeeds on the statuses
// expected). A flow job may name a [JobSpec.WorkerGroup]: its fires then go to the
// tenant's own worker processes of that group, picked by [JobSpec.Route] (RouteRoundRobin,
// RouteSharding, …), and wait while none is online. Workers are written with the package
// github.com/jobcenter/jobcenter/clients/go/worker (examples/worker is one to copy):
//
//	w, _ := worker.New(worker.Config{URL: natsURL, Tenant: project, Key: key, Group: "reports"})
//	w.Handle("daily-report", func(ctx context.Context, t *worker.Task) (any, error) { … })
//	go w.Run(ctx)
//	group := "reports"
//	job, err := c.AddJob(ctx, jobcenter.JobSpec{Pid: pid, Name: "report", Trigger: jobcenter.TriggerCron,
//		Cron: "0 0 2 * * ?", FlowID: "daily-report", WorkerGroup: &group, Route: jobcenter.RouteFailover})
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
