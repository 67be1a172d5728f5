"""The Cards tab with the offline ``fake`` gateway (rules PAY-1, PAY-2, PAY-5, ACC-3).

Forms are posted as a browser without JavaScript would (redirect after success, 422 with
the error next to the field) and as htmx does (the ``#payment-methods`` widget back).
"""
import datetime as dt
import re

import pytest

from portal import demo
from portal.models import Account, AuditEvent, OutboxMessage, PaymentMethod, Subscription
from portal.plugins.gateway_fake import _instance as fake_gateway

ADMIN, MEMBER, OPERATOR = "admin@northwind.example", "member@northwind.example", \
    "operator@example.com"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def admin(client, auth):
    """The Northwind admin, logged in; ``admin.post(path, **data)`` adds the CSRF token."""
    auth.login(as_=ADMIN)

    class Admin:
        def post(self, path, headers=None, **data):
            data["csrf_token"] = auth.csrf_token("/admin/cards/")
            return client.post(path, data=data, headers=headers or {})

        def add(self, nonce, **kw):
            return self.post("/admin/cards/", payment_method_nonce=nonce, **kw)

    return Admin()


def northwind_methods(app):
    with app.app_context():
        account = Account.get(Account.name == "Northwind Retail")
        return list(PaymentMethod.select().where(PaymentMethod.account == account)
                    .order_by(PaymentMethod.id))


def audit_actions(app):
    with app.app_context():
        return [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]


def rows(html):
    """(brand, last4, default, state) of every row of the cards table."""
    return [(b, l4, d == "true", s) for b, l4, d, s in re.findall(
        r'data-brand="([^"]*)"\s+data-last4="([^"]*)" data-default="(\w+)" data-state="(\w+)"',
        html)]


# ---------------------------------------------------------------- who may see cards
@pytest.mark.parametrize("who", [MEMBER, OPERATOR])
def test_acc3_only_account_admins_reach_cards(client, auth, who):
    auth.login(as_=who)
    assert client.get("/admin/cards/").status_code == 403
    assert client.get("/admin/cards/new").status_code == 403
    token = auth.csrf_token("/")
    response = client.post("/admin/cards/", data={"csrf_token": token,
                                                  "payment_method_nonce": "fake-valid-nonce"})
    assert response.status_code == 403


def test_members_see_no_card_data(app, client, auth, admin):
    admin.add("fake-valid-visa-nonce")
    auth.logout()
    auth.login(as_=MEMBER)
    for path in ("/subscription/", "/subscription/active"):
        page = client.get(path).get_data(as_text=True)
        assert "1881" not in page and "Visa" not in page


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/cards/")
    assert response.status_code == 302 and "/login" in response.location


def test_cards_tab_in_the_admin_dashboard(client, admin):
    page = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/cards/"' in page and ">Cards<" in page


# ---------------------------------------------------------------- add
def test_add_card_without_javascript(app, client, admin):
    page = client.get("/admin/cards/").get_data(as_text=True)
    assert "No payment method yet" in page and 'href="/admin/cards/new"' in page
    form = client.get("/admin/cards/new").get_data(as_text=True)
    assert 'name="payment_method_nonce"' in form and 'action="/admin/cards/"' in form
    response = admin.add("fake-valid-visa-nonce")
    assert response.status_code == 303 and response.location.endswith("/admin/cards/")
    page = client.get("/admin/cards/").get_data(as_text=True)
    assert rows(page) == [("Visa", "1881", True, "ok")]
    assert "12/2030" in page and "Visa ending 1881, expires 12/2030 is saved" in page
    [method] = northwind_methods(app)
    assert (method.gateway, method.brand, method.last4, method.exp_month, method.exp_year,
            method.is_default) == ("fake", "Visa", "1881", 12, 2030, True)
    assert method.token in fake_gateway.stored_tokens()
    assert audit_actions(app)[-1] == "card.added"


