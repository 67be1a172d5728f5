"""CSV exports (issue #18.6): a period's invoices (one row per line), credit notes and
payments for accounting, parsed back and summed to the documents' totals; an account's
devices and locations for its people (DEV-1); and the History tab's charts (#18.4)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from contextlib import contextmanager
from collections import defaultdict
from decimal import Decimal

import pytest

from portal.db import db
from portal.models import Account, AuditEvent, CreditNote, Device, Invoice, Location, Receipt
from support.history import logged_in

YEAR = {"start": "2025-11-01", "end": "2026-11-30"}


@pytest.fixture(scope="module")
def operator(history_app):
    return logged_in(history_app, "operator@example.com")


@pytest.fixture
def rows(history_app):
    """The database of the history app, for reading the records (the requests of these
    tests are all the operator's: a pushed app context shares Flask-Login's ``g``)."""
    with history_app.app_context():
        db.connect(reuse_if_open=True)
        yield
        db.close()


@contextmanager
def records(app):
    """The app's database, for a few reads between two people's requests."""
    with app.app_context():
        db.connect(reuse_if_open=True)
        yield
        db.close()


def download(client, url, **params) -> list[dict]:
    response = client.get(url, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    # another account's invoices, or its people's devices: no shared cache keeps a copy
    # (issue #13 item 15 said it of the period zip; every download is such a document)
    assert response.headers["Cache-Control"] == "private, no-store"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_invoice_lines_sum_to_each_invoice_and_to_the_periods_total(operator, rows):
    lines = download(operator, "/operator/exports/invoices.csv", **YEAR)
    invoices = {i.number: i for i in Invoice.select()
                if dt.date(2025, 11, 1) <= i.issued_on <= dt.date(2026, 11, 30)}
    assert len(invoices) > 40
    per_invoice = defaultdict(Decimal)
    for line in lines:
        per_invoice[line["invoice_number"]] += Decimal(line["net_amount"] or line["tax_amount"])
        assert line["currency"] == "USD"
        assert Decimal(line["invoice_total"]) == invoices[line["invoice_number"]].total
    assert not [x for x in lines if x["kind"] == "tax"]  # no tax plugin: no tax (TAX-1)
    assert set(per_invoice) == set(invoices)
    for number, total in per_invoice.items():
        assert total == invoices[number].total, number
    assert sum(per_invoice.values()) == sum(i.total for i in invoices.values())
    credit_lines = [x for x in lines if x["kind"] == "credit"]
    assert credit_lines and Decimal(credit_lines[0]["net_amount"]) < 0  # the carried credit


def test_a_period_holds_only_its_documents(operator, rows):
    lines = download(operator, "/operator/exports/invoices.csv", start="2026-11-01",
                     end="2026-11-30")
    assert {x["issued_on"][:7] for x in lines} == {"2026-11"}


def test_credit_notes_and_payments_sum_to_the_records(operator, rows):
    notes = download(operator, "/operator/exports/credit-notes.csv", **YEAR)
    assert sum(Decimal(n["net_amount"]) for n in notes) == sum(
        c.amount for c in CreditNote.select()) > 0
    paid = download(operator, "/operator/exports/payments.csv", **YEAR)
    receipts = [r for r in Receipt.select()
                if dt.date(2025, 11, 1) <= r.paid_on <= dt.date(2026, 11, 30)]
    assert len(paid) == len(receipts)
    assert sum(Decimal(p["amount"]) for p in paid) == sum(r.amount for r in receipts)
    assert AuditEvent.select().where(AuditEvent.action == "export.accounting").count() >= 2


@pytest.mark.parametrize("params, message", [
    ({"start": "2026-11-30", "end": "2026-11-01"}, "The last day comes after the first."),
    ({"start": "yesterday", "end": "2026-11-01"}, "Not a valid date value."),
    ({"start": "2026-11-01"}, "Give the last day."),
])
def test_a_refused_period_answers_the_page_with_the_error_beside_the_field(operator, params,
                                                                          message):
    response = operator.get("/operator/exports/invoices.csv", query_string=params)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'class="field-error"' in page and message in page


def test_the_export_page_offers_last_month(operator):
    page = operator.get("/operator/exports").get_data(as_text=True)
    assert 'value="2026-10-01"' in page and 'value="2026-10-31"' in page


def test_dev1_the_customer_exports_its_devices_and_locations(history_app):
    with records(history_app):
        north = Account.get(Account.name == "Northwind Retail")
        devices = {d.serial for d in Device.select().where(Device.account == north)}
        locations = {p.name for p in Location.select().where(Location.account == north)}
    for email in ("admin@northwind.example", "member@northwind.example"):
        found = download(logged_in(history_app, email), "/subscription/inventory.csv")
        assert {r["device_serial"] for r in found if r["device_serial"]} == devices
        places = {r["location"] for r in found}
        assert places == locations
        assert "Bradford Pop-up" in places  # a location without a device has its row
    with records(history_app):
        assert AuditEvent.select().where(AuditEvent.action == "export.inventory").count() == 2


def test_the_history_tab_charts_usage_and_for_admins_spend(history_app):
    admin = logged_in(history_app, "admin@northwind.example").get(
        "/subscription/history").get_data(as_text=True)
    charts = re.findall(r'<figure class="chart".*?</figure>', admin, re.S)
    assert len(charts) == 2
    spend = charts[1]
    with records(history_app):
        north = Account.get(Account.name == "Northwind Retail")
        november = sum(i.total for i in Invoice.select().where(
            (Invoice.account == north) & (Invoice.issued_on >= dt.date(2026, 11, 1))))
    assert f"${november:,.2f}" in spend
    assert len(re.findall(r"<rect ", spend)) == 12
    member = logged_in(history_app, "member@northwind.example").get(
        "/subscription/history").get_data(as_text=True)
    assert len(re.findall(r'<figure class="chart"', member)) == 1  # invoices: admins'
    assert "/subscription/inventory.csv" in member


def test_dev1_the_usage_tab_links_the_export_beside_the_removal_note(history_app):
    page = logged_in(history_app, "admin@northwind.example").get(
        "/subscription/").get_data(as_text=True)
    note = re.search(r"<p class=\"note\">Removing a device.*?</p>", page, re.S).group(0)
    assert 'href="/subscription/inventory.csv"' in note


def test_exports_stream_in_batches_that_meet_exactly(history_app, operator, monkeypatch):
    """Keyset batches of 3 give the same rows as one batch: none lost or repeated at the
    seams, and the rows are read batch by batch (the query count grows with them)."""
    from portal.metrics import exports
    from support.pages import counted_queries

    whole = operator.get("/operator/exports/invoices.csv", query_string=YEAR).get_data()
    monkeypatch.setattr(exports, "BATCH", 3)
    with counted_queries() as counter:
        small = operator.get("/operator/exports/invoices.csv", query_string=YEAR).get_data()
    assert small == whole
    invoices = len({r["invoice_number"] for r in csv.DictReader(io.StringIO(whole.decode()))})
    assert counter.count >= 2 * (invoices // 3)  # invoices, then their lines, per batch


def test_a_taxed_invoice_has_a_row_per_rate_and_adds_up_to_its_gross(app, client, auth):
    """TAX-3: lines are net, each rate its own row; net + tax = the invoice's total."""
    from portal.billing.taxes import TaxLine, to_json
    from portal.models import InvoiceLine

    with app.app_context():
        db.connect(reuse_if_open=True)
        north = Account.get(Account.name == "Northwind Retail")
        invoice = Invoice.create(
            number="TAX-1", account=north, issued_on=dt.date(2026, 11, 2),
            due_on=dt.date(2026, 11, 2), total=Decimal("125.50"), tax_total=Decimal("20.50"),
            currency="EUR", account_name=north.name, status="paid",
            taxes=to_json([TaxLine(Decimal("20"), Decimal("100.00"), Decimal("20.00"), "VAT 20 %"),
                           TaxLine(Decimal("10"), Decimal("5.00"), Decimal("0.50"), "VAT 10 %")]))
        for n, amount in ((1, "100.00"), (2, "5.00")):
            InvoiceLine.create(invoice=invoice, position=n, kind="plan", description="x",
                               quantity=1, unit_price=amount, amount=amount)
        db.close()
    auth.login(as_="operator@example.com")
    found = [r for r in download(client, "/operator/exports/invoices.csv", start="2026-11-02",
                                 end="2026-11-02") if r["invoice_number"] == "TAX-1"]
    assert [(r["kind"], r["tax_rate"], r["tax_base"], r["tax_amount"]) for r in found] == [
        ("plan", "", "", ""), ("plan", "", "", ""), ("tax", "20", "100.00", "20.00"),
        ("tax", "10", "5.00", "0.50")]
    assert {r["currency"] for r in found} == {"EUR"}  # the document's own (DOC-3)
    assert sum(Decimal(r["net_amount"] or r["tax_amount"]) for r in found) == Decimal("125.50")
