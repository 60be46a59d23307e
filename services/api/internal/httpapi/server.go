// Package httpapi is the api's HTTP face: two facades over one domain — the job-center
// SDK's operations and the Quartz scheduling API — plus the cron preview, a project's
// live events (server-sent) and the web console at /ui. Handlers translate seed-shaped
// JSON to domain commands and back; reads come from the projections by _id; errors are
// mapped to HTTP answers in one place (toAPIError). It sends job.Commands through a
// Commander and must not build NATS payloads or decide rules of the domain's.
package httpapi

import (
	"context"
	"fmt"
	"github.com/jobcenter/jobcenter/shared/egress"
	"github.com/jobcenter/jobcenter/shared/workers"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/services/api/internal/access"
	"github.com/jobcenter/jobcenter/services/api/internal/commander"
	"github.com/jobcenter/jobcenter/services/api/internal/jobview"
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// Store is what the handlers read of the projections (a *mongostore.Store).
type Store interface {
	FindJob(ctx context.Context, idOrKey string) (mongostore.StoredJob, error)
	ListJobs(ctx context.Context, tenant, pid string, skip, limit int64) ([]mongostore.StoredJob, int64, error)
	JournalPage(ctx context.Context, jobID string, near, keep, index, size int64) (mongostore.Page, error)
	LiveSchedule(ctx context.Context, tenant, bizcode string) (mongostore.StoredJob, error)
}

// Commander sends the handlers' commands (a *commander.Commander): the job a command
// left, nothing when it is only accepted, or the domain's error.
type Commander interface {
	Send(ctx context.Context, cmd commander.Command) (commander.Result, error)
}

// Deps is what the handlers need.
type Deps struct {
	Store     Store
	Commander Commander
	// Jobs, when not nil, answers reads and lists of jobs before the store does.
	Jobs *jobview.View
	// Loc is the zone the SDK's local times are read and written in.
	Loc   *time.Location
	Clock clock.Clock
	// Ready reports whether the broker, the store and the services are up.
	Ready func(ctx context.Context) error
	// BodyLimit bounds a request body, in bytes.
	BodyLimit int64
	// StoreTimeout bounds each read.
	StoreTimeout time.Duration
	// JournalKeep, when positive, is how many of a job's newest runs its journal shows.
	JournalKeep int64
	// Keys, when not empty, are required: each request presents one bound to its tenant.
	Keys *access.Keys
	// Limiter bounds each tenant's request rate (nil: no limit).
	Limiter *access.Limiter
	// History reads a job's lifecycle events, oldest first.
	History func(ctx context.Context, tenant, jobID string) ([]contracts.LifecycleEvent, error)
	// Metrics counts the answered requests (nil: none); MetricsHandler, when set, answers
	// GET /metrics, which like /healthz needs no key.
	Metrics        Recorder
	MetricsHandler http.Handler
	// Events subscribes to NATS subjects for GET /api/v1/events: deliver is called for
	// each message and must not block; the function returned unsubscribes. Nil: the
	// route answers 503.
	Events func(subjects []string, deliver func(subject string, data []byte)) (unsubscribe func(), err error)
	// Killer carries kills of runs to the executors (nil: the kill route answers 503).
	Killer Killer
	// Alerts keeps alert rules and reads deliveries (nil: the alert routes answer 503).
	Alerts *Alerting
	// Workers are the tenants' workers online (nil: the workers routes answer 503).
	Workers *workers.Registry
	// HTTPReach is how far HTTP jobs' calls may go: a job naming a host beyond it is
	// refused ("": egress.Public).
	HTTPReach egress.Reach
	// Calendars keeps the tenants' calendars (nil: the calendar routes answer 503, and a
	// job naming a calendar is refused).
	Calendars *Calendaring
	// RunEnds reads fixed-delay jobs' last run's end, which their next fire counts from
	// (nil: such a job shows no next fire once its first has fired).
	RunEnds interface {
		Get(ctx context.Context, jobID string) (job.RunEnd, bool, error)
	}
	// Stopping, once closed, ends every event stream: the server is shutting down.
	Stopping <-chan struct{}
	// Heartbeat is how often an idle event stream sends a comment (DefaultHeartbeat).
	Heartbeat time.Duration
	// MaxStreams bounds each tenant's open event streams (0: DefaultMaxStreams).
	MaxStreams int
	Log        zerolog.Logger
}

// Recorder counts answered requests by route pattern ("" when no route matched).
type Recorder interface {
	Request(method, route string, status int, took time.Duration)
}

// New returns the HTTP handler.
func New(d Deps) *echo.Echo {
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.BodyLimit <= 0 {
		d.BodyLimit = 1 << 20
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Log)
	routes := map[string]bool{}
	e.Use(middleware.RequestID())
	// Outside Recover, so that a request that panicked is logged and counted as its 500.
	e.Use(accessLog(d.Log, d.Metrics, routes))
	e.Use(middleware.Recover())

	h := &handlers{d: d, infos: newInfoCache(infosKept)}
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", h.readyz)
	e.GET("/openapi.json", func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, contracts.OpenAPI)
	})
	if d.MetricsHandler != nil {
		e.GET("/metrics", echo.WrapHandler(d.MetricsHandler))
	}

	// The guards go on each route, not on the groups: a group with middleware answers
	// every path under it, so a known path with the wrong method would be a 404, not a 405.
	project := h.guard("X-Project-Id")
	g := e.Group("/api/v1/jobs")
	g.POST("", h.addJob, project)
	g.GET("", h.listJobs, project)
	g.GET("/:id", h.getJob, project)
	g.PUT("/:id", h.updateJob, project)
	g.DELETE("/:id", h.deleteJob, project)
	g.POST("/:id/start", h.startJob, project)
	g.POST("/:id/stop", h.stopJob, project)
	g.POST("/:id/exec", h.execJob, project)
	g.POST("/:id/backfill", h.backfill, project)
	g.GET("/:id/journal", h.journal, project)
	g.GET("/:id/history", h.history, project)
	g.POST("/:id/runs/:run/kill", h.killRun, project)
	g.GET("/:id/versions", h.versions, project)
	g.GET("/:id/preview", h.preview, project)
	g.POST("/:id/versions/:version/rollback", h.rollback, project)
	a := e.Group("/api/v1/alerts")
	a.GET("", h.listRules, project)
	a.POST("", h.addRule, project)
	a.GET("/deliveries", h.deliveries, project)
	a.GET("/:rule", h.getRule, project)
	a.PUT("/:rule", h.updateRule, project)
	a.DELETE("/:rule", h.deleteRule, project)
	a.POST("/:rule/test", h.testRule, project)
	k := e.Group("/api/v1/calendars")
	k.GET("", h.listCalendars, project)
	k.POST("", h.addCalendar, project)
	k.GET("/:name", h.getCalendar, project)
	k.PUT("/:name", h.updateCalendar, project)
	k.DELETE("/:name", h.deleteCalendar, project)
	e.GET("/api/v1/workers", h.listWorkers, project)
	e.GET("/api/v1/workers/:group", h.getWorkers, project)
	e.GET("/api/v1/export", h.exportJobs, project)
	e.POST("/api/v1/import", h.importJobs, project)
	e.GET("/api/v1/cron/next", h.cronNext, h.limitByAddress)
	// The event stream takes its credentials from the query too: EventSource cannot send headers.
	e.GET("/api/v1/events", h.events, eventCredentials, h.guard("X-Project-Id"))
	e.GET("/ui", h.consolePage, h.limitByAddress)
	e.GET("/ui/:file", h.consoleAsset, h.limitByAddress)

	tecode := h.guard("tecode")
	q := e.Group("/task/quartz")
	q.POST("/queryjobstatus", h.queryJobStatus, tecode)
	q.POST("/bizcronjob", h.bizCronJob, tecode)
	for _, r := range e.Routes() {
		if r.Method != echo.RouteNotFound {
			routes[r.Path] = true
		}
	}
	return e
}

