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

// The console backfills a job and gives an interval job a fixed delay. A job row's
// Backfill… opens a form of the range, which posts it and shows the api's answer (the
// fires stored, their first and last instants, whether the range held more); the job's
// journal shows the runs as backfill, each at its instant; a refused range is marked at
// the field the api names, and the answer shown before it goes (one still on its way
// when the refusal came is not shown beside it). The job form's Fixed delay (interval jobs only) is sent on
// save, shown under the job's trigger, filled in again when editing and cleared; one the
// job's misfire grace does not allow is refused at it. Both in two languages.
// Screenshots go to the console's artifacts, named backfill-NN-*.
func TestConsoleBackfillsAPastRangeAndGivesAnIntervalJobAFixedDelay(t *testing.T) {
	cl, b := openConsole(t, "backfill-")
	ctx := context.Background()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := b.text
	visible := b.visible
	click := func(what, sel string) { b.do(what, chromedp.Click(css(sel))) }
	// The range is entered as people write it: the server's local form, in its zone.
	local := func(at time.Time) string { return at.In(shanghai).Format(jobcenter.LocalTimeLayout) }
	const pidD = "d1138d88-49ec-11f0-b168-c6ee2c8e08e7"

	// 1. A job every minute; its row's Backfill… opens the form for it.
	j := must(cl.AddJob(ctx, jobcenter.JobSpec{Pid: pidD, Name: "补跑任务", Trigger: jobcenter.TriggerInterval, Seconds: 60, Code: "return 1"}))(t)
	click("refresh", "#refresh")
	b.wait("the job in the list", row(j.ID)+" !== null", 10*time.Second)
	action := func(id, name string) string {
		return fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action=%q]`, id, name)
	}
	if got := text(action(j.ID, "backfill")); got != "Backfill…" {
		t.Errorf("the row's button reads %q", got)
	}
	b.open("backfill…", action(j.ID, "backfill"), "#backfill-panel")
	if got := text("#backfill-job"); got != "补跑任务" {
		t.Errorf("the form is for %q", got)
	}

	// 2. Four minutes, ten minutes ago, two at once: the interval's instants counted from
	// From, five fires, as the api answers.
	now := time.Now().Truncate(time.Second)
	from := now.Add(-10 * time.Minute)
	b.fill("b-from", local(from))
	b.fill("b-to", local(from.Add(4*time.Minute)))
	b.fill("b-concurrency", "2")
	b.screenshot("form")
	click("backfill", "#backfill-go")
	b.wait("the answer", `(e => !e.hidden && e.dataset.fires === "5")(document.getElementById("backfill-result"))`, 10*time.Second)
	if got, want := eval[string](b, `(d => [d.first, d.last, d.capped].join("|"))(document.getElementById("backfill-result").dataset)`),
		local(from)+"|"+local(from.Add(4*time.Minute))+"|false"; got != want {
		t.Errorf("the answer shown: %q, want %q", got, want)
	}
	if got, want := text("#backfill-result"), fmt.Sprintf("5 runs stored, from %s to %s, 2 at once: the job's Journal shows them as backfill.",
		local(from), local(from.Add(4*time.Minute))); got != want {
		t.Errorf("the answer reads %q, want %q", got, want)
	}
	b.screenshot("answered")

	// The journal shows the five runs as backfill, each at its instant, as the api does.
	var instants []string
	for _, e := range waitRuns(t, cl, j.ID, 5).Data {
		at, err := e.Triggered()
		if err != nil || e.RunType != "backfill" || e.ExeStatus != jobcenter.StatusSuccess || at.Sub(from)%time.Minute != 0 {
			t.Fatalf("a backfill run: %s", mustJSON(e))
		}
		instants = append(instants, local(at))
	}
	slices.Sort(instants)
	b.open("journal", action(j.ID, "journal"), "#journal-panel")
	journalRuns := `[...document.querySelectorAll("#journal tbody tr[data-status='success']")].filter(tr => tr.cells[3].textContent === %q).map(tr => tr.cells[0].textContent).sort().join("|")`
	b.wait("five backfill runs in the journal", fmt.Sprintf(journalRuns+" === %q", "backfill", strings.Join(instants, "|")), 10*time.Second)
	if instants[0] != local(from) || instants[4] != local(from.Add(4*time.Minute)) {
		t.Fatalf("the runs' instants: %v", instants)
	}
	b.screenshot("journal")

	// 3. A range reaching past now is refused naming to, marked at To; nothing is stored.
	// Changing the field puts the refusal away.
	b.fill("b-to", local(now.Add(time.Hour)))
	click("backfill past now", "#backfill-go")
	b.wait("the api's refusal", `(e => !e.hidden && e.textContent.includes("400") && e.dataset.field === "to")(document.getElementById("backfill-error")) &&
		document.getElementById("b-to").classList.contains("invalid") && document.getElementById("backfill-result").hidden`, 10*time.Second)
	b.screenshot("refused")
	b.fill("b-to", local(now))
	b.wait("the refusal put away", `document.getElementById("backfill-error").hidden && !document.querySelector("#backfill-form .invalid")`, 5*time.Second)

	// 4. Eight days of minutes are more than 10,000 instants: refused naming to, unless
	// At most runs the first ones.
	b.fill("b-from", local(now.Add(-8*24*time.Hour)))
	click("backfill eight days", "#backfill-go")
	b.wait("the refusal of the wide range", `(e => !e.hidden && e.dataset.field === "to" && e.textContent.includes("10000"))(document.getElementById("backfill-error"))`, 10*time.Second)
	b.fill("b-max-fires", "3")
	click("backfill the first three", "#backfill-go")
	b.wait("the capped answer", `(e => !e.hidden && e.dataset.fires === "3" && e.dataset.capped === "true" &&
		e.textContent.endsWith("The range holds more instants: only its first 3 ran."))(document.getElementById("backfill-result"))`, 10*time.Second)
	if got := eval[string](b, `document.getElementById("backfill-result").dataset.first`); got != local(now.Add(-8*24*time.Hour)) {
		t.Errorf("the capped backfill's first instant: %q", got)
	}
	waitRuns(t, cl, j.ID, 8)
	b.wait("eight backfill runs in the journal", `document.querySelectorAll("#journal tbody tr[data-status='success']").length === 8`, 10*time.Second)
	b.screenshot("capped")

	// 5. In Chinese: the form, its answer, the journal's run type, the row's button.
	b.fill("lang", "zh")
	for sel, w := range map[string]string{
		`#backfill-panel span[data-i18n="backfill.title"]`:   "补跑过去的时间段",
		`#backfill-form span[data-i18n="backfill.maxFires"]`: "最多补跑次数（0：不限）",
		action(j.ID, "backfill"):                             "补跑…",
		"#journal tbody tr td:nth-child(4)":                  "补跑",
	} {
		if got := text(sel); got != w {
			t.Errorf("in zh, %s reads %q, want %q", sel, got, w)
		}
	}
	if got := text("#backfill-result"); !strings.HasPrefix(got, "已保存 3 次执行") || !strings.HasSuffix(got, "只执行了最早的 3 次。") {
		t.Errorf("in zh, the answer reads %q", got)
	}
	b.screenshot("chinese")
	b.fill("lang", "en")

	// The answer shown goes once another backfill is refused: by the browser (a field out
	// of its bounds, nothing sent) ...
	b.fill("b-concurrency", "0")
	click("backfill none at once", "#backfill-go")
	b.wait("the answer put away", `document.getElementById("backfill-result").hidden && document.getElementById("b-concurrency").matches(":invalid")`, 5*time.Second)
	b.fill("b-concurrency", "1")
	b.fill("b-max-fires", "0")
	// ... or by the api while an earlier backfill's answer is still on its way: that
	// answer, arriving after the refusal, is not shown beside it. The page's next backfill
	// answer is held back two seconds.
	eval[bool](b, `(f => (window.fetch = function (url, init) {
		const p = f.apply(this, arguments);
		if (!String(url).endsWith("/backfill") || window.heldBack !== undefined) return p;
		window.heldBack = false;
		return p.then(resp => new Promise(ok => setTimeout(() => { window.heldBack = true; ok(resp); }, 2000)));
	}, true))(window.fetch)`)
	b.fill("b-from", local(from))
	b.fill("b-to", local(from.Add(4*time.Minute)))
	click("backfill, its answer held back", "#backfill-go")
	b.fill("b-to", local(now.Add(time.Hour)))
	click("backfill past now meanwhile", "#backfill-go")
	b.wait("the refusal", `(e => !e.hidden && e.dataset.field === "to")(document.getElementById("backfill-error")) && window.heldBack === false`, 10*time.Second)
	b.wait("the held-back answer", `window.heldBack === true`, 10*time.Second)
	time.Sleep(500 * time.Millisecond) // for the page to read the answer
	if got := eval[string](b, `[document.getElementById("backfill-result").hidden, document.getElementById("backfill-error").hidden,
		document.getElementById("backfill-error").dataset.field].join("|")`); got != "true|false|to" {
		t.Errorf("after a refusal, an earlier backfill's answer arrived: result hidden, error hidden, field: %q", got)
	}
	b.screenshot("refused-after-an-answer")
	click("close the backfill", "#backfill-cancel")
	click("close the journal", "#journal-close")
	b.wait("the panels closed", `document.getElementById("backfill-panel").hidden && document.getElementById("journal-panel").hidden`, 5*time.Second)

	// 6. The fixed delay is asked for with an interval only. Checked, the form's preview
	// shows only the first fire; saved, the api has it and the list shows it under the
	// trigger.
	b.do("new job", chromedp.Click(css("#new-job")), chromedp.WaitVisible(css("#editor")))
	for trig, want := range map[string]bool{"interval": true, "date": false, "cron": false, "quartz": false} {
		b.fill("f-trigger", trig)
		if visible("f-fixed-delay") != want {
			t.Errorf("with the %s trigger, the fixed delay visible: %v", trig, !want)
		}
	}
	b.fill("f-trigger", "interval")
	if eval[bool](b, `document.getElementById("f-fixed-delay").checked`) {
		t.Error("a new job's fixed delay is checked")
	}
	b.fill("f-name", "固定延迟任务")
	b.fill("f-pid", pidD)
	b.fill("f-seconds", "300")
	b.fill("f-code", "return 1")
	click("fixed delay", "#f-fixed-delay")
	b.wait("the form's preview of one fire", `(l => l.length === 2 && l[0].textContent === "once started: 300 s after the start, then 300 s after each run ends")(document.querySelectorAll("#preview-list li"))`, 5*time.Second)
	b.screenshot("fixed-delay-form")
	b.do("save", chromedp.Click(css("#save")))
	b.wait("the editor to close", `document.getElementById("editor").hidden`, 10*time.Second)
	b.wait("the job in the list", `[...document.querySelectorAll("#jobs tbody tr")].some(tr => tr.querySelector("td.name").textContent === "固定延迟任务")`, 10*time.Second)
	id := eval[string](b, `[...document.querySelectorAll("#jobs tbody tr")].find(tr => tr.querySelector("td.name").textContent === "固定延迟任务").dataset.id`)
	if p := must(cl.GetJob(ctx, id))(t).JobParameter; !p.FixedDelay || p.Seconds == nil || *p.Seconds != 300 || p.Trigger != jobcenter.TriggerInterval {
		t.Fatalf("the job saved from the form: %s", mustJSON(p))
	}
	trigger := fmt.Sprintf(`#jobs tr[data-id=%q] td.trigger`, id)
	if got := text(trigger + " .fixed-delay"); got != "each fire 300 s after the last run ended (fixed delay)" {
		t.Errorf("the list's fixed delay reads %q", got)
	}
	// Its Preview panel lists its next fire only, and says why.
	b.open("preview", action(id, "preview"), "#fires-panel")
	b.wait("the panel's note", `document.querySelectorAll("#fires-list time").length === 1 && document.getElementById("fires-note").textContent.includes("Fixed delay: only the next fire is known")`, 10*time.Second)
	b.fill("lang", "zh")
	if got := text(trigger + " .fixed-delay"); got != "上次执行结束 300 秒后再触发（固定延迟）" {
		t.Errorf("in zh, the list's fixed delay reads %q", got)
	}
	b.screenshot("fixed-delay-listed")
	b.fill("lang", "en")
	click("close the preview", "#fires-close")

	// 7. The edit form holds it; unchecked and saved, the job has none.
	b.open("edit", action(id, "edit"), "#editor")
	if !eval[bool](b, `document.getElementById("f-fixed-delay").checked`) {
		t.Fatal("the edit form does not hold the fixed delay")
	}
	click("no fixed delay", "#f-fixed-delay")
	b.do("save without it", chromedp.Click(css("#save")))
	b.wait("no fixed delay in the list", fmt.Sprintf(`document.querySelector(%q) === null && document.getElementById("editor").hidden &&
		document.querySelector(%q).textContent.startsWith("every 300 s")`, trigger+" .fixed-delay", trigger), 10*time.Second)
	if p := must(cl.GetJob(ctx, id))(t).JobParameter; p.FixedDelay {
		t.Fatalf("the job without it: %s", mustJSON(p))
	}

	// 8. A job with a misfire grace (which the form does not show): the fixed delay is
	// refused naming misfire_grace_time, marked at the check box; nothing changes.
	graced := must(cl.AddJob(ctx, jobcenter.JobSpec{Pid: pidD, Name: "有容错", Trigger: jobcenter.TriggerInterval, Seconds: 600,
		Code: "return 1", MisfireGraceTime: ptr[int64](30)}))(t)
	click("refresh", "#refresh")
	b.wait("the graced job in the list", row(graced.ID)+" !== null", 10*time.Second)
	b.open("edit the graced job", action(graced.ID, "edit"), "#editor")
	click("fixed delay", "#f-fixed-delay")
	b.do("save the fixed delay", chromedp.Click(css("#save")))
	b.wait("the api's refusal", `(e => !e.hidden && e.textContent.includes("400") && e.dataset.field === "misfire_grace_time")(document.getElementById("form-error")) &&
		document.getElementById("f-fixed-delay").classList.contains("invalid")`, 10*time.Second)
	if p := must(cl.GetJob(ctx, graced.ID))(t).JobParameter; p.FixedDelay || p.MisfireGraceTime == nil || *p.MisfireGraceTime != 30 {
		t.Fatalf("the graced job after the refusal: %s", mustJSON(p))
	}
	b.screenshot("fixed-delay-refused")
	click("cancel", "#cancel")

	// The backfills past now and of eight days, and the graced job's fixed delay, were
	// refused on purpose.
	if problems := b.problems("/api/v1/jobs/"+j.ID+"/backfill", "/api/v1/jobs/"+graced.ID); len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}
}
