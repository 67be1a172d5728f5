"""Invoices, receipts and credit notes: numbered without gaps, immutable once issued.

Each series (invoice, receipt, credit note) takes its numbers from a counter row that is
updated in the transaction that issues the document, so a rolled-back issue gives its
number back and the series has no gap, whichever worker issues it. Issued documents
never change (the model refuses it and database triggers too): an operator corrects an
invoice with a credit note. Every amount is a Decimal (rule DOC-3).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import peewee as pw

from ..models import (Account, AuditEvent, BillingAdjustment, Charge, CreditNote,
                      DocumentCounter, Invoice, InvoiceLine, Receipt, Subscription, utcnow)
from . import dunning
from .bulk import insert_rows
from .money import ZERO, money
from .parties import buyer_party, currency_of, seller_text, snapshot
from .taxes import (DraftLine, Party, TaxDraft, TaxLine, current_seller, from_json,
                    reversed_share, tax_lines, to_json, total_tax)
from .wording import CREDIT_NOTE_LINE, RECORDED_BY_OPERATOR, language_of, say
from ..statuses import ChargeStatus, InvoiceStatus, LineKind

PREFIXES = {"invoice": "INV", "receipt": "RCT", "credit_note": "CN"}
UNPAID = (InvoiceStatus.OPEN, InvoiceStatus.DUNNING, InvoiceStatus.HELD)
IN_FLIGHT = (ChargeStatus.PENDING, ChargeStatus.UNKNOWN)  # a charge whose outcome is to come


class BillingError(ValueError):
    """A billing action that the rules refuse: ``code`` and ``params`` for the views to
    translate (no Flask here); the English message for logs and the CLI."""

    def __init__(self, code: str, message: str, **params):
        super().__init__(message)
        self.code, self.params = code, params


@dataclass(frozen=True)
class Line:
    """One invoice line before it is issued."""

    kind: str  # plan | addon | proration | credit | carry
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal

    @classmethod
    def priced(cls, kind, description, quantity, unit_price) -> Line:
        """A line whose amount is quantity x unit price, rounded to the cent."""
        return cls(kind, description, quantity, money(unit_price),
                   money(money(unit_price) * quantity))

    @classmethod
    def flat(cls, kind, description, amount) -> Line:
        """A one-off amount (a proration charge, or a credit when negative)."""
        return cls(kind, description, 1, money(amount), money(amount))


def take_numbers(series: str, count: int = 1) -> list[str]:
    """Take the next ``count`` numbers of ``series``; call it inside the issuing transaction
    (the counter row stays locked until it commits, so numbers are never shared)."""
    counter = DocumentCounter.series == series
    for _ in range(2):
        if DocumentCounter.update(last=DocumentCounter.last + count).where(counter).execute():
            break
        DocumentCounter.insert(series=series, last=0).on_conflict_ignore().execute()
    last = int(DocumentCounter.select(DocumentCounter.last).where(counter).scalar())
    return [f"{PREFIXES[series]}-{n:06d}" for n in range(last - count + 1, last + 1)]


def next_number(series: str) -> str:
    """Take the next number of ``series`` (inside the issuing transaction)."""
    return take_numbers(series)[0]


@dataclass
class Draft:
    """An invoice about to be issued."""

    account: Account
    lines: list[Line]
    subscription: Subscription | None = None
    period: tuple[dt.date, dt.date] | None = None
    description: str = ""
    due_on: dt.date | None = None
    status: InvoiceStatus | None = None  # None: "open", or "paid" when there is nothing to pay
    taxes: list[TaxLine] | None = None  # None: asked of the tax hook at issue (TAX-1)

    @property
    def net(self) -> Decimal:
        return money(sum((line.amount for line in self.lines), ZERO))

    def tax_draft(self, day: dt.date) -> TaxDraft:
        return TaxDraft("invoice", tuple(DraftLine(x.description, x.amount, x.kind)
                                         for x in self.lines), currency_of(self.account), day)

    def taxed(self, day: dt.date, buyer: Party | None = None) -> list[TaxLine]:
        """The draft's tax lines, from the hook once (TAX-1, TAX-3); ``buyer``: the
        account's details when already read (estimates price several drafts for one)."""
        if self.taxes is None:
            self.taxes = tax_lines(self.tax_draft(day), current_seller(),
                                   buyer or buyer_party(self.account))
        return self.taxes

    @property
    def total(self) -> Decimal:
        """The gross: net plus the tax lines (none before they are asked for)."""
        return money(self.net + total_tax(self.taxes or ()))

    @property
    def initial_status(self) -> str:
        return self.status or (InvoiceStatus.PAID if self.total <= ZERO else InvoiceStatus.OPEN)


