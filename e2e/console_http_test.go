package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
	"github.com/jobcenter/jobcenter/shared/egress"
)

// The console makes an HTTP job: the form's "An HTTP call" target (method, URL, headers,
// body, expected statuses), the api's 400s shown at the field they name, the job's target
// in the list as "HTTP POST http://…"; its edit form shows the call as read, header values
// masked, and saving it with only the name changed keeps the secret: a run now sends the
// real Authorization. Screenshots go to the console's artifacts, named http-NN-*.
func TestConsoleMakesAnHTTPJobAndItsEditKeepsTheMaskedSecret(t *testing.T) {
	// The all-in-one the console opens inherits the environment: its api and executors
	// may reach the receiver on loopback.
	t.Setenv(egress.Setting, string(egress.Any))
	cl, b := openConsole(t, "http-")
	srv, received := receiver(t)
	ctx := context.Background()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := b.text
	visible := b.visible
	value := b.value
	const secret = "Bearer console-s3cret"

	// 1. The HTTP target asks for its call, and only then; a Quartz schedule runs none.
	b.do("new job", chromedp.Click(css("#new-job")), chromedp.WaitVisible(css("#editor")))
	b.fill("f-trigger", "interval")
	if got := eval[string](b, `[...document.getElementById("f-target").options].map(o => o.value + "=" + o.textContent).join("|")`); got !=
		"code=Code (Starlark)|flow=A business flow|http=An HTTP call" {
		t.Errorf("the target's choices read %q", got)
	}
	httpFields := []string{"f-http-method", "f-http-url", "f-http-headers", "f-http-body", "f-http-expect", "f-http-headers-hint"}
	for _, id := range httpFields {
		if visible(id) {
			t.Errorf("#%s is shown for a code job", id)
		}
	}
	b.fill("f-target", "http")
	for _, id := range httpFields {
		if !visible(id) {
			t.Errorf("#%s is not shown for an HTTP job", id)
		}
	}
	if visible("f-code") || visible("f-flow-id") {
		t.Error("the code or the flow is shown for an HTTP job")
	}
	if got := eval[string](b, `[...document.getElementById("f-http-method").options].map(o => o.value).join(",")`); got != "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS" || value("f-http-method") != "GET" {
		t.Errorf("the methods: %q, chosen %q", got, value("f-http-method"))
	}
	b.fill("f-trigger", "quartz")
	if visible("f-http-url") {
		t.Error("the HTTP call is shown for a Quartz schedule")
	}
	b.fill("f-trigger", "interval")

	// 2. Refusals: the api's, each shown under the form and marked at the field it names;
	// the page's own, for what it reads before sending. Nothing is stored.
	b.fill("f-name", "HTTP 调用")
	b.fill("f-pid", pid)
	b.fill("f-seconds", "3600")
	b.fill("f-http-method", "POST")
	b.fill("f-http-url", "ftp://example.com/x")
	b.do("save a URL that is not http", chromedp.Click(css("#save")))
	b.wait("the api's refusal of the URL", `(e => !e.hidden && e.textContent.includes("400") && e.dataset.field === "http.url")(document.getElementById("form-error")) &&
		document.getElementById("f-http-url").classList.contains("invalid")`, 10*time.Second)
	b.screenshot("refused-url")
	b.fill("f-http-url", srv.URL+"/ok")
	b.wait("the refusal put away as the field changes", `document.getElementById("form-error").hidden && !document.getElementById("f-http-url").classList.contains("invalid")`, 5*time.Second)
	b.fill("f-http-headers", "X-Token: ***")
	b.do("save a masked value for a new job", chromedp.Click(css("#save")))
	b.wait("the api's refusal of the masked header", `(e => !e.hidden && e.textContent.includes("400") && e.textContent.includes("***") &&
		e.dataset.field === "http.headers.X-Token")(document.getElementById("form-error")) && document.getElementById("f-http-headers").classList.contains("invalid")`, 10*time.Second)
	b.fill("f-http-headers", "Authorization: "+secret+"\nContent-Type: application/json")
	b.fill("f-http-expect", "200, 2o4")
	b.do("save a status that is no number", chromedp.Click(css("#save")))
	b.wait("the page's refusal of the status", `(e => !e.hidden && e.textContent === "“2o4” is not an HTTP status (100 to 599)." &&
		e.dataset.field === "http.expect_status")(document.getElementById("form-error")) && document.getElementById("f-http-expect").classList.contains("invalid")`, 5*time.Second)
	if n := len(must(cl.ListJobs(ctx, jobcenter.ListOptions{}))(t).Jobs); n != 0 {
		t.Fatalf("a refused job was stored: %d jobs", n)
	}

	// 3. Saved: the api has the call, its Authorization masked on reading; the list shows
	// the target.
	b.fill("f-http-expect", "200, 204")
	b.fill("f-http-body", `{"from":"the console"}`)
	b.screenshot("form")
	b.do("save", chromedp.Click(css("#save")))
	b.wait("the editor to close", `document.getElementById("editor").hidden`, 10*time.Second)
	b.wait("the job in the list", `[...document.querySelectorAll("#jobs tbody tr")].some(tr => tr.querySelector("td.name").textContent === "HTTP 调用")`, 10*time.Second)
	id := eval[string](b, `[...document.querySelectorAll("#jobs tbody tr")].find(tr => tr.querySelector("td.name").textContent === "HTTP 调用").dataset.id`)
	wantCall := func(where string, j *jobcenter.Job) {
		t.Helper()
		c := j.HTTP
		if c == nil || c.Method != "POST" || c.URL != srv.URL+"/ok" || c.Body != `{"from":"the console"}` || !slices.Equal(c.ExpectStatus, []int{200, 204}) ||
			len(c.Headers) != 2 || c.Headers["Authorization"] != jobcenter.MaskedValue || c.Headers["Content-Type"] != "application/json" ||
			j.Code != nil || j.FlowID != nil {
			t.Fatalf("%s: %s", where, mustJSON(j))
		}
	}
	wantCall("the job saved from the form", must(cl.GetJob(ctx, id))(t))
	target := fmt.Sprintf(`#jobs tr[data-id=%q] td.target`, id)
	if got := text(target); got != "HTTP POST "+srv.URL+"/ok" {
		t.Errorf("the list's target reads %q", got)
	}
	b.screenshot("listed")

	// 4. The edit form holds the call as read, the secret masked, and says *** keeps it;
	// only the name changed, the call is as it was.
	b.do("edit", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, id))), chromedp.WaitVisible(css("#editor")))
	if got := eval[string](b, `["f-target", "f-http-method", "f-http-url", "f-http-headers", "f-http-body", "f-http-expect"].map(id => document.getElementById(id).value).join("|")`); got !=
		"http|POST|"+srv.URL+"/ok|Authorization: ***\nContent-Type: application/json|"+`{"from":"the console"}`+"|200, 204" {
		t.Fatalf("the edit form holds %q", got)
	}
	if hint := text("#f-http-headers-hint"); !visible("f-http-headers-hint") || !strings.Contains(hint, "Leave *** as it is to keep the stored value") {
		t.Errorf("the headers' hint reads %q", hint)
	}
	b.screenshot("edit")
	b.fill("f-name", "HTTP 调用 renamed")
	b.do("save the new name", chromedp.Click(css("#save")))
	b.wait("the new name in the list", row(id)+`.querySelector("td.name").textContent === "HTTP 调用 renamed" && document.getElementById("editor").hidden`, 10*time.Second)
	j := must(cl.GetJob(ctx, id))(t)
	if j.Name != "HTTP 调用 renamed" {
		t.Fatalf("the job after the edit: %s", mustJSON(j))
	}
	wantCall("the job after the edit", j)

	// 5. Run now: the receiver gets the real Authorization (the *** kept it), the body and
	// the method; the journal shows what was called and the answer, never the secret.
	b.do("journal", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="journal"]`, id))), chromedp.WaitVisible(css("#journal-panel")))
	b.do("run now", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="exec"]`, id))))
	b.wait("the run in the journal", fmt.Sprintf(`[...document.querySelectorAll("#journal tbody tr[data-status='success'] td.detail")].some(td =>
		td.title.startsWith(%q) && td.title.includes("\nhello from the receiver"))`, "POST "+srv.URL+"/ok → 200 OK ("), 20*time.Second)
	sent := received()
	if len(sent) != 1 || sent[0].method != "POST" || sent[0].path != "/ok" || sent[0].auth != secret || sent[0].body != `{"from":"the console"}` ||
		sent[0].contentType != "application/json" || sent[0].fireID == "" {
		t.Fatalf("the receiver was sent %+v", sent)
	}
	if strings.Contains(eval[string](b, `document.body.innerText + [...document.querySelectorAll("[title]")].map(e => e.title).join("")`), "console-s3cret") {
		t.Error("the page shows the secret")
	}
	b.screenshot("run")

	// 6. In Chinese: the target's choice and labels; the list's target.
	b.do("edit again", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, id))), chromedp.WaitVisible(css("#editor")))
	b.fill("lang", "zh")
	for sel, w := range map[string]string{
		`#f-target option[value="http"]`:              "HTTP 调用",
		`#job-form span[data-i18n="form.httpMethod"]`: "请求方法",
		`#job-form span[data-i18n="form.httpExpect"]`: "期望的状态码（逗号分隔；留空：任意 2xx）",
		target: "HTTP POST " + srv.URL + "/ok",
	} {
		if got := text(sel); got != w {
			t.Errorf("in zh, %s reads %q, want %q", sel, got, w)
		}
	}
	if hint := text("#f-http-headers-hint"); !strings.Contains(hint, "保持 *** 不变即沿用已保存的值") {
		t.Errorf("in zh, the headers' hint reads %q", hint)
	}
	b.screenshot("chinese")
	b.fill("lang", "en")
	b.do("cancel", chromedp.Click(css("#cancel")))

	// The URL and the masked header of a new job were refused on purpose.
	if problems := b.problems("/api/v1/jobs"); len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}
}
