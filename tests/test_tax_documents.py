"""Taxes on issued documents (rules BIL-1, TAX-1, TAX-2, TAX-3), on SQLite and PostgreSQL:
invoices from the billing run, credit notes reversing tax, quote -> order -> invoice with
the same taxes, PDFs read back with pypdf (mentions and amounts, in English and French),
and documents that keep the details they were issued with."""
from decimal import Decimal

import pytest

from portal.billing import invoices as billing_invoices
from portal.billing.taxes import from_json
from portal.db import db
from portal.models import Account, ChangeOrder, CreditNote, Invoice, Quote, Receipt
from support.billing import DEC1, account, cards_for_demo, invoices_of, pdf_text, run, usd
from support.changes import (ATELIER, DEMO_TODAY, Wizard, add_card, charges_for, csrf,
                             subscription_of)

FRENCH_SELLER = dict(TAXES="eu_vat", TODAY=DEMO_TODAY, SELLER_LEGAL_NAME="Comptoir Portail SAS",
                     SELLER_ADDRESS="12 avenue de l'Opéra", SELLER_POSTAL_CODE="75001",
                     SELLER_CITY="Paris", SELLER_COUNTRY="FR", SELLER_TAX_ID="FR40303265045",
                     SELLER_REGISTRATIONS=("SIREN=303265045", "SIRET=30326504500020"))
pytestmark = pytest.mark.app_config(**FRENCH_SELLER)
PAPILLON = "Corner Bakeries"  # Lyon, FR; made a French business in each test
FRENCH_BUSINESS = dict(tax_id="FR40303265045", po_reference="BC-2026-117",
                       invoice_emails="compta@corner.example")


def set_details(name, **details):
    Account.update(**details).where(Account.name == name).execute()


def invoice_of(app, name):
    with app.app_context():
        if name == PAPILLON and account(name).country == "FR" and not account(name).tax_id:
            set_details(name, **FRENCH_BUSINESS)
        cards_for_demo()
        run(app, DEC1)
        return invoices_of(account(name))[-1]


def download(client, auth, path, as_="operator@example.com", lang=None):
    auth.login(as_=as_)
    if lang:
        client.post("/language", data={"language": lang})
    response = client.get(path, headers={"Accept-Language": lang or "en"})
    assert response.status_code == 200, response.status_code
    return pdf_text(response.data)


def test_tax2_domestic_french_business_pays_20_percent_with_the_french_mentions(app, client, auth):
    invoice = invoice_of(app, PAPILLON)  # Lyon, FR VAT ID: domestic for a French seller
    [tax] = from_json(invoice.taxes)
    assert tax.rate == Decimal("20") and tax.mention == ""
    net = tax.base
    assert tax.amount == (net * Decimal("0.2")).quantize(Decimal("0.01"))
    assert invoice.total == net + tax.amount and invoice.tax_total == tax.amount
    with app.app_context():
        assert sum(line.amount for line in invoice.lines) == net  # lines are net
    text = download(client, auth, f"/documents/invoice/{invoice.id}.pdf")
    for fact in ("Comptoir Portail SAS", "FR40303265045", "SIREN 303265045",
                 "SIRET 30326504500020", "Corner Bakeries SARL", "4 rue du Four",
                 "69002 Lyon", "France", "BC-2026-117", invoice.number, "Due on",
                 "Total excluding tax", "VAT 20%", "Total including tax",
                 usd(net), usd(tax.amount), usd(invoice.total),
                 "fixed indemnity of 40 €", "three times the legal interest rate"):
        assert fact in text, fact
    assert "Amounts in USD." in text  # the account's currency: USD until accounts have one


def test_tax3_french_document_in_french_words_and_numbers(app, client, auth):
    invoice = invoice_of(app, PAPILLON)
    text = " ".join(download(client, auth, f"/documents/invoice/{invoice.id}.pdf",
                             lang="fr").split())  # lines wrap anywhere
    [tax] = from_json(invoice.taxes)
    amount = f"{tax.amount:,.2f}".replace(",", "\u202f").replace(".", ",")
    for fact in ("FACTURE", "TVA 20", "Total hors taxes", "Total toutes taxes comprises",
                 "N° TVA", "indemnité forfaitaire de 40 €", "frais de recouvrement",
                 "Pas d’escompte pour paiement anticipé", "Bon de commande", amount):
        assert fact in text, fact


