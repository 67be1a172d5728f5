"""The operator's HTML page of one invoice shows net, tax per rate and gross (rule TAX-3)
as the PDF prints them, read from the stored invoice; without taxes (TAX-1) the one total as
before. Issue #19."""
import re
from decimal import Decimal
from html import unescape

import pytest

from portal.billing.taxes import from_json
from portal.models import Account
from support.billing import (DEC1, FRENCH_SELLER, account, cards_for_demo, invoices_of,
                             pdf_text, run, usd)
from support.changes import DEMO_TODAY

pytestmark = pytest.mark.app_config(**FRENCH_SELLER)
PAPILLON = "Corner Bakeries"  # Lyon, FR


def invoice_of(app, **details):
    """Corner Bakeries' December invoice, issued by the billing run with ``details``."""
    with app.app_context():
        Account.update(**details).where(Account.name == PAPILLON).execute()
        cards_for_demo()
        run(app, DEC1)
        return invoices_of(account(PAPILLON))[-1]


FRENCH_BUSINESS = dict(tax_id="FR40303265045")


def page_of(client, auth, invoice, lang="en"):
    auth.login(as_="operator@example.com")
    response = client.get(f"/operator/invoices/{invoice.id}", headers={"Accept-Language": lang})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def footer_rows(html):
    """(label, amount) of each row under the invoice's lines, as a reader sees them."""
    [foot] = re.findall(r"<tfoot>(.*?)</tfoot>", html, re.S)
    rows = re.findall(r"<tr[^>]*>\s*<th[^>]*>(.*?)</th>\s*<td[^>]*>(.*?)</td>", foot, re.S)
    return [(unescape(" ".join(label.split())), unescape(amount.strip()))
            for label, amount in rows]


def test_tax3_invoice_page_shows_net_vat_20_and_gross_as_the_pdf(app, client, auth):
    invoice = invoice_of(app, **FRENCH_BUSINESS)  # French buyer, French seller
    [tax] = from_json(invoice.taxes)
    assert tax.rate == Decimal("20") and tax.amount > 0
    html = page_of(client, auth, invoice)
    assert footer_rows(html) == [
        ("Total excluding tax", usd(tax.base)),
        (f"VAT 20% · on {usd(tax.base)}", usd(tax.amount)),
        ("Total including tax", usd(invoice.total)),
    ]
    assert tax.base + tax.amount == invoice.total  # the rows add up to the stored total
    assert f'data-gross="{invoice.total}"' in html and f'data-tax-rate="{tax.rate}"' in html
    # the PDF of the same invoice prints the same rows and amounts
    pdf = pdf_text(client.get(f"/documents/invoice/{invoice.id}.pdf").data)
    for label, amount in footer_rows(html):
        assert label in pdf and amount in pdf, (label, amount)


def test_tax3_invoice_page_in_french(app, client, auth):
    invoice = invoice_of(app, **FRENCH_BUSINESS)
    auth.login(as_="operator@example.com")
    client.post("/language", data={"language": "fr"})
    html = page_of(client, auth, invoice, lang="fr")
    labels = [label for label, _ in footer_rows(html)]
    assert labels[0] == "Total hors taxes" and labels[1].startswith("TVA 20")
    assert labels[2] == "Total toutes taxes comprises"


def test_tax2_reverse_charge_mention_on_the_invoice_page(app, client, auth):
    invoice = invoice_of(app, country="DE", tax_id="DE136695976")
    [tax] = from_json(invoice.taxes)
    html = page_of(client, auth, invoice)
    assert tax.mention and "Reverse charge" in html and "data-mention" in html
    assert [amount for _, amount in footer_rows(html)] == [usd(invoice.total), usd(0),
                                                           usd(invoice.total)]


@pytest.mark.app_config(TODAY=DEMO_TODAY)
def test_tax1_without_taxes_the_invoice_page_shows_one_total(app, client, auth):
    invoice = invoice_of(app, **FRENCH_BUSINESS)
    assert from_json(invoice.taxes) == []
    html = page_of(client, auth, invoice)
    assert footer_rows(html) == [("Total", usd(invoice.total))]
    assert "excluding tax" not in html and "VAT" not in html and "data-mention" not in html
