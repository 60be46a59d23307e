"""Run one of the seed's example snippets (examples/*.py) against a live Job Center.

The snippet runs as the seed runs it: the sdk_* functions are already in its scope (the
seed's "global sdk_..." lines, removed from the files, are how its platform provides
them). SEED_IDS, a JSON object, may map the example ids the seed hard-codes to ids of
jobs that exist on the server; the job id a snippet passes is looked up there first.

Prints one JSON object: {"vars": the snippet's variables, "error": the JobCenterError
it raised, or null}. Any other exception fails the run (exit status 1).
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import jobcenter_sdk  # noqa: E402

SDK = ["sdk_add_job", "sdk_get_job", "sdk_get_jobs", "sdk_start_job", "sdk_stop_job",
       "sdk_exec_job", "sdk_update_job", "sdk_delete_job"]


def provided(aliases):
    """The sdk_* functions as a snippet sees them, with the example ids mapped."""
    def wrap(fn):
        def call(*args, **kwargs):
            if args and isinstance(args[0], str):
                args = (aliases.get(args[0], args[0]),) + args[1:]
            for k in ("id", "job_id"):
                if isinstance(kwargs.get(k), str):
                    kwargs[k] = aliases.get(kwargs[k], kwargs[k])
            return fn(*args, **kwargs)
        call.__name__ = fn.__name__
        return call
    fns = {name: getattr(jobcenter_sdk, name) for name in SDK}
    return {name: fn if name in ("sdk_add_job", "sdk_get_jobs") else wrap(fn) for name, fn in fns.items()}


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        source = f.read()
    scope = {"__name__": "__snippet__"}
    scope.update(provided(json.loads(os.environ.get("SEED_IDS") or "{}")))
    error = None
    try:
        exec(compile(source, path, "exec"), scope)
    except jobcenter_sdk.JobCenterError as e:
        error = {"status": e.status, "code": e.code, "message": e.message, "field": e.field}
    out = {k: v for k, v in scope.items() if not k.startswith("__") and k not in SDK}
    json.dump({"vars": out, "error": error}, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
