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

# PAY-3: invoice / bank transfer only where one billing period's amount reaches this.
MANUAL_METHOD_MINIMUM = money("1000.00")
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


def manual_method_allowed(period_amount: Decimal, grandfathered: bool) -> bool:
    """PAY-3 / PAY-4: at least 1,000.00 USD per billing period, or grandfathered."""
    return grandfathered or money(period_amount) >= MANUAL_METHOD_MINIMUM


def may_be_grandfathered(first_used_on: dt.date) -> bool:
    """PAY-4: the other method was used before 2019-04-01."""
    return first_used_on < GRANDFATHER_CUTOFF
