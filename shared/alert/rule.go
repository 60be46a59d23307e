// Package alert holds the rules of alerting: what a tenant's alert rule is and what it
// may hold, which events it wants, how its throttle decides whether an event is sent,
// what an alert says on each channel, and which addresses a webhook may not reach. It
// knows no broker, store or HTTP client: the trigger raises and delivers alerts, the api
// keeps rules, both by these rules.
package alert

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jobcenter/jobcenter/shared/egress"
	"github.com/jobcenter/jobcenter/shared/job"
)

// Events an alert rule can want.
const (
	// Failure: a run ended failed after its retries (a timed-out run is one too; a run a
	// tenant killed is not).
	Failure = "failure"
	// Timeout: a run ended failed because it reached its time limit.
	Timeout = "timeout"
	// Missed: a fire came later than its job's misfire grace time and was not run.
	Missed = "missed"
	// Skipped: a run was not run because max_instances runs of its job were going.
	Skipped = "skipped"
	// Paused: a job was stopped by pause_after_failures.
	Paused = "paused"
	// Test: an alert a tenant sent to try a rule's channel.
	Test = "test"
)

// Events is every event a rule may name, in the order the documents list them.
var Events = []string{Failure, Timeout, Missed, Skipped, Paused}

// Channel types.
const (
	Webhook  = "webhook"
	DingTalk = "dingtalk"
	Feishu   = "feishu"
	WeCom    = "wecom"
	Slack    = "slack"
	Email    = "email"
)

// Channels is every channel type.
var Channels = []string{Webhook, DingTalk, Feishu, WeCom, Slack, Email}

// Bounds of a rule.
const (
	MaxRules       = 100 // a tenant's rules
	MaxRuleJobs    = 100
	MaxName        = 100
	MaxURL         = 2048
	MaxSecret      = 256
	MaxHeaders     = 20
	MaxHeaderValue = 1024
	MaxRecipients  = 20
	MaxThreshold   = 1000
	MaxWindow      = 24 * 60 * 60 // seconds, a throttle's window and its silence
)

