// The Job Center console: one page over the api's own routes. No framework and no build
// step. Every request names the project (X-Project-Id) and, when given, the key
// (Authorization: Bearer); live updates come from GET api/v1/events (server-sent events),
// which takes the two in its query because EventSource cannot send headers.
"use strict";

(function () {
  const STORE = "jobcenter.console.";
  const JOURNAL_SIZE = 10;
  const ACTIVITY_MAX = 50;
  const LIVE_LINES = 200; // the live lines kept of a run under way
  const LIVE_RUNS = 20;   // the runs under way whose lines are kept

  const st = {
    project: "", key: "", user: "", pid: "",
    lang: "en",
    jobs: [],
    selected: null,      // the job whose journal is shown: its id
    journalPage: 1,
    journalPages: 1,
    editing: null,       // the job info being edited, or null for a new job
    es: null,            // the EventSource
    retry: null,
    activity: [],
    offset: null,        // the server zone's offset from UTC, in minutes
    liveLines: new Map(), // fire id → the lines a run under way of the shown job wrote
    rules: [],           // the project's alert rules, as read (secrets masked)
    ruleEditing: null,   // the rule being edited, or null for a new one
    deliveries: [],      // the alerts' deliveries shown, newest first
    deliveriesCursor: null, // the next page's cursor, when there may be one
    freshAlert: null,    // the id of the last test alert raised, marked in the table
    firesJob: null,      // the job whose next fire times are shown: its id
    fires: null,         // its preview as read: {next, started}
    firesKey: null,      // what the job was when it was read (firesKey)
    backfillJob: null,   // the job the backfill form is open for
    backfilled: null,    // the last backfill's answer shown: {status, data}
    calendars: [],       // the project's calendars, as read
    calEditing: null,    // the calendar being edited, or null for a new one
    workers: null,       // the project's worker groups online, as read: [{group, workers}]
    workersAt: null,     // when they were read (a Date)
  };

  const $ = (id) => document.getElementById(id);

  // --- language ---------------------------------------------------------------------

  function t(key, args) {
    const dict = window.I18N[st.lang] || window.I18N.en;
    let s = dict[key];
    if (s === undefined) s = window.I18N.en[key];
    if (s === undefined) return key;
    if (args) s = s.replace(/\{(\w+)\}/g, (m, name) => (name in args ? String(args[name]) : m));
    return s;
  }

  function pickLang() {
    const saved = localStorage.getItem(STORE + "lang");
    if (saved && window.I18N[saved]) return saved;
    const nav = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
    return nav.toLowerCase().startsWith("zh") ? "zh" : "en";
  }

  function applyLang() {
    document.documentElement.lang = st.lang === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    $("lang").value = st.lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
    renderLive();
    renderZone();
    renderJobs();
    renderJournal(lastJournal);
    renderActivity();
    renderEditorTitle();
    renderRules();
    renderRuleFilter();
    renderRuleFormTitle();
    renderDeliveries();
    renderFires();
    renderBackfilled();
    renderCalendars();
    renderCalendarFormTitle();
    renderWorkers();
    preview();
  }

  // --- messages ---------------------------------------------------------------------

  let messageTimer = null;
  function say(text, isError) {
    const m = $("message");
    m.textContent = text;
    m.className = "message" + (isError ? " error" : "");
    m.hidden = false;
    clearTimeout(messageTimer);
    messageTimer = setTimeout(() => { m.hidden = true; }, isError ? 10000 : 4000);
  }

  // --- the api ----------------------------------------------------------------------

  class APIError extends Error {
    constructor(status, message, field) { super(message); this.status = status; this.field = field; }
  }

  // api sends one request as the project; it answers the decoded body, or throws an
  // APIError with the server's message (either facade's error shape).
  async function api(method, path, body, headers) {
    const h = Object.assign({ "X-Project-Id": st.project }, headers || {});
    if (st.key) h["Authorization"] = "Bearer " + st.key;
    if (st.user) h["X-User-Id"] = st.user;
    const init = { method, headers: h, cache: "no-store" };
    if (body !== undefined) {
      h["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      throw new APIError(0, t("msg.network", { message: e.message }));
    }
    let data = null;
    const text = await resp.text();
    if (text) { try { data = JSON.parse(text); } catch (e) { data = text; } }
    if (!resp.ok) {
      let msg = resp.statusText, field;
      if (data && data.error) { msg = data.error.message; field = data.error.field; }
      else if (data && data.resp_msg) msg = data.resp_msg;
      throw new APIError(resp.status, msg, field);
    }
    return { status: resp.status, data, headers: resp.headers };
  }

  function fail(e) {
    if (e instanceof APIError && e.status === 0) say(e.message, true);
    else say(t("msg.error", { status: e.status || "", message: e.message }), true);
  }

  const jobPath = (id, rest) => "api/v1/jobs/" + encodeURIComponent(id) + (rest || "");

  // --- times ------------------------------------------------------------------------

  // Every time is shown in the server's zone (JOBCENTER_TZ), as job info's times and the
  // run date the form takes are. Its offset is learnt from the cron preview, which
  // answers in that zone; until then, and if that fails, the browser's zone is used.
  const pad = (n) => String(n).padStart(2, "0");
  function localTime(d) {
    if (st.offset === null) {
      return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
        pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
    }
    const z = new Date(d.getTime() + st.offset * 60000);
    return z.getUTCFullYear() + "-" + pad(z.getUTCMonth() + 1) + "-" + pad(z.getUTCDate()) + " " +
      pad(z.getUTCHours()) + ":" + pad(z.getUTCMinutes()) + ":" + pad(z.getUTCSeconds());
  }
  // journalTime reads "2020-04-26T15:59:59.652+0000" (UTC) and shows it in the server's zone.
  function journalTime(s) {
    if (!s) return t("jobs.none");
    const d = new Date(s.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
    return isNaN(d) ? s : localTime(d);
  }
  async function learnZone() {
    try {
      const r = await api("GET", "api/v1/cron/next?count=1&expr=" + encodeURIComponent("0 * * * * ?"));
      const m = /([+-])(\d\d):(\d\d)$|Z$/.exec(r.data.next[0]);
      if (!m) return;
      st.offset = m[1] ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
      renderZone();
      renderJournal(lastJournal);
      renderActivity();
    } catch (e) { /* keep the browser's zone */ }
  }
  function renderZone() {
    if (st.offset === null) { $("zone").textContent = ""; return; }
    const a = Math.abs(st.offset);
    $("zone").textContent = t("jobs.zone", { offset: (st.offset < 0 ? "-" : "+") + pad(Math.floor(a / 60)) + ":" + pad(a % 60) });
  }

  // --- the jobs ---------------------------------------------------------------------

  function jobState(j) { return j.next_run_time ? "started" : "stopped"; }

  function triggerText(j) {
    const p = j.jobParameter || {};
    switch (p.trigger) {
      case "interval": return t("trigger.every", { n: p.seconds });
      case "date": return t("trigger.at", { date: p.run_date });
      case "cron": return p.cron ? t("trigger.cronAt", { expr: p.cron, zone: p.timezone || t("fires.serverZone") }) : t("trigger.cronShort");
      default: return p.trigger || "";
    }
  }

  // lifetimeText words an interval or cron job's lifetime as the job info shows it (in the
  // server's zone), "" when it has none.
  function lifetimeText(j) {
    const p = j.jobParameter || {};
    if (p.start_date && p.end_date) return t("lifetime.between", { from: p.start_date, until: p.end_date });
    if (p.start_date) return t("lifetime.from", { from: p.start_date });
    if (p.end_date) return t("lifetime.until", { until: p.end_date });
    return "";
  }

  // triggerCell is a table's trigger cell: the trigger, and below it, each when set, the
  // lifetime, a fixed delay, the jitter, the calendars and the overlap policy (what its
  // fires do while a run goes on).
  function triggerCell(j) {
    const p = j.jobParameter || {};
    const td = el("td", { class: "trigger", text: triggerText(j) });
    const life = lifetimeText(j);
    if (life) td.append(el("div", { class: "lifetime", text: life }));
    if (p.fixed_delay) td.append(el("div", { class: "fixed-delay", text: t("fixedDelay.after", { n: p.seconds }) }));
    if (p.jitter) td.append(el("div", { class: "jitter", text: t("jitter.upTo", { n: p.jitter }) }));
    if (p.calendars) td.append(el("div", { class: "calendars", text: t("calendars.skips", { names: p.calendars.join(", ") }) }));
    if (p.overlap) td.append(el("div", { class: "overlap", "data-overlap": p.overlap, text: t("overlap." + p.overlap) }));
    return td;
  }

  // A Quartz schedule (a behaviour's, saved through the Quartz facade) is a cron job that
  // runs neither code nor a flow nor an HTTP call; the job-center API does not change it.
  function isSchedule(j) {
    return (j.jobParameter || {}).trigger === "cron" && j.code == null && j.flowId == null && j.http == null;
  }

  // targetKind is what a job runs: code, flow, http, or a behaviour (a Quartz schedule's).
  function targetKind(j) {
    return j.code != null ? "code" : j.flowId != null ? "flow" : j.http != null ? "http" : "biz";
  }

  function targetText(j) {
    if (j.code != null) return t("target.codeShort");
    if (j.http != null) return t("target.httpShort", { method: j.http.method || "GET", url: j.http.url });
    // A flow (or a behaviour) its worker group runs: "flow hello · workers g (failover)".
    const p = j.jobParameter || {};
    const what = j.flowId != null ? t("target.flowShort", { id: j.flowId }) : t("target.biz");
    return p.worker_group ? what + " · " + t("target.workers", { group: p.worker_group, route: p.route || "round_robin" }) : what;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("data-")) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) e.append(c);
    return e;
  }

  function renderJobs() {
    const body = $("jobs").tBodies[0];
    body.replaceChildren();
    for (const j of st.jobs) {
      const state = jobState(j);
      const actions = el("td", { class: "actions" });
      const button = (action, label, disabled) => {
        const b = el("button", { type: "button", "data-action": action, text: t(label), class: action === "delete" ? "danger" : "secondary" });
        b.disabled = !!disabled;
        actions.append(b);
      };
      button("edit", "jobs.edit");
      button("start", "jobs.start", state === "started");
      button("stop", "jobs.stop", state === "stopped");
      button("exec", "jobs.exec");
      button("exec-with", "jobs.execWith");
      button("backfill", "jobs.backfill");
      button("journal", "jobs.journal");
      button("preview", "jobs.preview");
      button("versions", "jobs.versions");
      button("delete", "jobs.delete");
      const row = el("tr", { "data-id": j.id, class: j.id === st.selected ? "selected" : "" },
        el("td", { class: "name", text: j.name, title: j.description || "" }),
        triggerCell(j),
        el("td", { class: "state" }, el("span", { class: "badge state-" + state, "data-state": state, text: t("state." + state) })),
        el("td", { class: "next", text: j.next_run_time || t("jobs.none") }),
        el("td", { class: "target", text: targetText(j), title: targetText(j), "data-target": targetKind(j) }),
        actions);
      body.append(row);
    }
    $("jobs-empty").hidden = st.jobs.length > 0;
    $("jobs-count").textContent = t("jobs.count", { n: st.jobs.length });
  }

  async function loadJobs() {
    if (!st.project) return;
    const q = "?page=1&size=1000" + (st.pid ? "&pid=" + encodeURIComponent(st.pid) : "");
    try {
      const r = await api("GET", "api/v1/jobs" + q);
      st.jobs = r.data || [];
      renderJobs();
      refreshFires();
      if (!$("calendars-panel").hidden) renderCalendars(); // the jobs naming each
      if (!$("workers-panel").hidden) renderWorkers(); // the groups they name
      if (!$("alerts-panel").hidden) { // their job names
        renderJobPick();
        renderRules();
        renderDeliveries();
      }
    } catch (e) { fail(e); }
  }

  const findJob = (id) => st.jobs.find((j) => j.id === id);

  async function act(action, id) {
    const j = findJob(id);
    if (!j) return;
    try {
      switch (action) {
        case "edit": openEditor(j); return;
        case "journal": openJournal(id); return;
        case "exec-with": openExec(j); return;
        case "backfill": openBackfill(j); return;
        case "versions": openVersions(j); return;
        case "preview": openFires(j); return;
        case "delete":
          if (!confirm(t("jobs.confirmDelete", { name: j.name }))) return;
          await api("DELETE", jobPath(id));
          say(t("msg.deleted", { name: j.name }));
          if (st.selected === id) closeJournal();
          break;
        case "start": case "stop": case "exec": {
          const r = await api("POST", jobPath(id, "/" + action));
          const done = { start: "msg.started", stop: "msg.stopped", exec: "msg.exec" }[action];
          say(r.status === 202 ? t("msg.accepted") : t(done, { name: j.name }));
          if (action === "exec" && st.selected === id) loadJournal();
          break;
        }
      }
    } catch (e) { fail(e); }
    loadJobs();
  }

  // --- versions ---------------------------------------------------------------------

  async function openVersions(j) {
    st.versionsJob = j;
    $("versions-job").textContent = j.name;
    $("versions-panel").hidden = false;
    const body = $("versions").tBodies[0];
    body.replaceChildren();
    try {
      const r = await api("GET", jobPath(j.id, "/versions"));
      r.data.forEach((v, i) => {
        const actions = el("td", { class: "actions" });
        if (i > 0) actions.append(el("button", { type: "button", class: "secondary", "data-action": "rollback", "data-version": String(v.version), text: t("versions.rollback") }));
        body.append(el("tr", { "data-version": String(v.version) },
          el("td", { text: String(v.version) }),
          el("td", { text: v.time }),
          el("td", { text: v.user || "—" }),
          el("td", { text: v.job.name }),
          triggerCell(v.job),
          el("td", { text: targetText(v.job) }),
          actions));
      });
    } catch (e) { fail(e); }
  }

  async function rollbackTo(version) {
    const j = st.versionsJob;
    if (!j || !confirm(t("versions.confirm", { name: j.name, version }))) return;
    try {
      const r = await api("POST", jobPath(j.id, "/versions/" + version + "/rollback"));
      say(r.status === 202 ? t("msg.accepted") : t("msg.rolledBack", { name: j.name, version }));
    } catch (e) { fail(e); }
    await loadJobs();
    const now = findJob(j.id);
    if (now) openVersions(now);
  }

  // --- a job's next fire times ------------------------------------------------------

  // The panel shows the times the api's preview answers, by the scheduler's own schedule,
  // each with the offset of the job's zone. It is read again when the job changes: its
  // trigger, its last change (updateTime, to the second) or whether it is started.
  const FIRES = 10;
  const firesKey = (j) => JSON.stringify(j.jobParameter) + "|" + j.updateTime + "|" + jobState(j);

  function openFires(j) {
    st.firesJob = j.id;
    st.fires = null;
    $("fires-panel").hidden = false;
    loadFires(j);
  }

  function closeFires() {
    $("fires-panel").hidden = true;
    st.firesJob = st.fires = st.firesKey = null;
  }

  async function loadFires(j) {
    const id = j.id;
    st.firesKey = firesKey(j);
    $("fires-error").hidden = true;
    try {
      const r = await api("GET", jobPath(id, "/preview?count=" + FIRES));
      if (st.firesJob !== id) return;
      st.fires = r.data;
    } catch (e) {
      if (st.firesJob !== id) return;
      st.fires = null;
      $("fires-error").textContent = t("msg.error", { status: e.status || "", message: e.message });
      $("fires-error").hidden = false;
    }
    renderFires();
  }

  // refreshFires follows the list: the shown job gone closes the panel, changed reads it again.
  function refreshFires() {
    if (!st.firesJob) return;
    const j = findJob(st.firesJob);
    if (!j) closeFires();
    else if (firesKey(j) !== st.firesKey) loadFires(j);
    else renderFires();
  }

  // "2026-12-07T02:30:00-05:00" → "2026-12-07 02:30:00 -05:00"; with ms, to the
  // millisecond ("… 02:30:17.342 -05:00"): a jittered job runs at that millisecond.
  const fireTime = (s, ms) => s.replace(/^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/,
    (m, d, tm, frac, off) => d + " " + tm + (ms ? (frac || ".000") : "") + " " + (off === "Z" ? "+00:00" : off));

  function renderFires() {
    if (!st.firesJob) return;
    const j = findJob(st.firesJob), p = (j && j.jobParameter) || {};
    $("fires-job").textContent = j ? j.name : st.firesJob;
    const f = st.fires;
    if (!f) { $("fires-note").textContent = ""; $("fires-list").replaceChildren(); return; }
    const zone = p.trigger === "cron" && p.timezone ? p.timezone : t("fires.serverZone");
    let note = f.next.length === 0 ? t("fires.none") :
      t(f.started ? "fires.started" : "fires.stopped", { n: f.next.length, zone });
    // A lifetime's end explains a list shorter than asked for.
    if (p.end_date && f.next.length > 0 && f.next.length < FIRES) note += " " + t("fires.lastBefore", { until: p.end_date });
    if (p.jitter && f.next.length > 0) note += " " + t("fires.jitter", { n: p.jitter });
    if (p.calendars) note += " " + t("fires.calendars", { names: p.calendars.join(", ") });
    // The api lists a fixed-delay job's next fire only: each after counts from a run's end.
    if (p.fixed_delay) note += " " + t("fires.fixedDelay", { n: p.seconds });
    $("fires-note").textContent = note;
    $("fires-panel").dataset.started = String(f.started);
    $("fires-list").replaceChildren(...f.next.map((s) => el("li", {}, el("time", { dateTime: s, text: fireTime(s, !!p.jitter) }))));
  }

  // --- export and import ------------------------------------------------------------

  async function exportJobs() {
    try {
      const r = await api("GET", "api/v1/export" + (st.pid ? "?pid=" + encodeURIComponent(st.pid) : ""));
      const a = $("export-link");
      if (a.href) URL.revokeObjectURL(a.href);
      a.href = URL.createObjectURL(new Blob([JSON.stringify(r.data, null, 2)], { type: "application/json" }));
      a.download = "jobcenter-" + st.project + ".json";
      a.click();
    } catch (e) { fail(e); }
  }

  // importFile reads the chosen document and shows what importing it would do.
  async function importFile() {
    const f = $("import-file").files[0];
    $("import-file").value = "";
    if (!f) return;
    const shown = $("import-error");
    shown.hidden = true;
    $("import-steps").replaceChildren();
    $("import-go").disabled = true;
    $("import-panel").hidden = false;
    try {
      st.importDoc = JSON.parse(await f.text());
    } catch (e) {
      $("import-summary").textContent = "";
      shown.textContent = t("import.notJSON", { message: e.message });
      shown.hidden = false;
      return;
    }
    try {
      const r = await api("POST", "api/v1/import?dry_run=true", st.importDoc);
      renderImport(r.data, t("import.summary", { file: f.name, create: r.data.create.length, change: r.data.change.length, leave: r.data.leave.length }));
      $("import-go").disabled = r.data.create.length + r.data.change.length === 0;
    } catch (e) {
      shown.textContent = t("msg.error", { status: e.status || "", message: e.message });
      shown.hidden = false;
    }
  }

  function renderImport(p, summary) {
    $("import-summary").textContent = summary;
    const ul = $("import-steps");
    ul.replaceChildren();
    for (const [action, steps] of [["create", p.create], ["change", p.change]]) {
      for (const s of steps) {
        ul.append(el("li", { "data-action": action, text: action + " " + s.kind + " " + (s.bizcode || s.id) + " “" + s.name + "”" + (s.what ? " (" + s.what.join(", ") + ")" : "") }));
      }
    }
  }

  async function importGo() {
    try {
      const r = await api("POST", "api/v1/import", st.importDoc);
      say(t("import.done", { create: r.data.create.length, change: r.data.change.length, leave: r.data.leave.length }));
      $("import-panel").hidden = true;
      st.importDoc = null;
    } catch (e) {
      $("import-error").textContent = t("msg.error", { status: e.status || "", message: e.message });
      $("import-error").hidden = false;
    }
    loadJobs();
  }

  // --- killing a run ----------------------------------------------------------------

  async function kill(trigger) {
    const j = findJob(st.selected);
    const name = j ? j.name : st.selected;
    if (!confirm(t("journal.confirmKill", { name }))) return;
    try {
      const r = await api("POST", jobPath(st.selected, "/runs/" + encodeURIComponent(trigger) + "/kill"));
      say(t(r.status === 202 ? "msg.killRequested" : "msg.killed", { name }));
    } catch (e) { fail(e); }
    loadJournal();
  }

  // --- a run with parameters ---------------------------------------------------------

  function openExec(j) {
    st.execJob = j;
    $("exec-job").textContent = j.name;
    $("exec-error").hidden = true;
    $("exec-panel").hidden = false;
    $("exec-params").focus();
  }

  function closeExec() {
    $("exec-panel").hidden = true;
    st.execJob = null;
  }

  async function execWith(ev) {
    ev.preventDefault();
    const j = st.execJob, shown = $("exec-error");
    shown.hidden = true;
    let params;
    try {
      params = JSON.parse($("exec-params").value.trim() || "{}");
    } catch (e) {
      shown.textContent = t("exec.notJSON", { message: e.message });
      shown.hidden = false;
      return;
    }
    try {
      const r = await api("POST", jobPath(j.id, "/exec"), { params });
      say(r.status === 202 ? t("msg.accepted") : t("msg.exec", { name: j.name }));
      closeExec();
      if (st.selected === j.id) loadJournal();
    } catch (e) {
      shown.textContent = t("msg.error", { status: e.status || "", message: e.message });
      shown.hidden = false;
    }
  }

  // --- a backfill -------------------------------------------------------------------

  // The backfill form posts a past range of the job's schedule; it shows the api's answer
  // (the fires stored, their first and last instants, whether the range held more), or
  // its refusal marked on the field it names.
  const BACKFILL_FIELDS = [["from", "b-from"], ["to", "b-to"], ["concurrency", "b-concurrency"], ["max_fires", "b-max-fires"]];

  // backfillSeq numbers the backfill requests: only the last one's answer or refusal is
  // shown (an earlier one's, arriving after, would show beside it).
  let backfillSeq = 0;

  function openBackfill(j) {
    backfillSeq++;
    st.backfillJob = j;
    st.backfilled = null;
    $("backfill-job").textContent = j.name;
    clearBackfillError();
    renderBackfilled();
    $("backfill-panel").hidden = false;
    $("b-from").focus();
  }

  function closeBackfill() {
    backfillSeq++;
    $("backfill-panel").hidden = true;
    st.backfillJob = st.backfilled = null;
  }

  function clearBackfillError() {
    $("backfill-error").hidden = true;
    for (const e of document.querySelectorAll("#backfill-form .invalid")) e.classList.remove("invalid");
  }

  // clearBackfilled puts away the last answer shown: a new request, or a refusal (the
  // api's, or the browser's of a field out of bounds), is not about it.
  function clearBackfilled() {
    st.backfilled = null;
    renderBackfilled();
  }

  function renderBackfilled() {
    const out = $("backfill-result"), b = st.backfilled;
    for (const k of ["fires", "first", "last", "capped"]) delete out.dataset[k];
    out.hidden = !b;
    if (!b) return;
    if (b.status === 202) { out.textContent = t("msg.accepted"); return; }
    const d = b.data;
    out.textContent = t("backfill.done", { fires: d.fires, first: d.first, last: d.last, n: d.concurrency }) +
      (d.capped ? " " + t("backfill.capped", { fires: d.fires }) : "");
    Object.assign(out.dataset, { fires: String(d.fires), first: d.first, last: d.last, capped: String(d.capped) });
  }

  async function runBackfill(ev) {
    ev.preventDefault();
    const j = st.backfillJob, seq = ++backfillSeq;
    clearBackfillError();
    clearBackfilled();
    const body = {
      from: $("b-from").value.trim(), to: $("b-to").value.trim(),
      concurrency: Number($("b-concurrency").value || 1), max_fires: Number($("b-max-fires").value || 0),
    };
    try {
      const r = await api("POST", jobPath(j.id, "/backfill"), body);
      if (st.selected === j.id) loadJournal(); // its runs, whichever answer is shown
      if (seq !== backfillSeq || st.backfillJob !== j) return;
      st.backfilled = { status: r.status, data: r.data };
      renderBackfilled();
    } catch (e) {
      if (seq !== backfillSeq || st.backfillJob !== j) return;
      clearBackfilled();
      const shown = $("backfill-error");
      shown.textContent = t("msg.error", { status: e.status || "", message: e.message });
      shown.dataset.field = e.field || "";
      shown.hidden = false;
      const hit = BACKFILL_FIELDS.find(([f]) => f === e.field);
      if (hit) $(hit[1]).classList.add("invalid");
    }
  }

  // --- the form ---------------------------------------------------------------------

  function renderEditorTitle() {
    $("editor-title").textContent = t(st.editing ? "form.edit" : "form.new");
  }

  function syncForm() {
    const trig = $("f-trigger").value;
    // What the job runs: the target chosen, or a Quartz schedule's behaviour ("biz"),
    // which a worker group may run too.
    const target = trig === "quartz" ? "biz" : $("f-target").value;
    for (const e of document.querySelectorAll("#job-form [data-when]")) {
      e.hidden = !e.dataset.when.split(" ").includes(trig);
    }
    for (const e of document.querySelectorAll("#job-form [data-target]")) {
      if (!e.dataset.when || e.dataset.when.split(" ").includes(trig)) e.hidden = !e.dataset.target.split(" ").includes(target);
    }
    const group = $("f-worker-group");
    group.dataset.i18nPlaceholder = target === "biz" ? "form.workerGroupPlaceholderBiz" : "form.workerGroupPlaceholder";
    group.placeholder = t(group.dataset.i18nPlaceholder);
    // What the api requires, the form asks for: a new job's directory, an expression, a
    // schedule's behaviour. An update may leave the directory as it is.
    $("f-pid").required = !st.editing && trig !== "quartz";
    $("f-cron").required = trig === "cron" || trig === "quartz";
    $("f-bizcode").required = trig === "quartz";
    syncRoute();
    preview();
  }

  // The form's field of each field the api names in its errors ("on_success[1]").
  const JOB_FIELDS = [["name", "f-name"], ["pid", "f-pid"], ["description", "f-description"], ["trigger", "f-trigger"],
    ["seconds", "f-seconds"], ["run_date", "f-run-date"], ["cron", "f-cron"], ["timezone", "f-timezone"],
    ["start_date", "f-start-date"], ["end_date", "f-end-date"], ["flow_id", "f-flow-id"], ["code", "f-code"],
    ["on_success", "f-on-success"], ["on_failure", "f-on-failure"], ["pause_after_failures", "f-pause-after"],
    ["jitter", "f-jitter"], ["overlap", "f-overlap"], ["fixed_delay", "f-fixed-delay"], ["calendars", "f-calendars"],
    // The form has no max_instances: the api names it when the overlap chosen needs it 1;
    // nor misfire_grace_time, which it names when a fixed delay is asked of a job with one.
    ["max_instances", "f-overlap"], ["misfire_grace_time", "f-fixed-delay"],
    // An HTTP call's ("http.headers.Authorization"); the call as a whole (one target only) last.
    ["http.method", "f-http-method"], ["http.url", "f-http-url"], ["http.headers", "f-http-headers"],
    ["http.body", "f-http-body"], ["http.expect_status", "f-http-expect"], ["http", "f-target"],
    // The worker group that runs a flow job, and its route.
    ["worker_group", "f-worker-group"], ["route", "f-route"]];

  function clearFormError() {
    $("form-error").hidden = true;
    for (const e of document.querySelectorAll("#job-form .invalid")) e.classList.remove("invalid");
  }

  // showFormError shows the api's refusal (or the page's, a FormError) under the form and
  // marks the field it names.
  function showFormError(e) {
    const fe = $("form-error");
    fe.textContent = e instanceof FormError ? e.message : t("msg.error", { status: e.status || "", message: e.message });
    fe.dataset.field = e.field || "";
    fe.hidden = false;
    const hit = e.field && JOB_FIELDS.find(([f]) => e.field === f || e.field.startsWith(f + "[") || e.field.startsWith(f + "."));
    if (hit) $(hit[1]).classList.add("invalid");
  }

  // syncRoute: a route is a worker group's; without one it is not chosen.
  function syncRoute() {
    $("f-route").disabled = $("f-worker-group").value.trim() === "";
  }

  function openEditor(j) {
    st.editing = j || null;
    const p = (j && j.jobParameter) || {};
    $("f-name").value = j ? j.name : "";
    $("f-pid").value = j ? j.pid : st.pid;
    $("f-description").value = j ? j.description : "";
    // A Quartz schedule is edited as one (saved again through the Quartz facade); a job of
    // the job-center API may become an interval, date or cron job, not a schedule.
    const schedule = !!j && isSchedule(j);
    $("f-trigger").value = schedule ? "quartz" : j ? p.trigger : "interval";
    $("f-seconds").value = p.seconds || 60;
    $("f-fixed-delay").checked = !!p.fixed_delay;
    $("f-run-date").value = p.run_date || "";
    $("f-cron").value = p.cron || "";
    // A cron job's zone, or a schedule's (saved again with it: a save without one would
    // move the schedule to the server's zone).
    $("f-timezone").value = p.timezone || "";
    $("f-start-date").value = p.start_date || "";
    $("f-end-date").value = p.end_date || "";
    $("f-bizcode").value = ""; // a schedule's job info does not carry its behaviour code
    $("f-target").value = j && !schedule ? (targetKind(j) === "biz" ? "code" : targetKind(j)) : "code";
    $("f-flow-id").value = (j && j.flowId) || "";
    $("f-worker-group").value = p.worker_group || "";
    $("f-route").value = p.route || "round_robin";
    $("f-code").value = j ? (j.code || "") : 'log_print("hello", "INFO")';
    // An HTTP call as read: its header values masked (***), sent back as they are to keep them.
    const call = (j && j.http) || {};
    $("f-http-method").value = (call.method || "GET").toUpperCase();
    $("f-http-url").value = call.url || "";
    $("f-http-headers").value = Object.entries(call.headers || {}).map(([k, v]) => k + ": " + v).join("\n");
    $("f-http-body").value = call.body || "";
    $("f-http-expect").value = (call.expect_status || []).join(", ");
    $("f-on-success").value = (p.on_success || []).join(", ");
    $("f-on-failure").value = (p.on_failure || []).join(", ");
    $("f-pause-after").value = p.pause_after_failures || 0;
    $("f-jitter").value = p.jitter || 0;
    $("f-overlap").value = p.overlap || "skip"; // skip, the default, is shown as none
    renderCalendarChecks(p.calendars || []);
    loadCalendars(); // the project's, which may have changed since they were read
    for (const o of $("f-trigger").options) o.disabled = !!j && (o.value === "quartz") !== schedule;
    clearFormError();
    renderEditorTitle();
    $("editor").hidden = false;
    if (schedule) say(t("form.cronEditHint"));
    syncForm();
    $("f-name").focus();
  }

  function closeEditor() {
    $("editor").hidden = true;
    st.editing = null;
  }

  async function save(ev) {
    ev.preventDefault();
    const trig = $("f-trigger").value;
    const name = $("f-name").value.trim();
    clearFormError();
    try {
      let r;
      if (trig === "quartz") {
        const xw = { opttype: "save", jobname: name, cronexpression: $("f-cron").value.trim(), bizcode: $("f-bizcode").value.trim() };
        // A save is the whole schedule: what it leaves out, the schedule no longer has (the
        // zone becomes the server's, its workers none). So it sends what the form shows.
        const zone = $("f-timezone").value.trim();
        if (zone) xw.timezone = zone; // else the server's JOBCENTER_TZ
        const cals = checkedCalendars();
        if (cals.length) xw.calendars = cals; // a save without them leaves the schedule with none
        const group = $("f-worker-group").value.trim();
        if (group) { // without one, the behaviour's runner answers it
          xw.worker_group = group;
          xw.route = $("f-route").value;
        }
        r = await api("POST", "task/quartz/bizcronjob", { xw_quartz: xw }, { tecode: st.project });
      } else {
        const body = { name, description: $("f-description").value, trigger: trig };
        const pid = $("f-pid").value.trim();
        if (pid || !st.editing) body.pid = pid;
        // A fixed delay is part of an interval's trigger, sent whole (false: none).
        if (trig === "interval") {
          body.seconds = Number($("f-seconds").value);
          body.fixed_delay = $("f-fixed-delay").checked;
        } else if (trig === "date") body.run_date = $("f-run-date").value.trim();
        else {
          body.cron = $("f-cron").value.trim();
          const zone = $("f-timezone").value.trim();
          if (zone) body.timezone = zone; // else the server's JOBCENTER_TZ
        }
        // The lifetime, as entered: the api reads and checks it. The whole trigger is
        // sent, so a field emptied clears that bound of the job's.
        if (trig !== "date") {
          for (const [field, id] of [["start_date", "f-start-date"], ["end_date", "f-end-date"]]) {
            const v = $(id).value.trim();
            if (v) body[field] = v;
          }
        }
        const target = $("f-target").value;
        if (target === "flow") body.flow_id = $("f-flow-id").value.trim();
        else if (target === "http") body.http = httpCall();
        else body.code = $("f-code").value;
        // A flow's worker group and route, sent only with a group; emptied (or the target
        // no longer a flow), "" takes the job from its workers.
        const group = $("f-worker-group").value.trim();
        if (target === "flow" && group) {
          body.worker_group = group;
          body.route = $("f-route").value;
        } else if (st.editing && (st.editing.jobParameter || {}).worker_group) body.worker_group = "";
        const ids = (id) => $(id).value.split(",").map((s) => s.trim()).filter((s) => s);
        body.on_success = ids("f-on-success");
        body.on_failure = ids("f-on-failure");
        body.pause_after_failures = Number($("f-pause-after").value || 0);
        // The jitter is part of the trigger, sent whole (0: none); the policy as chosen.
        body.jitter = Number($("f-jitter").value || 0);
        body.calendars = checkedCalendars(); // part of the trigger too: none ticked, none
        body.overlap = $("f-overlap").value;
        r = st.editing ? await api("PUT", jobPath(st.editing.id), body) : await api("POST", "api/v1/jobs", body);
      }
      say(r.status === 202 ? t("msg.accepted") : t("msg.saved", { name }));
      closeEditor();
      loadJobs();
    } catch (e) {
      showFormError(e);
    }
  }

  // httpCall reads the form's HTTP call as the api takes it: headers one "Name: value" a
  // line (a value read as *** sent back so, which keeps the stored one), statuses
  // comma-separated (none: any 2xx). It throws a FormError for what the api could not tell.
  function httpCall() {
    const call = { method: $("f-http-method").value, url: $("f-http-url").value.trim() };
    const headers = {}, seen = new Set();
    $("f-http-headers").value.split("\n").forEach((line, i) => {
      if (!line.trim()) return;
      const colon = line.indexOf(":");
      if (colon <= 0) throw new FormError("http.headers", t("form.httpBadHeader", { n: i + 1 }));
      const name = line.slice(0, colon).trim();
      if (seen.has(name.toLowerCase())) throw new FormError("http.headers", t("form.httpHeaderTwice", { name }));
      seen.add(name.toLowerCase());
      headers[name] = line.slice(colon + 1).trim();
    });
    if (Object.keys(headers).length > 0) call.headers = headers;
    const payload = $("f-http-body").value;
    if (payload !== "") call.body = payload;
    const statuses = splitList($("f-http-expect").value);
    if (statuses.length > 0) {
      call.expect_status = statuses.map((s) => {
        if (!/^\d{3}$/.test(s)) throw new FormError("http.expect_status", t("form.httpBadStatus", { status: s }));
        return Number(s);
      });
    }
    return call;
  }

  // formDate reads a lifetime's field as the api does, to bound the form's preview: a
  // local "2030-07-09 16:00:00" (or ISO-8601 without a zone) in the server's zone, or
  // ISO-8601 with one. null when empty or not read: the api has the last word on save.
  function formDate(id) {
    const s = $(id).value.trim();
    if (!s) return null;
    if (/(Z|[+-]\d\d:?\d\d)$/i.test(s)) { const d = new Date(s); return isNaN(d) ? null : d; }
    const m = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(s);
    if (!m) return null;
    const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], m[7] ? Math.floor(Number("0." + m[7]) * 1000) : 0);
    const off = st.offset !== null ? st.offset : -new Date(ms).getTimezoneOffset();
    return new Date(ms - off * 60000);
  }

  // preview shows the next fire times as the user types: the cron preview from the api
  // for a cron expression (a cron job's or a schedule's, in its zone), skipping what the
  // calendars ticked exclude; the arithmetic of an interval, the date of a date job; an
  // interval's and a cron job's within the lifetime entered. The page cannot tell what a
  // calendar excludes: with calendars ticked, an interval's or a date's times are not
  // listed (one may be excluded), a line says where to see them once saved. A jitter's
  // spread depends on the job's id, which a new job does not have yet: the times are the
  // instants, with a line saying how far each may be spread (the job's Preview shows the
  // spread times).
  let previewTimer = null, previewSeq = 0;
  function preview() {
    const list = $("preview-list"), err = $("preview-error");
    if ($("editor").hidden) return;
    const trig = $("f-trigger").value;
    const show = (items) => { list.replaceChildren(...items.map((s) => el("li", { text: s }))); };
    err.hidden = true;
    clearTimeout(previewTimer);
    previewSeq++; // a cron preview under way is not shown: the form has changed
    const from = trig === "date" || trig === "quartz" ? null : formDate("f-start-date");
    const until = trig === "date" || trig === "quartz" ? null : formDate("f-end-date");
    const ended = (d) => until !== null && d > until;
    const jitter = trig === "quartz" ? 0 : Number($("f-jitter").value) || 0;
    const spread = jitter > 0 ? [t("form.previewJitter", { n: jitter })] : [];
    // What the calendars exclude is the api's to say: the cron preview skips it; an
    // interval's or a date's times, which the page computes, are the job's Preview's.
    const cals = checkedCalendars();
    if (cals.length && (trig === "interval" || trig === "date")) {
      show([t("form.previewCalendarsLater", { names: cals.join(", ") })]);
      return;
    }
    if (cals.length) spread.push(t("form.previewCalendars", { names: cals.join(", ") }));
    if (trig === "interval") {
      const n = Number($("f-seconds").value);
      if (!(n > 0)) { show([]); return; }
      const now = Date.now();
      // Fires at now + k·n (as if started now), the first at or after the start. With a
      // fixed delay only the first is known: each next one waits for a run's end.
      const k0 = from !== null && from > now ? Math.max(1, Math.ceil((from - now) / (n * 1000))) : 1;
      const delay = $("f-fixed-delay").checked;
      const times = (delay ? [k0] : [k0, k0 + 1, k0 + 2]).map((k) => new Date(now + k * n * 1000)).filter((d) => !ended(d));
      const head = t(delay ? "form.previewFixedDelay" : "form.previewInterval", { n });
      show([head].concat(times.length ? times.map(localTime).concat(spread) : [t("form.previewNone")]));
      return;
    }
    if (trig === "date") { show($("f-run-date").value.trim() ? [$("f-run-date").value.trim()].concat(spread) : []); return; }
    const expr = $("f-cron").value.trim(), zone = $("f-timezone").value.trim();
    if (!expr) { show([t("form.previewEmpty")]); return; }
    const seq = ++previewSeq;
    // From just before a start still ahead (the start itself may be an instant).
    const after = from !== null && from > Date.now() ? "&from=" + encodeURIComponent(new Date(from - 1000).toISOString()) : "";
    previewTimer = setTimeout(async () => {
      try {
        const r = await api("GET", "api/v1/cron/next?count=5&expr=" + encodeURIComponent(expr) + (zone ? "&tz=" + encodeURIComponent(zone) : "") + after +
          (cals.length ? "&calendars=" + encodeURIComponent(cals.join(",")) : ""));
        if (seq !== previewSeq) return;
        const next = r.data.next.filter((s) => !ended(new Date(s)) && (from === null || new Date(s) >= from));
        show(next.length ? next.map((s) => fireTime(s)).concat(spread) : [t("form.previewNone")]);
      } catch (e) {
        if (seq !== previewSeq) return;
        show([]);
        err.textContent = e.message;
        err.hidden = false;
      }
    }, 250);
  }

  // --- the journal ------------------------------------------------------------------

  let lastJournal = null;

  function openJournal(id) {
    pending.clear();
    st.liveLines.clear();
    st.selected = id;
    st.journalPage = 1;
    $("journal-panel").hidden = false;
    renderJobs();
    loadJournal();
  }

  function closeJournal() {
    st.selected = null;
    lastJournal = null;
    $("journal-panel").hidden = true;
    renderJobs();
  }

  async function loadJournal() {
    if (!st.selected) return;
    const id = st.selected;
    try {
      const r = await api("GET", jobPath(id, "/journal?page=" + st.journalPage + "&size=" + JOURNAL_SIZE));
      if (id !== st.selected) return;
      lastJournal = r.data;
      renderJournal(lastJournal);
      settle(lastJournal);
    } catch (e) { fail(e); }
  }

  function statusBadge(status) {
    return el("span", { class: "badge status-" + status, "data-status": status, text: t("status." + status) });
  }

  function renderJournal(p) {
    const body = $("journal").tBodies[0];
    body.replaceChildren();
    const j = findJob(st.selected);
    $("journal-job").textContent = j ? j.name : (st.selected || "");
    if (!p) return;
    for (const e of p.data) {
      // A run under way shows the lines it has written so far (the event stream's "log").
      const log = e.exedes || (e.exestatus === "running" ? (st.liveLines.get(e.triggerid) || []).join("\n") : "");
      const detail = (e.parent ? t("journal.parent", { run: e.parent.triggerid }) + "\n" : "") +
        (e.params ? t("journal.params", { params: JSON.stringify(e.params) }) + "\n" : "") + log;
      const actions = el("td", { class: "actions" });
      if (e.exestatus === "running" || e.exestatus === "waiting") {
        actions.append(el("button", { type: "button", class: "danger", "data-action": "kill", "data-trigger": e.triggerid, text: t("journal.kill") }));
      }
      body.append(el("tr", { "data-trigger": e.triggerid, "data-status": e.exestatus, class: "run run-" + e.exestatus },
        el("td", { text: journalTime(e.triggertime) }),
        el("td", {}, statusBadge(e.exestatus)),
        el("td", {}, e.triggerstatus === "missed" ? statusBadge("missed") : document.createTextNode(t("status." + e.triggerstatus))),
        el("td", { text: t("runtype." + e.runtype) }),
        el("td", { text: journalTime(e.exestarttime) }),
        el("td", { text: journalTime(e.updatetime) }),
        el("td", { text: String(e.exetotaltime) }),
        el("td", { class: "detail", text: detail.length > 200 ? detail.slice(0, 200) + "…" : detail, title: detail }),
        actions));
    }
    st.journalPages = Math.max(1, p.pageCount);
    $("journal-empty").hidden = p.data.length > 0;
    $("journal-count").textContent = t("journal.count", { n: p.resultCount });
    $("journal-page").textContent = t("journal.page", { page: p.pageIndex, pages: st.journalPages });
    $("journal-prev").disabled = st.journalPage <= 1;
    $("journal-next").disabled = st.journalPage >= st.journalPages;
  }

  // --- alerts -----------------------------------------------------------------------

  // The project's alert rules and what became of their alerts. Reads show a rule's
  // secrets masked ("***", a URL past its host); the form sends them back as read, which
  // keeps the stored ones.
  const DELIVERIES_SIZE = 20;
  const WATCH_TRIES = 20; // reads of the deliveries, half a second apart, after an alert is raised
  const MASK = "***";
  const URL_EXAMPLES = {
    webhook: "https://hooks.example.com/alerts",
    dingtalk: "https://oapi.dingtalk.com/robot/send?access_token=…",
    feishu: "https://open.feishu.cn/open-apis/bot/v2/hook/…",
    wecom: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
    slack: "https://hooks.slack.com/services/…",
  };
  // The form's field of each field the api names in its errors ("channel.to[1]"), the
  // whole channel last.
  const RULE_FIELDS = [["name", "a-name"], ["events", "a-events"], ["jobs", "a-jobs"], ["channel.type", "a-type"],
    ["channel.url", "a-url"], ["channel.secret", "a-secret"], ["channel.headers", "a-headers"], ["channel.to", "a-to"],
    ["throttle.after", "a-after"], ["throttle.within_seconds", "a-within"], ["throttle.silence_seconds", "a-silence"],
    ["throttle", "a-after"], ["channel", "a-type"]];

  const alertPath = (id, rest) => "api/v1/alerts/" + encodeURIComponent(id) + (rest || "");
  const findRule = (id) => st.rules.find((r) => r.id === id);
  const ruleName = (r) => r.name || t("alerts.unnamed");
  const jobName = (id) => { const j = findJob(id); return j ? j.name : id; };
  const splitList = (s) => s.split(/[\s,]+/).filter((x) => x);

  // FormError is a mistake the page finds in the form before the api would.
  class FormError extends Error {
    constructor(field, message) { super(message); this.field = field; }
  }

  function openAlerts() {
    $("alerts-panel").hidden = false;
    renderJobPick();
    loadRules();
    loadDeliveries();
    $("alerts-panel").scrollIntoView({ block: "nearest" });
  }

  function closeAlerts() {
    $("alerts-panel").hidden = true;
    $("alerts-note").hidden = true;
    closeRuleForm();
    stopWatch();
  }

  // forgetAlerts closes the panel and drops what it showed of a project.
  function forgetAlerts() {
    closeAlerts();
    st.rules = [];
    st.deliveries = [];
    st.deliveriesCursor = null;
    st.freshAlert = null;
    $("deliveries-rule").value = $("deliveries-status").value = "";
    renderRuleFilter();
    renderRules();
    renderDeliveries();
  }

  async function loadRules() {
    try {
      const r = await api("GET", "api/v1/alerts");
      st.rules = r.data.rules;
      renderRuleFilter();
      renderRules();
      renderDeliveries(); // their rules' names
    } catch (e) { fail(e); }
  }

  function throttleText(th) {
    if (!th) return t("alerts.noThrottle");
    return t("alerts.throttleText", { after: th.after, within: th.within_seconds || 0, silence: th.silence_seconds || 0 });
  }

  function renderRules() {
    const filter = $("deliveries-rule").value;
    $("alert-rules").tBodies[0].replaceChildren(...st.rules.map((r) => {
      const actions = el("td", { class: "actions" });
      for (const [action, label] of [["edit", "jobs.edit"], ["test", "alerts.test"], ["delete", "jobs.delete"]]) {
        actions.append(el("button", { type: "button", "data-action": action, text: t(label), class: action === "delete" ? "danger" : "secondary" }));
      }
      const ch = r.channel, state = r.enabled ? "on" : "off";
      return el("tr", { "data-id": r.id, class: r.id === filter ? "selected" : "", title: t("alerts.rowTitle") },
        el("td", { class: "name", text: ruleName(r) }),
        el("td", { class: "events", text: r.events.map((e) => t("alerts.event." + e)).join(", ") }),
        el("td", { class: "jobs", text: r.jobs && r.jobs.length ? r.jobs.map(jobName).join(", ") : t("alerts.allJobs") }),
        el("td", { class: "channel" }, el("strong", { text: t("channel." + ch.type) }), el("br"),
          el("span", { class: "mono target", text: ch.type === "email" ? (ch.to || []).join(", ") : ch.url || "" })),
        el("td", { class: "throttle", text: throttleText(r.throttle) }),
        el("td", {}, el("span", { class: "badge state-" + state, "data-state": state, text: t("alerts." + state) })),
        actions);
    }));
    $("alert-rules-empty").hidden = st.rules.length > 0;
    $("alerts-count").textContent = t("alerts.count", { n: st.rules.length });
  }

  // renderRuleFilter lists the rules to filter the deliveries by; a rule gone is no
  // longer the filter.
  function renderRuleFilter() {
    const sel = $("deliveries-rule"), was = sel.value;
    sel.replaceChildren(sel.options[0], ...st.rules.map((r) => el("option", { value: r.id, text: ruleName(r) })));
    sel.value = was && findRule(was) ? was : "";
    if (sel.value !== was) filterDeliveries();
  }

  async function ruleAct(action, r) {
    try {
      switch (action) {
        case "edit": openRuleForm(r); return;
        case "test": {
          const res = await api("POST", alertPath(r.id, "/test"));
          st.freshAlert = res.data.id;
          const note = $("alerts-note");
          note.textContent = t("alerts.tested", { name: ruleName(r), id: res.data.id });
          note.hidden = false;
          watchDeliveries(res.data.id);
          return;
        }
        case "delete":
          if (!confirm(t("alerts.confirmDelete", { name: ruleName(r) }))) return;
          await api("DELETE", alertPath(r.id));
          say(t("alerts.deleted", { name: ruleName(r) }));
          if (st.ruleEditing && st.ruleEditing.id === r.id) closeRuleForm();
          break;
      }
    } catch (e) { fail(e); }
    loadRules();
  }

  // --- the rule form ----------------------------------------------------------------

  function renderRuleFormTitle() {
    $("alert-form-title").textContent = t(st.ruleEditing ? "alerts.formEdit" : "alerts.formNew");
  }

  function renderJobPick() {
    const sel = $("a-job-pick");
    sel.replaceChildren(sel.options[0], ...st.jobs.map((j) => el("option", { value: j.id, text: j.name })));
  }

  function pickJob() {
    const id = $("a-job-pick").value;
    $("a-job-pick").value = "";
    if (!id) return;
    const ids = splitList($("a-jobs").value);
    if (!ids.includes(id)) ids.push(id);
    $("a-jobs").value = ids.join(", ");
  }

  function syncRuleForm() {
    const type = $("a-type").value;
    for (const e of document.querySelectorAll("#alert-form [data-channel]")) e.hidden = !e.dataset.channel.split(" ").includes(type);
    $("a-url").placeholder = URL_EXAMPLES[type] || "";
  }

  // openRuleForm fills the form with the rule as read (masked values included), or
  // with a new rule's defaults.
  function openRuleForm(r) {
    st.ruleEditing = r || null;
    const ch = r ? r.channel : { type: "webhook" }, th = r && r.throttle;
    $("a-name").value = r ? r.name || "" : "";
    $("a-enabled").checked = r ? r.enabled : true;
    for (const c of document.querySelectorAll("#a-events input")) c.checked = r ? r.events.includes(c.value) : c.value === "failure";
    $("a-jobs").value = r && r.jobs ? r.jobs.join(", ") : "";
    $("a-type").value = ch.type;
    $("a-url").value = ch.url || "";
    $("a-secret").value = ch.secret || "";
    $("a-headers").value = Object.entries(ch.headers || {}).map(([k, v]) => k + ": " + v).join("\n");
    $("a-to").value = (ch.to || []).join(", ");
    $("a-after").value = th ? th.after : "";
    $("a-within").value = th ? th.within_seconds || 0 : "";
    $("a-silence").value = th ? th.silence_seconds || 0 : "";
    $("a-masked-hint").hidden = !r;
    clearRuleError();
    renderRuleFormTitle();
    renderJobPick();
    syncRuleForm();
    $("alert-form").hidden = false;
    $("a-name").focus();
  }

  function closeRuleForm() {
    $("alert-form").hidden = true;
    st.ruleEditing = null;
    clearRuleError();
  }

  // ruleBody reads the form as the api takes a rule; it throws a FormError for what the
  // api could not tell.
  function ruleBody() {
    const type = $("a-type").value, channel = { type };
    if (type === "email") {
      channel.to = splitList($("a-to").value);
    } else {
      channel.url = $("a-url").value.trim();
      const secret = $("a-secret").value.trim();
      if (secret && (type === "dingtalk" || type === "feishu")) channel.secret = secret;
      if (type === "webhook") {
        const headers = {};
        $("a-headers").value.split("\n").forEach((line, i) => {
          if (!line.trim()) return;
          const colon = line.indexOf(":");
          if (colon <= 0) throw new FormError("channel.headers", t("alerts.badHeader", { n: i + 1 }));
          headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
        });
        if (Object.keys(headers).length > 0) channel.headers = headers;
      }
      // A masked value keeps the stored one only on a channel of the same type: another
      // type would take the mask itself for its URL or secret.
      const old = st.ruleEditing && st.ruleEditing.channel;
      if (old && old.type !== type) {
        if (channel.url === old.url && channel.url.includes(MASK)) throw new FormError("channel.url", t("alerts.retype"));
        if (channel.secret === MASK) throw new FormError("channel.secret", t("alerts.retype"));
      }
    }
    const body = {
      name: $("a-name").value.trim(),
      events: [...document.querySelectorAll("#a-events input:checked")].map((c) => c.value),
      jobs: splitList($("a-jobs").value),
      enabled: $("a-enabled").checked,
      channel,
    };
    const num = (id) => ($(id).value.trim() === "" ? null : Number($(id).value));
    const after = num("a-after"), within = num("a-within"), silence = num("a-silence");
    if (after !== null || within !== null || silence !== null) {
      body.throttle = { after: after === null ? 1 : after, within_seconds: within || 0, silence_seconds: silence || 0 };
    }
    return body;
  }

  function clearRuleError() {
    $("alert-error").hidden = true;
    for (const e of document.querySelectorAll("#alert-form .invalid")) e.classList.remove("invalid");
  }

  // showRuleError shows an error next to the form and marks the field it names.
  function showRuleError(text, field) {
    const shown = $("alert-error");
    shown.textContent = text;
    shown.hidden = false;
    const hit = field && RULE_FIELDS.find(([f]) => field === f || field.startsWith(f + ".") || field.startsWith(f + "["));
    if (hit) $(hit[1]).classList.add("invalid");
  }

  async function saveRule(ev) {
    ev.preventDefault();
    clearRuleError();
    let body;
    try {
      body = ruleBody();
    } catch (e) {
      showRuleError(e.message, e.field);
      return;
    }
    try {
      const r = st.ruleEditing ? await api("PUT", alertPath(st.ruleEditing.id), body) : await api("POST", "api/v1/alerts", body);
      say(t("alerts.saved", { name: ruleName(r.data) }));
      closeRuleForm();
      loadRules();
    } catch (e) {
      showRuleError(t("msg.error", { status: e.status || "", message: e.message }), e.field);
    }
  }

  // --- calendars --------------------------------------------------------------------

  // The project's calendars of excluded times, which its jobs and Quartz schedules name.
  // The form writes a calendar's parts a line each, as the table shows them: its dates,
  // its weekly windows ("SAT 00:00 - MON 00:00") and its ranges ("FROM / TO", in its zone).
  const CAL_FIELDS = [["name", "c-name"], ["description", "c-description"], ["timezone", "c-timezone"],
    ["dates", "c-dates"], ["weekly", "c-weekly"], ["ranges", "c-ranges"], ["cron", "c-cron"]];
  const calendarPath = (name) => "api/v1/calendars/" + encodeURIComponent(name);
  const findCalendar = (name) => st.calendars.find((c) => c.name === name);
  const lines = (s) => s.split("\n").map((l) => l.trim()).filter((l) => l);

  function openCalendars() {
    $("calendars-panel").hidden = false;
    loadCalendars();
    $("calendars-panel").scrollIntoView({ block: "nearest" });
  }

  function closeCalendars() {
    $("calendars-panel").hidden = true;
    $("calendars-error").hidden = true;
    closeCalendarForm();
  }

  // forgetCalendars closes the panel and drops what it showed of a project.
  function forgetCalendars() {
    closeCalendars();
    st.calendars = [];
    renderCalendars();
  }

  async function loadCalendars() {
    try {
      const r = await api("GET", "api/v1/calendars");
      st.calendars = r.data.calendars;
      renderCalendars();
      if (!$("editor").hidden) renderCalendarChecks(checkedCalendars());
    } catch (e) { fail(e); }
  }

  // excludesLines words what a calendar excludes, a line a part.
  function excludesLines(c) {
    const out = [];
    const dates = c.dates || [];
    if (dates.length) out.push(t("calendars.dates", { n: dates.length, list: dates.slice(0, 5).join(", ") + (dates.length > 5 ? ", …" : "") }));
    for (const w of c.weekly || []) out.push(t("calendars.weekly", { from: w.from, to: w.to }));
    for (const r of c.ranges || []) out.push(t("calendars.range", { from: r.from, to: r.to }));
    if (c.cron) out.push(t("calendars.cron", { expr: c.cron }));
    return out;
  }

  function renderCalendars() {
    $("calendars").tBodies[0].replaceChildren(...st.calendars.map((c) => {
      const actions = el("td", { class: "actions" });
      for (const [action, label] of [["edit", "jobs.edit"], ["delete", "jobs.delete"]]) {
        actions.append(el("button", { type: "button", "data-action": action, text: t(label), class: action === "delete" ? "danger" : "secondary" }));
      }
      const name = el("td", { class: "name" }, el("strong", { text: c.name }));
      if (c.description) name.append(el("div", { class: "description", text: c.description }));
      const users = st.jobs.filter((j) => ((j.jobParameter || {}).calendars || []).includes(c.name));
      return el("tr", { "data-name": c.name },
        name,
        el("td", { class: "zone", text: c.timezone }),
        el("td", { class: "excludes" }, ...excludesLines(c).map((s) => el("div", { text: s }))),
        el("td", { class: "jobs", text: users.length ? users.map((j) => j.name).join(", ") : t("jobs.none") }),
        el("td", { class: "updated", text: c.updated_at + (c.updated_by ? " " + t("calendars.by", { user: c.updated_by }) : "") }),
        actions);
    }));
    $("calendars-empty").hidden = st.calendars.length > 0;
    $("calendars-count").textContent = t("calendars.count", { n: st.calendars.length });
  }

  async function calendarAct(action, c) {
    $("calendars-error").hidden = true;
    if (action === "edit") { openCalendarForm(c); return; }
    if (action !== "delete" || !confirm(t("calendars.confirmDelete", { name: c.name }))) return;
    try {
      await api("DELETE", calendarPath(c.name));
      say(t("calendars.deleted", { name: c.name }));
      if (st.calEditing && st.calEditing.name === c.name) closeCalendarForm();
    } catch (e) {
      // One a job names is refused (409): the api's words say which jobs.
      const shown = $("calendars-error");
      shown.textContent = t("msg.error", { status: e.status || "", message: e.message });
      shown.dataset.name = c.name;
      shown.dataset.status = String(e.status || "");
      shown.hidden = false;
    }
    loadCalendars();
  }

  function renderCalendarFormTitle() {
    $("calendar-form-title").textContent = t(st.calEditing ? "calendars.formEdit" : "calendars.formNew");
  }

  // openCalendarForm fills the form with the calendar as read, or empty for a new one.
  function openCalendarForm(c) {
    st.calEditing = c || null;
    $("c-name").value = c ? c.name : "";
    $("c-name").disabled = !!c; // a calendar keeps its name: jobs name it by it
    $("c-description").value = c ? c.description || "" : "";
    $("c-timezone").value = c ? c.timezone : "";
    $("c-dates").value = c ? (c.dates || []).join("\n") : "";
    $("c-weekly").value = c ? (c.weekly || []).map((w) => w.from + " - " + w.to).join("\n") : "";
    $("c-ranges").value = c ? (c.ranges || []).map((r) => r.from + " / " + r.to).join("\n") : "";
    $("c-cron").value = c ? c.cron || "" : "";
    clearCalendarError();
    renderCalendarFormTitle();
    $("calendar-form").hidden = false;
    (c ? $("c-description") : $("c-name")).focus();
  }

  function closeCalendarForm() {
    $("calendar-form").hidden = true;
    st.calEditing = null;
    clearCalendarError();
  }

  // calendarBody reads the form as the api takes a calendar; it throws a FormError for a
  // line it cannot split. Dates may be comma-separated as well.
  function calendarBody() {
    const pairs = (id, sep, field, bad) => lines($(id).value).map((l, i) => {
      const parts = l.split(sep);
      if (parts.length !== 2) throw new FormError(field + "[" + i + "]", t(bad, { n: i + 1 }));
      return { from: parts[0].trim(), to: parts[1].trim() };
    });
    const body = { name: st.calEditing ? st.calEditing.name : $("c-name").value.trim() };
    const parts = {
      description: $("c-description").value.trim(),
      timezone: $("c-timezone").value.trim(),
      dates: lines($("c-dates").value.replace(/,/g, "\n")),
      // Days and times hold no "-", dates and times no "/": the one there splits a line.
      weekly: pairs("c-weekly", "-", "weekly", "calendars.badWindow"),
      ranges: pairs("c-ranges", "/", "ranges", "calendars.badRange"),
      cron: $("c-cron").value.trim(),
    };
    for (const [k, v] of Object.entries(parts)) if (v.length) body[k] = v; // left out: none (the zone: the server's)
    return body;
  }

  function clearCalendarError() {
    $("calendar-error").hidden = true;
    for (const e of document.querySelectorAll("#calendar-form .invalid")) e.classList.remove("invalid");
  }

  // showCalendarError shows an error under the form and marks the field it names.
  function showCalendarError(text, field) {
    const shown = $("calendar-error");
    shown.textContent = text;
    shown.dataset.field = field || "";
    shown.hidden = false;
    const hit = field && CAL_FIELDS.find(([f]) => field === f || field.startsWith(f + "[") || field.startsWith(f + "."));
    if (hit) $(hit[1]).classList.add("invalid");
  }

  async function saveCalendar(ev) {
    ev.preventDefault();
    clearCalendarError();
    let body;
    try {
      body = calendarBody();
    } catch (e) {
      showCalendarError(e.message, e.field);
      return;
    }
    try {
      const r = st.calEditing ? await api("PUT", calendarPath(st.calEditing.name), body) : await api("POST", "api/v1/calendars", body);
      say(t("calendars.saved", { name: r.data.name }));
      closeCalendarForm();
      loadCalendars();
      // The jobs naming it are rescheduled: their next runs, and an open Preview of one,
      // are read again; and a second later, as the api's own copy of the calendars
      // follows their store a moment behind the write.
      for (const wait of [0, 1000]) setTimeout(() => rescheduled(r.data.name), wait);
    } catch (e) {
      showCalendarError(t("msg.error", { status: e.status || "", message: e.message }), e.field);
    }
  }

  async function rescheduled(name) {
    await loadJobs();
    const j = st.firesJob && findJob(st.firesJob);
    if (j && ((j.jobParameter || {}).calendars || []).includes(name)) loadFires(j);
  }

  // --- the job form's calendars -----------------------------------------------------

  function checkedCalendars() {
    return [...document.querySelectorAll("#f-calendars-list input:checked")].map((c) => c.value);
  }

  // renderCalendarChecks lists the project's calendars in the job form, those in
  // selected checked. A name the project has no calendar of (an imported job's) is
  // listed too, struck through, so that saving does not drop it unseen.
  function renderCalendarChecks(selected) {
    const names = st.calendars.map((c) => c.name).concat(selected.filter((n) => !findCalendar(n)));
    $("f-calendars-list").replaceChildren(...names.map((n) => {
      const known = !!findCalendar(n);
      return el("label", { class: "check" + (known ? "" : " missing"), title: known ? findCalendar(n).description || "" : t("form.calendarMissing") },
        el("input", { type: "checkbox", name: "calendar", value: n, checked: selected.includes(n) }),
        el("span", { text: n }));
    }));
    $("f-calendars-none").hidden = names.length > 0;
  }

  // --- workers ----------------------------------------------------------------------

  // The project's own worker processes online, by group (GET api/v1/workers), and the
  // groups the jobs listed name with no worker online: their fires wait for one. Workers
  // are not on the event stream: the panel reads them again every few seconds while shown.
  const WORKERS_EVERY = 2000;
  let workersTimer = null, workersSeq = 0;

  function openWorkers() {
    $("workers-panel").hidden = false;
    renderWorkers();
    loadWorkers();
    $("workers-panel").scrollIntoView({ block: "nearest" });
  }

  function closeWorkers() {
    $("workers-panel").hidden = true;
    clearTimeout(workersTimer);
    workersSeq++; // a read under way is not shown
  }

  // forgetWorkers closes the panel and drops what it showed of a project.
  function forgetWorkers() {
    closeWorkers();
    st.workers = st.workersAt = null;
    renderWorkers();
  }

  async function loadWorkers() {
    clearTimeout(workersTimer);
    if ($("workers-panel").hidden || !st.project) return;
    const seq = ++workersSeq;
    try {
      const r = await api("GET", "api/v1/workers");
      if (seq !== workersSeq) return;
      st.workers = r.data.groups || [];
      st.workersAt = new Date();
      $("workers-error").hidden = true;
    } catch (e) {
      if (seq !== workersSeq) return;
      $("workers-error").textContent = t("msg.error", { status: e.status || "", message: e.message });
      $("workers-error").hidden = false;
    }
    renderWorkers();
    workersTimer = setTimeout(loadWorkers, WORKERS_EVERY);
  }

  // workerGroups: the groups online in the api's order, then those only the jobs name.
  function workerGroups() {
    const groups = (st.workers || []).map((g) => ({ group: g.group, workers: g.workers }));
    const named = new Set();
    for (const j of st.jobs) { const g = (j.jobParameter || {}).worker_group; if (g) named.add(g); }
    for (const g of [...named].sort()) if (!groups.some((x) => x.group === g)) groups.push({ group: g, workers: [] });
    return groups;
  }

  function renderWorkers() {
    const box = $("workers-groups");
    if (!st.workers) { // not read yet
      box.replaceChildren();
      $("workers-empty").hidden = true;
      $("workers-count").textContent = $("workers-read").textContent = "";
      return;
    }
    const groups = workerGroups();
    let online = 0;
    box.replaceChildren(...groups.map((g) => {
      online += g.workers.length;
      const jobs = st.jobs.filter((j) => (j.jobParameter || {}).worker_group === g.group);
      const head = el("h3", {}, el("span", { class: "name", text: g.group }), " ",
        el("span", { class: "muted count", text: t("workers.online", { n: g.workers.length }) }));
      if (jobs.length) head.append(" ", el("span", { class: "muted jobs", text: t("workers.jobs", { names: jobs.map((j) => j.name).join(", ") }) }));
      const div = el("div", { class: "worker-group", "data-group": g.group, "data-workers": String(g.workers.length) }, head);
      if (!g.workers.length) {
        div.append(el("p", { class: "none", text: t("workers.none") }));
        return div;
      }
      const table = el("table", { class: "grid workers" },
        el("thead", {}, el("tr", {}, ...["workers.id", "workers.host", "workers.version", "workers.since", "workers.load",
          "workers.handles", "workers.heartbeat", "workers.leaving"].map((k) => el("th", { text: t(k) })))),
        el("tbody", {}, ...g.workers.map((w) => el("tr", { "data-id": w.id, class: w.leaving ? "leaving" : "" },
          el("td", { class: "id mono", text: w.id }),
          el("td", { class: "host", text: w.host }),
          el("td", { class: "version", text: w.version || t("jobs.none") }),
          el("td", { class: "since", text: localTime(new Date(w.since)), title: w.since }),
          el("td", { class: "load", text: t("workers.runs", { running: w.running, capacity: w.capacity }) }),
          el("td", { class: "handles", text: (w.handles || []).join(", ") || t("jobs.none") }),
          el("td", { class: "heartbeat", text: localTime(new Date(w.last_heartbeat)), title: w.last_heartbeat }),
          el("td", { class: "leaving" }, w.leaving ? el("span", { class: "badge status-skipped", text: t("workers.leavingYes") }) : document.createTextNode(t("workers.leavingNo")))))));
      div.append(table);
      return div;
    }));
    $("workers-empty").hidden = groups.length > 0;
    $("workers-count").textContent = t("workers.count", { groups: groups.length, n: online });
    $("workers-read").textContent = st.workersAt ? t("workers.read", { at: localTime(st.workersAt) }) : "";
  }

  // --- deliveries -------------------------------------------------------------------

  // loadDeliveries reads the newest deliveries the filters let through, as many as are
  // shown (a refresh keeps what "more" added); "more" appends the page after them. A
  // later read wins over one under way; a watch's read waits for "more" to be answered,
  // whose answer settles the watch in its stead.
  let deliveriesSeq = 0, moreUnderWay = false;
  async function loadDeliveries(why) {
    if ($("alerts-panel").hidden || !st.project) return;
    const more = why === "more";
    if (more ? !st.deliveriesCursor || moreUnderWay : why === "watch" && moreUnderWay) return;
    const q = new URLSearchParams();
    if ($("deliveries-rule").value) q.set("rule_id", $("deliveries-rule").value);
    if ($("deliveries-status").value) q.set("status", $("deliveries-status").value);
    if (more) {
      q.set("cursor", st.deliveriesCursor);
      q.set("limit", String(DELIVERIES_SIZE));
      moreUnderWay = true;
    } else {
      q.set("limit", String(Math.min(500, Math.max(DELIVERIES_SIZE, st.deliveries.length))));
    }
    const seq = ++deliveriesSeq;
    try {
      const r = await api("GET", "api/v1/alerts/deliveries?" + q);
      if (seq !== deliveriesSeq) return;
      st.deliveries = more ? st.deliveries.concat(r.data.deliveries) : r.data.deliveries;
      st.deliveriesCursor = r.data.next_cursor || null;
      renderDeliveries();
      settleDeliveries();
    } catch (e) {
      fail(e);
    } finally {
      if (more) moreUnderWay = false;
    }
  }

  function filterDeliveries() {
    st.deliveries = [];
    st.deliveriesCursor = null;
    renderRules();
    loadDeliveries();
  }

  function deliveryBadge(status) {
    return el("span", { class: "badge status-" + status, "data-status": status, text: t("delivery." + status) });
  }

  function renderDeliveries() {
    $("deliveries").tBodies[0].replaceChildren(...st.deliveries.map((d) => {
      const r = findRule(d.rule_id);
      return el("tr", { "data-id": d.id, "data-rule": d.rule_id, "data-event": d.event, "data-status": d.status, class: d.id === st.freshAlert ? "fresh" : "" },
        el("td", { text: localTime(new Date(d.raised_at)) }),
        el("td", { text: r ? ruleName(r) : d.rule_id }),
        el("td", { class: "event", text: t("alerts.event." + d.event) }),
        el("td", { class: "job", text: d.job_id ? jobName(d.job_id) : t("jobs.none"), title: d.job_id || "" }),
        el("td", { class: "mono run", text: d.triggerid || t("jobs.none") }),
        el("td", { class: "status" }, deliveryBadge(d.status)),
        el("td", { class: "attempts", text: String(d.attempts) }),
        el("td", { class: "mono target", text: (d.channel ? t("channel." + d.channel) + " " : "") + d.target }),
        el("td", { class: "detail", text: d.error || "" }));
    }));
    $("deliveries-empty").hidden = st.deliveries.length > 0;
    $("deliveries-count").textContent = t("deliveries.count", { n: st.deliveries.length });
    $("deliveries-more").disabled = !st.deliveriesCursor;
  }

  // Deliveries are not on the event stream. After what may raise an alert (a run that
  // failed, a fire missed, a job paused, a test), the first page is read again every
  // half second until it shows the alert awaited settled (want, an id), or one it did
  // not show before, and none being retried; for ten seconds at most.
  const watch = { want: null, known: null, tries: 0, timer: null };
  function watchDeliveries(want) {
    if ($("alerts-panel").hidden) return;
    if (want) watch.want = want;
    else if (!watch.known) watch.known = new Set(st.deliveries.map((d) => d.id));
    watch.tries = 0;
    clearTimeout(watch.timer);
    watch.timer = setTimeout(() => loadDeliveries("watch"), 500);
  }

  function settleDeliveries() {
    clearTimeout(watch.timer);
    const ds = st.deliveries;
    const settled = (!watch.want || ds.some((d) => d.id === watch.want && d.status !== "retrying")) &&
      (!watch.known || ds.some((d) => !watch.known.has(d.id))) &&
      !ds.some((d) => d.status === "retrying");
    if (!settled && ++watch.tries <= WATCH_TRIES) watch.timer = setTimeout(() => loadDeliveries("watch"), 500);
    else stopWatch();
  }

  function stopWatch() {
    clearTimeout(watch.timer);
    watch.want = watch.known = null;
    watch.tries = 0;
  }

  // --- live events ------------------------------------------------------------------

  function renderLive() {
    const s = st.es ? (st.es.readyState === EventSource.OPEN ? "on" : "connecting") : "off";
    const live = $("live");
    live.className = "live " + s;
    live.dataset.state = s;
    live.textContent = t("live." + s);
  }

  function renderActivity() {
    const ul = $("activity");
    ul.replaceChildren(...st.activity.map((a) => {
      const j = findJob(a.job);
      return el("li", { class: "kind-" + a.kind, "data-kind": a.kind },
        el("time", { text: localTime(a.at) }), " ",
        el("strong", { text: a.name || (j && j.name) || a.job }), " ",
        a.status ? statusBadge(a.status) : el("span", { class: "badge event", text: t("event." + a.what) }));
    }));
  }

  function note(a) {
    a.at = new Date();
    st.activity.unshift(a);
    st.activity.length = Math.min(st.activity.length, ACTIVITY_MAX);
    renderActivity();
  }

  // Reloads are gathered: a burst of events costs one request.
  const later = (fn, ms) => { let timer = null; return () => { clearTimeout(timer); timer = setTimeout(fn, ms); }; };
  const reloadJobs = later(loadJobs, 300);
  const reloadJournal = later(() => { if (st.journalPage === 1) loadJournal(); }, 200);

  // An event can come before the journal's projection has stored what it says. The runs
  // the events announced are kept until page 1 shows them, and page 1 is read again
  // until it does (for a few seconds at most).
  const pending = new Map(); // fire id → the status announced ("" for a fire)
  let pendingTries = 0, pendingTimer = null;
  function expect(fireID, status) {
    pending.set(fireID, status);
    pendingTries = 0;
    reloadJournal();
  }
  function settle(p) {
    if (st.journalPage !== 1 || !p) return;
    for (const [fid, status] of pending) {
      const e = p.data.find((x) => x.triggerid === fid);
      if (e && (status === "" || e.exestatus === status || e.exestatus === "success" || e.exestatus === "failure")) pending.delete(fid);
    }
    clearTimeout(pendingTimer);
    if (pending.size > 0 && ++pendingTries <= 15) pendingTimer = setTimeout(loadJournal, 400);
    else pending.clear();
  }

  function connect() {
    disconnect();
    if (!st.project) return;
    let url = "api/v1/events?project=" + encodeURIComponent(st.project);
    if (st.key) url += "&key=" + encodeURIComponent(st.key);
    const es = new EventSource(url);
    st.es = es;
    const data = (ev) => { try { return JSON.parse(ev.data); } catch (e) { return null; } };
    es.onopen = renderLive;
    es.onerror = () => {
      renderLive();
      if (es.readyState === EventSource.CLOSED && st.es === es) {
        // The api refused the stream (a wrong key, say) or went away for good: try again later.
        clearTimeout(st.retry);
        st.retry = setTimeout(connect, 5000);
      }
    };
    es.addEventListener("lifecycle", (ev) => {
      const e = data(ev);
      if (!e) return;
      note({ kind: "lifecycle", job: e.job_id, name: e.job && e.job.spec && e.job.spec.name, what: e.type });
      if (e.type === "deleted" && st.selected === e.job_id) closeJournal();
      if (e.type === "stopped" && e.reason) watchDeliveries(); // paused by its failures: an alert
      reloadJobs();
    });
    es.addEventListener("fire", (ev) => {
      const e = data(ev);
      if (!e) return;
      if (st.selected === e.job_id) expect(e.fire_id, "");
      if (e.triggerstatus === "missed") watchDeliveries();
      reloadJobs();
    });
    es.addEventListener("run", (ev) => {
      const e = data(ev);
      if (!e) return;
      if (e.status !== "running") {
        note({ kind: "run", job: e.job_id, status: e.status });
        st.liveLines.delete(e.fire_id); // its end has its log
        if (e.status !== "success") watchDeliveries();
      }
      if (st.selected === e.job_id) expect(e.fire_id, e.status);
    });
    es.addEventListener("log", (ev) => {
      const e = data(ev);
      if (!e || st.selected !== e.job_id) return;
      const lines = st.liveLines.get(e.fire_id) || [];
      lines.push(...e.lines);
      st.liveLines.delete(e.fire_id); // re-inserted last: the map drops its oldest runs first
      st.liveLines.set(e.fire_id, lines.slice(-LIVE_LINES));
      while (st.liveLines.size > LIVE_RUNS) st.liveLines.delete(st.liveLines.keys().next().value);
      // Only the run's detail cell changes: the rest of the table (its Kill button) stays.
      const row = [...document.querySelectorAll("#journal tbody tr[data-status='running']")].find((tr) => tr.dataset.trigger === e.fire_id);
      const cell = row && row.querySelector("td.detail");
      if (cell) {
        const text = st.liveLines.get(e.fire_id).join("\n");
        cell.textContent = text.length > 200 ? "…" + text.slice(-200) : text;
        cell.title = text;
      }
    });
    es.addEventListener("overflow", () => { say(t("msg.overflow"), true); connect(); });
    renderLive();
  }

  function disconnect() {
    clearTimeout(st.retry);
    if (st.es) { st.es.close(); st.es = null; }
    renderLive();
  }

  // --- the project ------------------------------------------------------------------

  function open(ev) {
    if (ev) ev.preventDefault();
    st.project = $("project").value.trim();
    st.key = $("key").value.trim();
    st.user = $("user").value.trim();
    st.pid = $("pid-filter").value.trim();
    if (!st.project) { say(t("login.need"), true); return; }
    for (const k of ["project", "key", "user", "pid"]) localStorage.setItem(STORE + k, st[k]);
    closeJournal();
    closeEditor();
    closeFires();
    closeBackfill();
    forgetAlerts();
    forgetCalendars();
    forgetWorkers();
    st.activity = [];
    renderActivity();
    for (const id of ["jobs-panel", "activity-panel"]) $(id).hidden = false;
    loadJobs();
    connect();
    learnZone();
  }

  function forget() {
    for (const k of ["project", "key", "user", "pid"]) localStorage.removeItem(STORE + k);
    for (const id of ["project", "key", "user", "pid-filter"]) $(id).value = "";
    disconnect();
    st.project = st.key = "";
    st.jobs = [];
    closeJournal();
    closeEditor();
    closeFires();
    closeBackfill();
    forgetAlerts();
    forgetCalendars();
    forgetWorkers();
    for (const id of ["jobs-panel", "activity-panel"]) $(id).hidden = true;
  }

  function init() {
    st.lang = pickLang();
    $("project").value = localStorage.getItem(STORE + "project") || "";
    $("key").value = localStorage.getItem(STORE + "key") || "";
    $("user").value = localStorage.getItem(STORE + "user") || "";
    $("pid-filter").value = localStorage.getItem(STORE + "pid") || "";
    $("lang").addEventListener("change", () => {
      st.lang = $("lang").value;
      localStorage.setItem(STORE + "lang", st.lang);
      $("message").hidden = true; // it was written in the other language
      $("alerts-note").hidden = true;
      applyLang();
    });
    $("login-form").addEventListener("submit", open);
    $("logout").addEventListener("click", forget);
    $("refresh").addEventListener("click", loadJobs);
    $("new-job").addEventListener("click", () => openEditor(null));
    $("cancel").addEventListener("click", closeEditor);
    $("job-form").addEventListener("submit", save);
    // Changing the field the api refused puts its refusal away.
    $("job-form").addEventListener("input", (ev) => { if (ev.target.classList.contains("invalid")) clearFormError(); });
    $("exec-form").addEventListener("submit", execWith);
    $("exec-cancel").addEventListener("click", closeExec);
    $("backfill-form").addEventListener("submit", runBackfill);
    // A field the browser refuses (out of its bounds) sends nothing: the last answer goes.
    $("backfill-form").addEventListener("invalid", () => { clearBackfillError(); clearBackfilled(); }, true);
    $("backfill-form").addEventListener("input", (ev) => { if (ev.target.classList.contains("invalid")) clearBackfillError(); });
    $("backfill-cancel").addEventListener("click", closeBackfill);
    $("f-trigger").addEventListener("change", syncForm);
    $("f-target").addEventListener("change", syncForm);
    for (const id of ["f-seconds", "f-run-date", "f-cron", "f-timezone", "f-start-date", "f-end-date", "f-jitter"]) $(id).addEventListener("input", preview);
    $("f-fixed-delay").addEventListener("change", preview);
    $("f-worker-group").addEventListener("input", syncRoute);
    $("f-calendars").addEventListener("change", () => { if ($("f-calendars").classList.contains("invalid")) clearFormError(); preview(); });
    $("jobs").addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-action]");
      if (b) act(b.dataset.action, b.closest("tr").dataset.id);
    });
    $("journal-close").addEventListener("click", closeJournal);
    $("versions-close").addEventListener("click", () => { $("versions-panel").hidden = true; st.versionsJob = null; });
    $("fires-close").addEventListener("click", closeFires);
    $("versions").addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-action='rollback']");
      if (b) rollbackTo(Number(b.dataset.version));
    });
    $("export").addEventListener("click", exportJobs);
    $("import-file").addEventListener("change", importFile);
    $("import-go").addEventListener("click", importGo);
    $("import-cancel").addEventListener("click", () => { $("import-panel").hidden = true; st.importDoc = null; });
    $("journal").addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-action='kill']");
      if (b) kill(b.dataset.trigger);
    });
    $("journal-prev").addEventListener("click", () => { if (st.journalPage > 1) { st.journalPage--; loadJournal(); } });
    $("journal-next").addEventListener("click", () => { if (st.journalPage < st.journalPages) { st.journalPage++; loadJournal(); } });
    $("open-alerts").addEventListener("click", openAlerts);
    $("alerts-close").addEventListener("click", closeAlerts);
    $("alerts-refresh").addEventListener("click", () => { loadRules(); loadDeliveries(); });
    $("alert-new").addEventListener("click", () => openRuleForm(null));
    $("alert-cancel").addEventListener("click", closeRuleForm);
    $("alert-form").addEventListener("submit", saveRule);
    $("a-type").addEventListener("change", syncRuleForm);
    $("a-job-pick").addEventListener("change", pickJob);
    $("alert-rules").addEventListener("click", (ev) => {
      const tr = ev.target.closest("tbody tr");
      const r = tr && findRule(tr.dataset.id);
      if (!r) return;
      const b = ev.target.closest("button[data-action]");
      if (b) { ruleAct(b.dataset.action, r); return; }
      // Elsewhere on its row, a click shows only the rule's deliveries; again, all.
      $("deliveries-rule").value = $("deliveries-rule").value === r.id ? "" : r.id;
      filterDeliveries();
    });
    $("deliveries-rule").addEventListener("change", filterDeliveries);
    $("deliveries-status").addEventListener("change", filterDeliveries);
    $("deliveries-more").addEventListener("click", () => loadDeliveries("more"));
    $("open-calendars").addEventListener("click", openCalendars);
    $("calendars-close").addEventListener("click", closeCalendars);
    $("calendars-refresh").addEventListener("click", loadCalendars);
    $("calendar-new").addEventListener("click", () => openCalendarForm(null));
    $("calendar-cancel").addEventListener("click", closeCalendarForm);
    $("calendar-form").addEventListener("submit", saveCalendar);
    $("calendar-form").addEventListener("input", (ev) => { if (ev.target.classList.contains("invalid")) clearCalendarError(); });
    $("calendars").addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-action]");
      const c = b && findCalendar(b.closest("tr").dataset.name);
      if (c) calendarAct(b.dataset.action, c);
    });
    $("open-workers").addEventListener("click", openWorkers);
    $("workers-close").addEventListener("click", closeWorkers);
    $("workers-refresh").addEventListener("click", loadWorkers);
    applyLang();
    if ($("project").value) open();
    document.body.dataset.ready = "true";
  }

  init();
})();
