package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/alert"
	"github.com/jobcenter/jobcenter/shared/alertkv"
)

// AlertRules keeps tenants' alert rules (alertkv.Rules).
type AlertRules interface {
	List(ctx context.Context, tenant string) ([]alert.Rule, error)
	Get(ctx context.Context, tenant, id string) (alert.Rule, uint64, error)
	Create(ctx context.Context, rule alert.Rule) error
	Update(ctx context.Context, rule alert.Rule, rev uint64) error
	Delete(ctx context.Context, tenant, id string) error
}

// Alerting is what the alert routes need.
type Alerting struct {
	Rules AlertRules
	// Raise publishes an alert to be delivered (a rule's test).
	Raise func(ctx context.Context, a contracts.Alert) error
	// Deliveries reads deliveries' outcomes (alertkv.Deliveries).
	Deliveries interface {
		List(ctx context.Context, tenant string, f alertkv.Filter, limit int, before int64) ([]alertkv.Delivery, int64, error)
	}
	// AllowPrivate lets webhooks name loopback and private hosts
	// (JOBCENTER_ALERTS_ALLOW_PRIVATE).
	AllowPrivate bool
}

// ruleBody is a rule as a tenant writes it.
type ruleBody struct {
	Name     string          `json:"name"`
	Events   []string        `json:"events"`
	Jobs     []string        `json:"jobs"`
	Enabled  *bool           `json:"enabled"`
	Channel  *alert.Channel  `json:"channel"`
	Throttle *alert.Throttle `json:"throttle"`
}

// ruleView is a rule as reads show it: secrets masked.
type ruleView struct {
	ID        string          `json:"id"`
	Name      string          `json:"name,omitempty"`
	Events    []string        `json:"events"`
	Jobs      []string        `json:"jobs,omitempty"`
	Enabled   bool            `json:"enabled"`
	Channel   alert.Channel   `json:"channel"`
	Throttle  *alert.Throttle `json:"throttle,omitempty"`
	CreatedAt string          `json:"created_at"`
	UpdatedAt string          `json:"updated_at"`
	CreatedBy string          `json:"created_by,omitempty"`
}

func (h *handlers) viewRule(r alert.Rule) ruleView {
	r = r.Redacted()
	return ruleView{ID: r.ID, Name: r.Name, Events: r.Events, Jobs: r.Jobs, Enabled: r.Enabled, Channel: r.Channel,
		Throttle: r.Throttle, CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339Nano), UpdatedAt: r.UpdatedAt.UTC().Format(time.RFC3339Nano),
		CreatedBy: r.CreatedBy}
}

func (h *handlers) alerting() (*Alerting, error) {
	if h.d.Alerts == nil || h.d.Alerts.Rules == nil {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "alerts are not available on this api"}
	}
	return h.d.Alerts, nil
}

// ruleFrom checks a rule written: its fields, each job named a live job of the tenant
// (kept by its id, though named by its jobId).
func (h *handlers) ruleFrom(c echo.Context, b ruleBody, r alert.Rule) (alert.Rule, error) {
	if b.Channel == nil {
		return r, invalidField("channel", "is required: {\"type\": \"webhook\", \"url\": \"https://…\"} or another channel")
	}
	ch := *b.Channel
	if r.ID != "" {
		ch = ch.Keep(r.Channel)
	}
	r.Name, r.Events, r.Channel, r.Throttle = b.Name, b.Events, ch, b.Throttle
	r.Enabled = b.Enabled == nil || *b.Enabled
	// The jobs' bounds are checked as written, before any is looked up.
	r.Jobs = b.Jobs
	if err := r.Check(h.d.Alerts.AllowPrivate); err != nil {
		return r, err
	}
	r.Jobs = nil
	for i, id := range b.Jobs {
		sj, err := h.findID(c, id)
		if errors.Is(err, errJobNotFound) {
			return r, invalidField(fmt.Sprintf("jobs[%d]", i), "no job of this project has the id %q", clip(id))
		}
		if err != nil {
			return r, err
		}
		if !slices.Contains(r.Jobs, sj.Job.ID) {
			r.Jobs = append(r.Jobs, sj.Job.ID)
		}
	}
	return r, nil
}

// rule reads the tenant's rule named in the path.
func (h *handlers) rule(c echo.Context, a *Alerting) (alert.Rule, uint64, error) {
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	r, rev, err := a.Rules.Get(ctx, c.Get(tenantKey).(string), c.Param("rule"))
	switch {
	case errors.Is(err, alertkv.ErrNotFound):
		return r, 0, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "alert rule not found"}
	case err != nil:
		return r, 0, brokerUnavailable(err)
	}
	return r, rev, nil
}

func brokerUnavailable(err error) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the broker is unavailable: " + err.Error()}
}

// listRules answers GET /api/v1/alerts: the tenant's rules, oldest first.
func (h *handlers) listRules(c echo.Context) error {
	a, err := h.alerting()
	if err != nil {
		return err
	}
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	rules, err := a.Rules.List(ctx, c.Get(tenantKey).(string))
	if err != nil {
		return brokerUnavailable(err)
	}
	out := make([]ruleView, len(rules))
	for i, r := range rules {
		out[i] = h.viewRule(r)
	}
	return c.JSON(http.StatusOK, map[string]any{"rules": out})
}

// addRule answers POST /api/v1/alerts: a new rule, 201.
func (h *handlers) addRule(c echo.Context) error {
	a, err := h.alerting()
	if err != nil {
		return err
	}
	var b ruleBody
	if err := decodeBody(c, h.d.BodyLimit, &b); err != nil {
		return err
	}
	now := h.d.Clock.Now().UTC()
	r, err := h.ruleFrom(c, b, alert.Rule{Tenant: c.Get(tenantKey).(string), CreatedAt: now, UpdatedAt: now,
		CreatedBy: c.Request().Header.Get("X-User-Id")})
	if err != nil {
		return err
	}
	r.ID = alertkv.NewID()
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	if err := a.Rules.Create(ctx, r); err != nil {
		return toAlertError(err)
	}
	return c.JSON(http.StatusCreated, h.viewRule(r))
}

