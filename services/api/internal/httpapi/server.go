// Package httpapi is the api's HTTP face: two facades over one domain — the job-center
// SDK's operations and the Quartz scheduling API — plus the cron preview. Handlers translate seed-shaped JSON to domain commands and back;
// reads come from the projections by _id; errors are mapped to JSON in one place.
package httpapi

import (
	"context"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/rs/zerolog"

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
	Log          zerolog.Logger
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

	g := e.Group("/api/v1/jobs", h.project)
	g.POST("", h.addJob)
	g.GET("", h.listJobs)
	g.GET("/:id", h.getJob)
	g.PUT("/:id", h.updateJob)
	g.DELETE("/:id", h.deleteJob)
	g.POST("/:id/start", h.startJob)
	g.POST("/:id/stop", h.stopJob)
	g.POST("/:id/exec", h.execJob)
	g.GET("/:id/journal", h.journal)
	e.GET("/api/v1/cron/next", h.cronNext)

	q := e.Group("/task/quartz", h.tecode)
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

// project takes the tenant from X-Project-Id: required, at most 128 printable characters.
func (h *handlers) project(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := c.Request().Header.Get("X-Project-Id")
		if err := checkHeader("X-Project-Id", p, true); err != nil {
			return err
		}
		if err := checkHeader("X-User-Id", c.Request().Header.Get("X-User-Id"), false); err != nil {
			return err
		}
		if err := checkHeader("Idempotency-Key", c.Request().Header.Get("Idempotency-Key"), false); err != nil {
			return err
		}
		c.Set(tenantKey, p)
		return next(c)
	}
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
