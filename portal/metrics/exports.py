"""CSV exports, streamed in constant memory (issue #18.6).

For accounting, a period's (issue dates, inclusive) invoices — one row per line —,
credit notes and payments (receipts); for the customer, the account's locations and
devices (rule DEV-1: export before removing). Each is a generator of CSV text: rows are
read in batches of ``BATCH`` by their id (keyset pagination: the same bounded memory on
SQLite and PostgreSQL, whose driver would otherwise fetch a whole result at once), and
written as they come. Amounts are plain decimals with their currency beside them
(DOC-3); the tax columns stay empty until taxes exist (TAX-1).
"""
from __future__ import annotations

import csv
import datetime as dt
import io

import peewee as pw

from ..models import Account, CreditNote, Device, Invoice, InvoiceLine, Location, Receipt
from .currency import currency_column

BATCH = 500

INVOICE_COLUMNS = ("invoice_number", "account_id", "account_name", "issued_on", "due_on",
                   "period_start", "period_end", "status", "line", "kind", "description",
                   "quantity", "unit_price", "net_amount", "tax_rate", "tax_amount",
                   "gross_amount", "invoice_total", "currency")
CREDIT_NOTE_COLUMNS = ("credit_note_number", "invoice_number", "account_id", "account_name",
                       "issued_on", "net_amount", "tax_rate", "tax_amount", "gross_amount",
                       "currency", "reason")
PAYMENT_COLUMNS = ("receipt_number", "invoice_number", "account_id", "account_name", "paid_on",
                   "amount", "currency", "method", "reference")
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
    invoices = (Invoice.select(Invoice, currency_column().alias("account_currency")).join(Account)
                .where((Invoice.issued_on >= start) & (Invoice.issued_on <= end)).objects())
    for batch in _batches(invoices, Invoice.id):
        by_id = {i.id: i for i in batch}
        for line in (InvoiceLine.select().where(InvoiceLine.invoice.in_(list(by_id)))
                     .order_by(InvoiceLine.invoice, InvoiceLine.position)):
            i = by_id[line.invoice_id]
            yield _line((i.number, i.account_id, i.account_name, i.issued_on, i.due_on,
                         i.period_start, i.period_end, i.status, line.position, line.kind,
                         line.description, line.quantity, line.unit_price, line.amount,
                         None, None, line.amount, i.total, i.account_currency))


def credit_notes(start: dt.date, end: dt.date):
    """The credit notes issued from ``start`` to ``end``, one row each (a positive amount
    that reduces what its invoice asks)."""
    yield _line(CREDIT_NOTE_COLUMNS)
    notes = (CreditNote.select(CreditNote, Invoice.number.alias("invoice_number"),
                               Invoice.account.alias("account_id"), Invoice.account_name,
                               currency_column().alias("account_currency"))
             .join(Invoice).join(Account)
             .where((CreditNote.issued_on >= start) & (CreditNote.issued_on <= end)).objects())
    for batch in _batches(notes, CreditNote.id):
        for n in batch:
            yield _line((n.number, n.invoice_number, n.account_id, n.account_name, n.issued_on,
                         n.amount, None, None, n.amount, n.account_currency, n.reason))


def payments(start: dt.date, end: dt.date):
    """The payments received from ``start`` to ``end`` (receipts), one row each."""
    yield _line(PAYMENT_COLUMNS)
    receipts = (Receipt.select(Receipt, Invoice.number.alias("invoice_number"),
                               Invoice.account.alias("account_id"), Invoice.account_name,
                               currency_column().alias("account_currency"))
                .join(Invoice).join(Account)
                .where((Receipt.paid_on >= start) & (Receipt.paid_on <= end)).objects())
    for batch in _batches(receipts, Receipt.id):
        for r in batch:
            yield _line((r.number, r.invoice_number, r.account_id, r.account_name, r.paid_on,
                         r.amount, r.account_currency, r.method, r.reference))


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
