"""A missing card is found early (issue #17.3): the review page says which card Place
order charges, or offers to add one and come back; Place order without a card links to
the card form; Pay now without a card says so instead of "0 invoices paid"."""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from support.billing import DEC1, account, run
from support.changes import DEMO_TODAY, NORTHWIND, Wizard, add_card, subscription_of

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)


@pytest.fixture
def wizard(client):
    return Wizard(client)


def add_card_link(html) -> str:
    return unescape(re.search(r'href="([^"]+)" data-action="add-card"', html).group(1))


def same_draft(app, url_a, url_b) -> bool:
    """Two wizard URLs carry the same draft (its signature holds a timestamp, so the
    tokens differ when signed a second apart)."""
    from portal.views.change_draft import load_draft
    a, b = urlsplit(url_a), urlsplit(url_b)
    with app.app_context():
        return a.path == b.path and load_draft(parse_qs(a.query)["d"][0]) == load_draft(
            parse_qs(b.query)["d"][0]) is not None


def upgrade_review(app, auth, wizard) -> tuple[int, str]:
    auth.login(as_=NORTHWIND)
    with app.app_context():
        sid = subscription_of("Northwind Retail", "team").id
    return sid, wizard.to_review(sid, reason="", plan="team", interval="monthly", quantity=3,
                                 addon_quantity=1)


def test_review_without_a_card_adds_one_and_comes_back(app, client, auth, wizard):
    sid, review = upgrade_review(app, auth, wizard)
    page = client.get(review).get_data(as_text=True)
    assert 'data-pay-card=""' in page
    link = add_card_link(page)
    assert urlsplit(link).path == "/admin/cards/new"
    back = parse_qs(urlsplit(link).query)["next"][0]
    assert same_draft(app, back, review)
    form = client.get(link).get_data(as_text=True)
    assert f'name="next" value="{back}"'.replace("&", "&amp;") in form
    saved = client.post("/admin/cards/", data={
        "payment_method_nonce": "fake-valid-visa-nonce", "next": back,
        "csrf_token": auth.csrf_token("/admin/cards/")})
    assert saved.status_code == 303 and saved.headers["Location"] == back
    page = client.get(review).get_data(as_text=True)
    assert 'data-pay-card="1881"' in page and "Visa ending 1881" in page


def test_review_names_the_card_that_will_be_charged(app, client, auth, wizard):
    with app.app_context():
        add_card("Northwind Retail")
    _sid, review = upgrade_review(app, auth, wizard)
    page = client.get(review).get_data(as_text=True)
    assert re.search(r'data-pay-card="\d{4}"', page) and 'data-action="add-card"' not in page


def test_place_order_without_a_card_links_to_the_card_form(app, client, auth, wizard):
    sid, review = upgrade_review(app, auth, wizard)
    response = wizard.place(sid, wizard.review_form(review))
    assert response.status_code == 409
    refused = re.search(r'data-refused="true">.*?</div>', response.get_data(as_text=True), re.S)
    link = add_card_link(refused.group(0))
    assert same_draft(app, parse_qs(urlsplit(link).query)["next"][0], review)


def test_pay_now_without_a_card_says_so(app, client, auth):
    with app.app_context():
        run(app, DEC1)  # Corner has no card: its invoice fails
    auth.login(as_="admin@corner.example")
    token = auth.csrf_token("/admin/invoices")
    response = client.post("/admin/invoices/pay", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/cards/new?next=/admin/invoices"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "No usable card is on file, so nothing was charged." in page
    assert "invoices paid" not in page and "invoice paid" not in page
    with app.app_context():
        from portal.models import Invoice

        assert Invoice.get(Invoice.account == account("Corner Bakeries").id).status == "dunning"
