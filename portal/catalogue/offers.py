"""What the public pricing page offers (issue #16 item 6): the plans still available
(CAT-3) that have a price in the chosen currency (CAT-1), at their newest public version
(CAT-2), by what they count, then in rank order. Read in two queries; nothing here writes."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..billing.catalogue import PriceBook, NoPrice
from ..models import Plan
from ..statuses import Interval

from . import CURRENCIES


@dataclass(frozen=True)
class Offer:
    """A plan as the pricing page shows it, in one currency and interval."""

    plan: Plan
    currency: str
    interval: str
    unit_price: Decimal
    addon_price: Decimal
    monthly_equivalent: Decimal  # the annual price over 12 months, for comparison
    annual_saving_percent: int  # what paying a year at once saves over 12 monthly payments

    @property
    def trial_days(self) -> int:
        return int(self.plan.trial_days or 0)


def offers(currency: str, interval: str) -> list[Offer]:
    """The available plans priced in ``currency`` for ``interval`` (monthly or annual)."""
    if currency not in CURRENCIES or interval not in tuple(Interval):
        return []
    plans = list(Plan.select().where(Plan.available == True)  # noqa: E712
                 .order_by(Plan.kind, Plan.rank, Plan.name))
    book = PriceBook.load([p.id for p in plans])
    found = []
    for plan in plans:
        try:
            version = book.latest(plan.id, currency)
        except NoPrice:
            continue
        monthly, annual = version.monthly_price, version.annual_price
        saving = (int((1 - annual / (12 * monthly)) * 100)
                  if monthly and annual < 12 * monthly else 0)
        found.append(Offer(plan, currency, interval, version.unit_price(interval),
                           version.addon_price(interval),
                           (annual / 12).quantize(Decimal("0.01")), saving))
    return found


def offer(code: str, currency: str, interval: str) -> Offer | None:
    """The offer of the plan ``code``, or None when it is not offered so."""
    return next((o for o in offers(currency, interval) if o.plan.code == code), None)