def test_add_card_with_htmx_swaps_the_widget(app, client, admin):
    form = client.get("/admin/cards/new", headers=HTMX).get_data(as_text=True)
    assert form.lstrip().startswith('<section id="payment-methods"')
    assert 'hx-post="/admin/cards/"' in form and "<html" not in form
    response = admin.add("fake-valid-amex-nonce", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="payment-methods"')
    assert rows(html) == [("American Express", "0005", True, "ok")]
    assert 'id="flashes" hx-swap-oob="true"' in html and "is saved" in html
    assert 'data-testid="add-card-form"' not in html  # the form closes again


def test_second_card_is_not_the_default(app, admin):
    admin.add("fake-valid-visa-nonce")
    admin.add("fake-valid-mastercard-nonce")
    assert [(m.brand, m.is_default) for m in northwind_methods(app)] == [
        ("Visa", True), ("MasterCard", False)]


@pytest.mark.parametrize("nonce, brand", [("fake-valid-discover-nonce", "Discover"),
                                          ("fake-valid-jcb-nonce", "JCB")])
def test_pay1_other_brands_refused_and_nothing_kept(app, admin, nonce, brand):
    before, asked = fake_gateway.stored_tokens(), len(fake_gateway.vaulted_nonces)
    response = admin.add(nonce)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'id="payment_method_nonce-error">{brand} cards are not accepted: please '
                     r'use American Express, Visa or Mastercard', html)
    assert northwind_methods(app) == []
    assert fake_gateway.stored_tokens() == before
    assert fake_gateway.vaulted_nonces[asked:] == []  # refused before vaulting (PAY-1)
    assert audit_actions(app)[-1] == "card.refused"


def test_pay1_refusal_with_htmx_keeps_the_form_open(app, admin):
    response = admin.add("fake-valid-discover-nonce", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200  # htmx swaps 2xx only
    assert 'data-testid="add-card-form"' in html and "Discover cards are not accepted" in html


@pytest.mark.parametrize("nonce, message", [
    ("", "Enter the card&#39;s details."),
    ("fake-processor-declined-visa-nonce", "Your bank declined this card (Do Not Honor)"),
    ("fake-consumed-nonce", "These card details were already used"),
    ("made-up-nonce", "The card details were not recognised"),
])
def test_bad_card_input_explained_next_to_the_field(app, admin, nonce, message):
    response = admin.add(nonce)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="payment_method_nonce-error">([^<]*)</p>', html).group(1).startswith(
        message)
    assert northwind_methods(app) == []


def test_missing_nonce_field_is_a_clear_error(client, admin):
    response = admin.post("/admin/cards/")
    assert response.status_code == 422 and "Enter the card" in response.get_data(as_text=True)


def test_add_requires_the_csrf_token(app, client, admin):
    response = client.post("/admin/cards/", data={"payment_method_nonce": "fake-valid-nonce"})
    assert response.status_code == 400 and northwind_methods(app) == []


def test_admins_are_told_of_a_new_card(app, admin):
    admin.add("fake-valid-visa-nonce")
    with app.app_context():
        [mail] = OutboxMessage.select().where(OutboxMessage.kind == "payment_method_added")
    assert mail.recipients == ADMIN and "Visa ending 1881" in mail.body
    assert MEMBER not in mail.recipients


# ---------------------------------------------------------------- default and remove
def test_make_default(app, client, admin):
    admin.add("fake-valid-visa-nonce")
    admin.add("fake-valid-amex-nonce")
    amex = northwind_methods(app)[1]
    response = admin.post(f"/admin/cards/{amex.id}/default", headers=HTMX)
    html = response.get_data(as_text=True)
    assert rows(html)[0] == ("American Express", "0005", True, "ok")
    assert [m.is_default for m in northwind_methods(app)] == [False, True]
    assert "is now your default payment method" in html
    assert html.count('data-charged-for="renewals"') == 1  # what the default is for
    assert audit_actions(app)[-1] == "card.default"


