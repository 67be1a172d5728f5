"""Placing plan-change orders: once per review, charged through a gateway (CHG-2, CHG-4,
CHG-6, CHG-8).

How a double-click, a replayed POST or twenty concurrent ones place exactly one order
and at most one charge:

1. One write transaction (SQLite ``BEGIN IMMEDIATE``; PostgreSQL ``SELECT ... FOR UPDATE``
   on the subscription) looks for an order with the review key (found: that order is the
   answer), recomputes the change, refuses it if the subscription or the prices moved
   since the review, and inserts the order with its unique review key and its gateway
   idempotency key. A concurrent duplicate fails on the unique index and gets the
   winner's order.
2. Only the winner calls the gateway, with the key committed in step 1.
3. A second transaction applies the change if the charge was approved; a declined
   charge applies nothing.
"""
from __future__ import annotations

import datetime as dt
import peewee as pw

from ..db import for_update, write_transaction
from ..gateways import Result, Status
from ..models import (AuditEvent, ChangeOrder, PaymentMethod, PendingChange, Quote,
                      Subscription, utcnow)
from . import pricing
from .catalogue import PriceBook
from .changes import Terms, family, fingerprint, pending_changes, preview_change
from .money import ZERO, money
from .parties import taxes_on_charge
from .taxes import from_json, to_json, total_tax
from .wording import CARD, CARD_WORD, PRORATION_LINE, say
from ..statuses import ChangeKind, InvoiceStatus, LineKind, OrderStatus, SubscriptionStatus

CHARGING_TIMEOUT = dt.timedelta(minutes=15)  # after this an open charge is looked up again


class ChangeRefused(Exception):
    """The order cannot be placed; ``code`` says why and ``preview`` holds fresh figures.

    Codes: stale, ended, scheduled, invalid, busy, no_payment_method.
    """

    def __init__(self, code: str, preview=None):
        super().__init__(code)
        self.code = code
        self.preview = preview


def review_state(subscription: Subscription, wanted: Terms, *, today: dt.date,
                 cancel: bool = False, stamp: int | None = None):
    """The fresh preview of a request and the fingerprint of what it was computed from.
    ``stamp``, the account's usage stamp as a page read it, reuses the usage counted under
    it (exact: any change of devices, locations or people renews the stamp), so the live
    preview costs the same at 10 or 10,000 devices; placing an order counts afresh."""
    preview = live_preview(subscription, wanted, today=today, cancel=cancel, stamp=stamp)
    digest = fingerprint(subscription, list(pending_changes(subscription)),
                         {subscription.plan, wanted.plan})
    return preview, digest


def live_preview(subscription: Subscription, wanted: Terms, *, today: dt.date,
                 cancel: bool = False, stamp: int | None = None):
    """The preview alone, as ``review_state`` computes it, without the fingerprint (two
    more queries) that only a review or an order needs: the wizard's live price preview,
    asked on every keystroke, shows figures and signs nothing."""
    usage = pricing.account_usage(subscription.account_id, stamp=stamp)
    return preview_change(Terms.of(subscription), wanted, today=today,
                          next_payment_date=subscription.next_payment_date, usage=usage,
                          cancel=cancel)


def default_payment_method(account_id, gateway_name: str) -> PaymentMethod | None:
    """The account's default card at the active gateway."""
    return (PaymentMethod.select()
            .where((PaymentMethod.account == account_id)
                   & (PaymentMethod.gateway == gateway_name)
                   & (PaymentMethod.is_default == True))  # noqa: E712
            .order_by(PaymentMethod.id.desc()).first())


def place_order(subscription_id: int, wanted: Terms, *, review_key: str, expected: dict,
                today: dt.date, gateway, cancel: bool = False, actor_id=None, survey_id=None,
                quote: Quote | None = None):
    """Place the order a review (or quote) describes; return ``(order, created)``.

    ``expected`` holds the review's fingerprint and figures (``Preview.figures()``); a
    quote's due amount is the one charged. Raises ``ChangeRefused``.
    """
    order = ChangeOrder.get_or_none(ChangeOrder.review_key == review_key)
    if order is not None:
        return settle(order, gateway), False
    try:
        with write_transaction():
            sub = for_update(Subscription.select().where(Subscription.id == subscription_id)).get()
            # Looked for again under the lock: a twin that held it has committed by now.
            order = ChangeOrder.get_or_none(ChangeOrder.review_key == review_key)
            if order is not None:
                return order, False
            order = _reserve(sub, wanted, review_key, expected, today, gateway, cancel,
                             actor_id, survey_id, quote)
    except pw.IntegrityError:  # a concurrent twin inserted the same review key first
        return ChangeOrder.get(ChangeOrder.review_key == review_key), False
    if order.status == OrderStatus.CHARGING:
        order = _charge(order, gateway)
    return order, True


