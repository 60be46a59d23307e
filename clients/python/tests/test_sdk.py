"""Tests of jobcenter_sdk against a live Job Center (e.g. `make run`).

Settings come from the environment, as the SDK reads them: JOBCENTER_URL (required, else
every test is skipped), JOBCENTER_PROJECT, JOBCENTER_USER, JOBCENTER_API_KEY and
JOBCENTER_TECODE. When the server has keys on, JOBCENTER_TEST_TECODE_KEY is the key of
the tecode tenant (the Quartz tests use it). JOBCENTER_NATS_URL is the center's NATS (the
worker tests run tests/py_worker.py as workers of the project). The tests of the NATS
client (NatsProtocolTest) need no server. Run: python3 -m unittest -v tests/test_sdk.py
"""

import datetime
import json
import os
import re
import socket
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import jobcenter_sdk as sdk  # noqa: E402
from jobcenter_sdk import JobCenterError  # noqa: E402

LIVE = bool(os.environ.get("JOBCENTER_URL"))
PID = "d1138d88-49ec-11f0-b168-c6ee2c8e08e7"
JOB_INFO_KEYS = {"code", "createTime", "createUser", "dataLevel", "description", "flowId", "id", "jobId",
                 "jobParameter", "name", "next_run_time", "pid", "projectId", "updateTime", "updateUser"}
PARAM_KEYS = {"coalesce", "code", "id", "project_id", "replace_existing", "run_date", "seconds", "trigger"}


