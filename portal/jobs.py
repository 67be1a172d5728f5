"""Background jobs on huey: billing runs, notification deliveries, PDF rendering.

PORTAL_JOBS picks where jobs run:
- ``immediate`` (the embedded default): in the process that enqueues them, at once;
- ``sqlite:///path/huey.sqlite3``: a huey queue on SQLite, run by ``huey_consumer
  portal.worker.huey``;
- ``postgresql://...``: a huey queue in PostgreSQL (SqlHuey), for several hosts;
- ``redis://host:port/db``: huey on Redis.

Every task runs inside an app context, so it sees the database and the plugins as a
request would: the enqueuing app's own (immediate mode, tests), else the worker's app,
built once per process by the factory that ``portal.worker`` (the consumer's entry point)
hands over with ``use_app_factory``. This module never builds the app itself: it sits
below the views (the mail layer queues through it), and ``create_app`` imports them all.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from functools import wraps

from flask import current_app, has_app_context
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab


def make_huey(url: str | None = None):
    """A huey instance for ``url`` (see the module docstring)."""
    url = url if url is not None else os.environ.get("PORTAL_JOBS", "immediate")
    if url in ("", "immediate"):
        return MemoryHuey("portal", immediate=True)
    if url.startswith("sqlite:///"):
        return SqliteHuey("portal", filename=url[len("sqlite:///"):])
    if url.startswith("redis://"):
        return RedisHuey("portal", url=url)
    if url.startswith(("postgres://", "postgresql://")):
        from huey.contrib.sql_huey import SqlHuey

        return SqlHuey("portal", database=url)
    raise RuntimeError(f"PORTAL_JOBS={url!r}: use 'immediate', sqlite:///, postgresql:// "
                       "or redis://")


huey = make_huey()

_worker_app: list = []
_app_factory: list = []


def use_app_factory(factory) -> None:
    """Build the worker's app with ``factory`` (``portal.create_app``), once, on the first
    task that runs outside any app context. Called by ``portal.worker``."""
    _app_factory[:] = [factory]
    _worker_app.clear()


@contextmanager
def app_context():
    """The current app's context, or the worker's own app built once per process."""
    if has_app_context():
        yield current_app
        return
    if not _worker_app:
        if not _app_factory:
            raise RuntimeError("no app to run this job in: start the worker with "
                               "`huey_consumer portal.worker.huey` (not portal.jobs.huey)")
        _worker_app.append(_app_factory[0]())
    app = _worker_app[0]
    with app.app_context():
        from .db import db

        with db.connection_context():
            yield app


def with_app(fn):
    """Run a task body inside ``app_context()``; the app is passed as first argument."""

    @wraps(fn)
    def wrapped(*args, **kwargs):
        with app_context() as app:
            return fn(app, *args, **kwargs)

    return wrapped


# Notification deliveries: one job per (notification, channel), retried with backoff
# (1, 2, 4, 8, 16 minutes); see portal/notifications/.
DELIVERY_RETRIES = 5
DELIVERY_RETRY_DELAY = 60


@huey.task(retries=DELIVERY_RETRIES, retry_delay=DELIVERY_RETRY_DELAY, retry_backoff=2,
           context=True)
@with_app
def deliver(app, delivery_id, task=None):
    """Send one recorded delivery through its channel; raise so huey retries a failure."""
    from .notifications import attempt
    from .plugins import plugin_manager

    return attempt(plugin_manager(app), app.config, delivery_id,
                   retries_left=task.retries if task else 0,
                   retry_delay=task.retry_delay if task else 0)


@huey.periodic_task(crontab(minute="*/15"))
@with_app
def retry_stalled_deliveries(app):
    """Queue again deliveries whose retries were lost (a consumer restarted, a queue flushed)."""
    from .notifications import retry_due

    return retry_due()


# --- billing (issue 6): the daily billing run; several consumers may run it at once ---
@huey.periodic_task(crontab(hour="2", minute="5"))
@with_app
def daily_billing_run(app):
    """Bill every subscription due today (portal/billing/renewals.py)."""
    from . import clock
    from .billing.renewals import run
    from .plugins import plugin_manager

    return run(clock.today(), pm=plugin_manager(app), config=app.config).summary()