def _reserve(sub, wanted, review_key, expected, today, gateway, cancel, actor_id, survey_id,
             quote) -> ChangeOrder:
    preview, digest = review_state(sub, wanted, today=today, cancel=cancel)
    figures = preview.figures()
    due = preview.due_now
    if quote is not None:  # the quote's figures bind; its due amount was fixed when issued
        figures["due_now"], due = str(quote.due_now), quote.due_now
    if digest != expected.get("fingerprint") or any(
            figures[k] != expected.get(k) for k in figures):
        raise ChangeRefused("stale", preview)
    if sub.status != SubscriptionStatus.ACTIVE:
        raise ChangeRefused("ended", preview)
    if pending_changes(sub).exists():
        raise ChangeRefused("scheduled", preview)
    if not preview.ok:
        raise ChangeRefused("invalid", preview)
    if (ChangeOrder.select().where((ChangeOrder.subscription == sub)
                                   & (ChangeOrder.status == OrderStatus.CHARGING)).exists()):
        raise ChangeRefused("busy", preview)
    method = None
    if due > ZERO:
        method = default_payment_method(sub.account_id, gateway.name)
        if method is None:
            raise ChangeRefused("no_payment_method", preview)
    new, old = preview.new, preview.current
    # TAX-3: an upgrade's prorated charge is taxed like the rest; a quote's taxes bind.
    taxes = (quote.taxes if quote is not None else
             to_json(taxes_on_charge(sub.account, due, day=today, kind="order")))
    order = ChangeOrder.create(taxes=taxes,
        account=sub.account_id, subscription=sub, review_key=review_key,
        change=preview.change, plan=new.plan, interval=new.interval, quantity=new.quantity,
        addon_quantity=new.addon_quantity, old_plan=old.plan, old_interval=old.interval,
        old_quantity=old.quantity, old_addon_quantity=old.addon_quantity,
        recurring_before=preview.recurring_before, recurring_after=preview.recurring_after,
        due_now=due, effective_on=preview.price_from,
        applied_now=preview.apply_now or preview.reduce_now,
        status=OrderStatus.CHARGING if method else OrderStatus.PLACED,
        charge_key=f"chg-{review_key}" if method else None, payment_method=method,
        quote=quote, survey=survey_id, created_by=actor_id)
    if method is None:
        _apply(order, sub)
    return order


def gross_due(order: ChangeOrder):
    """What an order charges: its net amount due plus its taxes (TAX-3)."""
    return money(order.due_now + total_tax(from_json(order.taxes)))


def _charge(order: ChangeOrder, gateway) -> ChangeOrder:
    """Charge the order's amount with its stored key; apply the change only if approved."""
    # an order charged was placed with a card, and so with an idempotency key
    assert order.payment_method is not None and order.charge_key is not None
    try:
        result = gateway.charge(order.payment_method.token, gross_due(order), order.charge_key)
    except Exception as exc:  # timeout, reset: the outcome is unknown, look it up
        result = Result(Status.UNKNOWN, str(exc))
    if result.status is Status.UNKNOWN:  # reconcile before deciding anything
        result = _looked_up(gateway, order.charge_key, result)
    return _finish(order.id, result)


def _looked_up(gateway, key: str, unknown: Result) -> Result:
    """The charge as the gateway knows it; not found means nothing was charged."""
    found = gateway.find_by_idempotency_key(key)
    if found.status in (Status.APPROVED, Status.DECLINED):
        return found
    if found.extra.get("found") is False:
        return Result(Status.ERROR, unknown.message or "the payment did not go through")
    return unknown


def _finish(order_id, result: Result) -> ChangeOrder:
    with write_transaction():
        order = for_update(ChangeOrder.select().where(ChangeOrder.id == order_id)).get()
        if order.status != OrderStatus.CHARGING:
            return order
        if result.ok:
            sub = for_update(Subscription.select().where(Subscription.id == order.subscription_id)
                         ).get()
            order.transaction_id = result.transaction_id
            _apply(order, sub)
        elif result.status is Status.UNKNOWN:
            order.message = result.message  # stays "charging": looked up again later
            order.save()
        else:
            order.status = (OrderStatus.DECLINED if result.status is Status.DECLINED
                            else OrderStatus.FAILED)
            order.message = result.message or result.status.value
            order.save()
    return order


def settle(order: ChangeOrder, gateway) -> ChangeOrder:
    """Look up a charge left open too long (a crash or timeout) and finish its order."""
    if order.status != OrderStatus.CHARGING or order.created_at > utcnow() - CHARGING_TIMEOUT:
        return order
    assert order.charge_key is not None  # a "charging" order was placed with a card and a key
    result = _looked_up(gateway, order.charge_key, Result(Status.UNKNOWN, order.message))
    return _finish(order.id, result) if result.status is not Status.UNKNOWN else order


