package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// The console's Workers panel and the job form's worker group in a real browser, with a
// real example worker (examples/worker) joined to the console's center: a flow job given
// the group "g" and the route failover through the form (a group the api refuses marked
// at its field first) reads so in the list and in its edit form; the panel shows the
// group the job names with no worker online, then the worker once it joins; a run now
// goes to it and the journal shows its greeting; killed (SIGKILL), it leaves the panel
// within seconds, the group back to waiting; in English and Chinese; the group emptied
// in the form, the job is no longer the workers'. Screenshots go to the console's
// artifacts, named workers-NN-*.
func TestConsoleWorkersPanelFollowsARealWorkerOfTheGroupAJobNamesInItsForm(t *testing.T) {
	c, b, key, natsURL := openWorkersConsole(t, "workers-")
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := b.text
	click := func(what, sel string) { b.do(what, chromedp.Click(css(sel))) }
	auth := []string{"Authorization", "Bearer " + key}
	group := func(g, rest string) string {
		return fmt.Sprintf(`#workers-groups .worker-group[data-group=%q]%s`, g, rest)
	}

	// 1. The panel opens, read from the api: no worker online, no job naming a group.
	b.do("open the workers", chromedp.Click(css("#open-workers")), chromedp.WaitVisible(css("#workers-panel")))
	b.wait("no workers", `!document.getElementById("workers-empty").hidden && document.querySelectorAll("#workers-groups .worker-group").length === 0 &&
		document.getElementById("workers-count").textContent === "groups: 0, workers online: 0" && document.getElementById("workers-read").textContent.startsWith("read at ")`, 10*time.Second)
	b.screenshot("empty")

	// 2. The job form: a flow job asks for its worker group and route, the six routes
	// each with its hint; without a group no route is chosen. A group the api refuses is
	// marked at its field; nothing is stored.
	b.do("new job", chromedp.Click(css("#new-job")), chromedp.WaitVisible(css("#editor")))
	b.fill("f-trigger", "interval")
	if b.visible("f-worker-group") || b.visible("f-route") {
		t.Error("the worker group or the route is shown for a code job")
	}
	b.fill("f-target", "flow")
	if !b.visible("f-worker-group") || !b.visible("f-route") {
		t.Fatal("the worker group or the route is not shown for a flow job")
	}
	if got, want := eval[string](b, `[...document.getElementById("f-route").options].map(o => o.value + "=" + o.textContent).join("|")`), strings.Join([]string{
		"round_robin=round_robin: its workers in turn (default)", "random=random: any of its workers",
		"consistent_hash=consistent_hash: the same worker for the job while the group stays the same",
		"failover=failover: the first worker to join that takes it", "least_busy=least_busy: the worker with the fewest runs under way",
		"sharding=sharding: every worker runs it, each its shard"}, "|"); got != want {
		t.Errorf("the routes read\n%q\nwant\n%q", got, want)
	}
	if b.value("f-route") != "round_robin" || !eval[bool](b, `document.getElementById("f-route").disabled`) {
		t.Errorf("without a group, the route: %q, disabled %v", b.value("f-route"), eval[bool](b, `document.getElementById("f-route").disabled`))
	}
	b.fill("f-name", "工作者任务")
	b.fill("f-pid", pid)
	b.fill("f-seconds", "3600")
	b.fill("f-flow-id", "hello")
	b.fill("f-worker-group", "g g")
	b.fill("f-route", "failover")
	click("save a group that is no name", "#save")
	b.wait("the api's refusal of the group", `(e => !e.hidden && e.dataset.field === "worker_group" && e.textContent.startsWith("Error 400: worker_group: "))(document.getElementById("form-error")) &&
		document.getElementById("f-worker-group").classList.contains("invalid")`, 10*time.Second)
	b.screenshot("refused")
	var list []map[string]any
	c.do("GET", "/api/v1/jobs", consoleProject, nil, auth...).must(t, 200).json(t, &list)
	if len(list) != 0 {
		t.Fatalf("a refused job was stored: %s", mustJSON(list))
	}
	b.fill("f-worker-group", "g")
	b.wait("the refusal put away", `document.getElementById("form-error").hidden && !document.querySelector("#job-form .invalid") &&
		!document.getElementById("f-route").disabled`, 5*time.Second)
	b.screenshot("form")

	// 3. Saved: the api has the group and the route; the list shows them with the flow.
	click("save the job", "#save")
	b.wait("the editor to close", `document.getElementById("editor").hidden`, 10*time.Second)
	b.wait("the job in the list", `[...document.querySelectorAll("#jobs tbody tr")].some(tr => tr.querySelector("td.name").textContent === "工作者任务")`, 10*time.Second)
	id := eval[string](b, `[...document.querySelectorAll("#jobs tbody tr")].find(tr => tr.querySelector("td.name").textContent === "工作者任务").dataset.id`)
	param := func() map[string]any {
		t.Helper()
		return c.do("GET", "/api/v1/jobs/"+id, consoleProject, nil, auth...).must(t, 200).obj(t)["jobParameter"].(map[string]any)
	}
	if p := param(); p["worker_group"] != "g" || p["route"] != "failover" {
		t.Fatalf("the job saved from the form: %s", mustJSON(p))
	}
	target := fmt.Sprintf(`#jobs tr[data-id=%q] td.target`, id)
	if got := text(target); got != "flow hello · workers g (failover)" {
		t.Errorf("the list's target reads %q", got)
	}

	// 4. Its edit form holds the group and the route as read.
	b.do("edit", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, id))), chromedp.WaitVisible(css("#editor")))
	if got := eval[string](b, `["f-target", "f-flow-id", "f-worker-group", "f-route"].map(id => document.getElementById(id).value).join("|") + "|" +
		document.getElementById("f-route").disabled`); got != "flow|hello|g|failover|false" {
		t.Errorf("the edit form holds %q", got)
	}
	click("cancel", "#cancel")

	// 5. The panel shows the group the job names, with no worker online: its fires wait.
	b.wait("the group waiting", fmt.Sprintf(`(g => g !== null && g.dataset.workers === "0" && g.querySelector("p.none").textContent === "no worker online — its fires wait" &&
		g.querySelector("h3 .jobs").textContent === "· named by 工作者任务")(document.querySelector(%q))`, group("g", "")), 10*time.Second)
	if got := text("#workers-count"); got != "groups: 1, workers online: 0" {
		t.Errorf("the panel's count reads %q", got)
	}
	b.screenshot("group-waiting")

	// 6. A worker joins the group: the panel, reading itself again, lists it.
	w := startConsoleWorker(t, natsURL, key, "g")
	host, _ := os.Hostname()
	b.wait("the worker listed", fmt.Sprintf(`(r => r !== null && r.querySelector("td.id").textContent === %q && r.querySelector("td.host").textContent === %q)(document.querySelector(%q))`,
		w.id, host, group("g", fmt.Sprintf(` tr[data-id=%q]`, w.id))), 15*time.Second)
	row := group("g", fmt.Sprintf(` tr[data-id=%q]`, w.id))
	for cell, want := range map[string]string{"td.load": "0 / 8", "td.leaving": "no"} {
		if got := text(row + " " + cell); got != want {
			t.Errorf("the worker's %s reads %q, want %q", cell, got, want)
		}
	}
	if got := text(row + " td.handles"); !strings.Contains(got, "hello") {
		t.Errorf("the worker handles %q", got)
	}
	for _, cell := range []string{"td.since", "td.heartbeat"} {
		if got := text(row + " " + cell); len(got) != len("2006-01-02 15:04:05") {
			t.Errorf("the worker's %s reads %q", cell, got)
		}
	}
	if got := text("#workers-count"); got != "groups: 1, workers online: 1" || eval[bool](b, fmt.Sprintf(`document.querySelector(%q) !== null`, group("g", " p.none"))) {
		t.Errorf("with the worker online the panel reads %q and still says the group waits", got)
	}
	b.screenshot("worker-online")

	// 7. Run now from the console: the worker runs it, and the journal shows its greeting.
	b.do("journal", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="journal"]`, id))), chromedp.WaitVisible(css("#journal-panel")))
	click("run it now", fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="exec"]`, id))
	b.wait("the worker's run in the journal", fmt.Sprintf(`[...document.querySelectorAll("#journal tbody tr[data-status='success'] td.detail")].some(td =>
		td.title.includes(%q))`, "hello from "+w.id), 20*time.Second)
	b.screenshot("run")

	// 8. Killed, the worker sends no more heartbeats: it leaves the panel within
	// seconds, the group waiting again.
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	b.wait("the group waiting again", fmt.Sprintf(`(g => g !== null && g.dataset.workers === "0" && g.querySelector("p.none") !== null)(document.querySelector(%q))`, group("g", "")), 10*time.Second)
	t.Logf("the killed worker left the panel after %v", time.Since(killed).Round(100*time.Millisecond))
	b.screenshot("worker-gone")

	// 9. In Chinese: the panel and the job list's line.
	b.fill("lang", "zh")
	for sel, want := range map[string]string{
		"#open-workers": "Worker", "#workers-panel h2": "Worker", group("g", " p.none"): "没有在线的 worker — 其触发在等待",
		target: "流程 hello · Worker 组 g（failover）", `#job-form label span[data-i18n="form.route"]`: "路由策略",
	} {
		if got := text(sel); got != want {
			t.Errorf("in zh, %s reads %q, want %q", sel, got, want)
		}
	}
	b.screenshot("chinese")
	b.fill("lang", "en")

	// 10. The group emptied in the form, the job is no longer the workers'; the panel no
	// longer shows the group.
	b.do("edit again", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, id))), chromedp.WaitVisible(css("#editor")))
	b.fill("f-worker-group", "")
	click("save without the group", "#save")
	b.wait("the list without the group", fmt.Sprintf(`document.getElementById("editor").hidden && document.querySelector(%q).textContent === "flow hello"`, target), 10*time.Second)
	if p := param(); p["worker_group"] != nil || p["route"] != nil {
		t.Fatalf("the job without its group: %s", mustJSON(p))
	}
	b.wait("the panel without the group", `!document.getElementById("workers-empty").hidden && document.querySelectorAll("#workers-groups .worker-group").length === 0`, 10*time.Second)

	// The group refused was sent on purpose.
	if problems := b.problems("/api/v1/jobs"); len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}
}

