"""Documents follow the reader's language when a person downloads them (issue 13, item 4);
mail, and anything rendered without a reader, follows the account's (Account.language).

The phrases the billing run stored at issue, in the account's language then ("Card
payment: Visa ending 1881", the invoice lines), are said again in the reader's language
(portal/billing/rewording.py): the downloaded PDF is wholly in one language."""
import pytest
from babel.dates import format_date
from babel.numbers import format_currency

from portal.db import db
from portal.models import Account, Receipt, User
from support.billing import DEC1, account, cards_for_demo, invoices_of, pdf_text, run

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
ADMIN = "admin@northwind.example"


def words(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def issue(app, account_language="en"):
    """Northwind's first invoice and its receipt, paid by card in the December run, their
    phrases written in ``account_language`` (the account's, at issue)."""
    set_languages(app, account_language, None)
    with app.app_context():
        cards_for_demo()
        run(app, DEC1)
        invoice = invoices_of(account("Northwind Retail"))[0]
        receipt = Receipt.get(Receipt.invoice == invoice.id)
        db.close()
    return invoice, receipt


@pytest.fixture
def documents(app):
    return issue(app, "en")


@pytest.fixture
def french_documents(app):
    return issue(app, "fr")


def set_languages(app, account_language, reader_language):
    with app.app_context():
        acct = Account.get(Account.name == "Northwind Retail")
        Account.update(language=account_language).where(Account.id == acct.id).execute()
        User.update(language=reader_language).where(User.email == ADMIN).execute()
        db.close()


def download(client, kind, doc, headers=None):
    response = client.get(f"/documents/{kind}/{doc.id}.pdf", headers=headers or {})
    assert response.status_code == 200
    return words(pdf_text(response.data))


def assert_french(invoice_text, receipt_text, invoice, receipt):
    assert "FACTURE" in invoice_text and "INVOICE" not in invoice_text
    assert "Foot traffic: per location, facturation mensuelle (abonnements de sites)" \
        in invoice_text
    assert format_date(invoice.issued_on, "medium", locale="fr") in invoice_text
    assert words(format_currency(invoice.total, "USD", locale="fr")) in invoice_text
    assert "REÇU" in receipt_text and "RECEIPT" not in receipt_text
    assert "Moyen de paiement : Paiement par carte : Visa se terminant par" in receipt_text
    assert "Card payment" not in receipt_text and "ending" not in receipt_text
    assert f"Payé intégralement : {words(format_currency(receipt.amount, 'USD', locale='fr'))}" \
        in receipt_text


def assert_english(invoice_text, receipt_text, invoice, receipt):
    assert "INVOICE" in invoice_text and "FACTURE" not in invoice_text
    assert "Foot traffic: per location, monthly (location subscriptions)" in invoice_text
    assert f"${invoice.total:,.2f}" in invoice_text
    assert "RECEIPT" in receipt_text and "REÇU" not in receipt_text
    assert "Payment method: Card payment: Visa ending" in receipt_text
    assert "Paiement" not in receipt_text and "terminant" not in receipt_text


@pytest.mark.parametrize("how", ["picker", "accept-language"])
def test_a_french_reader_of_an_english_account_downloads_french(app, client, auth, documents,
                                                                how):
    invoice, receipt = documents
    set_languages(app, "en", "fr" if how == "picker" else None)
    auth.login(as_=ADMIN)
    headers = ENGLISH if how == "picker" else FRENCH  # the picker wins over the browser
    assert_french(download(client, "invoice", invoice, headers),
                  download(client, "receipt", receipt, headers), invoice, receipt)


@pytest.mark.parametrize("how", ["picker", "accept-language"])
def test_an_english_reader_of_a_french_account_downloads_english(app, client, auth,
                                                                 french_documents, how):
    invoice, receipt = french_documents
    with app.app_context():  # the run wrote the phrases in French
        assert Receipt.get_by_id(receipt.id).method.startswith("Paiement par carte")
        db.close()
    set_languages(app, "fr", "en" if how == "picker" else None)
    auth.login(as_=ADMIN)
    headers = FRENCH if how == "picker" else ENGLISH
    assert_english(download(client, "invoice", invoice, headers),
                   download(client, "receipt", receipt, headers), invoice, receipt)


def test_an_operator_downloads_in_their_own_language(app, client, auth, french_documents):
    invoice, receipt = french_documents
    set_languages(app, "fr", None)
    auth.login(as_="operator@example.com")
    assert_english(download(client, "invoice", invoice, ENGLISH),
                   download(client, "receipt", receipt, ENGLISH), invoice, receipt)


def test_without_a_reader_documents_follow_the_account(app, documents):
    """What mail and background jobs render (no ``locale``): the account's language, even
    inside a request whose reader is French."""
    from portal.views.documents import document_pdf

    invoice, receipt = documents
    with app.test_request_context(headers=FRENCH):
        english = words(pdf_text(document_pdf("receipt", Receipt.get_by_id(receipt.id))))
    assert "RECEIPT" in english and "Card payment: Visa ending" in english
    set_languages(app, "fr", "en")
    with app.test_request_context(headers=ENGLISH):
        french = words(pdf_text(document_pdf("receipt", Receipt.get_by_id(receipt.id))))
    assert "REÇU" in french and "Paiement par carte : Visa se terminant par" in french
