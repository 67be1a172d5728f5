"""Collecting invoices through the account's gateway without ever charging twice.

Every attempt is a ``Charge`` row whose idempotency key is committed before the gateway
is called. The answer decides what follows:

- approved: the invoice is paid and a receipt issued;
- declined (or an error the gateway reports as such, once a lookup by our key confirms
  no transaction exists): dunning (portal/billing/dunning.py);
- no answer (timeout, connection reset, 5xx, an exception): never sent again blindly.
  We look the charge up by our key at once; found, it settles as found; not found (or
  the lookup fails), the invoice is *held* with the reason, and a later billing run looks
  again. Only once a lookup made at least PORTAL_BILLING_RECONCILE_AFTER seconds after
  the last call still finds nothing is the same charge sent again, with the same key.

Writes go through ``db.retrying`` (a ``db.write_transaction``): BEGIN IMMEDIATE on
SQLite (one writer at a time, no lock upgrades that fail), an ordinary transaction on
PostgreSQL where rows are claimed with SELECT ... FOR UPDATE SKIP LOCKED
(``db.skip_locked``).
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

import peewee as pw

from ..db import retrying, skip_locked
from ..events import Event, InvoiceIssued, PaymentFailed, ReceiptReady
from ..gateways import Result, Status
from ..models import Account, AuditEvent, Charge, Invoice, PaymentMethod, Receipt, utcnow
from ..statuses import ChargeStatus, InvoiceStatus
from . import dunning
from .bulk import insert_rows
from .invoices import IN_FLIGHT, UNPAID, amount_due, has_charge_in_flight, take_numbers
from .money import ZERO, money
from .wording import CARD, CARD_PAYMENT, language_of, say

MANUAL_PAYMENT_DAYS = 30  # invoices paid by transfer (PAY-3) are due 30 days after issue


@dataclass
class Step:
    """What a claimed invoice needs next: a charge to send, or an outcome already reached."""

    invoice_id: int
    outcome: str  # charge | paid | dunning | held | open
    charge: Charge | None = None
    token: str = ""
    notices: list[Event] = field(default_factory=list)  # to emit once committed
    label: str = ""  # the card, as the receipt names it
    account_id: int | None = None
    locale: str | None = None  # the account's language: the receipt's words (wording.py)


def cards_of(account_ids) -> dict[int, PaymentMethod]:
    """Each account's default payment method (its newest one if none is marked default)."""
    found: dict[int, PaymentMethod] = {}
    for method in (PaymentMethod.select()
                   .where(PaymentMethod.account.in_(list(account_ids)))
                   .order_by(PaymentMethod.is_default.desc(), PaymentMethod.id.desc())):
        found.setdefault(method.account_id, method)
    return found


def card_of(account_id) -> PaymentMethod | None:
    return cards_of([account_id]).get(account_id)


def card_label(method: PaymentMethod | None, gateway_name: str = "",
               locale: str | None = None) -> str:
    if method is None:
        return gateway_name
    return (say(locale, CARD, brand=method.brand, last4=method.last4) if method.last4
            else method.gateway)


def hold(invoice: Invoice, reason: str) -> None:
    invoice.status, invoice.hold_reason = InvoiceStatus.HELD, reason[:2000]
    invoice.save()


def fail(invoice: Invoice, *, day, config, message: str = "", code: str = "") -> Step:
    """Count a failed collection (dunning) and say so to the admins."""
    retry_on = dunning.record_failure(invoice, day=day, config=config)
    return Step(invoice.id, InvoiceStatus.DUNNING,
                notices=[PaymentFailed(invoice.account_id, invoice.id, invoice.dunning_step,
                                       retry_on, message, code)])


def idempotency_key(invoice: Invoice, attempt: int) -> str:
    """Readable (invoice number, attempt) and unique beyond this deployment: a staging and
    a production portal sharing one gateway account never find each other's charges."""
    return f"{invoice.number}-{attempt}-{secrets.token_hex(4)}"


