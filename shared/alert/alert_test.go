package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
)

func webhook(url string) Rule {
	return Rule{ID: "r", Tenant: "p", Events: []string{Failure}, Enabled: true, Channel: Channel{Type: Webhook, URL: url}}
}

func TestARuleIsCheckedFieldByField(t *testing.T) {
	ok := webhook("https://hooks.example.com/x?token=1")
	for _, tc := range []struct {
		name  string
		edit  func(*Rule)
		field string
	}{
		{"no events", func(r *Rule) { r.Events = nil }, "events"},
		{"an unknown event", func(r *Rule) { r.Events = []string{Failure, "boom"} }, "events[1]"},
		{"an event twice", func(r *Rule) { r.Events = []string{Missed, Missed} }, "events[1]"},
		{"a job twice", func(r *Rule) { r.Jobs = []string{"a", "a"} }, "jobs[1]"},
		{"a name of two lines", func(r *Rule) { r.Name = "a\nb" }, "name"},
		{"no channel type", func(r *Rule) { r.Channel.Type = "" }, "channel.type"},
		{"no url", func(r *Rule) { r.Channel.URL = "" }, "channel.url"},
		{"a url with a user", func(r *Rule) { r.Channel.URL = "https://u:p@example.com" }, "channel.url"},
		{"a loopback url", func(r *Rule) { r.Channel.URL = "http://127.0.0.1:8001/api" }, "channel.url"},
		{"localhost", func(r *Rule) { r.Channel.URL = "http://LocalHost./x" }, "channel.url"},
		{"cloud metadata", func(r *Rule) { r.Channel.URL = "http://169.254.169.254/latest" }, "channel.url"},
		{"a private network", func(r *Rule) { r.Channel.URL = "http://[fd00::1]/x" }, "channel.url"},
		{"a secret on a plain webhook", func(r *Rule) { r.Channel.Secret = "s" }, "channel.secret"},
		{"headers on slack", func(r *Rule) { r.Channel.Type, r.Channel.Headers = Slack, map[string]string{"A": "b"} }, "channel.headers"},
		{"a header the center sets", func(r *Rule) { r.Channel.Headers = map[string]string{"Content-Type": "x"} }, "channel.headers.Content-Type"},
		{"a header value of two lines", func(r *Rule) { r.Channel.Headers = map[string]string{"X-A": "a\r\nB: c"} }, "channel.headers.X-A"},
		{"recipients on a webhook", func(r *Rule) { r.Channel.To = []string{"a@example.com"} }, "channel.to"},
		{"e-mail without recipients", func(r *Rule) { r.Channel = Channel{Type: Email} }, "channel.to"},
		{"e-mail to a name", func(r *Rule) { r.Channel = Channel{Type: Email, To: []string{"Ops <ops@example.com>"}} }, "channel.to[0]"},
		{"e-mail with a url", func(r *Rule) { r.Channel = Channel{Type: Email, To: []string{"a@example.com"}, URL: "https://x"} }, "channel"},
		{"a masked URL on a new rule", func(r *Rule) { r.Channel.URL = "https://hooks.example.com/***" }, "channel.url"},
		{"a masked secret on a new rule", func(r *Rule) { r.Channel.Type, r.Channel.Secret = DingTalk, Masked }, "channel.secret"},
		{"a masked header on a new rule", func(r *Rule) { r.Channel.Headers = map[string]string{"X-A": Masked} }, "channel.headers.X-A"},
		{"a threshold of 0", func(r *Rule) { r.Throttle = &Throttle{After: 0} }, "throttle.after"},
		{"a threshold without a window", func(r *Rule) { r.Throttle = &Throttle{After: 2} }, "throttle.within_seconds"},
		{"a silence over a day", func(r *Rule) { r.Throttle = &Throttle{After: 1, Silence: MaxWindow + 1} }, "throttle.silence_seconds"},
	} {
		r := ok
		r.Channel.Headers = nil
		tc.edit(&r)
		err := r.Check(false)
		var fe *job.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v, want a field error on %s", tc.name, err, tc.field)
		}
	}
	if err := ok.Check(false); err != nil {
		t.Fatal(err)
	}
	private := webhook("http://127.0.0.1:9/x")
	if err := private.Check(true); err != nil {
		t.Fatalf("a loopback webhook the operator allows: %v", err)
	}
	mail := Rule{Events: Events, Enabled: true, Channel: Channel{Type: Email, To: []string{"ops@example.com"}}, Throttle: &Throttle{After: 3, Within: 60, Silence: 600}}
	if err := mail.Check(false); err != nil {
		t.Fatal(err)
	}
}