func (h *handlers) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := h.d.Ready(ctx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// guard admits a request of a facade whose tenant is named by header: with keys
// configured, a valid key (else 401) bound to that tenant (else 403); the tenant header
// itself (else 400); and the tenant's rate (else 429 with Retry-After).
func (h *handlers) guard(header string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if err := checkQuery(c); err != nil {
				return err
			}
			keyTenant := access.AnyTenant
			if !h.d.Keys.Empty() {
				key, bearer := strings.CutPrefix(req.Header.Get(echo.HeaderAuthorization), "Bearer ")
				t, ok := h.d.Keys.Tenant(strings.TrimSpace(key))
				if !bearer || !ok {
					c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="jobcenter"`)
					return &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "a valid API key is required: send Authorization: Bearer followed by the key"}
				}
				keyTenant = t
			}
			tenant := req.Header.Get(header)
			for _, hd := range []struct {
				name     string
				required bool
			}{{header, true}, {"X-User-Id", false}, {"Idempotency-Key", false}} {
				if err := checkHeader(hd.name, req.Header.Get(hd.name), hd.required); err != nil {
					return err
				}
			}
			if !access.Allows(keyTenant, tenant) {
				return &apiError{Status: http.StatusForbidden, Code: "forbidden", Field: header, Message: "this API key is for another tenant than " + header + " names"}
			}
			if err := h.limit(c, "tenant:"+tenant); err != nil {
				return err
			}
			c.Set(tenantKey, tenant)
			return next(c)
		}
	}
}

// limitByAddress rate-limits requests that name no tenant by the caller's address.
func (h *handlers) limitByAddress(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := checkQuery(c); err != nil {
			return err
		}
		if err := h.limit(c, "addr:"+c.RealIP()); err != nil {
			return err
		}
		return next(c)
	}
}

func (h *handlers) limit(c echo.Context, who string) error {
	if ok, retry := h.d.Limiter.Allow(who); !ok {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many requests for this tenant: retry after the time in Retry-After"}
	}
	return nil
}

const tenantKey = "tenant"

// MaxQueryBytes bounds a request's query string: every query this API takes (pages, a
// cron expression, an event stream's credentials) fits in a fraction of it.
const MaxQueryBytes = 2048

func checkQuery(c echo.Context) error {
	if n := len(c.Request().URL.RawQuery); n > MaxQueryBytes {
		return badRequest("", fmt.Sprintf("the query string is %d bytes long, at most %d are allowed", n, MaxQueryBytes))
	}
	return nil
}

func checkHeader(name, v string, required bool) error {
	switch {
	case v == "" && required:
		return badRequest(name, "the "+name+" header is required")
	case !utf8.ValidString(v) || utf8.RuneCountInString(v) > 128:
		return badRequest(name, "the "+name+" header must be at most 128 characters of valid UTF-8")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return badRequest(name, "the "+name+" header contains a control character")
		}
	}
	return nil
}

// accessLog logs each request at debug level and counts it with rec (when not nil) by
// its route pattern: one of routes, else "" (no route matched), never the raw path.
func accessLog(log zerolog.Logger, rec Recorder, routes map[string]bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			took := time.Since(start)
			req, resp := c.Request(), c.Response()
			route := c.Path()
			if !routes[route] {
				route = ""
			}
			if rec != nil {
				if route == eventsRoute && resp.Status == http.StatusOK {
					took = -1 // a stream's lifetime is no request duration
				}
				rec.Request(req.Method, route, resp.Status, took)
			}
			if ev := log.Debug(); ev.Enabled() {
				requestFields(ev, c).Str("method", req.Method).Str("route", route).Int("status", resp.Status).
					Dur("took", took).Msg("http")
			}
			return nil
		}
	}
}

// requestFields adds what identifies a request to a log line: its request id, its
// tenant, and the job and fire it concerns, when it names them.
func requestFields(ev *zerolog.Event, c echo.Context) *zerolog.Event {
	resp := c.Response().Header()
	ev = ev.Str("request_id", resp.Get(echo.HeaderXRequestID))
	if t := requestTenant(c); t != "" {
		ev = ev.Str("tenant", t)
	}
	if id := c.Param("id"); id != "" {
		ev = ev.Str("job_id", id)
	}
	if f := resp.Get("X-Fire-Id"); f != "" {
		ev = ev.Str("fire_id", f)
	}
	return ev
}

// requestTenant is the tenant the guard admitted, else the one the request names (at
// most 128 bytes of it).
func requestTenant(c echo.Context) string {
	if t, ok := c.Get(tenantKey).(string); ok {
		return t
	}
	t := c.Request().Header.Get("X-Project-Id")
	if t == "" {
		t = c.Request().Header.Get("tecode")
	}
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}