def open_attempt(invoice: Invoice, *, day, gateways, config,
                 amount: Decimal | None = None) -> Step:
    """Decide how ``invoice`` is collected now and store the attempt (inside a transaction)."""
    amount = amount_due(invoice) if amount is None else amount
    if amount <= ZERO:
        return Step(invoice.id, invoice.status)
    method = card_of(invoice.account_id)
    if method is None:
        return fail(invoice, day=day, config=config, code="no_card")
    gateway = gateways.get(method.gateway)
    if gateway is None:
        hold(invoice, f"The payment method's gateway {method.gateway!r} is not enabled in "
                      "this deployment; enable its plugin or mark the invoice paid.")
        return Step(invoice.id, InvoiceStatus.HELD)
    if not gateway.takes_cards:  # invoice / bank transfer (PAY-3): an operator marks it paid
        return Step(invoice.id, InvoiceStatus.OPEN,
                    notices=[InvoiceIssued(invoice.account_id, invoice.id)])
    attempt = (Charge.select(pw.fn.COALESCE(pw.fn.MAX(Charge.attempt), 0))
               .where(Charge.invoice == invoice.id).scalar()) + 1
    now = utcnow()
    charge = Charge.create(invoice=invoice.id, attempt=attempt, amount=amount,
                           idempotency_key=idempotency_key(invoice, attempt),
                           gateway=gateway.name,
                           payment_method=method.id, calls=1, last_call_at=now, created_at=now)
    locale = language_of(invoice.account_id)
    return Step(invoice.id, "charge", charge=charge, token=method.token,
                label=card_label(method, locale=locale), account_id=invoice.account_id,
                locale=locale)


def open_first_attempts(targets) -> list[Step]:
    """Store the first charge of each freshly issued invoice in one go (inside the issuing
    transaction): ``targets`` are (invoice, payment method, gateway) triples."""
    if not targets:
        return []
    now = utcnow()
    insert_rows(Charge, [
        {"invoice": inv.id, "attempt": 1, "amount": inv.total, "gateway": gateway.name,
         "idempotency_key": idempotency_key(inv, 1), "payment_method": method.id,
         "status": ChargeStatus.PENDING, "calls": 1, "last_call_at": now, "created_at": now}
        for inv, method, gateway in targets])
    charges = {c.invoice_id: c for c in
               Charge.select().where(Charge.invoice.in_([inv.id for inv, _, _ in targets]))}
    languages = dict(cast(Iterable[tuple[int, str]], Account.select(Account.id, Account.language)
                     .where(Account.id.in_(list({inv.account_id for inv, _, _ in targets})))
                     .tuples()))
    return [Step(inv.id, "charge", charge=charges[inv.id], token=method.token,
                 label=card_label(method, locale=languages.get(inv.account_id)),
                 account_id=inv.account_id, locale=languages.get(inv.account_id))
            for inv, method, _ in targets]


@dataclass(frozen=True)
class Verdict:
    """What we know about a charge after calling the gateway (and looking it up)."""

    outcome: str  # approved | declined | failed | unknown | unsupported
    message: str = ""
    transaction_id: str | None = None


def lookup(gateway, key: str) -> Verdict | None:
    """Ask the gateway for the charge made under ``key``; None if it has none."""
    try:
        found = gateway.find_by_idempotency_key(key)
    except Exception as exc:  # the lookup itself failed: we still do not know
        return Verdict(ChargeStatus.UNKNOWN, f"lookup failed ({type(exc).__name__}: {exc})")
    if found.status is Status.APPROVED:
        return Verdict(ChargeStatus.APPROVED, found.message or "Approved", found.transaction_id)
    if found.status is Status.DECLINED:
        return Verdict(ChargeStatus.DECLINED, found.message or "Declined", found.transaction_id)
    was_found = found.extra.get("found")
    if was_found is False or (was_found is None and found.status is Status.UNKNOWN):
        return None  # the gateway has no charge under this key
    if was_found and found.status is Status.ERROR:  # found, failed at the processor
        return Verdict(ChargeStatus.FAILED, found.message or "Failed", found.transaction_id)
    return Verdict(ChargeStatus.UNKNOWN, f"lookup failed ({found.status.value}: {found.message})")


def send(gateway, charge: Charge, token: str) -> Verdict:
    """Call the gateway once and reconcile any answer that is not a clear yes or no."""
    try:
        result = gateway.charge(token, charge.amount, charge.idempotency_key)
    except Exception as exc:  # timeout, reset, 5xx surfacing as an exception
        result = Result(Status.UNKNOWN, f"{type(exc).__name__}: {exc}")
    if result.status is Status.APPROVED:
        return Verdict(ChargeStatus.APPROVED, result.message or "Approved", result.transaction_id)
    if result.status is Status.DECLINED:
        return Verdict(ChargeStatus.DECLINED, result.message or "Declined", result.transaction_id)
    if result.status is Status.UNSUPPORTED:
        return Verdict("unsupported", result.message)
    found = lookup(gateway, charge.idempotency_key)
    if found is not None and found.outcome != ChargeStatus.UNKNOWN:
        return found
    if result.status is Status.ERROR and found is None:
        return Verdict(ChargeStatus.FAILED, result.message or "The gateway refused the charge.")
    why = result.message or "no answer"
    seen = found.message if found else "no transaction found yet"
    return Verdict(ChargeStatus.UNKNOWN, f"{why}; {seen}")


