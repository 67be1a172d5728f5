"""Importing existing customers (issue #16 item 5, rule ONB-1): ``portal import
customers.csv``. A workflow above the services: each row opens an account
(``accounts.onboarding``), starts its subscription (``catalogue.start_subscription``), puts
its admins in (``accounts.memberships``) and grandfathers it (``payments.grandfather``,
PAY-4) -- the same services and checks as the console and the API, nothing else.

A dry run checks every row and writes nothing. A real run commits each row in its own
transaction: a refused row is reported with its line and columns and leaves nothing
behind; the others land. Re-running a file imports nothing twice: a row whose account
exists (by its external reference when the row has one, else by its exact name) is
"already imported" and left as it is. The columns: docs/importing.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO

import peewee as pw

from ..accounts import memberships, onboarding
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

    def lines(self) -> list[str]:
        if self.status != "refused":
            return [f"line {self.line}: {self.text}"]
        return [f"line {self.line}: {self.text}"] + [
            f"line {self.line}, {column}: {message}" for column, message in self.errors.items()]


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = False

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


def run(stream: IO[str], *, actor: User, dry_run: bool = False) -> Report:
    """Import every row of ``stream`` (a CSV file with a header), as the operator ``actor``
    (named in every audit entry); FileRefused, having read no row, if the header is wrong."""
    report = Report(dry_run=dry_run)
    seen: dict[tuple, int] = {}
    for row in read(stream):
        report.outcomes.append(_outcome(row, seen, actor, dry_run))
    return report


def _outcome(row: Row, seen: dict, actor: User, dry_run: bool) -> Outcome:
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
        account = _create(row, actor)
    except onboarding.AccountRefused as refused:
        return Outcome(row.line, "refused", "refused, nothing written", refused.errors)
    except CatalogueError as refused:
        return Outcome(row.line, "refused", "refused, nothing written",
                       {COLUMN_OF.get(refused.field, refused.field): refused.message})
    except pw.DatabaseError as refused:  # e.g. another import made the same account
        return Outcome(row.line, "refused", "refused, nothing written",
                       {"row": f"the database refused the row ({refused})"})
    except (memberships.MembershipError, PaymentError) as refused:
        column = "admin_emails" if isinstance(refused, memberships.MembershipError) \
            else "grandfathered"
        return Outcome(row.line, "refused", "refused, nothing written",
                       {column: refused.message})
    return Outcome(row.line, "created",
                   f"created account #{account.id} {account.name} with {row.summary()}")


def _create(row: Row, actor: User) -> Account:
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
        for email in row.admins:
            welcome_admin(account, email, actor=actor, via=via)
        if row.grandfathered_since is not None:
            grandfather(account, actor, row.grandfathered_since, via)
    return account


def welcome_admin(account: Account, email: str, *, actor: User, via: str) -> None:
    """The account's admin from the file's admins' emails column.

    INVITATIONS (ACC-6): the one place to switch once branch ``invites`` is merged: send
    the admin an invitation (portal/accounts/invitations.py) instead. Until then the admin
    is a membership whose login has no usable password (memberships.UNUSABLE_PASSWORD):
    they set one through "Forgot your password?" or an invitation sent later."""
    memberships.add_membership(account, email, role=Role.ADMIN, actor=actor.id, via=via)
