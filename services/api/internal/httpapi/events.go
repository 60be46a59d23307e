package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
)

// EventBuffer is how many events wait for one slow client of GET /api/v1/events; a
// client that falls further behind is sent an "overflow" event and dropped, so that it
// never holds up the broker's delivery.
const EventBuffer = 256

// DefaultHeartbeat is how often an event stream sends a comment line while idle, so
// that proxies keep it open and a client notices a dead connection.
const DefaultHeartbeat = 15 * time.Second

// DefaultMaxStreams bounds each tenant's open event streams: each holds four broker
// subscriptions and a queue.
const DefaultMaxStreams = 32

// eventsRoute is the event stream's route.
const eventsRoute = "/api/v1/events"

// eventWriteWait bounds each write to an event stream's client.
const eventWriteWait = 10 * time.Second

// eventCredentials lets a browser's EventSource, which cannot set headers, name the
// project and the key in the query (?project=…&key=…); headers, when sent, win. Only the
// event stream's route takes credentials from the query.
func eventCredentials(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		p := c.QueryParam("project")
		switch {
		case p == "" && req.Header.Get("X-Project-Id") == "":
			return badRequest("X-Project-Id", "the X-Project-Id header, or the project query parameter, is required")
		case p != "" && req.Header.Get("X-Project-Id") == "":
			req.Header.Set("X-Project-Id", p)
		}
		if k := c.QueryParam("key"); k != "" && req.Header.Get(echo.HeaderAuthorization) == "" {
			req.Header.Set(echo.HeaderAuthorization, "Bearer "+k)
		}
		// The key is in the header now: out of the URL, nothing later can log it.
		if q := req.URL.Query(); q.Has("key") {
			q.Del("key")
			req.URL.RawQuery = q.Encode()
		}
		return next(c)
	}
}

// eventNames are the SSE event names, by subject family.
var eventNames = []struct{ prefix, name string }{
	{"jobcenter.evt.", "lifecycle"},
	{"jobcenter.fire.", "fire"},
	{"jobcenter.run.", "run"},
	{"jobcenter.log.", "log"},
}

type busMessage struct {
	subject string
	data    []byte
}

// events answers GET /api/v1/events: the project's lifecycle, fire and run events and its
// runs' live log lines from NATS, as server-sent events named "lifecycle", "fire", "run"
// and "log" whose data is the contracts payload (LifecycleEvent, Fire, RunEvent, RunLog). It streams until the client goes
// or the api shuts down, with a comment line every Heartbeat while idle.
func (h *handlers) events(c echo.Context) error {
	if h.d.Events == nil {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "live events are not available on this api"}
	}
	tenant := c.Get(tenantKey).(string)
	release, ok := h.openStream(tenant)
	if !ok {
		c.Response().Header().Set("Retry-After", "5")
		return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "this project has too many event streams open; close one first"}
	}
	defer release()
	msgs := make(chan busMessage, EventBuffer)
	overflow := make(chan struct{})
	var once sync.Once
	deliver := func(subject string, data []byte) {
		select {
		case msgs <- busMessage{subject, data}:
		default: // never block the broker's delivery: drop the client instead
			once.Do(func() { close(overflow) })
		}
	}
	unsubscribe, err := h.d.Events([]string{contracts.TenantEvents(tenant), contracts.TenantFires(tenant), contracts.TenantRuns(tenant), contracts.TenantLogs(tenant)}, deliver)
	if err != nil {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the broker is unavailable: " + err.Error()}
	}
	defer unsubscribe()

	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	send := func(s string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(eventWriteWait)) // not every writer has deadlines
		if _, err := io.WriteString(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 3000\n: connected\n\n") {
		return nil
	}
	beat := h.d.Heartbeat
	if beat <= 0 {
		beat = DefaultHeartbeat
	}
	tick := time.NewTicker(beat)
	defer tick.Stop()
	for {
		var ok bool
		select {
		case <-c.Request().Context().Done():
			return nil
		case <-h.d.Stopping:
			return nil
		case <-overflow:
			send("event: overflow\ndata: {\"reason\":\"the client fell too far behind; reconnect\"}\n\n")
			return nil
		case <-tick.C:
			ok = send(": ping\n\n")
		case m := <-msgs:
			ok = send(formatEvent(m))
		}
		if !ok {
			return nil
		}
	}
}

// formatEvent writes a bus message as one server-sent event; a payload that is not JSON
// is skipped (an empty string).
func formatEvent(m busMessage) string {
	if !json.Valid(m.data) {
		return ""
	}
	m.data = maskHTTPHeaders(m.data)
	name := "message"
	for _, n := range eventNames {
		if strings.HasPrefix(m.subject, n.prefix) {
			name = n.name
			break
		}
	}
	var b strings.Builder
	b.WriteString("event: " + name + "\n")
	for line := range strings.SplitSeq(string(m.data), "\n") {
		b.WriteString("data: " + strings.TrimSuffix(line, "\r") + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// openStream counts one more of tenant's event streams, unless it has MaxStreams open.
func (h *handlers) openStream(tenant string) (release func(), ok bool) {
	limit := h.d.MaxStreams
	if limit <= 0 {
		limit = DefaultMaxStreams
	}
	h.streamsMu.Lock()
	defer h.streamsMu.Unlock()
	if h.streams == nil {
		h.streams = map[string]int{}
	}
	if h.streams[tenant] >= limit {
		return nil, false
	}
	h.streams[tenant]++
	return func() {
		h.streamsMu.Lock()
		defer h.streamsMu.Unlock()
		if h.streams[tenant]--; h.streams[tenant] == 0 {
			delete(h.streams, tenant)
		}
	}, true
}

// maskHTTPHeaders masks the header values of the HTTP calls a message carries (a job's
// in its lifecycle events, a fire's target), as every read of the api does. Messages
// without one, nearly all, are passed as they are.
func maskHTTPHeaders(data []byte) []byte {
	if !bytes.Contains(data, []byte(`"headers"`)) {
		return data
	}
	var v any
	if json.Unmarshal(data, &v) != nil {
		return data
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if call, ok := x.(map[string]any); ok && k == "http" {
					if h, ok := call["headers"].(map[string]any); ok {
						plain := make(map[string]string, len(h))
						for name, val := range h {
							plain[name], _ = val.(string)
						}
						for name, val := range (job.HTTPCall{Headers: plain}).Redacted().Headers {
							h[name] = val
						}
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	out, err := json.Marshal(v)
	if err != nil {
		return data
	}
	return out
}