@pytest.mark.parametrize("country,vat_id", [("DE", "DE136695976"), ("NL", "NL004495445B01"),
                                            ("BE", "BE0403019261")])
def test_tax2_reverse_charge_printed_with_its_mention(app, client, auth, country, vat_id):
    with app.app_context():
        set_details("Corner Bakeries", country=country, tax_id=vat_id)
    invoice = invoice_of(app, "Corner Bakeries")
    [tax] = from_json(invoice.taxes)
    assert tax.amount == 0 and invoice.tax_total == 0 and invoice.total == tax.base
    text = download(client, auth, f"/documents/invoice/{invoice.id}.pdf")
    assert "Reverse charge" in text and "Article 196" in text and vat_id in text


@pytest.mark.parametrize("country,rate", [("DE", "19"), ("NL", "21"), ("BE", "21")])
def test_tax2_eu_consumer_pays_its_country_rate_on_the_invoice(app, country, rate):
    with app.app_context():
        set_details("Corner Bakeries", country=country, tax_id="")
    invoice = invoice_of(app, "Corner Bakeries")
    [tax] = from_json(invoice.taxes)
    assert tax.rate == Decimal(rate) and tax.country == country


def test_tax2_outside_the_eu_no_vat_with_the_mention(app, client, auth):
    invoice = invoice_of(app, "Northwind Retail")  # Leeds, GB: outside the EU
    [tax] = from_json(invoice.taxes)
    assert tax.amount == 0 and invoice.total == tax.base
    text = download(client, auth, f"/documents/invoice/{invoice.id}.pdf")
    assert "VAT not applicable" in text and "Article 44" in text


@pytest.mark.app_config(TODAY=DEMO_TODAY)
def test_tax1_without_a_tax_plugin_documents_carry_no_tax(app, client, auth):
    invoice = invoice_of(app, PAPILLON)
    assert from_json(invoice.taxes) == [] and invoice.tax_total == 0
    text = download(client, auth, f"/documents/invoice/{invoice.id}.pdf")
    assert "VAT 20" not in text and "excluding tax" not in text


def test_tax3_credit_note_reverses_the_tax_of_what_it_credits(app, client, auth):
    invoice = invoice_of(app, PAPILLON)
    [tax] = from_json(invoice.taxes)
    half = (invoice.total / 2).quantize(Decimal("0.01"))
    with app.app_context(), db.atomic():
        note = billing_invoices.issue_credit_note(Invoice.get_by_id(invoice.id), half,
                                                  "Half a month refunded", day=DEC1)
    [reversed_tax] = from_json(CreditNote.get_by_id(note.id).taxes)
    assert reversed_tax.rate == tax.rate
    assert reversed_tax.base + reversed_tax.amount == half
    assert reversed_tax.amount == (reversed_tax.base * Decimal("0.2")).quantize(Decimal("0.01"))
    text = download(client, auth, f"/documents/credit_note/{note.id}.pdf")
    assert "reverses the tax" in text and usd(reversed_tax.amount) in text
    assert "Credited excluding tax" in text and usd(reversed_tax.base) in text


def test_tax3_receipt_shows_net_tax_and_gross(app, client, auth):
    invoice = invoice_of(app, PAPILLON)
    with app.app_context():
        receipt = Receipt.get(Receipt.invoice == invoice.id)
    [tax] = from_json(invoice.taxes)
    text = download(client, auth, f"/documents/receipt/{receipt.id}.pdf")
    assert receipt.amount == invoice.total
    assert usd(tax.base) in text and usd(tax.amount) in text and "VAT 20%" in text


