"""An account's recurring revenue as the database can sort it (rule MET-1).

MRR of a subscription = its recurring price (quantity x unit price, plus add-on licenses x
add-on price, at the plan's prices for its interval), normalised to a month (annual / 12),
for active subscriptions only; no taxes, no one-off charges (prorations, credits).

SQL sums it in whole cents *per year* (``annual_cents``): a monthly price x 12, an annual
price as it is. That stays an exact integer on every database, so the accounts list can
sort and page by it; ``mrr`` turns the sum into the monthly Decimal shown (rounded to the
cent once, at the end).
"""
from __future__ import annotations

from decimal import Decimal

import peewee as pw

from ..models import Plan, Subscription
from ..statuses import Interval, SubscriptionStatus
from .money import ZERO, from_cents, money


def annual_cents():
    """A SQL expression: one joined (Subscription, Plan) row's recurring amount for a year,
    in cents; 0 unless the subscription is active. Needs ``Plan`` joined."""
    monthly = (Subscription.quantity * Plan.monthly_price
               + Subscription.addon_quantity * Plan.addon_monthly_price) * 12
    annual = (Subscription.quantity * Plan.annual_price
              + Subscription.addon_quantity * Plan.addon_annual_price)
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
