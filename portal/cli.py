"""The ``portal`` command: ``portal init``, ``portal demo``, ``portal run`` and Flask's own."""
from __future__ import annotations

import click
from flask.cli import FlaskGroup, with_appcontext

from . import create_app


def init_app(app) -> None:
    """Add the portal's commands to ``flask``/``portal``."""
    app.cli.add_command(init_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(deliveries_group)
    app.cli.add_command(billing_group)


@click.command("init")
@with_appcontext
def init_command():
    """Create the database or bring it up to date (apply pending migrations)."""
    from .db import migrate

    applied = migrate()
    click.echo(f"Database ready ({len(applied)} migration(s) applied).")


@click.command("demo")
@with_appcontext
def demo_command():
    """Load the demo accounts and users (idempotent) and print the logins."""
    from . import demo
    from .db import migrate

    migrate()
    demo.load()
    click.echo(demo.logins_text())


@click.group("billing")
def billing_group():
    """The billing engine: renewals, invoices, charges and dunning."""


@billing_group.command("run")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Bill as of this day (YYYY-MM-DD); default: today.")
@with_appcontext
def billing_run_command(day):
    """Bill every subscription due by the day; safe to run on several workers at once."""
    from flask import current_app

    from . import clock
    from .billing.renewals import run
    from .plugins import plugin_manager

    day = day.date() if day else clock.today()
    report = run(day, pm=plugin_manager(current_app), config=current_app.config)
    click.echo(report.summary())


@click.group("deliveries")
def deliveries_group():
    """Notification deliveries (see Operator > Deliveries)."""


@deliveries_group.command("retry")
@with_appcontext
def deliveries_retry_command():
    """Send again every failed delivery and any whose job was lost (cron-friendly)."""
    from .notifications import retry_due

    count = retry_due(gave_up=True)
    click.echo(f"{count} delivery(ies) queued again.")


def _create_app(*_args, **_kwargs):
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def main():
    """Manage the portal: init, demo, run, routes, shell."""
