"""Taxes wherever a price is shown (rules TAX-1, TAX-2, TAX-3, SUB-4; issue #19.6): the
wizard's live preview and review show net, tax and gross, and Place order charges the gross
shown; the Active subscriptions tab, the home and the API show the gross the billing run
then bills. Without a tax plugin (TAX-1) the pages show the one amount they always showed.
"""
import re
from decimal import Decimal

import pytest

import portal.accounts.tokens as api_tokens
from portal.billing.taxes import from_json
from portal.models import Account, ChangeOrder
from support.billing import DEC1, FRENCH_SELLER, invoices_of, run
from support.changes import CORNER, DEMO_TODAY, Wizard, charges_for, figure, with_card

pytestmark = pytest.mark.app_config(**FRENCH_SELLER)

HTMX = {"HX-Request": "true", "HX-Target": "preview",
        "HX-Current-URL": "http://localhost/admin/subscription/"}
GERMAN_BUSINESS = dict(country="DE", tax_id="DE136695976", city="Berlin", postal_code="10115")


def amount(text: str) -> Decimal:
    """An amount as an English page prints it ($1,234.56)."""
    return Decimal(re.sub(r"[^0-9.-]", "", text))


def set_details(app, name, **details):
    with app.app_context():
        Account.update(**details).where(Account.name == name).execute()


def taxed_figures(page: str, name: str) -> tuple[Decimal, list[Decimal], Decimal]:
    """(net, each tax, gross) of a taxed figure of the wizard (changes/_macros.html)."""
    taxes = [amount(t) for t in re.findall(rf'data-figure="{name}_tax"[^>]*>([^<]*)<', page)]
    return amount(figure(page, name)), taxes, amount(figure(page, f"{name}_gross"))


def api_subscriptions(app, client, name) -> list[dict]:
    with app.app_context():
        _, token = api_tokens.create_token(Account.get(Account.name == name), "taxes")
    response = client.get("/api/v1/subscriptions", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return response.get_json()["subscriptions"]


def test_tax3_wizard_preview_and_review_show_net_tax_gross_and_the_gross_is_charged(
        client, auth, app):
    set_details(app, "Northwind Retail", country="FR", city="Paris")  # a French consumer
    sid = with_card(app, auth, "Northwind Retail", "team")
    query = "plan=team&interval=monthly&quantity=3&addon_quantity=1"
    partial = client.get(f"/admin/subscription/{sid}/change?{query}", headers=HTMX)
    page = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in page
    net, [tax], gross = taxed_figures(page, "due_now")
    assert net > 0 and tax == (net * Decimal("0.2")).quantize(Decimal("0.01"))
    assert gross == net + tax
    recurring, [recurring_tax], recurring_gross = taxed_figures(page, "recurring_after")
    assert recurring == Decimal("85.00")  # 3 x 25.00 + 1 x 10.00, before tax
    assert (recurring_tax, recurring_gross) == (Decimal("17.00"), Decimal("102.00"))
    assert "VAT 20%" in page.replace("\u00a0", " ").replace(" %", "%")
    wizard = Wizard(client)
    review_url = wizard.to_review(sid, reason="", plan="team", interval="monthly", quantity=3,
                                  addon_quantity=1)
    review = client.get(review_url).get_data(as_text=True)
    assert taxed_figures(review, "due_now") == (net, [tax], gross)
    assert amount(figure(review, "recurring_before_gross")) == Decimal("72.00")  # 60 + 20 %
    response = wizard.place(sid, wizard.review_form(review_url))
    assert response.status_code == 303
    with app.app_context():
        order = ChangeOrder.select().order_by(ChangeOrder.id.desc()).get()
        [charged] = charges_for(order.charge_key)
    assert charged.amount == gross  # TAX-3: the card pays the gross the review showed


def test_tax2_reverse_charge_review_shows_0_percent_and_the_mention(client, auth, app):
    set_details(app, "Northwind Retail", **GERMAN_BUSINESS)
    sid = with_card(app, auth, "Northwind Retail", "team")
    review_url = Wizard(client).to_review(sid, reason="", plan="team", interval="monthly",
                                          quantity=3, addon_quantity=1)
    review = client.get(review_url).get_data(as_text=True)
    net, [tax], gross = taxed_figures(review, "due_now")
    assert tax == 0 and gross == net > 0
    assert "Reverse charge: VAT to be accounted for by the recipient" in review


def test_sub4_tax3_active_tab_home_and_api_show_the_gross_the_run_bills(client, auth, app):
    auth.login(as_=CORNER)  # Corner Bakeries, Lyon: domestic French VAT (TAX-2)
    tab = client.get("/subscription/active").get_data(as_text=True)
    shown = Decimal(re.search(r'data-estimate="([^"]+)"', tab).group(1))
    net, tax = (Decimal(x) for x in
                re.search(r'data-tax="([^"]+)" data-net="([^"]+)"', tab).groups()[::-1])
    assert tax == (net * Decimal("0.2")).quantize(Decimal("0.01")) and shown == net + tax
    assert "data-taxes-shown" in tab and "tax included" in tab
    home = client.get("/subscription/").get_data(as_text=True)
    assert f'data-next-charge="{shown}"' in home
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert f'data-estimate="{shown}"' in dashboard
    [row] = api_subscriptions(app, client, "Corner Bakeries")
    estimate = row["estimate"]
    assert (estimate["net"], estimate["tax"], estimate["gross"], estimate["total"]) == (
        str(net), str(tax), str(shown), str(shown))
    assert estimate["currency"] == row["currency"]
    with app.app_context():
        run(app, DEC1)
        [invoice] = invoices_of(Account.get(Account.name == "Corner Bakeries"),
                                period_start=DEC1)
        assert invoice.total == shown and invoice.tax_total == tax  # rule SUB-4
        assert [t.rate for t in from_json(invoice.taxes)] == [Decimal("20")]


@pytest.mark.app_config(TODAY=DEMO_TODAY)  # no tax plugin: tax_none (TAX-1)
def test_tax1_without_taxes_pages_show_the_one_amount_as_before(client, auth, app):
    sid = with_card(app, auth, "Northwind Retail", "team")
    review_url = Wizard(client).to_review(sid, reason="", plan="team", interval="monthly",
                                          quantity=3, addon_quantity=1)
    review = client.get(review_url).get_data(as_text=True)
    assert "excluding tax" not in review and 'data-figure="due_now_gross"' not in review
    assert amount(figure(review, "recurring_after")) == Decimal("85.00")
    tab = client.get("/subscription/active").get_data(as_text=True)
    assert "data-tax=" not in tab and "before any tax" in tab
    estimate = api_subscriptions(app, client, "Northwind Retail")[0]["estimate"]
    assert estimate["tax"] == "0.00" and estimate["net"] == estimate["gross"] == estimate["total"]
