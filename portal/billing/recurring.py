"""An account's recurring revenue as the database can sort it (rule MET-1).

MRR of a subscription = its recurring price (quantity x unit price, plus add-on licenses x
add-on price, at the price version it pays, CAT-2, for its interval), normalised to a month
(annual / 12), for active subscriptions only, in its account's currency (never summed across
currencies); no taxes, no one-off charges (prorations, credits). A subscription without a
price version (none since migration 023 gave each one) counts nothing.

SQL sums it in whole cents *per year* (``annual_cents``): a monthly price x 12, an annual
price as it is. That stays an exact integer on every database, so the accounts list can
sort and page by it; ``mrr`` turns the sum into the monthly Decimal shown (rounded to the
cent once, at the end).
"""
from __future__ import annotations

from decimal import Decimal

import peewee as pw

from ..models import PriceVersion, Subscription
from ..statuses import Interval, SubscriptionStatus
from .money import ZERO, from_cents, money


def annual_cents():
    """A SQL expression: one joined (Subscription, PriceVersion) row's recurring amount for a
    year, in cents; 0 unless the subscription is active. Needs the subscription's
    ``PriceVersion`` joined (``Subscription.price_version``)."""
    monthly = (Subscription.quantity * PriceVersion.monthly_price
               + Subscription.addon_quantity * PriceVersion.addon_monthly_price) * 12
    annual = (Subscription.quantity * PriceVersion.annual_price
              + Subscription.addon_quantity * PriceVersion.addon_annual_price)
    active = Subscription.status == SubscriptionStatus.ACTIVE
    return pw.Case(None, [(active & (Subscription.interval == Interval.ANNUAL), annual),
                          (active, monthly)], 0)


def annual_cents_sum():
    """``SUM(annual_cents())`` read back as a plain integer (0 without subscriptions)."""
    return pw.fn.COALESCE(pw.fn.SUM(annual_cents()), 0).coerce(False)


def mrr(annual: int | None) -> Decimal:
    """The monthly recurring revenue of ``annual`` cents a year (MET-1)."""
    if not annual:
        return ZERO
    return money(from_cents(int(annual)) / 12)
