"""A Python worker for tests/test_sdk.py, run as its own process:

    JOBCENTER_NATS_URL=nats://127.0.0.1:4222 JOBCENTER_PROJECT=P python3 tests/py_worker.py GROUP

It joins GROUP of the project (its NATS password the project's JOBCENTER_API_KEY), prints
"worker <id> joined group <group>" once it has, and runs until SIGTERM, then leaves its
group and exits 0. Its flows: "py-hello" logs and returns its worker and params, "py-fail"
raises, "py-shard" returns its shard, "py-slow" runs until the center stops it (printing
"run <run_id> stopped: <reason>").
"""

import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from jobcenter_sdk.worker import Worker  # noqa: E402

w = Worker(url=os.environ["JOBCENTER_NATS_URL"], tenant=os.environ["JOBCENTER_PROJECT"],
           key=os.environ.get("JOBCENTER_API_KEY"), group=sys.argv[1], host="py-test-host")


@w.handle("py-hello")
def hello(task):
    task.log("hello from %s, run %s" % (w.id, task.run_id))
    task.progress(1)
    return {"worker": w.id, "params": task.params, "attempt": task.attempt}


@w.handle("py-fail")
def fail(task):
    task.log("about to fail")
    raise ValueError("it failed, as asked")


@w.handle("py-shard")
def shard(task):
    task.log("shard %d of %d on %s" % (task.shard["index"], task.shard["total"], w.id))
    return task.shard["index"]


@w.handle("py-slow")
def slow(task):
    i = 0
    while not task.wait(0.2):
        task.log("tick %d" % i)
        i += 1
    print("run %s stopped: %s" % (task.run_id, task.cancel_reason), flush=True)
    return "stopped"


def say_joined():
    if w.joined.wait(30):
        print("worker %s joined group %s" % (w.id, w.group), flush=True)


threading.Thread(target=say_joined, daemon=True).start()
w.run()
print("worker %s left" % w.id, flush=True)
