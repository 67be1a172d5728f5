"""Usage over time (from the daily snapshots) and one account's spend per month (from its
invoices), for the console's and the customer's charts."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal


from ..billing.dates import add_months
from ..billing.money import ZERO
from ..db import rows
from ..models import CreditNote, Invoice
from . import snapshots
from .currency import currencies_of
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


def totals_by_currency(today: dt.date) -> dict[str, list[tuple[dt.date, dict[str, int]]]]:
    """Currency -> for each usage day, the accounts' total devices, locations and seats."""
    days = usage_days(today)
    found = snapshots.history(days)
    accounts = {a for per in found.values() for a in per}
    currency = currencies_of(accounts) if accounts else {}
    result: dict[str, list] = {}
    for cur in sorted(set(currency.values())):
        result[cur] = [(d, {u: sum(getattr(s, u) for a, s in found[d].items()
                                   if currency[a] == cur) for u in UNITS}) for d in days]
    return result


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
