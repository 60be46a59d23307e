package e2e_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

// The console's Calendars panel in a real browser: a calendar added through its form
// (refused first for a window the page cannot split and for a date the api refuses, each
// marked at its field) is the api's; a job given it in the job form has it, and the list
// shows it under the trigger; a range added by editing the calendar is skipped by the
// job's open Preview panel, as by the api's preview; a delete while the job names it
// shows the api's refusal; the edit form holds the calendar as read and saves it back
// unchanged; taken out of the job, the calendar is deleted; in English and Chinese.
// Screenshots go to the console's artifacts, named calendars-NN-*.
func TestConsoleCalendarsPanelAddsEditsAndDeletesACalendarThatAJobsPreviewSkips(t *testing.T) {
	cl, b := openConsole(t, "calendars-")
	ctx := context.Background()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := b.text
	click := func(what, sel string) { b.do(what, chromedp.Click(css(sel))) }
	local := func(at time.Time) string { return at.In(shanghai).Format(jobcenter.LocalTimeLayout) }
	calRow := func(name, rest string) string { return fmt.Sprintf(`#calendars tr[data-name=%q]%s`, name, rest) }
	// A weekly window three days away: never one of the job's instants below.
	day := strings.ToUpper(time.Now().Add(72 * time.Hour).In(shanghai).Weekday().String()[:3])
	from, to := day+" 03:00", day+" 04:00"

	// 1. The panel opens empty. A window the page cannot split is refused by the form, a
	// date the api refuses by the api, each marked at its field; nothing is stored.
	b.do("open the calendars", chromedp.Click(css("#open-calendars")), chromedp.WaitVisible(css("#calendars-panel")))
	b.wait("no calendars", `!document.getElementById("calendars-empty").hidden && document.getElementById("calendars-count").textContent === "0 calendars"`, 10*time.Second)
	b.do("add a calendar", chromedp.Click(css("#calendar-new")), chromedp.WaitVisible(css("#calendar-form")))
	if got := text("#calendar-form-title"); got != "Add a calendar" {
		t.Fatalf("the form's title: %q", got)
	}
	b.fill("c-name", "maintenance")
	b.fill("c-description", "维护窗口")
	b.fill("c-dates", "2030-10-01\n2030-02-30")
	b.fill("c-weekly", from)
	click("save a window without its end", "#calendar-save")
	b.wait("the form's refusal", `(e => !e.hidden && e.dataset.field === "weekly[0]" &&
		e.textContent === "Weekly window line 1 is not “FROM - TO”, such as SAT 00:00 - MON 00:00.")(document.getElementById("calendar-error")) &&
		document.getElementById("c-weekly").classList.contains("invalid")`, 5*time.Second)
	b.fill("c-weekly", from+" - "+to)
	b.wait("the refusal put away", `document.getElementById("calendar-error").hidden && !document.querySelector("#calendar-form .invalid")`, 5*time.Second)
	click("save a date that is none", "#calendar-save")
	b.wait("the api's refusal", `(e => !e.hidden && e.dataset.field === "dates[1]" && e.textContent.startsWith("Error 400: dates[1]: "))(document.getElementById("calendar-error")) &&
		document.getElementById("c-dates").classList.contains("invalid")`, 10*time.Second)
	b.screenshot("refused")
	if cals := must(cl.Calendars(ctx))(t); len(cals) != 0 {
		t.Fatalf("a refused calendar was stored: %s", mustJSON(cals))
	}

	// 2. Saved, the calendar is the api's (in the server's zone, none given), and listed.
	b.fill("c-dates", "2030-10-01, 2030-10-02")
	click("save the calendar", "#calendar-save")
	b.wait("the calendar in the list", `document.getElementById("calendar-form").hidden && document.querySelector('#calendars tr[data-name="maintenance"]') !== null`, 10*time.Second)
	cal := must(cl.Calendar(ctx, "maintenance"))(t)
	if want := (jobcenter.CalendarSpec{Name: "maintenance", Description: "维护窗口", Timezone: "Asia/Shanghai", Dates: []string{"2030-10-01", "2030-10-02"},
		Weekly: []jobcenter.CalendarWindow{{From: from, To: to}}}); !reflect.DeepEqual(cal.CalendarSpec, want) {
		t.Fatalf("the calendar stored: %s, want %s", mustJSON(cal), mustJSON(want))
	}
	for cell, want := range map[string]string{"td.name": "maintenance维护窗口", "td.zone": "Asia/Shanghai",
		"td.excludes": "2 dates: 2030-10-01, 2030-10-02every week " + from + " – " + to, "td.jobs": "—", "td.updated": cal.UpdatedAt} {
		if got := text(calRow("maintenance", " "+cell)); got != want {
			t.Errorf("the calendar's row: %s reads %q, want %q", cell, got, want)
		}
	}
	b.screenshot("added")

	// 3. A job given it in the job form: every ten minutes, the calendar ticked. The form's
	// preview, which cannot tell what the calendar excludes from an interval, lists no
	// time but says where to see them; the job has it, the list shows it.
	b.do("new job", chromedp.Click(css("#new-job")), chromedp.WaitVisible(css("#editor")))
	b.wait("the calendar to choose", `document.querySelector('#f-calendars-list input[value="maintenance"]') !== null &&
		document.getElementById("f-calendars-none").hidden`, 10*time.Second)
	for trig, want := range map[string]bool{"interval": true, "date": true, "cron": true, "quartz": true} {
		b.fill("f-trigger", trig)
		if got := eval[bool](b, `document.getElementById("f-calendars").offsetParent !== null`); got != want {
			t.Errorf("with the %s trigger, the calendars visible: %v", trig, got)
		}
	}
	b.fill("f-trigger", "interval")
	b.fill("f-name", "日历任务")
	b.fill("f-pid", "d1138d88-49ec-11f0-b168-c6ee2c8e08e7")
	b.fill("f-seconds", "600")
	b.fill("f-code", "return 1")
	click("tick the calendar", `#f-calendars-list input[value="maintenance"]`)
	b.wait("the form's preview line", `(l => l.length === 1 &&
		l[0].textContent === "with the calendars maintenance, the next runs are computed once the job is saved: its Preview shows them")(document.querySelectorAll("#preview-list li"))`, 5*time.Second)
	b.screenshot("job-form")
	b.do("save the job", chromedp.Click(css("#save")))
	b.wait("the editor to close", `document.getElementById("editor").hidden`, 10*time.Second)
	b.wait("the job in the list", `[...document.querySelectorAll("#jobs tbody tr")].some(tr => tr.querySelector("td.name").textContent === "日历任务")`, 10*time.Second)
	id := eval[string](b, `[...document.querySelectorAll("#jobs tbody tr")].find(tr => tr.querySelector("td.name").textContent === "日历任务").dataset.id`)
	if p := must(cl.GetJob(ctx, id))(t).JobParameter; !slices.Equal(p.Calendars, []string{"maintenance"}) || p.Seconds == nil || *p.Seconds != 600 {
		t.Fatalf("the job saved from the form: %s", mustJSON(p))
	}
	trigger := fmt.Sprintf(`#jobs tr[data-id=%q] td.trigger`, id)
	if got := text(trigger + " .calendars"); got != "no fire at the times of calendars maintenance" {
		t.Errorf("the list's calendars read %q", got)
	}
	b.wait("the job named in the calendar's row", fmt.Sprintf(`document.querySelector(%q).textContent === "日历任务"`, calRow("maintenance", " td.jobs")), 10*time.Second)

	// 4. Started, its fires are its start plus ten minutes each: nothing excluded yet.
	click("start", fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="start"]`, id))
	b.wait("the job started", fmt.Sprintf(`%s.querySelector(".badge").dataset.state === "started"`, row(id)), 10*time.Second)
	before := must(cl.Preview(ctx, id, 10))(t)
	if len(before.Next) != 10 || !before.Started {
		t.Fatalf("the api's preview: %+v", before)
	}
	start := before.Next[0].Add(-10 * time.Minute)
	fire := func(k int) time.Time { return start.Add(time.Duration(k) * 10 * time.Minute) }
	b.do("preview", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="preview"]`, id))), chromedp.WaitVisible(css("#fires-panel")))
	shownTimes := func() []time.Time {
		t.Helper()
		var out []time.Time
		for _, s := range strings.Fields(eval[string](b, `[...document.querySelectorAll("#fires-list time")].map(e => e.dateTime).join(" ")`)) {
			at, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				t.Fatalf("a fire time %q: %v", s, err)
			}
			out = append(out, at)
		}
		return out
	}
	b.wait("ten fire times", `document.querySelectorAll("#fires-list time").length === 10`, 10*time.Second)
	if got := shownTimes(); !slices.EqualFunc(got, before.Next, time.Time.Equal) || !got[1].Equal(fire(2)) {
		t.Fatalf("the panel shows %v, the api %v", got, before.Next)
	}

	// 5. Edited in the panel: the form holds the calendar as read; a range over the job's
	// second and third fires and a cron added, the open Preview panel skips them, as the
	// api's preview does.
	b.do("edit the calendar", chromedp.Click(css(calRow("maintenance", ` button[data-action="edit"]`))), chromedp.WaitVisible(css("#calendar-form")))
	form := func() string {
		t.Helper()
		return eval[string](b, `["calendar-form-title"].map(id => document.getElementById(id).textContent).concat(
			["c-name", "c-timezone", "c-description", "c-dates", "c-weekly", "c-ranges", "c-cron"].map(id => document.getElementById(id).value),
			[document.getElementById("c-name").disabled]).join("|")`)
	}
	if got, want := form(), strings.Join([]string{"Edit the calendar", "maintenance", "Asia/Shanghai", "维护窗口", "2030-10-01\n2030-10-02",
		from + " - " + to, "", "", "true"}, "|"); got != want {
		t.Fatalf("the edit form holds\n%q\nwant\n%q", got, want)
	}
	rangeFrom, rangeTo := local(fire(1).Add(5*time.Minute)), local(fire(3).Add(5*time.Minute))
	b.fill("c-ranges", rangeFrom+" / "+rangeTo)
	b.fill("c-cron", "0 0 12 25 12 ?")
	b.screenshot("edit")
	click("save the change", "#calendar-save")
	b.wait("the change in the list", fmt.Sprintf(`document.getElementById("calendar-form").hidden &&
		document.querySelector(%q).textContent.includes(%q)`, calRow("maintenance", " td.excludes"), rangeFrom+" – "+rangeTo+"each second of cron 0 0 12 25 12 ?"), 10*time.Second)
	cal = must(cl.Calendar(ctx, "maintenance"))(t)
	if want := []jobcenter.CalendarRange{{From: rangeFrom, To: rangeTo}}; !reflect.DeepEqual(cal.Ranges, want) || cal.Cron != "0 0 12 25 12 ?" ||
		!slices.Equal(cal.Dates, []string{"2030-10-01", "2030-10-02"}) || len(cal.Weekly) != 1 || cal.Description != "维护窗口" {
		t.Fatalf("the calendar after the edit: %s", mustJSON(cal))
	}
	b.wait("the panel without the excluded fires", fmt.Sprintf(`(l => l.length === 10 && new Date(l[1].dateTime).getTime() === %d)(document.querySelectorAll("#fires-list time"))`,
		fire(4).UnixMilli()), 10*time.Second)
	after := must(cl.Preview(ctx, id, 10))(t)
	got := shownTimes()
	if !slices.EqualFunc(got, after.Next, time.Time.Equal) {
		t.Fatalf("the panel shows %v, the api %v", got, after.Next)
	}
	if !got[0].Equal(fire(1)) || !got[1].Equal(fire(4)) || !got[9].Equal(fire(12)) {
		t.Fatalf("the panel shows %v: want the first fire, then the fourth on (the second and third excluded)", got)
	}
	if note := text("#fires-note"); !strings.Contains(note, "Times its calendars (maintenance) exclude are skipped.") {
		t.Errorf("the preview panel reads %q", note)
	}
	b.screenshot("preview")

	// 6. A delete while the job names it is refused, in the api's words.
	eval[bool](b, `(window.confirm = () => true, true)`)
	click("delete the calendar in use", calRow("maintenance", ` button[data-action="delete"]`))
	b.wait("the refusal", fmt.Sprintf(`(e => !e.hidden && e.dataset.status === "409" && e.textContent.startsWith("Error 409: jobs name this calendar (") &&
		e.textContent.includes(%q) && e.textContent.endsWith("take it out of them first"))(document.getElementById("calendars-error"))`, id), 10*time.Second)
	if _, err := cl.Calendar(ctx, "maintenance"); err != nil {
		t.Fatalf("the calendar after the refused delete: %v", err)
	}
	b.screenshot("delete-refused")

	// 7. The edit form holds it as read, and saves it back as it was.
	b.do("edit again", chromedp.Click(css(calRow("maintenance", ` button[data-action="edit"]`))), chromedp.WaitVisible(css("#calendar-form")))
	if got, want := form(), strings.Join([]string{"Edit the calendar", "maintenance", "Asia/Shanghai", "维护窗口", "2030-10-01\n2030-10-02",
		from + " - " + to, rangeFrom + " / " + rangeTo, "0 0 12 25 12 ?", "true"}, "|"); got != want {
		t.Fatalf("the edit form holds\n%q\nwant\n%q", got, want)
	}
	click("save it unchanged", "#calendar-save")
	b.wait("the form closed", `document.getElementById("calendar-form").hidden`, 10*time.Second)
	if again := must(cl.Calendar(ctx, "maintenance"))(t); !reflect.DeepEqual(again.CalendarSpec, cal.CalendarSpec) {
		t.Fatalf("saved back unchanged: %s, was %s", mustJSON(again), mustJSON(cal))
	}

	// 8. In Chinese: the panel, its rows, the job list's line, the form's legend.
	b.fill("lang", "zh")
	for sel, w := range map[string]string{
		"#open-calendars": "日历", "#calendars-panel h2": "日历", "#calendar-new": "添加日历", "#calendars thead th:nth-child(3)": "排除",
		calRow("maintenance", " td.excludes div:first-child"): "2 个日期：2030-10-01, 2030-10-02",
		trigger + " .calendars":                               "日历 maintenance 排除的时间不触发",
		`#job-form legend[data-i18n="form.calendars"]`:        "日历：其排除的时间不触发",
	} {
		if got := text(sel); got != w {
			t.Errorf("in zh, %s reads %q, want %q", sel, got, w)
		}
	}
	if note := text("#fires-note"); !strings.Contains(note, "已跳过其日历（maintenance）排除的时间。") {
		t.Errorf("in zh, the preview panel reads %q", note)
	}
	b.screenshot("chinese")
	b.fill("lang", "en")

	// 9. Taken out of the job (unticked in its form), the calendar is deleted.
	b.do("edit the job", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, id))), chromedp.WaitVisible(css("#editor")))
	b.wait("the calendar ticked", `document.querySelector('#f-calendars-list input[value="maintenance"]').checked`, 10*time.Second)
	click("untick it", `#f-calendars-list input[value="maintenance"]`)
	b.do("save the job without it", chromedp.Click(css("#save")))
	b.wait("the list without it", fmt.Sprintf(`document.getElementById("editor").hidden && document.querySelector(%q) === null`, trigger+" .calendars"), 10*time.Second)
	if p := must(cl.GetJob(ctx, id))(t).JobParameter; p.Calendars != nil {
		t.Fatalf("the job without its calendar: %s", mustJSON(p))
	}
	click("delete the calendar", calRow("maintenance", ` button[data-action="delete"]`))
	b.wait("the calendar gone", `document.querySelector('#calendars tr[data-name="maintenance"]') === null && !document.getElementById("calendars-empty").hidden &&
		document.getElementById("calendars-error").hidden`, 10*time.Second)
	if _, err := cl.Calendar(ctx, "maintenance"); !jobcenter.IsNotFound(err) {
		t.Fatalf("the deleted calendar: %v", err)
	}
	b.screenshot("deleted")

	// The bad date and the delete in use were refused on purpose.
	var problems []string
	for _, m := range b.problems("/api/v1/calendars") {
		if !strings.Contains(m, "409") || !strings.Contains(m, "/api/v1/calendars/maintenance") {
			problems = append(problems, m)
		}
	}
	if len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}
}

