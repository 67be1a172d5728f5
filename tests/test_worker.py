"""The huey worker's entry point (issue #14 items 3 and 6): ``portal.worker`` is the one
place that builds the app for background jobs; ``portal.jobs`` never does, which keeps the
mail layer below the views (.importlinter, tests/test_layers.py)."""
import secrets
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    from portal import jobs

    try:  # a consumer started on portal.jobs.huey has no app to run a task in
        jobs.retry_stalled_deliveries.call_local()
    except RuntimeError as exc:
        print("refused:", exc)

    import portal.worker
    from portal.db import migrate

    assert portal.worker.huey is jobs.huey  # what huey_consumer loads
    with jobs.app_context() as app:  # built by the worker's factory, once per process
        migrate()
        print("built:", app.name, app.config["DATABASE_URL"].startswith("sqlite"))
    print("ran:", jobs.retry_stalled_deliveries.call_local())
    with jobs.app_context() as again:
        print("same app:", again is app)
""")


def test_jobs_run_in_the_app_the_worker_entry_point_builds(tmp_path):
    env = {"PORTAL_SECRET_KEY": secrets.token_hex(32), "PATH": "/usr/bin:/bin",
           "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/worker.sqlite3",
           "PORTAL_INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("refused:") and "huey_consumer portal.worker.huey" in lines[0]
    assert lines[1:] == ["built: portal True", "ran: 0", "same app: True"]
