"""The operator's report of tax collected (issue #19.6; rules TAX-1, TAX-3): per country,
label, rate and currency for a month, from the invoices issued minus the credit notes
issued that month, streamed as CSV; recomputed here independently from the stored
documents' own JSON, with a credit note reversing tax and two currencies."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from decimal import Decimal

import pytest

from portal.accounts.onboarding import open_account
from portal.billing.invoices import Line, issue_credit_note, issue_invoice
from portal.db import db
from portal.models import AuditEvent, CreditNote, Invoice
from support.billing import FRENCH_SELLER

pytestmark = pytest.mark.app_config(**FRENCH_SELLER)
OPERATOR = "operator@example.com"
D = dt.date
NOV = (D(2026, 11, 1), D(2026, 11, 30))


def buyers():
    """Buyers of a French seller (TAX-2) in two currencies."""
    specs = {
        "Boulangerie Test": ("EUR", {"country": "FR", "city": "Lyon"}),  # 20 %
        "Kunde Test GmbH": ("EUR", {"country": "DE", "tax_id": "DE136695976"}),  # reverse
        "Verbraucher Test": ("EUR", {"country": "DE", "city": "Berlin"}),  # 19 %
        "Dollar Test SARL": ("USD", {"country": "FR", "city": "Nice"}),  # 20 %, in USD
        "Overseas Test Inc": ("USD", {"country": "US", "city": "Boston"}),  # outside the EU
    }
    return {name: open_account(name, currency=currency, details={"legal_name": name, **d})
            for name, (currency, d) in specs.items()}


def invoice(account, amount, day):
    with db.atomic():
        return issue_invoice(account, [Line.flat("plan", "Service", Decimal(amount))], day=day)


def report(client, **params):
    response = client.get("/operator/exports/tax-collected.csv", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv" and response.is_streamed
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def recomputed(start, end) -> dict:
    """TAX-3 from the stored documents alone: each invoice's tax JSON added, each credit
    note's subtracted, grouped by (country, label, rate, currency)."""
    found: dict = defaultdict(lambda: [Decimal(0), Decimal(0), set()])
    for i in Invoice.select().where(Invoice.issued_on.between(start, end)):
        for t in json.loads(i.taxes or "[]"):
            row = found[(t["country"], t["label"], Decimal(t["rate"]), i.currency)]
            row[0] += Decimal(t["base"])
            row[1] += Decimal(t["amount"])
            row[2].add(("invoice", i.id))
    for n in CreditNote.select().where(CreditNote.issued_on.between(start, end)):
        for t in json.loads(n.taxes or "[]"):
            row = found[(t["country"], t["label"], Decimal(t["rate"]), n.invoice.currency)]
            row[0] -= Decimal(t["base"])
            row[1] -= Decimal(t["amount"])
            row[2].add(("note", n.id))
    return {k: (v[0], v[1], len(v[2])) for k, v in found.items()}


def as_dict(rows) -> dict:
    return {(r["country"], r["tax_label"], Decimal(r["tax_rate"]), r["currency"]):
            (Decimal(r["taxable_base"]), Decimal(r["tax_amount"]), int(r["document_count"]))
            for r in rows}


def test_tax3_tax_collected_per_country_and_rate_is_invoices_minus_credit_notes(
        app, client, auth):
    with app.app_context():
        db.connect(reuse_if_open=True)
        b = buyers()
        bakery = invoice(b["Boulangerie Test"], "100.00", D(2026, 11, 5))
        invoice(b["Boulangerie Test"], "50.00", D(2026, 11, 20))
        invoice(b["Boulangerie Test"], "999.00", D(2026, 10, 31))  # another month
        invoice(b["Kunde Test GmbH"], "300.00", D(2026, 11, 6))
        invoice(b["Verbraucher Test"], "10.00", D(2026, 11, 7))
        invoice(b["Dollar Test SARL"], "80.00", D(2026, 11, 8))
        invoice(b["Overseas Test Inc"], "40.00", D(2026, 11, 9))
        with db.atomic():  # TAX-3: the note reverses its share of 20 % (60.00 of 120.00)
            issue_credit_note(bakery, Decimal("60.00"), "Goodwill", day=D(2026, 11, 25))
            issue_credit_note(bakery, Decimal("12.00"), "Later", day=D(2026, 12, 2))
        expected = recomputed(*NOV)
    auth.login(as_=OPERATOR)
    rows = report(client, month="2026-11")
    assert list(rows[0]) == ["country", "tax_label", "tax_rate", "taxable_base", "tax_amount",
                             "currency", "document_count"]
    found = as_dict(rows)
    assert found == expected
    # the figures by hand: 100 + 50 at 20 % less the note's 50.00 + 10.00 (TAX-3)
    assert found[("FR", "VAT", Decimal("20"), "EUR")] == (
        Decimal("100.00"), Decimal("20.00"), 3)
    assert found[("FR", "VAT", Decimal("20"), "USD")] == (Decimal("80.00"), Decimal("16.00"), 1)
    assert found[("DE", "VAT", Decimal("19"), "EUR")] == (Decimal("10.00"), Decimal("1.90"), 1)
    assert found[("DE", "VAT", Decimal("0"), "EUR")] == (Decimal("300.00"), Decimal("0.00"), 1)
    assert found[("US", "VAT", Decimal("0"), "USD")] == (Decimal("40.00"), Decimal("0.00"), 1)
    december = as_dict(report(client, month="2026-12"))  # the later note, on its own
    assert december[("FR", "VAT", Decimal("20"), "EUR")] == (
        Decimal("-10.00"), Decimal("-2.00"), 1)
    with app.app_context():
        assert AuditEvent.select().where(AuditEvent.action == "export.accounting",
                                         AuditEvent.detail.contains("tax collected")).count() == 2


def test_tax_report_month_is_checked_beside_its_field_and_defaults_to_last_month(
        app, client, auth):
    auth.login(as_=OPERATOR)
    page = client.get("/operator/exports").get_data(as_text=True)
    assert 'type="month"' in page and 'value="2026-10"' in page  # last month, demo's today
    assert 'action="/operator/exports/tax-collected.csv"' in page
    bad = client.get("/operator/exports/tax-collected.csv?month=2026-13")
    assert bad.status_code == 400 and bad.mimetype == "text/html"
    assert 'id="month-error"' in bad.get_data(as_text=True)
    default = client.get("/operator/exports/tax-collected.csv")  # no month: last month's
    assert 'filename="tax-collected-202610.csv"' in default.headers["Content-Disposition"]
    assert default.get_data(as_text=True).startswith("country,")  # read: the stream ends


@pytest.mark.app_config()
def test_tax1_without_a_tax_plugin_the_report_has_its_header_alone(app, client, auth):
    auth.login(as_=OPERATOR)
    response = client.get("/operator/exports/tax-collected.csv?month=2026-11")
    assert response.get_data(as_text=True).splitlines() == [
        "country,tax_label,tax_rate,taxable_base,tax_amount,currency,document_count"]


def test_tax_report_is_the_operators_alone(client, auth):
    auth.login(as_="admin@northwind.example")
    assert client.get("/operator/exports/tax-collected.csv?month=2026-11").status_code in (
        403, 404)