def issue_many(drafts: list[Draft], *, day: dt.date) -> list[Invoice]:
    """Issue ``drafts`` in one go (inside a transaction), in order; a draft with nothing
    to pay is issued paid. The numbers are taken last, so the counter row is locked only
    for the few inserts before the commit."""
    if any(not d.lines for d in drafts):
        raise BillingError("no_lines", "an invoice needs at least one line")
    if not drafts:
        return []
    for d in drafts:
        d.taxed(day)
    now = utcnow()
    seller = seller_text()  # the same for the whole batch
    rows = [{**snapshot(d.account, seller), "taxes": to_json(d.taxes),
             "tax_total": total_tax(d.taxes), "account": d.account.id,
             "subscription": d.subscription.id if d.subscription else None,
             "period_start": d.period[0] if d.period else None,
             "period_end": d.period[1] if d.period else None,
             "issued_on": day, "due_on": d.due_on or day, "total": d.total,
             "description": d.description, "status": d.initial_status,
             "paid_at": now if d.initial_status == InvoiceStatus.PAID else None, "created_at": now}
            for d in drafts]
    numbers = take_numbers("invoice", len(drafts))  # the counter is locked from here
    for number, row in zip(numbers, rows, strict=True):
        row["number"] = number
    insert_rows(Invoice, rows)
    issued = {i.number: i for i in Invoice.select().where(Invoice.number.in_(numbers))}
    invoices = [issued[number] for number in numbers]
    insert_rows(InvoiceLine, [
        {"invoice": invoice.id, "position": i, "kind": line.kind,
         "description": line.description, "quantity": line.quantity,
         "unit_price": line.unit_price, "amount": line.amount}
        for invoice, d in zip(invoices, drafts, strict=True)
        for i, line in enumerate(d.lines, start=1)])
    return invoices


def issue_invoice(account: Account, lines: list[Line], *, day: dt.date,
                  subscription: Subscription | None = None,
                  period: tuple[dt.date, dt.date] | None = None, description: str = "",
                  due_on: dt.date | None = None, status: InvoiceStatus | None = None,
                  taxes: list[TaxLine] | None = None) -> Invoice:
    """Issue one invoice with ``lines`` (inside a transaction); ``status="paid"`` for a
    charge already collected (a plan change's proration), followed by its receipt;
    ``taxes`` when they were fixed before (an order's, from its quote)."""
    return issue_many([Draft(account, lines, subscription, period, description, due_on,
                             status, taxes)], day=day)[0]


def credited(invoice: Invoice) -> Decimal:
    """The sum of the credit notes issued against ``invoice``."""
    cents = (CreditNote.select(pw.fn.COALESCE(pw.fn.SUM(CreditNote.amount), 0))
             .where(CreditNote.invoice == invoice.id).scalar())
    return CreditNote.amount.python_value(cents or 0)


def amount_due(invoice: Invoice) -> Decimal:
    """What is still to collect: nothing once paid or credited in full."""
    if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.CREDITED):
        return ZERO
    return money(invoice.total - credited(invoice))


def total_due(unpaid: list[Invoice]) -> Decimal:
    """What "Pay now" would collect for these invoices (all in the account's currency)."""
    return money(sum((amount_due(i) for i in unpaid), ZERO))


