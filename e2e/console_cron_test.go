package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

// The console makes a cron job of the job-center API in a zone of its own: the form's
// "cron" trigger, the 400 of a bad expression shown at its field, the job's trigger in
// the list, its next fire times (Preview) in both languages, and an edit to an interval.
// Screenshots go to the console's artifacts, named cron-NN-*.
func TestConsoleMakesACronJobInItsZoneShowsItsNextFireTimesAndMakesItAnInterval(t *testing.T) {
	cl, b := openConsole(t, "cron-")
	ny, _ := time.LoadLocation("America/New_York")
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := b.text
	visible := b.visible

	// 1. The form's cron trigger asks for an expression and a zone, and runs code or a
	// flow like any job; a Quartz schedule's behaviour is another choice.
	b.do("new job", chromedp.Click(css("#new-job")), chromedp.WaitVisible(css("#editor")))
	b.fill("f-trigger", "cron")
	for id, want := range map[string]bool{"f-cron": true, "f-timezone": true, "f-code": true, "f-pid": true, "f-bizcode": false, "f-seconds": false} {
		if got := visible(id); got != want {
			t.Errorf("with the cron trigger, #%s visible: %v, want %v", id, got, want)
		}
	}
	if got := eval[string](b, `document.querySelector('#f-trigger option[value="cron"]').textContent + "|" +
		document.querySelector('#f-trigger option[value="quartz"]').textContent`); got != "Cron (in a time zone)|Quartz schedule of a behaviour" {
		t.Errorf("the trigger's choices read %q", got)
	}
	b.fill("f-name", "cron 定时")
	b.fill("f-pid", "d1138d88-49ec-11f0-b168-c6ee2c8e08e7")
	b.fill("f-code", "return 1")

	// 2. A bad expression: the form's preview says why as it is typed, and the api's 400
	// is shown under the form, its field marked.
	b.fill("f-cron", "0 61 * * * ?")
	b.wait("the form preview's error", `!document.getElementById("preview-error").hidden`, 10*time.Second)
	b.do("save the bad expression", chromedp.Click(css("#save")))
	b.wait("the api's refusal", `!document.getElementById("form-error").hidden && document.getElementById("form-error").textContent.includes("400") &&
		document.getElementById("form-error").dataset.field === "cron" && document.getElementById("f-cron").classList.contains("invalid")`, 10*time.Second)
	b.screenshot("refused")
	if n := len(must(cl.ListJobs(context.Background(), jobcenter.ListOptions{}))(t).Jobs); n != 0 {
		t.Fatalf("the refused job was stored: %d jobs", n)
	}

	// 3. Right, in New York: the form's preview follows the zone; saved, the list shows
	// the expression and the zone.
	b.fill("f-cron", "0 30 2 ? * MON-FRI")
	b.fill("f-timezone", "America/New_York")
	b.wait("the form's preview in New York", `document.querySelectorAll("#preview-list li").length === 5 &&
		[...document.querySelectorAll("#preview-list li")].every(li => / 02:30:00 -0[45]:00$/.test(li.textContent))`, 10*time.Second)
	b.screenshot("form")
	b.do("save", chromedp.Click(css("#save")))
	b.wait("the editor to close", `document.getElementById("editor").hidden`, 10*time.Second)
	b.wait("the cron job in the list", `[...document.querySelectorAll("#jobs tbody tr")].some(tr => tr.querySelector("td.name").textContent === "cron 定时")`, 10*time.Second)
	id := eval[string](b, `[...document.querySelectorAll("#jobs tbody tr")].find(tr => tr.querySelector("td.name").textContent === "cron 定时").dataset.id`)
	if got := text(fmt.Sprintf(`#jobs tr[data-id=%q] td.trigger`, id)); got != "cron 0 30 2 ? * MON-FRI (America/New_York)" {
		t.Errorf("the list's trigger reads %q", got)
	}
	j := must(cl.GetJob(context.Background(), id))(t)
	if p := j.JobParameter; p.Trigger != "cron" || p.Cron != "0 30 2 ? * MON-FRI" || p.Timezone != "America/New_York" || deref(j.Code) != "return 1" {
		t.Fatalf("the job saved from the form: %s", mustJSON(j))
	}
	b.screenshot("listed")

	// 4. Preview: its next ten fire times as the api answers them, in New York's offset;
	// stopped, so as if it were started now. Started, the panel says so.
	b.do("preview", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="preview"]`, id))), chromedp.WaitVisible(css("#fires-panel")))
	b.wait("ten fire times", `document.querySelectorAll("#fires-list time").length === 10`, 10*time.Second)
	shown := strings.Split(eval[string](b, `[...document.querySelectorAll("#fires-list time")].map(e => e.dateTime).join(" ")`), " ")
	want := must(cl.Preview(context.Background(), id, 10))(t)
	for i, s := range shown {
		at, err := time.Parse(time.RFC3339, s)
		local := at.In(ny)
		_, off := at.Zone()
		_, nyOff := local.Zone()
		if err != nil || !at.Equal(want.Next[i]) || off != nyOff || local.Hour() != 2 || local.Minute() != 30 ||
			local.Weekday() == time.Saturday || local.Weekday() == time.Sunday {
			t.Fatalf("fire time %d shown %q, the api's %v", i, s, want.Next[i])
		}
	}
	if note := text("#fires-note"); !strings.HasPrefix(note, "Stopped:") || !strings.Contains(note, "America/New_York") ||
		!strings.Contains(text("#fires-list li"), " 02:30:00 -0") || text("#fires-job") != "cron 定时" {
		t.Errorf("the preview panel reads %q, first %q", note, text("#fires-list li"))
	}
	b.screenshot("preview-stopped")
	b.do("start", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="start"]`, id))))
	b.wait("the preview of the started job", `document.getElementById("fires-panel").dataset.started === "true" &&
		document.getElementById("fires-note").textContent.startsWith("Started:")`, 10*time.Second)
	b.screenshot("preview-started")

	// 5. In Chinese, the new labels; then in English again.
	b.do("edit", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, id))), chromedp.WaitVisible(css("#editor")))
	labels := func(lang string, want map[string]string) {
		t.Helper()
		b.fill("lang", lang)
		for sel, w := range want {
			if got := text(sel); got != w {
				t.Errorf("in %s, %s reads %q, want %q", lang, sel, got, w)
			}
		}
	}
	labels("zh", map[string]string{
		fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="preview"]`, id): "预览",
		`#f-trigger option[value="cron"]`:                                     "Cron 表达式（按时区）",
		`#f-trigger option[value="quartz"]`:                                   "业务行为的 Quartz 调度",
		`label[data-when~="cron"] span[data-i18n="form.timezone"]`:            "时区",
		`#fires-panel h2 span[data-i18n]`:                                     "接下来的触发时间",
		fmt.Sprintf(`#jobs tr[data-id=%q] td.trigger`, id):                    "cron 0 30 2 ? * MON-FRI（America/New_York）",
	})
	if note := text("#fires-note"); !strings.HasPrefix(note, "已启动") || !strings.Contains(note, "America/New_York") {
		t.Errorf("in Chinese, the preview panel reads %q", note)
	}
	if got := eval[string](b, `document.getElementById("f-timezone").placeholder`); got != "服务器时区（JOBCENTER_TZ）" {
		t.Errorf("in Chinese, the zone's placeholder reads %q", got)
	}
	b.screenshot("chinese")
	labels("en", map[string]string{
		fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="preview"]`, id): "Preview",
		`label[data-when~="cron"] span[data-i18n="form.timezone"]`:            "Time zone",
		`#fires-panel h2 span[data-i18n]`:                                     "Next fire times",
	})
	if got := eval[string](b, `document.getElementById("f-timezone").placeholder`); got != "the server's (JOBCENTER_TZ)" {
		t.Errorf("in English, the zone's placeholder reads %q", got)
	}

	// 6. The edit form holds the cron job as it is; it may become an interval (not a
	// Quartz schedule). Saved, the list and the open preview follow.
	if got := eval[string](b, `["f-trigger", "f-cron", "f-timezone"].map(id => document.getElementById(id).value).join("|") + "|" +
		document.querySelector('#f-trigger option[value="quartz"]').disabled`); got != "cron|0 30 2 ? * MON-FRI|America/New_York|true" {
		t.Fatalf("the edit form holds %q", got)
	}
	b.fill("f-trigger", "interval")
	b.fill("f-seconds", "600")
	b.do("save as an interval", chromedp.Click(css("#save")))
	b.wait("the interval in the list", fmt.Sprintf(`document.querySelector('#jobs tr[data-id=%q] td.trigger').textContent === "every 600 s"`, id), 10*time.Second)
	b.wait("the preview of the interval", `document.querySelectorAll("#fires-list time").length === 10 &&
		[...document.querySelectorAll("#fires-list time")].every(e => e.dateTime.endsWith("+08:00")) &&
		document.getElementById("fires-note").textContent.includes("the server's zone")`, 10*time.Second)
	j = must(cl.GetJob(context.Background(), id))(t)
	if p := j.JobParameter; p.Trigger != "interval" || p.Seconds == nil || *p.Seconds != 600 || p.Cron != "" || p.Timezone != "" {
		t.Fatalf("the job made an interval: %s", mustJSON(j))
	}
	b.screenshot("interval")
	b.do("close the preview", chromedp.Click(css("#fires-close")))

	// The bad expression was refused on purpose, by the form's preview and by the save.
	if problems := b.problems("/api/v1/cron/next", "/api/v1/jobs"); len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}
}