def settle(charge_id: int, verdict: Verdict, *, day, config) -> Step:
    """Record what happened to a charge (inside a transaction); idempotent. An approval is
    recorded as a batch of one (``settle_approved``)."""
    if verdict.outcome == ChargeStatus.APPROVED:
        return settle_approved([(charge_id, verdict)], day=day)[0]
    charge = Charge.get_by_id(charge_id)
    invoice = Invoice.get_by_id(charge.invoice_id)
    if charge.status in (ChargeStatus.APPROVED, ChargeStatus.DECLINED, ChargeStatus.FAILED):
        return Step(invoice.id, invoice.status)  # already settled by someone else
    charge.message = verdict.message[:2000]
    charge.transaction_id = verdict.transaction_id or charge.transaction_id
    if verdict.outcome == ChargeStatus.UNKNOWN:
        charge.status = ChargeStatus.UNKNOWN
        charge.save()
        if invoice.status != InvoiceStatus.PAID:
            hold(invoice, f"Payment outcome unknown for charge {charge.idempotency_key} "
                          f"({verdict.message}). The next billing run looks it up at the "
                          "gateway again before anything is sent; an operator may check the "
                          "gateway and mark the invoice paid.")
        return Step(invoice.id, invoice.status)
    charge.finished_at = utcnow()
    charge.status = (ChargeStatus.DECLINED if verdict.outcome == ChargeStatus.DECLINED
                     else ChargeStatus.FAILED)
    charge.save()
    if verdict.outcome == "unsupported":
        hold(invoice, f"The gateway {charge.gateway!r} cannot charge ({verdict.message}).")
        return Step(invoice.id, InvoiceStatus.HELD)
    if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.CREDITED):
        return Step(invoice.id, invoice.status)
    return fail(invoice, day=day, config=config, message=verdict.message)


def settle_approved(pairs, *, day) -> list[Step]:
    """Record approved charges, (charge id, verdict) pairs, in one transaction: the charges,
    their invoices paid, their receipts. One step per pair, in order.

    A charge settled meanwhile by someone else is left alone (idempotent). A charge
    approved on an invoice settled meanwhile by other means (paid by transfer, credited)
    takes money nobody owes: an audit entry tells the operators to refund it."""
    verdicts = dict(pairs)
    charges = {c.id: c for c in Charge.select().where(Charge.id.in_(list(verdicts)))}
    invoices = {i.id: i for i in Invoice.select(Invoice.id, Invoice.account, Invoice.number,
                                                Invoice.status)
                .where(Invoice.id.in_(list({c.invoice_id for c in charges.values()})))}
    fresh = [c for c in charges.values() if c.status in IN_FLIGHT]
    paying = [c for c in fresh if invoices[c.invoice_id].status in UNPAID]
    references = {c.id: verdicts[c.id].transaction_id or c.transaction_id for c in fresh}
    now = utcnow()
    if fresh:
        (Charge.update(status=ChargeStatus.APPROVED, finished_at=now,
                       transaction_id=pw.Case(Charge.id, list(references.items())),
                       message=pw.Case(Charge.id, [(c.id, verdicts[c.id].message[:2000])
                                                   for c in fresh]))
         .where(Charge.id.in_(list(references))).execute())
    paid = {c.id for c in paying}
    for charge in fresh:
        invoice = invoices[charge.invoice_id]
        if charge.id not in paid:
            AuditEvent.create(account=invoice.account_id, action="charge.double_payment",
                              detail=f"{charge.idempotency_key} approved on {invoice.number}, "
                                     f"already {invoice.status}: refund {charge.amount}")
    if paying:
        pay(paying, invoices, references, day=day, now=now)
    return [Step(c.invoice_id, InvoiceStatus.PAID,
                 notices=[ReceiptReady(invoices[c.invoice_id].account_id, c.invoice_id)])
            if c.id in paid else Step(c.invoice_id, invoices[c.invoice_id].status)
            for c in (charges[charge_id] for charge_id, _ in pairs)]