def eventually(cond, timeout=10.0, what="condition"):
    """Poll cond until it returns a true value, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("after %ss: %s" % (timeout, what))
        time.sleep(0.05)


def future(hours=48):
    """A run_date in ISO-8601 UTC, later than now."""
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def interval_job(name="SDK周期任务", seconds=300):
    return sdk.sdk_add_job(PID, name, name + ", description", "interval", seconds=seconds,
                           code='log_print("周期任务", "INFO")')


class Base(unittest.TestCase):
    def setUp(self):
        if not LIVE:
            self.skipTest("JOBCENTER_URL is not set: these tests need a live Job Center")
        sdk.configure(url=None, project=None, user=None, api_key=None, tecode=None, timeout=None)
        self.addCleanup(sdk.configure, url=None, project=None, user=None, api_key=None, tecode=None, timeout=None)


class JobCenterTest(Base):
    def test_every_sdk_function_in_the_seeds_shapes(self):
        user = os.environ.get("JOBCENTER_USER")
        added = interval_job()
        self.assertEqual(set(added), JOB_INFO_KEYS)
        self.assertEqual(set(added["jobParameter"]), PARAM_KEYS)
        jid, key = added["id"], added["jobId"]
        self.assertNotEqual(jid, key)
        self.assertIsNone(added["next_run_time"])
        self.assertEqual(added["dataLevel"], "normal")
        self.assertEqual(added["pid"], PID)
        self.assertEqual(added["projectId"], os.environ.get("JOBCENTER_PROJECT"))
        self.assertEqual(added["createUser"], user)
        self.assertEqual(added["code"], 'log_print("周期任务", "INFO")')
        self.assertIsNone(added["flowId"])
        p = added["jobParameter"]
        self.assertEqual((p["trigger"], p["seconds"], p["run_date"], p["id"], p["coalesce"], p["replace_existing"]),
                         ("interval", 300, None, key, True, True))
        datetime.datetime.strptime(added["createTime"], "%Y-%m-%d %H:%M:%S")

        dated = sdk.sdk_add_job(PID, "SDK定时任务", "SDK定时任务,description", "date", run_date=future(),
                                code='log_print("定时任务", "INFO")')
        self.assertEqual(dated["jobParameter"]["trigger"], "date")
        self.assertIsNotNone(dated["jobParameter"]["run_date"])
        flow = sdk.sdk_add_job(PID, "流程任务", "", "interval", flow_id="b4972d68-49ec-11f0-bbb5-c6ee2c8e08e7")
        self.assertEqual((flow["flowId"], flow["code"]), ("b4972d68-49ec-11f0-bbb5-c6ee2c8e08e7", None))

        self.assertEqual(sdk.sdk_get_job(jid), added)
        self.assertEqual(sdk.sdk_get_job(key)["id"], jid)
        jobs = sdk.sdk_get_jobs()
        self.assertIsInstance(jobs, list)
        ids = [j["id"] for j in jobs]
        self.assertLess(ids.index(jid), ids.index(dated["id"]))
        self.assertLess(ids.index(dated["id"]), ids.index(flow["id"]))

        started = sdk.sdk_start_job(key)
        self.assertIsNotNone(started["next_run_time"])
        self.assertEqual(sdk.sdk_exec_job(jid)["id"], jid)
        page = eventually(lambda: (lambda p: p if p["data"] and p["data"][0]["exestatus"] in ("success", "failure")
                                   else None)(sdk.get_journal(jid)), what="the manual run in the journal")
        run = page["data"][0]
        self.assertEqual((run["runtype"], run["exestatus"], run["jobinfoid"]), ("manual", "success", jid))
        self.assertIn("周期任务", run["exedes"])
        self.assertEqual((page["pageIndex"], page["pageSize"], page["resultCount"], page["pageCount"]), (1, 20, 1, 1))
        past = sdk.get_journal(jid, page=3, size=1)
        self.assertEqual((past["data"], past["resultCount"], past["pageCount"]), ([], 1, 1))

        stopped = sdk.sdk_stop_job(key)
        self.assertIsNone(stopped["next_run_time"])

        updated = sdk.sdk_update_job(jid, "新SDK周期任务", "新SDK周期任务, description", "interval", seconds=400,
                                     code='print_log("周期任务", "INFO")')
        self.assertEqual((updated["name"], updated["jobParameter"]["seconds"], updated["pid"], updated["code"]),
                         ("新SDK周期任务", 400, PID, 'print_log("周期任务", "INFO")'))
        self.assertEqual(updated["updateUser"], user)
        moved = sdk.sdk_update_job(dated["id"], "新SDK定时任务", "", "date", run_date=future(72), code="x = 1")
        self.assertEqual(moved["jobParameter"]["trigger"], "date")

        for j in (added, dated, flow):
            gone = sdk.sdk_delete_job(j["jobId"])
            self.assertEqual(gone["id"], j["id"])
            with self.assertRaises(JobCenterError) as cm:
                sdk.sdk_get_job(j["id"])
            self.assertEqual((cm.exception.status, cm.exception.code), (404, "not_found"))
        self.assertNotIn(jid, [j["id"] for j in sdk.sdk_get_jobs()])

    def test_a_run_now_with_params_hands_them_to_its_code_and_journals_them(self):
        j = sdk.sdk_add_job(PID, "参数任务", "", "interval", seconds=3600,
                            code='log_print("day " + params["day"])\nreturn params.get("n", 0) + 1')
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        sdk.sdk_exec_job(j["id"], params={"day": "2026-12-01", "n": 41})
        page = eventually(lambda: (lambda p: p if p["data"] and p["data"][0]["exestatus"] in ("success", "failure")
                                   else None)(sdk.get_journal(j["id"])), what="the run with params in the journal")
        run = page["data"][0]
        self.assertEqual((run["exestatus"], run["params"]), ("success", {"day": "2026-12-01", "n": 41}))
        self.assertIn("day 2026-12-01", run["exedes"])
        self.assertIn("return 42", run["exedes"])
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_exec_job(j["id"], params=["not", "a", "dict"])
        self.assertEqual((cm.exception.code, cm.exception.field), ("invalid", "params"))
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_exec_job(j["id"], params={"s": "x" * 9000})
        self.assertEqual((cm.exception.status, cm.exception.field), (400, "params"))

    def test_a_run_under_way_is_killed_once_and_a_runs_lines_are_followed_live(self):
        # The center's flows go to JOBCENTER_FLOW_URL, where the test's runner holds flow
        # "hold" until its request is abandoned.
        j = sdk.sdk_add_job(PID, "长任务", "", "interval", seconds=3600, flow_id="hold")
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        started = sdk.exec_run(j["jobId"])
        self.assertEqual(started["job"]["id"], j["id"])
        self.assertTrue(started["fireId"].startswith(j["id"] + "@"), started)
        run = eventually(lambda: (lambda p: p["data"][0] if p["data"] and p["data"][0]["exestatus"] == "running"
                                  else None)(sdk.get_journal(j["id"])), what="the flow's run under way")
        self.assertEqual(run["triggerid"], started["fireId"])
        killed = sdk.kill_run(j["id"], run["triggerid"])
        self.assertEqual((killed["triggerid"], killed["status"]), (run["triggerid"], "killed"))
        self.assertEqual(killed["killed"].get("by"), os.environ.get("JOBCENTER_USER"))
        entry = eventually(lambda: (lambda p: p["data"][0] if p["data"][0]["exestatus"] == "failure" else None)(
            sdk.get_journal(j["id"])), what="the killed run in the journal")
        self.assertEqual(entry["killed"], killed["killed"])
        self.assertTrue(entry["exedes"].startswith("killed by "), entry["exedes"])
        self.assertEqual(entry["exetotaltime"], 1)
        with self.assertRaises(JobCenterError) as cm:
            sdk.kill_run(j["id"], run["triggerid"])
        self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.field), (409, "conflict", "run"))
        with self.assertRaises(JobCenterError) as cm:
            sdk.kill_run(j["id"], j["id"] + "@no-such-run")
        self.assertEqual((cm.exception.status, cm.exception.field), (404, "run"))

        chatty = sdk.sdk_add_job(PID, "日志任务", "", "interval", seconds=3600,
                                 code='for i in range(3):\n    log_print("第 %d 行" % i)')
        self.addCleanup(sdk.sdk_delete_job, chatty["id"])
        events = sdk.follow_events(job_id=chatty["jobId"], kinds=["log"])
        sdk.sdk_exec_job(chatty["id"])
        lines = []
        for ev in events:
            self.assertEqual(ev["event"], "log")
            lines += ev["data"]["lines"]
            if len(lines) >= 3:
                break
        self.assertEqual(lines, ["INFO 第 0 行", "INFO 第 1 行", "INFO 第 2 行"])

    def test_versions_roll_back_and_an_export_imports_as_it_is(self):
        j = sdk.sdk_add_job(PID, "版本任务", "", "interval", seconds=300, code="x = 1")
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        sdk.sdk_update_job(j["id"], "版本任务 2", "", "interval", seconds=600, code="x = 2")
        versions = sdk.get_versions(j["id"])
        self.assertEqual([(v["version"], v["event"], v["job"]["name"]) for v in versions],
                         [(2, "updated", "版本任务 2"), (1, "created", "版本任务")])
        back = sdk.rollback(j["id"], 1)
        self.assertEqual((back["name"], back["jobParameter"]["seconds"]), ("版本任务", 300))
        self.assertEqual(len(sdk.get_versions(j["id"])), 3)
        with self.assertRaises(JobCenterError) as cm:
            sdk.rollback(j["id"], 9)
        self.assertEqual((cm.exception.status, cm.exception.field), (404, "version"))

        doc = sdk.export_jobs(pid=PID)
        self.assertEqual(doc["kind"], "jobcenter.export")
        self.assertIn(j["id"], [e["id"] for e in doc["jobs"]])
        dry = sdk.import_jobs(doc, dry_run=True)
        self.assertTrue(dry["dry_run"])
        self.assertEqual((dry["create"], dry["change"]), ([], []))
        bad = json.loads(json.dumps(doc))
        bad["jobs"][0]["trigger"] = "weekly"
        with self.assertRaises(JobCenterError) as cm:
            sdk.import_jobs(bad)
        self.assertEqual((cm.exception.status, cm.exception.field), (400, "jobs[0].trigger"))

    def test_a_child_job_runs_after_its_parent_naming_the_run_that_started_it(self):
        child = sdk.sdk_add_job(PID, "子任务", "", "interval", seconds=3600, code="return 2")
        self.addCleanup(sdk.sdk_delete_job, child["id"])
        parent = sdk.sdk_add_job(PID, "父任务", "", "interval", seconds=3600, code="return 1",
                                 on_success=[child["id"]], pause_after_failures=3)
        self.addCleanup(sdk.sdk_delete_job, parent["id"])
        self.assertEqual((parent["jobParameter"]["on_success"], parent["jobParameter"]["pause_after_failures"]),
                         ([child["id"]], 3))
        sdk.sdk_exec_job(parent["id"])
        run = eventually(lambda: (lambda p: p["data"][0] if p["data"] and p["data"][0]["exestatus"] == "success"
                                  else None)(sdk.get_journal(child["id"])), what="the child's run")
        self.assertEqual((run["runtype"], run["parent"]["jobinfoid"]), ("chain", parent["id"]))
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_update_job(child["id"], "子任务", "", "interval", seconds=3600, code="return 2", on_success=[parent["id"]])
        self.assertEqual((cm.exception.status, cm.exception.field), (409, "on_success[0]"))
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_add_job(PID, "x", "", "interval", code="x = 1", on_sucess=[child["id"]])
        self.assertEqual(cm.exception.field, "on_sucess")

    def test_a_job_that_does_not_exist_is_a_404(self):
        for call in (lambda: sdk.sdk_get_job("no-such-job"), lambda: sdk.sdk_start_job("no-such-job"),
                     lambda: sdk.sdk_stop_job("no-such-job"), lambda: sdk.sdk_exec_job("no-such-job"),
                     lambda: sdk.sdk_delete_job("no-such-job"), lambda: sdk.get_journal("no-such-job"),
                     lambda: sdk.sdk_update_job("no-such-job", "n", "", "interval", code="x = 1")):
            with self.assertRaises(JobCenterError) as cm:
                call()
            e = cm.exception
            self.assertEqual((e.status, e.code, e.message), (404, "not_found", "job not found"))
            self.assertIn("404", str(e))
            self.assertEqual(e.body, {"error": {"code": "not_found", "message": "job not found"}})

    def test_a_broken_rule_is_a_400_naming_the_field(self):
        cases = [
            ("seconds", dict(trigger="interval", seconds=0, code="x = 1")),
            ("run_date", dict(trigger="date", run_date="2020-01-01 00:00:00", code="x = 1")),
            ("run_date", dict(trigger="date", code="x = 1")),
            ("cron", dict(trigger="cron", code="x = 1")),
            ("cron", dict(trigger="cron", cron="0 61 * * * ?", code="x = 1")),
            ("timezone", dict(trigger="cron", cron="0 0 * * * ?", timezone="Mars/Base", code="x = 1")),
            ("trigger", dict(trigger="weekly", code="x = 1")),
            ("code", dict(trigger="interval")),
            ("flow_id", dict(trigger="interval", code="x = 1", flow_id="f")),
            ("http", dict(trigger="interval", code="x = 1", http={"url": "https://example.com/"})),
            ("http", dict(trigger="interval", flow_id="f", http={"url": "https://example.com/"})),
            ("http.url", dict(trigger="interval", http={"url": "ftp://example.com/"})),
            ("http.method", dict(trigger="interval", http={"method": "FETCH", "url": "https://example.com/"})),
        ]
        before = len(sdk.sdk_get_jobs())
        for field, kw in cases:
            trigger = kw.pop("trigger")
            with self.assertRaises(JobCenterError) as cm:
                sdk.sdk_add_job(PID, "坏任务", "", trigger, **kw)
            e = cm.exception
            self.assertEqual((e.status, e.code, e.field), (400, "invalid", field), str(e))
            self.assertTrue(e.message)
            self.assertIn("field " + field, str(e))
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_add_job("", "n", "", "interval", code="x = 1")
        self.assertEqual(cm.exception.field, "pid")
        self.assertEqual(len(sdk.sdk_get_jobs()), before, "a rejected add stored nothing")

    def test_a_cron_job_in_its_own_zone_and_its_preview(self):
        import zoneinfo
        ny = zoneinfo.ZoneInfo("America/New_York")
        j = sdk.sdk_add_job(PID, "cron 任务", "", "cron", cron="0 30 2 ? * MON-FRI", timezone="America/New_York",
                            code="return 1")
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        p = j["jobParameter"]
        self.assertEqual(set(p), PARAM_KEYS | {"cron", "timezone"})
        self.assertEqual((p["trigger"], p["cron"], p["timezone"], p["seconds"], p["run_date"]),
                         ("cron", "0 30 2 ? * MON-FRI", "America/New_York", None, None))
        self.assertEqual(sdk.sdk_get_job(j["jobId"]), j)

        # Stopped: the times as if it were started now; in order, at 02:30 on weekdays in
        # New York, each with New York's offset on its day.
        before = datetime.datetime.now(datetime.timezone.utc)
        pv = sdk.preview(j["id"], count=7)
        self.assertEqual((set(pv), pv["started"], len(pv["next"])), ({"next", "started"}, False, 7))
        times = [datetime.datetime.fromisoformat(s) for s in pv["next"]]
        self.assertEqual(times, sorted(set(times)))
        self.assertGreater(times[0], before)
        for t in times:
            local = t.astimezone(ny)
            self.assertEqual((local.hour, local.minute, local.second), (2, 30, 0), t)
            self.assertLess(local.weekday(), 5, t)
            self.assertEqual(t.utcoffset(), local.utcoffset(), "%s is not in New York's offset" % t)
        self.assertEqual(len(sdk.preview(j["jobId"])["next"]), 10)
        sdk.sdk_start_job(j["id"])
        started = sdk.preview(j["id"], count=1)
        self.assertEqual((started["started"], started["next"]), (True, pv["next"][:1]))

        # An interval, then a cron again in the server's zone (the trigger is given whole).
        iv = sdk.sdk_update_job(j["id"], "cron 任务", "", "interval", seconds=600, code="return 1")["jobParameter"]
        self.assertEqual((iv["trigger"], iv["seconds"], "cron" in iv, "timezone" in iv), ("interval", 600, False, False))
        back = sdk.sdk_update_job(j["id"], "cron 任务", "", "cron", cron="0 0 9 ? * MON", code="return 1")["jobParameter"]
        self.assertEqual((back["trigger"], back["cron"], back["seconds"]), ("cron", "0 0 9 ? * MON", None))
        self.assertTrue(back["timezone"])

        # Refused, naming the field; nothing changes.
        for field, call in (
                ("cron", lambda: sdk.sdk_update_job(j["id"], "x", "", "cron", cron="*/5 * * * *", code="x = 1")),
                ("cron", lambda: sdk.sdk_update_job(j["id"], "x", "", "cron", cron="0 0 0 1 1 ? 2020", code="x = 1")),
                ("timezone", lambda: sdk.sdk_update_job(j["id"], "x", "", "cron", cron="0 0 9 ? * MON", timezone="Nowhere",
                                                        code="x = 1")),
                ("count", lambda: sdk.preview(j["id"], count=101))):
            with self.assertRaises(JobCenterError) as cm:
                call()
            self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.field), (400, "invalid", field),
                             str(cm.exception))
        self.assertEqual(sdk.sdk_get_job(j["id"])["jobParameter"]["cron"], "0 0 9 ? * MON")
        with self.assertRaises(JobCenterError) as cm:
            sdk.preview("no-such-job")
        self.assertEqual(cm.exception.status, 404)
        # A zone or expression with another trigger would be dropped by the server: refused here.
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_add_job(PID, "x", "", "interval", code="x = 1", timezone="UTC")
        self.assertEqual((cm.exception.status, cm.exception.field), (0, "timezone"))

    def test_a_lifetime_bounds_a_jobs_fires_its_preview_and_is_refused_naming_its_field(self):
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        start, end = now + datetime.timedelta(minutes=30), now + datetime.timedelta(hours=2)
        iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
        j = sdk.sdk_add_job(PID, "限期任务", "", "interval", seconds=600, code="return 1",
                            start_date=iso(start), end_date=iso(end))
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        p = j["jobParameter"]
        self.assertEqual(set(p), PARAM_KEYS | {"start_date", "end_date"})
        self.assertEqual(sdk.sdk_get_job(j["jobId"])["jobParameter"], p)

        # The preview stops at the end: an interval fires every 600 s from now (stopped: as
        # if started now), only those within; fewer than asked for.
        pv = sdk.preview(j["id"], count=20)
        times = [datetime.datetime.fromisoformat(t) for t in pv["next"]]
        self.assertFalse(pv["started"])
        self.assertTrue(7 <= len(times) <= 10, pv["next"])
        self.assertTrue(all(start <= t <= end for t in times), pv["next"])
        self.assertLess(times[0] - datetime.timedelta(seconds=600), start)
        self.assertGreater(times[-1] + datetime.timedelta(seconds=600), end)
        self.assertEqual({b - a for a, b in zip(times, times[1:])}, {datetime.timedelta(seconds=600)})
        # The jobParameter shows the bounds in the server's zone, the preview's.
        local = datetime.timezone(times[0].utcoffset())
        shown = lambda t: t.astimezone(local).strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731
        self.assertEqual((p["start_date"], p["end_date"]), (shown(start), shown(end)))

        # An update gives the trigger whole: the lifetime passed back is kept, a new end
        # taken, none given is none.
        kept = sdk.sdk_update_job(j["id"], "限期任务", "", "interval", seconds=300, code="return 1",
                                  start_date=p["start_date"], end_date=p["end_date"])["jobParameter"]
        self.assertEqual((kept["seconds"], kept["start_date"], kept["end_date"]), (300, p["start_date"], p["end_date"]))
        later = sdk.sdk_update_job(j["id"], "限期任务", "", "interval", seconds=300, code="return 1",
                                   end_date=iso(end + datetime.timedelta(hours=1)))["jobParameter"]
        self.assertEqual(("start_date" in later, later["end_date"] > p["end_date"]), (False, True))
        self.assertEqual(len(sdk.preview(j["id"], count=20)["next"]), 20)
        gone = sdk.sdk_update_job(j["id"], "限期任务", "", "interval", seconds=300, code="return 1")["jobParameter"]
        self.assertEqual(set(gone), PARAM_KEYS)

        # A cron job in a zone of its own takes a lifetime too: its preview stops at the end
        # (hourly, five hours ahead).
        c = sdk.sdk_add_job(PID, "限期 cron", "", "cron", cron="0 0 * * * ?", timezone="America/New_York",
                            code="return 1", end_date=iso(now + datetime.timedelta(hours=5)))
        self.addCleanup(sdk.sdk_delete_job, c["id"])
        self.assertTrue(1 <= len(sdk.preview(c["id"], count=10)["next"]) <= 5)

        # Refused, naming the field (a cron with no instant left within its lifetime too);
        # nothing is stored or changed.
        before = len(sdk.sdk_get_jobs())
        for field, call in (
                ("end_date", lambda: sdk.sdk_add_job(PID, "x", "", "interval", seconds=5, code="x = 1",
                                                     end_date=iso(now - datetime.timedelta(hours=1)))),
                ("end_date", lambda: sdk.sdk_add_job(PID, "x", "", "interval", seconds=5, code="x = 1",
                                                     start_date=iso(end), end_date=iso(start))),
                ("end_date", lambda: sdk.sdk_add_job(PID, "x", "", "cron", cron="0 0 0 1 1 ?", code="x = 1",
                                                     start_date=iso(start), end_date=iso(end))),
                ("start_date", lambda: sdk.sdk_add_job(PID, "x", "", "interval", seconds=5, code="x = 1",
                                                       start_date="tomorrow")),
                ("start_date", lambda: sdk.sdk_add_job(PID, "x", "", "date", run_date=future(), code="x = 1",
                                                       start_date=iso(start))),
                ("end_date", lambda: sdk.sdk_update_job(j["id"], "x", "", "interval", seconds=5, code="x = 1",
                                                        end_date="2020-01-01 00:00:00"))):
            with self.assertRaises(JobCenterError) as cm:
                call()
            self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.field), (400, "invalid", field),
                             str(cm.exception))
            self.assertIn("field " + field, str(cm.exception))
        self.assertEqual(len(sdk.sdk_get_jobs()), before)
        self.assertEqual(set(sdk.sdk_get_job(j["id"])["jobParameter"]), PARAM_KEYS)
        # Not a string: refused here, before any request.
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_add_job(PID, "x", "", "interval", code="x = 1", end_date=end)
        self.assertEqual((cm.exception.status, cm.exception.field), (0, "end_date"))

    def test_a_jitter_spreads_a_jobs_fires_and_is_part_of_its_trigger(self):
        j = sdk.sdk_add_job(PID, "抖动任务", "", "interval", seconds=600, code="return 1", jitter=120)
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        p = j["jobParameter"]
        self.assertEqual((set(p), p["jitter"]), (PARAM_KEYS | {"jitter"}, 120))
        self.assertEqual(sdk.sdk_get_job(j["jobId"])["jobParameter"], p)

        # Stopped, the k-th fire is counted from the preview's now: it runs at now + 600 k
        # plus an offset of its own, below 120 s; the offsets differ (a shared one would
        # leave every gap 600 s).
        before = datetime.datetime.now(datetime.timezone.utc)
        times = [datetime.datetime.fromisoformat(t) for t in sdk.preview(j["id"], count=6)["next"]]
        after = datetime.datetime.now(datetime.timezone.utc)
        self.assertEqual(len(times), 6)
        sec = datetime.timedelta(seconds=1)
        for k, t in enumerate(times, 1):
            instant = 600 * k * sec
            self.assertTrue(before - sec + instant <= t < after + instant + 120 * sec,
                            "fire %d at %s, not within 120 s after its instant" % (k, t))
        gaps = {b - a for a, b in zip(times, times[1:])}
        self.assertNotEqual(gaps, {datetime.timedelta(seconds=600)}, times)
        # Started, next_run_time is the preview's first, to the second.
        started = sdk.sdk_start_job(j["id"])
        first = datetime.datetime.fromisoformat(sdk.preview(j["id"], count=1)["next"][0])
        self.assertEqual(started["next_run_time"], first.strftime("%Y-%m-%d %H:%M:%S"))

        # An update gives the trigger whole: the jitter passed back is kept, none given is none.
        kept = sdk.sdk_update_job(j["id"], "抖动任务", "", "interval", seconds=300, code="return 1",
                                  jitter=p["jitter"])["jobParameter"]
        self.assertEqual((kept["seconds"], kept["jitter"]), (300, 120))
        gone = sdk.sdk_update_job(j["id"], "抖动任务", "", "interval", seconds=300, code="return 1")["jobParameter"]
        self.assertEqual(set(gone), PARAM_KEYS)

        # A bad jitter is refused naming it; nothing changes.
        for bad in (-1, 86401, 1.5, "soon"):
            with self.assertRaises(JobCenterError) as cm:
                sdk.sdk_update_job(j["id"], "x", "", "interval", seconds=5, code="x = 1", jitter=bad)
            self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.field), (400, "invalid", "jitter"),
                             str(cm.exception))
        self.assertEqual(sdk.sdk_get_job(j["id"])["jobParameter"], gone)

    def test_an_overlap_policy_is_kept_by_updates_and_decides_what_a_fire_does_while_a_run_goes_on(self):
        # Flow "hold" is held by the test's runner until its request is abandoned: a run
        # that only a kill ends.
        j = sdk.sdk_add_job(PID, "重叠任务", "", "interval", seconds=3600, flow_id="hold", overlap="buffer_one")
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        self.assertEqual((set(j["jobParameter"]), j["jobParameter"]["overlap"]), (PARAM_KEYS | {"overlap"}, "buffer_one"))
        # A policy field: an update without it keeps it.
        renamed = sdk.sdk_update_job(j["id"], "重叠任务", "", "interval", seconds=3600, flow_id="hold")
        self.assertEqual(renamed["jobParameter"]["overlap"], "buffer_one")

        def entry(fire, status):
            return eventually(lambda: next((e for e in sdk.get_journal(j["id"])["data"]
                                            if e["triggerid"] == fire and e["exestatus"] == status), None),
                              timeout=15, what="run %s %s" % (fire, status))

        # buffer_one: of two fires while the first run goes on, one waits for it and the
        # other is skipped (which is which is the executors' order of taking them).
        first = sdk.exec_run(j["id"])["fireId"]
        entry(first, "running")
        fires = [sdk.exec_run(j["id"])["fireId"] for _ in range(2)]
        skipped = eventually(lambda: [e for e in sdk.get_journal(j["id"])["data"]
                                      if e["triggerid"] in fires and e["exestatus"] == "skipped"],
                             timeout=15, what="one of the two fires skipped")
        self.assertEqual(len(skipped), 1, skipped)
        self.assertEqual(skipped[0]["exedes"], "skipped: another fire of this job waits already for the run under "
                                               "way (overlap buffer_one)")
        second = next(f for f in fires if f != skipped[0]["triggerid"])
        entry(second, "waiting")
        # The first run killed, the waiting fire runs.
        sdk.kill_run(j["id"], first)
        entry(second, "running")

        # cancel_other: a new fire kills the run under way (the waiting one that began) and runs.
        sdk.sdk_update_job(j["id"], "重叠任务", "", "interval", seconds=3600, flow_id="hold", overlap="cancel_other")
        fourth = sdk.exec_run(j["id"])["fireId"]
        killed = entry(second, "failure")
        self.assertTrue(killed["exedes"].startswith("killed by overlap cancel_other, for " + fourth + " at "), killed["exedes"])
        self.assertEqual(killed["killed"]["by"], "overlap cancel_other, for " + fourth)
        entry(fourth, "running")
        self.assertEqual(sdk.kill_run(j["id"], fourth)["status"], "killed")

        # skip, the default again: shown as no overlap at all.
        back = sdk.sdk_update_job(j["id"], "重叠任务", "", "interval", seconds=3600, flow_id="hold", overlap="skip")
        self.assertEqual(set(back["jobParameter"]), PARAM_KEYS)

        # Refused, naming the field; nothing is stored or changed.
        before = len(sdk.sdk_get_jobs())
        for field, call in (
                ("overlap", lambda: sdk.sdk_add_job(PID, "x", "", "interval", code="x = 1", overlap="queue")),
                ("max_instances", lambda: sdk.sdk_add_job(PID, "x", "", "interval", code="x = 1", overlap="allow_all",
                                                          max_instances=2)),
                ("max_instances", lambda: sdk.sdk_update_job(j["id"], "x", "", "interval", code="x = 1",
                                                             overlap="buffer_one", max_instances=3))):
            with self.assertRaises(JobCenterError) as cm:
                call()
            self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.field), (400, "invalid", field),
                             str(cm.exception))
        self.assertEqual(len(sdk.sdk_get_jobs()), before)
        self.assertEqual(sdk.sdk_get_job(j["id"])["jobParameter"], back["jobParameter"])

    def test_a_fixed_delay_job_counts_each_fire_from_the_end_of_its_last_run(self):
        # Flow "hold" is held by the test's runner until its request is abandoned: each run
        # ends when the test kills it.
        j = sdk.sdk_add_job(PID, "固定延迟", "", "interval", seconds=1, flow_id="hold", fixed_delay=True)
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        p = j["jobParameter"]
        self.assertEqual((set(p), p["fixed_delay"]), (PARAM_KEYS | {"fixed_delay"}, True))
        self.assertEqual(sdk.sdk_get_job(j["jobId"])["jobParameter"], p)

        def journal_time(s):
            return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z")

        def running(n):
            """The n-th run (from 1), once it is running: only n runs, none skipped."""
            def runs():
                data = sdk.get_journal(j["id"], size=100)["data"]
                return data if len(data) == n and data[0]["exestatus"] == "running" else None
            return eventually(runs, timeout=15, what="run %d running" % n)[0]

        sdk.sdk_start_job(j["id"])
        first = running(1)
        # While its run goes on the job has no next fire: an interval counted from its start
        # would have one every second, and its fires would be skipped meanwhile.
        self.assertIsNone(sdk.sdk_get_job(j["id"])["next_run_time"])
        self.assertEqual(sdk.kill_run(j["id"], first["triggerid"])["status"], "killed")
        second = running(2)
        ended = next(e for e in sdk.get_journal(j["id"])["data"] if e["triggerid"] == first["triggerid"])
        self.assertEqual(ended["exestatus"], "failure")
        # The next fire came a second after that end (a kill's too), to the millisecond.
        self.assertEqual(journal_time(second["triggertime"]) - journal_time(ended["updatetime"]),
                         datetime.timedelta(seconds=1))
        sdk.sdk_stop_job(j["id"])
        self.assertEqual(sdk.kill_run(j["id"], second["triggerid"])["status"], "killed")

        # It is part of the trigger: passed back it is kept, not given the job has none.
        kept = sdk.sdk_update_job(j["id"], "固定延迟", "", "interval", seconds=300, flow_id="hold",
                                  fixed_delay=p["fixed_delay"])["jobParameter"]
        self.assertEqual((kept["seconds"], kept["fixed_delay"]), (300, True))
        gone = sdk.sdk_update_job(j["id"], "固定延迟", "", "interval", seconds=300, flow_id="hold")["jobParameter"]
        self.assertEqual(set(gone), PARAM_KEYS)

        # Only an interval job, and without a misfire grace: refused naming the field; nothing
        # changes.
        for field, call in (
                ("fixed_delay", lambda: sdk.sdk_update_job(j["id"], "x", "", "cron", cron="0 0 * * * ?", code="x = 1",
                                                           fixed_delay=True)),
                ("fixed_delay", lambda: sdk.sdk_add_job(PID, "x", "", "date", run_date=future(), code="x = 1",
                                                        fixed_delay=True)),
                ("misfire_grace_time", lambda: sdk.sdk_update_job(j["id"], "x", "", "interval", seconds=5, code="x = 1",
                                                                  fixed_delay=True, misfire_grace_time=5))):
            with self.assertRaises(JobCenterError) as cm:
                call()
            self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.field), (400, "invalid", field),
                             str(cm.exception))
        self.assertEqual(sdk.sdk_get_job(j["id"])["jobParameter"], gone)

    def test_a_backfill_runs_a_past_ranges_instants_now_each_journaled_as_a_backfill(self):
        j = sdk.sdk_add_job(PID, "补跑", "", "interval", seconds=60, code="return 1")
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        start, minute = now - datetime.timedelta(minutes=10), datetime.timedelta(minutes=1)

        def iso(t):
            return t.strftime("%Y-%m-%dT%H:%M:%SZ")

        def local(s):
            return datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S")

        got = sdk.backfill(j["id"], iso(start), iso(start + 4 * minute), concurrency=2)
        self.assertEqual((got["id"], got["fires"], got["capped"], got["concurrency"]), (j["id"], 5, False, 2))
        self.assertEqual(local(got["last"]) - local(got["first"]), 4 * minute)

        # The interval's instants counted from from_, each run now and journaled at its instant.
        runs = eventually(lambda: (lambda d: d if len(d) == 5 and all(e["exestatus"] == "success" for e in d) else None)(
            sdk.get_journal(j["id"])["data"]), timeout=15, what="the five backfill runs")
        self.assertEqual({e["runtype"] for e in runs}, {"backfill"})
        self.assertEqual(sorted(datetime.datetime.strptime(e["triggertime"], "%Y-%m-%dT%H:%M:%S.%f%z") for e in runs),
                         [start + k * minute for k in range(5)])

        # More than 10,000 instants (eight days of minutes) are refused naming "to", unless
        # max_fires runs the first ones.
        wide = (iso(now - datetime.timedelta(days=8)), iso(now))
        with self.assertRaises(JobCenterError) as cm:
            sdk.backfill(j["id"], *wide)
        self.assertEqual((cm.exception.status, cm.exception.field), (400, "to"), str(cm.exception))
        capped = sdk.backfill(j["id"], *wide, max_fires=3)
        self.assertEqual((capped["fires"], capped["capped"], capped["concurrency"]), (3, True, 1))
        eventually(lambda: sdk.get_journal(j["id"])["resultCount"] == 8, timeout=15, what="the capped backfill's runs")

        # A bad range is refused naming its field; nothing is stored.
        hour = (iso(now - 60 * minute), iso(now))
        for field, call in (
                ("from", lambda: sdk.backfill(j["id"], "yesterday", iso(now))),
                ("to", lambda: sdk.backfill(j["id"], iso(now - 60 * minute), iso(now + 60 * minute))),
                ("concurrency", lambda: sdk.backfill(j["id"], *hour, concurrency=0)),
                ("max_fires", lambda: sdk.backfill(j["id"], *hour, max_fires=10001))):
            with self.assertRaises(JobCenterError) as cm:
                call()
            self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.field), (400, "invalid", field),
                             str(cm.exception))
        with self.assertRaises(JobCenterError) as cm:
            sdk.backfill(j["id"], iso(start), 1700000000)
        self.assertEqual((cm.exception.status, cm.exception.field), (0, "to"))
        with self.assertRaises(JobCenterError) as cm:
            sdk.backfill(j["id"] + "-no-such-job", *hour)
        self.assertEqual(cm.exception.status, 404)
        self.assertEqual(sdk.get_journal(j["id"])["resultCount"], 8)

    def test_calendars_exclude_times_from_the_jobs_that_name_them(self):
        name = "quiet-" + uuid.uuid4().hex[:8]
        before = sdk.get_calendars()
        # A broken calendar is refused naming the field; nothing is stored.
        for field, cal in (("name", {"dates": ["2030-10-01"]}),
                           ("dates", {"name": name}),
                           ("dates[1]", {"name": name, "dates": ["2030-10-01", "2030-02-30"]}),
                           ("weekly[0].to", {"name": name, "weekly": [{"from": "SAT 00:00", "to": "SUNDAY"}]}),
                           ("ranges[0].from", {"name": name, "ranges": [{"from": "soon", "to": "later"}]}),
                           ("cron", {"name": name, "cron": "0 61 * * * ?"}),
                           ("timezone", {"name": name, "dates": ["2030-10-01"], "timezone": "Mars/Base"})):
            with self.assertRaises(JobCenterError) as cm:
                sdk.add_calendar(cal)
            self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.field), (400, "invalid", field),
                             str(cm.exception))
        with self.assertRaises(JobCenterError) as cm:
            sdk.add_calendar([name])
        self.assertEqual((cm.exception.status, cm.exception.field), (0, "calendar"))
        self.assertEqual(sdk.get_calendars(), before)

        # A cron job each minute; the calendar excludes its minutes 2 to 4 from m0, the
        # next whole minute: at least fifteen seconds away (the test's calls take less),
        # so that it is the first minute the center's preview gives too.
        now = datetime.datetime.now(datetime.timezone.utc)
        if now.second >= 45:
            time.sleep(61 - now.second - now.microsecond / 1e6)  # past the minute's turn
            now = datetime.datetime.now(datetime.timezone.utc)
        minute = datetime.timedelta(minutes=1)
        m0 = now.replace(second=0, microsecond=0) + minute

        def iso(t):
            return t.strftime("%Y-%m-%dT%H:%M:%SZ")

        cal = sdk.add_calendar({"name": name, "description": "维护窗口",
                                "ranges": [{"from": iso(m0 + 2 * minute), "to": iso(m0 + 5 * minute)}]})
        self.addCleanup(_delete_calendar, name)
        self.assertEqual((cal["name"], cal["description"], len(cal["ranges"])), (name, "维护窗口", 1))
        self.assertEqual(set(cal), {"name", "description", "timezone", "ranges", "updated_at", "updated_by"})
        self.assertEqual(cal["updated_by"], os.environ.get("JOBCENTER_USER"))
        self.assertEqual(sdk.get_calendar(name), cal)
        self.assertIn(cal, sdk.get_calendars())
        with self.assertRaises(JobCenterError) as cm:
            sdk.add_calendar({"name": name, "dates": ["2030-10-01"]})
        self.assertEqual((cm.exception.status, cm.exception.code), (409, "conflict"))

        j = sdk.sdk_add_job(PID, "日历任务", "", "cron", cron="0 * * * * ?", code="return 1", calendars=[name])
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        p = j["jobParameter"]
        self.assertEqual((set(p) - PARAM_KEYS, p["calendars"]), ({"cron", "timezone", "calendars"}, [name]))

        def instants(n):
            return [datetime.datetime.fromisoformat(t) for t in sdk.preview(j["id"], count=n)["next"]]

        self.assertEqual(instants(4), [m0, m0 + minute, m0 + 5 * minute, m0 + 6 * minute])
        started = sdk.sdk_start_job(j["id"])
        self.assertEqual(started["next_run_time"], instants(1)[0].strftime("%Y-%m-%d %H:%M:%S"))

        # The calendar as read, changed and passed back: minutes 0 to 5 excluded, the
        # job's next fire moves to minute 6 at once.
        changed = sdk.get_calendar(name)
        changed["ranges"] = [{"from": iso(m0), "to": iso(m0 + 6 * minute)}]
        updated = sdk.update_calendar(name, changed)
        self.assertEqual((updated["description"], updated["timezone"]), ("维护窗口", cal["timezone"]))
        eventually(lambda: instants(1) == [m0 + 6 * minute], what="the job rescheduled past the new exclusion")
        with self.assertRaises(JobCenterError) as cm:
            sdk.update_calendar(name, dict(changed, name="loud"))
        self.assertEqual((cm.exception.status, cm.exception.field), (400, "name"))

        # Named, it is not deleted: the 409 names the job.
        with self.assertRaises(JobCenterError) as cm:
            sdk.delete_calendar(name)
        self.assertEqual(cm.exception.status, 409)
        self.assertIn(j["id"], cm.exception.message)

        # A name the project has no calendar of, or one twice, is refused naming it.
        for field, names in (("calendars[0]", ["nope-" + name]), ("calendars[1]", [name, name])):
            with self.assertRaises(JobCenterError) as cm:
                sdk.sdk_update_job(j["id"], "日历任务", "", "cron", cron="0 * * * * ?", code="return 1", calendars=names)
            self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.field), (400, "invalid", field),
                             str(cm.exception))
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_add_job(PID, "x", "", "interval", code="x = 1", calendars=name)
        self.assertEqual((cm.exception.status, cm.exception.field), (0, "calendars"))

        # Part of the trigger: passed back it is kept, not given the job has none.
        kept = sdk.sdk_update_job(j["id"], "日历任务", "", "cron", cron="0 * * * * ?", code="return 1",
                                  calendars=p["calendars"])["jobParameter"]
        self.assertEqual(kept["calendars"], [name])
        gone = sdk.sdk_update_job(j["id"], "日历任务", "", "cron", cron="0 * * * * ?", code="return 1")["jobParameter"]
        self.assertNotIn("calendars", gone)

        # Named by no job, it goes.
        self.assertIsNone(sdk.delete_calendar(name))
        for call in (lambda: sdk.get_calendar(name), lambda: sdk.delete_calendar(name),
                     lambda: sdk.update_calendar(name, changed)):
            with self.assertRaises(JobCenterError) as cm:
                call()
            self.assertEqual((cm.exception.status, cm.exception.code), (404, "not_found"))
        self.assertEqual(sdk.get_calendars(), before)

    def test_the_cron_preview(self):
        self.assertEqual(sdk.cron_next("0 30 2 * * ?", tz="America/New_York", from_="2025-03-08T00:00:00-05:00", count=3),
                         ["2025-03-08T02:30:00-05:00", "2025-03-10T02:30:00-04:00", "2025-03-11T02:30:00-04:00"])
        self.assertEqual(len(sdk.cron_next("0/15 * * * * ?")), 5)
        with self.assertRaises(JobCenterError) as cm:
            sdk.cron_next("61 * * * * ?")
        self.assertEqual((cm.exception.status, cm.exception.field), (400, "expr"))


class _Receiver:
    """Webhooks of the test's, on this machine (the center must allow private webhooks:
    JOBCENTER_ALERTS_ALLOW_PRIVATE): /hook takes an alert only at the URL with the token
    and with the header, /feishu a Feishu robot's message only signed with the secret, as
    Feishu's does. It keeps what it took and what it refused."""

    def __init__(self, token, authorization, secret):
        import http.server

        self._lock = threading.Lock()
        self._alerts, self._texts, self.refused = [], [], []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = None
                status, answer = receiver._take(self.path, self.headers.get("Authorization"), body,
                                                token, authorization, secret)
                data = json.dumps(answer).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _take(self, path, auth, body, token, authorization, secret):
        with self._lock:
            if path == "/hook?token=" + token and auth == authorization:
                self._alerts.append(body)
                return 200, {}
            signed = isinstance(body, dict) and body.get("sign") == _feishu_sign(body.get("timestamp"), secret)
            if path == "/feishu" and signed:
                self._texts.append(body["content"]["text"])
                return 200, {"code": 0, "msg": "success"}
            self.refused.append(path)
            if path == "/feishu":
                return 200, {"code": 19021, "msg": "sign match fail"}  # as Feishu refuses
            return 401, {"error": "wrong token"}

    def alerts(self):
        with self._lock:
            return list(self._alerts)

    def texts(self):
        with self._lock:
            return list(self._texts)

    def close(self):
        self._server.shutdown()
        self._server.server_close()


