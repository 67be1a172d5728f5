"""Usage over time (from the daily snapshots) and one account's spend per month (from its
invoices), for the console's and the customer's charts."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal


from ..billing.dates import add_months
from ..billing.money import ZERO
import peewee as pw

from ..db import rows
from ..models import Account, AccountSnapshot, CreditNote, Invoice
from . import snapshots
from .currency import currency_column
from .mrr import MONTHS, month_ends

UNITS = ("devices", "locations", "seats")


def usage_days(today: dt.date, account_id=None, months: int = MONTHS) -> list[dt.date]:
    """The days usage is read on: the last day of each of the ``months`` - 1 months
    before this one, then the latest snapshot of this month (none if not taken yet)."""
    days = month_ends(today, months - 1)[:-1]
    latest = snapshots.latest_day(today, account_id)
    if latest is not None and latest >= today.replace(day=1):
        days.append(latest)
    return days


def totals_by_currency(today: dt.date,
                       months: int = MONTHS) -> dict[str, list[tuple[dt.date, dict[str, int]]]]:
    """Currency -> for each usage day (``usage_days``), the accounts' total devices,
    locations and seats: one grouped query (the latest day of this month a sub-select)."""
    past = month_ends(today, months - 1)[:-1]
    snap, cur = AccountSnapshot, currency_column()
    latest = (snap.select(pw.fn.MAX(snap.day))
              .where((snap.day <= today) & (snap.day >= today.replace(day=1))))
    query = (snap.select(snap.day, cur, *(pw.fn.SUM(getattr(snap, u)) for u in UNITS))
             .join(Account)
             .where(snap.day.in_(past) | (snap.day == latest))
             .group_by(snap.day, cur))
    found: dict[str, dict[dt.date, dict[str, int]]] = defaultdict(dict)
    for day, currency, *sums in rows(query):
        found[currency][day] = {u: int(v or 0) for u, v in zip(UNITS, sums, strict=True)}
    this_month = sorted({d for per in found.values() for d in per if d not in past})
    days = past + this_month[-1:]
    return {c: [(d, per.get(d, dict.fromkeys(UNITS, 0))) for d in days]
            for c, per in sorted(found.items())}


def of_account(account_id, today: dt.date) -> list[tuple[dt.date, dict[str, int]]]:
    """One account's devices, locations and seats on each usage day it has a snapshot."""
    days = usage_days(today, account_id)
    found = snapshots.history(days, account_id)
    return [(d, {u: getattr(found[d][account_id], u) for u in UNITS})
            for d in days if account_id in found[d]]


def spend_of_account(account_id, today: dt.date,
                     months: int = MONTHS) -> list[tuple[dt.date, Decimal, Decimal]]:
    """Each of the last ``months`` months (its first day), what was invoiced to the account
    in it and what was credited (two grouped queries)."""
    first = add_months(today.replace(day=1), -(months - 1))
    month_starts = [add_months(first, k) for k in range(months)]
    invoiced: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
    credited: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
    for issued_on, total in rows(Invoice.select(Invoice.issued_on, Invoice.total)
                             .where((Invoice.account == account_id) & (Invoice.issued_on >= first)
                                    & (Invoice.issued_on <= today))):
        invoiced[issued_on.replace(day=1)] += total
    for issued_on, amount in rows(CreditNote.select(CreditNote.issued_on, CreditNote.amount)
                              .join(Invoice)
                              .where((Invoice.account == account_id)
                                     & (CreditNote.issued_on >= first)
                                     & (CreditNote.issued_on <= today))):
        credited[issued_on.replace(day=1)] += amount
    return [(m, invoiced[m], credited[m]) for m in month_starts]
