"""Tests of jobcenter_sdk against a live Job Center (e.g. `make run`).

Settings come from the environment, as the SDK reads them: JOBCENTER_URL (required, else
every test is skipped), JOBCENTER_PROJECT, JOBCENTER_USER, JOBCENTER_API_KEY and
JOBCENTER_TECODE. When the server has keys on, JOBCENTER_TEST_TECODE_KEY is the key of
the tecode tenant (the Quartz tests use it). Run: python3 -m unittest -v tests/test_sdk.py
"""

import datetime
import json
import os
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
            ("trigger", dict(trigger="cron", code="x = 1")),
            ("code", dict(trigger="interval")),
            ("flow_id", dict(trigger="interval", code="x = 1", flow_id="f")),
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

    def test_the_cron_preview(self):
        self.assertEqual(sdk.cron_next("0 30 2 * * ?", tz="America/New_York", from_="2025-03-08T00:00:00-05:00", count=3),
                         ["2025-03-08T02:30:00-05:00", "2025-03-10T02:30:00-04:00", "2025-03-11T02:30:00-04:00"])
        self.assertEqual(len(sdk.cron_next("0/15 * * * * ?")), 5)
        with self.assertRaises(JobCenterError) as cm:
            sdk.cron_next("61 * * * * ?")
        self.assertEqual((cm.exception.status, cm.exception.field), (400, "expr"))


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


if __name__ == "__main__":
    unittest.main()