class _Calls:
    """An HTTP job's receiver on this machine (the center must let HTTP jobs reach loopback:
    JOBCENTER_HTTP_JOBS_REACH=any): it keeps each request it is sent, as {"method", "path",
    "headers", "body"}, and answers /ok 200 "hello from the receiver", /teapot 418."""

    def __init__(self):
        import http.server

        self._lock = threading.Lock()
        self._got = []
        calls = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with calls._lock:
                    calls._got.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                       "body": raw.decode("utf-8", "replace")})
                status, data = (200, b"hello from the receiver") if self.path == "/ok" else (418, b"short and stout")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def got(self):
        with self._lock:
            return list(self._got)

    def close(self):
        self._server.shutdown()
        self._server.server_close()


def _feishu_sign(timestamp, secret):
    """Feishu's signature: base64 of the HMAC-SHA256 of nothing, keyed by the timestamp and
    the secret on two lines."""
    import base64
    import hashlib
    import hmac

    if not isinstance(timestamp, str):
        return None
    key = ("%s\n%s" % (timestamp, secret)).encode("utf-8")
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def _delete_calendar(name):
    try:
        sdk.delete_calendar(name)
    except JobCenterError as e:
        if e.status != 404:
            raise


def _delete_rule(rule_id):
    try:
        sdk.delete_alert_rule(rule_id)
    except JobCenterError as e:
        if e.status != 404:
            raise


