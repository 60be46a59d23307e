"""Python client of Job Center: the job-center SDK's sdk_* functions over its HTTP API,
plus the Quartz scheduling API, the journal, a job's next fire times and backfills, the cron
preview, alert rules, calendars of excluded times and the registry of the project's workers.
Workers of your own, which run the flows of the jobs that name their group, are in
jobcenter_sdk.worker (over the center's NATS, standard library too).

Standard library only (urllib), Python 3.9+. Settings come from configure() or, for
whatever configure() leaves unset, from the environment:

    JOBCENTER_URL      base URL (default http://127.0.0.1:8001)
    JOBCENTER_PROJECT  the project (tenant) sent as X-Project-Id
    JOBCENTER_USER     the user sent as X-User-Id (createUser / updateUser), optional
    JOBCENTER_API_KEY  the API key sent as "Authorization: Bearer ...", optional
    JOBCENTER_TECODE   the Quartz tenant sent as the tecode header
    JOBCENTER_TIMEOUT  seconds per request (default 10)

Every failure raises JobCenterError.
"""

import http.client
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterator, List, Optional, Union

__version__ = "0.1.0"

__all__ = [
    "JobCenterError",
    "configure",
    "sdk_add_job",
    "sdk_get_job",
    "sdk_get_jobs",
    "sdk_start_job",
    "sdk_stop_job",
    "sdk_exec_job",
    "sdk_update_job",
    "sdk_delete_job",
    "get_journal",
    "kill_run",
    "exec_run",
    "get_versions",
    "rollback",
    "export_jobs",
    "import_jobs",
    "follow_events",
    "preview",
    "backfill",
    "cron_next",
    "get_alert_rules",
    "add_alert_rule",
    "get_alert_rule",
    "update_alert_rule",
    "delete_alert_rule",
    "test_alert_rule",
    "get_alert_deliveries",
    "get_calendars",
    "add_calendar",
    "get_calendar",
    "update_calendar",
    "delete_calendar",
    "get_worker_groups",
    "get_workers",
    "quartz_save",
    "quartz_query_job_status",
    "quartz_query_journal",
    "quartz_quaryjournal",
    "quartz_enable",
    "quartz_disable",
    "quartz_delete",
    "quartz_trigger",
]

DEFAULT_URL = "http://127.0.0.1:8001"
DEFAULT_TIMEOUT = 10.0
_USER_AGENT = "jobcenter-sdk-python/" + __version__


class JobCenterError(Exception):
    """Any failed call.

    status is the HTTP status (0 when no answer came: unreachable or timed out); code,
    message and field come from the server's error body ({"error": {...}} of the
    job-center API, {"resp_code", "resp_msg"} of the Quartz API); body is that body.
    """

    def __init__(self, status: int, code: str, message: str, field: Optional[str] = None, body: Any = None):
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.body = body
        text = "HTTP %d %s: %s" % (status, code, message) if status else "%s: %s" % (code, message)
        if field:
            text += " (field %s)" % field
        super().__init__(text)


_settings: Dict[str, Any] = {}


class _Unset:
    def __repr__(self) -> str:
        return "UNCHANGED"


_UNSET = _Unset()


def configure(url=_UNSET, project=_UNSET, user=_UNSET, api_key=_UNSET, tecode=_UNSET, timeout=_UNSET) -> None:
    """Set the settings given (url, project, user, api_key, tecode, timeout in seconds);
    the others stay as they are. None returns a setting to its environment variable."""
    for name, value in (("url", url), ("project", project), ("user", user), ("api_key", api_key),
                        ("tecode", tecode), ("timeout", timeout)):
        if value is _UNSET:
            continue
        if value is None:
            _settings.pop(name, None)
        else:
            _settings[name] = value


def _setting(name: str, env: str, default: Any = None) -> Any:
    if name in _settings:
        return _settings[name]
    value = os.environ.get(env, "")
    return value if value != "" else default


def _timeout() -> float:
    value = _setting("timeout", "JOBCENTER_TIMEOUT", DEFAULT_TIMEOUT)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise JobCenterError(0, "config", "timeout must be a number of seconds, got %r" % (value,))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would turn a POST into a GET and send the key to the new host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise JobCenterError(code, "redirect", "%s redirects to %s: set JOBCENTER_URL to that address"
                             % (req.full_url, newurl))


_opener = urllib.request.build_opener(_NoRedirect)