def pay(charges, invoices, references, *, day, now) -> None:
    """Mark the approved ``charges``' invoices paid, issue their receipts in the words of
    each account, and bring past-due accounts back."""
    (Invoice.update(status=InvoiceStatus.PAID, paid_at=now, hold_reason="", next_attempt_on=None)
     .where(Invoice.id.in_([c.invoice_id for c in charges])).execute())
    methods = {m.id: m for m in PaymentMethod.select().where(
        PaymentMethod.id.in_([c.payment_method_id for c in charges if c.payment_method_id]))}
    account_ids = {invoices[c.invoice_id].account_id for c in charges}
    languages = dict(cast(Iterable[tuple[int, str]], Account.select(Account.id, Account.language)
                     .where(Account.id.in_(list(account_ids))).tuples()))
    rows = []
    for charge in charges:
        locale = languages.get(invoices[charge.invoice_id].account_id)
        label = card_label(methods.get(charge.payment_method_id), charge.gateway, locale)
        rows.append({"invoice": charge.invoice_id, "charge": charge.id,
                     "amount": money(charge.amount), "paid_on": day,
                     "method": say(locale, CARD_PAYMENT, card=label)[:200],
                     "reference": (references[charge.id] or "")[:200], "created_at": now})
    dunning.recover_many(account_ids)
    # the counter row is locked from here to the commit: taken last (gapless, RCT-*)
    for number, row in zip(take_numbers("receipt", len(rows)), rows, strict=True):
        row["number"] = number
    insert_rows(Receipt, rows)


def finish_many(steps, *, gateways, day, config) -> list[tuple[Step, Step]]:
    """Send each stored charge, then record the approvals together and the rest one by one.
    Returns (step, final step) pairs."""
    results, approved = [], []
    for step in steps:
        if step.outcome != "charge":
            results.append((step, step))
            continue
        verdict = send(gateways[step.charge.gateway], step.charge, step.token)
        if verdict.outcome == ChargeStatus.APPROVED:
            approved.append((step, verdict))
        else:
            results.append((step, retrying(settle, step.charge.id, verdict, day=day,
                                           config=config)))
    if approved:
        finals = retrying(settle_approved, [(step.charge.id, verdict)
                                            for step, verdict in approved], day=day)
        results += [(step, final) for (step, _), final in zip(approved, finals, strict=True)]
    return results


def finish(step: Step, *, gateways, day, config) -> Step:
    """Send a stored charge, record its outcome, and return the final step."""
    if step.outcome != "charge":
        return step
    assert step.charge is not None  # an outcome "charge" carries its stored charge
    gateway = gateways[step.charge.gateway]
    verdict = send(gateway, step.charge, step.token)
    return retrying(settle, step.charge.id, verdict, day=day, config=config)


def collectable(invoice: Invoice) -> bool:
    """Unpaid, and no charge of it in flight (so two collectors never overlap)."""
    return invoice.status in UNPAID and not has_charge_in_flight(invoice)


def claim_for_retry(invoice_id: int, *, day, gateways, config, when) -> Step | None:
    """Lock one invoice (skipping it if another worker holds it) and open an attempt."""
    invoice = skip_locked(Invoice.select().where((Invoice.id == invoice_id) & when)).first()
    if invoice is None or not collectable(invoice):
        return None
    return open_attempt(invoice, day=day, gateways=gateways, config=config)


def reconcile_stale(*, day, gateways, config, now=None) -> list[Step]:
    """Charges left pending (a worker died) or unknown: look them up, then settle.

    Only charges whose last call is older than PORTAL_BILLING_RECONCILE_AFTER are taken,
    each leased by moving its ``last_call_at`` (compare-and-set), so two workers never
    handle one charge and a charge in flight in another worker is left alone.
    """
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=int(config.get("BILLING_RECONCILE_AFTER", 600)))
    stale = Charge.status.in_(IN_FLIGHT) & (Charge.last_call_at <= cutoff)
    steps = []
    for charge in Charge.select().where(stale).order_by(Charge.id):
        leased = (Charge.update(last_call_at=utcnow())
                  .where((Charge.id == charge.id) & stale).execute())
        if not leased:
            continue
        gateway = gateways.get(charge.gateway)
        verdict: Verdict | None
        if gateway is None:
            verdict = Verdict(ChargeStatus.UNKNOWN,
                              f"the gateway {charge.gateway!r} is not enabled")
        else:
            verdict = lookup(gateway, charge.idempotency_key)
            if verdict is None:  # no transaction under our key, long after the call: resend
                Charge.update(calls=Charge.calls + 1).where(Charge.id == charge.id).execute()
                method = charge.payment_method
                verdict = (send(gateway, charge, method.token) if method else
                           Verdict(ChargeStatus.FAILED,
                                   "the card was removed before it was charged"))
        steps.append(retrying(settle, charge.id, verdict, day=day, config=config))
    return steps
