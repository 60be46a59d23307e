"""Job Center workers in Python: run a tenant's flows and Quartz behaviours in the
tenant's own process. A worker joins a worker group of the tenant, and the center hands
it the fires of the jobs that name the group (worker_group=) by each job's route.

    from jobcenter_sdk.worker import Worker

    w = Worker(url="nats://127.0.0.1:4222", tenant="P", key=None, group="reports")

    @w.handle("daily-report")
    def daily(task):
        task.log("building the report for " + task.scheduled_at[:10])
        return {"rows": 42}

    w.run()  # until w.stop(), SIGTERM or Ctrl-C; then the runs under way finish

The same protocol as the Go library (clients/go/worker), on the center's NATS with the
standard library only (jobcenter_sdk._nats): a heartbeat every 2 s on
jobcenter.workers.<tenant>.<group>.<id> (a worker not heard of for 6 s has left its
group, and a run it had under way is journaled interrupted); tasks as requests on
jobcenter.task.<tenant>.<id>, each answered with the run's end; the run's log lines and
progress on the subject its task names; stops on jobcenter.task.<tenant>.<id>.cancel.

A handler takes a Task and returns the run's result (any JSON value, or None); an
exception fails the run with its message (the traceback is in the run's log). Python
cannot stop a thread: when the center stops a run (killed, or its time is up) the task's
cancelled turns True and task.wait() returns early; a long handler checks them and
returns. Each run has its own thread, up to capacity at once.

The connection to NATS reconnects by itself after a drop (a run's end sent meanwhile is
sent once it is back, up to 8 MiB); see jobcenter_sdk._nats.
"""

import base64
import datetime
import json
import logging
import os
import re
import secrets
import signal
import socket
import threading
import traceback
from typing import Any, Callable, Dict, List, Optional

from . import __version__
from ._nats import Connection, Msg

__all__ = ["Worker", "Task", "token", "BEAT_EVERY", "GONE_AFTER"]

log = logging.getLogger("jobcenter_sdk.worker")

BEAT_EVERY = 2.0  # seconds between heartbeats
GONE_AFTER = 3 * BEAT_EVERY  # a worker not heard of for this long has left its group

_GROUP = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PLAIN = re.compile(r"[A-Za-z0-9_-]+")


def token(s: str) -> str:
    """A tenant, group or worker id as one token of a subject (contracts.Token): a value
    of only ASCII letters, digits, '-' and '_' stands as it is; another is '=' and its
    UTF-8 in unpadded base64url."""
    if s and _PLAIN.fullmatch(s):
        return s
    return "=" + base64.urlsafe_b64encode(s.encode("utf-8")).decode().rstrip("=")


