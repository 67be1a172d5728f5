"""CSV exports, streamed in constant memory (issue #18.6).

For accounting, a period's (issue dates, inclusive) invoices — one row per line —,
credit notes and payments (receipts); for the customer, the account's locations and
devices (rule DEV-1: export before removing). Each is a generator of CSV text: rows are
read in batches of ``BATCH`` by their id (keyset pagination: the same bounded memory on
SQLite and PostgreSQL, whose driver would otherwise fetch a whole result at once), and
written as they come. Amounts are plain decimals with the document's currency beside
them (DOC-3). Taxes are per rate per document (TAX-3): an invoice's lines are net, then
one row of kind ``tax`` per rate (its base and amount); so an invoice's net amounts plus
its tax amounts are its total. With no tax plugin there is no tax row (TAX-1).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict

import peewee as pw

from ..billing.money import ZERO
from ..billing.taxes import from_json
from ..models import CreditNote, Device, Invoice, InvoiceLine, Location, Receipt
from .currency import document_currency

BATCH = 500

INVOICE_COLUMNS = ("invoice_number", "account_id", "account_name", "issued_on", "due_on",
                   "period_start", "period_end", "status", "line", "kind", "description",
                   "quantity", "unit_price", "net_amount", "tax_rate", "tax_base", "tax_amount",
                   "invoice_tax", "invoice_total", "currency")
CREDIT_NOTE_COLUMNS = ("credit_note_number", "invoice_number", "account_id", "account_name",
                       "issued_on", "net_amount", "tax_rates", "tax_amount", "gross_amount",
                       "currency", "reason")
PAYMENT_COLUMNS = ("receipt_number", "invoice_number", "account_id", "account_name", "paid_on",
                   "amount", "currency", "method", "reference")
TAX_COLUMNS = ("country", "tax_label", "tax_rate", "taxable_base", "tax_amount", "currency",
               "document_count")
INVENTORY_COLUMNS = ("location", "location_external_id", "location_active", "location_created_at",
                     "location_removed_at", "device_serial", "device_active",
                     "rma_replacement_of", "device_created_at", "device_removed_at")


def _line(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(
        ["" if v is None else v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v
         for v in values])
    return buffer.getvalue()


def _batches(query, key):
    """``query``'s rows in batches of ``BATCH`` by ascending ``key`` (keyset pagination)."""
    last = 0
    while True:
        rows = list(query.where(key > last).order_by(key).limit(BATCH))
        if not rows:
            return
        yield rows
        last = rows[-1].id


def invoice_lines(start: dt.date, end: dt.date):
    """The invoices issued from ``start`` to ``end``: a header, then one row per line."""
    yield _line(INVOICE_COLUMNS)
    invoices = Invoice.select().where((Invoice.issued_on >= start) & (Invoice.issued_on <= end))
    for batch in _batches(invoices, Invoice.id):
        by_id = {i.id: i for i in batch}
        lines = defaultdict(list)
        for line in (InvoiceLine.select().where(InvoiceLine.invoice.in_(list(by_id)))
                     .order_by(InvoiceLine.invoice, InvoiceLine.position)):
            lines[line.invoice_id].append(line)
        for i in batch:
            head = (i.number, i.account_id, i.account_name, i.issued_on, i.due_on,
                    i.period_start, i.period_end, i.status)
            tail = (i.tax_total, i.total, document_currency(i))
            for line in lines[i.id]:
                yield _line((*head, line.position, line.kind, line.description, line.quantity,
                             line.unit_price, line.amount, None, None, None, *tail))
            for tax in from_json(i.taxes):
                yield _line((*head, None, "tax", tax.label, None, None, None, tax.rate,
                             tax.base, tax.amount, *tail))