class AlertTest(Base):
    SECRET = "SECd3adb33f"

    def setUp(self):
        super().setUp()
        self.hook = _Receiver("s3cret", "Bearer xyz", self.SECRET)
        self.addCleanup(self.hook.close)

    def delivered(self, alert_id):
        """The delivery of the alert once delivered; None before. One given up on fails."""
        for d in sdk.get_alert_deliveries(limit=500)["deliveries"]:
            if d["id"] == alert_id:
                self.assertNotEqual(d["status"], "failed", d)
                return d if d["status"] == "delivered" else None
        return None

    def test_alert_rules_send_a_failed_runs_alert_keep_their_secrets_and_record_deliveries(self):
        base = self.hook.url
        job = sdk.sdk_add_job(PID, "失败任务", "", "interval", seconds=3600, code="fail('x')")
        self.addCleanup(sdk.sdk_delete_job, job["id"])
        webhook = {"type": "webhook", "url": base + "/hook?token=s3cret", "headers": {"Authorization": "Bearer xyz"}}

        # A broken rule is a 400 naming the field, and nothing is stored.
        before = sdk.get_alert_rules()
        for field, rule in (("events[1]", {"events": ["failure", "exploded"], "channel": webhook}),
                            ("channel.secret", {"events": ["failure"], "channel": dict(webhook, secret="x")}),
                            ("jobs[0]", {"events": ["failure"], "jobs": ["no-such-job"], "channel": webhook})):
            with self.assertRaises(JobCenterError) as cm:
                sdk.add_alert_rule(rule)
            e = cm.exception
            self.assertEqual((e.status, e.code, e.field), (400, "invalid", field), str(e))
            self.assertIn("field " + field, str(cm.exception))
        with self.assertRaises(JobCenterError) as cm:
            sdk.add_alert_rule([webhook])
        self.assertEqual((cm.exception.code, cm.exception.field), ("invalid", "rule"))
        self.assertEqual(sdk.get_alert_rules(), before)

        # The failing job's failures to the webhook; pauses to a Feishu robot, disabled.
        rule = sdk.add_alert_rule({"name": "on call", "events": ["failure"], "jobs": [job["jobId"]], "channel": webhook})
        self.addCleanup(_delete_rule, rule["id"])
        self.assertEqual(rule["channel"], {"type": "webhook", "url": base + "/***", "headers": {"Authorization": "***"}})
        self.assertEqual((rule["name"], rule["events"], rule["jobs"], rule["enabled"]),
                         ("on call", ["failure"], [job["id"]], True))
        robot = sdk.add_alert_rule({"events": ["paused"], "enabled": False,
                                    "channel": {"type": "feishu", "url": base + "/feishu", "secret": self.SECRET}})
        self.addCleanup(_delete_rule, robot["id"])
        self.assertEqual(robot["channel"], {"type": "feishu", "url": base + "/***", "secret": "***"})
        self.assertEqual([r["id"] for r in sdk.get_alert_rules()][len(before):], [rule["id"], robot["id"]])
        self.assertEqual(sdk.get_alert_rule(robot["id"]), robot)

        # A failed run: its alert arrives at the webhook, with the URL's token and the header.
        run = sdk.exec_run(job["id"])["fireId"]
        alert = eventually(lambda: next((a for a in self.hook.alerts() if a["event"] == "failure"), None),
                           what="the failed run's alert at the webhook")
        self.assertEqual((alert["rule_id"], alert["job_id"], alert["triggerid"], alert["tenant"]),
                         (rule["id"], job["id"], run, os.environ.get("JOBCENTER_PROJECT")))

        # A test alert, to the disabled rule too: the robot takes it signed with the secret.
        test_id = sdk.test_alert_rule(robot["id"])
        self.assertIsInstance(test_id, str)
        d = eventually(lambda: self.delivered(test_id), what="the test alert delivered")
        self.assertEqual((d["rule_id"], d["event"], d["channel"], d["target"], d["attempts"]),
                         (robot["id"], "test", "feishu", base + "/***", 1))
        self.assertEqual(len(self.hook.texts()), 1)

        # The deliveries, newest first: by rule, by state, a page at a time.
        page = sdk.get_alert_deliveries(rule_id=rule["id"])
        self.assertEqual([(d["event"], d["job_id"], d["triggerid"], d["status"], d["attempts"]) for d in page["deliveries"]],
                         [("failure", job["id"], run, "delivered", 1)])
        self.assertNotIn("next_cursor", page)
        failure_id = page["deliveries"][0]["id"]
        self.assertEqual(sdk.get_alert_deliveries(job_id=job["id"], status="failed"), {"deliveries": []})
        first = sdk.get_alert_deliveries(limit=1)
        second = sdk.get_alert_deliveries(limit=1, cursor=first["next_cursor"])
        self.assertEqual([first["deliveries"][0]["id"], second["deliveries"][0]["id"]], [test_id, failure_id])
        with self.assertRaises(JobCenterError) as cm:
            sdk.get_alert_deliveries(status="exploded")
        self.assertEqual((cm.exception.status, cm.exception.field), (400, "status"))

        # A rule as read, changed and passed back: its secrets, masked, keep the ones stored.
        changed = sdk.get_alert_rule(robot["id"])
        changed.update(enabled=True, name="飞书")
        updated = sdk.update_alert_rule(robot["id"], changed)
        self.assertEqual((updated["enabled"], updated["name"], updated["channel"]), (True, "飞书", robot["channel"]))
        changed = sdk.get_alert_rule(rule["id"])
        changed["events"] = ["failure", "timeout"]
        self.assertEqual(sdk.update_alert_rule(rule["id"], changed)["events"], ["failure", "timeout"])
        for rule_id in (robot["id"], rule["id"]):
            sent = sdk.test_alert_rule(rule_id)
            eventually(lambda: self.delivered(sent), what="a test alert after the update delivered")
        self.assertEqual((len(self.hook.texts()), len(self.hook.alerts()), self.hook.refused), (2, 2, []))

        # Deleted: not found afterwards.
        self.assertIsNone(sdk.delete_alert_rule(rule["id"]))
        for call in (lambda: sdk.get_alert_rule(rule["id"]), lambda: sdk.delete_alert_rule(rule["id"]),
                     lambda: sdk.test_alert_rule(rule["id"]), lambda: sdk.update_alert_rule(rule["id"], changed)):
            with self.assertRaises(JobCenterError) as cm:
                call()
            self.assertEqual((cm.exception.status, cm.exception.code), (404, "not_found"))
        sdk.delete_alert_rule(robot["id"])
        self.assertEqual(sdk.get_alert_rules(), before)