func TestARuleWantsItsEventsOfItsJobsAndATimeoutIsAFailure(t *testing.T) {
	r := webhook("https://x")
	r.Jobs = []string{"a"}
	for _, tc := range []struct {
		event, job string
		want       bool
	}{{Failure, "a", true}, {Timeout, "a", true}, {Failure, "b", false}, {Missed, "a", false}} {
		if got := r.Wants(tc.event, tc.job); got != tc.want {
			t.Errorf("%s of %s: %v", tc.event, tc.job, got)
		}
	}
	r.Events, r.Jobs = []string{Timeout}, nil
	if r.Wants(Failure, "b") || !r.Wants(Timeout, "b") {
		t.Error("a rule of timeouts wants failures, or not timeouts")
	}
	r.Enabled = false
	if r.Wants(Timeout, "b") {
		t.Error("a disabled rule wants events")
	}
}

func TestAThrottleSendsOnceForNEventsWithinItsWindowThenStaysQuiet(t *testing.T) {
	th := &Throttle{After: 3, Within: 60, Silence: 300}
	var s State
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	steps := []struct {
		id   string
		at   int
		send bool
	}{
		{"e1", 0, false}, {"e2", 10, false},
		{"e3", 65, false},                     // e1 left the window: two within it
		{"e4", 68, true},                      // e2, e3, e4 within 60 s
		{"e5", 80, false}, {"e6", 300, false}, // quiet until 368
		{"e7", 370, false}, {"e8", 371, false}, {"e9", 372, true}, // counted anew after the silence
	}
	for _, st := range steps {
		d, _ := th.Decide(&s, st.id, at(st.at))
		if d.Send != st.send || (d.Send && d.Count != 3) {
			t.Fatalf("%s at %ds: %+v, want send %v", st.id, st.at, d, st.send)
		}
	}
	// Every event handled again gets its first decision, whatever came since, and
	// changes nothing.
	for _, st := range steps {
		if d, changed := th.Decide(&s, st.id, at(st.at)); d.Send != st.send || changed {
			t.Fatalf("%s again: %+v (changed %v), want send %v", st.id, d, changed, st.send)
		}
	}
	// The state survives its encoding (it is kept in a bucket between batches).
	data, _ := json.Marshal(s)
	var back State
	_ = json.Unmarshal(data, &back)
	if d, _ := th.Decide(&back, "e9", at(372)); !d.Send {
		t.Fatalf("e9 after a round trip: %+v", d)
	}
	// Events out of order count by their own times.
	var o State
	two := &Throttle{After: 2, Within: 10}
	if d, _ := two.Decide(&o, "late", at(20)); d.Send {
		t.Fatal("one event alerted")
	}
	if d, _ := two.Decide(&o, "early", at(15)); !d.Send {
		t.Fatal("two events 5 s apart, the later first, did not alert")
	}
	// Without a throttle every event is sent, and no state is needed.
	var none *Throttle
	if d, changed := none.Decide(&State{}, "x", t0); !none.Stateless() || !d.Send || changed {
		t.Fatal("no throttle")
	}
	if (&Throttle{After: 1, Silence: 60}).Stateless() || !(&Throttle{After: 1}).Stateless() {
		t.Fatal("a silence needs state; a threshold of one without silence does not")
	}
}

