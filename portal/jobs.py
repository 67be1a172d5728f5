"""Background jobs on huey: billing runs, notification deliveries, PDF rendering.

PORTAL_JOBS picks where jobs run:
- ``immediate`` (the embedded default): in the process that enqueues them, at once;
- ``sqlite:///path/huey.sqlite3``: a huey queue on SQLite, run by ``huey_consumer
  portal.jobs.huey``;
- ``postgresql://...``: a huey queue in PostgreSQL (SqlHuey), for several hosts;
- ``redis://host:port/db``: huey on Redis.

Every task runs inside an app context (``create_app()``), so it sees the database and
the plugins as a request would.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from functools import wraps

from flask import current_app, has_app_context
from huey import MemoryHuey, RedisHuey, SqliteHuey


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

_worker_app = []


@contextmanager
def app_context():
    """The current app's context, or a worker's own app built once per process."""
    if has_app_context():
        yield current_app
        return
    if not _worker_app:
        from . import create_app

        _worker_app.append(create_app())
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


@huey.task()
@with_app
def deliver_notification(app, notification):
    """Send one notification to every enabled channel."""
    from .notifications import broadcast
    from .plugins import plugin_manager

    return broadcast(plugin_manager(app), app.config, notification)
