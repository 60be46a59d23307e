package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"

	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// hook is a webhook that records the alerts it receives, by id; it refuses the first
// attempt at each alert whose id contains failFirst.
type hook struct {
	*httptest.Server
	mu        sync.Mutex
	got       map[string][]map[string]any
	order     []string
	failFirst string
	refused   map[string]bool
	// down answers every request with 500.
	down   atomic.Bool
	bodies []string
}

func newHook(t *testing.T) *hook {
	h := &hook{got: map[string][]map[string]any{}, refused: map[string]bool{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var a map[string]any
		_ = json.Unmarshal(body, &a)
		id := r.Header.Get("X-Jobcenter-Alert-Id")
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.down.Load() {
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		}
		if h.failFirst != "" && strings.Contains(id, h.failFirst) && !h.refused[id] {
			h.refused[id] = true
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if _, seen := h.got[id]; !seen {
			h.order = append(h.order, id)
		}
		h.got[id] = append(h.got[id], a)
		h.bodies = append(h.bodies, string(body))
	}))
	t.Cleanup(h.Close)
	return h
}

// alerts are the alerts received of an event, each once.
func (h *hook) alerts(event string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]any
	for _, id := range h.order {
		if a := h.got[id][0]; a["event"] == event {
			out = append(out, a)
		}
	}
	return out
}

func (h *hook) twice() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for id, as := range h.got {
		if len(as) > 1 {
			out = append(out, id)
		}
	}
	return out
}

func (h *hook) waitAlerts(t *testing.T, event string, n int) []map[string]any {
	t.Helper()
	var got []map[string]any
	teststack.Eventually(t, 15*time.Second, "the webhook never got the alerts", func() bool {
		got = h.alerts(event)
		return len(got) >= n
	})
	return got
}

// smtpServer is a mail server speaking enough SMTP for net/smtp: it keeps each message.
type smtpServer struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
	rcpt [][]string
}

func newSMTPServer(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	say := func(line string) { _, _ = io.WriteString(conn, line+"\r\n") }
	say("220 test ESMTP")
	var to []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-test\r\n250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			to = nil
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			to = append(to, strings.Trim(strings.TrimSpace(line)[len("RCPT TO:"):], "<>"))
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			s.mu.Lock()
			s.msgs, s.rcpt = append(s.msgs, msg.String()), append(s.rcpt, to)
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *smtpServer) messages() ([]string, [][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs), slices.Clone(s.rcpt)
}

// newAlertingCenter is a center whose alerts may reach this machine (the test's
// webhooks) and go out by e-mail through mail.
func newAlertingCenter(t *testing.T, mail *smtpServer) *center {
	return newCenterWithAll(t, func(c *api.Config) { c.AlertsAllowPrivate = true }, func(c *executor.Config) {
		c.MaxSteps = 2_000_000_000 // a run that times out, not one that runs out of steps
	}, func(c *trigger.Config) {
		c.Alerts.AllowPrivate, c.Alerts.Backoff, c.Alerts.Attempts = true, 50*time.Millisecond, 3
		if mail != nil {
			c.Alerts.SMTP.Addr, c.Alerts.SMTP.TLS, c.Alerts.SMTP.From = mail.ln.Addr().String(), "none", "alerts@jobcenter.test"
		}
	})
}

