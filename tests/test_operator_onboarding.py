"""Onboarding in the operator console (rule ONB-1, CHG-7, issue #16 item 3): a new account
with its billing details and first subscription on one page, a further subscription, a
negotiated price; field errors beside the fields and nothing created on any refusal,
including a subscription refused after its account was opened."""
import datetime as dt
import re
from decimal import Decimal

import pytest

from portal.catalogue import Prices, add_price_version, save_plan
from portal.models import Account, AuditEvent, PriceVersion, Subscription, User
from support.database import DEMO_TODAY

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)
OPERATOR = "operator@example.com"
NEW = "/operator/accounts/new"
GOOD = {"name": "Fjord Cafés", "language": "fr", "currency": "EUR",
        "details-legal_name": "Fjord Cafés AS", "details-address_line1": "Karl Johans gate 1",
        "details-postal_code": "0154", "details-city": "Oslo", "details-country": "NO",
        "details-invoice_emails": "ap@fjord.example", "details-po_reference": "PO-7",
        "plan": "team", "interval": "monthly", "quantity": "5", "addon_quantity": "1",
        "start": "2026-11-23", "first_payment": ""}


def post_new(client, auth, **changes):
    data = {**GOOD, **changes, "csrf_token": auth.csrf_token(NEW)}
    return client.post(NEW, data={k: v for k, v in data.items() if v is not None})


def counts(app):
    with app.app_context():
        return (Account.select().count(), Subscription.select().count(),
                PriceVersion.select().count(), AuditEvent.select().count())


def error_beside(page: str, field_id: str) -> str:
    """The error printed under the field ``field_id`` (the ``field`` macro's markup)."""
    match = re.search(rf'id="{field_id}-error">([^<]+)<', page)
    assert match, f"no error beside {field_id}"
    return match.group(1)


def test_onb1_the_console_opens_an_account_with_its_first_subscription(app, client, auth):
    auth.login(as_=OPERATOR)
    response = post_new(client, auth)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    with app.app_context():
        account = Account.get(Account.name == "Fjord Cafés")
        assert response.location.endswith(f"/operator/accounts/{account.id}")
        assert (account.currency, account.language, account.city, account.country,
                account.po_reference) == ("EUR", "fr", "Oslo", "NO", "PO-7")
        assert account.negotiated_contract is False
        sub = Subscription.get(Subscription.account == account)
        assert (sub.plan.code, sub.interval, sub.quantity, sub.addon_quantity) == \
            ("team", "monthly", 5, 1)
        assert sub.started_on == DEMO_TODAY
        assert sub.next_payment_date == dt.date(2026, 12, 1)  # CHG-5: first of next month
        assert sub.price_version.currency == "EUR" and sub.price_version.account_id is None
        actions = {(e.action, e.actor_id) for e in AuditEvent.select().where(
            AuditEvent.account == account.id)}
        operator_id = User.get(User.email == OPERATOR).id
        assert {("account.opened", operator_id), ("subscription.started", operator_id)} <= \
            actions  # who did it
    page = client.get(response.location).get_data(as_text=True)
    assert "Fjord Cafés" in page and "Account Fjord Cafés opened" in page  # the flash
    assert 'data-invite-slot="admin"' in page  # where "Invite an admin" will go


def test_onb1_chg7_a_negotiated_new_account_pays_its_own_prices(app, client, auth):
    auth.login(as_=OPERATOR)
    response = post_new(client, auth, negotiated="y", monthly="9.50", annual="99.00",
                        addon_monthly="2.00", addon_annual="", interval="annual",
                        first_payment="2027-06-01")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    with app.app_context():
        account = Account.get(Account.name == "Fjord Cafés")
        sub = Subscription.get(Subscription.account == account)
        version = sub.price_version
        assert account.negotiated_contract is True
        assert version.account_id == account.id  # private to the account (CHG-7)
        assert (version.monthly_price, version.annual_price, version.addon_monthly_price,
                version.addon_annual_price) == (Decimal("9.50"), Decimal("99.00"),
                                                Decimal("2.00"), Decimal("0.00"))
        assert sub.next_payment_date == dt.date(2027, 6, 1)


