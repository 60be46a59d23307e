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
)

// The console edits a Quartz schedule without losing what its form shows: a schedule
// saved through the Quartz API in Paris, run by the worker group g1 (route random) and
// respecting a calendar, opens in the job form with its zone, group, route and calendar
// (the form's preview in Paris' offset), and saved unchanged from there (its behaviour
// code typed again: a schedule's job info does not carry it) keeps all of them. A new
// schedule made in the form in New York is saved in that zone. Screenshots go to the
// console's artifacts, named quartz-NN-*.
func TestConsoleSavesAQuartzScheduleKeepingItsZoneWorkersAndCalendars(t *testing.T) {
	cl, b := openConsole(t, "quartz-")
	ctx := context.Background()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	visible := b.visible
	click := func(what, sel string) { b.do(what, chromedp.Click(css(sel))) }
	action := func(id, name string) string {
		return fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action=%q]`, id, name)
	}

	// 1. A calendar, and a schedule naming it, saved through the Quartz API: weekdays at
	// nine in Paris, its behaviour run by the workers of g1, any of them.
	must(cl.AddCalendar(ctx, jobcenter.CalendarSpec{Name: "holidays", Dates: []string{"2030-10-01", "2030-10-02"}}))(t)
	saved := must(cl.SaveSchedule(ctx, jobcenter.Schedule{JobName: "巴黎调度", CronExpression: "0 0 9 ? * MON-FRI", BizCode: "biz-paris",
		TimeZone: "Europe/Paris", Calendars: []string{"holidays"}, WorkerGroup: "g1", Route: "random"}))(t)
	first := quartzSchedule(t, cl, "biz-paris")
	before := first.JobParameter
	if first.ID != saved.GroupJobID {
		t.Fatalf("saved %s, the behaviour's schedule is %s", saved.GroupJobID, first.ID)
	}
	if before.Timezone != "Europe/Paris" || before.WorkerGroup != "g1" || before.Route != "random" || !slices.Equal(before.Calendars, []string{"holidays"}) {
		t.Fatalf("the schedule saved through the Quartz API: %s", mustJSON(before))
	}
	click("refresh", "#refresh")
	b.wait("the schedule in the list", row(saved.GroupJobID)+" !== null", 10*time.Second)

	// 2. Its edit form holds the zone, the group, the route and the calendar as read, each
	// shown; the form's preview is in Paris' offset.
	b.open("edit the schedule", action(saved.GroupJobID, "edit"), "#editor")
	b.wait("the calendar ticked", `(c => c !== null && c.checked)(document.querySelector('#f-calendars-list input[value="holidays"]'))`, 10*time.Second)
	if got, want := eval[string](b, `["f-trigger", "f-name", "f-cron", "f-timezone", "f-worker-group", "f-route", "f-bizcode"].map(id => document.getElementById(id).value).join("|") + "|" +
		document.getElementById("f-route").disabled`), "quartz|巴黎调度|0 0 9 ? * MON-FRI|Europe/Paris|g1|random||false"; got != want {
		t.Fatalf("the edit form holds\n%q\nwant\n%q", got, want)
	}
	for _, id := range []string{"f-timezone", "f-worker-group", "f-route", "f-bizcode", "f-calendars"} {
		if !visible(id) {
			t.Errorf("editing a schedule, #%s is not shown", id)
		}
	}
	if visible("f-flow-id") || visible("f-code") || visible("f-target") {
		t.Error("editing a schedule, a job's target is shown")
	}
	b.wait("the form's preview in Paris", `document.querySelectorAll("#preview-list li").length >= 5 &&
		[...document.querySelectorAll("#preview-list li")].slice(0, 5).every(li => / 09:00:00 \+0[12]:00$/.test(li.textContent))`, 10*time.Second)
	b.screenshot("edit")

	// 3. Saved unchanged (the behaviour code typed again): the schedule is the same one,
	// with its zone, group, route and calendars as they were.
	b.fill("f-bizcode", "biz-paris")
	click("save the schedule unchanged", "#save")
	// Saved (200: applied, not only accepted), so that what is read next is this save.
	b.wait("the editor to close", `document.getElementById("editor").hidden && document.getElementById("form-error").hidden &&
		document.getElementById("message").textContent === "Saved “巴黎调度”."`, 10*time.Second)
	again := quartzSchedule(t, cl, "biz-paris")
	after := again.JobParameter
	if after.Timezone != "Europe/Paris" || after.WorkerGroup != "g1" || after.Route != "random" || !slices.Equal(after.Calendars, []string{"holidays"}) ||
		after.Cron != before.Cron || after.Trigger != "cron" {
		t.Fatalf("the schedule saved again from the console: %s, was %s", mustJSON(after), mustJSON(before))
	}
	if again.ID != saved.GroupJobID {
		t.Fatalf("saved again, the behaviour's schedule is %s, was %s", again.ID, saved.GroupJobID)
	}
	b.wait("the list's target", fmt.Sprintf(`document.querySelector('#jobs tr[data-id=%q] td.target').textContent.includes("g1 (random)")`, saved.GroupJobID), 10*time.Second)
	b.screenshot("saved")

	// 4. A new schedule in New York, made in the form: the zone and a worker group are
	// asked for (no route without a group), and the schedule is saved in that zone,
	// without workers.
	b.do("new job", chromedp.Click(css("#new-job")), chromedp.WaitVisible(css("#editor")))
	b.fill("f-trigger", "quartz")
	for id, want := range map[string]bool{"f-timezone": true, "f-worker-group": true, "f-route": true, "f-bizcode": true, "f-cron": true,
		"f-code": false, "f-pid": false, "f-flow-id": false} {
		if got := visible(id); got != want {
			t.Errorf("with the quartz trigger, #%s visible: %v, want %v", id, got, want)
		}
	}
	if got := eval[string](b, `document.getElementById("f-worker-group").placeholder + "|" + document.getElementById("f-route").disabled`); got != "none: the behaviour's runner|true" {
		t.Errorf("a new schedule's worker group: %q", got)
	}
	b.fill("f-name", "纽约调度")
	b.fill("f-cron", "0 30 2 ? * MON-FRI")
	b.fill("f-timezone", "America/New_York")
	b.fill("f-bizcode", "biz-ny")
	b.wait("the form's preview in New York", `document.querySelectorAll("#preview-list li").length === 5 &&
		[...document.querySelectorAll("#preview-list li")].every(li => / 02:30:00 -0[45]:00$/.test(li.textContent))`, 10*time.Second)
	b.screenshot("new")
	click("save the new schedule", "#save")
	b.wait("the editor to close", `document.getElementById("editor").hidden && document.getElementById("form-error").hidden`, 10*time.Second)
	ny := quartzSchedule(t, cl, "biz-ny")
	if p := ny.JobParameter; p.Timezone != "America/New_York" || p.Cron != "0 30 2 ? * MON-FRI" ||
		p.WorkerGroup != "" || p.Route != "" || p.Calendars != nil {
		t.Fatalf("the schedule made in the console: %s", mustJSON(p))
	}

	// 5. In Chinese, the hint of a schedule's workers and its group's placeholder.
	b.open("edit the new schedule", action(ny.ID, "edit"), "#editor")
	if got := b.value("f-timezone"); got != "America/New_York" {
		t.Errorf("the new schedule's edit form holds the zone %q", got)
	}
	b.fill("lang", "zh")
	if got := eval[string](b, `document.getElementById("f-worker-group").placeholder`); got != "不填：由业务行为的执行方处理" {
		t.Errorf("in zh, the group's placeholder reads %q", got)
	}
	if hint := b.text(`#job-form p[data-i18n="form.workersBizHint"]`); !strings.HasPrefix(hint, "Worker 组：") {
		t.Errorf("in zh, the workers' hint reads %q", hint)
	}
	b.screenshot("chinese")
	b.fill("lang", "en")
	click("cancel", "#cancel")

	if problems := b.problems(); len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}
}

// quartzSchedule reads the behaviour's schedule, waiting up to ten seconds for it (a save the
// trigger had not applied yet, a 202, is read once it has).
func quartzSchedule(t *testing.T, cl *jobcenter.Client, bizcode string) *jobcenter.Job {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st, err := cl.ScheduleStatuses(ctx, bizcode)
		if err == nil && len(st) == 1 {
			j, err := cl.GetJob(ctx, st[0].JobInfoID)
			if err == nil {
				return j
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the schedule of %s: %v, %s", bizcode, err, mustJSON(st))
		}
	}
}