class HTTPJobTest(Base):
    def setUp(self):
        super().setUp()
        self.calls = _Calls()
        self.addCleanup(self.calls.close)

    def ended(self, job_id, fire):
        """The journal entry of a run once it has ended."""
        return eventually(lambda: next((e for e in sdk.get_journal(job_id)["data"] if e["triggerid"] == fire
                                        and e["exestatus"] in ("success", "failure")), None),
                          timeout=15, what="run %s ended in the journal" % fire)

    def test_an_http_job_calls_its_url_journals_the_answer_and_keeps_its_secret(self):
        url = self.calls.url + "/ok"
        call = {"method": "post", "url": url,
                "headers": {"Authorization": "Bearer s3cret", "Content-Type": "application/json"},
                "body": '{"day": "2026-12-01"}', "expect_status": [200, 204]}
        j = sdk.sdk_add_job(PID, "HTTP任务", "", "interval", seconds=3600, http=call)
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        # Every read shows the call, its credential masked; the rest of the job info as ever.
        shown = {"method": "POST", "url": url, "headers": {"Authorization": "***", "Content-Type": "application/json"},
                 "body": '{"day": "2026-12-01"}', "expect_status": [200, 204]}
        self.assertEqual(set(j), JOB_INFO_KEYS | {"http"})
        self.assertEqual((j["http"], j["code"], j["flowId"]), (shown, None, None))
        self.assertEqual(sdk.sdk_get_job(j["jobId"]), j)
        self.assertEqual(next(x for x in sdk.sdk_get_jobs() if x["id"] == j["id"]), j)
        self.assertNotIn("s3cret", json.dumps(sdk.export_jobs()))

        # A run calls the URL with the real header and the body; the journal keeps the
        # status and the answer.
        fire = sdk.exec_run(j["id"])["fireId"]
        entry = self.ended(j["id"], fire)
        self.assertEqual((entry["exestatus"], entry["runtype"]), ("success", "manual"), entry)
        self.assertRegex(entry["exedes"],
                         r"^POST %s → 200 OK \([0-9.]+m?s\)\nhello from the receiver" % re.escape(url))
        self.assertNotIn("s3cret", entry["exedes"])
        got = self.calls.got()
        self.assertEqual(len(got), 1, got)
        self.assertEqual((got[0]["method"], got[0]["path"], got[0]["body"]), ("POST", "/ok", '{"day": "2026-12-01"}'))
        self.assertEqual((got[0]["headers"].get("Authorization"), got[0]["headers"].get("Content-Type"),
                          got[0]["headers"].get("X-Jobcenter-Fire-Id")), ("Bearer s3cret", "application/json", fire))

        # The job info's call, passed back as it is, keeps the secret stored.
        info = sdk.sdk_get_job(j["id"])
        renamed = sdk.sdk_update_job(j["id"], "HTTP任务, renamed", "", "interval", seconds=3600, http=info["http"])
        self.assertEqual((renamed["name"], renamed["http"]), ("HTTP任务, renamed", shown))
        fire = sdk.exec_run(j["id"])["fireId"]
        self.assertEqual(self.ended(j["id"], fire)["exestatus"], "success")
        got = self.calls.got()
        self.assertEqual(len(got), 2, got)
        self.assertEqual((got[1]["headers"].get("Authorization"), got[1]["headers"].get("X-Jobcenter-Fire-Id")),
                         ("Bearer s3cret", fire))

        # A masked value for a header the job does not have is refused, naming it, and
        # changes nothing.
        masked = dict(info["http"], headers=dict(info["http"]["headers"], **{"X-Token": "***"}))
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_update_job(j["id"], "HTTP任务, again", "", "interval", seconds=3600, http=masked)
        e = cm.exception
        self.assertEqual((e.status, e.code, e.field), (400, "invalid", "http.headers.X-Token"), str(e))
        self.assertEqual(sdk.sdk_get_job(j["id"]), renamed)

    def test_an_http_jobs_run_fails_on_a_status_it_does_not_expect(self):
        url = self.calls.url + "/teapot"
        j = sdk.sdk_add_job(PID, "茶壶", "", "interval", seconds=3600, http={"url": url})
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        self.assertEqual(j["http"], {"method": "GET", "url": url})
        entry = self.ended(j["id"], sdk.exec_run(j["id"])["fireId"])
        self.assertEqual(entry["exestatus"], "failure", entry)
        self.assertTrue(entry["exedes"].startswith("HTTP 418, expected 2xx"), entry["exedes"])
        self.assertIn("short and stout", entry["exedes"])
        # Expected, the same answer is a success; code instead makes it a code job again.
        sdk.sdk_update_job(j["id"], "茶壶", "", "interval", seconds=3600, http={"url": url, "expect_status": [418]})
        entry = self.ended(j["id"], sdk.exec_run(j["id"])["fireId"])
        self.assertEqual(entry["exestatus"], "success", entry)
        self.assertTrue(entry["exedes"].startswith("GET %s → 418 " % url), entry["exedes"])
        code = sdk.sdk_update_job(j["id"], "茶壶", "", "interval", seconds=3600, code="return 1")
        self.assertEqual((set(code), code["code"]), (JOB_INFO_KEYS, "return 1"))
        self.assertEqual([c["method"] for c in self.calls.got()], ["GET", "GET"])


