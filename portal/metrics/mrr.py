"""MRR and its movements (rules MET-1, MET-2), per currency, from the billing records.

- **Today** (MET-1): each active, non-trial subscription's recurring price, the plan's
  units and add-on licenses at the prices it pays, an annual price divided by 12; no tax
  and no one-off charge (prorations, credits). Read from the subscriptions, so an upgrade
  placed today counts today (CHG-8).
- **A past month's end**: what the invoices say was recurring on that day: for each
  invoice whose period covers the day, its plan and add-on lines at quantity x unit price
  (the full period's price even on a first, pro-rata month), an annual period divided by
  12. An invoice is the record of what a subscription paid, at the version it paid.

Each account's MRR is rounded to the cent, then summed: so start + movements = end
exactly (MET-2). A month's movement of one account is new (no MRR at the month's start and
never any before), reactivation (none at the start, some before: it had churned), churn
(some at the start, none at the end), expansion or contraction (the change of an MRR that
was and stays above zero).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from collections.abc import Iterable
from typing import Any, cast

import peewee as pw

from ..billing.dates import add_months, first_of_next_month
from ..billing.money import ZERO, money
from ..billing.catalogue import PriceBook
from ..db import rows
from ..models import Account, Invoice, InvoiceLine, PriceVersion, Subscription
from ..statuses import Interval, LineKind, SubscriptionStatus
from .currency import currencies_of

MONTHS = 12  # the months the console looks back on
RECURRING = (LineKind.PLAN, LineKind.ADDON)
LONGEST_MONTH = 31  # a billed period longer than this is a year (CHG-5 periods)
MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")


def month_ends(today: dt.date, months: int = MONTHS) -> list[dt.date]:
    """The days the MRR is read on: the day before the first of the ``months`` months
    that end with this one, the last day of each of them but this one, then ``today``
    (this month so far): ``months`` + 1 days, one more than the months' movements."""
    first = today.replace(day=1)
    return [add_months(first, 1 - k) - dt.timedelta(days=1) for k in range(months, 0, -1)] + [today]


def in_trial(subscription) -> bool:
    """TRI-1: a subscription in its trial has no MRR (MET-1) until it converts: its status
    is ``trialing`` (``today_by_account``'s query reads active subscriptions only; this
    says why, and guards any other caller). A converted trial counts from its first
    invoice's period (the day after its last trial day): a "new" movement."""
    return subscription.status == SubscriptionStatus.TRIALING


def prices_of(subscription, book: PriceBook, currency: str) -> PriceVersion:
    """The prices ``subscription`` pays now (MET-1, CAT-2): the version it is on, or its
    plan's newest in the account's currency when it is on none yet."""
    return (book.by_id.get(subscription.price_version_id or 0)
            or book.latest(subscription.plan_id, currency))


def subscription_mrr(subscription, prices: PriceVersion) -> Decimal:
    """One subscription's recurring price per month at ``prices``, unrounded (MET-1)."""
    interval = subscription.interval
    period = (prices.unit_price(interval) * subscription.quantity
              + prices.addon_price(interval) * subscription.addon_quantity)
    return period / 12 if interval == Interval.ANNUAL else period


def today_by_account(today: dt.date) -> dict[int, Decimal]:
    """MET-1 today: account id -> MRR (rounded to the cent), accounts with MRR only; two
    queries (the subscriptions, the price versions)."""
    per_account: dict[int, Decimal] = defaultdict(Decimal)
    book = PriceBook.load()
    # each row a Subscription carrying its account's currency (``.objects()``)
    for sub in cast(Iterable[Any], Subscription.select(Subscription, Account.currency)
                    .join(Account).where((Subscription.status == SubscriptionStatus.ACTIVE)
                                         & (Subscription.started_on <= today)).objects()):
        if not in_trial(sub):
            per_account[sub.account_id] += subscription_mrr(
                sub, prices_of(sub, book, sub.currency))
    return {a: money(v) for a, v in per_account.items() if money(v) > ZERO}


