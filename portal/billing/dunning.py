"""Dunning: what happens when a charge fails (issue 6, point 4).

PORTAL_DUNNING_DAYS (default "3,5,7") is the number of days between a failed charge and
each retry: failed on day D, retried on D+3, D+8 and D+15. Each failure notifies the
account's admins. When the last retry fails the invoice stays in dunning with no further
attempt and the account becomes past due: the portal shows a banner with "update card"
and "pay now", and past-due admins keep their invoices and cards. The account is active
again as soon as no invoice of it has exhausted its retries.
"""
from __future__ import annotations

import datetime as dt

import peewee as pw

from ..models import Account, Invoice
from ..statuses import AccountStatus, InvoiceStatus

DEFAULT_DAYS = (3, 5, 7)


def retry_days(config) -> tuple[int, ...]:
    """The retry schedule from configuration, as whole positive days."""
    raw = config.get("DUNNING_DAYS", DEFAULT_DAYS)
    if isinstance(raw, str):
        raw = [p for p in raw.split(",") if p.strip()]
    try:
        days = tuple(int(str(p).strip()) for p in raw)
    except ValueError:
        raise ValueError(f"PORTAL_DUNNING_DAYS={raw!r}: use whole days, e.g. 3,5,7") from None
    if any(d <= 0 for d in days):
        raise ValueError(f"PORTAL_DUNNING_DAYS={raw!r}: every delay must be at least 1 day")
    return days


def exhausted():
    """Invoices whose retries are used up (the account is past due because of them)."""
    return (Invoice.status == InvoiceStatus.DUNNING) & Invoice.next_attempt_on.is_null()


def record_failure(invoice: Invoice, *, day: dt.date, config) -> dt.date | None:
    """Count one failed collection of ``invoice`` (inside a transaction).

    Return the day of the next retry, or None when the schedule is used up, in which
    case the account is now past due.
    """
    schedule = retry_days(config)
    invoice.dunning_step += 1
    invoice.status, invoice.hold_reason = InvoiceStatus.DUNNING, ""
    if invoice.dunning_step <= len(schedule):
        invoice.next_attempt_on = day + dt.timedelta(days=schedule[invoice.dunning_step - 1])
    else:
        invoice.next_attempt_on = None
        (Account.update(status=AccountStatus.PAST_DUE)
         .where((Account.id == invoice.account_id)
                & (Account.status != AccountStatus.PAST_DUE)).execute())
    invoice.save()
    return invoice.next_attempt_on


def recover_many(account_ids) -> int:
    """Make past-due accounts active again once nothing of theirs is exhausted (one
    statement for them all); return how many."""
    blocking = Invoice.select().where((Invoice.account == Account.id) & exhausted())
    return (Account.update(status=AccountStatus.ACTIVE)
            .where(Account.id.in_(list(account_ids)) & (Account.status == AccountStatus.PAST_DUE)
                   & ~pw.fn.EXISTS(blocking)).execute())


def recover(account_id) -> bool:
    """Make a past-due account active again once nothing of it is exhausted; True if so."""
    return bool(recover_many([account_id]))


def due_retries(day: dt.date):
    """Invoices in dunning whose next retry is due on ``day`` (oldest first)."""
    return (Invoice.select(Invoice.id)
            .where((Invoice.status == InvoiceStatus.DUNNING) & (Invoice.next_attempt_on <= day))
            .order_by(Invoice.next_attempt_on, Invoice.id))


def is_past_due(account: Account) -> bool:
    return account.status == AccountStatus.PAST_DUE
