"""Quotes of a French account (issue 8, item 5; CHG-2, DOC-2): the admin who asks reads the
portal in English, yet the quote's stored lines and the "quote ready" mail are in the
account's language; the PDF follows whoever downloads it (issue 13, item 4)."""
import io
import json

import pytest
from babel.numbers import format_currency
from pypdf import PdfReader

from portal.models import Account, Delivery, Membership, Quote, QuoteLine, User
from support.changes import ATELIER, DEMO_TODAY, Wizard, subscription_of

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)  # the wizard prices as of the demo day

ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


def words(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


@pytest.fixture
def french_atelier(app):
    """Atelier Space in French; its admin's own pages in English."""
    with app.app_context():
        acct = Account.get(Account.name == "Atelier Space")
        Account.update(language="fr").where(Account.id == acct.id).execute()
        User.update(language="en").where(User.id.in_(
            Membership.select(Membership.user).where(Membership.account == acct.id))).execute()
        return subscription_of("Atelier Space", "business").id


def test_chg2_a_french_accounts_quote_is_written_in_french(app, client, auth,
                                                           french_atelier):
    wizard = Wizard(client)
    auth.login(as_=ATELIER)
    form = wizard.review_form(wizard.to_review(french_atelier, plan="business",
                                               interval="annual", quantity=7,
                                               addon_quantity=3))
    response = wizard.quote(french_atelier, form)
    assert response.status_code == 303
    page = client.get(response.headers["Location"], headers=ENGLISH).get_data(as_text=True)
    assert "is ready, valid until" in page  # the admin's flash: their own language
    with app.app_context():
        quote = Quote.select().order_by(Quote.id.desc()).get()
        lines = [words(line.description) for line in quote.lines.order_by(QuoteLine.position)]
        mail = json.loads(Delivery.get(Delivery.kind == "quote_ready").payload)
    assert lines == ["Collaboration Business (per seat), facturation annuelle : utilisateurs",
                     "Licences complémentaires, facturation annuelle"]
    assert mail["subject"] == f"Le devis {quote.number} est prêt"

    # A download follows its reader (issue 13, item 4): the admin reads English, so the
    # PDF is English, its stored French lines said again in English.
    pdf = client.get(f"/admin/subscription/quotes/{quote.id}.pdf", headers=FRENCH)
    text = words("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages))
    assert "Quote" in text and "Devis" not in text
    assert "Collaboration Business (per seat), annual: users" in text
    assert "Add-on licenses, annual" in text and "facturation" not in text
    assert f"${quote.recurring_after:,.2f}" in text
    with app.app_context():  # a reader who follows a French browser gets French
        User.update(language=None).where(User.email == ATELIER).execute()
    pdf = client.get(f"/admin/subscription/quotes/{quote.id}.pdf", headers=FRENCH)
    text = words("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages))
    assert "Devis" in text and "Valable jusqu'au" in text and "Nouveau prix récurrent" in text
    assert all(line in text for line in lines)
    assert words(format_currency(quote.recurring_after, "USD", locale="fr")) in text