func TestAlertsAreSentOncePerEventToEachRulesChannel(t *testing.T) {
	mail := newSMTPServer(t)
	c := newAlertingCenter(t, mail)
	ctx := context.Background()
	cl := newClient(t, c, "p", jobcenter.WithUser("alice"))
	h := newHook(t)
	h.failFirst = ":test:" // the test alert's first attempt is refused: it is retried

	code := func(name, code string) jobcenter.JobSpec {
		return jobcenter.JobSpec{Pid: pid, Name: name, Trigger: jobcenter.TriggerInterval, Seconds: 60, Code: code}
	}
	failing := must(cl.AddJob(ctx, code("failing", "fail('the disk is full')")))(t)
	fine := must(cl.AddJob(ctx, code("fine", "return 1")))(t)
	slow := code("slow", "n = 0\nfor i in range(100000000):\n    n += i\nreturn n")
	slow.Timeout = ptr[int64](1)
	slowJob := must(cl.AddJob(ctx, slow))(t)

	// Bad rules: refused naming the field, nothing stored.
	for _, tc := range []struct {
		spec  jobcenter.AlertRuleSpec
		field string
	}{
		{jobcenter.AlertRuleSpec{Channel: jobcenter.AlertChannel{Type: "webhook", URL: h.URL}}, "events"},
		{jobcenter.AlertRuleSpec{Events: []string{"failure", "exploded"}, Channel: jobcenter.AlertChannel{Type: "webhook", URL: h.URL}}, "events[1]"},
		{jobcenter.AlertRuleSpec{Events: []string{"failure"}, Channel: jobcenter.AlertChannel{Type: "pager", URL: h.URL}}, "channel.type"},
		{jobcenter.AlertRuleSpec{Events: []string{"failure"}, Channel: jobcenter.AlertChannel{Type: "slack", URL: "ftp://x"}}, "channel.url"},
		{jobcenter.AlertRuleSpec{Events: []string{"failure"}, Channel: jobcenter.AlertChannel{Type: "email", To: []string{"not an address"}}}, "channel.to[0]"},
		{jobcenter.AlertRuleSpec{Events: []string{"failure"}, Jobs: []string{"no-such-job"}, Channel: jobcenter.AlertChannel{Type: "webhook", URL: h.URL}}, "jobs[0]"},
		{jobcenter.AlertRuleSpec{Events: []string{"failure"}, Channel: jobcenter.AlertChannel{Type: "webhook", URL: h.URL}, Throttle: &jobcenter.AlertThrottle{After: 3}}, "throttle.within_seconds"},
	} {
		_, err := cl.AddAlertRule(ctx, tc.spec)
		apiErr(t, err, 400, "invalid", tc.field)
	}
	if rules := must(cl.AlertRules(ctx))(t); len(rules) != 0 {
		t.Fatalf("refused rules were stored: %v", rules)
	}

	// A rule for every job's failures, to a webhook with a header of its own.
	all := must(cl.AddAlertRule(ctx, jobcenter.AlertRuleSpec{Name: "on call", Events: []string{"failure", "paused"},
		Channel: jobcenter.AlertChannel{Type: "webhook", URL: h.URL + "/hook?token=s3cret", Headers: map[string]string{"Authorization": "Bearer xyz"}}}))(t)
	if !all.Enabled || all.Channel.URL != h.URL+"/***" || all.Channel.Headers["Authorization"] != "***" {
		t.Fatalf("the rule read back shows its secrets: %+v", all.Channel)
	}
	// Another project sees none of it.
	other := newClient(t, c, "q")
	_, err := other.AlertRule(ctx, all.ID)
	apiErr(t, err, 404, "not_found", "")
	// By e-mail, only the failing job's, at most one per three failures in ten minutes.
	throttled := must(cl.AddAlertRule(ctx, jobcenter.AlertRuleSpec{Events: []string{"failure"}, Jobs: []string{failing.JobID},
		Channel:  jobcenter.AlertChannel{Type: "email", To: []string{"ops@example.com", "dev@example.com"}},
		Throttle: &jobcenter.AlertThrottle{After: 3, Within: 600, Silence: 3600}}))(t)
	if !slices.Equal(throttled.Jobs, []string{failing.ID}) {
		t.Fatalf("a job named by its jobId is kept by its id: %v", throttled.Jobs)
	}

	// Five failed runs: five alerts at the webhook, one each; one e-mail, for three.
	var runs []string
	for range 5 {
		runs = append(runs, must(cl.ExecJob(ctx, failing.ID))(t).FireID)
	}
	must(cl.ExecJob(ctx, fine.ID))(t)
	waitRuns(t, cl, failing.ID, 5)
	got := h.waitAlerts(t, "failure", 5)
	for _, a := range got {
		if a["job_id"] != failing.ID || a["job_name"] != "failing" || a["tenant"] != "p" || a["rule_id"] != all.ID ||
			!slices.Contains(runs, a["triggerid"].(string)) || !strings.Contains(a["detail"].(string), "the disk is full") {
			t.Fatalf("an alert: %v", a)
		}
	}
	teststack.Eventually(t, 10*time.Second, "the throttled e-mail", func() bool { m, _ := mail.messages(); return len(m) == 1 })
	msgs, rcpt := mail.messages()
	if !slices.Equal(rcpt[0], []string{"ops@example.com", "dev@example.com"}) || !strings.Contains(msgs[0], "Subject: [failure] a run of failing (") ||
		!strings.Contains(msgs[0], "failed (3 times)\r\n") || !strings.Contains(msgs[0], "X-Jobcenter-Alert-Id: "+throttled.ID+":") {
		t.Fatalf("the e-mail to %v:\n%s", rcpt, msgs[0])
	}

	// A run that timed out is a timeout, which a rule of failures wants too. A rule of
	// timeouts whose webhook is down tries three times, then gives up, saying why.
	down := newHook(t)
	down.down.Store(true)
	gaveUp := must(cl.AddAlertRule(ctx, jobcenter.AlertRuleSpec{Events: []string{"timeout"}, Jobs: []string{slowJob.ID},
		Channel: jobcenter.AlertChannel{Type: "slack", URL: down.URL + "/services/T/B/X"}}))(t)
	must(cl.ExecJob(ctx, slowJob.ID))(t)
	if a := h.waitAlerts(t, "timeout", 1)[0]; a["job_id"] != slowJob.ID {
		t.Fatalf("the timeout's alert: %v", a)
	}
	teststack.Eventually(t, 15*time.Second, "the delivery given up", func() bool {
		p := must(cl.AlertDeliveries(ctx, jobcenter.DeliveryQuery{RuleID: gaveUp.ID, Status: "failed"}))(t)
		return len(p.Deliveries) == 1 && p.Deliveries[0].Attempts == 3 && p.Deliveries[0].Event == "timeout" &&
			strings.Contains(p.Deliveries[0].Error, "given up after 3 attempts: answered 500 down for maintenance")
	})
	if err := cl.DeleteAlertRule(ctx, gaveUp.ID); err != nil {
		t.Fatal(err)
	}

	// The test alert: refused once by the webhook, delivered on the second attempt.
	testID := must(cl.TestAlertRule(ctx, all.ID))(t)
	h.waitAlerts(t, "test", 1)
	var ds *jobcenter.DeliveryPage
	teststack.Eventually(t, 10*time.Second, "the deliveries recorded", func() bool {
		ds = must(cl.AlertDeliveries(ctx, jobcenter.DeliveryQuery{RuleID: all.ID}))(t)
		return len(ds.Deliveries) == 7 && !slices.ContainsFunc(ds.Deliveries, func(d jobcenter.AlertDelivery) bool { return d.Status != "delivered" })
	})
	for _, d := range ds.Deliveries {
		want := 1
		if d.ID == testID {
			want = 2
		}
		if d.Attempts != want || d.Channel != "webhook" || d.Target != h.URL+"/***" || d.DeliveredAt == nil {
			t.Fatalf("a delivery: %+v", d)
		}
	}
	// Paged, two at a time, every delivery once.
	seen := map[string]bool{}
	for q := (jobcenter.DeliveryQuery{Limit: 2}); ; {
		p := must(cl.AlertDeliveries(ctx, q))(t)
		for _, d := range p.Deliveries {
			if seen[d.ID] {
				t.Fatalf("delivery %s on two pages", d.ID)
			}
			seen[d.ID] = true
		}
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
	}
	if len(seen) != 9 {
		t.Fatalf("the pages held %d deliveries, want 9 (7 webhook, 1 e-mail, 1 given up)", len(seen))
	}
	if p := must(other.AlertDeliveries(ctx, jobcenter.DeliveryQuery{}))(t); len(p.Deliveries) != 0 {
		t.Fatalf("another project sees the deliveries: %+v", p.Deliveries)
	}

	// A job paused by its failures: its alert says so.
	pausing := code("pausing", "fail('no')")
	pausing.PauseAfterFailures = ptr[int64](2)
	pj := must(cl.AddJob(ctx, pausing))(t)
	must(cl.StartJob(ctx, pj.ID))(t)
	for i := 1; i <= 2; i++ {
		c.clk.Advance(60 * time.Second)
		waitRuns(t, cl, pj.ID, i)
	}
	if a := h.waitAlerts(t, "paused", 1)[0]; a["job_id"] != pj.ID || !strings.Contains(a["detail"].(string), "2 of its runs in a row failed") {
		t.Fatalf("the pause's alert: %v", a)
	}

	// Edited with its secrets sent back masked: they are kept. Disabled: no alerts.
	spec := must(cl.AlertRule(ctx, all.ID))(t).Spec()
	off := false
	spec.Enabled = &off
	must(cl.UpdateAlertRule(ctx, all.ID, spec))(t)
	before := len(h.alerts("failure"))
	must(cl.ExecJob(ctx, failing.ID))(t)
	waitRuns(t, cl, failing.ID, 6)
	on := true
	spec.Enabled = &on
	must(cl.UpdateAlertRule(ctx, all.ID, spec))(t)
	must(cl.ExecJob(ctx, failing.ID))(t)
	waitRuns(t, cl, failing.ID, 7)
	h.waitAlerts(t, "failure", before+1)
	time.Sleep(300 * time.Millisecond)
	if n := len(h.alerts("failure")); n != before+1 {
		t.Fatalf("%d failure alerts after a run with the rule off and one with it on; want %d", n, before+1)
	}
	h.mu.Lock()
	last := h.bodies[len(h.bodies)-1]
	h.mu.Unlock()
	if !strings.Contains(last, `"event":"failure"`) {
		t.Fatalf("the last alert: %s", last)
	}
	if twice := h.twice(); len(twice) > 0 {
		t.Fatalf("alerts received twice: %v", twice)
	}

	if err := cl.DeleteAlertRule(ctx, all.ID); err != nil {
		t.Fatal(err)
	}
	_, err = cl.AlertRule(ctx, all.ID)
	apiErr(t, err, 404, "not_found", "")
}