// openWorkersConsole is openConsole with the center's NATS at an address of the test's:
// it returns the center, the browser, the project's key and the NATS URL its workers join.
func openWorkersConsole(t *testing.T, prefix string) (c *center, b *browser, key, natsURL string) {
	t.Helper()
	exe := chromium(t)
	bin, err := buildServices()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	key, line := api.MintKey(consoleProject)
	natsAddr := freeAddr(t)
	// The later setting of the two wins (os/exec keeps the last value of a name).
	p, c := keyedAllInOneWith(t, bin, []string{"JOBCENTER_TZ=Asia/Shanghai", "JOBCENTER_NATS_LISTEN=" + natsAddr}, line)
	t.Cleanup(func() { p.term(t) })
	proxy := contractProxy(t, c.url)
	b = newBrowser(t, exe, artifacts(t, "console", prefix))
	b.prefix = prefix
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	b.do("open /ui", chromedp.Navigate(proxy+"/ui"), chromedp.WaitVisible(css("#login-form")))
	b.wait("the page's script", `document.body.dataset.ready === "true"`, 10*time.Second)
	b.fill("lang", "en")
	b.fill("project", consoleProject)
	b.fill("key", key)
	b.do("log in", chromedp.Click(css("#login-go")), chromedp.WaitVisible(css("#jobs-panel")))
	return c, b, key, "nats://" + natsAddr
}

// startConsoleWorker runs an example worker of the console's project in group, joined to
// the center's NATS with the project's key (its password where NATS asks for one), and
// waits until it says it joined.
func startConsoleWorker(t *testing.T, natsURL, key, group string) *workerProc {
	t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command(buildWorker(t), "-group", group)
	cmd.Env = append(os.Environ(), "NATS_URL="+natsURL, "JOBCENTER_TENANT="+consoleProject, "JOBCENTER_API_KEY="+key)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &workerProc{cmd: cmd, out: out, exited: make(chan error, 1)}
	go func() { w.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-w.exited
		if t.Failed() {
			t.Logf("worker %s's output:\n%s", w.id, out.String())
		}
	})
	teststack.Eventually(t, 10*time.Second, "the worker never said it joined", func() bool {
		m := joined.FindStringSubmatch(out.String())
		if m != nil {
			w.id = m[1]
		}
		return m != nil
	})
	return w
}
