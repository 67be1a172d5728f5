"""The ``portal`` command: ``portal init``, ``portal demo``, ``portal run`` and Flask's own."""
from __future__ import annotations

import click
from flask.cli import FlaskGroup, with_appcontext

from . import create_app


def init_app(app) -> None:
    """Add the portal's commands to ``flask``/``portal``."""
    app.cli.add_command(init_command)
    app.cli.add_command(demo_command)


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


def _create_app(*_args, **_kwargs):
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def main():
    """Manage the portal: init, demo, run, routes, shell."""