def _request(method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None,
             query: Optional[Dict[str, Any]] = None, answer_headers: Optional[Dict[str, str]] = None) -> Any:
    """Send one request and return the decoded JSON answer, or raise JobCenterError. The
    answer's headers are copied into answer_headers when it is given."""
    url = str(_setting("url", "JOBCENTER_URL", DEFAULT_URL)).rstrip("/") + path
    if query:
        url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
    hdrs = {"Accept": "application/json", "User-Agent": _USER_AGENT}
    key = _setting("api_key", "JOBCENTER_API_KEY")
    if key:
        hdrs["Authorization"] = "Bearer " + key
    for k, v in (headers or {}).items():
        if v:
            hdrs[k] = v
    data = None
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    try:
        with _opener.open(req, timeout=_timeout()) as resp:
            status, raw = resp.status, resp.read()
            if answer_headers is not None:
                answer_headers.update(resp.headers.items())
    except urllib.error.HTTPError as e:
        status = e.code
        try:
            raw = e.read()
        except (OSError, http.client.HTTPException):
            raw = b""
        finally:
            e.close()
    except (socket.timeout, TimeoutError) as e:
        raise JobCenterError(0, "timeout", "%s %s: no answer within %ss (%s)" % (method, url, _timeout(), e)) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise JobCenterError(0, "timeout", "%s %s: no answer within %ss" % (method, url, _timeout())) from None
        raise JobCenterError(0, "unreachable", "%s %s: %s" % (method, url, reason)) from None
    try:
        decoded = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except ValueError:
        decoded = None
        if status < 400:
            raise JobCenterError(status, "bad_answer", "the answer is not JSON: %r" % raw[:200], body=raw)
    if status >= 400:
        raise _error(status, decoded, raw)
    return decoded


def _error(status: int, body: Any, raw: bytes) -> JobCenterError:
    if isinstance(body, dict):
        e = body.get("error")
        if isinstance(e, dict):
            return JobCenterError(status, str(e.get("code") or "http_%d" % status), str(e.get("message") or ""),
                                  e.get("field") or None, body)
        if "resp_code" in body or "resp_msg" in body:
            return JobCenterError(status, str(body.get("resp_code") or "http_%d" % status),
                                  str(body.get("resp_msg") or ""), None, body)
    text = raw.decode("utf-8", "replace").strip()[:200]
    return JobCenterError(status, "http_%d" % status, text, None, body)


def _project_headers() -> Dict[str, str]:
    return {"X-Project-Id": _setting("project", "JOBCENTER_PROJECT"), "X-User-Id": _setting("user", "JOBCENTER_USER")}


def _jobs(method: str, path: str = "", body: Any = None, query: Optional[Dict[str, Any]] = None) -> Any:
    return _request(method, "/api/v1/jobs" + path, body, _project_headers(), query)


def _ref(job_id: str, field: str = "job_id") -> str:
    if not isinstance(job_id, str) or not job_id:
        raise JobCenterError(0, "invalid", "%s must be a non-empty string, got %r" % (field, job_id), field)
    return "/" + urllib.parse.quote(job_id, safe="")


def _definition(name, description, trigger, seconds, run_date, flow_id, code, cron, timezone, start_date, end_date,
                jitter, fixed_delay, calendars, http_call, worker_group=None, route=None, **extra) -> Dict[str, Any]:
    # A lifetime is a string in run_date's forms; the server names the field of a bad one
    # (and refuses one of a date job), but could not read another type at all.
    for field, value in (("start_date", start_date), ("end_date", end_date)):
        if value is not None and not isinstance(value, str):
            raise JobCenterError(0, "invalid", '%s must be a string like "2025-07-09 16:00:00" or ISO-8601, got %r'
                                 % (field, value), field)
    # The server reads cron and timezone only for a cron trigger: given with another they
    # would be dropped without a word, so they are refused here.
    if trigger != "cron":
        for field, value in (("cron", cron), ("timezone", timezone)):
            if value is not None:
                raise JobCenterError(0, "invalid", '%s is a cron trigger\'s: give trigger="cron", got %r' % (field, trigger),
                                     field)
    else:
        seconds = None  # the seed's default period of 60, which a cron job has no use for
    body = {"name": name, "description": description, "trigger": trigger, "seconds": seconds,
            "run_date": run_date, "cron": cron, "timezone": timezone, "start_date": start_date, "end_date": end_date,
            "jitter": jitter, "fixed_delay": fixed_delay, "calendars": _names(calendars),
            "flow_id": flow_id, "code": code, "http": http_call, "worker_group": worker_group, "route": route}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def _names(calendars) -> Optional[List[str]]:
    # A string is refused here: the server could only say it is not a list, where a list
    # of one name was meant.
    if calendars is None or isinstance(calendars, (list, tuple)):
        return None if calendars is None else list(calendars)
    raise JobCenterError(0, "invalid", "calendars must be a list of calendar names such as [\"holidays\"], got %r"
                         % (calendars,), "calendars")


# The job-center SDK: exactly the seed's functions and signatures.

# Options beyond the seed's arguments, each optional: the run policy and what follows a run.
_OPTIONS = ("coalesce", "misfire_grace_time", "max_instances", "retries", "retry_backoff", "timeout",
            "pause_after_failures", "on_success", "on_failure", "overlap")


def _options(options: Dict[str, Any]) -> Dict[str, Any]:
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise JobCenterError(0, "invalid", "unknown option %s: want one of %s" % (unknown[0], ", ".join(_OPTIONS)), unknown[0])
    return options


