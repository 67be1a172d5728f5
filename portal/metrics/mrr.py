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
from ..billing.money import ZERO, from_cents, money
from ..billing.recurring import annual_cents_sum
from ..billing.catalogue import PriceBook
from ..db import db, is_postgres
from ..models import Account, Invoice, InvoiceLine, PriceVersion, Subscription
from ..statuses import Interval, LineKind, SubscriptionStatus
from .currency import currency_column

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


def _period_days():
    """SQL: the days an invoice's period spans, less one (dates subtract on PostgreSQL;
    SQLite stores them as ISO text)."""
    if is_postgres():
        return Invoice.period_end - Invoice.period_start
    return pw.fn.julianday(Invoice.period_end) - pw.fn.julianday(Invoice.period_start)


def _cents_a_month(twelfths):
    """SQL: a sum of twelfths of a cent as whole cents, rounded half up (``money``); the sums
    are never negative (recurring lines and prices)."""
    return (pw.Cast(pw.fn.COALESCE(twelfths, 0), "BIGINT") + 6) / 12


def _per_account(days: list[dt.date], today: dt.date):
    """One row per account: its currency, its MRR in cents on each of ``days`` (from the
    invoices covering the day) and today (from its subscriptions), each rounded to the cent
    (``r0`` ... ``rN``), and the first day any recurring invoice of it covered."""
    yearly = (InvoiceLine.quantity * InvoiceLine.unit_price
              * pw.Case(None, [(_period_days() + 1 > LONGEST_MONTH, 1)], 12))
    invoiced = (InvoiceLine
                .select(Invoice.account.alias("account_id"),
                        *(pw.fn.SUM(pw.Case(None, [((Invoice.period_start <= d)
                                                    & (Invoice.period_end >= d), yearly)], 0))
                          .alias(f"i{k}") for k, d in enumerate(days)),
                        pw.fn.MIN(Invoice.period_start).alias("first"))
                .join(Invoice)
                .where(InvoiceLine.kind.in_(RECURRING) & Invoice.period_start.is_null(False))
                .group_by(Invoice.account)).alias("inv")
    # MET-1 today: active (not trialing, TRI-1) and started; annual_cents() is a year's
    # cents, i.e. twelve twelfths of a month's
    live = (Subscription.select(Subscription.account.alias("account_id"),
                                annual_cents_sum().alias("t"))
            .join(PriceVersion, on=(Subscription.price_version == PriceVersion.id))
            .where((Subscription.status == SubscriptionStatus.ACTIVE)
                   & (Subscription.started_on <= today))
            .group_by(Subscription.account)).alias("live")
    return (Account
            .select(currency_column().alias("currency"),
                    *(_cents_a_month(getattr(invoiced.c, f"i{k}")).alias(f"r{k}")
                      for k in range(len(days))),
                    _cents_a_month(live.c.t).alias(f"r{len(days)}"),
                    invoiced.c.first.alias("first"))
            .join(invoiced, pw.JOIN.LEFT_OUTER, on=(invoiced.c.account_id == Account.id))
            .join_from(Account, live, pw.JOIN.LEFT_OUTER, on=(live.c.account_id == Account.id))
            .where(invoiced.c.account_id.is_null(False) | live.c.account_id.is_null(False)))


def _moves(before, after, first, prev: dt.date) -> dict[str, Any]:
    """SQL: each movement's amount for one account from ``before`` to ``after`` (MET-2,
    ``classify``), 0 when it is not that movement."""
    had_before = first.is_null(False) & (first < prev)
    up = after - before
    cases = {"new": (before == 0) & (after > 0) & ~had_before,
             "expansion": (before > 0) & (after > before),
             "contraction": (before > 0) & (after > 0) & (after < before),
             "churn": (before > 0) & (after == 0),
             "reactivation": (before == 0) & (after > 0) & had_before}
    return {m: pw.fn.SUM(pw.Case(None, [(c, up)], 0)) for m, c in cases.items()}


def report(today: dt.date, months: int = MONTHS) -> Report:
    """MRR today, at each past month's end, and each month's movements, per currency: one
    grouped query (per account, then per currency), whatever the number of accounts."""
    days = month_ends(today, months)
    inner = _per_account(days[:-1], today).alias("pa")
    r = [getattr(inner.c, f"r{k}") for k in range(len(days))]
    moves = [_moves(r[k - 1], r[k], inner.c.first, days[k - 1]) for k in range(1, len(days))]
    columns = [inner.c.currency, *(pw.fn.SUM(v) for v in r),
               *(m[name] for m in moves for name in MOVEMENTS)]
    query = (pw.Select([inner], columns).group_by(inner.c.currency)
             .having(pw.fn.SUM(sum(r[1:], r[0])) > 0).order_by(inner.c.currency).bind(db))
    result = Report(today={}, points={}, months={})
    for row in query.tuples():
        cur, totals, flat = row[0], row[1:1 + len(days)], row[1 + len(days):]
        points = [(d, from_cents(int(t or 0))) for d, t in zip(days, totals, strict=True)]
        result.points[cur], result.today[cur] = points, points[-1][1]
        result.months[cur] = []
        for k, ((prev, start), (_day, end)) in enumerate(pairwise(points)):
            month = Month(first_of_next_month(prev), start, end)
            for j, name in enumerate(MOVEMENTS):
                month.moves[name] = from_cents(int(flat[k * len(MOVEMENTS) + j] or 0))
            result.months[cur].append(month)
    return result
