"""The ``portal`` command: ``portal init``, ``portal demo``, ``portal run`` and Flask's own."""
from __future__ import annotations

import click
from flask.cli import FlaskGroup, with_appcontext

from . import clock, create_app


def init_app(app) -> None:
    """Add the portal's commands to ``flask``/``portal``."""
    app.cli.add_command(init_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(deliveries_group)
    app.cli.add_command(billing_group)
    app.cli.add_command(operators_group)
    app.cli.add_command(catalogue_group)
    app.cli.add_command(snapshots_group)
    app.cli.add_command(tokens_group)
    app.cli.add_command(import_command)


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
    """Load the demo data (idempotent; a year of billing history on a fresh database),
    print the logins and a billing command to try."""
    from . import demo
    from .db import migrate

    migrate()
    today = clock.today()
    if demo.load(today, history=True):
        click.echo("Loaded the demo with a year of billing history (invoices, receipts, a "
                   "credit note, a quote, a declined renewal, a past-due account).")
    else:
        click.echo("The demo data was already there: nothing added.")
    click.echo(demo.logins_text())
    click.echo(demo.next_billing_text(today))


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

    from .billing.renewals import run
    from .plugins import plugin_manager

    day = day.date() if day else clock.today()
    report = run(day, pm=plugin_manager(current_app), config=current_app.config)
    click.echo(report.summary())


@click.group("snapshots")
def snapshots_group():
    """The daily account snapshots the usage charts stand on."""


@snapshots_group.command("take")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Date the snapshots this day (YYYY-MM-DD); default: today.")
@with_appcontext
def snapshots_take_command(day):
    """Snapshot every account's usage and subscriptions (cron-friendly: idempotent per day)."""
    from .metrics import snapshots

    day = day.date() if day else clock.today()
    count = snapshots.take(day)
    click.echo(f"{count} snapshot(s) taken for {day:%Y-%m-%d}.")


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


@click.group("operators")
def operators_group():
    """Operators: the staff who run the portal (rule ACC-2)."""


@operators_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="The operator's name (default: the address's local part).")
@click.option("--password", default=None, hide_input=True,
              help="Asked twice when not given (prefer the prompt: a shell keeps history).")
@click.option("--invite", is_flag=True,
              help="Mail the operator a link (valid 7 days, single-use) to choose their own "
                   "password instead of asking for one; needs mail (PORTAL_SMTP_HOST) and "
                   "--url.")
@click.option("--url", "base_url", default="",
              help="The portal's public address for the mailed link, e.g. "
                   "https://portal.example.com (with --invite).")
@with_appcontext
def operators_create_command(email, name, password, invite, base_url):
    """Create an operator who logs in with EMAIL and a password asked twice, or, with
    --invite, who gets a mail to choose it.

    Exit codes: 0 created, 1 refused (address in use, weak password, not an address, no
    mail configured for --invite)."""
    from flask import current_app

    from .accounts import operators

    try:
        if invite:
            user = _invite_operator(current_app, email, name, base_url)
            click.echo(f"Operator {user.email} created; a mail with a link to choose a "
                       f"password (valid 7 days) is on its way.")
            return
        if password is None:
            password = click.prompt("Password", hide_input=True,
                                    confirmation_prompt="Repeat the password")
        user = operators.create(email, password, name=name)
    except operators.OperatorError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"Operator {user.email} created; they can log in now.")


def _invite_operator(app, email, name, base_url):
    """``operators.invite`` with the link made for ``base_url``; the mail goes through the
    notification channels (the notifier) once the operator is committed."""
    from flask import url_for

    from .accounts import operators, passwords

    if not app.config.get("SMTP_HOST"):
        raise operators.OperatorError("no_mail", "mail is not configured (set PORTAL_SMTP_HOST "
                                      "and the other PORTAL_SMTP_* settings), so no invitation "
                                      "can be sent; create the operator with a password")
    if not base_url.startswith(("http://", "https://")):
        raise operators.OperatorError("no_url", "give the portal's public address with --url "
                                      "(e.g. https://portal.example.com) for the mailed link")
    with app.test_request_context(base_url=base_url.rstrip("/")):
        user, events = operators.invite(
            email, lambda token: url_for("passwords.welcome", token=token, _external=True),
            name=name)
        passwords.emit_events(events)
    return user


