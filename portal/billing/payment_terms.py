"""Which payment methods an account may use, in money terms (rules PAY-3, PAY-4).

Pure rules plus one query; no Flask. The portal's payment service (portal/payments/)
asks these before it lets an admin request, or an operator approve, payment by invoice.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ..models import Plan, Subscription
from .money import ZERO, money
from .pricing import account_usage
from .renewals import next_charges
from ..statuses import SubscriptionStatus

# PAY-3: invoice / bank transfer only where one billing period's amount reaches the
# minimum of the account's currency (PORTAL_MANUAL_MINIMUMS, read by the callers).
DEFAULT_MANUAL_MINIMUMS = "USD=1000.00,EUR=1000.00"
# PAY-4: an account that paid another way before this day keeps its method.
GRANDFATHER_CUTOFF = dt.date(2019, 4, 1)


def billing_period_amount(account_id) -> Decimal:
    """One billing period's amount: every active subscription's next charge (rule SUB-4:
    what the billing run will bill on its next payment date, each for one period of the
    interval it will then have, none once cancelled), summed, before tax."""
    usage = account_usage(account_id)
    subs = list(Subscription.select(Subscription, Plan).join(Plan)
                .where((Subscription.account == account_id)
                       & (Subscription.status == SubscriptionStatus.ACTIVE)))
    return money(sum((c.total for c in next_charges(subs, usage).values()), ZERO))


def manual_minimums(setting: str | None) -> dict[str, Decimal]:
    """PAY-3 thresholds per currency from ``USD=1000.00,EUR=900.00``; ValueError on a
    malformed entry (the setting is checked when the app starts)."""
    found = {}
    for part in (setting if setting is not None else DEFAULT_MANUAL_MINIMUMS).split(","):
        if not part.strip():
            continue
        code, sep, value = part.partition("=")
        code = code.strip().upper()
        if not sep or len(code) != 3 or not code.isalpha():
            raise ValueError(f"PORTAL_MANUAL_MINIMUMS: {part.strip()!r} is not CODE=amount")
        found[code] = money(value.strip())
    return found


def manual_minimum(currency: str, setting: str | None) -> Decimal | None:
    """PAY-3: the threshold of ``currency``; None where the operator set none (then only
    a grandfathered account may pay by invoice)."""
    return manual_minimums(setting).get(currency)


def manual_method_allowed(period_amount: Decimal, grandfathered: bool,
                          minimum: Decimal | None) -> bool:
    """PAY-3 / PAY-4: one billing period at least the currency's minimum, or grandfathered."""
    return grandfathered or (minimum is not None and money(period_amount) >= minimum)


def may_be_grandfathered(first_used_on: dt.date) -> bool:
    """PAY-4: the other method was used before 2019-04-01."""
    return first_used_on < GRANDFATHER_CUTOFF
