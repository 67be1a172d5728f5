"""Trials (rule TRI-1): dates, the conversion on the trial's last day, the reminders.

A trial of N days that starts on ``start`` runs from ``start`` to its **last day**,
``start + N - 1``. Nothing is charged before that day. On it, the billing run finds the
subscription due (its ``next_payment_date`` is the last trial day) and:

- with a usable payment method on file (an unexpired card, or an approved pay-by-invoice:
  the default method the run would charge), the subscription **converts**: it becomes
  active and its first period is billed and charged as any renewal. The first paid day is
  the day **after** the last trial day: a monthly plan's first period runs from it to the
  end of its month (prorated when it is not the 1st, CHG-5), an annual one for a year;
- with none, it **ends**: cancelled, nothing invoiced or charged; the account keeps
  read access to its documents.

Mails 7 days and 1 day before the last day: the billing run emits ``TrialEnding`` for
each trial in those windows; the notifier mails it once per key (a rerun mails nothing).
"""
from __future__ import annotations

import datetime as dt

from ..events import TrialEnding
from ..models import AuditEvent, PaymentMethod, Subscription
from ..statuses import SubscriptionStatus, TrialOutcome
from .dates import last_of_month

ONE_DAY = dt.timedelta(days=1)
REMINDER_DAYS = (7, 1)  # days before the trial's last day (TRI-1)


def trial_dates(start: dt.date, trial_days: int) -> tuple[dt.date, dt.date]:
    """(last trial day, first paid day) of a trial of ``trial_days`` days from ``start``."""
    if trial_days < 1:
        raise ValueError("a trial lasts at least one day")
    last = start + dt.timedelta(days=trial_days - 1)
    return last, last + ONE_DAY


def first_paid_day(subscription: Subscription) -> dt.date:
    """The first day the subscription's next charge pays for: the day after the trial's
    last day while the trial has not been billed, else its next payment date."""
    ends = subscription.trial_ends_on
    if ends is not None and subscription.next_payment_date <= ends:
        return ends + ONE_DAY
    return subscription.next_payment_date


def anchor(subscription: Subscription) -> dt.date:
    """The day an annual subscription's renewals fall on (a 29 February one comes back in
    leap years): its start, or after a trial its first paid day (the day after the last
    trial day), from which its paid years count."""
    ends = subscription.trial_ends_on
    return ends + ONE_DAY if ends is not None else subscription.started_on


def in_trial(subscription: Subscription) -> bool:
    return subscription.status == SubscriptionStatus.TRIALING


def days_left(subscription: Subscription, today: dt.date) -> int:
    """The trial days left, today included (1 on its last day)."""
    assert subscription.trial_ends_on is not None
    return max(0, (subscription.trial_ends_on - today).days + 1)


def usable(method: PaymentMethod | None, day: dt.date) -> bool:
    """A method the billing run can charge on ``day``: an unexpired card or an approved
    manual method (a manual method row exists only once approved, PAY-3)."""
    if method is None:
        return False
    if not (method.exp_month and method.exp_year):
        return True
    return last_of_month(method.exp_year, method.exp_month) >= day


def finish(claimed, cards: dict[int, PaymentMethod], day: dt.date) -> list[Subscription]:
    """TRI-1 on the trial's last day, for the due subscriptions of a billing batch (in
    its transaction): each trial converts (active, billed by the run as a renewal) or
    ends (cancelled, nothing billed). Returns the ones that ended."""
    converted, ended = [], []
    for sub in claimed:
        if sub.status != SubscriptionStatus.TRIALING:
            continue
        if usable(cards.get(sub.account_id), day):
            sub.status, sub.trial_outcome = SubscriptionStatus.ACTIVE, TrialOutcome.CONVERTED
            converted.append(sub)
        else:
            sub.status, sub.trial_outcome = SubscriptionStatus.CANCELLED, TrialOutcome.ENDED
            ended.append(sub)
    for subs, status, outcome in ((converted, SubscriptionStatus.ACTIVE, TrialOutcome.CONVERTED),
                                  (ended, SubscriptionStatus.CANCELLED, TrialOutcome.ENDED)):
        if subs:
            (Subscription.update(status=status, trial_outcome=outcome)
             .where(Subscription.id.in_([s.id for s in subs])).execute())
    if converted or ended:
        AuditEvent.insert_many([
            {"account": s.account_id, "actor": None,
             "action": f"subscription.trial_{s.trial_outcome}",
             "detail": (f"trial ended on {day.isoformat()}: converted, billed from "
                        f"{first_paid_day(s).isoformat()}"
                        if s.trial_outcome == TrialOutcome.CONVERTED else
                        f"trial ended on {day.isoformat()}: no usable payment method on "
                        f"file; subscription ended, nothing charged")}
            for s in converted + ended]).execute()
    return ended


def reminders(day: dt.date) -> list[TrialEnding]:
    """The trial reminders due on ``day``: 7 days before the last day (or on the first
    run within that week, for a shorter trial or a missed day) and 1 day before. Their
    keys name the trial and the reminder, so emitting them again mails nothing new."""
    found = []
    for sub in (Subscription.select()
                .where((Subscription.status == SubscriptionStatus.TRIALING)
                       & Subscription.trial_ends_on.between(day + ONE_DAY,
                                                            day + dt.timedelta(days=7)))
                .order_by(Subscription.id)):
        ends = sub.trial_ends_on
        assert ends is not None  # selected on it
        before = (ends - day).days
        found.append(TrialEnding(account_id=sub.account_id, subscription_id=sub.id,
                                 ends_on=ends,
                                 reminder=1 if before <= 1 else 7))
    return found