// A journal batch holds up to 512 events of one job: handled again after its alerts
// failed to be stored, it must send the same alerts, every one of them, and no other.
func TestABatchOfManyEventsHandledAgainSendsTheSameAlerts(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	for _, th := range []*Throttle{{After: 7, Within: 3600}, {After: 2, Within: 60}, {After: 3, Within: 600, Silence: 30}, {After: 1, Silence: 5}} {
		var s State
		first := map[string]bool{}
		for i := range 512 {
			id := fmt.Sprintf("j:%d:failure", i)
			d, _ := th.Decide(&s, id, t0.Add(time.Duration(i)*time.Second))
			first[id] = d.Send
		}
		data, _ := json.Marshal(s)
		for i := range 512 {
			id := fmt.Sprintf("j:%d:failure", i)
			if d, _ := th.Decide(&s, id, t0.Add(time.Duration(i)*time.Second)); d.Send != first[id] {
				t.Fatalf("%+v: %s decided %v, then %v", *th, id, first[id], d.Send)
			}
		}
		if len(data) > 100<<10 {
			t.Fatalf("%+v: the state is %d bytes", *th, len(data))
		}
		if len(s.Sent) > SentKept || len(s.Counted) > th.After {
			t.Fatalf("%+v: the state grew: %d sent, %d counted", *th, len(s.Sent), len(s.Counted))
		}
	}
}

func TestDingTalkAndFeishuMessagesAreSignedAsTheirRobotsCheck(t *testing.T) {
	a := contracts.Alert{ID: "r:j-1:failure", Tenant: "p", RuleID: "r", Event: Failure, JobID: "j", JobName: "nightly", FireID: "j@1",
		At: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC), Detail: "boom"}
	now := time.UnixMilli(1700000000000)
	// The expected signatures are Python's hmac over the robots' documented strings.
	d, err := Build(Channel{Type: DingTalk, URL: "https://oapi.dingtalk.com/robot/send?access_token=T", Secret: "SEC123"}, a, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.URL, "sign=lkcPI1uoxBY1gUnCnnPH1Kkru0Hqjo7rFpA3haIVhEQ%3D") || !strings.Contains(d.URL, "timestamp=1700000000000") || !strings.Contains(d.URL, "access_token=T") {
		t.Fatalf("DingTalk's URL: %s", d.URL)
	}
	var dm struct {
		MsgType string            `json:"msgtype"`
		Text    map[string]string `json:"text"`
	}
	_ = json.Unmarshal(d.Body, &dm)
	if dm.MsgType != "text" || !strings.HasPrefix(dm.Text["content"], "Job Center: a run of nightly (j) failed\n") || !strings.Contains(dm.Text["content"], "boom") {
		t.Fatalf("DingTalk's body: %s", d.Body)
	}
	f, _ := Build(Channel{Type: Feishu, URL: "https://open.feishu.cn/open-apis/bot/v2/hook/x", Secret: "SEC123"}, a, now)
	var fm map[string]any
	_ = json.Unmarshal(f.Body, &fm)
	if fm["timestamp"] != "1700000000" || fm["sign"] != "j/tImR0k8vYXRsYw0+GHVQkV1v/J/8obOuMU7PE/KDo=" || fm["msg_type"] != "text" {
		t.Fatalf("Feishu's body: %s", f.Body)
	}
	w, _ := Build(Channel{Type: Webhook, URL: "https://x"}, a, now)
	var back contracts.Alert
	if json.Unmarshal(w.Body, &back) != nil || back.ID != a.ID {
		t.Fatalf("the generic webhook's body is not the alert: %s", w.Body)
	}
	s, _ := Build(Channel{Type: Slack, URL: "https://x"}, a, now)
	if !strings.HasPrefix(string(s.Body), `{"text":"Job Center: a run of nightly`) {
		t.Fatalf("Slack's body: %s", s.Body)
	}
}