def credit_notes(start: dt.date, end: dt.date):
    """The credit notes issued from ``start`` to ``end``, one row each (a positive amount
    that reduces what its invoice asks)."""
    yield _line(CREDIT_NOTE_COLUMNS)
    notes = (CreditNote.select(CreditNote, Invoice).join(Invoice)
             .where((CreditNote.issued_on >= start) & (CreditNote.issued_on <= end)))
    for batch in _batches(notes, CreditNote.id):
        for n in batch:
            i, taxes = n.invoice, from_json(n.taxes)
            tax = sum((t.amount for t in taxes), ZERO)
            yield _line((n.number, i.number, i.account_id, i.account_name, n.issued_on,
                         n.amount - tax, ";".join(str(t.rate) for t in taxes), tax, n.amount,
                         document_currency(i), n.reason))


def payments(start: dt.date, end: dt.date):
    """The payments received from ``start`` to ``end`` (receipts), one row each."""
    yield _line(PAYMENT_COLUMNS)
    receipts = (Receipt.select(Receipt, Invoice).join(Invoice)
                .where((Receipt.paid_on >= start) & (Receipt.paid_on <= end)))
    for batch in _batches(receipts, Receipt.id):
        for r in batch:
            i = r.invoice
            yield _line((r.number, i.number, i.account_id, i.account_name, r.paid_on,
                         r.amount, document_currency(i), r.method, r.reference))


def tax_collected(start: dt.date, end: dt.date):
    """Tax collected from ``start`` to ``end`` (issue dates, inclusive) per country, label,
    rate and currency (TAX-1, TAX-3): the tax lines of the invoices issued, minus those of
    the credit notes issued (each reverses its share of its invoice's tax), summed as
    stored on the documents. A rate's country is the one its tax line names (the buyer's
    for a reverse charge or an export). ``document_count`` counts invoices and credit notes
    alike. The documents are read in batches; only the totals are held."""
    yield _line(TAX_COLUMNS)
    totals: dict[tuple, list] = {}

    def add(taxes, sign, currency, document):
        for t in taxes:
            key = (t.country, t.label, t.rate, currency)
            found = totals.setdefault(key, [ZERO, ZERO, set()])
            found[0] += sign * t.base
            found[1] += sign * t.amount
            found[2].add(document)

    invoices = Invoice.select().where((Invoice.issued_on >= start) & (Invoice.issued_on <= end))
    for batch in _batches(invoices, Invoice.id):
        for i in batch:
            add(from_json(i.taxes), 1, document_currency(i), ("invoice", i.id))
    notes = (CreditNote.select(CreditNote, Invoice).join(Invoice)
             .where((CreditNote.issued_on >= start) & (CreditNote.issued_on <= end)))
    for batch in _batches(notes, CreditNote.id):
        for n in batch:
            add(from_json(n.taxes), -1, document_currency(n.invoice), ("credit_note", n.id))
    for (country, label, rate, currency), (base, tax, documents) in sorted(
            totals.items(), key=lambda item: (item[0][3], item[0][0], item[0][2], item[0][1])):
        yield _line((country, label, rate, base, tax, currency, len(documents)))


def inventory(account_id):
    """The account's locations and devices (active or removed): one row per device, and
    one per location that has none (DEV-1)."""
    yield _line(INVENTORY_COLUMNS)
    original = Device.alias("original")
    locations = Location.select().where(Location.account == account_id)
    for batch in _batches(locations, Location.id):
        by_id = {p.id: p for p in batch}
        seen = set()
        devices = (Device.select(Device, original.serial.alias("replaced_serial"))
                   .join(original, pw.JOIN.LEFT_OUTER,
                         on=(Device.rma_replacement_of == original.id))
                   .where(Device.location.in_(list(by_id)))
                   .order_by(Device.location, Device.serial, Device.id).objects())
        for d in devices.iterator():
            p = by_id[d.location_id]
            seen.add(p.id)
            yield _line((p.name, p.external_id, p.active, p.created_at, p.removed_at, d.serial,
                         d.active, d.replaced_serial,
                         d.created_at, d.removed_at))
        for p in batch:
            if p.id not in seen:
                yield _line((p.name, p.external_id, p.active, p.created_at, p.removed_at,
                             None, None, None, None, None))