@operators_group.command("list")
@with_appcontext
def operators_list_command():
    """List the operators: email, name, created."""
    from .accounts import operators

    rows = operators.listed()
    if not rows:
        click.echo("No operator yet: create one with `portal operators create EMAIL`.")
    for row in rows:
        click.echo(f"{row.email}\t{row.name}\t{row.created_at:%Y-%m-%d}")


@click.group("catalogue")
def catalogue_group():
    """The plan catalogue as a file (rules CAT-1..CAT-3; docs/catalogue.toml)."""


@catalogue_group.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@with_appcontext
def catalogue_apply_command(path, dry_run):
    """Make the catalogue say what PATH says (idempotent: re-applying changes nothing).

    Exit codes: 0 applied (or nothing to do), 1 the file was refused (nothing written)."""
    from pathlib import Path

    from .catalogue import CatalogueError, files

    try:
        specs = files.parse(Path(path).read_text(encoding="utf-8"), today=clock.today())
        done = files.apply(specs, dry_run=dry_run)
    except CatalogueError as exc:
        click.echo(f"Error: {exc} (nothing written)", err=True)
        raise SystemExit(1) from None
    prefix = "Would do: " if dry_run else ""
    for line in done:
        click.echo(f"{prefix}{line}")
    if not done:
        click.echo("The catalogue already says this: nothing to do.")
    elif dry_run:
        click.echo("Dry run: nothing written.")


@catalogue_group.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-",
              help="Write to this file (default: standard output).")
@with_appcontext
def catalogue_export_command(output):
    """Write the catalogue in the format `portal catalogue apply` reads."""
    from .catalogue import files

    with click.open_file(output, "w", encoding="utf-8") as out:
        out.write(files.export())


@click.group("tokens")
def tokens_group():
    """Operator tokens for the provisioning API (docs/api.md)."""


@tokens_group.command("create-operator")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True,
              help="A scope the token gets (repeat it): accounts:read, accounts:write, "
                   "subscriptions:write, catalogue:read, invitations:write; or 'all'.")
@with_appcontext
def tokens_create_operator_command(name, scopes):
    """Make an operator token NAME for the provisioning API and print it (shown once).

    Exit codes: 0 created, 1 refused (no name, unknown scope)."""
    from .accounts import operator_tokens

    if "all" in scopes:
        scopes = tuple(operator_tokens.SCOPES)
    try:
        token, plain = operator_tokens.create(name, scopes)
    except operator_tokens.TokenRefused as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"Operator token {token.name!r} ({token.scopes}); copy it now, it is not "
               "shown again:", err=True)
    click.echo(plain)


@tokens_group.command("list-operator")
@with_appcontext
def tokens_list_operator_command():
    """List the operator tokens: prefix, name, scopes, created, revoked."""
    from .accounts import operator_tokens

    for t in operator_tokens.listed():
        revoked = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "live"
        click.echo(f"{t.prefix}…\t{t.name}\t{t.scopes}\t{t.created_at:%Y-%m-%d}\t{revoked}")


@tokens_group.command("revoke-operator")
@click.argument("prefix")
@with_appcontext
def tokens_revoke_operator_command(prefix):
    """Revoke the live operator token whose shown prefix is PREFIX (e.g. pop_AbC123).

    Exit codes: 0 revoked, 1 no live token has that prefix."""
    from .accounts import operator_tokens
    from .models import OperatorToken

    found = [t for t in operator_tokens.listed()
             if t.prefix == prefix.rstrip("…") and t.revoked_at is None]
    if len(found) != 1:
        click.echo(f"Error: no single live operator token starts with {prefix!r}.", err=True)
        raise SystemExit(1)
    operator_tokens.revoke(OperatorToken.get_by_id(found[0].id))
    click.echo(f"Revoked {found[0].name!r}: calls with it are refused from now on.")


