"""Importing existing customers (issue #16 item 5, rule ONB-1): ``portal import
customers.csv``. A workflow above the services: each row opens an account
(``accounts.onboarding``), starts its subscription (``catalogue.start_subscription``), puts
invites its admins (``accounts.invitations``, ACC-6) and grandfathers it (``payments.grandfather``,
PAY-4) -- the same services and checks as the console and the API, nothing else.

A dry run checks every row and writes nothing. A real run commits each row in its own
transaction: a refused row is reported with its line and columns and leaves nothing
behind; the others land. Re-running a file imports nothing twice: a row whose account
exists (by its external reference when the row has one, else by its exact name) is
"already imported" and left as it is. The columns: docs/importing.md.

The admins' invitations are mailed once their row is committed (``Report.events``, the
caller emits them) when the caller gives ``link_for``; without it (no mail or no public
address configured) the invitations are made all the same and an operator resends them
from the account's page, which makes the links then.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO

import peewee as pw

from ..accounts import invitations, memberships, onboarding, seats
from ..catalogue import CatalogueError, start_subscription
from ..db import write_transaction
from ..models import Account, User
from ..payments import PaymentError, grandfather
from ..statuses import Role
from .rows import COLUMN_OF, COLUMNS, FileRefused, Row, read

__all__ = ["COLUMNS", "FileRefused", "Outcome", "Report", "run"]


@dataclass(frozen=True)
class Outcome:
    """What became of one row: ``status`` is created, would_create, already or refused."""

    line: int
    status: str
    text: str
    errors: dict = field(default_factory=dict)
    events: tuple = ()  # the admins' invitations to mail (ACC-6)

    def lines(self) -> list[str]:
        if self.status != "refused":
            return [f"line {self.line}: {self.text}"]
        return [f"line {self.line}: {self.text}"] + [
            f"line {self.line}, {column}: {message}" for column, message in self.errors.items()]


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = False

    @property
    def events(self) -> list:
        """The invitations of every created row, to emit (mail) now that they are in."""
        return [e for o in self.outcomes for e in o.events]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> bool:
        return self.count("refused") > 0

    def summary(self) -> str:
        made = (f"{self.count('would_create')} would be created" if self.dry_run
                else f"{self.count('created')} created")
        text = (f"{len(self.outcomes)} row(s): {made}, {self.count('already')} already "
                f"imported, {self.count('refused')} refused")
        return text + (". Dry run: nothing written." if self.dry_run else ".")


def existing(row: Row) -> Account | None:
    """The account a row was imported as: the one with its external reference when the
    row gives one, else the one with exactly its name."""
    if row.external_ref:
        return Account.get_or_none(Account.external_ref == row.external_ref)
    return Account.get_or_none(Account.name == row.name) if row.name else None


def unmailed(token: str) -> str:
    """No link: the invitation is made but not mailed (resent from the console)."""
    return ""


def run(stream: IO[str], *, actor: User, dry_run: bool = False, link_for=unmailed) -> Report:
    """Import every row of ``stream`` (a CSV file with a header), as the operator ``actor``
    (named in every audit entry); FileRefused, having read no row, if the header is wrong.
    ``link_for(token)`` makes the absolute link of an admin's invitation mail."""
    report = Report(dry_run=dry_run)
    seen: dict[tuple, int] = {}
    for row in read(stream):
        report.outcomes.append(_outcome(row, seen, actor, dry_run, link_for))
    return report


def _outcome(row: Row, seen: dict, actor: User, dry_run: bool, link_for) -> Outcome:
    key = ("external_ref", row.external_ref) if row.external_ref else ("name", row.name)
    if row.name and key in seen:
        return Outcome(row.line, "refused", "refused", {
            key[0]: f"the same account as line {seen[key]}: one row per account"})
    seen.setdefault(key, row.line)
    found = existing(row)
    if found is not None:
        return Outcome(row.line, "already",
                       f"already imported (account #{found.id} {found.name}): left as it is")
    if row.errors:
        return Outcome(row.line, "refused", "refused, nothing written", row.errors)
    if dry_run:
        return Outcome(row.line, "would_create",
                       f"would create account {row.name} with {row.summary()}")
    try:
        account, events = _create(row, actor, link_for)
    except onboarding.AccountRefused as refused:
        return Outcome(row.line, "refused", "refused, nothing written", refused.errors)
    except CatalogueError as refused:
        return Outcome(row.line, "refused", "refused, nothing written",
                       {COLUMN_OF.get(refused.field, refused.field): refused.message})
    except pw.DatabaseError as refused:  # e.g. another import made the same account
        return Outcome(row.line, "refused", "refused, nothing written",
                       {"row": f"the database refused the row ({refused})"})
    except seats.SeatsFull as full:
        return Outcome(row.line, "refused", "refused, nothing written", {
            "admin_emails": f"more admins than users subscribed: the subscription needs "
                            f"{full.needed} users for them"})
    except (memberships.MembershipError, PaymentError) as refused:
        column = "admin_emails" if isinstance(refused, memberships.MembershipError) \
            else "grandfathered"
        return Outcome(row.line, "refused", "refused, nothing written",
                       {column: refused.message})
    return Outcome(row.line, "created",
                   f"created account #{account.id} {account.name} with {row.summary()}",
                   events=events)


def _create(row: Row, actor: User, link_for) -> tuple[Account, tuple]:
    """One row in one transaction: every part of it lands, or none."""
    via = f"import line {row.line}"
    with write_transaction():
        account = onboarding.open_account(row.name, **row.account,
                                          negotiated=row.negotiated is not None,
                                          external_ref=row.external_ref, actor=actor, via=via)
        assert row.plan is not None and row.start is not None  # rows with errors stop earlier
        start_subscription(account, row.plan, interval=row.interval, quantity=row.quantity,
                           addons=row.addons, start=row.start, first_payment=row.first_payment,
                           negotiated=row.negotiated, actor=actor)
        events: tuple = ()
        for email in row.admins:
            events += invite_admin(account, email, link_for, actor=actor, via=via)
        if row.grandfathered_since is not None:
            grandfather(account, actor, row.grandfathered_since, via)
    return account, events


def invite_admin(account: Account, email: str, link_for, *, actor: User, via: str) -> tuple:
    """Invite the account's admin from the file's admins' emails column (ACC-6, ONB-1):
    they join by the mailed link, setting their own password (or with their login
    elsewhere). Returns the events that mail the invitation."""
    return invitations.invite(account, email, link_for, role=Role.ADMIN, actor=actor.id,
                              via=via).events