def test_pay5_last_usable_card_of_an_active_subscription_stays(app, client, admin):
    admin.add("fake-valid-visa-nonce")
    [visa] = northwind_methods(app)
    response = admin.post(f"/admin/cards/{visa.id}/remove")
    assert response.status_code == 303
    page = client.get("/admin/cards/").get_data(as_text=True)
    assert "This is your last usable payment method" in page
    assert northwind_methods(app) == [visa] and visa.token in fake_gateway.stored_tokens()


def test_pay5_the_page_offers_no_remove_for_the_card_that_must_stay(app, client, admin):
    """The refusal above is for a stale page or a script: the page itself shows why the
    only usable card of an active subscription has no Remove, and offers it again once
    another card is there."""
    admin.add("fake-valid-visa-nonce")
    [visa] = northwind_methods(app)
    page = client.get("/admin/cards/").get_data(as_text=True)
    assert f"/admin/cards/{visa.id}/remove" not in page
    assert 'data-testid="kept"' in page and "add another to remove this one" in page
    admin.add("fake-valid-amex-nonce")
    page = client.get("/admin/cards/").get_data(as_text=True)
    assert f"/admin/cards/{visa.id}/remove" in page and 'data-testid="kept"' not in page


def test_pay5_an_expired_card_does_not_count(app, client, admin):
    admin.add("fake-valid-visa-nonce")
    with app.app_context():
        account = Account.get(Account.name == "Northwind Retail")
        expired = PaymentMethod.create(account=account, gateway="fake", token="tok_old",
                                       brand="Visa", last4="0002", exp_month=1, exp_year=2020)
    visa = northwind_methods(app)[0]
    admin.post(f"/admin/cards/{visa.id}/remove")
    assert len(northwind_methods(app)) == 2  # refused: the expired card cannot pay
    page = client.get("/admin/cards/").get_data(as_text=True)
    assert ("Visa", "0002", False, "expired") in rows(page) and "Expired" in page
    admin.post(f"/admin/cards/{expired.id}/remove")  # the expired one may go
    assert northwind_methods(app) == [visa]


def test_pay5_without_an_active_subscription_the_last_card_may_go(app, admin):
    admin.add("fake-valid-visa-nonce")
    with app.app_context():
        account = Account.get(Account.name == "Northwind Retail")
        Subscription.update(status="cancelled").where(Subscription.account == account).execute()
    [visa] = northwind_methods(app)
    admin.post(f"/admin/cards/{visa.id}/remove")
    assert northwind_methods(app) == []
    assert visa.token not in fake_gateway.stored_tokens()


def test_removing_the_default_promotes_the_newest_usable(app, client, admin):
    for nonce in ("fake-valid-visa-nonce", "fake-valid-amex-nonce",
                  "fake-valid-mastercard-nonce"):
        admin.add(nonce)
    visa = northwind_methods(app)[0]
    response = admin.post(f"/admin/cards/{visa.id}/remove", headers=HTMX)
    html = response.get_data(as_text=True)
    assert [(m.brand, m.is_default) for m in northwind_methods(app)] == [
        ("American Express", False), ("MasterCard", True)]
    assert "MasterCard ending 4444, expires 12/2030 is now your default" in html
    assert visa.token not in fake_gateway.stored_tokens()
    assert audit_actions(app)[-1] == "card.removed"


def test_removing_twice_is_harmless(app, admin):
    admin.add("fake-valid-visa-nonce")
    admin.add("fake-valid-amex-nonce")
    amex = northwind_methods(app)[1]
    assert admin.post(f"/admin/cards/{amex.id}/remove").status_code == 303
    assert admin.post(f"/admin/cards/{amex.id}/remove").status_code == 404
    assert len(northwind_methods(app)) == 1