def _now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(v: Any) -> bytes:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Task:
    """A run handed to the worker (one shard of a sharded run).

    job_id, fire_id, run_id; handler (the flow or behaviour); attempt (the run's try,
    from 1); scheduled_at (the fire's instant, RFC 3339); params (the run's parameters,
    as decoded JSON, or None); shard ({"index", "total"} on a sharded run, else None);
    timeout (seconds the run may take); tenant.
    """

    def __init__(self, worker: "Worker", t: Dict[str, Any]):
        self.tenant: str = t.get("tenant", "")
        self.job_id: str = t.get("job_id", "")
        self.fire_id: str = t.get("fire_id", "")
        self.run_id: str = t.get("run_id", "")
        self.attempt: int = int(t.get("attempt") or 1)
        self.handler: str = t.get("handler", "")
        self.scheduled_at: str = t.get("scheduled_at", "")
        self.params: Any = t.get("params")
        self.shard: Optional[Dict[str, int]] = t.get("shard")
        timeout_ms = int(t.get("timeout_ms") or 0)
        self.timeout: float = timeout_ms / 1000.0 if timeout_ms > 0 else 3600.0
        self._progress_subject: str = t.get("progress", "")
        self._worker = worker
        self._lock = threading.Lock()
        self._lines: List[str] = []
        self._cancelled = threading.Event()
        self.cancel_reason: Optional[str] = None

    def log(self, line: str) -> None:
        """Add a line to the run's log: the journal shows it, and it is followed live."""
        line = str(line)
        with self._lock:
            self._lines.append(line)
        self._send({"v": 1, "fire_id": self.fire_id, "run_id": self.run_id, "lines": [line]})

    def progress(self, done: float) -> None:
        """Say how far the run is, from 0 to 1."""
        done = min(max(float(done), 0.0), 1.0)
        self._send({"v": 1, "fire_id": self.fire_id, "run_id": self.run_id, "progress": done})

    @property
    def cancelled(self) -> bool:
        """True once the center stopped the run (it was killed, or its time is up): return."""
        return self._cancelled.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to seconds, waking when the run is stopped; return cancelled."""
        return self._cancelled.wait(seconds)

    def _cancel(self, reason: str) -> None:
        if not self._cancelled.is_set():
            self.cancel_reason = reason
            self._cancelled.set()

    def _send(self, p: Dict[str, Any]) -> None:
        if not self._progress_subject:
            return
        try:
            self._worker._nc.publish(self._progress_subject, _json(p))
        except Exception as e:  # the log is the run's; the run goes on
            log.debug("progress not sent: %s", e)

    def _output(self) -> str:
        with self._lock:
            return "\n".join(self._lines)


Handler = Callable[[Task], Any]


class Worker:
    """A worker of tenant's group; handle() each flow or behaviour, then run().

    url is the center's NATS (nats://host:4222); key the tenant's API key, its NATS
    password (user: the tenant) when the center has NATS authentication on. capacity is
    how many runs it makes at once (a run past it goes to another worker of the group);
    host and version are what the registry shows of it (default: the host name, the
    SDK's version).
    """

    def __init__(self, url: str, tenant: str, group: str, key: Optional[str] = None, capacity: int = 8,
                 host: Optional[str] = None, version: Optional[str] = None):
        if not url:
            raise ValueError("worker: url is required (the center's NATS, nats://host:4222)")
        if not tenant:
            raise ValueError("worker: tenant is required")
        if not isinstance(group, str) or not _GROUP.fullmatch(group):
            raise ValueError("worker: group %r must be 1 to 64 letters, digits, '-' or '_'" % (group,))
        self.url, self.tenant, self.group, self.key = url, tenant, group, key or None
        self.capacity = capacity if capacity and capacity > 0 else 8
        self.host = host if host is not None else socket.gethostname()
        self.version = version if version is not None else "jobcenter-sdk-python " + __version__
        self.id = secrets.token_hex(8)
        self.since = ""
        #: Set once the worker has joined its group (its first heartbeat is sent).
        self.joined = threading.Event()
        self._handlers: Dict[str, Handler] = {}
        self._nc: Optional[Connection] = None
        self._lock = threading.Lock()
        self._running: Dict[str, Task] = {}  # by run id (and shard)
        self._leaving = False
        self._stop = threading.Event()
        self._idle = threading.Condition(self._lock)

    def handle(self, name: str, fn: Optional[Handler] = None):
        """Run fn(task) for the runs of the flow or behaviour name; without fn, a decorator."""
        if not name:
            raise ValueError("worker: a handler needs a name (the flow_id or bizcode)")
        if fn is None:
            def deco(f: Handler) -> Handler:
                self._handlers[name] = f
                return f
            return deco
        self._handlers[name] = fn
        return fn

    def stop(self) -> None:
        """Make run() leave the group: it takes no new run, lets those under way end, and
        returns. Safe from any thread or a signal handler."""
        self._stop.set()

    def run(self) -> None:
        """Connect, join the group and run what is handed over until stop(), SIGTERM or
        Ctrl-C (SIGTERM and SIGINT are taken only when called from the main thread);
        then leave the group: no new run is taken, the runs under way end (the worker
        keeps beating meanwhile, so they are not taken for interrupted), and it returns."""
        if not self._handlers:
            raise ValueError("worker: nothing to run: handle a flow or behaviour first")
        restore = self._take_signals()
        try:
            self._run()
        finally:
            for sig, old in restore:
                signal.signal(sig, old)

    def _take_signals(self):
        if threading.current_thread() is not threading.main_thread():
            return []
        def on_signal(signum, frame):
            if self._stop.is_set():  # a second one: stop now, runs under way or not
                raise KeyboardInterrupt
            self.stop()

        restore = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            restore.append((sig, signal.getsignal(sig)))
            signal.signal(sig, on_signal)
        return restore

    def _run(self) -> None:
        self._nc = nc = Connection(self.url, user=self.tenant if self.key else None, password=self.key,
                                   name="jobcenter-worker " + self.id)
        try:
            self.since = _now_rfc3339()
            task_subject = "jobcenter.task.%s.%s" % (token(self.tenant), token(self.id))
            tasks = nc.subscribe(task_subject, self._take)
            cancels = nc.subscribe(task_subject + ".cancel", self._cancel)
            nc.flush()  # the subscriptions are in place before the first beat makes it known
            self._beat()
            nc.flush()
            self.joined.set()
            while not self._stop.wait(BEAT_EVERY):
                self._beat()
            with self._lock:
                self._leaving = True
            nc.unsubscribe(tasks)
            self._beat()  # says it is leaving: no new run comes
            while True:
                with self._lock:
                    if not self._running:
                        break
                    self._idle.wait(BEAT_EVERY)
                    if not self._running:
                        break
                self._beat()
            nc.unsubscribe(cancels)
            self._beat()  # leaving with no run under way: gone from the registry at once
            nc.flush()
        finally:
            nc.close()

    def _beat(self) -> None:
        with self._lock:
            b = {"v": 1, "id": self.id, "group": self.group, "handles": sorted(self._handlers),
                 "host": self.host, "version": self.version, "since": self.since,
                 "running": len(self._running), "capacity": self.capacity}
            if self._leaving:
                b["leaving"] = True
        for k in ("host", "version"):
            if not b[k]:
                del b[k]
        subject = "jobcenter.workers.%s.%s.%s" % (token(self.tenant), token(self.group), token(self.id))
        try:
            self._nc.publish(subject, _json(b))
        except Exception as e:
            log.warning("worker %s: heartbeat not sent: %s", self.id, e)

    def _answer(self, msg: Msg, res: Dict[str, Any]) -> None:
        if not msg.reply:
            return
        try:
            self._nc.publish(msg.reply, _json(res))
        except Exception as e:
            log.warning("worker %s: a run's end not sent: %s", self.id, e)

    def _take(self, msg: Msg) -> None:
        try:
            t = json.loads(msg.data.decode("utf-8"))
            if not isinstance(t, dict):
                raise ValueError("not an object")
        except ValueError as e:
            self._answer(msg, {"v": 1, "ok": False, "error": "the task is not one: %s" % e})
            return
        fn = self._handlers.get(t.get("handler", ""))
        key = t.get("run_id", "")
        shard = t.get("shard")
        if isinstance(shard, dict):
            key = "%s-%s" % (key, shard.get("index", 0))
        with self._lock:
            if fn is None or self._leaving or len(self._running) >= self.capacity or key in self._running:
                busy = True
            else:
                busy = False
                task = Task(self, t)
                self._running[key] = task
        if busy:
            self._answer(msg, {"v": 1, "ok": False, "busy": True})
            return
        threading.Thread(target=self._run_task, args=(msg, fn, task, key), name="jobcenter-run " + key,
                         daemon=True).start()

    def _run_task(self, msg: Msg, fn: Handler, task: Task, key: str) -> None:
        timer = threading.Timer(task.timeout, task._cancel, args=("its time limit",))
        timer.daemon = True
        timer.start()
        try:
            res = self._call(fn, task)
        finally:
            timer.cancel()
            with self._lock:
                self._running.pop(key, None)
                self._idle.notify_all()
        self._answer(msg, res)

    @staticmethod
    def _call(fn: Handler, task: Task) -> Dict[str, Any]:
        res: Dict[str, Any] = {"v": 1, "ok": False}
        try:
            value = fn(task)
        except BaseException as e:  # a handler's failure is its run's, whatever it raised
            res["error"] = str(e) or type(e).__name__
            if task.cancelled:
                res["error"] += " (stopped by the center: %s)" % task.cancel_reason
            with task._lock:
                task._lines.extend(traceback.format_exc().rstrip("\n").split("\n"))
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                log.warning("worker: handler %s raised %s", task.handler, type(e).__name__)
        else:
            res["ok"] = True
            if value is not None:
                try:
                    res["result"] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
                except (TypeError, ValueError) as e:
                    res["ok"], res["error"] = False, "the result is not JSON: %s" % e
        output = task._output()
        if output:
            res["output"] = output
        return res

    def _cancel(self, msg: Msg) -> None:
        try:
            c = json.loads(msg.data.decode("utf-8"))
            run_id = c["run_id"]
        except (ValueError, KeyError, TypeError):
            return
        reason = str(c.get("reason") or "")
        with self._lock:
            hit = [t for k, t in self._running.items() if k == run_id or k.startswith(run_id + "-")]
        for t in hit:
            t._cancel(reason)


def main() -> None:  # pragma: no cover - a tiny demo: python -m jobcenter_sdk.worker
    logging.basicConfig(level=logging.INFO)
    w = Worker(url=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"), tenant=os.environ.get("JOBCENTER_TENANT", ""),
               key=os.environ.get("JOBCENTER_API_KEY"), group=os.environ.get("JOBCENTER_GROUP", "reports"))

    @w.handle("hello")
    def hello(task: Task) -> Any:
        task.log("hello from %s, run %s" % (w.id, task.run_id))
        return {"worker": w.id}

    def say_joined() -> None:
        if w.joined.wait(30):
            print("worker %s joined group %s" % (w.id, w.group), flush=True)

    threading.Thread(target=say_joined, daemon=True).start()
    w.run()


if __name__ == "__main__":  # pragma: no cover
    main()
