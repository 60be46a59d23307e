package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	jobcenter "github.com/jobcenter/jobcenter/clients/go"
	"github.com/jobcenter/jobcenter/services/api"
)

// The web console (/ui) is tested in a real browser: Debian's chromium, headless, driven
// by chromedp, against the all-in-one program with API keys on. Each step leaves a
// screenshot under $JOBCENTER_ARTIFACTS/console (default e2e/artifacts/console).

const consoleProject = "console-e2e"

// chromium returns the browser, or skips the test without one (fails it when CI is set).
// JOBCENTER_CHROMIUM names another binary.
func chromium(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("JOBCENTER_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the console's browser tests need chromium (apt-get install chromium, or JOBCENTER_CHROMIUM=/path)")
	}
	t.Skip("skipping the console's browser tests: no chromium (apt-get install chromium, or JOBCENTER_CHROMIUM=/path); they fail instead when CI is set")
	return ""
}

// artifacts is the folder the test's screenshots go to, rid of those an earlier run of
// the test left: the PNGs whose names are prefix and a step's number. Two tests share a
// folder under prefixes of their own.
func artifacts(t *testing.T, name, prefix string) string {
	t.Helper()
	root := os.Getenv("JOBCENTER_ARTIFACTS")
	if root == "" {
		root = "artifacts"
	}
	dir, err := filepath.Abs(filepath.Join(root, name))
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, prefix+"[0-9][0-9]-*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	return dir
}

// browser is one headless chromium tab on the console, with what its page wrote to
// the console.
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	shot int
	// prefix begins its screenshots' names (artifacts).
	prefix string

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T, exe, dir string) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, for the life of ctx
		t.Fatalf("start %s: %v", exe, err)
	}
	b := &browser{t: t, ctx: ctx, dir: dir}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs the steps, failing the test with what for context.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, steps...)
	for tries := 0; err != nil && strings.Contains(err.Error(), "Could not find node with given id") && tries < 3; tries++ {
		// The console redrew the node between its lookup and the action (the job list
		// is reloaded on each live event): the same steps find the new one.
		err = chromedp.Do(ctx, steps...)
	}
	if err != nil {
		b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open clicks the button sel until the element panel is shown. The job list is drawn
// again on each live event: a click's node found, then replaced before it is seen
// visible, held chromedp's Click until its deadline (a busy machine's test failed so);
// a click made in the page finds the button as it is now.
func (b *browser) open(what, sel, panel string) {
	b.t.Helper()
	b.wait(what, fmt.Sprintf(`(p => (p && !p.hidden && p.getClientRects().length > 0) || (document.querySelector(%q)?.click(), false))(document.querySelector(%q))`, sel, panel), 30*time.Second)
}

// wait waits until the JavaScript expression is truthy.
func (b *browser) wait(what, expr string, within time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, within+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(within))); err != nil {
		b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// fill sets a form field as a user would, firing its input and change events.
func (b *browser) fill(id, value string) {
	b.t.Helper()
	eval[bool](b, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q;
		e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, id, value))
}