def test_remove_asks_for_confirmation(client, admin):
    admin.add("fake-valid-visa-nonce")
    admin.add("fake-valid-amex-nonce")  # a second card: the first may go (PAY-5)
    page = client.get("/admin/cards/").get_data(as_text=True)
    assert 'hx-confirm="Remove Visa ending 1881, expires 12/2030?"' in page


@pytest.mark.parametrize("action", ["default", "remove"])
def test_another_accounts_card_is_not_found(app, admin, action):
    with app.app_context():
        atelier = Account.get(Account.name == "Atelier Space")
        theirs = PaymentMethod.create(account=atelier, gateway="fake", token="tok_atelier",
                                      brand="Visa", last4="4242", exp_month=1, exp_year=2031)
    assert admin.post(f"/admin/cards/{theirs.id}/{action}").status_code == 404
    with app.app_context():
        assert PaymentMethod.get_by_id(theirs.id).is_default is False


def test_remove_requires_the_csrf_token(app, client, admin):
    admin.add("fake-valid-visa-nonce")
    admin.add("fake-valid-amex-nonce")
    amex = northwind_methods(app)[1]
    assert client.post(f"/admin/cards/{amex.id}/remove", headers=HTMX).status_code == 400
    assert len(northwind_methods(app)) == 2


# ---------------------------------------------------------------- expiry
def test_expiring_and_expired_cards_are_flagged(app, client, admin):
    today = dt.date.today()
    soon = today  # a card is good to the end of its month: at most 31 days left, never 61
    with app.app_context():
        account = Account.get(Account.name == "Northwind Retail")
        PaymentMethod.create(account=account, gateway="fake", token="tok_soon", brand="Visa",
                             last4="0001", exp_month=soon.month, exp_year=soon.year,
                             is_default=True)
        PaymentMethod.create(account=account, gateway="fake", token="tok_gone", brand="Visa",
                             last4="0002", exp_month=12, exp_year=today.year - 1)
    page = client.get("/admin/cards/").get_data(as_text=True)
    assert sorted(rows(page)) == [("Visa", "0001", True, "expiring"),
                                  ("Visa", "0002", False, "expired")]
    assert "Expires soon" in page and "Expired" in page


def test_an_expired_card_cannot_become_the_default(app, admin):
    with app.app_context():
        account = Account.get(Account.name == "Northwind Retail")
        old = PaymentMethod.create(account=account, gateway="fake", token="tok_x", brand="Visa",
                                   last4="0003", exp_month=1, exp_year=2021)
    html = admin.post(f"/admin/cards/{old.id}/default", headers=HTMX).get_data(as_text=True)
    assert "An expired card cannot be the default" in html
    with app.app_context():
        assert PaymentMethod.get_by_id(old.id).is_default is False


def test_an_unknown_gateway_setting_gives_a_clear_503(make_app):
    client = make_app(GATEWAY="nonesuch").test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": ADMIN, "password": demo.PASSWORD, "csrf_token": token})
    response = client.get("/admin/cards/")
    assert response.status_code == 503
    assert "the payment gateway is not configured" in response.get_data(as_text=True)


def test_pay5_two_removals_at_once_leave_one_card(app, admin):
    """Two tabs remove the last two cards at the same moment: the write lock lets one win."""
    import threading

    from portal import payments
    from portal.db import db

    admin.add("fake-valid-visa-nonce")
    admin.add("fake-valid-amex-nonce")
    ids = [m.id for m in northwind_methods(app)]
    barrier, outcomes = threading.Barrier(2), []

    def remove(method_id):
        with app.test_request_context():
            db.connect(reuse_if_open=True)
            try:
                account = Account.get(Account.name == "Northwind Retail")
                method = PaymentMethod.get_by_id(method_id)
                barrier.wait()
                payments.remove_method(account, None, method, {}, dt.date.today())
                outcomes.append("removed")
            except payments.PaymentError:
                outcomes.append("refused")
            finally:
                db.close()

    threads = [threading.Thread(target=remove, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(outcomes) == ["refused", "removed"]
    assert len(northwind_methods(app)) == 1