def sdk_add_job(pid, name, description, trigger, seconds=60, run_date=None, flow_id=None, code=None, *,
                cron=None, timezone=None, start_date=None, end_date=None, jitter=None, fixed_delay=None,
                calendars=None, http=None, worker_group=None, route=None, **options) -> dict:
    """Add a job, stopped; return its job info (or the 202 {"status": "accepted"} answer).

    Beyond the seed's "interval" (every seconds) and "date" (once at run_date), trigger
    "cron" fires at the instants of the Quartz expression cron ("0 30 2 ? * MON-FRI": 6 or
    7 fields, second first) read in timezone (an IANA zone such as "America/New_York";
    default the server's JOBCENTER_TZ); its job info's jobParameter shows both. A bad
    expression raises JobCenterError 400 with field "cron", an unknown zone "timezone".

    start_date and end_date bound an interval or cron job's life, each in run_date's forms
    ("2025-07-09 16:00:00" in the server's JOBCENTER_TZ, whatever the cron's timezone, or
    ISO-8601): no fire before the one, none after the other; past its end a started job is
    finished (next_run_time None). An interval still fires every seconds from when it is
    started, only those within. The jobParameter shows them (in the server's local form)
    when set. A bad one raises JobCenterError 400 naming it: end_date not later than
    start_date or than now, or leaving a cron no instant; either given to a date job.

    jitter=N (whole seconds, 0 to 86400) spreads each fire over up to N seconds after its
    instant, by an offset of the job and the instant (the same on every trigger instance,
    in whole milliseconds, short of the next instant): preview and next_run_time show the
    spread times, and the run's journal triggertime is one. The jobParameter shows it when
    set; a bad one raises JobCenterError 400 naming "jitter".

    fixed_delay=True makes an interval job count each fire from the end of its last
    scheduled run instead of its start: the first seconds after the start, each next one
    seconds after the run before it ended (a success, a failure, a skip or a kill);
    next_run_time is None while that run goes on. The jobParameter shows it when set. Given
    to another trigger it raises JobCenterError 400 naming "fixed_delay"; with a
    misfire_grace_time other than 0, naming "misfire_grace_time".

    calendars=[names] (up to 10, each once) names calendars of the project (add_calendar)
    whose excluded times are no fire: next_run_time and preview skip them (a backfill does
    not). The jobParameter shows them when set; a name the project has no calendar of
    raises JobCenterError 400 naming "calendars[i]".

    http={...} makes it an HTTP job, whose runs each make one HTTP call instead of running
    code or a flow: exactly one of code, flow_id and http is given (more raises
    JobCenterError 400 naming "http"). The dict is sent as it is: "url" (http or https,
    with a host and no user or password), and optionally "method" (default "GET", any
    case), "headers" ({name: value}, at most 32; Host, Content-Length, Transfer-Encoding,
    Connection, Upgrade, TE and Trailer are the center's), "body" (a string, at most 64
    KiB) and "expect_status" (a list of statuses 100-599; none: any 2xx). A run succeeds
    when the answer's status is expected, within the job's timeout; its journal exedes
    reads "POST https://… → 200 OK (12ms)" then the answer's first 4 KiB, or, failed,
    starts "HTTP 418, expected 2xx". The center refuses a host beyond its reach
    (JOBCENTER_HTTP_JOBS_REACH; by default public hosts only, no loopback or private
    address). The job info has "http" (for an HTTP job only), the method in upper case and
    the header values masked "***" but for those that carry no credential (Accept,
    Accept-Charset, Accept-Encoding, Accept-Language, Cache-Control, Content-Language,
    Content-Type, If-Match, If-None-Match, User-Agent).
    A bad call raises JobCenterError 400 naming its field ("http.url", "http.method",
    "http.headers.Host", "http.expect_status", "http.body").

    options (extensions of the seed's function): retries, max_instances, timeout, ...,
    pause_after_failures=N (stop after N failed runs in a row), on_success=[ids] and
    on_failure=[ids] (jobs run after a run succeeds or fails), overlap= (what a fire does
    while the job's run goes on: "skip", the default, skipped beyond max_instances;
    "buffer_one", it waits for the run under way and then runs, a further fire skipped;
    "cancel_other", the run under way is killed and it runs; "allow_all", every fire runs
    at once; all but "skip" need max_instances 1, else a 400 naming "max_instances").

    worker_group="reports" makes the job's runs run at the tenant's own workers of that
    group (jobcenter_sdk.worker.Worker, or the Go clients/go/worker): each run of its
    flow_id goes to a worker of the group that handles that name, picked by route:
    "round_robin" (the default, in turn), "random", "consistent_hash" (the same worker
    for the job while the group stays the same), "failover" (the first to have joined
    that takes it), "least_busy" or "sharding" (every worker runs it, each told its
    shard; one journal entry shows each shard's outcome). Only with flow_id (not code or
    http: a 400 naming "worker_group"); route without worker_group is a 400 naming
    "route". While no worker of the group is online a fire waits (its
    misfire_grace_time, else the center's JOBCENTER_WORKER_WAIT). The journal entry of a
    run reads "worker <id> on <host>" then the lines the worker logged. The jobParameter
    shows worker_group and route when set.
    """
    return _jobs("POST", body=_definition(name, description, trigger, seconds, run_date, flow_id, code, cron, timezone,
                                          start_date, end_date, jitter, fixed_delay, calendars, http,
                                          worker_group=worker_group, route=route, pid=pid, **_options(options)))


