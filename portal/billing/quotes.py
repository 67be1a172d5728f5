"""Quotes for plan changes (rules CHG-2, DOC-2, DOC-3).

A quote is numbered, valid until a date, and holds the lines and totals of the review
it came from, as stored Decimals (the PDF prints exactly these). Accepting it places
the same order, at the quoted amounts, while it is valid and the subscription and
prices are as they were; an accepted quote never changes (the model refuses, and so do
database triggers).
"""
from __future__ import annotations

import datetime as dt

import peewee as pw

from ..db import write_transaction
from ..models import Quote, QuoteLine, Subscription
from .parties import snapshot, taxes_on_charge
from .taxes import to_json
from .changes import ONE_DAY, Terms, fingerprint, pending_changes
from ..statuses import ChangeKind, SubscriptionStatus
from .orders import ChangeRefused, accept_attempt_key, place_order

VALID_DAYS = 30


def valid_until(preview, today: dt.date) -> dt.date:
    """Thirty days, but never past the current period (its dates and prorated amount
    belong to it), nor past the CHG-6 notice deadline of an annual change made in time."""
    last = min(today + dt.timedelta(days=VALID_DAYS), preview.renewal - ONE_DAY)
    if preview.deadline and not preview.late_notice:
        last = min(last, preview.deadline)
    return last


def create_quote(subscription: Subscription, preview, *, review_key: str, digest: str,
                 today: dt.date, describe, survey_id=None, actor_id=None):
    """Issue a quote for a review; one per review key. Return ``(quote, created)``.

    ``describe(line)`` gives each line's text (the view translates it).
    """
    quote = Quote.get_or_none(Quote.review_key == review_key)
    if quote is not None:
        return quote, False
    new = preview.new
    try:
        with write_transaction():
            quote = Quote.create(
                account=subscription.account_id, subscription=subscription,
                number=f"new-{review_key}"[:32], review_key=review_key,
                **snapshot(subscription.account),
                taxes=to_json(taxes_on_charge(subscription.account, preview.due_now,
                                              day=today, kind="quote")),
                change=preview.change, plan=new.plan, interval=new.interval,
                quantity=new.quantity, addon_quantity=new.addon_quantity,
                recurring_before=preview.recurring_before,
                recurring_after=preview.recurring_after, due_now=preview.due_now,
                days_left=preview.days_left, period_days=preview.period_days,
                effective_on=preview.price_from, created_on=today,
                valid_until=valid_until(preview, today), fingerprint=digest,
                survey=survey_id, created_by=actor_id)
            quote.number = f"Q-{today.year}-{quote.id:05d}"
            Quote.update(number=quote.number).where(Quote.id == quote.id).execute()
            for position, line in enumerate(preview.lines_after, 1):
                QuoteLine.create(quote=quote, position=position,
                                 description=describe(line)[:300], quantity=line.quantity,
                                 unit_price=line.unit_price, amount=line.amount)
    except pw.IntegrityError:  # a concurrent twin issued it first
        return Quote.get(Quote.review_key == review_key), False
    return quote, True


def refusal(quote: Quote, today: dt.date) -> str | None:
    """Why ``quote`` cannot be accepted today, or None: accepted, expired, ended, changed."""
    if quote.accepted_at is not None:
        return "accepted"
    if today > quote.valid_until:
        return "expired"
    sub = quote.subscription
    if sub.status != SubscriptionStatus.ACTIVE:
        return "ended"
    current = fingerprint(sub, list(pending_changes(sub)), {sub.plan, quote.plan})
    return "changed" if current != quote.fingerprint else None


def accept_quote(quote: Quote, *, today: dt.date, gateway, actor_id=None):
    """Place the quoted order; return ``(order, created)``. Raises ``ChangeRefused`` with
    a ``refusal`` code, or ``changed`` when the figures moved (e.g. devices were added)."""
    reason = refusal(quote, today)
    if reason:
        raise ChangeRefused(reason)
    wanted = Terms(quote.plan, quote.interval, quote.quantity, quote.addon_quantity)
    price_from = today if quote.change == ChangeKind.UPGRADE else quote.effective_on
    expected = {"fingerprint": quote.fingerprint, "recurring_after": str(quote.recurring_after),
                "due_now": str(quote.due_now), "price_from": price_from.isoformat()}
    try:
        return place_order(quote.subscription_id, wanted, review_key=accept_attempt_key(quote),
                           expected=expected, today=today, gateway=gateway,
                           cancel=quote.change == ChangeKind.CANCEL, actor_id=actor_id,
                           survey_id=quote.survey_id, quote=quote)
    except ChangeRefused as exc:
        if exc.code == "stale":
            raise ChangeRefused("changed", exc.preview) from None
        raise