// getRule answers GET /api/v1/alerts/{rule}.
func (h *handlers) getRule(c echo.Context) error {
	a, err := h.alerting()
	if err != nil {
		return err
	}
	r, _, err := h.rule(c, a)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.viewRule(r))
}

// updateRule answers PUT /api/v1/alerts/{rule}: the rule replaced whole; a secret sent
// back masked, as a read shows it, is kept.
func (h *handlers) updateRule(c echo.Context) error {
	a, err := h.alerting()
	if err != nil {
		return err
	}
	var b ruleBody
	if err := decodeBody(c, h.d.BodyLimit, &b); err != nil {
		return err
	}
	old, rev, err := h.rule(c, a)
	if err != nil {
		return err
	}
	r, err := h.ruleFrom(c, b, old)
	if err != nil {
		return err
	}
	r.UpdatedAt = h.d.Clock.Now().UTC()
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	if err := a.Rules.Update(ctx, r, rev); err != nil {
		return toAlertError(err)
	}
	return c.JSON(http.StatusOK, h.viewRule(r))
}

// deleteRule answers DELETE /api/v1/alerts/{rule}: 204. Its alerts not yet delivered
// are not delivered.
func (h *handlers) deleteRule(c echo.Context) error {
	a, err := h.alerting()
	if err != nil {
		return err
	}
	r, _, err := h.rule(c, a)
	if err != nil {
		return err
	}
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	if err := a.Rules.Delete(ctx, r.Tenant, r.ID); err != nil {
		return brokerUnavailable(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// testRule answers POST /api/v1/alerts/{rule}/test: an alert of event "test" raised for
// the rule's channel (disabled or not), 202 with its id; its outcome is among the
// deliveries a moment later.
func (h *handlers) testRule(c echo.Context) error {
	a, err := h.alerting()
	if err != nil {
		return err
	}
	r, _, err := h.rule(c, a)
	if err != nil {
		return err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	now := h.d.Clock.Now().UTC()
	detail := "a test of the rule's channel"
	if u := c.Request().Header.Get("X-User-Id"); u != "" {
		detail += ", sent by " + u
	}
	al := contracts.Alert{V: contracts.Version, ID: r.ID + ":test:" + hex.EncodeToString(b), Tenant: r.Tenant, RuleID: r.ID,
		Event: alert.Test, At: now, Detail: detail, RaisedAt: now}
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	if err := a.Raise(ctx, al); err != nil {
		return brokerUnavailable(err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": al.ID, "status": "raised"})
}

// MaxDeliveriesPage bounds a page of deliveries.
const MaxDeliveriesPage = 500

// deliveries answers GET /api/v1/alerts/deliveries: the tenant's alerts' deliveries,
// newest first, narrowed by rule_id, job_id and status; before (a raised_at) pages on.
func (h *handlers) deliveries(c echo.Context) error {
	a, err := h.alerting()
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 50, 1, MaxDeliveriesPage)
	if err != nil {
		return err
	}
	f := alertkv.Filter{RuleID: c.QueryParam("rule_id"), JobID: c.QueryParam("job_id"), Status: c.QueryParam("status")}
	switch f.Status {
	case "", alertkv.Delivered, alertkv.Retrying, alertkv.Failed:
	default:
		return invalidField("status", "must be delivered, retrying or failed, got %q", clip(f.Status))
	}
	var before int64
	if s := c.QueryParam("cursor"); s != "" {
		if before, err = strconv.ParseInt(s, 10, 64); err != nil || before < 1 {
			return invalidField("cursor", "must be a next_cursor of a page before, got %q", clip(s))
		}
	}
	ctx, cancel := h.storeCtx(c)
	defer cancel()
	ds, next, err := a.Deliveries.List(ctx, c.Get(tenantKey).(string), f, int(limit), before)
	if err != nil {
		return brokerUnavailable(err)
	}
	views := make([]deliveryView, len(ds))
	for i, d := range ds {
		views[i] = deliveryView{ID: d.ID, RuleID: d.RuleID, Event: d.Event, JobID: d.JobID, FireID: d.FireID, Channel: d.Channel,
			Target: d.Target, RaisedAt: d.RaisedAt, Status: d.Status, Attempts: d.Attempts, LastAttempt: d.LastAttempt,
			DeliveredAt: d.DeliveredAt, Error: d.Error}
	}
	out := map[string]any{"deliveries": views}
	if next > 0 {
		out["next_cursor"] = strconv.FormatInt(next, 10)
	}
	return c.JSON(http.StatusOK, out)
}

// deliveryView is a delivery as the api shows it.
type deliveryView struct {
	ID          string     `json:"id"`
	RuleID      string     `json:"rule_id"`
	Event       string     `json:"event"`
	JobID       string     `json:"job_id,omitempty"`
	FireID      string     `json:"triggerid,omitempty"`
	Channel     string     `json:"channel"`
	Target      string     `json:"target"`
	RaisedAt    time.Time  `json:"raised_at"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	LastAttempt time.Time  `json:"last_attempt_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	Error       string     `json:"error,omitempty"`
}

// toAlertError maps a rule store's error: a conflict stays one, the rest is the broker.
func toAlertError(err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if ce := toAPIError(err); ce.Status == http.StatusConflict {
		return ce
	}
	return brokerUnavailable(err)
}