def sdk_get_job(id) -> dict:
    """Return the job info of a job, by its id or its jobId."""
    return _jobs("GET", _ref(id, "id"))


def sdk_get_jobs() -> list:
    """Return the job info of every job of the project, oldest first."""
    size, page, out = 1000, 1, []  # type: int, int, List[dict]
    while True:
        batch = _jobs("GET", query={"page": page, "size": size}) or []
        out.extend(batch)
        if len(batch) < size:
            return out
        page += 1


def sdk_start_job(job_id) -> dict:
    """Start a job's schedule; return its job info (next_run_time set)."""
    return _jobs("POST", _ref(job_id) + "/start")


def sdk_stop_job(job_id) -> dict:
    """Stop a job's schedule; return its job info (next_run_time null)."""
    return _jobs("POST", _ref(job_id) + "/stop")


def sdk_exec_job(job_id, params: Optional[Dict[str, Any]] = None) -> dict:
    """Run a job once now, its schedule unchanged; return its job info.

    params (an extension of the seed's function): the run's parameters, a dict of at most
    8 KiB as JSON, which the job's code reads as params, a flow receives in its request and
    the journal entry shows. None or {} runs it as the seed's call does.
    """
    if params is None or params == {}:
        return _jobs("POST", _ref(job_id) + "/exec")
    if not isinstance(params, dict):
        raise JobCenterError(0, "invalid", "params must be a dict, got %s" % type(params).__name__, "params")
    return _jobs("POST", _ref(job_id) + "/exec", body={"params": params})


def sdk_update_job(id, name, description, trigger, seconds=60, run_date=None, flow_id=None, code=None, *,
                   cron=None, timezone=None, start_date=None, end_date=None, jitter=None, fixed_delay=None,
                   calendars=None, http=None, worker_group=None, route=None, **options) -> dict:
    """Change a job's definition (its pid is kept); return its job info. The trigger is
    given whole, as on an add: trigger="cron" with cron= (and timezone=, else the server's
    JOBCENTER_TZ, not the job's zone before) makes it a cron job, "interval" or "date" one
    of those again; its lifetime, jitter, fixed delay and calendars too: start_date,
    end_date, jitter, fixed_delay and calendars not given are none (to keep them, pass the
    job info's jobParameter["start_date"], ["end_date"], ["jitter"], ["fixed_delay"] and
    ["calendars"] back). options as for sdk_add_job: those not given are left as they are
    (on_success=[] clears a chain, overlap="skip" restores the default policy).

    http= as for sdk_add_job, given whole (an HTTP job given code or flow_id instead is no
    longer one). The job info's "http" may be passed back as it is: a header sent as
    "***" keeps the value the job has under that name; "***" for a header the job does not
    have raises JobCenterError 400 naming "http.headers.<Name>".

    worker_group= and route= as for sdk_add_job, but like options: not given, the job
    keeps its own; worker_group="" makes its runs the center's again (its route too)."""
    return _jobs("PUT", _ref(id, "id"), body=_definition(name, description, trigger, seconds, run_date, flow_id, code,
                                                         cron, timezone, start_date, end_date, jitter, fixed_delay,
                                                         calendars, http, worker_group=worker_group, route=route,
                                                         **_options(options)))


def sdk_delete_job(job_id) -> dict:
    """Delete a job; return its job info as deleted (next_run_time None)."""
    return _jobs("DELETE", _ref(job_id))


# Beyond the seed's functions.

def get_journal(job_id: str, page: int = 1, size: int = 20) -> dict:
    """Return one page of a job's runs, newest first:
    {"pageIndex", "pageSize", "resultCount", "pageCount", "data": [...]}."""
    return _jobs("GET", _ref(job_id) + "/journal", query={"page": page, "size": size})


def exec_run(job_id, params: Optional[Dict[str, Any]] = None) -> dict:
    """sdk_exec_job, answering the run it started as well: {"fireId": the run's id (its
    journal entry's triggerid, what kill_run takes), "job": the job info}."""
    if params is not None and not isinstance(params, dict):
        raise JobCenterError(0, "invalid", "params must be a dict, got %s" % type(params).__name__, "params")
    got: Dict[str, str] = {}
    body = {"params": params} if params else None
    job = _request("POST", "/api/v1/jobs" + _ref(job_id) + "/exec", body, _project_headers(), None, got)
    fire = next((v for k, v in got.items() if k.lower() == "x-fire-id"), None)
    return {"fireId": fire, "job": job}