def _apply(order: ChangeOrder, sub: Subscription) -> None:
    """Apply an order to its subscription (inside the caller's transaction).

    Upgrades at once (CHG-8); downgrades reduce seats and licenses at once (CHG-4) and
    switch the plan on the effective date (CHG-5), or do everything at the following
    renewal when placed too late for an annual plan (CHG-6); interval switches and
    cancellations wait for the effective date.
    """
    seat = family(order.plan) == "seat"
    plan_changes = order.plan_id != sub.plan_id
    scheduled = {}
    if order.change == ChangeKind.UPGRADE:
        sub.plan_id, sub.quantity, sub.addon_quantity = (order.plan_id, order.quantity,
                                                      order.addon_quantity)
        if plan_changes:  # CAT-2: another plan is paid at its newest version
            sub.price_version = PriceBook.load([order.plan_id]).paid_on(sub, order.effective_on)
    elif order.change == ChangeKind.DOWNGRADE and order.applied_now:
        if seat:
            sub.quantity, sub.addon_quantity = order.quantity, order.addon_quantity
        if plan_changes:
            scheduled = {"plan": order.plan_id, "quantity": None if seat else order.quantity}
    elif order.change == ChangeKind.DOWNGRADE:
        scheduled = {"plan": order.plan_id if plan_changes else None,
                     "quantity": order.quantity,
                     "addon_quantity": order.addon_quantity if seat else None}
    elif order.change == ChangeKind.INTERVAL:
        scheduled = {"interval": order.interval}
    elif order.change == ChangeKind.CANCEL:
        scheduled = {"cancel": True}
    sub.save()
    if order.due_now > ZERO:
        _document_charge(order, sub)
    if scheduled:
        reason = order.survey.reason if order.survey else ""
        order.pending_change = PendingChange.create(
            subscription=sub, effective_on=order.effective_on, reason=reason,
            created_by=order.created_by_id, **scheduled)
    order.status, order.placed_at = OrderStatus.PLACED, utcnow()
    order.save()
    if order.quote_id:
        (Quote.update(accepted_at=order.placed_at, accepted_by=order.created_by_id)
         .where((Quote.id == order.quote_id) & Quote.accepted_at.is_null()).execute())
    AuditEvent.create(account=order.account_id, actor=order.created_by_id,
                      action=f"subscription.{order.change}",
                      detail=(f"order {order.id}: {order.old_plan.code} {order.old_interval} "
                              f"x{order.old_quantity}+{order.old_addon_quantity} -> "
                              f"{order.plan.code} {order.interval} x{order.quantity}"
                              f"+{order.addon_quantity} from {order.effective_on}; "
                              f"charged {order.due_now}"))


def _document_charge(order: ChangeOrder, sub: Subscription) -> None:
    """DOC-1: a prorated charge gets a paid invoice and its receipt, like any payment
    (no period, so it never stands in for the billing run's invoice of a period)."""
    from .invoices import Line, issue_invoice, issue_receipt

    day, card = order.effective_on, order.payment_method
    locale = sub.account.language  # the documents' words: the account's (wording.py)
    line = Line.flat(LineKind.PRORATION, say(locale, PRORATION_LINE, old=order.old_plan.name,
                                      new=order.plan.name, users=order.quantity,
                                      addons=order.addon_quantity, day=f"{day:%Y-%m-%d}"),
                     order.due_now)
    invoice = issue_invoice(sub.account, [line], day=day, subscription=sub,
                            description=f"Plan change, order {order.id}", status=InvoiceStatus.PAID,
                            taxes=from_json(order.taxes))
    issue_receipt(invoice, day=day, amount=invoice.total,
                  method=(say(locale, CARD, brand=card.brand, last4=card.last4) if card
                          else say(locale, CARD_WORD)),
                  reference=order.transaction_id or "")


def withdraw(subscription: Subscription, change_id: int, *, today: dt.date, actor_id=None):
    """Undo a scheduled change (e.g. a cancellation) before its date; None if too late."""
    with write_transaction():
        change = (pending_changes(subscription)
                  .where((PendingChange.id == change_id) & (PendingChange.effective_on > today))
                  .first())
        if change is None:
            return None
        change.withdrawn_at = utcnow()
        change.save()
        what = "cancel" if change.cancel else "change"
        AuditEvent.create(account=subscription.account_id, actor=actor_id,
                          action=f"subscription.withdraw_{what}",
                          detail=f"pending change {change.id} due {change.effective_on}")
    return change


def accept_attempt_key(quote: Quote) -> str:
    """The review key of the next attempt to accept ``quote``: a declined attempt keeps
    its key (and its charge), so a new card gets a new one. The quote's own random key
    makes it unique beyond this database (gateway idempotency keys must be)."""
    failed = (ChangeOrder.select()
              .where((ChangeOrder.quote == quote)
                     & ChangeOrder.status.in_((OrderStatus.DECLINED, OrderStatus.FAILED)))
              .count())
    return f"quote-{quote.id}-{failed + 1}-{quote.review_key}"

