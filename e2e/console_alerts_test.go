package e2e_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jobcenter/jobcenter/shared/teststack"
)

// The console's Alerts panel in a real browser, against a center whose alerts may reach
// this machine: a rule added through the form to a recording webhook (refused first for
// its URL, the api's words shown by the form), a failing run's alert received and shown
// delivered, a test alert, the deliveries filtered and paged, an edit that keeps the URL
// and header stored behind their masks, an e-mail rule with a throttle, the rules
// deleted; in English and Chinese. Its screenshots are the console's, named alerts-….
func TestConsoleAlertsPanelAddsTestsEditsAndDeletesARuleAndShowsItsDeliveries(t *testing.T) {
	exe := chromium(t)
	const project = "console-alerts"
	c := newAlertingCenter(t, nil)
	h := newHook(t)
	// In front of the hook, what each alert came with: the hook takes any path, and the
	// stored URL and header must be told from their masks.
	var mu sync.Mutex
	came := map[string]string{} // alert id → its request's path and query, and X-Token
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		came[r.Header.Get("X-Jobcenter-Alert-Id")] = r.URL.RequestURI() + " " + r.Header.Get("X-Token")
		mu.Unlock()
		h.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	const stored = "/hook?token=s3cret abc"

	jobID := c.do("POST", "/api/v1/jobs", project, map[string]any{"pid": pid, "name": "failing 失败", "trigger": "interval",
		"seconds": 3600, "code": "fail('x')"}).must(t, 201).obj(t)["id"].(string)

	proxy := contractProxy(t, c.url)
	b := newBrowser(t, exe, artifacts(t, "console", "alerts-"))
	b.prefix = "alerts-"
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := func(sel string) string {
		t.Helper()
		return eval[string](b, fmt.Sprintf(`document.querySelector(%q).textContent`, sel))
	}
	value := func(id string) string {
		t.Helper()
		return eval[string](b, fmt.Sprintf(`document.getElementById(%q).value`, id))
	}
	ruleRow := func(id, rest string) string { return fmt.Sprintf(`#alert-rules tr[data-id=%q]%s`, id, rest) }

	// The project's console, in English, its live stream connected: the failing job listed.
	b.do("open /ui", chromedp.Navigate(proxy+"/ui"), chromedp.WaitVisible(css("#login-form")))
	b.wait("the page's script", `document.body.dataset.ready === "true"`, 10*time.Second)
	b.fill("lang", "en")
	b.fill("project", project)
	b.do("log in", chromedp.Click(css("#login-go")), chromedp.WaitVisible(css("#jobs-panel")))
	b.wait("the live stream", `document.getElementById("live").dataset.state === "on"`, 10*time.Second)
	b.wait("the failing job", row(jobID)+` !== null`, 10*time.Second)

	// The panel opens empty, its labels in English.
	b.do("open the alerts", chromedp.Click(css("#open-alerts")), chromedp.WaitVisible(css("#alerts-panel")))
	b.wait("no rules", `!document.getElementById("alert-rules-empty").hidden && document.getElementById("deliveries-count").textContent === "0 shown"`, 10*time.Second)
	for sel, want := range map[string]string{
		"#alerts-panel h2": "Alerts", "#alert-new": "Add rule", `#alerts-panel h3[data-i18n="deliveries.title"]`: "Deliveries",
		"#alert-rules thead th": "Name", "#deliveries thead th": "Raised at", `#deliveries-status option[value="failed"]`: "failed",
	} {
		if got := text(sel); got != want {
			t.Errorf("in English, %s reads %q, want %q", sel, got, want)
		}
	}
	b.screenshot("open")

	// A rule through the form: the job picked from the list, a webhook with a header. A
	// URL the api refuses is refused next to the form, in the api's words, its field marked.
	b.do("add a rule", chromedp.Click(css("#alert-new")), chromedp.WaitVisible(css("#alert-form")))
	if got := text("#alert-form-title"); got != "Add an alert rule" {
		t.Fatalf("the form's title: %q", got)
	}
	b.fill("a-name", "on call 值班")
	b.fill("a-job-pick", jobID)
	if got := value("a-jobs"); got != jobID {
		t.Fatalf("the job picked: the jobs field holds %q", got)
	}
	b.fill("a-type", "webhook")
	b.fill("a-url", "ftp://x")
	b.fill("a-headers", "X-Token: abc")
	b.do("save a bad URL", chromedp.Click(css("#alert-save")))
	b.wait("the api's refusal", `!document.getElementById("alert-error").hidden &&
		document.getElementById("alert-error").textContent.startsWith("Error 400: channel.url: must be an http or https URL") &&
		document.getElementById("a-url").classList.contains("invalid")`, 10*time.Second)
	b.screenshot("refused")
	if rules := c.do("GET", "/api/v1/alerts", project, nil).must(t, 200).obj(t)["rules"].([]any); len(rules) != 0 {
		t.Fatalf("a refused rule was stored: %v", rules)
	}
	b.fill("a-url", front.URL+"/hook?token=s3cret")
	b.do("save the rule", chromedp.Click(css("#alert-save")))
	b.wait("the rule in the list", `document.getElementById("alert-form").hidden &&
		[...document.querySelectorAll("#alert-rules tbody td.name")].some(td => td.textContent === "on call 值班")`, 10*time.Second)
	rules := c.do("GET", "/api/v1/alerts", project, nil).must(t, 200).obj(t)["rules"].([]any)
	if len(rules) != 1 {
		t.Fatalf("rules stored: %v", rules)
	}
	rule := rules[0].(map[string]any)
	ruleID := rule["id"].(string)
	ch := rule["channel"].(map[string]any)
	if fmt.Sprint(rule["events"], rule["jobs"], rule["enabled"]) != fmt.Sprintf("[failure] [%s] true", jobID) ||
		ch["url"] != front.URL+"/***" || fmt.Sprint(ch["headers"]) != "map[X-Token:***]" {
		t.Fatalf("the rule stored: %v", rule)
	}
	for cell, want := range map[string]string{"td.events": "failure", "td.jobs": "failing 失败", "td.channel": "Webhook (JSON)" + front.URL + "/***",
		"td.throttle": "every event", "[data-state]": "on"} {
		if got := text(ruleRow(ruleID, " "+cell)); got != want {
			t.Errorf("the rule's row: %s reads %q, want %q", cell, got, want)
		}
	}

	// The job fails, run from the console: the webhook has the alert, and the table, which
	// the page reads again after a failed run, shows it delivered.
	b.do("run the failing job", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="exec"]`, jobID))))
	if a := h.waitAlerts(t, "failure", 1)[0]; a["job_id"] != jobID || a["rule_id"] != ruleID {
		t.Fatalf("the failure's alert: %v", a)
	}
	b.wait("the failure's delivery", `[...document.querySelectorAll('#deliveries tbody tr[data-event="failure"][data-status="delivered"]')].some(tr =>
		tr.querySelector("td.job").textContent === "failing 失败" && tr.querySelector("td.attempts").textContent === "1" &&
		tr.querySelector("td.target").textContent === "Webhook (JSON) `+front.URL+`/***" && tr.querySelector("td.run").textContent.startsWith("`+jobID+`"))`, 15*time.Second)
	b.screenshot("delivered")

	// Test: the alert's id is shown, then its delivery.
	b.do("test the rule", chromedp.Click(css(ruleRow(ruleID, ` button[data-action="test"]`))))
	b.wait("the test alert's id", `document.getElementById("alerts-note").textContent.includes("`+ruleID+`:test:")`, 10*time.Second)
	h.waitAlerts(t, "test", 1)
	b.wait("the test's delivery", `(() => { const tr = document.querySelector('#deliveries tbody tr.fresh[data-event="test"]');
		return tr !== null && tr.dataset.status === "delivered" && document.getElementById("alerts-note").textContent.includes(tr.dataset.id); })()`, 15*time.Second)
	b.screenshot("tested")

	// A click on the rule's row filters the deliveries by it; by status too; again, all.
	b.do("filter by the rule", chromedp.Click(css(ruleRow(ruleID, " td.name"))))
	b.wait("the rule's deliveries", `document.getElementById("deliveries-rule").value === "`+ruleID+`" &&
		document.querySelector('#alert-rules tr[data-id="`+ruleID+`"]').classList.contains("selected") &&
		document.querySelectorAll('#deliveries tbody tr[data-rule="`+ruleID+`"]').length === 2`, 10*time.Second)
	b.fill("deliveries-status", "failed")
	b.wait("no failed deliveries", `document.querySelectorAll("#deliveries tbody tr").length === 0 && !document.getElementById("deliveries-empty").hidden`, 10*time.Second)
	b.fill("deliveries-status", "delivered")
	b.wait("the delivered ones", `document.querySelectorAll('#deliveries tbody tr[data-status="delivered"]').length === 2`, 10*time.Second)
	b.fill("deliveries-status", "")
	b.do("every rule again", chromedp.Click(css(ruleRow(ruleID, " td.name"))))
	b.wait("no rule filter", `document.getElementById("deliveries-rule").value === "" && document.querySelector("#alert-rules tr.selected") === null`, 10*time.Second)

	// Edit: the form holds the rule as read, masks and all; written back with another
	// name, it keeps the URL and header stored, which the next alert is sent with.
	b.do("edit the rule", chromedp.Click(css(ruleRow(ruleID, ` button[data-action="edit"]`))), chromedp.WaitVisible(css("#alert-form")))
	got := eval[string](b, `["alert-form-title"].map(id => document.getElementById(id).textContent).concat(
		["a-name", "a-jobs", "a-type", "a-url", "a-headers", "a-after"].map(id => document.getElementById(id).value),
		[...document.querySelectorAll("#a-events input:checked")].map(c => c.value), [document.getElementById("a-enabled").checked]).join("|")`)
	if want := strings.Join([]string{"Edit the alert rule", "on call 值班", jobID, "webhook", front.URL + "/***", "X-Token: ***", "", "failure", "true"}, "|"); got != want {
		t.Fatalf("the edit form holds\n%s\nwant\n%s", got, want)
	}
	if eval[bool](b, `document.getElementById("a-masked-hint").hidden`) {
		t.Error("the form does not say masked values are kept")
	}
	b.screenshot("edit")
	b.fill("a-name", "on call 2 值班")
	b.do("save the change", chromedp.Click(css("#alert-save")))
	b.wait("the new name in the list", `document.getElementById("alert-form").hidden && document.querySelector('#alert-rules tr[data-id="`+ruleID+`"] td.name').textContent === "on call 2 值班"`, 10*time.Second)
	rule = c.do("GET", "/api/v1/alerts/"+ruleID, project, nil).must(t, 200).obj(t)
	if rule["name"] != "on call 2 值班" || rule["channel"].(map[string]any)["url"] != front.URL+"/***" {
		t.Fatalf("the rule after the edit: %v", rule)
	}
	b.do("run the failing job again", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="exec"]`, jobID))))
	h.waitAlerts(t, "failure", 2)
	b.wait("both failures delivered", `document.querySelectorAll('#deliveries tbody tr[data-event="failure"][data-status="delivered"]').length === 2`, 15*time.Second)
	mu.Lock()
	if len(came) != 3 {
		t.Errorf("the webhook got %d alerts, want 3 (two failures, a test): %v", len(came), came)
	}
	for id, with := range came {
		if with != stored {
			t.Errorf("alert %s came to %q, want %q: the stored URL and header were not kept", id, with, stored)
		}
	}
	mu.Unlock()
	b.screenshot("edited")

	// Past a page of twenty: twenty-one more test alerts, raised through the api; "More"
	// shows the rest, and a refresh keeps them.
	for range 21 {
		c.do("POST", "/api/v1/alerts/"+ruleID+"/test", project, nil).must(t, 202)
	}
	teststack.Eventually(t, 15*time.Second, "the 24 deliveries recorded", func() bool {
		return len(c.do("GET", "/api/v1/alerts/deliveries?limit=100", project, nil).must(t, 200).obj(t)["deliveries"].([]any)) == 24
	})
	b.do("refresh", chromedp.Click(css("#alerts-refresh")))
	b.wait("a page of twenty", `document.querySelectorAll("#deliveries tbody tr").length === 20 && !document.getElementById("deliveries-more").disabled`, 10*time.Second)
	b.do("more", chromedp.Click(css("#deliveries-more")))
	b.wait("the rest", `document.querySelectorAll("#deliveries tbody tr").length === 24 && document.getElementById("deliveries-more").disabled &&
		new Set([...document.querySelectorAll("#deliveries tbody tr")].map(tr => tr.dataset.id)).size === 24`, 10*time.Second)
	eval[bool](b, `(document.querySelectorAll("#deliveries tbody tr").forEach(tr => tr.dataset.before = "refresh"), true)`)
	b.do("refresh again", chromedp.Click(css("#alerts-refresh")))
	b.wait("all 24 kept", `document.querySelector("#deliveries tbody tr[data-before]") === null &&
		document.querySelectorAll("#deliveries tbody tr").length === 24`, 10*time.Second)

	// An e-mail rule, throttled and off: its fields are the recipients, not a URL.
	b.do("add an e-mail rule", chromedp.Click(css("#alert-new")), chromedp.WaitVisible(css("#alert-form")))
	b.fill("a-name", "mail")
	b.fill("a-type", "email")
	if eval[bool](b, `document.getElementById("a-to").closest("label").hidden || !document.getElementById("a-url").closest("label").hidden`) {
		t.Fatal("an e-mail channel's form asks for a URL, or not for recipients")
	}
	b.fill("a-to", "ops@example.com, dev@example.com")
	b.fill("a-after", "3")
	b.fill("a-within", "600")
	b.fill("a-silence", "3600")
	eval[bool](b, `(document.getElementById("a-enabled").checked = false, true)`)
	b.do("save the e-mail rule", chromedp.Click(css("#alert-save")))
	b.wait("the e-mail rule in the list", `document.getElementById("alert-form").hidden && document.querySelectorAll("#alert-rules tbody tr").length === 2`, 10*time.Second)
	mailID := eval[string](b, `[...document.querySelectorAll("#alert-rules tbody tr")].find(tr => tr.querySelector("td.name").textContent === "mail").dataset.id`)
	for cell, want := range map[string]string{"td.jobs": "all jobs", "td.channel": "E-mailops@example.com, dev@example.com",
		"td.throttle": "one per 3 events in 600 s, then quiet 3600 s", "[data-state]": "off"} {
		if got := text(ruleRow(mailID, " "+cell)); got != want {
			t.Errorf("the e-mail rule's row: %s reads %q, want %q", cell, got, want)
		}
	}
	mail := c.do("GET", "/api/v1/alerts/"+mailID, project, nil).must(t, 200).obj(t)
	if fmt.Sprint(mail["enabled"], mail["channel"], mail["throttle"]) != "false map[to:[ops@example.com dev@example.com] type:email] map[after:3 silence_seconds:3600 within_seconds:600]" {
		t.Fatalf("the e-mail rule stored: %v", mail)
	}
	// A masked URL cannot go to a channel of another type: the page asks for it again.
	b.do("edit the webhook rule", chromedp.Click(css(ruleRow(ruleID, ` button[data-action="edit"]`))), chromedp.WaitVisible(css("#alert-form")))
	b.fill("a-type", "slack")
	b.do("save it as Slack's", chromedp.Click(css("#alert-save")))
	b.wait("the URL asked for again", `!document.getElementById("alert-error").hidden &&
		document.getElementById("alert-error").textContent.startsWith("The channel's type changed") &&
		document.getElementById("a-url").classList.contains("invalid")`, 5*time.Second)
	b.do("cancel the change", chromedp.Click(css("#alert-cancel")))

	// In Chinese: the panel's labels and the rows change in place.
	b.fill("lang", "zh")
	for sel, want := range map[string]string{
		"#open-alerts": "告警", "#alerts-panel h2": "告警", "#alert-new": "添加规则", `#alerts-panel h3[data-i18n="deliveries.title"]`: "发送记录",
		"#alert-rules thead th": "规则名称", "#deliveries thead th": "告警时间", `#deliveries-rule option[value=""]`: "全部规则",
		ruleRow(ruleID, " td.events"): "失败", ruleRow(ruleID, " [data-state]"): "已启用", ruleRow(ruleID, " td.throttle"): "每次都发送",
		`#deliveries tbody tr[data-event="test"] td.event`: "测试", `#deliveries tbody tr[data-event="test"] [data-status]`: "已送达",
	} {
		if got := text(sel); got != want {
			t.Errorf("in Chinese, %s reads %q, want %q", sel, got, want)
		}
	}
	b.do("the form in Chinese", chromedp.Click(css("#alert-new")), chromedp.WaitVisible(css("#alert-form")))
	if got := text("#alert-form-title") + "|" + text(`#a-events label:first-of-type span`); got != "添加告警规则|失败：重试后仍失败（含超时）" {
		t.Errorf("the form in Chinese: %q", got)
	}
	b.screenshot("chinese")
	b.do("cancel", chromedp.Click(css("#alert-cancel")))
	b.fill("lang", "en")

	// Delete, confirmed: the rules go from the list, the filter and the store.
	eval[bool](b, `(window.confirm = () => true, true)`)
	b.do("delete the e-mail rule", chromedp.Click(css(ruleRow(mailID, ` button[data-action="delete"]`))))
	b.wait("the e-mail rule gone", `document.querySelector('#alert-rules tr[data-id="`+mailID+`"]') === null &&
		document.getElementById("deliveries-rule").options.length === 2`, 10*time.Second)
	b.do("delete the rule", chromedp.Click(css(ruleRow(ruleID, ` button[data-action="delete"]`))))
	b.wait("the rule gone", `document.querySelector('#alert-rules tr[data-id="`+ruleID+`"]') === null &&
		!document.getElementById("alert-rules-empty").hidden && document.getElementById("deliveries-rule").options.length === 1`, 10*time.Second)
	if rules := c.do("GET", "/api/v1/alerts", project, nil).must(t, 200).obj(t)["rules"].([]any); len(rules) != 0 {
		t.Fatalf("rules after the delete: %v", rules)
	}
	b.screenshot("deleted")

	// The bad URL was refused on purpose.
	if problems := b.problems("/api/v1/alerts"); len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}
}