// Without the operator's leave, a webhook may not name this machine or a private network:
// the rule is refused (the address dialled is checked too, in package alerting's tests).
func TestAnAlertWebhookCannotReachTheCentersOwnMachine(t *testing.T) {
	c := newCenter(t)
	ctx := context.Background()
	cl := newClient(t, c, "p")
	h := newHook(t)
	for _, u := range []string{h.URL, "http://localhost:8001/api", "http://[::1]/x", "http://169.254.169.254/latest/meta-data", "http://10.0.0.7/hook"} {
		_, err := cl.AddAlertRule(ctx, jobcenter.AlertRuleSpec{Events: []string{"failure"}, Channel: jobcenter.AlertChannel{Type: "webhook", URL: u}})
		if ae := apiErr(t, err, 400, "invalid", "channel.url"); !strings.Contains(ae.Message, "JOBCENTER_ALERTS_ALLOW_PRIVATE") {
			t.Fatalf("%s: %s", u, ae.Message)
		}
	}
}

// A missed fire and a skipped run raise their alerts; an alert whose channel is down
// when the trigger stops is delivered, once, by the trigger started again.
func TestMissedAndSkippedFiresAlertAndAnAlertOutlivesARestart(t *testing.T) {
	c := newCenterWithAll(t, func(c *api.Config) { c.AlertsAllowPrivate = true }, func(c *executor.Config) { c.MaxSteps = 2_000_000_000 },
		func(c *trigger.Config) {
			c.Alerts.AllowPrivate, c.Alerts.Backoff, c.Alerts.Attempts = true, 100*time.Millisecond, 50
		})
	ctx := context.Background()
	cl := newClient(t, c, "p")
	h := newHook(t)
	must(cl.AddAlertRule(ctx, jobcenter.AlertRuleSpec{Events: []string{"missed", "skipped", "failure"}, Channel: jobcenter.AlertChannel{Type: "webhook", URL: h.URL}}))(t)

	late := jobcenter.JobSpec{Pid: pid, Name: "late", Trigger: jobcenter.TriggerInterval, Seconds: 10, Code: "return 1", MisfireGraceTime: ptr[int64](1)}
	lj := must(cl.AddJob(ctx, late))(t)
	must(cl.StartJob(ctx, lj.ID))(t)
	// The scheduler is away for 45 s: the fires due coalesce into one, 5 s late.
	c.clk.Advance(45 * time.Second)
	if a := h.waitAlerts(t, "missed", 1)[0]; a["job_id"] != lj.ID || !strings.Contains(a["detail"].(string), "misfire_grace_time") {
		t.Fatalf("the missed fire's alert: %v", a)
	}
	must(cl.StopJob(ctx, lj.ID))(t)

	slow := jobcenter.JobSpec{Pid: pid, Name: "slow", Trigger: jobcenter.TriggerInterval, Seconds: 3600, Timeout: ptr[int64](2),
		Code: "n = 0\nfor i in range(1000000000):\n    n += i\nreturn n"}
	sj := must(cl.AddJob(ctx, slow))(t)
	must(cl.ExecJob(ctx, sj.ID))(t)
	teststack.Eventually(t, 10*time.Second, "the slow run to begin", func() bool {
		p := must(cl.Journal(ctx, sj.ID, 1, 10))(t)
		return len(p.Data) == 1 && p.Data[0].ExeStatus == "running"
	})
	skippedRun := must(cl.ExecJob(ctx, sj.ID))(t).FireID
	if a := h.waitAlerts(t, "skipped", 1)[0]; a["triggerid"] != skippedRun {
		t.Fatalf("the skipped run's alert: %v", a)
	}

	h.down.Store(true)
	failing := must(cl.AddJob(ctx, jobcenter.JobSpec{Pid: pid, Name: "failing", Trigger: jobcenter.TriggerInterval, Seconds: 60, Code: "fail('x')"}))(t)
	must(cl.ExecJob(ctx, failing.ID))(t)
	teststack.Eventually(t, 10*time.Second, "the alert to be retried", func() bool {
		p := must(cl.AlertDeliveries(ctx, jobcenter.DeliveryQuery{Status: "retrying"}))(t)
		return len(p.Deliveries) == 1
	})
	c.stop("trigger")
	h.down.Store(false)
	c.startTrigger()
	got := h.waitAlerts(t, "failure", 1)
	var d jobcenter.AlertDelivery
	teststack.Eventually(t, 10*time.Second, "the delivery recorded", func() bool {
		p := must(cl.AlertDeliveries(ctx, jobcenter.DeliveryQuery{JobID: failing.ID}))(t)
		if len(p.Deliveries) == 1 {
			d = p.Deliveries[0]
		}
		return d.Status == "delivered"
	})
	if d.Attempts < 2 || d.ID != got[0]["id"] || len(h.twice()) > 0 {
		t.Fatalf("the delivery after the restart: %+v, received twice: %v", d, h.twice())
	}
}
