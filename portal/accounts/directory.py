"""The operators' directory of accounts (issue #18.1): search, filters, sort, and what each
row shows (MRR, plans, status, next payment), in a fixed number of queries per page.

``accounts(criteria)`` is one grouped query (the MRR and the next payment are aggregates of
the account's subscriptions) that the pager pages; every filter is a sub-select on the
account's id, so they combine freely. ``plans_of(ids)`` reads the plan names of one page's
accounts in one more query. Nothing here knows HTTP: the view turns the GET form into a
``Criteria``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import peewee as pw

from ..billing.recurring import annual_cents_sum
from ..db import rows
from ..models import (Account, Device, Invoice, Membership, PaymentMethod, Plan, PriceVersion,
                      Subscription, User)
from ..statuses import AccountStatus, SubscriptionStatus

# Account states an operator filters on. "in_trial": a subscription in its trial (TRI-1);
# "ended": no active subscription and none in trial (never had one, or every one cancelled
# or its trial ended).
STATES = ("active", "past_due", "in_trial", "ended")
LIVE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)  # renewing, or converting
SORTS = ("name", "mrr", "next_payment", "created")


@dataclass(frozen=True)
class Criteria:
    """What the operator asked for; empty values filter nothing."""

    q: str = ""
    plan: int | None = None
    interval: str = ""
    status: str = ""
    gateway: str = ""
    negotiated: bool | None = None
    currency: str = ""
    sort: str = "name"


def _has_subscription(condition):
    """EXISTS a subscription of the account (correlated on ``Account.id``) that meets
    ``condition``: checked row by row, so a page walking the name index stops after its
    rows instead of first listing every matching account."""
    return pw.fn.EXISTS(Subscription.select(pw.SQL("1")).where(
        (Subscription.account == Account.id) & condition))


def _live(condition):
    """An active subscription or a trial meeting ``condition``: what the plan and interval
    filters look at."""
    return _has_subscription(Subscription.status.in_(LIVE) & condition)


def _people_of(q: str):
    """Accounts a person whose email contains ``q`` belongs to (ACC-5: any of theirs)."""
    return (Membership.select(Membership.account).join(User)
            .where(User.email.contains(q)))


def matching(q: str):
    """Rule: one box finds an account by its name, a person's email, a device's serial or
    an invoice's number (any part of each, case aside)."""
    return (Account.name.contains(q)
            | Account.id.in_(_people_of(q))
            | Account.id.in_(Device.select(Device.account).where(Device.serial.contains(q)))
            | Account.id.in_(Invoice.select(Invoice.account).where(Invoice.number.contains(q))))


def _state(status: str):
    has_active = _has_subscription(Subscription.status == SubscriptionStatus.ACTIVE)
    if status == "past_due":
        return Account.status == AccountStatus.PAST_DUE
    if status == "active":
        return (Account.status == AccountStatus.ACTIVE) & has_active
    in_trial = _has_subscription(Subscription.status == SubscriptionStatus.TRIALING)
    if status == "in_trial":
        return in_trial
    return ~has_active & ~in_trial  # "ended"


def filters(c: Criteria) -> list:
    """The WHERE conditions of ``c``, one per filter set."""
    where = []
    if c.q:
        where.append(matching(c.q))
    if c.plan is not None:
        where.append(_live(Subscription.plan == c.plan))
    if c.interval:
        where.append(_live(Subscription.interval == c.interval))
    if c.status:
        where.append(_state(c.status))
    if c.gateway:
        where.append(pw.fn.EXISTS(PaymentMethod.select(pw.SQL("1")).where(
            (PaymentMethod.account == Account.id) & (PaymentMethod.gateway == c.gateway))))
    if c.negotiated is not None:
        where.append(Account.negotiated_contract == c.negotiated)
    if c.currency:
        where.append(Account.currency == c.currency)
    return where


def _of_account(*columns):
    """A sub-select on the account's subscriptions (correlated on ``Account.id``)."""
    return Subscription.select(*columns).where(Subscription.account == Account.id)


def accounts(c: Criteria):
    """Every account ``c`` selects, in its order, each with ``annual`` (recurring cents a
    year, MET-1; a trial has none, TRI-1), ``next_payment`` (of its active subscriptions
    and trials: a trial's is its last day), ``n_active`` and ``n_trial``.

    Each of the four is a sub-select on the account's subscriptions (no join, no GROUP BY):
    a page sorted by name or creation walks its index (migration 034) and reads the
    subscriptions of its rows only, and the pager's COUNT counts the filtered accounts
    alone."""
    annual = (_of_account(annual_cents_sum())
              .join(PriceVersion, on=(Subscription.price_version == PriceVersion.id)))
    next_payment = _of_account(pw.fn.MIN(Subscription.next_payment_date)).where(
        Subscription.status.in_(LIVE))
    n_active = _of_account(pw.fn.COUNT(Subscription.id)).where(
        Subscription.status == SubscriptionStatus.ACTIVE)
    n_trial = _of_account(pw.fn.COUNT(Subscription.id)).where(
        Subscription.status == SubscriptionStatus.TRIALING)
    query = Account.select(Account, annual.alias("annual"), next_payment.alias("next_payment"),
                           n_active.alias("n_active"), n_trial.alias("n_trial"))
    for condition in filters(c):
        query = query.where(condition)
    return query.order_by(*_order(c.sort))


def _order(sort: str) -> tuple:
    """The ORDER BY of ``sort``; the sub-selects by their output names (computed once)."""
    if sort == "mrr":  # highest first within each currency (MET-1: never compared across)
        return Account.currency, pw.SQL('"annual"').desc(), Account.name, Account.id
    if sort == "next_payment":  # soonest first, accounts with nothing to renew last
        return pw.SQL('"next_payment"').asc(nulls="LAST"), Account.name, Account.id
    if sort == "created":  # newest first
        return Account.created_at.desc(), Account.id.desc()
    return Account.name, Account.id


def plans_of(account_ids) -> dict[int, list[str]]:
    """The plan names of the active subscriptions and trials of these accounts, in one
    query."""
    names: dict[int, list[str]] = {}
    for account_id, name in rows(Subscription.select(Subscription.account, Plan.name).join(Plan)
                                 .where(Subscription.account.in_(list(account_ids))
                                        & Subscription.status.in_(LIVE))
                                 .order_by(Subscription.account, Plan.name)):
        if name not in names.setdefault(account_id, []):
            names[account_id].append(name)
    return names


def gateway_names(registered) -> list[str]:
    """The gateways an operator can filter on: the ones the plugins register now, and any
    that stored payment methods still name (cards kept from a previous gateway)."""
    stored = rows(PaymentMethod.select(PaymentMethod.gateway).distinct())
    return sorted(set(registered) | {name for (name,) in stored})


def currencies() -> list[str]:
    """The currencies accounts bill in (CAT-1), for the currency filter."""
    return [c for (c,) in rows(Account.select(Account.currency).distinct()
                               .order_by(Account.currency))]


def state_of(account: Account) -> str:
    """The row's status: past due first, then whether anything still renews, then a trial."""
    if account.status == AccountStatus.PAST_DUE:
        return "past_due"
    if getattr(account, "n_active", 0):
        return "active"
    return "in_trial" if getattr(account, "n_trial", 0) else "ended"


def as_date(value) -> dt.date | None:
    """An aggregate of a date column as a date (SQLite answers its text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
