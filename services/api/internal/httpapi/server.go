// Package httpapi is the api's HTTP face: two facades over one domain — the job-center
// SDK's operations and the Quartz scheduling API — plus the cron preview. Handlers translate seed-shaped JSON to domain commands and back;
// reads come from the projections by _id; errors are mapped to JSON in one place.
package httpapi

import (
	"context"
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
	"github.com/jobcenter/jobcenter/shared/clock"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// Deps is what the handlers need.
type Deps struct {
	Store     *mongostore.Store
	Commander *commander.Commander
	// Loc is the zone the SDK's local times are read and written in.
	Loc   *time.Location
	Clock clock.Clock
	// Ready reports whether the broker, the store and the services are up.
	Ready func(ctx context.Context) error
	// BodyLimit bounds a request body, in bytes.
	BodyLimit int64
	// StoreTimeout bounds each read.
	StoreTimeout time.Duration
	// Keys, when not empty, are required: each request presents one bound to its tenant.
	Keys *access.Keys
	// Limiter bounds each tenant's request rate (nil: no limit).
	Limiter *access.Limiter
	// History reads a job's lifecycle events, oldest first.
	History func(ctx context.Context, tenant, jobID string) ([]contracts.LifecycleEvent, error)
	Log     zerolog.Logger
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
	e.Use(middleware.RequestID())
	e.Use(middleware.Recover())
	e.Use(accessLog(d.Log))

	h := &handlers{d: d}
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", h.readyz)

	g := e.Group("/api/v1/jobs", h.guard("X-Project-Id"))
	g.POST("", h.addJob)
	g.GET("", h.listJobs)
	g.GET("/:id", h.getJob)
	g.PUT("/:id", h.updateJob)
	g.DELETE("/:id", h.deleteJob)
	g.POST("/:id/start", h.startJob)
	g.POST("/:id/stop", h.stopJob)
	g.POST("/:id/exec", h.execJob)
	g.GET("/:id/journal", h.journal)
	g.GET("/:id/history", h.history)
	e.GET("/api/v1/cron/next", h.cronNext, h.limitByAddress)

	q := e.Group("/task/quartz", h.guard("tecode"))
	q.POST("/queryjobstatus", h.queryJobStatus)
	q.POST("/bizcronjob", h.bizCronJob)
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

func accessLog(log zerolog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			req := c.Request()
			log.Debug().Str("request_id", c.Response().Header().Get(echo.HeaderXRequestID)).
				Str("method", req.Method).Str("route", c.Path()).Int("status", c.Response().Status).
				Str("tenant", req.Header.Get("X-Project-Id")).Dur("took", time.Since(start)).Msg("http")
			return nil
		}
	}
}