func TestAChannelsAnswerSaysWhetherItTookTheAlert(t *testing.T) {
	for _, tc := range []struct {
		typ    string
		status int
		body   string
		ok     bool
	}{
		{Webhook, 204, "", true}, {Webhook, 500, "down", false}, {Webhook, 302, "", false},
		{DingTalk, 200, `{"errcode":0,"errmsg":"ok"}`, true}, {DingTalk, 200, `{"errcode":310000,"errmsg":"sign not match"}`, false},
		{DingTalk, 200, `ok`, false}, {WeCom, 200, `{"errcode":93000,"errmsg":"invalid webhook url"}`, false},
		{Feishu, 200, `{"code":0,"msg":"success"}`, true}, {Feishu, 200, `{"code":19021,"msg":"sign match fail"}`, false},
		{Feishu, 200, `{"StatusCode":0}`, true}, {Slack, 200, "ok", true},
	} {
		why := Accepted(Channel{Type: tc.typ}, tc.status, []byte(tc.body))
		if (why == "") != tc.ok {
			t.Errorf("%s %d %s: %q", tc.typ, tc.status, tc.body, why)
		}
	}
}

func TestReadsMaskSecretsAndAWriteOfTheMaskKeepsThem(t *testing.T) {
	r := webhook("https://hooks.slack.com/services/T/B/XYZ")
	r.Channel.Headers = map[string]string{"Authorization": "Bearer t"}
	red := r.Redacted()
	if red.Channel.URL != "https://hooks.slack.com/***" || red.Channel.Headers["Authorization"] != Masked || r.Channel.Headers["Authorization"] != "Bearer t" {
		t.Fatalf("redacted: %+v (the rule: %+v)", red.Channel, r.Channel)
	}
	if got := RedactURL("https://example.com"); got != "https://example.com" {
		t.Fatalf("a URL with nothing to hide: %s", got)
	}
	back := red.Channel
	back.Headers = map[string]string{"Authorization": Masked, "X-New": "1"}
	kept := back.Keep(r.Channel)
	if kept.URL != r.Channel.URL || kept.Headers["Authorization"] != "Bearer t" || kept.Headers["X-New"] != "1" {
		t.Fatalf("kept: %+v", kept)
	}
	changed := Channel{Type: Webhook, URL: "https://other.example.com/hook"}
	if got := changed.Keep(r.Channel); got.URL != changed.URL {
		t.Fatalf("a new URL was not taken: %s", got.URL)
	}
	d := Channel{Type: DingTalk, URL: "https://oapi.dingtalk.com/robot/send?access_token=T", Secret: "s"}
	if red := (Rule{Channel: d}).Redacted(); red.Channel.Secret != Masked || red.Channel.URL != "https://oapi.dingtalk.com/***" {
		t.Fatalf("DingTalk redacted: %+v", red.Channel)
	}
}

func TestAnAlertByEMailIsOneMessageWithItsIdAndAnEncodedSubject(t *testing.T) {
	a := contracts.Alert{ID: "r:j-1:failure", Tenant: "p", RuleID: "r", Event: Failure, JobID: "j", JobName: "每日报表", At: time.Unix(0, 0), Count: 3}
	m := string(Mail(a, "jc@example.com", []string{"a@example.com", "b@example.com"}, time.Unix(0, 0)))
	for _, want := range []string{"From: jc@example.com\r\n", "To: a@example.com, b@example.com\r\n", "Subject: =?utf-8?b?", "X-Jobcenter-Alert-Id: r:j-1:failure\r\n", "\r\n\r\n"} {
		if !strings.Contains(m, want) {
			t.Fatalf("the message lacks %q:\n%s", want, m)
		}
	}
	for _, line := range strings.Split(m, "\r\n") {
		if len(line) > 998 {
			t.Fatalf("a line of %d bytes", len(line))
		}
	}
}
