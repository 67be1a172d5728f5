"""The huey worker's entry point: ``huey_consumer portal.worker.huey --periodic``.

The one place that builds the app for background jobs: a task that runs outside any app
context (in the consumer) runs in ``create_app()``, built once per process. ``portal.jobs``
defines the tasks and queues them but never imports ``create_app``: the mail layer
(``portal.notifications``) queues its deliveries through it, and ``create_app`` imports
every view, which would put the views below the mail layer (docs/decisions.md, "The huey
worker builds the app").
"""
from . import create_app, jobs, periodic  # noqa: F401 (periodic: its tasks register)
from .jobs import huey

jobs.use_app_factory(create_app)

__all__ = ["huey"]
