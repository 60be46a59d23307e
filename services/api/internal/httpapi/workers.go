package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/workers"
)

// workerGroup is a group of the project's workers as GET /api/v1/workers shows it.
type workerGroup struct {
	Group   string       `json:"group"`
	Workers []workerInfo `json:"workers"`
}

// workerInfo is one online worker.
type workerInfo struct {
	ID       string   `json:"id"`
	Host     string   `json:"host"`
	Version  string   `json:"version"`
	Since    string   `json:"since"`
	Running  int      `json:"running"`
	Capacity int      `json:"capacity"`
	Handles  []string `json:"handles"`
	LastBeat string   `json:"last_heartbeat"`
	Leaving  bool     `json:"leaving"`
}

// listWorkers answers GET /api/v1/workers: the project's groups with a worker online,
// each with its workers in the order they joined.
func (h *handlers) listWorkers(c echo.Context) error {
	if h.d.Workers == nil {
		return errNoWorkers
	}
	tenant := c.Get(tenantKey).(string)
	out := []workerGroup{}
	for _, w := range h.d.Workers.Online(tenant, "") {
		if len(out) == 0 || out[len(out)-1].Group != w.Group {
			out = append(out, workerGroup{Group: w.Group, Workers: []workerInfo{}})
		}
		g := &out[len(out)-1]
		g.Workers = append(g.Workers, h.workerInfo(w))
	}
	return c.JSON(http.StatusOK, map[string]any{"groups": out})
}

// getWorkers answers GET /api/v1/workers/{group}: the group's workers online; none is an
// empty list (the group's fires wait).
func (h *handlers) getWorkers(c echo.Context) error {
	if h.d.Workers == nil {
		return errNoWorkers
	}
	group := c.Param("group")
	if err := job.CheckGroup("group", group); err != nil {
		return err
	}
	g := workerGroup{Group: group, Workers: []workerInfo{}}
	for _, w := range h.d.Workers.Online(c.Get(tenantKey).(string), group) {
		g.Workers = append(g.Workers, h.workerInfo(w))
	}
	return c.JSON(http.StatusOK, g)
}

func (h *handlers) workerInfo(w workers.Worker) workerInfo {
	return workerInfo{ID: w.ID, Host: w.Host, Version: w.Version, Since: w.Since.UTC().Format(time.RFC3339),
		Running: w.Running, Capacity: w.Capacity, Handles: w.Handles, LastBeat: w.LastBeat.UTC().Format(time.RFC3339Nano), Leaving: w.Leaving}
}

var errNoWorkers = &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "this api follows no workers"}