class ConfigureTest(Base):
    def test_configure_overrides_the_environment_and_none_restores_it(self):
        job = interval_job("configure")
        self.addCleanup(sdk.sdk_delete_job, job["id"])
        sdk.configure(user="someone-else")
        self.assertEqual(sdk.sdk_update_job(job["id"], "configure", "", "interval", seconds=5, code="x = 1")["updateUser"],
                         "someone-else")
        sdk.configure(project="another-project")
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_get_job(job["id"])
        if os.environ.get("JOBCENTER_API_KEY"):
            # The key is bound to the environment's project.
            self.assertEqual((cm.exception.status, cm.exception.code, cm.exception.field), (403, "forbidden", "X-Project-Id"))
        else:
            self.assertEqual((cm.exception.status, cm.exception.code), (404, "not_found"))
        sdk.configure(project=None, user=None)
        self.assertEqual(sdk.sdk_get_job(job["id"])["id"], job["id"])

    def test_a_missing_project_is_a_400(self):
        sdk.configure(project="")
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_get_jobs()
        self.assertIn(cm.exception.status, (400, 403))

    @unittest.skipUnless(os.environ.get("JOBCENTER_API_KEY"), "the server has no keys")
    def test_a_wrong_key_is_a_401(self):
        sdk.configure(api_key="jc_wrong")
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_get_jobs()
        self.assertEqual((cm.exception.status, cm.exception.code), (401, "unauthorized"))

    def test_no_server_is_an_error_with_status_0(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        sdk.configure(url="http://127.0.0.1:%d" % port)
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_get_jobs()
        self.assertEqual((cm.exception.status, cm.exception.code), (0, "unreachable"))

    def test_a_redirect_is_refused_not_followed(self):
        # urllib would follow it as a GET, sending the key on: an add would "succeed" as a list.
        import http.server

        seen = []

        class Redirect(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                seen.append(("POST", self.path))
                self.send_response(301)
                self.send_header("Location", "http://127.0.0.1:%d/elsewhere" % self.server.server_port)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args):
                pass

        srv = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
        self.addCleanup(srv.server_close)
        threading.Thread(target=srv.handle_request, daemon=True).start()
        sdk.configure(url="http://127.0.0.1:%d" % srv.server_port, api_key="jc_secret")
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_add_job(PID, "x", "", "interval", seconds=60, code="return 1")
        self.assertEqual((cm.exception.status, cm.exception.code), (301, "redirect"))
        self.assertEqual(seen, [("POST", "/api/v1/jobs")])

    def test_a_server_that_does_not_answer_times_out(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        self.addCleanup(s.close)
        conns = []
        threading.Thread(target=lambda: conns.append(s.accept()), daemon=True).start()
        sdk.configure(url="http://127.0.0.1:%d/" % s.getsockname()[1], timeout=0.3)
        t0 = time.monotonic()
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_get_job("x")
        self.assertEqual((cm.exception.status, cm.exception.code), (0, "timeout"))
        self.assertLess(time.monotonic() - t0, 5)
        for c, _ in conns:
            c.close()


class QuartzTest(Base):
    def setUp(self):
        super().setUp()
        key = os.environ.get("JOBCENTER_TEST_TECODE_KEY")
        if key:
            sdk.configure(api_key=key)

    def test_save_query_status_journal_and_every_opttype(self):
        biz = uuid.uuid4().hex
        saved = sdk.quartz_save("调度名称", "57 24 11 ? * * *", biz)
        gid = saved["group_job_id"]
        status = sdk.quartz_query_job_status("1085425175626911843, " + biz, jobtype="")
        self.assertEqual(status, [{"jobinfoid": gid, "cronexpression": "57 24 11 ? * * *", "bizcode": biz,
                                   "jobstatus": "enable"}])
        self.assertEqual(sdk.quartz_save("调度名称", "0 */30 8-19 ? * * *", biz, timezone="Asia/Shanghai"),
                         {"group_job_id": gid})
        self.assertEqual(sdk.quartz_query_job_status([biz])[0]["cronexpression"], "0 */30 8-19 ? * * *")

        self.assertEqual(sdk.quartz_disable(gid), {"jobinfoid": gid, "jobstatus": "disable"})
        self.assertEqual(sdk.quartz_query_job_status(biz)[0]["jobstatus"], "disable")
        self.assertEqual(sdk.quartz_enable(gid)["jobstatus"], "enable")
        fired = sdk.quartz_trigger(gid)
        self.assertTrue(fired["triggerid"])

        page = eventually(lambda: (lambda p: p if p["resultCount"] >= 1 else None)(sdk.quartz_quaryjournal(gid)),
                          what="the triggered run in the journal")
        self.assertEqual((page["pageIndex"], page["pageSize"], page["pageCount"]), (1, 10, 1))
        entry = page["data"][0]
        self.assertEqual((entry["jobinfoid"], entry["triggerid"], entry["runtype"]), (gid, fired["triggerid"], "manual"))
        self.assertEqual(sdk.quartz_query_journal(gid, pageindex=2, pagesize=1)["data"], [])

        self.assertEqual(sdk.quartz_delete(gid), {"jobinfoid": gid, "deleted": True})
        self.assertEqual(sdk.quartz_query_job_status(biz), [])

    def test_a_save_names_the_tenants_calendars_and_a_save_without_them_has_none(self):
        # Calendars are the tecode's: its project's.
        sdk.configure(project=os.environ.get("JOBCENTER_TECODE"))
        name = "holidays-" + uuid.uuid4().hex[:8]
        sdk.add_calendar({"name": name, "dates": ["2030-10-01"]})
        self.addCleanup(_delete_calendar, name)
        biz = uuid.uuid4().hex
        with self.assertRaises(JobCenterError) as cm:
            sdk.quartz_save("日历调度", "0 0 12 * * ?", biz, calendars=["nope-" + name])
        self.assertEqual(cm.exception.status, 400)
        self.assertIn("calendars[0]", cm.exception.message)
        gid = sdk.quartz_save("日历调度", "0 0 12 * * ?", biz, calendars=[name])["group_job_id"]
        self.addCleanup(sdk.quartz_delete, gid)
        self.assertEqual(sdk.sdk_get_job(gid)["jobParameter"]["calendars"], [name])
        with self.assertRaises(JobCenterError) as cm:
            sdk.delete_calendar(name)
        self.assertEqual(cm.exception.status, 409)
        self.assertIn(gid, cm.exception.message)
        sdk.quartz_save("日历调度", "0 0 12 * * ?", biz)
        self.assertNotIn("calendars", sdk.sdk_get_job(gid)["jobParameter"])
        sdk.delete_calendar(name)

    def test_a_save_may_name_a_worker_group_and_a_save_without_it_has_none(self):
        sdk.configure(project=os.environ.get("JOBCENTER_TECODE"))
        biz = uuid.uuid4().hex
        with self.assertRaises(JobCenterError) as cm:
            sdk.quartz_save("工人调度", "0 0 12 * * ?", biz, route="random")
        self.assertEqual(cm.exception.status, 400)
        self.assertIn("route", cm.exception.message)
        gid = sdk.quartz_save("工人调度", "0 0 12 * * ?", biz, worker_group="py", route="least_busy")["group_job_id"]
        self.addCleanup(sdk.quartz_delete, gid)
        p = sdk.sdk_get_job(gid)["jobParameter"]
        self.assertEqual((p["worker_group"], p["route"]), ("py", "least_busy"))
        sdk.quartz_save("工人调度", "0 0 12 * * ?", biz)
        self.assertNotIn("worker_group", sdk.sdk_get_job(gid)["jobParameter"])

    def test_quartz_mistakes_are_errors_with_the_servers_code(self):
        with self.assertRaises(JobCenterError) as cm:
            sdk.quartz_save("坏", "not a cron", uuid.uuid4().hex)
        self.assertEqual((cm.exception.status, cm.exception.code), (400, "invalid"))
        self.assertIn("cron", cm.exception.message)
        with self.assertRaises(JobCenterError) as cm:
            sdk.quartz_query_journal("no-such-schedule")
        self.assertEqual((cm.exception.status, cm.exception.code), (404, "not_found"))
        with self.assertRaises(JobCenterError) as cm:
            sdk.quartz_query_journal("x", pagesize=0)
        self.assertEqual(cm.exception.status, 400)
        sdk.configure(tecode="")
        with self.assertRaises(JobCenterError) as cm:
            sdk.quartz_query_job_status("a")
        self.assertEqual(cm.exception.status, 400)
        self.assertIn("tecode", cm.exception.message)


NATS_URL = os.environ.get("JOBCENTER_NATS_URL")
WORKER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "py_worker.py")


class _WorkerProc:
    """tests/py_worker.py running as its own process in group, its output collected."""

    def __init__(self, test, group):
        import subprocess
        self.proc = subprocess.Popen([sys.executable, WORKER_SCRIPT, group], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.lines, self.id = [], None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        test.addCleanup(self.kill)
        m = eventually(lambda: next((re.match(r"worker ([0-9a-f]+) joined group", l) for l in list(self.lines)
                                     if l.startswith("worker ")), None) or self.proc.poll() is not None,
                       timeout=15, what="the Python worker never said it joined")
        if self.proc.poll() is not None and not isinstance(m, re.Match):
            raise AssertionError("the Python worker exited %s:\n%s" % (self.proc.returncode, self.output()))
        self.id = m.group(1)

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def output(self):
        return "\n".join(self.lines)

    def terminate(self, timeout=15):
        """SIGTERM: the worker leaves its group (Worker.stop) and exits; return its status."""
        import signal
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(5)
        self.proc.stdout.close()


def _online(group, ids, timeout=15):
    """Wait until the registry lists exactly the workers ids of group, in that order."""
    return eventually(lambda: (lambda ws: (ws or True) if [w["id"] for w in ws] == list(ids) else None)(sdk.get_workers(group)),
                      timeout=timeout, what="the registry listing %s in group %s (it has %s)"
                      % (ids, group, [w["id"] for w in sdk.get_workers(group)]))


def _ended(job_id, count=1, timeout=20):
    """Wait until the job has count runs ended; return its journal's entries, newest first."""
    def done():
        p = sdk.get_journal(job_id)
        ended = [e for e in p["data"] if e["exestatus"] in ("success", "failure")]
        return p["data"] if len(ended) >= count else None
    return eventually(done, timeout=timeout, what="%d ended runs of job %s in the journal" % (count, job_id))


class WorkerTest(Base):
    """Python workers (jobcenter_sdk.worker) against the center's NATS: JOBCENTER_NATS_URL."""

    def setUp(self):
        super().setUp()
        if not NATS_URL:
            self.skipTest("JOBCENTER_NATS_URL is not set: the worker tests need the center's NATS")

    def worker_job(self, name, flow, group, route=None, **kw):
        j = sdk.sdk_add_job(PID, name, "", "interval", seconds=3600, flow_id=flow, worker_group=group, route=route,
                            timeout=60, **kw)
        self.addCleanup(sdk.sdk_delete_job, j["id"])
        return j

    def test_a_python_worker_joins_runs_its_groups_flow_fails_with_the_exception_and_leaves_when_stopped(self):
        w = _WorkerProc(self, "py")
        workers = _online("py", [w.id])
        self.assertEqual((workers[0]["host"], workers[0]["handles"], workers[0]["capacity"], workers[0]["leaving"]),
                         ("py-test-host", ["py-fail", "py-hello", "py-shard", "py-slow"], 8, False))
        self.assertTrue(workers[0]["version"].startswith("jobcenter-sdk-python "), workers[0])
        self.assertIn({"group": "py", "workers": workers}, sdk.get_worker_groups())

        j = self.worker_job("Python 工人", "py-hello", "py")
        self.assertEqual((j["jobParameter"]["worker_group"], j["jobParameter"]["route"]), ("py", "round_robin"))
        events = sdk.follow_events(job_id=j["id"], kinds=["run"], timeout=30)
        sdk.sdk_exec_job(j["id"], params={"day": "2026-12-01"})
        e = _ended(j["id"])[0]
        self.assertEqual(e["exestatus"], "success", e)
        self.assertTrue(e["exedes"].startswith("worker %s on py-test-host\n" % w.id), e["exedes"])
        self.assertIn("hello from %s, run %s" % (w.id, e["dynamicid"]), e["exedes"])
        self.assertEqual(e["params"], {"day": "2026-12-01"})
        # The run's end carries the value the handler returned, as JSON.
        end = next(ev["data"] for ev in events if ev["data"].get("status") == "success")
        events.close()
        self.assertEqual(json.loads(end["result"]), {"worker": w.id, "params": {"day": "2026-12-01"}, "attempt": 1})

        bad = self.worker_job("Python 失败", "py-fail", "py", route="failover")
        sdk.sdk_exec_job(bad["id"])
        e = _ended(bad["id"])[0]
        self.assertEqual(e["exestatus"], "failure", e)
        self.assertTrue(e["exedes"].startswith("it failed, as asked\nworker %s" % w.id), e["exedes"])
        self.assertIn("about to fail", e["exedes"])
        self.assertIn("ValueError: it failed, as asked", e["exedes"])  # the traceback is in the run's log

        # A run the center stops (killed) is cancelled at the worker: its handler sees it.
        slow = self.worker_job("Python 慢", "py-slow", "py")
        started = sdk.exec_run(slow["id"])
        eventually(lambda: sdk.get_workers("py")[0]["running"] == 1, what="the worker's heartbeat showing its run under way")
        self.assertEqual(sdk.get_journal(slow["id"])["data"][0]["exestatus"], "running")
        sdk.kill_run(slow["id"], started["fireId"])
        eventually(lambda: any(l.startswith("run ") and "stopped: it was killed" in l for l in list(w.lines)),
                   what="the worker's handler seeing its run stopped:\n" + w.output())
        self.assertEqual(_ended(slow["id"])[0]["exestatus"], "failure")

        # Stopped (SIGTERM: Worker.stop), it leaves the group at once, and exits 0.
        self.assertEqual(w.terminate(), 0, w.output())
        self.assertEqual(sdk.get_workers("py"), [])
        self.assertNotIn("py", [g["group"] for g in sdk.get_worker_groups()])

    def test_two_python_workers_each_run_their_shard_of_a_sharded_run(self):
        a = _WorkerProc(self, "py-shards")
        _online("py-shards", [a.id])
        b = _WorkerProc(self, "py-shards")
        _online("py-shards", [a.id, b.id])
        j = self.worker_job("Python 分片", "py-shard", "py-shards", route="sharding")
        self.assertEqual(j["jobParameter"]["route"], "sharding")
        sdk.sdk_exec_job(j["id"])
        e = _ended(j["id"])[0]
        self.assertEqual(e["exestatus"], "success", e)
        for want in ("shard 0/2 on worker %s on py-test-host: success" % a.id,
                     "shard 1/2 on worker %s on py-test-host: success" % b.id,
                     "shard 0 of 2 on " + a.id, "shard 1 of 2 on " + b.id):
            self.assertIn(want, e["exedes"])
        self.assertEqual(a.terminate(), 0, a.output())
        self.assertEqual(b.terminate(), 0, b.output())

    def test_a_worker_in_a_thread_leaves_the_registry_when_stopped(self):
        from jobcenter_sdk.worker import Worker
        w = Worker(url=NATS_URL, tenant=os.environ["JOBCENTER_PROJECT"], key=os.environ.get("JOBCENTER_API_KEY"),
                   group="py-thread", capacity=2)
        w.handle("py-echo", lambda task: task.params)
        t = threading.Thread(target=w.run, daemon=True)
        t.start()
        self.addCleanup(w.stop)
        self.assertTrue(w.joined.wait(10), "the worker never joined")
        ws = _online("py-thread", [w.id])
        self.assertEqual((ws[0]["capacity"], ws[0]["handles"]), (2, ["py-echo"]))
        started = time.monotonic()
        w.stop()
        t.join(10)
        self.assertFalse(t.is_alive(), "run() did not return after stop()")
        _online("py-thread", [], timeout=3)
        self.assertLess(time.monotonic() - started, 5)

    def test_worker_options_are_checked(self):
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_add_job(PID, "无流程", "", "interval", seconds=3600, code="x = 1", worker_group="py")
        self.assertEqual((cm.exception.status, cm.exception.field), (400, "worker_group"))
        with self.assertRaises(JobCenterError) as cm:
            sdk.sdk_add_job(PID, "坏路由", "", "interval", seconds=3600, flow_id="f", worker_group="py", route="nearest")
        self.assertEqual((cm.exception.status, cm.exception.field), (400, "route"))
        with self.assertRaises(JobCenterError) as cm:
            sdk.get_workers("no such group")
        self.assertEqual(cm.exception.status, 400)
        self.assertEqual(sdk.get_workers("nobody-here"), [])
        j = self.worker_job("改组", "py-hello", "py", route="least_busy")
        kept = sdk.sdk_update_job(j["id"], "改组", "", "interval", seconds=3600, flow_id="py-hello")
        self.assertEqual((kept["jobParameter"]["worker_group"], kept["jobParameter"]["route"]), ("py", "least_busy"))
        off = sdk.sdk_update_job(j["id"], "改组", "", "interval", seconds=3600, flow_id="py-hello", worker_group="")
        self.assertNotIn("worker_group", off["jobParameter"])
        self.assertNotIn("route", off["jobParameter"])
        from jobcenter_sdk.worker import Worker, token
        self.assertEqual((token("P-1_x"), token("a.b"), token("")), ("P-1_x", "=YS5i", "="))
        with self.assertRaises(ValueError):
            Worker(url=NATS_URL, tenant="P", group="no spaces")


class _FakeNats:
    """A NATS server of one test's making on 127.0.0.1: each connection accepted is given
    to serve(conn, n) (n counts them from 0) on its own thread."""

    def __init__(self, test, serve):
        self.ln = socket.socket()
        self.ln.bind(("127.0.0.1", 0))
        self.ln.listen(4)
        self.url = "nats://127.0.0.1:%d" % self.ln.getsockname()[1]
        self.serve = serve
        threading.Thread(target=self._accept, daemon=True).start()
        test.addCleanup(self.ln.close)

    def _accept(self):
        n = 0
        while True:
            try:
                conn, _ = self.ln.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, n), daemon=True).start()
            n += 1

    def _serve(self, conn, n):
        with conn:
            conn.sendall(b'INFO {"server_id":"fake","max_payload":1048576}\r\n')
            try:
                self.serve(_Lines(conn), n)
            except OSError:
                pass


