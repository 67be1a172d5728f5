"""The account admin's home (issue #17.2): on the subscription page, the plans with their
next charge (rule SUB-4, the Active subscriptions tab's figure), the card that will be
charged (or a warning with *Add a card*), the latest invoices with their PDFs, each with
its action; a member sees the plans and charges without actions (ACC-2)."""
from __future__ import annotations

import re

import pytest

from support.billing import DEC1, account, add_card, run
from support.database import DEMO_TODAY
from support.pages import counted_queries

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)


def page(client, path="/subscription/"):
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(html, name):
    found = re.search(rf'data-home="{name}".*?</section>', html, re.S)
    return found.group(0) if found else ""


def test_sub4_home_shows_the_next_charge_of_the_active_tab(client, auth):
    auth.login(as_="admin@northwind.example")
    home = section(page(client), "plans")
    shown = re.findall(r'data-next-charge="([^"]+)" data-next-date="([^"]+)"', home)
    tab = page(client, "/subscription/active")
    estimates = re.findall(r'data-estimate="([^"]+)"', tab)
    assert [amount for amount, _ in shown] == estimates and len(shown) == 2
    assert {day for _, day in shown} == {DEC1.isoformat()}
    assert home.count('data-action="change-plan"') == 2


def test_home_warns_when_no_usable_card_and_offers_to_add_one(app, client, auth):
    auth.login(as_="admin@northwind.example")
    html = page(client)
    assert "data-no-usable-card" in html
    card = section(html, "card")
    assert 'data-action="add-card"' in card and 'href="/admin/cards' in card
    with app.app_context():
        add_card(account("Northwind Retail"), last4="4242")
    html = page(client)
    assert "data-no-usable-card" not in html
    card = section(html, "card")
    assert 'data-card-last4="4242"' in card and "Visa ending 4242" in card
    assert 'data-action="update-card"' in card


def test_an_expired_card_is_not_usable(app, client, auth):
    from portal.models import PaymentMethod

    with app.app_context():
        card = add_card(account("Northwind Retail"), last4="0005")
        PaymentMethod.update(exp_month=1, exp_year=2020).where(
            PaymentMethod.id == card.id).execute()
    auth.login(as_="admin@northwind.example")
    html = page(client)
    assert "data-no-usable-card" in html and "Expired" in section(html, "card")


def test_home_lists_the_three_latest_invoices_with_their_pdf(app, client, auth):
    with app.app_context():
        add_card(account("Northwind Retail"))
        run(app, DEC1)  # two invoices (locations, team)
        run(app, DEC1.replace(year=2027, month=1))  # two more
        from portal.models import Invoice

        newest = [i.number for i in Invoice.select().where(
            Invoice.account == account("Northwind Retail").id)
            .order_by(Invoice.issued_on.desc(), Invoice.id.desc()).limit(3)]
    auth.login(as_="admin@northwind.example")
    invoices = section(page(client), "invoices")
    assert re.findall(r'data-invoice="([^"]+)"', invoices) == newest
    link = re.search(r'href="([^"]+)" download data-action="download"', invoices).group(1)
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")


def test_a_member_sees_plans_and_charges_without_actions(client, auth):
    auth.login(as_="member@northwind.example")
    html = page(client)
    assert len(re.findall(r'data-next-charge="[^"]+"', section(html, "plans"))) == 2
    assert 'data-home="card"' not in html and 'data-home="invoices"' not in html
    assert "data-action=" not in html
    assert "data-no-usable-card" in html and "/admin/cards" not in html


def test_home_is_translated(client, auth):
    auth.login(as_="admin@northwind.example")
    client.post("/language", data={"language": "fr", "csrf_token": auth.csrf_token("/language")})
    html = page(client)
    assert "Carte à prélever" in html and "Dernières factures" in html


def test_home_shows_a_scheduled_change_with_the_next_charge(app, client, auth):
    """CHG-5: a downgrade scheduled for the next payment date is what that date bills
    (SUB-4), and the home says so."""
    from portal.billing.changes import Terms
    from portal.billing.orders import place_order, review_state
    from portal.gateways import registered_gateways
    from portal.models import Plan
    from portal.plugins import plugin_manager
    from support.changes import subscription_of

    with app.app_context():
        atelier = subscription_of("Atelier Space", "business")
        wanted = Terms(Plan.get(Plan.code == "team"), "annual", 5, 2)
        preview, digest = review_state(atelier, wanted, today=DEMO_TODAY)
        place_order(atelier.id, wanted, review_key="home-test", today=DEMO_TODAY,
                    expected={"fingerprint": digest, **preview.figures()},
                    gateway=registered_gateways(plugin_manager(app), app.config)["fake"])
    auth.login(as_="admin@atelier.example")
    home = section(page(client), "plans")
    assert 'data-scheduled-plan="team"' in home and "Scheduled change: Collaboration Team" in home
    tab = page(client, "/subscription/active")
    assert re.findall(r'data-next-charge="([^"]+)"', home) == re.findall(
        r'data-estimate="([^"]+)"', tab)


def queries_of(client, path="/subscription/"):
    with counted_queries() as counter:
        page(client, path)
    return counter.count


def test_home_costs_the_same_queries_with_a_year_of_invoices(app, client, auth):
    auth.login(as_="admin@northwind.example")
    with app.app_context():
        add_card(account("Northwind Retail"))
    page(client)  # the usage tab is cached from here on
    before = queries_of(client)
    with app.app_context():
        run(app, DEC1)
        run(app, DEC1.replace(year=2027, month=1))
        run(app, DEC1.replace(year=2027, month=2))
    page(client)
    assert queries_of(client) == before < 20


def test_active_tab_reads_each_thing_once_whatever_the_scheduled_changes(app, client, auth):
    """The full Active subscriptions page (tab and home) reads the subscriptions, their
    scheduled changes and the prices once, shared by the tab and the home above it: at most
    10 queries (the target of issue #3), the same with a change scheduled on every plan."""
    from portal.models import PendingChange, Subscription

    auth.login(as_="admin@northwind.example")
    page(client, "/subscription/active")
    before = queries_of(client, "/subscription/active")
    with app.app_context():
        for sub in Subscription.select().where(
                Subscription.account == account("Northwind Retail").id):
            PendingChange.create(subscription=sub, effective_on=DEC1, quantity=sub.quantity + 1)
    html = page(client, "/subscription/active")
    assert html.count("Scheduled change") >= 2
    assert queries_of(client, "/subscription/active") == before <= 10