// screenshot keeps a PNG of the page, numbered in the order of the steps.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	b.shot++
	path := filepath.Join(b.dir, fmt.Sprintf("%s%02d-%s.png", b.prefix, b.shot, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	b.t.Logf("screenshot: %s", path)
}

// problems lists the exceptions and errors the page wrote to its console, but the 400s
// of the requests to paths ending in one of refused (those the test makes on purpose).
func (b *browser) problems(refused ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.messages {
		path := strings.TrimSuffix(m.URL, ":1")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if strings.Contains(m.Text, "400") && slices.ContainsFunc(refused, func(p string) bool { return strings.HasSuffix(path, p) }) {
			continue
		}
		if m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleError {
			out = append(out, m.String()+" ("+m.URL+":"+strconv.FormatInt(int64(m.Line)+1, 10)+")")
		}
	}
	return out
}

// row is the JavaScript expression of the job's row in the list.
func row(id string) string {
	return fmt.Sprintf(`document.querySelector('#jobs tr[data-id=%q]')`, id)
}

func TestConsoleInABrowserCreatesStartsWatchesLiveAndStopsAJobInTwoLanguages(t *testing.T) {
	exe := chromium(t)
	bin, err := buildServices()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	key, line := api.MintKey(consoleProject)
	// A code run may take long enough (steps) to be watched and killed.
	p, c := keyedAllInOneWith(t, bin, []string{"JOBCENTER_EXEC_MAX_STEPS=2000000000"}, line)
	t.Cleanup(func() { p.term(t) })

	// The page and its files, through the contract-checking transport.
	for _, path := range []string{"/ui", "/ui/console.js", "/ui/i18n.js", "/ui/console.css"} {
		resp, err := http.Get(c.url + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}

	// The browser is another process: it opens the console through a contract-checking
	// proxy, and the page's calls and its event stream (relative URLs) go through it too.
	proxy := contractProxy(t, c.url)
	dir := artifacts(t, "console", "")
	b := newBrowser(t, exe, dir)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// 1. Open the console; choose English whatever the browser's language.
	b.do("open /ui", chromedp.Navigate(proxy+"/ui"), chromedp.WaitVisible(css("#login-form")))
	b.wait("the page's script", `document.body.dataset.ready === "true"`, 10*time.Second)
	b.fill("lang", "en")
	b.screenshot("open")

	// 2. Log in as the project with its key: the list opens and the live stream connects.
	b.fill("project", consoleProject)
	b.fill("key", key)
	b.do("log in", chromedp.Click(css("#login-go")), chromedp.WaitVisible(css("#jobs-panel")))
	b.wait("the live stream", `document.getElementById("live").dataset.state === "on"`, 10*time.Second)
	if stored := eval[string](b, `localStorage.getItem("jobcenter.console.project")`); stored != consoleProject {
		t.Fatalf("the project kept in localStorage: %q", stored)
	}
	b.screenshot("project")

	// 3. The form's cron preview follows the expression as it is typed.
	b.do("new job", chromedp.Click(css("#new-job")), chromedp.WaitVisible(css("#editor")))
	b.fill("f-trigger", "cron")
	b.do("type a cron expression", chromedp.SendKeys(css("#f-cron"), "0 0 12 * * ?"))
	b.wait("the cron preview", `document.querySelectorAll("#preview-list li").length === 5 &&
		document.querySelector("#preview-list li").textContent.includes(" 12:00:00 ")`, 10*time.Second)
	b.screenshot("cron-preview")
	b.fill("f-cron", "0 0 12 * *")
	b.wait("the cron preview's error", `!document.getElementById("preview-error").hidden`, 10*time.Second)

	// 4. Create an interval job of 1 second.
	b.fill("f-trigger", "interval")
	b.fill("f-name", "console job 控制台")
	b.fill("f-pid", "d1138d88-49ec-11f0-b168-c6ee2c8e08e7")
	b.fill("f-seconds", "1")
	b.fill("f-code", `log_print("hello from the console", "INFO")`)
	b.screenshot("form")
	b.do("save", chromedp.Click(css("#save")))
	b.wait("the new job in the list", `[...document.querySelectorAll("#jobs tbody tr td.name")].some(td => td.textContent === "console job 控制台")`, 10*time.Second)
	id := eval[string](b, `[...document.querySelectorAll("#jobs tbody tr")].find(tr => tr.querySelector("td.name").textContent === "console job 控制台").dataset.id`)
	if id == "" {
		t.Fatal("the new job's row has no id")
	}
	b.wait("the editor to close", `document.getElementById("editor").hidden`, 5*time.Second)
	b.screenshot("created")

	// 5. Start it.
	b.do("start", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="start"]`, id))))
	b.wait("the job started", row(id)+`.querySelector("[data-state]").dataset.state === "started"`, 10*time.Second)

	// 6. Open its journal and watch runs arrive, live: the page is never reloaded (the
	// marker set now survives), and the console does not poll, so they come by the
	// event stream.
	b.do("journal", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="journal"]`, id))),
		chromedp.WaitVisible(css("#journal-panel")))
	eval[bool](b, `(window.__notReloaded = true)`)
	before := eval[int](b, `document.querySelectorAll("#journal tbody tr[data-status='success']").length`)
	b.wait("runs to appear in the journal", `document.querySelectorAll("#journal tbody tr[data-status='success']").length >= `+strconv.Itoa(before+2), 20*time.Second)
	if !eval[bool](b, `window.__notReloaded === true`) {
		t.Fatal("the page was reloaded")
	}
	b.wait("run events in the live panel", `document.querySelectorAll('#activity li[data-kind="run"]').length > 0`, 5*time.Second)
	b.screenshot("journal-live")

	// 7. Stop it.
	b.do("stop", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="stop"]`, id))))
	b.wait("the job stopped", row(id)+`.querySelector("[data-state]").dataset.state === "stopped"`, 10*time.Second)
	// Every run the live panel announced is in the journal, without a reload.
	b.wait("the journal to hold every announced run", `document.querySelectorAll("#journal tbody tr[data-status='success']").length ===
		Math.min(10, document.querySelectorAll('#activity li[data-kind="run"]').length)`, 10*time.Second)
	var job map[string]any
	c.do("GET", "/api/v1/jobs/"+id, consoleProject, nil, "Authorization", "Bearer "+key).must(t, 200).json(t, &job)
	if job["next_run_time"] != nil || job["jobParameter"].(map[string]any)["seconds"] != float64(1) {
		t.Fatalf("the job after stop: %v", job)
	}
	b.screenshot("stopped")

	// Run it once with parameters: what is not JSON is caught in the page, what the api
	// refuses is shown naming the field, and the run's entry shows its params.
	b.do("run with", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="exec-with"]`, id))), chromedp.WaitVisible(css("#exec-panel")))
	b.fill("exec-params", `{"day": `)
	b.do("run with broken JSON", chromedp.Click(css("#exec-go")))
	b.wait("the page's JSON error", `!document.getElementById("exec-error").hidden`, 5*time.Second)
	b.fill("exec-params", `{"big": "`+strings.Repeat("x", 9000)+`"}`)
	b.do("run with too much", chromedp.Click(css("#exec-go")))
	b.wait("the api's refusal naming params", `document.getElementById("exec-error").textContent.includes("400") &&
		document.getElementById("exec-error").textContent.includes("params")`, 5*time.Second)
	b.screenshot("exec-refused")
	b.fill("exec-params", `{"day": "2026-12-01"}`)
	b.do("run with params", chromedp.Click(css("#exec-go")))
	b.wait("the run with params in the journal", `[...document.querySelectorAll("#journal tbody tr[data-status='success'] td.detail")].some(td =>
		td.textContent.startsWith('params {"day":"2026-12-01"}'))`, 15*time.Second)
	if !eval[bool](b, `document.getElementById("exec-panel").hidden`) {
		t.Fatal("the run-with panel stayed open after the run was accepted")
	}
	b.screenshot("exec-params")

	// Edit it: the form comes filled in, and the change shows in the list.
	b.do("edit", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, id))), chromedp.WaitVisible(css("#editor")))
	if v := eval[string](b, `document.getElementById("f-name").value + "|" + document.getElementById("f-seconds").value`); v != "console job 控制台|1" {
		t.Fatalf("the edit form holds %q", v)
	}
	b.fill("f-seconds", "5")
	b.do("save the change", chromedp.Click(css("#save")))
	b.wait("the change in the list", row(id)+`.querySelector("td.trigger").textContent === "every 5 s"`, 10*time.Second)

	// Its versions: the create and the change; rolling back to the first is a third.
	eval[bool](b, `(window.confirm = () => true, true)`)
	b.do("versions", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="versions"]`, id))), chromedp.WaitVisible(css("#versions-panel")))
	b.wait("two versions", `document.querySelectorAll("#versions tbody tr").length === 2 &&
		document.querySelector("#versions tbody tr td.trigger").textContent === "every 5 s"`, 10*time.Second)
	b.do("roll back to version 1", chromedp.Click(css(`#versions tbody tr[data-version="1"] button[data-action="rollback"]`)))
	b.wait("version 1 again in the list", row(id)+`.querySelector("td.trigger").textContent === "every 1 s" &&
		document.querySelectorAll("#versions tbody tr").length === 3`, 10*time.Second)
	b.screenshot("versions")
	b.do("close versions", chromedp.Click(css("#versions-close")))

	// 8. A cron schedule, saved through the Quartz facade as the project's tenant, joins
	// the list, enabled. Edited, it stays a Quartz schedule.
	b.do("new schedule", chromedp.Click(css("#new-job")), chromedp.WaitVisible(css("#editor")))
	b.fill("f-trigger", "quartz")
	b.fill("f-name", "nightly 夜间")
	b.fill("f-cron", "0 0 3 * * ?")
	b.fill("f-bizcode", "1202494946997833818")
	b.do("save the schedule", chromedp.Click(css("#save")))
	b.wait("the schedule in the list", `[...document.querySelectorAll("#jobs tbody tr")].some(tr =>
		tr.querySelector("td.name").textContent === "nightly 夜间" && tr.querySelector("td.trigger").textContent.startsWith("cron 0 0 3 * * ? (") &&
		tr.querySelector("[data-state]").dataset.state === "started")`, 10*time.Second)
	b.screenshot("cron-schedule")
	schedID := eval[string](b, `[...document.querySelectorAll("#jobs tbody tr")].find(tr => tr.querySelector("td.name").textContent === "nightly 夜间").dataset.id`)
	b.do("edit the schedule", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="edit"]`, schedID))), chromedp.WaitVisible(css("#editor")))
	if got := eval[string](b, `document.getElementById("f-trigger").value + "|" + document.getElementById("f-cron").value + "|" +
		[...document.getElementById("f-trigger").options].filter(o => !o.disabled).map(o => o.value).join(",")`); got != "quartz|0 0 3 * * ?|quartz" {
		t.Errorf("the schedule's edit form holds %q", got)
	}
	b.do("cancel", chromedp.Click(css("#cancel")))

	// 8a. Export downloads the project's document; importing one shows what it would do,
	// then does it.
	b.do("export", chromedp.Click(css("#export")))
	b.wait("the export's download", `document.getElementById("export-link").href.startsWith("blob:") &&
		document.getElementById("export-link").download === "jobcenter-`+consoleProject+`.json"`, 10*time.Second)
	var doc map[string]any
	c.do("GET", "/api/v1/export", consoleProject, nil, "Authorization", "Bearer "+key).must(t, 200).json(t, &doc)
	for _, j := range doc["jobs"].([]any) {
		if j.(map[string]any)["id"] == id {
			j.(map[string]any)["name"] = "imported 导入"
		}
	}
	file := filepath.Join(t.TempDir(), "jobs.json")
	data, _ := json.Marshal(doc)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("choose a document to import", chromedp.SetUploadFiles(css("#import-file"), []string{file}))
	b.wait("what the import would do", `!document.getElementById("import-panel").hidden &&
		document.querySelectorAll('#import-steps li[data-action="change"]').length === 1 &&
		document.getElementById("import-summary").textContent.includes("1 to change")`, 10*time.Second)
	b.screenshot("import-dry-run")
	b.do("import", chromedp.Click(css("#import-go")))
	b.wait("the imported change in the list", row(id)+`.querySelector("td.name").textContent === "imported 导入" &&
		document.getElementById("import-panel").hidden`, 10*time.Second)

	// 8c. A job whose success runs another: set in the form; the child's run is "chained".
	var child map[string]any
	c.do("POST", "/api/v1/jobs", consoleProject, map[string]any{"pid": "d", "name": "child 子", "trigger": "interval", "seconds": 3600,
		"code": "return 2"}, "Authorization", "Bearer "+key).must(t, 201).json(t, &child)
	childID := child["id"].(string)
	b.wait("the child in the list", row(childID)+` !== null`, 10*time.Second)
	b.do("new parent", chromedp.Click(css("#new-job")), chromedp.WaitVisible(css("#editor")))
	b.fill("f-trigger", "interval")
	b.fill("f-name", "parent 父")
	b.fill("f-pid", "d")
	b.fill("f-seconds", "3600")
	b.fill("f-code", "return 1")
	b.fill("f-on-success", childID)
	b.fill("f-pause-after", "3")
	b.do("save the parent", chromedp.Click(css("#save")))
	b.wait("the parent in the list", `[...document.querySelectorAll("#jobs tbody tr td.name")].some(td => td.textContent === "parent 父")`, 10*time.Second)
	parentID := eval[string](b, `[...document.querySelectorAll("#jobs tbody tr")].find(tr => tr.querySelector("td.name").textContent === "parent 父").dataset.id`)
	var parentJob map[string]any
	c.do("GET", "/api/v1/jobs/"+parentID, consoleProject, nil, "Authorization", "Bearer "+key).must(t, 200).json(t, &parentJob)
	if p := parentJob["jobParameter"].(map[string]any); fmt.Sprint(p["on_success"]) != "["+childID+"]" || p["pause_after_failures"] != float64(3) {
		t.Fatalf("the parent saved from the form: %v", p)
	}
	b.do("the child's journal", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="journal"]`, childID))))
	b.do("run the parent", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="exec"]`, parentID))))
	b.wait("the child's chained run", `[...document.querySelectorAll("#journal tbody tr[data-status='success']")].some(tr =>
		tr.children[3].textContent === "chained" && tr.querySelector("td.detail").textContent.startsWith("after run `+parentID+`@"))`, 15*time.Second)
	b.screenshot("chained")

	// 8b. A long code run: its journal row shows the lines it writes while it runs (the
	// event stream's "log"), then Kill ends it, journaled as killed.
	var long map[string]any
	c.do("POST", "/api/v1/jobs", consoleProject, map[string]any{"pid": "d", "name": "long 长", "trigger": "interval", "seconds": 3600,
		"code": "for i in range(400):\n    log_print('step %d' % i)\n    x = 0\n    for k in range(400000):\n        x += k"},
		"Authorization", "Bearer "+key).must(t, 201).json(t, &long)
	longID := long["id"].(string)
	b.wait("the long job in the list", row(longID)+` !== null`, 10*time.Second)
	b.do("its journal", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="journal"]`, longID))))
	b.do("run it now", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="exec"]`, longID))))
	b.wait("its lines while it runs", `[...document.querySelectorAll("#journal tbody tr[data-status='running'] td.detail")].some(td =>
		td.title.includes("INFO step 3"))`, 20*time.Second)
	b.screenshot("live-log")
	eval[bool](b, `(window.confirm = () => true, true)`)
	b.do("kill it", chromedp.Click(css(`#journal tbody tr[data-status='running'] button[data-action="kill"]`)))
	b.wait("the run killed", `[...document.querySelectorAll("#journal tbody tr[data-status='failure'] td.detail")].some(td =>
		td.textContent.startsWith("killed at "))`, 15*time.Second)
	b.screenshot("killed")
	var runs map[string]any
	c.do("GET", "/api/v1/jobs/"+longID+"/journal", consoleProject, nil, "Authorization", "Bearer "+key).must(t, 200).json(t, &runs)
	entry := runs["data"].([]any)[0].(map[string]any)
	if entry["exestatus"] != "failure" || entry["killed"] == nil || !strings.Contains(entry["exedes"].(string), "INFO step 3") {
		t.Fatalf("the killed run's entry: %v", entry)
	}
	b.do("back to the first job's journal", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="journal"]`, id))))

	// 9. Switch to Chinese: the labels change in place.
	b.fill("lang", "zh")
	for sel, want := range map[string]string{
		"#new-job": "新建任务", `#jobs-panel h2`: "任务列表", `#journal-panel h2 span[data-i18n]`: "执行记录",
		fmt.Sprintf(`#jobs tr[data-id=%q] [data-state]`, id): "已停止",
	} {
		got := eval[string](b, fmt.Sprintf(`document.querySelector(%q).textContent`, sel))
		if got != want {
			t.Errorf("in Chinese, %s reads %q, want %q", sel, got, want)
		}
	}
	if lang := eval[string](b, `document.documentElement.lang`); lang != "zh-CN" {
		t.Errorf("<html lang> is %q in Chinese", lang)
	}
	b.screenshot("chinese")

	// 10. Delete it (the confirmation answered yes): its row and its journal go.
	eval[bool](b, `(window.confirm = () => true, true)`)
	b.do("delete", chromedp.Click(css(fmt.Sprintf(`#jobs tr[data-id=%q] button[data-action="delete"]`, id))))
	b.wait("the row to go", row(id)+` === null && document.getElementById("journal-panel").hidden`, 10*time.Second)
	c.do("GET", "/api/v1/jobs/"+id, consoleProject, nil, "Authorization", "Bearer "+key).must(t, 404)

	// The invalid expression and the params too large were sent on purpose.
	if problems := b.problems("/api/v1/cron/next", "/exec"); len(problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(problems, "\n"))
	}
}

// openConsole starts an all-in-one center (JOBCENTER_TZ Asia/Shanghai, its api keyed to
// the console's project) and a browser whose screenshots are named prefix NN-*, logged
// in to the console in English through the contract proxy: what the console's feature
// tests each begin with. It returns a client of the project and the browser.
func openConsole(t *testing.T, prefix string) (cl *jobcenter.Client, b *browser) {
	t.Helper()
	exe := chromium(t)
	bin, err := buildServices()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	key, line := api.MintKey(consoleProject)
	p, c := keyedAllInOneWith(t, bin, []string{"JOBCENTER_TZ=Asia/Shanghai"}, line)
	t.Cleanup(func() { p.term(t) })
	cl = newClient(t, c, consoleProject, jobcenter.WithAPIKey(key))
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
	return cl, b
}

// text is the text of the page's first element sel selects.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q).textContent`, sel))
}

// visible reports whether the page's element of id id is shown.
func (b *browser) visible(id string) bool {
	b.t.Helper()
	return eval[bool](b, fmt.Sprintf(`document.getElementById(%q).offsetParent !== null`, id))
}

// value is the value of the page's form element of id id.
func (b *browser) value(id string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.getElementById(%q).value`, id))
}