def kill_run(job_id: str, run_id: str) -> dict:
    """End one run of a job that has not ended; run_id is its journal entry's triggerid.

    Returns {"triggerid", "status", "killed": {"by", "at"}}: status "killed" (its end is
    stored: failure, with "killed" in its journal entry) or "kill_requested" (it had not
    begun, or its executor did not answer: it is journaled killed when an executor takes
    it). A run that has ended raises JobCenterError 409; one the job does not have, 404.
    """
    if not isinstance(run_id, str) or not run_id:
        raise JobCenterError(0, "invalid", "run_id must be a non-empty string, got %r" % (run_id,), "run")
    return _jobs("POST", _ref(job_id) + "/runs/" + urllib.parse.quote(run_id, safe="") + "/kill")


def get_versions(job_id: str) -> list:
    """Every definition a job has had, newest first: [{version, event, time, user, job}].

    Version 1 is the create; each update, Quartz save or rollback is the next. All are kept.
    """
    return _jobs("GET", _ref(job_id) + "/versions")


def rollback(job_id: str, version: int) -> dict:
    """Make a job's definition version's again, as an update (a new version); return its
    job info. A version the job does not have raises JobCenterError 404."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise JobCenterError(0, "invalid", "version must be a whole number from 1, got %r" % (version,), "version")
    return _jobs("POST", _ref(job_id) + "/versions/%d/rollback" % version)


def export_jobs(pid: Optional[str] = None) -> dict:
    """The project's jobs and Quartz schedules as one document (a dict), for import_jobs
    here or in another center; pid keeps one directory's jobs."""
    return _request("GET", "/api/v1/export", None, _project_headers(), {"pid": pid})


def import_jobs(doc: dict, dry_run: bool = False) -> dict:
    """Make the project's jobs and schedules what an export document says: jobs matched by
    id, schedules by behaviour, each created, changed or left. Returns {dry_run, create,
    change, leave}. A bad document raises JobCenterError 400 naming the first problem
    (field "jobs[3].seconds") and nothing is imported; dry_run only says what would be done.
    """
    if not isinstance(doc, dict):
        raise JobCenterError(0, "invalid", "doc must be a dict (an export document), got %s" % type(doc).__name__, "doc")
    return _request("POST", "/api/v1/import", doc, _project_headers(), {"dry_run": "true" if dry_run else None})


def follow_events(job_id: Optional[str] = None, kinds: Optional[List[str]] = None,
                  timeout: Optional[float] = None) -> Iterator[dict]:
    """Yield the project's live events as they happen, from GET /api/v1/events:
    {"event": kind, "data": payload} with kind "lifecycle", "fire", "run" or "log" (the
    lines a run writes with log_print, as it writes them: data["lines"]). job_id keeps
    one job's (either of its ids); kinds keeps those kinds. Nothing is replayed: the stream is open
    when this returns, so what happens after the call is yielded. The iterator ends when
    the server closes the stream, and raises JobCenterError (code "overflow") when the
    server dropped this reader for falling behind: follow again, and read the journal for
    what was missed. timeout (seconds, default 60) bounds each wait for a line; the
    server's heartbeat comes every 15 s, so a quiet stream does not time out.
    """
    if job_id:
        job_id = sdk_get_job(job_id)["id"]  # either of its ids: events name the job by its id
    url = str(_setting("url", "JOBCENTER_URL", DEFAULT_URL)).rstrip("/") + "/api/v1/events"
    hdrs = {"Accept": "text/event-stream", "User-Agent": _USER_AGENT,
            "X-Project-Id": _setting("project", "JOBCENTER_PROJECT")}
    key = _setting("api_key", "JOBCENTER_API_KEY")
    if key:
        hdrs["Authorization"] = "Bearer " + key
    req = urllib.request.Request(url, headers={k: v for k, v in hdrs.items() if v}, method="GET")
    try:
        resp = _opener.open(req, timeout=timeout if timeout is not None else 60.0)
    except urllib.error.HTTPError as e:
        raw = e.read()
        e.close()
        try:
            decoded = json.loads(raw.decode("utf-8"))
        except ValueError:
            decoded = None
        raise _error(e.code, decoded, raw) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise JobCenterError(0, "unreachable", "GET %s: %s" % (url, getattr(e, "reason", e))) from None
    return _events(resp, job_id, kinds)


def _events(resp, job_id: Optional[str], kinds: Optional[List[str]]) -> Iterator[dict]:
    with resp:
        event, data = "message", []
        try:
            for raw in resp:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith(":"):
                    continue
                if line.startswith("event:"):
                    event = line[len("event:"):].strip()
                    continue
                if line.startswith("data:"):
                    data.append(line[len("data:"):][1:] if line[len("data:"):].startswith(" ") else line[len("data:"):])
                    continue
                if line != "":
                    continue
                # A blank line ends an event (or, without data, resets its name).
                name, text, event, data = event, "\n".join(data), "message", []
                if not text:
                    continue
                try:
                    payload = json.loads(text)
                except ValueError:
                    continue
                if name == "overflow":
                    raise JobCenterError(0, "overflow", "the server dropped this reader for falling behind: follow again")
                if kinds and name not in kinds:
                    continue
                if job_id and isinstance(payload, dict) and payload.get("job_id") != job_id:
                    continue
                yield {"event": name, "data": payload}
        except (socket.timeout, TimeoutError, OSError, http.client.HTTPException) as e:
            raise JobCenterError(0, "unreachable", "GET /api/v1/events: %s" % e) from None


