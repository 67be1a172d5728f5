"""The billing run: due subscriptions -> scheduled changes -> invoices -> charges.

``run(day, pm=..., config=...)`` is what ``portal billing run [--date]`` and the daily
huey task call. It is safe on one worker or many, and after a crash:

1. charges left pending or unknown by an earlier run are reconciled first
   (collection.reconcile_stale);
2. due subscriptions are claimed a batch at a time (FOR UPDATE SKIP LOCKED on
   PostgreSQL, BEGIN IMMEDIATE on SQLite). For each: the changes scheduled up to its
   payment date are applied (rules CHG-5, CHG-6), quantities are read from live usage
   (LOC-2, DEV-1, DEV-3), the invoice is issued (one per subscription and period: a
   unique index), a usage plan's subscribed quantity set to what it bills (USE-3), its
   charge stored with its idempotency key, and the payment date advanced: monthly plans
   to the first of next month, annual ones to the renewal date.
   The transaction commits before any gateway call;
3. the charges are sent and settled (receipt, dunning or hold), and the batch's events
   (invoice issued, payment failed, receipt ready) emitted through ``portal_events``;
   the built-in notifier mails them (portal/plugins/notifier.py);
4. dunning retries that are due, and held invoices with nothing in flight, are collected;
5. the reminders of trials that end in 7 days or 1 day are emitted (TRI-1, trials.py).

A trial is due on its last day: it converts (billed as a renewal from the day after) or
ends before the batch is billed (trials.finish).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal

import peewee as pw

from ..db import retrying, skip_locked
from ..events import emit
from ..gateways import registered_gateways
from ..models import (Account, BillingAdjustment, Invoice, PendingChange, Plan, PriceVersion,
                      Subscription)
from ..statuses import Interval, InvoiceStatus, LineKind, SubscriptionStatus
from . import collection, dunning, pricing, trials
from .catalogue import PriceBook
from .changes import ONE_DAY, apply_changes, as_changed, due_by, pending_by_subscription
from .collection import MANUAL_PAYMENT_DAYS
from .dates import add_years, days_in_month, first_of_next_month
from .invoices import Draft, Line, issue_many
from .money import ZERO, money
from .wording import (ADDON_LINE, CARRIED_FROM, CARRIED_TO_NEXT, PLAN_LINE, PRO_RATA, UNITS,
                      say)

log = logging.getLogger("portal.billing")

BATCH = 100  # subscriptions claimed per transaction (docs/performance.md, "Billing")
# Due on their next payment date: active subscriptions, and trials on their last day (TRI-1)
BILLED = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)
NO_USAGE = pricing.Usage(0, 0, 0, 0, 0)  # seat plans bill what was bought, not usage


@dataclass
class RunReport:
    """What one billing run did; the CLI prints it."""

    day: dt.date
    invoiced: int = 0
    paid: int = 0
    dunning: int = 0
    held: int = 0
    awaiting_transfer: int = 0
    nothing_due: int = 0
    ended: int = 0
    retried: int = 0
    reconciled: int = 0
    already_invoiced: int = 0
    invoice_ids: list[int] = field(default_factory=list)
    outcomes: list[tuple[int, str]] = field(default_factory=list)  # (invoice id, outcome)

    def count(self, step: collection.Step) -> None:
        self.outcomes.append((step.invoice_id, step.outcome))
        key = {"paid": "paid", "dunning": "dunning", "held": "held",
               "open": "awaiting_transfer"}.get(step.outcome)
        if key:
            setattr(self, key, getattr(self, key) + 1)

    def summary(self) -> str:
        return (f"Billing run for {self.day.isoformat()}: {self.invoiced} invoice(s) issued; "
                f"{self.paid} paid, {self.dunning} in dunning, {self.held} held for an "
                f"operator, {self.awaiting_transfer} awaiting transfer, {self.nothing_due} "
                f"with nothing to pay; {self.ended} subscription(s) ended; {self.retried} "
                f"retried; {self.reconciled} reconciled.")


def renewal_after(start: dt.date, anchor: dt.date) -> dt.date:
    """The annual renewal after ``start``: a 29 February anchor comes back in leap years."""
    following = add_years(start)
    if anchor.month == following.month and anchor.day > following.day:
        last = days_in_month(following.year, following.month)
        following = following.replace(day=min(anchor.day, last))
    return following


def period_of(subscription: Subscription, start: dt.date) -> tuple[dt.date, dt.date]:
    """The period billed on ``start`` and its last day (rule CHG-5)."""
    if subscription.interval == Interval.ANNUAL:
        end = renewal_after(start, trials.anchor(subscription))
    else:
        end = first_of_next_month(start)
    return start, end - dt.timedelta(days=1)


def invoice_lines(subscription: Subscription, plan: Plan, period, adjustments,
                  usage: pricing.Usage, locale: str | None = None, *,
                  prices: PriceVersion) -> list[Line]:
    """Plan x live quantity x unit price of the price version paid (CAT-2), add-on
    licenses, then adjustments (DOC-3); the texts in ``locale``, the account's language
    (portal/billing/wording.py)."""
    quantity, addons = pricing.billable_quantities(subscription, usage)
    interval = subscription.interval
    start, end = period
    unit, addon_unit = prices.unit_price(interval), prices.addon_price(interval)
    units = say(locale, UNITS[plan.kind])
    description = (say(locale, PLAN_LINE[interval], plan=plan.name, units=units)
                   if interval in PLAN_LINE else f"{plan.name}, {interval} ({units})")
    lines = [Line.priced(LineKind.PLAN, description, quantity, unit)]
    if addons:
        lines.append(Line.priced(LineKind.ADDON, say(locale, ADDON_LINE[interval]), addons,
                                 addon_unit))
    if interval == Interval.MONTHLY and start.day != 1:  # a first month that starts mid-month
        days = (end - start).days + 1
        month_days = days_in_month(start.year, start.month)
        lines = [Line(x.kind, say(locale, PRO_RATA, line=x.description, days=days,
                                  month_days=month_days),
                      x.quantity, x.unit_price, money(x.amount * days / month_days))
                 for x in lines]
    lines += [Line.flat(a.kind, a.description, a.amount) for a in adjustments]
    total = sum((x.amount for x in lines), ZERO)
    if total < ZERO:  # more credit than charges: carry the rest to the next invoice
        lines.append(Line.flat(LineKind.CARRY, say(locale, CARRIED_TO_NEXT), -total))
    return lines


def due_subscriptions(day: dt.date, account_id: int | None = None):
    """Subscriptions billed or converted on ``day`` (of one account, when given)."""
    query = (Subscription.select()
             .where(Subscription.status.in_(BILLED) & (Subscription.next_payment_date <= day))
             .order_by(Subscription.next_payment_date, Subscription.id))
    return query if account_id is None else query.where(Subscription.account == account_id)


@dataclass(frozen=True)
class NextCharge:
    """What the billing run will bill a subscription on its next payment date (rule SUB-4):
    the subscription as it will be then, the period and the invoice lines; no period and
    no lines when it ends before (``ends_on``, its last day, when a cancellation does it)."""

    due_on: dt.date
    subscription: Subscription  # as it will be on ``due_on``
    period: tuple[dt.date, dt.date] | None
    lines: tuple[Line, ...] = ()
    ends_on: dt.date | None = None
    price_version: PriceVersion | None = None  # the prices it bills (rule CAT-2)

    @property
    def currency(self) -> str | None:
        return self.price_version.currency if self.price_version else None

    @property
    def total(self) -> Decimal:
        return money(sum((x.amount for x in self.lines), ZERO))

    def _line(self, kind: str) -> Line | None:
        return next((x for x in self.lines if x.kind == kind), None)

    @property
    def quantity(self) -> int:
        line = self._line(LineKind.PLAN)
        return line.quantity if line else 0

    @property
    def unit_price(self) -> Decimal:
        line = self._line(LineKind.PLAN)
        return line.unit_price if line else ZERO

    @property
    def addon_quantity(self) -> int:
        line = self._line(LineKind.ADDON)
        return line.quantity if line else 0

    @property
    def addon_price(self) -> Decimal:
        line = self._line(LineKind.ADDON)
        return line.unit_price if line else ZERO


def next_charge(subscription: Subscription, usage: pricing.Usage, changes=(), *,
                adjustments=(), locale: str | None = None,
                prices: PriceBook | None = None) -> NextCharge:
    """Rule SUB-4: the invoice of ``subscription``'s next payment date, built as the billing
    run builds it (the run calls this very function): ``changes``, its pending ones, that
    are effective by that date are applied to a copy in memory (downgrades, interval
    switches, cancellations), then its period and lines follow from what it will be.
    ``usage`` is the account's live usage; ``adjustments`` the waiting charges and credits
    (the run's; estimates leave them out); ``prices`` the price book (read when not given):
    the version paid on that date is the one ``PriceBook.paid_on`` says (rule CAT-2)."""
    day = subscription.next_payment_date
    due = due_by(changes, day)
    if due:
        subscription = as_changed(subscription, due)
    if subscription.status not in BILLED:
        return NextCharge(day, subscription, None, (), day - ONE_DAY if due else None)
    # TRI-1: a trial is charged on its last day for the period from the day after it
    period = period_of(subscription, trials.first_paid_day(subscription))
    version = (prices or PriceBook.load()).paid_on(subscription, period[0])
    return NextCharge(day, subscription, period,
                      tuple(invoice_lines(subscription, subscription.plan, period, adjustments,
                                          usage, locale=locale, prices=version)),
                      price_version=version)


def next_charges(subs, usage: pricing.Usage,
                 pending: dict[int, list[PendingChange]] | None = None) -> dict[int, NextCharge]:
    """The next charge of each of one account's subscriptions (rule SUB-4), their pending
    changes read in one query (or given, as ``pending_of`` reads them): what pages, the
    API and the PAY-3 amount show."""
    if pending is None:
        pending = pending_of(subs)
    prices = PriceBook.load() if subs else None
    return {s.id: next_charge(s, usage, pending.get(s.id, ()), prices=prices) for s in subs}


def pending_of(subs) -> dict[int, list[PendingChange]]:
    """The changes still to come of the active (or trialing) ones of ``subs``, in one
    query."""
    return pending_by_subscription(s.id for s in subs if s.status in BILLED)


def overage(current: Subscription, charge: NextCharge | None) -> pricing.Overage | None:
    """Rule USE-3 as the billing run bills it (SUB-4): the units of an active usage plan
    that its next charge bills above the subscribed quantity, at that charge's unit price.
    None when there are none, or when a scheduled change ends the subscription or moves
    it to another plan or interval first (the Active subscriptions tab says what then).
    Once billed, the subscribed quantity follows (``follow_billed_quantity``)."""
    if (charge is None or charge.ends_on is not None
            or current.status != SubscriptionStatus.ACTIVE
            or current.plan.kind not in pricing.USAGE_KINDS):
        return None
    future = charge.subscription
    if future.plan_id != current.plan_id or future.interval != current.interval:
        return None
    extra = charge.quantity - current.quantity
    if extra <= 0:
        return None
    return pricing.Overage(extra, charge.unit_price, money(charge.unit_price * extra),
                           charge.due_on)


def apply_scheduled_changes(subs) -> list[Subscription]:
    """CHG-5/CHG-6: the wizard's changes effective by each payment date, applied as the
    estimates apply them (changes.put_changes; one query reads them all); the ones still
    active."""
    pending = pending_by_subscription(s.id for s in subs)
    for sub in subs:
        due = due_by(pending.get(sub.id, ()), sub.next_payment_date)
        if due:
            apply_changes(sub, due)
    return [s for s in subs if s.status == SubscriptionStatus.ACTIVE]


def adjustments_by_subscription(subs) -> dict[int, list]:
    """Waiting charges and credits, each given to exactly one invoice: its subscription's,
    or (account-wide ones) the first of the account's subscriptions in this batch."""
    first_of_account: dict[int, int] = {}
    for sub in subs:
        first_of_account.setdefault(sub.account_id, sub.id)
    found: dict[int, list] = {}
    for adj in (BillingAdjustment.select()
                .where(BillingAdjustment.invoice.is_null()
                       & BillingAdjustment.account.in_(list(first_of_account)))
                .order_by(BillingAdjustment.id)):
        target = adj.subscription_id or first_of_account[adj.account_id]
        if target in {s.id for s in subs}:
            found.setdefault(target, []).append(adj)
    return found


def claim_batch(*, day, gateways, config, report, size,
                account_id: int | None = None) -> list[collection.Step] | None:
    """One transaction: claim up to ``size`` due subscriptions, invoice them, store their
    charges and advance their payment dates. None when nothing is due any more.

    A fixed number of queries per batch, plus the live usage of each usage plan's account.
    """
    claimed = list(skip_locked(due_subscriptions(day, account_id).limit(size)))
    if not claimed:
        return None
    cards = collection.cards_of({s.account_id for s in claimed})
    report.ended += len(trials.finish(claimed, cards, day))  # TRI-1: convert or end
    active = [s for s in claimed if s.status == SubscriptionStatus.ACTIVE]
    subs = apply_scheduled_changes(active)
    report.ended += len(active) - len(subs)
    if not subs:
        return []
    plans = {p.id: p for p in Plan.select()}
    prices = PriceBook.load()
    accounts = {a.id: a for a in Account.select().where(
        Account.id.in_(list({s.account_id for s in subs})))}
    billed = set(Invoice.select(Invoice.subscription, Invoice.period_start)
                 .where(Invoice.subscription.in_([s.id for s in subs])).tuples())
    adjustments = adjustments_by_subscription(subs)
    advance: dict[dt.date, list[int]]  # a next payment date -> the subscriptions moved to it
    usage = pricing.accounts_usage(  # LOC-2, DEV-1, DEV-3: live, at billing time
        {s.account_id for s in subs if plans[s.plan_id].kind in pricing.USAGE_KINDS})
    moved: dict[int, list[int]] = {}  # a price version -> the subscriptions it reached
    drafts, advance = [], {}
    for sub in subs:
        plan = sub.plan = plans[sub.plan_id]
        charge = next_charge(sub, usage.get(sub.account_id, NO_USAGE),  # rule SUB-4
                             adjustments=adjustments.get(sub.id, ()),
                             locale=accounts[sub.account_id].language, prices=prices)
        period = charge.period
        assert period is not None  # only active subscriptions are claimed: each has a period
        advance.setdefault(period[1] + dt.timedelta(days=1), []).append(sub.id)
        version = charge.price_version
        assert version is not None  # an active subscription's charge has its prices
        if version.id != sub.price_version_id:  # CAT-2: a newer version reached it
            moved.setdefault(version.id, []).append(sub.id)
        if (sub.id, period[0]) in billed:  # billed before (data restored?): never twice
            report.already_invoiced += 1
            continue
        method = cards.get(sub.account_id)
        gateway = gateways.get(method.gateway) if method else None
        manual = gateway is not None and not gateway.takes_cards
        drafts.append((Draft(accounts[sub.account_id], list(charge.lines),
                             sub, period, f"{plan.name} {period[0]:%Y-%m-%d} to "
                                          f"{period[1]:%Y-%m-%d}",
                             day + dt.timedelta(days=MANUAL_PAYMENT_DAYS) if manual else day),
                       method, gateway))
    for next_day, ids in advance.items():
        (Subscription.update(next_payment_date=next_day)
         .where(Subscription.id.in_(ids)).execute())
    for version_id, ids in moved.items():
        (Subscription.update(price_version=version_id)
         .where(Subscription.id.in_(ids)).execute())
    invoices = issue_many([d for d, _, _ in drafts], day=day)
    follow_billed_quantity([d for d, _, _ in drafts])
    report.invoiced += len(invoices)
    report.invoice_ids += [i.id for i in invoices]
    return after_issue(list(zip(invoices, drafts, strict=True)), day=day, gateways=gateways,
                       config=config, report=report, adjustments=adjustments)


def follow_billed_quantity(drafts) -> None:
    """Rule USE-3: a usage plan's subscribed quantity becomes the quantity its invoice bills
    (the plan line), in the transaction that issues the invoice, so units paid for are no
    longer shown as over. Down as well as up (DEV-1): fewer devices billed means fewer
    subscribed. One statement for the batch, none when nothing changes."""
    billed = {}
    for draft in drafts:
        sub = draft.subscription
        if sub is None or sub.plan.kind not in pricing.USAGE_KINDS:
            continue
        quantity = next((x.quantity for x in draft.lines if x.kind == LineKind.PLAN), None)
        if quantity is not None and quantity != sub.quantity:
            billed[sub.id] = sub.quantity = quantity
    if billed:
        (Subscription.update(quantity=pw.Case(Subscription.id, list(billed.items())))
         .where(Subscription.id.in_(list(billed))).execute())


def after_issue(issued, *, day, gateways, config, report, adjustments) -> list:
    """Mark adjustments billed, carry credits on, and decide how each invoice is collected:
    first charges stored in one go; no card, a transfer or a disabled gateway one by one."""
    for invoice, (draft, _, _) in issued:
        mine = [a.id for a in adjustments.get(draft.subscription.id, ())]
        if mine:
            (BillingAdjustment.update(invoice=invoice.id)
             .where(BillingAdjustment.id.in_(mine)).execute())
        carry = [x for x in draft.lines if x.kind == LineKind.CARRY]
        if carry:
            BillingAdjustment.create(account=invoice.account_id,
                                     subscription=invoice.subscription_id, kind=LineKind.CREDIT,
                                     amount=-carry[0].amount,
                                     description=say(draft.account.language, CARRIED_FROM,
                                                     number=invoice.number))
    charges, steps = [], []
    for invoice, (_, method, gateway) in issued:
        if invoice.status == InvoiceStatus.PAID:
            report.nothing_due += 1
        elif method is not None and gateway is not None and gateway.takes_cards:
            charges.append((invoice, method, gateway))
        else:
            steps.append(collection.open_attempt(invoice, day=day, gateways=gateways,
                                                 config=config, amount=invoice.total))
    return collection.open_first_attempts(charges) + steps


def settle_steps(steps, *, day, gateways, config, report, pm) -> None:
    """Send the charges, record the outcomes, then emit their events (invoice issued,
    payment failed, receipt ready: ``portal_events``) once committed, as one batch."""
    notices = []
    for step, final in collection.finish_many(steps, gateways=gateways, day=day,
                                              config=config):
        report.count(final)
        notices += step.notices + (final.notices if final is not step else [])
    emit(pm, notices)


def run(day: dt.date, *, pm, config, batch: int | None = None) -> RunReport:
    """Bill everything due on ``day`` (see the module docstring); return the report.
    ``batch``: subscriptions per transaction (default PORTAL_BILLING_BATCH, else BATCH)."""
    gateways = registered_gateways(pm, config)
    report = RunReport(day)
    for step in collection.reconcile_stale(day=day, gateways=gateways, config=config):
        report.reconciled += 1
        report.count(step)
        emit(pm, step.notices)
    size = batch or int(config.get("BILLING_BATCH") or BATCH)
    while True:
        try:
            steps = retrying(claim_batch, day=day, gateways=gateways, config=config,
                                        report=report, size=size)
        except pw.IntegrityError:  # a duplicate refused by a unique index: one at a time
            if size == 1:
                raise
            log.warning("billing run: a unique index refused a batch; claiming one by one")
            size = 1
            continue
        if steps is None:
            break
        settle_steps(steps, day=day, gateways=gateways, config=config, report=report, pm=pm)
    retry_due(day=day, gateways=gateways, config=config, report=report, pm=pm)
    emit(pm, trials.reminders(day))  # TRI-1: 7 and 1 days before a trial's last day
    log.info(report.summary())
    return report


def bill_now(account_id: int, *, day: dt.date, pm, config) -> RunReport:
    """The billing run for one account's subscriptions due on ``day``, now: a self-serve
    sign-up's first period is invoiced and charged at once (issue #16 item 6) by the same
    claim, invoice, charge and events as ``run``, never a second way."""
    gateways = registered_gateways(pm, config)
    report = RunReport(day)
    while (steps := retrying(claim_batch, day=day, gateways=gateways, config=config,
                             report=report, size=BATCH, account_id=account_id)) is not None:
        settle_steps(steps, day=day, gateways=gateways, config=config, report=report, pm=pm)
    return report


def retry_due(*, day, gateways, config, report, pm) -> None:
    """Dunning retries due on ``day``, and held invoices with nothing in flight."""
    when_due = (Invoice.status == InvoiceStatus.DUNNING) & (Invoice.next_attempt_on <= day)
    held = Invoice.status == InvoiceStatus.HELD
    targets = [(i.id, when_due) for i in dunning.due_retries(day)]
    targets += [(i.id, held) for i in Invoice.select(Invoice.id).where(held).order_by(Invoice.id)]
    for invoice_id, when in targets:
        step = retrying(collection.claim_for_retry, invoice_id, day=day,
                                   gateways=gateways, config=config, when=when)
        if step is None:
            continue
        report.retried += 1
        settle_steps([step], day=day, gateways=gateways, config=config, report=report, pm=pm)


def pay_now(account_id, *, day, pm, config) -> list[collection.Step]:
    """Collect every unpaid invoice of an account now ("pay now" on the past-due banner);
    an invoice with a charge in flight is left to reconciliation."""
    gateways = registered_gateways(pm, config)
    unpaid = Invoice.status.in_((InvoiceStatus.DUNNING, InvoiceStatus.HELD))
    steps = []
    for invoice in list(Invoice.select(Invoice.id)
                        .where((Invoice.account == account_id) & unpaid).order_by(Invoice.id)):
        step = retrying(collection.claim_for_retry, invoice.id, day=day,
                                   gateways=gateways, config=config, when=unpaid)
        if step is not None:
            steps.append(step)
    report = RunReport(day)
    settle_steps(steps, day=day, gateways=gateways, config=config, report=report, pm=pm)
    return [collection.Step(i, outcome) for i, outcome in report.outcomes]
