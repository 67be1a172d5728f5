"""Trials and their conversion (rule TRI-1, issue #18.3), per currency, from the
subscriptions: nothing stored beside them.

- **in trial**: subscriptions in their trial today (``trialing``), and the MRR they would
  bring if each converted at the prices it is on (``trial_mrr``, MET-1's formula; it is
  *not* in the MRR: a trial has none until it converts);
- **converted** / **ended**: trials whose last day fell in the last ``WINDOW_DAYS`` days
  (``today`` included) and that converted (a usable payment method was on file) or ended;
- **conversion rate**: converted / (converted + ended) over those days, in per cent to
  one decimal (half up); None when no trial finished then.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from collections.abc import Iterable
from typing import Any

from ..billing.catalogue import PriceBook
from ..billing.money import ZERO, money
from ..models import Account, Subscription
from ..statuses import SubscriptionStatus, TrialOutcome
from .collection import WINDOW_DAYS
from .mrr import prices_of, subscription_mrr


@dataclass
class TrialFigures:
    """One currency's trial figures."""

    active: int = 0
    trial_mrr: Decimal = ZERO
    converted: int = 0
    ended: int = 0

    @property
    def conversion_rate(self) -> Decimal | None:
        finished = self.converted + self.ended
        if not finished:
            return None
        return (Decimal(100) * self.converted / finished).quantize(Decimal("0.1"),
                                                                    rounding=ROUND_HALF_UP)


def figures(today: dt.date) -> dict[str, TrialFigures]:
    """Currency -> its trial figures (see the module docstring); two queries."""
    since = today - dt.timedelta(days=WINDOW_DAYS)
    result: dict[str, TrialFigures] = defaultdict(TrialFigures)
    book = PriceBook.load()
    # each row a Subscription carrying its account's currency (``.objects()``)
    rows: Iterable[Any] = (Subscription.select(Subscription, Account.currency).join(Account)
            .where(((Subscription.status == SubscriptionStatus.TRIALING)
                    & (Subscription.started_on <= today))
                   | (Subscription.trial_outcome.is_null(False)
                      & (Subscription.trial_ends_on > since)
                      & (Subscription.trial_ends_on <= today)))
            .objects())
    per_currency_mrr: dict[str, Decimal] = defaultdict(Decimal)
    for sub in rows:
        fig = result[sub.currency]
        if sub.status == SubscriptionStatus.TRIALING:
            fig.active += 1
            per_currency_mrr[sub.currency] += subscription_mrr(
                sub, prices_of(sub, book, sub.currency))
        elif sub.trial_outcome == TrialOutcome.CONVERTED:
            fig.converted += 1
        else:
            fig.ended += 1
    for cur, value in per_currency_mrr.items():
        result[cur].trial_mrr = money(value)
    return dict(result)