def issue_receipt(invoice: Invoice, *, day: dt.date, amount: Decimal, method: str,
                  charge: Charge | None = None, reference: str = "") -> Receipt:
    """Mark ``invoice`` paid and issue its receipt (inside a transaction)."""
    invoice.status, invoice.paid_at = InvoiceStatus.PAID, utcnow()
    invoice.hold_reason, invoice.next_attempt_on = "", None
    invoice.save()
    return Receipt.create(number=next_number("receipt"), invoice=invoice.id,
                          charge=charge.id if charge else None, amount=money(amount),
                          paid_on=day, method=method[:200], reference=reference[:200])


def has_charge_in_flight(invoice: Invoice) -> bool:
    """True while a charge of ``invoice`` has an outcome not yet known."""
    return (Charge.select().where((Charge.invoice == invoice.id)
                                  & Charge.status.in_(IN_FLIGHT)).exists())


def issue_credit_note(invoice: Invoice, amount, reason: str, *, day: dt.date,
                      user=None) -> CreditNote:
    """An operator's correction of ``invoice`` (inside a transaction).

    On an unpaid invoice it lowers what is collected (in full: the invoice is
    "credited" and leaves dunning); on a paid one the credit goes onto the account's
    next invoice as a negative line.
    """
    amount = money(amount)
    reason = (reason or "").strip()
    if amount <= ZERO:
        raise BillingError("amount_not_positive", "the amount must be more than zero")
    if not reason:
        raise BillingError("reason_missing", "say why the invoice is corrected")
    room = money(invoice.total - credited(invoice))
    if amount > room:
        raise BillingError("over_credit", f"at most {room} can still be credited",
                           room=room, number=invoice.number)
    if invoice.status != InvoiceStatus.PAID and has_charge_in_flight(invoice):
        raise BillingError("charge_in_flight", "a charge of this invoice is unreconciled")
    # TAX-3: the note reverses each rate's share of what it credits.
    reversed_taxes = reversed_share(from_json(invoice.taxes), invoice.total, amount)
    note = CreditNote.create(number=next_number("credit_note"), invoice=invoice.id,
                             amount=amount, reason=reason, issued_on=day,
                             taxes=to_json(reversed_taxes), issued_by=user.id if user else None)
    if invoice.status == InvoiceStatus.PAID:
        # The next invoice takes the credit's net: its own tax lines then lower the tax
        # by what this note reversed, so the buyer gets back the gross credited.
        BillingAdjustment.create(account=invoice.account_id, subscription=invoice.subscription_id,
                                 kind=LineKind.CREDIT,
                                 amount=-(amount - total_tax(reversed_taxes)),
                                 description=say(language_of(invoice.account_id),
                                                 CREDIT_NOTE_LINE, note=note.number,
                                                 invoice=invoice.number))
    elif amount == room:
        invoice.status, invoice.next_attempt_on, invoice.hold_reason = \
            InvoiceStatus.CREDITED, None, ""
        invoice.save()
        dunning.recover(invoice.account_id)
    AuditEvent.create(account=invoice.account_id, actor=user.id if user else None,
                      action="invoice.credit_note",
                      detail=f"{note.number} on {invoice.number}: {amount} ({reason})")
    return note


def mark_paid(invoice: Invoice, *, reference: str, day: dt.date, user=None) -> Receipt:
    """An operator records a payment received outside the gateway (bank transfer, PAY-3)."""
    reference = (reference or "").strip()
    if invoice.status not in UNPAID:
        raise BillingError("not_unpaid", f"{invoice.number} is {invoice.status}",
                           number=invoice.number, status=invoice.status)
    if not reference:
        raise BillingError("reference_missing", "give the payment's reference")
    if has_charge_in_flight(invoice):
        raise BillingError("charge_in_flight", "a charge of this invoice is unreconciled")
    receipt = issue_receipt(invoice, day=day, amount=amount_due(invoice), reference=reference,
                            method=say(language_of(invoice.account_id), RECORDED_BY_OPERATOR))
    dunning.recover(invoice.account_id)
    AuditEvent.create(account=invoice.account_id, actor=user.id if user else None,
                      action="invoice.mark_paid",
                      detail=f"{invoice.number} paid: {receipt.amount} ref {reference}")
    return receipt
