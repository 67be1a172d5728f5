"""Periodic jobs that call a service, registered on ``portal.jobs.huey`` by the worker's
entry point (portal/worker.py imports this module).

They cannot sit in ``portal.jobs`` itself: the mail layer (``portal.notifications``)
queues its deliveries through that module, and a service beside the mail layer must not
be reachable from it (the layers of .importlinter). The billing run is in ``portal.jobs``
because the billing engine is below every service.
"""
from __future__ import annotations

from huey import crontab

from .jobs import huey, with_app


# --- metrics (issue #18.5): each account's usage and subscription state, once a day ---
@huey.periodic_task(crontab(hour="0", minute="30"))
@with_app
def daily_snapshots(app):
    """Take today's account snapshots (portal/metrics/snapshots.py); idempotent per day."""
    from . import clock
    from .metrics import snapshots

    return snapshots.take(clock.today())


# --- the provisioning API's Idempotency-Key answers (issue #16.4): kept 24 hours ---
@huey.periodic_task(crontab(minute="15"))
@with_app
def purge_idempotency_keys(app):
    """Delete the kept answers older than 24 hours (each write also deletes them)."""
    from .views import idempotency

    return idempotency.purge()