// The job form's next runs skip what the calendars ticked exclude: a calendar excludes a
// day two days ahead; a daily cron job's form lists that day's nine o'clock unticked, not
// ticked (the api's cron preview given the calendar), and lists it again unticked; so
// does a Quartz schedule's. An interval's or a date's, which the page computes, lists no
// time with a calendar ticked, but a line saying where to see them. Screenshots go to the
// console's artifacts, named calendars-preview-NN-*.
func TestConsoleJobFormPreviewSkipsTheDaysTheTickedCalendarsExclude(t *testing.T) {
	cl, b := openConsole(t, "calendars-preview-")
	ctx := context.Background()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	click := func(what, sel string) { b.do(what, chromedp.Click(css(sel))) }
	// Two days ahead: among the next five fires of a daily job whenever the test runs.
	closed := time.Now().In(shanghai).AddDate(0, 0, 2).Format("2006-01-02")
	must(cl.AddCalendar(ctx, jobcenter.CalendarSpec{Name: "closed", Description: "休息日", Dates: []string{closed}}))(t)

	b.do("new job", chromedp.Click(css("#new-job")), chromedp.WaitVisible(css("#editor")))
	b.wait("the calendar to choose", `document.querySelector('#f-calendars-list input[value="closed"]') !== null`, 10*time.Second)
	times := `[...document.querySelectorAll("#preview-list li")].filter(li => /^\d{4}-\d\d-\d\d /.test(li.textContent)).map(li => li.textContent.slice(0, 10))`
	// listed waits for five days at nine in the form's preview, with or without the
	// closed day, with the calendars' line or without.
	listed := func(what string, withClosed bool, note string) {
		t.Helper()
		b.wait(what, fmt.Sprintf(`(d => d.length === 5 && d.includes(%q) === %v && new Set(d).size === 5)(%s) &&
			[...document.querySelectorAll("#preview-list li")].every(li => !/^\d{4}-/.test(li.textContent) || / 09:00:00 \+08:00$/.test(li.textContent)) &&
			[...document.querySelectorAll("#preview-list li")].some(li => li.textContent === %q) === %v`, closed, withClosed, times, note, note != ""), 10*time.Second)
	}
	const skipped = "times the calendars closed exclude are skipped"
	for _, trig := range []string{"cron", "quartz"} {
		b.fill("f-trigger", trig)
		b.fill("f-cron", "0 0 9 * * ?")
		listed("the "+trig+" preview with the closed day", true, "")
		click("tick the calendar", `#f-calendars-list input[value="closed"]`)
		listed("the "+trig+" preview without the closed day", false, skipped)
		b.screenshot(trig + "-ticked")
		click("untick the calendar", `#f-calendars-list input[value="closed"]`)
		listed("the "+trig+" preview with the closed day again", true, "")
	}

	// An interval's and a date's times are the page's: with the calendar ticked, none is
	// listed, in either language.
	const later = "with the calendars closed, the next runs are computed once the job is saved: its Preview shows them"
	click("tick the calendar", `#f-calendars-list input[value="closed"]`)
	b.fill("f-run-date", closed+" 09:00:00")
	for _, trig := range []string{"interval", "date"} {
		b.fill("f-trigger", trig)
		b.wait("the "+trig+" preview's line", fmt.Sprintf(`(l => l.length === 1 && l[0].textContent === %q)(document.querySelectorAll("#preview-list li"))`, later), 5*time.Second)
	}
	b.screenshot("date-ticked")
	b.fill("lang", "zh")
	b.wait("the line in zh", `(l => l.length === 1 && l[0].textContent === "勾选了日历 closed：下次执行时间在任务保存后按日历计算，见任务的“预览”")(document.querySelectorAll("#preview-list li"))`, 5*time.Second)
	b.fill("lang", "en")
	click("untick the calendar", `#f-calendars-list input[value="closed"]`)
	b.wait("the date listed again", fmt.Sprintf(`(l => l.length === 1 && l[0].textContent === %q)(document.querySelectorAll("#preview-list li"))`, closed+" 09:00:00"), 5*time.Second)
	click("cancel", "#cancel")

	if problems := b.problems(); len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}
}
