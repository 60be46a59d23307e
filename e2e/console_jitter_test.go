package e2e_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
)

// The console gives a job a jitter and an overlap policy: the form's Jitter beside the
// lifetime (interval, date and cron jobs) and its Overlap choices beside the pause, sent on
// save, shown under the job's trigger in both languages and filled in again when editing;
// the job's Preview panel shows the api's spread times, to the millisecond; an overlap the
// job's max_instances does not allow is refused at the form's overlap. Screenshots go to
// the console's artifacts, named jitter-NN-*.
func TestConsoleGivesAJobAJitterAndAnOverlapPolicyAndPreviewsItsSpreadTimes(t *testing.T) {
	cl, b := openConsole(t, "jitter-")
	ctx := context.Background()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := b.text
	visible := b.visible
	value := b.value
	click := func(what, sel string) { b.do(what, chromedp.Click(css(sel))) }

	// 1. The jitter and the overlap are asked for with an interval, date or cron trigger,
	// not a Quartz schedule's; the overlap's choices are Temporal's four, each explained.
	b.do("new job", chromedp.Click(css("#new-job")), chromedp.WaitVisible(css("#editor")))
	for trig, want := range map[string]bool{"interval": true, "date": true, "cron": true, "quartz": false} {
		b.fill("f-trigger", trig)
		if visible("f-jitter") != want || visible("f-overlap") != want {
			t.Errorf("with the %s trigger, jitter and overlap visible: %v %v, want %v", trig, visible("f-jitter"), visible("f-overlap"), want)
		}
	}
	if got := eval[string](b, `[...document.getElementById("f-overlap").options].map(o => o.value + "=" + o.textContent).join("|")`); got !=
		"skip=skip: beyond max_instances a fire is skipped (default)|"+
			"buffer_one=buffer_one: a fire waits for the run under way, then runs|"+
			"cancel_other=cancel_other: a fire kills the run under way, then runs|"+
			"allow_all=allow_all: every fire runs at once" {
		t.Errorf("the overlap's choices: %q", got)
	}
	if value("f-jitter") != "0" || value("f-overlap") != "skip" {
		t.Errorf("a new job's jitter and overlap: %q %q, want 0 and skip", value("f-jitter"), value("f-overlap"))
	}

	// 2. Every 600 s, spread over up to 120 s, buffer_one: the form's preview says how far
	// each run may be spread. Saved, the api has both and the list shows them under the
	// trigger.
	b.fill("f-trigger", "interval")
	b.fill("f-name", "抖动任务")
	b.fill("f-pid", "d1138d88-49ec-11f0-b168-c6ee2c8e08e7")
	b.fill("f-seconds", "600")
	b.fill("f-code", "return 1")
	b.fill("f-jitter", "120")
	b.fill("f-overlap", "buffer_one")
	b.wait("the form's preview with the spread", `(l => l.length === 5 && l[4].textContent === "each run up to 120 s after its time (jitter)")(document.querySelectorAll("#preview-list li"))`, 5*time.Second)
	b.screenshot("form")
	b.do("save", chromedp.Click(css("#save")))
	b.wait("the editor to close", `document.getElementById("editor").hidden`, 10*time.Second)
	b.wait("the job in the list", `[...document.querySelectorAll("#jobs tbody tr")].some(tr => tr.querySelector("td.name").textContent === "抖动任务")`, 10*time.Second)
	id := eval[string](b, `[...document.querySelectorAll("#jobs tbody tr")].find(tr => tr.querySelector("td.name").textContent === "抖动任务").dataset.id`)
	j := must(cl.GetJob(ctx, id))(t)
	if p := j.JobParameter; p.Jitter == nil || *p.Jitter != 120 || p.Overlap != jobcenter.OverlapBufferOne || p.Trigger != "interval" {
		t.Fatalf("the job saved from the form: %s", mustJSON(j))
	}
	trigger := fmt.Sprintf(`#jobs tr[data-id=%q] td.trigger`, id)
	if got := text(trigger + " .jitter"); got != "spread up to 120 s after each instant" {
		t.Errorf("the list's jitter reads %q", got)
	}
	if got := text(trigger + " .overlap"); got != "buffer_one: a fire waits for the run under way, then runs" {
		t.Errorf("the list's overlap reads %q", got)
	}
	b.screenshot("listed")

	// 3. Started, its Preview panel shows the api's times exactly (counted from its start),
	// each to the millisecond, spread: ten minutes apart give or take two, not all alike.
	click("start", fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="start"]`, id))
	b.wait("the job started", fmt.Sprintf(`%s.querySelector(".badge").dataset.state === "started"`, row(id)), 10*time.Second)
	b.do("preview", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="preview"]`, id))), chromedp.WaitVisible(css("#fires-panel")))
	b.wait("ten fire times", `document.querySelectorAll("#fires-list time").length === 10`, 10*time.Second)
	want := must(cl.Preview(ctx, id, 10))(t)
	shown := strings.Fields(eval[string](b, `[...document.querySelectorAll("#fires-list time")].map(e => e.dateTime).join(" ")`))
	texts := strings.Split(eval[string](b, `[...document.querySelectorAll("#fires-list time")].map(e => e.textContent).join("|")`), "|")
	if len(shown) != 10 || len(want.Next) != 10 || len(texts) != 10 || !want.Started {
		t.Fatalf("the panel shows %v, the api %+v", shown, want)
	}
	toTheMillisecond := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+08:00$`)
	gaps := map[time.Duration]bool{}
	for i, s := range shown {
		at, err := time.Parse(time.RFC3339Nano, s)
		read, rerr := time.Parse("2006-01-02 15:04:05.000 -07:00", texts[i])
		if err != nil || rerr != nil || !at.Equal(want.Next[i]) || !read.Equal(at) || !toTheMillisecond.MatchString(texts[i]) {
			t.Fatalf("fire time %d: %q shown as %q, the api's %v", i, s, texts[i], want.Next[i])
		}
		if i > 0 {
			gap := at.Sub(want.Next[i-1])
			if gap <= 8*time.Minute || gap >= 12*time.Minute {
				t.Fatalf("fire time %d: %v after the one before: %v", i, gap, shown)
			}
			gaps[gap] = true
		}
	}
	if len(gaps) == 1 {
		t.Fatalf("every fire spread alike: %v", shown)
	}
	if note := text("#fires-note"); !strings.HasPrefix(note, "Started:") || !strings.Contains(note, "Each is spread up to 120 s after its instant (jitter)") {
		t.Errorf("the preview panel reads %q", note)
	}
	b.screenshot("preview")

	// 4. In Chinese: the form's labels and choices, the list's lines, the panel's note.
	b.do("edit", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, id))), chromedp.WaitVisible(css("#editor")))
	b.fill("lang", "zh")
	for sel, w := range map[string]string{
		`#job-form span[data-i18n="form.jitter"]`:  "抖动（秒）",
		`#job-form span[data-i18n="form.overlap"]`: "重叠策略",
		`#f-overlap option[value="cancel_other"]`:  "cancel_other：终止当前执行，再执行",
		trigger + " .jitter":                       "每次触发推迟至多 120 秒",
		trigger + " .overlap":                      "buffer_one：等当前执行结束后再执行",
	} {
		if got := text(sel); got != w {
			t.Errorf("in zh, %s reads %q, want %q", sel, got, w)
		}
	}
	if note := text("#fires-note"); !strings.Contains(note, "至多 120 秒内执行（抖动）") {
		t.Errorf("in zh, the preview panel reads %q", note)
	}
	b.screenshot("chinese")
	b.fill("lang", "en")

	// 5. The edit form holds both; 30 s and allow_all saved, the list and the open panel
	// follow.
	if value("f-jitter") != "120" || value("f-overlap") != "buffer_one" {
		t.Fatalf("the edit form holds jitter %q, overlap %q", value("f-jitter"), value("f-overlap"))
	}
	b.fill("f-jitter", "30")
	b.fill("f-overlap", "allow_all")
	b.do("save the change", chromedp.Click(css("#save")))
	b.wait("the change in the list", fmt.Sprintf(`document.querySelector(%q).textContent === "spread up to 30 s after each instant" &&
		document.querySelector(%q).textContent === "allow_all: every fire runs at once"`, trigger+" .jitter", trigger+" .overlap"), 10*time.Second)
	b.wait("the panel's new spread", `document.getElementById("fires-note").textContent.includes("up to 30 s after its instant")`, 10*time.Second)
	if p := must(cl.GetJob(ctx, id))(t).JobParameter; p.Jitter == nil || *p.Jitter != 30 || p.Overlap != jobcenter.OverlapAllowAll {
		t.Fatalf("the job after the edit: %s", mustJSON(p))
	}
	b.screenshot("edited")

	// 6. A job of two runs at once (its max_instances, which the form does not show): an
	// overlap other than skip is refused naming max_instances, marked at the overlap;
	// nothing changes.
	two := must(cl.AddJob(ctx, jobcenter.JobSpec{Pid: "d1138d88-49ec-11f0-b168-c6ee2c8e08e7", Name: "两个同时", Trigger: jobcenter.TriggerInterval,
		Seconds: 600, Code: "return 1", MaxInstances: ptr[int64](2)}))(t)
	click("refresh", "#refresh")
	b.wait("the job of two in the list", row(two.ID)+" !== null", 10*time.Second)
	b.do("edit the job of two", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, two.ID))), chromedp.WaitVisible(css("#editor")))
	if value("f-overlap") != "skip" || value("f-jitter") != "0" {
		t.Fatalf("the edit form of a job without them: overlap %q, jitter %q", value("f-overlap"), value("f-jitter"))
	}
	b.fill("f-overlap", "cancel_other")
	b.do("save cancel_other", chromedp.Click(css("#save")))
	b.wait("the api's refusal", `(e => !e.hidden && e.textContent.includes("400") && e.textContent.includes("max_instances") &&
		e.dataset.field === "max_instances")(document.getElementById("form-error")) && document.getElementById("f-overlap").classList.contains("invalid")`, 10*time.Second)
	if p := must(cl.GetJob(ctx, two.ID))(t).JobParameter; p.Overlap != "" || p.MaxInstances == nil || *p.MaxInstances != 2 {
		t.Fatalf("the job of two after the refusal: %s", mustJSON(p))
	}
	b.screenshot("refused")
	click("cancel", "#cancel")

	// 7. Jitter 0 and skip: the job has neither, the list shows neither.
	b.do("edit again", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, id))), chromedp.WaitVisible(css("#editor")))
	b.fill("f-jitter", "0")
	b.fill("f-overlap", "skip")
	b.do("save without them", chromedp.Click(css("#save")))
	b.wait("neither in the list", fmt.Sprintf(`document.querySelector(%q) === null && document.querySelector(%q) === null &&
		document.getElementById("editor").hidden`, trigger+" .jitter", trigger+" .overlap"), 10*time.Second)
	if p := must(cl.GetJob(ctx, id))(t).JobParameter; p.Jitter != nil || p.Overlap != "" {
		t.Fatalf("the job without them: %s", mustJSON(p))
	}
	b.wait("the panel without the spread", `document.querySelectorAll("#fires-list time").length === 10 && !document.getElementById("fires-note").textContent.includes("jitter")`, 10*time.Second)
	b.screenshot("cleared")

	// The overlap on the job of two was refused on purpose.
	if problems := b.problems("/api/v1/jobs/" + two.ID); len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}
}