def preview(job_id: str, count: Optional[int] = None) -> dict:
    """Return a job's next fire times after now: {"next": [ISO-8601 strings, oldest first],
    "started": bool}, computed by the server from the schedule its scheduler uses (a
    started job's from its start; a stopped job's as if it were started now, "started"
    False). Each time has the offset of the job's zone (a cron job's timezone, else the
    server's JOBCENTER_TZ); a finished job has none. count is 1-100 (None: the server's
    10); another out of range raises JobCenterError 400 with field "count"."""
    return _jobs("GET", _ref(job_id) + "/preview", query={"count": count})


def backfill(job_id: str, from_: str, to: str, concurrency: Optional[int] = None,
             max_fires: Optional[int] = None) -> dict:
    """Run now, each as if it had fired then, every instant of a job's schedule from from_
    to to (both included): a cron job's instants, a date job's date, an interval job's
    counted from from_ (from_, from_ + seconds, ...), within its lifetime, without jitter.
    from_ and to are in run_date's forms ("2025-07-09 16:00:00" in the server's
    JOBCENTER_TZ, or ISO-8601), to not later than now. The job may be started or stopped;
    its schedule is untouched. Each run is journaled with runtype "backfill" and its
    instant as triggertime, concurrency (1-100, None: 1) at once, oldest first.

    Returns {"id", "fires", "first", "last", "capped", "concurrency"}: the fires stored and
    the first and last instants (in the server's local form); or, when the trigger is away,
    the 202 {"status": "accepted"} answer. A range of more than 10,000 instants raises
    JobCenterError 400 naming "to" unless max_fires (up to 10,000) runs only its first ones
    ("capped" True); one holding no instant names "from", one reaching past now "to".
    """
    for field, value in (("from", from_), ("to", to)):
        if not isinstance(value, str):
            raise JobCenterError(0, "invalid", '%s must be a string like "2025-07-09 16:00:00" or ISO-8601, got %r'
                                 % (field, value), field)
    body = {"from": from_, "to": to, "concurrency": concurrency, "max_fires": max_fires}
    return _jobs("POST", _ref(job_id) + "/backfill", body={k: v for k, v in body.items() if v is not None})


def cron_next(expr: str, tz: Optional[str] = None, from_: Optional[str] = None, count: int = 5) -> List[str]:
    """Return the next fire times of a Quartz cron expression (ISO-8601 strings).

    tz is an IANA zone (default: the server's JOBCENTER_TZ); from_ is ISO-8601 with an
    offset (default: now); count is 1-100.
    """
    answer = _request("GET", "/api/v1/cron/next", query={"expr": expr, "tz": tz, "from": from_, "count": count})
    return answer["next"]


# Alert rules: a project's alerts of runs that failed, timed out, were missed, skipped or
# paused a job, sent to a webhook, a DingTalk, Feishu, WeCom or Slack robot, or e-mail.

# What a read shows of a rule beyond what is written: a rule as read is written back
# without them.
_RULE_READ_ONLY = ("id", "created_at", "updated_at", "created_by")


def _alerts(method: str, path: str = "", body: Any = None, query: Optional[Dict[str, Any]] = None) -> Any:
    return _request(method, "/api/v1/alerts" + path, body, _project_headers(), query)


def _rule_body(rule: Any) -> Dict[str, Any]:
    if not isinstance(rule, dict):
        raise JobCenterError(0, "invalid", "rule must be a dict, got %s" % type(rule).__name__, "rule")
    return {k: v for k, v in rule.items() if k not in _RULE_READ_ONLY}


def get_alert_rules() -> list:
    """Return the project's alert rules, oldest first, their secrets masked: a webhook
    URL past its host ("https://host/***"), a signing secret and header values as "***"."""
    return _alerts("GET")["rules"]


def add_alert_rule(rule: dict) -> dict:
    """Add an alert rule; return it as read (secrets masked), with its "id".

    rule: {"events": [...], "channel": {...}} and optionally "name", "jobs" (job ids or
    jobIds; none: every job of the project), "enabled" (default True) and "throttle"
    ({"after", "within_seconds", "silence_seconds"}: one alert for after events of a job
    within the window, then none for the silence). events are "failure", "timeout",
    "missed", "skipped" and "paused"; channel is {"type": "webhook", "url", "headers"},
    {"type": "dingtalk" or "feishu", "url", "secret"}, {"type": "wecom" or "slack",
    "url"} or {"type": "email", "to": [addresses]}. A broken rule raises JobCenterError
    400 naming the field ("events[1]", "channel.url") and nothing is stored.
    """
    return _alerts("POST", body=_rule_body(rule))


