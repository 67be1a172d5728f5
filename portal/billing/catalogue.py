"""Which prices a subscription pays (rules CAT-1, CAT-2): its plan's price versions in its
account's currency.

A (plan, currency) has versions 1, 2, ...; the highest is the price of a new subscription
at once. A subscription pays the version it is on; a newer version reaches it at its first
payment date on or after the version's ``existing_from`` (the notice the operator chose),
never when that is null (grandfathered). A subscription moved to another plan pays that
plan's newest version. A negotiated version (CHG-7) belongs to one account: it is never
a plan's newest version for anyone and is never replaced at a renewal; it takes the next
number of its plan and currency. ``PriceBook.paid_on`` is the one answer, used alike by the billing
run and by every estimate (rule SUB-4).
"""
from __future__ import annotations

import datetime as dt

import peewee as pw

from ..models import Account, PriceVersion, Subscription
from ..sqlcache import Compiled


class NoPrice(LookupError):
    """A plan has no price in a currency: it cannot be sold (or billed) in it."""

    def __init__(self, plan_id, currency: str):
        super().__init__(f"plan {plan_id} has no price in {currency}")
        self.plan_id, self.currency = plan_id, currency


class PriceBook:
    """Every price version, read in one query (the catalogue is small)."""

    def __init__(self, versions):
        self.by_id: dict[int, PriceVersion] = {}
        self.by_plan: dict[tuple[int, str], list[PriceVersion]] = {}
        for v in sorted(versions, key=lambda v: v.number):
            self.by_id[v.id] = v
            if v.account_id is None:  # a negotiated version is nobody else's price
                self.by_plan.setdefault((v.plan_id, v.currency), []).append(v)

    @classmethod
    def load(cls, plan_ids=None) -> PriceBook:
        query = PriceVersion.select()
        if plan_ids is not None:
            query = query.where(PriceVersion.plan.in_(list(plan_ids)))
        return cls(query)

    def latest(self, plan_id: int, currency: str) -> PriceVersion:
        """The version a new subscription to the plan gets now (CAT-2: at once)."""
        versions = self.by_plan.get((plan_id, currency))
        if not versions:
            raise NoPrice(plan_id, currency)
        return versions[-1]

    def paid_on(self, subscription: Subscription, day: dt.date,
                currency: str | None = None) -> PriceVersion:
        """The version ``subscription`` (as it will be then) pays for the period billed on
        ``day`` (rule CAT-2)."""
        current = self.by_id.get(subscription.price_version_id or 0)
        if currency is None:
            currency = current.currency if current else account_currency(subscription)
        if current is None or current.plan_id != subscription.plan_id:
            return self.latest(subscription.plan_id, currency)
        if current.account_id is not None:  # CHG-7: negotiated, kept until renegotiated
            return current
        reached = [v for v in self.by_plan[(current.plan_id, current.currency)]
                   if v.number > current.number and v.existing_from is not None
                   and v.existing_from <= day]
        return reached[-1] if reached else current


def _book_state_query():
    return PriceVersion.select(pw.fn.MAX(PriceVersion.id), pw.fn.COUNT(PriceVersion.id))


_BOOK_STATE = Compiled(_book_state_query, 0)


def book_state() -> tuple:
    """What the price book is now, in one cheap statement: its newest version's id and how
    many versions there are. Versions are only ever added (CAT-2: a new price is a new
    version, portal.catalogue.add_price_version), so any change of the book changes it:
    the key of what is computed from the book and kept (views/subscription_state.py)."""
    return tuple(_BOOK_STATE.rows()[0])


def account_currency(subscription: Subscription) -> str:
    """The currency of a subscription's account (one query)."""
    return Account.select(Account.currency).where(
        Account.id == subscription.account_id).scalar() or "USD"


def latest_price(plan, currency: str) -> PriceVersion:
    """The newest version of ``plan`` in ``currency`` (one query); ``NoPrice`` if none."""
    found = (PriceVersion.select().where((PriceVersion.plan == plan)
                                         & (PriceVersion.currency == currency)
                                         & PriceVersion.account.is_null())
             .order_by(PriceVersion.number.desc()).first())
    if found is None:
        raise NoPrice(getattr(plan, "id", plan), currency)
    return found