def _import_and_invite(stream, actor, dry_run: bool, base_url: str):
    """``importing.run``; with mail configured and ``base_url``, the admins' invitations
    (ACC-6) carry links to ``base_url`` and are mailed once their rows are committed."""
    from flask import current_app

    from .accounts import passwords
    from .importing import run
    from .views.invitations import link_for

    if not (base_url and current_app.config.get("SMTP_HOST")):
        return run(stream, actor=actor, dry_run=dry_run), False
    with current_app.test_request_context(base_url=base_url.rstrip("/")):
        report = run(stream, actor=actor, dry_run=dry_run, link_for=link_for)
        passwords.emit_events(report.events)
    return report, True


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and say what would be done; "
                                               "write nothing.")
@click.option("--operator", "operator_email", default=None,
              help="The operator doing the import, named in the audit log (default: the "
                   "only operator).")
@click.option("--url", "base_url", default="",
              help="The portal's public address for the links of the admins' invitation "
                   "mails, e.g. https://portal.example.com; without it (or without mail) "
                   "the invitations are made but not mailed: resend them from the console.")
@with_appcontext
def import_command(path, dry_run, operator_email, base_url):
    """Import existing customers from the CSV file PATH (columns: docs/importing.md).

    Each row is one account with its subscription and admins, in its own transaction;
    re-running the file imports nothing twice. Exit codes: 0 every row imported (or
    already there), 1 some rows refused (the others landed; a dry run wrote nothing),
    2 the file or the operator was refused (nothing done)."""
    import csv

    from .importing import FileRefused
    from .models import User

    operators = User.select().where(User.is_operator == True)  # noqa: E712
    if operator_email:
        operators = operators.where(User.email == operator_email.strip().lower())
    found = list(operators.limit(2))
    if len(found) != 1:
        click.echo("Error: " + (f"no operator has the address {operator_email}" if
                                operator_email else "name the operator doing the import with "
                                "--operator EMAIL (create one: `portal operators create`)"),
                   err=True)
        raise SystemExit(2)
    if base_url and not base_url.startswith(("http://", "https://")):
        click.echo("Error: --url is the portal's public address, e.g. "
                   "https://portal.example.com (nothing imported)", err=True)
        raise SystemExit(2)
    try:
        with open(path, encoding="utf-8-sig", newline="") as stream:
            report, mailed = _import_and_invite(stream, found[0], dry_run, base_url)
    except (FileRefused, UnicodeDecodeError, csv.Error) as exc:
        if isinstance(exc, UnicodeDecodeError):
            exc = "the file is not UTF-8 text (save the CSV as UTF-8)"
        click.echo(f"Error: {exc} (nothing imported)", err=True)
        raise SystemExit(2) from None
    for outcome in report.outcomes:
        for line in outcome.lines():
            click.echo(line)
    click.echo(report.summary())
    if report.events and mailed:
        click.echo(f"{len(report.events)} admin invitation(s) mailed (links valid 7 days).")
    elif report.events:
        click.echo(f"{len(report.events)} admin invitation(s) made but not mailed ("
                   + ("mail is not configured" if base_url else "no --url given")
                   + "): resend each from its account's page in the operator console "
                     "(People), or import with mail configured and --url next time.")
    if report.failed:
        raise SystemExit(1)


def _create_app(*_args, **_kwargs):
    """The app, or one line on stderr and exit code 2 when a setting is refused."""
    from .config import ConfigurationError

    try:
        return create_app()
    except ConfigurationError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(2) from None


@click.group(cls=FlaskGroup, create_app=_create_app)
def main():
    """Manage the portal: init, demo, run, routes, shell."""