class _Lines:
    def __init__(self, conn):
        self.conn, self.buf = conn, b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.conn.recv(4096)
            if not chunk:
                raise OSError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def until(self, prefix):
        while True:
            line = self.line()
            if line.startswith("PING"):
                self.conn.sendall(b"PONG\r\n")
            if line.startswith(prefix):
                return line

    def send(self, data):
        self.conn.sendall(data)


class NatsProtocolTest(unittest.TestCase):
    """jobcenter_sdk._nats against fake servers: no center needed."""

    def setUp(self):
        import logging
        quiet = logging.getLogger("jobcenter_sdk.nats")  # the drops these tests make on purpose
        self.addCleanup(quiet.setLevel, quiet.level)
        quiet.setLevel(logging.ERROR)

    def test_a_refused_connect_raises_the_servers_error_and_sends_the_credentials(self):
        from jobcenter_sdk._nats import Connection, NatsError
        got = []

        def serve(c, n):
            got.append(json.loads(c.until("CONNECT ")[len("CONNECT "):]))
            c.send(b"-ERR 'Authorization Violation'\r\n")

        srv = _FakeNats(self, serve)
        with self.assertRaises(NatsError) as cm:
            Connection(srv.url, user="P", password="jc_key", reconnect=False)
        self.assertIn("Authorization Violation", str(cm.exception))
        self.assertEqual((got[0]["user"], got[0]["pass"], got[0]["verbose"], got[0]["headers"]), ("P", "jc_key", False, False))

    def test_messages_split_anywhere_are_delivered_whole_and_pings_are_answered(self):
        from jobcenter_sdk._nats import Connection
        pongs, published, errors = [], [], []

        def serve(c, n):
            c.until("CONNECT ")
            c.until("PING")
            sub = c.until("SUB ").split()
            self.assertEqual(sub[1], "a.b")
            sid = sub[2].encode()
            stream = (b"PING\r\n+OK\r\nMSG a.b " + sid + b" _INBOX.x 12\r\nhello\r\nworld\r\n"
                      b"-ERR 'Permissions Violation for Publish to \"x\"'\r\nMSG a.b " + sid + b" 0\r\n\r\n")
            for i in range(len(stream)):  # one byte a write: every read is partial
                c.send(stream[i:i + 1])
                time.sleep(0.001)
            pongs.append(c.until("PONG"))
            published.append((c.until("PUB "), c.line()))

        srv = _FakeNats(self, serve)
        nc = Connection(srv.url, reconnect=False, error_callback=errors.append)
        self.addCleanup(nc.close)
        msgs = []
        nc.subscribe("a.b", msgs.append)
        eventually(lambda: len(msgs) == 2, what="the two messages")
        self.assertEqual([(m.subject, m.reply, m.data) for m in msgs],
                         [("a.b", "_INBOX.x", b"hello\r\nworld"), ("a.b", None, b"")])
        eventually(lambda: pongs, what="the PONG to the server's PING")
        self.assertIn("Permissions Violation", str(errors[0]))
        nc.publish("_INBOX.x", b"ok")
        eventually(lambda: published, what="the reply")
        self.assertEqual(published[0], ("PUB _INBOX.x 2", "ok"))

    def test_it_reconnects_subscribes_again_and_sends_what_was_published_meanwhile(self):
        from jobcenter_sdk._nats import Connection
        second = []

        def serve(c, n):
            c.until("CONNECT ")
            c.until("PING")
            if n == 0:
                c.until("SUB ")
                return  # the connection drops
            sub = c.until("SUB ")
            second.append(sub)
            c.send(("MSG t.x %s 2\r\nhi\r\n" % sub.split()[2]).encode())
            second.append(c.until("PUB "))
            c.until("never")  # held open until the client closes

        srv = _FakeNats(self, serve)
        nc = Connection(srv.url, reconnect_wait=0.05)
        self.addCleanup(nc.close)
        msgs = []
        nc.subscribe("t.x", msgs.append)
        eventually(lambda: msgs, what="a message after the reconnect")
        self.assertEqual((second[0], msgs[0].data), ("SUB t.x 1", b"hi"))
        nc.publish("t.y", b"after")
        eventually(lambda: len(second) == 2, what="a publish after the reconnect")
        self.assertEqual(second[1], "PUB t.y 5")


if __name__ == "__main__":
    unittest.main()
