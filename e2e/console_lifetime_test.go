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

// The console gives an interval job a lifetime: the form's start and end dates (for
// interval and cron jobs only), a bad end's 400 shown at its field, the lifetime under the
// job's trigger in both languages, the form's preview and the job's Preview panel stopping
// at the end, and edits that keep, extend and clear it. Screenshots go to the console's
// artifacts, named lifetime-NN-*.
func TestConsoleGivesAJobALifetimeShowsItAndItsPreviewStopsAtItsEnd(t *testing.T) {
	cl, b := openConsole(t, "lifetime-")
	ctx := context.Background()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := b.text
	visible := b.visible
	// The dates are entered as people write them: the server's local form, in its zone.
	now := time.Now()
	local := func(d time.Duration) string { return now.Add(d).In(shanghai).Format(jobcenter.LocalTimeLayout) }

	// 1. The dates are asked for with an interval or a cron trigger, not a date job's or a
	// Quartz schedule's.
	b.do("new job", chromedp.Click(css("#new-job")), chromedp.WaitVisible(css("#editor")))
	for trig, want := range map[string]bool{"interval": true, "cron": true, "date": false, "quartz": false} {
		b.fill("f-trigger", trig)
		if visible("f-start-date") != want || visible("f-end-date") != want {
			t.Errorf("with the %s trigger, the dates visible: %v %v, want %v", trig, visible("f-start-date"), visible("f-end-date"), want)
		}
	}
	// A cron's form preview keeps to the dates entered: hourly, from an hour ahead to three
	// and a half, two or three times.
	b.fill("f-trigger", "cron")
	b.fill("f-cron", "0 0 * * * ?")
	b.fill("f-start-date", local(time.Hour))
	b.fill("f-end-date", local(210*time.Minute))
	b.wait("the cron's form preview within the dates", `(n => n >= 2 && n <= 3)(document.querySelectorAll("#preview-list li").length)`, 10*time.Second)
	for _, s := range strings.Split(eval[string](b, `[...document.querySelectorAll("#preview-list li")].map(li => li.textContent).join("|")`), "|") {
		at, err := time.Parse("2006-01-02 15:04:05 -07:00", s)
		if err != nil || at.Before(now.Add(time.Hour).Truncate(time.Second)) || at.After(now.Add(210*time.Minute)) || at.Minute() != 0 {
			t.Errorf("the cron's form preview shows %q, outside %s – %s", s, local(time.Hour), local(210*time.Minute))
		}
	}
	b.fill("f-start-date", "")
	b.fill("f-end-date", "")
	b.fill("f-trigger", "interval")
	b.fill("f-name", "限期任务")
	b.fill("f-pid", "d1138d88-49ec-11f0-b168-c6ee2c8e08e7")
	b.fill("f-seconds", "600")
	b.fill("f-code", "return 1")

	// 2. An end in the past: the api's 400 under the form, its field marked; nothing stored.
	b.fill("f-end-date", "2020-01-01 00:00:00")
	b.do("save the past end", chromedp.Click(css("#save")))
	b.wait("the api's refusal", `!document.getElementById("form-error").hidden && document.getElementById("form-error").textContent.includes("400") &&
		document.getElementById("form-error").textContent.includes("end_date") &&
		document.getElementById("form-error").dataset.field === "end_date" && document.getElementById("f-end-date").classList.contains("invalid")`, 10*time.Second)
	b.screenshot("refused")
	if n := len(must(cl.ListJobs(ctx, jobcenter.ListOptions{}))(t).Jobs); n != 0 {
		t.Fatalf("the refused job was stored: %d jobs", n)
	}

	// 3. An end 25 minutes ahead: every 600 s, the form's preview shows the two fires
	// before it (at 10 and 20 minutes). Saved, the list shows it under the trigger.
	end := local(25 * time.Minute)
	b.fill("f-end-date", end)
	b.wait("the refusal put away", `document.getElementById("form-error").hidden && !document.querySelector("#job-form .invalid")`, 5*time.Second)
	b.wait("the form's preview stopping at the end", `document.querySelectorAll("#preview-list li").length === 3`, 5*time.Second)
	b.screenshot("form")
	b.do("save", chromedp.Click(css("#save")))
	b.wait("the editor to close", `document.getElementById("editor").hidden`, 10*time.Second)
	b.wait("the job in the list", `[...document.querySelectorAll("#jobs tbody tr")].some(tr => tr.querySelector("td.name").textContent === "限期任务")`, 10*time.Second)
	id := eval[string](b, `[...document.querySelectorAll("#jobs tbody tr")].find(tr => tr.querySelector("td.name").textContent === "限期任务").dataset.id`)
	trigger := fmt.Sprintf(`#jobs tr[data-id=%q] td.trigger`, id)
	if got := text(trigger + " .lifetime"); got != "until "+end {
		t.Errorf("the list's lifetime reads %q, want %q", got, "until "+end)
	}
	if got := text(trigger); got != "every 600 suntil "+end { // the trigger, the lifetime below it
		t.Errorf("the list's trigger cell reads %q", got)
	}
	j := must(cl.GetJob(ctx, id))(t)
	if p := j.JobParameter; p.Trigger != "interval" || p.StartDate != nil || deref(p.EndDate) != end {
		t.Fatalf("the job saved from the form: %s", mustJSON(j))
	}
	b.screenshot("listed")

	// 4. Preview: the api's times, two, ten minutes apart, the last before the end; the
	// panel says why. (Stopped, the job counts from each preview's now: the api's times
	// are the panel's but a moment later.)
	b.do("preview", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="preview"]`, id))), chromedp.WaitVisible(css("#fires-panel")))
	b.wait("the fire times", `document.querySelectorAll("#fires-list time").length > 0`, 10*time.Second)
	want := must(cl.Preview(ctx, id, 10))(t)
	shown := strings.Fields(eval[string](b, `[...document.querySelectorAll("#fires-list time")].map(e => e.dateTime).join(" ")`))
	endAt, _ := time.ParseInLocation(jobcenter.LocalTimeLayout, end, shanghai)
	if len(shown) != 2 || len(want.Next) != 2 {
		t.Fatalf("the panel shows %v, the api %v: want the two fires before %s", shown, want.Next, end)
	}
	var prev time.Time
	for i, s := range shown {
		at, err := time.Parse(time.RFC3339, s)
		if d := want.Next[i].Sub(at); err != nil || d < 0 || d > 10*time.Second || at.After(endAt) || (i > 0 && at.Sub(prev) != 10*time.Minute) {
			t.Fatalf("fire time %d shown %q, the api's %v, the end %s", i, s, want.Next[i], end)
		}
		prev = at
	}
	if note := text("#fires-note"); !strings.HasPrefix(note, "Stopped:") || !strings.Contains(note, "Its lifetime ends at "+end) {
		t.Errorf("the preview panel reads %q", note)
	}
	b.screenshot("preview")

	// 5. In Chinese, the form's labels and the lifetime; then in English again.
	b.do("edit", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, id))), chromedp.WaitVisible(css("#editor")))
	b.fill("lang", "zh")
	for sel, w := range map[string]string{
		`#job-form span[data-i18n="form.startDate"]`: "开始日期",
		`#job-form span[data-i18n="form.endDate"]`:   "结束日期",
		trigger + " .lifetime":                       "至 " + end + " 止",
	} {
		if got := text(sel); got != w {
			t.Errorf("in zh, %s reads %q, want %q", sel, got, w)
		}
	}
	if note := text("#fires-note"); !strings.Contains(note, "有效期截止于 "+end) {
		t.Errorf("in zh, the preview panel reads %q", note)
	}
	if got := eval[string](b, `document.getElementById("f-start-date").placeholder`); got != "可选：2030-07-09 16:00:00" {
		t.Errorf("in zh, the start date's placeholder reads %q", got)
	}
	b.screenshot("chinese")
	b.fill("lang", "en")
	if got := text(`#job-form span[data-i18n="form.endDate"]`); got != "End date" {
		t.Errorf("in en, the end date's label reads %q", got)
	}

	// 6. The edit form holds the lifetime; a start added is saved with the end kept: one
	// fire left (at 20 minutes), and the open panel follows.
	if got := eval[string](b, `document.getElementById("f-start-date").value + "|" + document.getElementById("f-end-date").value`); got != "|"+end {
		t.Fatalf("the edit form holds the dates %q", got)
	}
	start := local(15 * time.Minute)
	b.fill("f-start-date", start)
	b.do("save with a start", chromedp.Click(css("#save")))
	b.wait("the lifetime in the list", fmt.Sprintf(`document.querySelector(%q).textContent === %q`, trigger+" .lifetime", "from "+start+" until "+end), 10*time.Second)
	b.wait("the preview of one fire", `document.querySelectorAll("#fires-list time").length === 1`, 10*time.Second)
	if j = must(cl.GetJob(ctx, id))(t); deref(j.JobParameter.StartDate) != start || deref(j.JobParameter.EndDate) != end {
		t.Fatalf("the job with a start: %s", mustJSON(j))
	}
	b.screenshot("start")

	// 7. The end emptied: no end, the start kept; ten fires again.
	b.do("edit again", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, id))), chromedp.WaitVisible(css("#editor")))
	b.fill("f-end-date", "")
	b.do("save without an end", chromedp.Click(css("#save")))
	b.wait("the start alone in the list", fmt.Sprintf(`document.querySelector(%q).textContent === %q`, trigger+" .lifetime", "from "+start), 10*time.Second)
	b.wait("ten fires", `document.querySelectorAll("#fires-list time").length === 10 && !document.getElementById("fires-note").textContent.includes("lifetime")`, 10*time.Second)
	if j = must(cl.GetJob(ctx, id))(t); deref(j.JobParameter.StartDate) != start || j.JobParameter.EndDate != nil {
		t.Fatalf("the job without an end: %s", mustJSON(j))
	}
	b.screenshot("no-end")
	b.do("close the preview", chromedp.Click(css("#fires-close")))

	// The past end was refused on purpose.
	if problems := b.problems("/api/v1/jobs"); len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}
}
