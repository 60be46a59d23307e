package jobcenter

import (
	"context"
	"net/http"
	"net/url"
)

// CalendarWindow is a weekly window a calendar excludes, by the wall clock of its zone:
// From "SAT 00:00" (MON … SUN, 24-hour time) included, To "MON 00:00" not. A window may
// wrap past Sunday.
type CalendarWindow struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// CalendarRange is a span of time a calendar excludes once, From included, To not.
// Written, each is in RunDate's forms, a local one read in the calendar's zone; read,
// each is LocalTimeLayout in the calendar's zone.
type CalendarRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// CalendarSpec is a calendar as written: a name (1 to 64 letters, digits, '_', '.' or
// '-', not starting with a sign) and at least one of what it excludes. Timezone is an IANA
// zone its dates, windows and ranges are read in; empty, the server's JOBCENTER_TZ.
type CalendarSpec struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	Timezone    string `json:"timezone,omitempty"`
	// Dates are whole days excluded, "2026-10-01" (at most 1,000).
	Dates []string `json:"dates,omitempty"`
	// Weekly are windows excluded every week (at most 100).
	Weekly []CalendarWindow `json:"weekly,omitempty"`
	// Ranges are spans excluded once (at most 100).
	Ranges []CalendarRange `json:"ranges,omitempty"`
	// Cron is a Quartz expression: each second it matches is excluded.
	Cron string `json:"cron,omitempty"`
}

// Calendar is a calendar as read: its spec (Timezone always set, ranges in its zone),
// which UpdateCalendar takes back as it is, and its last change, UpdatedAt in
// LocalTimeLayout (the server's JOBCENTER_TZ) by UpdatedBy (nil: no X-User-Id).
type Calendar struct {
	CalendarSpec
	UpdatedAt string  `json:"updated_at"`
	UpdatedBy *string `json:"updated_by"`
}

func calendarPath(name string) string {
	if name == "" {
		name = "-" // an empty name would name the list
	}
	return "/api/v1/calendars/" + url.PathEscape(name)
}

// Calendars lists the project's calendars by name (at most 100).
func (c *Client) Calendars(ctx context.Context) ([]Calendar, error) {
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodGet, path: "/api/v1/calendars"})
	if err != nil {
		return nil, err
	}
	var out struct {
		Calendars []Calendar `json:"calendars"`
	}
	return out.Calendars, a.decode(&out)
}

// Calendar reads one of the project's calendars; one it does not have is a 404.
func (c *Client) Calendar(ctx context.Context, name string) (*Calendar, error) {
	return c.calendarCall(ctx, http.MethodGet, calendarPath(name), nil)
}

// AddCalendar adds a calendar. A broken one is an *APIError 400 naming the field (name,
// dates[1], weekly[0].to, ranges[0].from, cron, timezone); a second of a name, or a 101st
// of the project, a 409.
func (c *Client) AddCalendar(ctx context.Context, spec CalendarSpec) (*Calendar, error) {
	return c.calendarCall(ctx, http.MethodPost, "/api/v1/calendars", spec)
}

// UpdateCalendar replaces a calendar whole; spec.Name empty or name (a calendar keeps its
// name: another is a 400). The active trigger reschedules the started jobs that name it
// at once.
func (c *Client) UpdateCalendar(ctx context.Context, name string, spec CalendarSpec) (*Calendar, error) {
	return c.calendarCall(ctx, http.MethodPut, calendarPath(name), spec)
}

// DeleteCalendar deletes a calendar. While a job or schedule of the project names it,
// it is an *APIError 409 (errors.Is ErrConflict) whose message lists up to ten of their
// ids.
func (c *Client) DeleteCalendar(ctx context.Context, name string) error {
	_, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodDelete, path: calendarPath(name)})
	return err
}

func (c *Client) calendarCall(ctx context.Context, method, path string, body any) (*Calendar, error) {
	a, err := c.do(ctx, request{facade: facadeJobs, method: method, path: path, body: body})
	if err != nil {
		return nil, err
	}
	var out Calendar
	return &out, a.decode(&out)
}
