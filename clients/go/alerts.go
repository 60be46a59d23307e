package jobcenter

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Alert events a rule may want.
const (
	AlertFailure = "failure" // a run failed after its retries (a timed-out one too)
	AlertTimeout = "timeout" // a run reached its time limit
	AlertMissed  = "missed"  // a fire came later than its misfire grace time
	AlertSkipped = "skipped" // a run was not run: max_instances runs were going
	AlertPaused  = "paused"  // a job was stopped by pause_after_failures
)

// Alert channel types.
const (
	ChannelWebhook  = "webhook"
	ChannelDingTalk = "dingtalk"
	ChannelFeishu   = "feishu"
	ChannelWeCom    = "wecom"
	ChannelSlack    = "slack"
	ChannelEmail    = "email"
)

// AlertChannel is where a rule's alerts go: a webhook URL (every type but email), or
// e-mail addresses. Reads show the URL masked past its host, and Secret and header
// values as "***"; written back so, they keep what is stored.
type AlertChannel struct {
	Type    string            `json:"type"`
	URL     string            `json:"url,omitempty"`
	Secret  string            `json:"secret,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	To      []string          `json:"to,omitempty"`
}

// AlertThrottle sends one alert for After events of a job within Within seconds, then
// none for Silence seconds.
type AlertThrottle struct {
	After   int   `json:"after"`
	Within  int64 `json:"within_seconds,omitempty"`
	Silence int64 `json:"silence_seconds,omitempty"`
}

// AlertRuleSpec is an alert rule as written: Jobs none for every job of the project;
// Enabled nil for true.
type AlertRuleSpec struct {
	Name     string         `json:"name,omitempty"`
	Events   []string       `json:"events"`
	Jobs     []string       `json:"jobs,omitempty"`
	Enabled  *bool          `json:"enabled,omitempty"`
	Channel  AlertChannel   `json:"channel"`
	Throttle *AlertThrottle `json:"throttle,omitempty"`
}

// AlertRule is an alert rule as read.
type AlertRule struct {
	ID        string         `json:"id"`
	Name      string         `json:"name,omitempty"`
	Events    []string       `json:"events"`
	Jobs      []string       `json:"jobs,omitempty"`
	Enabled   bool           `json:"enabled"`
	Channel   AlertChannel   `json:"channel"`
	Throttle  *AlertThrottle `json:"throttle,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	CreatedBy string         `json:"created_by,omitempty"`
}

// Spec is the rule as it would be written back (its secrets masked, which keeps them).
func (r AlertRule) Spec() AlertRuleSpec {
	on := r.Enabled
	return AlertRuleSpec{Name: r.Name, Events: r.Events, Jobs: r.Jobs, Enabled: &on, Channel: r.Channel, Throttle: r.Throttle}
}

// AlertDelivery is what became of one alert: delivered, retrying (Error says why the
// last attempt failed) or failed (given up, or refused outright).
type AlertDelivery struct {
	ID            string     `json:"id"`
	RuleID        string     `json:"rule_id"`
	Event         string     `json:"event"`
	JobID         string     `json:"job_id,omitempty"`
	TriggerID     string     `json:"triggerid,omitempty"`
	Channel       string     `json:"channel"`
	Target        string     `json:"target"`
	RaisedAt      time.Time  `json:"raised_at"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastAttemptAt time.Time  `json:"last_attempt_at"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	Error         string     `json:"error,omitempty"`
}

// Delivery states.
const (
	DeliveryDelivered = "delivered"
	DeliveryRetrying  = "retrying"
	DeliveryFailed    = "failed"
)

// DeliveryQuery narrows AlertDeliveries; empty fields match all. Cursor is a page's
// NextCursor.
type DeliveryQuery struct {
	RuleID, JobID, Status string
	Limit                 int
	Cursor                string
}

// DeliveryPage is a page of deliveries, newest first; NextCursor is set when there may
// be more.
type DeliveryPage struct {
	Deliveries []AlertDelivery `json:"deliveries"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

func rulePath(id string) string { return "/api/v1/alerts/" + url.PathEscape(id) }

// AlertRules lists the project's alert rules, oldest first.
func (c *Client) AlertRules(ctx context.Context) ([]AlertRule, error) {
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodGet, path: "/api/v1/alerts"})
	if err != nil {
		return nil, err
	}
	var out struct {
		Rules []AlertRule `json:"rules"`
	}
	return out.Rules, a.decode(&out)
}

// AddAlertRule adds an alert rule.
func (c *Client) AddAlertRule(ctx context.Context, spec AlertRuleSpec) (*AlertRule, error) {
	return c.ruleCall(ctx, http.MethodPost, "/api/v1/alerts", spec)
}

// AlertRule reads one alert rule.
func (c *Client) AlertRule(ctx context.Context, id string) (*AlertRule, error) {
	return c.ruleCall(ctx, http.MethodGet, rulePath(id), nil)
}

// UpdateAlertRule replaces an alert rule whole; a secret sent back masked is kept.
func (c *Client) UpdateAlertRule(ctx context.Context, id string, spec AlertRuleSpec) (*AlertRule, error) {
	return c.ruleCall(ctx, http.MethodPut, rulePath(id), spec)
}

// DeleteAlertRule deletes an alert rule; its alerts not yet delivered are not.
func (c *Client) DeleteAlertRule(ctx context.Context, id string) error {
	_, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodDelete, path: rulePath(id)})
	return err
}

// TestAlertRule sends a test alert to the rule's channel and returns its id: its outcome
// is among AlertDeliveries a moment later.
func (c *Client) TestAlertRule(ctx context.Context, id string) (string, error) {
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodPost, path: rulePath(id) + "/test"})
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	return out.ID, a.decode(&out)
}

// AlertDeliveries lists what became of the project's alerts, newest first.
func (c *Client) AlertDeliveries(ctx context.Context, q DeliveryQuery) (*DeliveryPage, error) {
	v := url.Values{}
	for k, s := range map[string]string{"rule_id": q.RuleID, "job_id": q.JobID, "status": q.Status, "cursor": q.Cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	a, err := c.do(ctx, request{facade: facadeJobs, method: http.MethodGet, path: "/api/v1/alerts/deliveries", query: v})
	if err != nil {
		return nil, err
	}
	var out DeliveryPage
	return &out, a.decode(&out)
}

func (c *Client) ruleCall(ctx context.Context, method, path string, body any) (*AlertRule, error) {
	a, err := c.do(ctx, request{facade: facadeJobs, method: method, path: path, body: body})
	if err != nil {
		return nil, err
	}
	var r AlertRule
	return &r, a.decode(&r)
}