@pytest.mark.parametrize("changes,field_id", [
    ({"name": ""}, "name"),
    ({"language": "tlh"}, "language"),
    ({"details-country": "XX"}, "details-country"),
    ({"details-tax_id": "FR00000000000", "details-country": "FR"}, "details-tax_id"),
    ({"details-invoice_emails": "not an address"}, "details-invoice_emails"),
    ({"plan": "nope"}, "plan"),
    ({"quantity": "-1"}, "quantity"),
    ({"quantity": "many"}, "quantity"),
    ({"start": ""}, "start"),
    ({"negotiated": "y", "monthly": "", "annual": "10.00"}, "monthly"),
    ({"negotiated": "y", "monthly": "1.234", "annual": "10.00"}, "monthly"),
])
def test_onb1_a_refused_form_shows_the_error_beside_the_field_and_creates_nothing(
        app, client, auth, changes, field_id):
    auth.login(as_=OPERATOR)
    before = counts(app)
    response = post_new(client, auth, **changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert error_beside(page, field_id)
    assert 'data-refused="true"' in page
    assert 'value="Karl Johans gate 1"' in page  # what was typed stays in the form
    assert counts(app) == before


@pytest.mark.parametrize("changes,field_id", [
    # CHG-5: a monthly plan is paid on the first of a month (start_subscription refuses)
    ({"first_payment": "2026-12-15"}, "first_payment"),
    # CAT-1: the plan has no price in the account's currency (only known once it is opened)
    ({"plan": "usdonly"}, "plan"),
])
def test_onb1_a_subscription_refused_after_the_account_was_opened_leaves_no_account(
        app, client, auth, changes, field_id):
    with app.app_context():
        plan, _said = save_plan("usdonly", name="USD only", kind="seat", rank=9)
        add_price_version(plan, Prices("USD", Decimal("5.00"), Decimal("50.00")),
                          existing_from=None)
    auth.login(as_=OPERATOR)
    before = counts(app)
    response = post_new(client, auth, **changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 400, page[:2000]
    assert error_beside(page, field_id)
    assert counts(app) == before  # the account opened in the transaction was rolled back
    with app.app_context():
        assert not Account.select().where(Account.name == "Fjord Cafés").exists()


def test_onb1_the_new_account_page_offers_available_plans_and_the_billing_fields(
        app, client, auth):
    with app.app_context():
        save_plan("team", name="Team", kind="seat", rank=2, available=False)  # CAT-3
    auth.login(as_=OPERATOR)
    page = client.get(NEW).get_data(as_text=True)
    for name in ("name", "language", "currency", "details-legal_name", "details-country",
                 "details-tax_id", "details-invoice_emails", "details-po_reference", "plan",
                 "quantity", "addon_quantity", "start", "first_payment", "negotiated",
                 "monthly", "annual", "addon_monthly", "addon_annual"):
        assert f'name="{name}"' in page, name
    assert 'value="team"' not in page and 'value="business"' in page
    assert "trial" not in page.lower()  # TRI-1 is built apart
    assert 'href="/operator/accounts/new"' in page  # in the console's menu


def test_onb1_start_a_further_subscription_on_an_account(app, client, auth):
    auth.login(as_=OPERATOR)
    with app.app_context():
        account = Account.get(Account.name == "Corner Bakeries")
    url = f"/operator/accounts/{account.id}/subscriptions/new"
    assert 'href="' + url + '"' in client.get(f"/operator/accounts/{account.id}").get_data(
        as_text=True)
    data = {"plan": "team", "interval": "annual", "quantity": "3", "addon_quantity": "0",
            "start": "2026-11-23", "csrf_token": auth.csrf_token(url)}
    refused = client.post(url, data={**data, "quantity": ""})
    assert refused.status_code == 400 and error_beside(refused.get_data(as_text=True),
                                                        "quantity")
    response = client.post(url, data=data)
    assert response.status_code == 303
    with app.app_context():
        sub = Subscription.select().where(Subscription.account == account).order_by(
            Subscription.id.desc()).first()
        assert (sub.plan.code, sub.interval, sub.quantity) == ("team", "annual", 3)
        assert sub.next_payment_date == dt.date(2027, 11, 23)
        assert AuditEvent.select().where((AuditEvent.account == account.id)
                                         & (AuditEvent.action == "subscription.started")
                                         ).exists()


def test_chg7_a_negotiated_price_for_an_existing_subscription(app, client, auth):
    from support.changes import subscription_of

    auth.login(as_=OPERATOR)
    with app.app_context():
        sub = subscription_of("Atelier Space", "business")
        before_version, next_payment = sub.price_version_id, sub.next_payment_date
    url = f"/operator/subscriptions/{sub.id}/negotiated"
    token = auth.csrf_token(url)
    refused = client.post(url, data={"monthly": "", "annual": "x", "csrf_token": token})
    assert refused.status_code == 400
    assert error_beside(refused.get_data(as_text=True), "monthly")
    with app.app_context():
        assert Subscription.get_by_id(sub.id).price_version_id == before_version
    response = client.post(url, data={"monthly": "20.00", "annual": "200.00",
                                      "addon_monthly": "5.00", "addon_annual": "50.00",
                                      "note": "Contract 2026-114", "csrf_token": token})
    assert response.status_code == 303
    with app.app_context():
        stored = Subscription.get_by_id(sub.id)
        version = stored.price_version
        assert version.id != before_version and version.account_id == stored.account_id
        assert version.annual_price == Decimal("200.00")
        assert stored.next_payment_date == next_payment  # billed from its next payment
        assert Account.get_by_id(stored.account_id).negotiated_contract is True
        event = AuditEvent.get(AuditEvent.action == "subscription.negotiated")
        assert event.actor_id is not None and "Contract 2026-114" in event.detail


def test_onb1_the_console_onboarding_pages_speak_french(app, client, auth):
    auth.login(as_=OPERATOR)
    french = {"Accept-Language": "fr"}
    page = client.get(NEW, headers=french).get_data(as_text=True)
    assert "Nouveau compte" in page and "Premier abonnement" in page
    data = {**GOOD, "first_payment": "2026-12-15", "csrf_token": auth.csrf_token(NEW)}
    refused = client.post(NEW, data=data, headers=french).get_data(as_text=True)
    assert "les offres mensuelles sont payées le premier jour du mois" in error_beside(
        refused, "first_payment")
    with app.app_context():
        sid = Subscription.select().first().id
    change = client.get(f"/operator/subscriptions/{sid}/change", headers=french)
    assert "Modifier l’abonnement" in change.get_data(as_text=True)


@pytest.mark.parametrize("who", ["admin@northwind.example", "member@northwind.example"])
def test_onb1_only_operators_reach_the_onboarding_pages(app, client, auth, who):
    """The authorization matrix covers them through "operator.*" (tests/support/routes.py);
    here each new route by name, GET and POST, refused with 403 and nothing written."""
    with app.app_context():
        account = Account.get(Account.name == "Northwind Retail")
        sid = Subscription.get(Subscription.account == account).id
    auth.login(as_=who)
    token = auth.csrf_token("/")
    before = counts(app)
    for url in (NEW, f"/operator/accounts/{account.id}/subscriptions/new",
                f"/operator/subscriptions/{sid}/negotiated",
                f"/operator/subscriptions/{sid}/change"):
        assert client.get(url).status_code == 403, url
        if not url.endswith("/change"):
            assert client.post(url, data={**GOOD, "csrf_token": token}).status_code == 403
    assert client.post(f"/operator/subscriptions/{sid}/order",
                       data={"csrf_token": token, "note": "x"}).status_code == 403
    assert counts(app) == before