// Rule is a tenant's alert rule: the events it wants, of which jobs, sent where, and
// how often at most.
type Rule struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	Name   string `json:"name,omitempty"`
	// Events are the events the rule wants (Events).
	Events []string `json:"events"`
	// Jobs are the job ids it wants them of; none: every job of the tenant.
	Jobs    []string `json:"jobs,omitempty"`
	Enabled bool     `json:"enabled"`
	Channel Channel  `json:"channel"`
	// Throttle, when set, sends an alert only once After events within Within, then
	// none for Silence (PowerJob's); nil: every event is sent.
	Throttle  *Throttle `json:"throttle,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// Channel is where a rule's alerts go.
type Channel struct {
	Type string `json:"type"`
	// URL is the webhook's (every type but email).
	URL string `json:"url,omitempty"`
	// Secret signs DingTalk and Feishu messages (their robots' "signature" security).
	Secret string `json:"secret,omitempty"`
	// Headers are sent with a generic webhook's requests (an Authorization, say).
	Headers map[string]string `json:"headers,omitempty"`
	// To are the e-mail addresses of an email channel.
	To []string `json:"to,omitempty"`
}

// Throttle holds back a rule's alerts: one is sent for After events of a job within
// Within seconds, then none for Silence seconds.
type Throttle struct {
	After   int   `json:"after"`
	Within  int64 `json:"within_seconds"`
	Silence int64 `json:"silence_seconds"`
}

// Wants reports whether the rule sends event of job jobID: a timed-out run is a failure
// too, for a rule that wants failures.
func (r Rule) Wants(event, jobID string) bool {
	if !r.Enabled || !(slices.Contains(r.Events, event) || event == Timeout && slices.Contains(r.Events, Failure)) {
		return false
	}
	return len(r.Jobs) == 0 || slices.Contains(r.Jobs, jobID)
}

// Check applies a rule's bounds; errors are *job.FieldError naming the field. private
// allows webhook hosts on loopback and private networks (JOBCENTER_ALERTS_ALLOW_PRIVATE).
func (r Rule) Check(private bool) error {
	if utf8.RuneCountInString(r.Name) > MaxName || strings.ContainsAny(r.Name, "\r\n") {
		return invalid("name", "must be one line of at most %d characters", MaxName)
	}
	if len(r.Events) == 0 {
		return invalid("events", "name at least one of %s", strings.Join(Events, ", "))
	}
	for i, ev := range r.Events {
		if !slices.Contains(Events, ev) {
			return invalid(fmt.Sprintf("events[%d]", i), "%q is not an event: one of %s", clip(ev), strings.Join(Events, ", "))
		}
		if slices.Index(r.Events, ev) < i {
			return invalid(fmt.Sprintf("events[%d]", i), "%q is named twice", ev)
		}
	}
	if len(r.Jobs) > MaxRuleJobs {
		return invalid("jobs", "at most %d jobs (none: every job of the project)", MaxRuleJobs)
	}
	for i, id := range r.Jobs {
		if id == "" || slices.Index(r.Jobs, id) < i {
			return invalid(fmt.Sprintf("jobs[%d]", i), "must be a job id, each once")
		}
	}
	if err := r.Channel.check(private); err != nil {
		return err
	}
	if t := r.Throttle; t != nil {
		switch {
		case t.After < 1 || t.After > MaxThreshold:
			return invalid("throttle.after", "must be from 1 to %d events", MaxThreshold)
		case t.Within < 0 || t.Within > MaxWindow || t.After > 1 && t.Within == 0:
			return invalid("throttle.within_seconds", "must be from 1 to %d seconds when after is above 1", MaxWindow)
		case t.Silence < 0 || t.Silence > MaxWindow:
			return invalid("throttle.silence_seconds", "must be from 0 to %d seconds", MaxWindow)
		}
	}
	return nil
}

func (c Channel) check(private bool) error {
	switch c.Type {
	case Email:
		if c.URL != "" || c.Secret != "" || len(c.Headers) > 0 {
			return invalid("channel", "an email channel takes only to")
		}
		if len(c.To) == 0 || len(c.To) > MaxRecipients {
			return invalid("channel.to", "name 1 to %d e-mail addresses", MaxRecipients)
		}
		for i, to := range c.To {
			if a, err := mail.ParseAddress(to); err != nil || a.Address != to {
				return invalid(fmt.Sprintf("channel.to[%d]", i), "%q is not an e-mail address such as ops@example.com", clip(to))
			}
		}
		return nil
	case Webhook, DingTalk, Feishu, WeCom, Slack:
	case "":
		return invalid("channel.type", "is required: one of %s", strings.Join(Channels, ", "))
	default:
		return invalid("channel.type", "%q is not a channel: one of %s", clip(c.Type), strings.Join(Channels, ", "))
	}
	if len(c.To) > 0 {
		return invalid("channel.to", "only an email channel has recipients")
	}
	if err := CheckURL(c.URL, private); err != nil {
		return err
	}
	if strings.HasSuffix(c.URL, "/"+Masked) {
		return invalid("channel.url", "send the webhook's whole URL: a masked one keeps the stored URL only on a rule of the same channel type")
	}
	if c.Secret == Masked {
		return invalid("channel.secret", "send the secret itself: %s keeps the stored one only on a rule of the same channel type", Masked)
	}
	if c.Secret != "" && c.Type != DingTalk && c.Type != Feishu {
		return invalid("channel.secret", "only DingTalk and Feishu robots sign their messages")
	}
	if len(c.Secret) > MaxSecret || strings.ContainsAny(c.Secret, "\r\n") {
		return invalid("channel.secret", "must be one line of at most %d bytes", MaxSecret)
	}
	if len(c.Headers) > 0 && c.Type != Webhook {
		return invalid("channel.headers", "only a generic webhook sends headers of its own")
	}
	if len(c.Headers) > MaxHeaders {
		return invalid("channel.headers", "at most %d headers", MaxHeaders)
	}
	for name, v := range c.Headers {
		field := "channel.headers." + clip(name)
		if !job.HeaderName(name) {
			return invalid(field, "is not a header name")
		}
		switch strings.ToLower(name) {
		case "host", "content-type", "content-length", "transfer-encoding", "connection", "x-jobcenter-alert-id":
			return invalid(field, "is set by the center")
		}
		if len(v) > MaxHeaderValue || strings.ContainsAny(v, "\r\n\x00") {
			return invalid(field, "must be one line of at most %d bytes", MaxHeaderValue)
		}
		if v == Masked {
			return invalid(field, "send the value itself: %s keeps a value stored under this name only", Masked)
		}
	}
	return nil
}

// CheckURL refuses a webhook URL that is not http(s) with a host, or whose host is an
// address a webhook may not reach (Blocked) unless private allows it. A host name is
// checked again when its address is dialled.
func CheckURL(raw string, private bool) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return invalid("channel.url", "is required: the webhook's http or https URL")
	case len(raw) > MaxURL:
		return invalid("channel.url", "is longer than %d bytes", MaxURL)
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil:
		return invalid("channel.url", "must be an http or https URL with a host and no user, such as https://hooks.example.com/alerts")
	}
	if why := egress.BlockedHost(u.Hostname(), Reach(private)); why != "" {
		return invalid("channel.url", "%s (an operator may allow it with JOBCENTER_ALERTS_ALLOW_PRIVATE=true)", why)
	}
	return nil
}

func invalid(field, format string, args ...any) error {
	return &job.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func clip(s string) string { return job.Clip(s, 40) }

// Reach is how far a webhook may go: the internet only, or anywhere when private (an
// operator's JOBCENTER_ALERTS_ALLOW_PRIVATE).
func Reach(private bool) egress.Reach {
	if private {
		return egress.Any
	}
	return egress.Public
}

// Masked is what a read shows of a secret: secrets are written, never read back.
const Masked = "***"

// Redacted is the rule as reads show it: the URL's path and query (where webhooks carry
// their tokens), the secret and the headers' values masked.
func (r Rule) Redacted() Rule {
	c := r.Channel
	c.URL = RedactURL(c.URL)
	if c.Secret != "" {
		c.Secret = Masked
	}
	if len(c.Headers) > 0 {
		h := make(map[string]string, len(c.Headers))
		for k := range c.Headers {
			h[k] = Masked
		}
		c.Headers = h
	}
	r.Channel = c
	return r
}

// Keep returns the channel written in place of old: a value sent back as a read showed
// it (masked) keeps the one stored, so a rule read, edited and written keeps its secrets.
func (c Channel) Keep(old Channel) Channel {
	if c.Type != old.Type {
		return c
	}
	if c.URL != "" && c.URL == RedactURL(old.URL) {
		c.URL = old.URL
	}
	if c.Secret == Masked {
		c.Secret = old.Secret
	}
	for k, v := range c.Headers {
		if was, ok := old.Headers[k]; ok && v == Masked {
			c.Headers[k] = was
		}
	}
	return c
}

// RedactURL is the URL with its path and query masked: "https://oapi.dingtalk.com/***".
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	if (u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.Fragment == "" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + "://" + u.Host + "/" + Masked
}

// Target is where a channel sends, as a delivery's outcome shows it (secrets masked).
func (c Channel) Target() string {
	if c.Type == Email {
		return strings.Join(c.To, ", ")
	}
	return RedactURL(c.URL)
}
