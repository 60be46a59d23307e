package jobcenter

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// CronQuery asks for the next fire times of a Quartz cron expression.
type CronQuery struct {
	// Expr is the expression, such as "0 30 2 * * ?".
	Expr string
	// TZ is the IANA zone it is read in; empty: the server's JOBCENTER_TZ.
	TZ string
	// From is the instant the times follow (strictly); zero: the server's now.
	From time.Time
	// Count is how many times, 1–100; 0: 5.
	Count int
}

// CronNext previews a Quartz cron expression with the code the schedulers use: its
// next Count fire times after From, each with its zone's offset. An expression ending
// (a past year) gives fewer. An invalid expression is an *APIError whose Field is
// "expr" and whose Message is the reason. It needs no project and no key.
func (c *Client) CronNext(ctx context.Context, q CronQuery) ([]time.Time, error) {
	v := url.Values{"expr": {q.Expr}}
	if q.TZ != "" {
		v.Set("tz", q.TZ)
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339Nano))
	}
	if q.Count != 0 {
		v.Set("count", strconv.Itoa(q.Count))
	}
	a, err := c.do(ctx, request{facade: facadeOpen, method: http.MethodGet, path: "/api/v1/cron/next", query: v})
	if err != nil {
		return nil, err
	}
	var out struct {
		Next []string `json:"next"`
	}
	if err := a.decode(&out); err != nil {
		return nil, err
	}
	times := make([]time.Time, len(out.Next))
	for i, s := range out.Next {
		if times[i], err = time.Parse(time.RFC3339, s); err != nil {
			return nil, fmt.Errorf("jobcenter: cron preview time %q: %w", s, err)
		}
	}
	return times, nil
}