def get_alert_rule(rule_id: str) -> dict:
    """Return one alert rule, its secrets masked; one that does not exist raises
    JobCenterError 404."""
    return _alerts("GET", _ref(rule_id, "rule_id"))


def update_alert_rule(rule_id: str, rule: dict) -> dict:
    """Replace an alert rule whole; return it as read.

    A rule as get_alert_rule returned it may be changed and passed back as it is: its
    id and times are left out, and its secrets, masked, keep the ones stored (on a
    channel of the same type). Fields left out take their defaults, as on an add.
    """
    return _alerts("PUT", _ref(rule_id, "rule_id"), body=_rule_body(rule))


def delete_alert_rule(rule_id: str) -> None:
    """Delete an alert rule; its alerts not yet delivered are not delivered."""
    _alerts("DELETE", _ref(rule_id, "rule_id"))


def test_alert_rule(rule_id: str) -> str:
    """Send an alert of event "test" to the rule's channel (enabled or not); return its
    id, under which get_alert_deliveries shows its outcome a moment later."""
    return _alerts("POST", _ref(rule_id, "rule_id") + "/test")["id"]


def get_alert_deliveries(rule_id: Optional[str] = None, job_id: Optional[str] = None, status: Optional[str] = None,
                         limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
    """Return what became of the project's alerts, newest first:
    {"deliveries": [...], "next_cursor": ...}, next_cursor only when there may be more
    (pass it as cursor for the next page).

    Each delivery: its alert's "id", "rule_id", "event", "job_id" and "triggerid" (the
    run), "channel", "target" (masked), "raised_at", "status" ("delivered", "retrying"
    with the last attempt's "error", or "failed"), "attempts", "last_attempt_at" and
    "delivered_at". rule_id, job_id (the job's id) and status narrow it; limit is 1-500
    (default 50).
    """
    return _alerts("GET", "/deliveries", query={"rule_id": rule_id, "job_id": job_id, "status": status,
                                                "limit": limit, "cursor": cursor})


# Calendars: a project's named calendars of excluded times, which its jobs and Quartz
# schedules name (calendars=): an instant one excludes is no fire.

# What a read shows of a calendar beyond what is written: a calendar as read is written
# back without them.
_CALENDAR_READ_ONLY = ("updated_at", "updated_by")


def _calendars(method: str, path: str = "", body: Any = None) -> Any:
    return _request(method, "/api/v1/calendars" + path, body, _project_headers())


def _calendar_body(calendar: Any) -> Dict[str, Any]:
    if not isinstance(calendar, dict):
        raise JobCenterError(0, "invalid", "calendar must be a dict, got %s" % type(calendar).__name__, "calendar")
    return {k: v for k, v in calendar.items() if k not in _CALENDAR_READ_ONLY}


def get_calendars() -> list:
    """Return the project's calendars, by name (at most 100)."""
    return _calendars("GET")["calendars"]


def add_calendar(calendar: dict) -> dict:
    """Add a calendar; return it as read.

    calendar: {"name": ..., and at least one of "dates": ["2026-10-01", ...] (whole days,
    at most 1,000), "weekly": [{"from": "SAT 00:00", "to": "MON 00:00"}, ...] (windows of
    every week by the wall clock, "to" not excluded, a window may wrap past Sunday; at
    most 100), "ranges": [{"from": "2026-12-24 22:00:00", "to": ...}, ...] (spans in
    run_date's forms, "from" included, "to" not; at most 100) and "cron": a Quartz
    expression whose every matching second is excluded}; optionally "description" and
    "timezone" (an IANA zone its dates, windows and ranges are read in; default the
    server's JOBCENTER_TZ). The name is 1 to 64 letters, digits, "_", "." or "-". Read,
    a calendar has its "timezone", its ranges in its zone ("2026-12-24 22:00:00"),
    "updated_at" and "updated_by". A broken one raises JobCenterError 400 naming the field
    ("dates[1]", "weekly[0].to", "ranges[0].from", "cron", "timezone"); a second of a name,
    or a 101st of the project, 409.
    """
    return _calendars("POST", body=_calendar_body(calendar))


def get_calendar(name: str) -> dict:
    """Return one calendar; one the project does not have raises JobCenterError 404."""
    return _calendars("GET", _ref(name, "name"))


def update_calendar(name: str, calendar: dict) -> dict:
    """Replace a calendar whole; return it as read. A calendar as get_calendar returned
    it may be changed and passed back as it is (its updated_at and updated_by are left
    out). It keeps its name: another raises JobCenterError 400 naming "name". The started
    jobs that name it are rescheduled at once."""
    return _calendars("PUT", _ref(name, "name"), body=_calendar_body(calendar))


def delete_calendar(name: str) -> None:
    """Delete a calendar. While a job or schedule of the project names it, it raises
    JobCenterError 409, whose message names up to ten of them."""
    _calendars("DELETE", _ref(name, "name"))


# Workers: the project's own processes that run its flows (jobcenter_sdk.worker), as the
# registry lists them from their heartbeats.

def get_worker_groups() -> list:
    """Return the project's worker groups with a worker online (GET /api/v1/workers):
    [{"group", "workers": [...]}], each group's workers as get_workers shows them."""
    return _request("GET", "/api/v1/workers", None, _project_headers())["groups"]


def get_workers(group: str) -> list:
    """Return the workers of a group online now (GET /api/v1/workers/{group}), in the
    order they joined; none is an empty list (the group's fires wait). Each:
    {"id", "host", "version", "since", "running", "capacity", "handles",
    "last_heartbeat", "leaving"}. A worker leaves the list once it stops (leaving and
    with no run under way), or when not heard of for 6 seconds. A group name that is
    not 1 to 64 letters, digits, '-' or '_' raises JobCenterError 400."""
    return _request("GET", "/api/v1/workers" + _ref(group, "group"), None, _project_headers())["workers"]


def _quartz(path: str, body: dict, tecode: Optional[str]) -> Any:
    headers = {"tecode": tecode or _setting("tecode", "JOBCENTER_TECODE")}
    answer = _request("POST", "/task/quartz/" + path, body, headers)
    return answer.get("resp_data") if isinstance(answer, dict) else answer


def quartz_save(jobname: str, cronexpression: str, bizcode: str, timezone: Optional[str] = None,
                tecode: Optional[str] = None, calendars: Optional[List[str]] = None,
                worker_group: Optional[str] = None, route: Optional[str] = None) -> dict:
    """Set a behaviour's cron schedule (opttype "save"); return {"group_job_id": ...}.

    A new schedule is enabled; saving the same bizcode again changes it, same id.
    calendars names calendars of the tecode's project (add_calendar, with the tecode as
    project) whose excluded times are no fire (Quartz's modifiedByCalendar); a save without
    them leaves the schedule with none. worker_group has the tecode's workers of that group
    run the behaviour (a handler named by the bizcode: jobcenter_sdk.worker), picked by
    route ("round_robin" when not given); a save without it leaves the schedule with none.
    """
    q = {"opttype": "save", "jobname": jobname, "cronexpression": cronexpression, "bizcode": bizcode}
    if timezone:
        q["timezone"] = timezone
    names = _names(calendars)
    if names:
        q["calendars"] = names
    if worker_group:
        q["worker_group"] = worker_group
    if route:
        q["route"] = route
    return _quartz("bizcronjob", {"xw_quartz": q}, tecode)


def quartz_query_job_status(codes: Union[str, List[str]], jobtype: str = "", tecode: Optional[str] = None) -> list:
    """Return [{"jobinfoid", "cronexpression", "bizcode", "jobstatus"}] for the behaviour
    codes (a comma-separated string or a list) that have a schedule."""
    if not isinstance(codes, str):
        codes = ",".join(codes)
    return _quartz("queryjobstatus", {"codes": codes, "jobtype": jobtype}, tecode)


def quartz_query_journal(jobinfoid: str, pageindex: int = 1, pagesize: int = 10, tecode: Optional[str] = None) -> dict:
    """Return one page of a schedule's runs (opttype "quaryjournal"), newest first:
    {"pageSize", "pageIndex", "resultCount", "pageCount", "data": [...]}."""
    q = {"opttype": "quaryjournal", "jobinfoid": jobinfoid, "pageindex": pageindex, "pagesize": pagesize}
    return _quartz("bizcronjob", {"xw_quartz": q}, tecode)["quartz_list"]


quartz_quaryjournal = quartz_query_journal  # the seed's spelling


def _quartz_op(opttype: str, jobinfoid: str, tecode: Optional[str]) -> dict:
    return _quartz("bizcronjob", {"xw_quartz": {"opttype": opttype, "jobinfoid": jobinfoid}}, tecode)


def quartz_enable(jobinfoid: str, tecode: Optional[str] = None) -> dict:
    """Enable a schedule; return {"jobinfoid", "jobstatus"}."""
    return _quartz_op("enable", jobinfoid, tecode)


def quartz_disable(jobinfoid: str, tecode: Optional[str] = None) -> dict:
    """Disable a schedule; return {"jobinfoid", "jobstatus"}."""
    return _quartz_op("disable", jobinfoid, tecode)


def quartz_delete(jobinfoid: str, tecode: Optional[str] = None) -> dict:
    """Delete a schedule; return {"jobinfoid", "deleted": true}."""
    return _quartz_op("delete", jobinfoid, tecode)


def quartz_trigger(jobinfoid: str, tecode: Optional[str] = None) -> dict:
    """Run a schedule's behaviour once now; return {"jobinfoid", "jobstatus", "triggerid"}."""
    return _quartz_op("trigger", jobinfoid, tecode)