def test_tax3_quote_order_invoice_carry_the_same_taxes(app, client, auth):
    """An upgrade's prorated charge is taxed like the rest: the quote's tax is what the
    order charges on top of its net, and what its invoice and receipt print."""
    with app.app_context():
        set_details("Atelier Space", country="FR", city="Lyon", tax_id="")
        add_card("Atelier Space")
        sid = subscription_of("Atelier Space", "business").id
    auth.login(as_=ATELIER)
    wizard = Wizard(client)
    form = wizard.review_form(wizard.to_review(sid, plan="business", interval="annual",
                                               quantity=7, addon_quantity=3))
    wizard.quote(sid, form)
    with app.app_context():
        quote = Quote.select().order_by(Quote.id.desc()).first()
    [quoted] = from_json(quote.taxes)
    assert quoted.rate == Decimal("20") and quoted.base == quote.due_now
    text = pdf_text(client.get(f"/admin/subscription/quotes/{quote.id}.pdf").data)
    assert usd(quoted.amount) in text and usd(quote.due_now + quoted.amount) in text
    assert client.post(f"/admin/subscription/quotes/{quote.id}/accept",
                       data={"csrf_token": csrf(client)}).status_code == 303
    with app.app_context():
        order = ChangeOrder.get(ChangeOrder.quote == quote.id)
        assert from_json(order.taxes) == [quoted]
        gross = quote.due_now + quoted.amount
        assert [c.amount for c in charges_for(order.charge_key)] == [gross]
        invoice = Invoice.select().where(
            Invoice.description == f"Plan change, order {order.id}").get()
        assert from_json(invoice.taxes) == [quoted] and invoice.total == gross
        assert Receipt.get(Receipt.invoice == invoice.id).amount == gross


def test_bil1_an_issued_document_keeps_the_details_it_was_issued_with(app, client, auth):
    invoice = invoice_of(app, PAPILLON)
    with app.app_context():
        set_details(PAPILLON, legal_name="Papillon Holding", address_line1="1 quai Neuf",
                    tax_id="", country="BE")
        assert Invoice.get_by_id(invoice.id).buyer == invoice.buyer
    app.config.update(SELLER_LEGAL_NAME="Another Seller SA")
    text = download(client, auth, f"/documents/invoice/{invoice.id}.pdf")
    assert "Corner Bakeries SARL" in text and "4 rue du Four" in text
    assert "Papillon Holding" not in text and "1 quai Neuf" not in text
    assert "Comptoir Portail SAS" in text and "Another Seller SA" not in text
    with app.app_context():
        later = invoice_of(app, PAPILLON)  # nothing new is due: same invoice
        assert later.id == invoice.id


def test_doc3_twenty_line_invoice_on_one_page_with_its_totals(app, client, auth):
    """A 20-line invoice of a French business prints every line, quantity, unit price and
    amount, and its net, VAT and gross, on one page: the totals never land on a second
    page apart from the lines (they did, with the rows as tall as before issue #20)."""
    from io import BytesIO

    from pypdf import PdfReader

    lines = [billing_invoices.Line.priced("plan", f"Shop {n:02d} location plan", n,
                                          Decimal("7.50")) for n in range(1, 21)]
    with app.app_context(), db.atomic():
        set_details(PAPILLON, **FRENCH_BUSINESS)
        invoice = billing_invoices.issue_invoice(account(PAPILLON), lines, day=DEC1,
                                                 period=(DEC1, DEC1.replace(day=31)))
        [tax] = from_json(invoice.taxes)
    auth.login(as_="operator@example.com")
    response = client.get(f"/documents/invoice/{invoice.id}.pdf")
    assert response.status_code == 200
    pages = PdfReader(BytesIO(response.data)).pages
    assert len(pages) == 1
    text = pages[0].extract_text()
    for line in lines:
        assert f"{line.description} {line.quantity} × {usd(line.unit_price)} {usd(line.amount)}" \
            in text, line
    for fact in (f"Total excluding tax {usd(tax.base)}", f"VAT 20% · on {usd(tax.base)} "
                 f"{usd(tax.amount)}", f"Total including tax {usd(invoice.total)}",
                 "fixed indemnity of 40 €", "SIRET 30326504500020"):
        assert fact in text, fact