def invoiced_by_account(days) -> dict[dt.date, dict[int, Decimal]]:
    """For each of ``days``: account id -> the MRR its invoices covering that day bill
    (rounded to the cent per account); one query for all the days."""
    days = sorted(days)
    exact: dict[dt.date, dict[int, Decimal]] = {d: defaultdict(Decimal) for d in days}
    lines = (InvoiceLine
             .select(Invoice.account, Invoice.period_start, Invoice.period_end,
                     InvoiceLine.quantity, InvoiceLine.unit_price)
             .join(Invoice)
             .where(InvoiceLine.kind.in_(RECURRING) & Invoice.period_start.is_null(False)
                    & (Invoice.period_end >= days[0]) & (Invoice.period_start <= days[-1])))
    for account_id, start, end, quantity, unit_price in lines.tuples().iterator():
        amount = unit_price * quantity  # a Decimal already (MoneyField)
        if (end - start).days + 1 > LONGEST_MONTH:
            amount = amount / 12
        for day in days:
            if start <= day <= end:
                exact[day][account_id] += amount
    return {d: {a: money(v) for a, v in per.items() if money(v) > ZERO}
            for d, per in exact.items()}


def first_billed() -> dict[int, dt.date]:
    """Account id -> the first day any recurring invoice of it covered (one query)."""
    return dict(rows(InvoiceLine.select(Invoice.account, pw.fn.MIN(Invoice.period_start))
                     .join(Invoice).where(InvoiceLine.kind.in_(RECURRING)
                                          & Invoice.period_start.is_null(False))
                     .group_by(Invoice.account)))


@dataclass
class Month:
    """One month's MRR movements in one currency (MET-2); churn and contraction are
    negative amounts, so start + the movements = end."""

    month: dt.date  # its first day
    start: Decimal = ZERO
    end: Decimal = ZERO
    moves: dict[str, Decimal] = field(default_factory=lambda: {m: ZERO for m in MOVEMENTS})

    @property
    def balanced(self) -> bool:
        return self.start + sum(self.moves.values()) == self.end


def classify(before: Decimal, after: Decimal, had_mrr_before: bool) -> str | None:
    """The movement of one account's MRR from ``before`` to ``after`` (MET-2)."""
    if before == after:
        return None
    if before == ZERO:
        return "reactivation" if had_mrr_before else "new"
    if after == ZERO:
        return "churn"
    return "expansion" if after > before else "contraction"


@dataclass
class Report:
    """MRR per currency: today, month by month, and its movements."""

    today: dict[str, Decimal]  # currency -> MRR today (MET-1)
    points: dict[str, list[tuple[dt.date, Decimal]]]  # currency -> (day, MRR) per month end
    months: dict[str, list[Month]]  # currency -> the last MONTHS months' movements

    def arr(self, currency: str) -> Decimal:
        return self.today[currency] * 12


def report(today: dt.date, months: int = MONTHS) -> Report:
    """MRR today, at each past month's end, and each month's movements, per currency:
    a bounded number of queries whatever the number of accounts."""
    days = month_ends(today, months)
    by_day = invoiced_by_account(days[:-1])
    by_day[today] = today_by_account(today)
    accounts = set().union(*(set(v) for v in by_day.values()))
    currency = currencies_of(accounts) if accounts else {}
    first = first_billed()
    result = Report(today={}, points={}, months={})
    for cur in sorted(set(currency.values())):
        mine = {a for a, c in currency.items() if c == cur}
        totals = [(d, sum((v for a, v in by_day[d].items() if a in mine), ZERO)) for d in days]
        result.points[cur] = totals
        result.today[cur] = totals[-1][1]
        result.months[cur] = []
        for (prev, start), (day, end) in pairwise(totals):
            month = Month(first_of_next_month(prev), start, end)
            for a in mine:
                before, after = by_day[prev].get(a, ZERO), by_day[day].get(a, ZERO)
                move = classify(before, after, a in first and first[a] < prev)
                if move:
                    month.moves[move] += after - before
            result.months[cur].append(month)
    return result

