"""The Cards tab on the ``braintree`` gateway: the real SDK against the fake Braintree
server, with its faults; the Drop-in page and its CSP; the webhook endpoint."""
import dataclasses
import re

import pytest

from portal import plugins
from portal.gateways import unsupported
from portal.models import Account, AuditEvent, PaymentMethod, WebhookReceipt
from portal.plugins.gateway_braintree import BraintreeGateway
from portal.views import webhooks
from support.billing import GatewayPlugin, registered

ADMIN = "admin@northwind.example"
GATEWAY_DOWN = "The payment gateway is not answering. Nothing was saved"


@pytest.fixture
def app(make_app, fake_braintree):
    """This module's app: PORTAL_GATEWAY=braintree on the fake server (1 s timeout)."""
    return make_app(**fake_braintree.portal_config(timeout="1"))


@pytest.fixture
def bt_app(app):
    return app


@pytest.fixture
def bt_client(client):
    return client


@pytest.fixture
def admin(bt_client, auth):
    """Log in as the Northwind admin; ``admin.add(nonce)`` posts the add-card form."""
    auth.login(as_=ADMIN)

    class Admin:
        def post(self, path, **data):
            data["csrf_token"] = auth.csrf_token("/admin/cards/")
            return bt_client.post(path, data=data)

        def add(self, nonce):
            return self.post("/admin/cards/", payment_method_nonce=nonce)

    return Admin()


def stored(app):
    with app.app_context():
        account = Account.get(Account.name == "Northwind Retail")
        return list(PaymentMethod.select().where(PaymentMethod.account == account)
                    .order_by(PaymentMethod.id))


def field_error(response):
    match = re.search(r'id="payment_method_nonce-error">([^<]*)</p>',
                      response.get_data(as_text=True))
    return match.group(1) if match else None


def test_card_vaulted_at_braintree_and_only_its_token_kept(bt_app, admin, fake_braintree):  # noqa: E501
    assert admin.add("fake-valid-visa-nonce").status_code == 303
    [method] = stored(bt_app)
    card = fake_braintree.payment_methods[method.token]
    assert (method.gateway, method.brand, method.last4) == ("braintree", "Visa", "1111")
    with bt_app.app_context():
        account = Account.get_by_id(method.account_id)
    assert card["customer_id"] == account.gateway_customer_id
    assert fake_braintree.customers[account.gateway_customer_id]["email"] == ADMIN


def test_the_form_offers_test_nonces_on_a_custom_environment(bt_client, admin):
    form = bt_client.get("/admin/cards/new").get_data(as_text=True)
    assert 'value="fake-valid-visa-nonce"' in form and "js.braintreegateway.com" not in form


@pytest.mark.parametrize("first", [None, "fake-valid-visa-nonce"])
def test_pay1_discover_refused_before_braintree_stores_anything(bt_app, admin, fake_braintree,  # noqa: E501
                                                                 first):
    """Rule PAY-1 "before anything is stored": the nonce is looked up, never vaulted; no
    Braintree customer is created for it either (none before, or the existing one)."""
    if first:
        admin.add(first)
    kept, customers = dict(fake_braintree.payment_methods), set(fake_braintree.customers)
    fake_braintree.requests.clear()
    response = admin.add("fake-valid-discover-nonce")
    assert response.status_code == 422 and field_error(response).startswith(
        "Discover cards are not accepted")
    assert fake_braintree.vault_requests() == []  # no POST /payment_methods nor /customers
    assert [m for m, _ in fake_braintree.requests] == ["GET"]  # the nonce lookup alone
    assert "/payment_method_nonces/fake-valid-discover-nonce" in fake_braintree.requests[0][1]
    assert fake_braintree.payment_methods == kept and set(fake_braintree.customers) == customers
    assert [m.brand for m in stored(bt_app)] == (["Visa"] if first else [])
    with bt_app.app_context():
        refused = AuditEvent.get(AuditEvent.action == "card.refused")
    assert "Discover ending 1117 refused" in refused.detail and "nothing stored" in refused.detail


def test_pay1_nonce_lookup_fails_nothing_is_vaulted(bt_app, admin, fake_braintree):
    fake_braintree.inject("500", path="/payment_method_nonces/", method="GET", times=1)
    response = admin.add("fake-valid-visa-nonce")
    assert field_error(response).startswith(GATEWAY_DOWN)
    assert fake_braintree.vault_requests() == [] and stored(bt_app) == []


@pytest.fixture
def undescribing_app(bt_app, fake_braintree):
    """A Braintree-like gateway that cannot describe nonces: the portal vaults first."""
    class Undescribing(BraintreeGateway):
        def describe_nonce(self, nonce):
            return unsupported("describing cards")

    gateway = Undescribing(fake_braintree.url, fake_braintree.merchant_id,
                           fake_braintree.public_key, fake_braintree.private_key, timeout=1)
    with registered(bt_app, GatewayPlugin(gateway), "undescribing-test"):
        yield bt_app


def test_pay1_without_a_nonce_lookup_the_card_is_deleted_at_once(undescribing_app, admin,
                                                                 fake_braintree):
    response = admin.add("fake-valid-discover-nonce")
    assert field_error(response).startswith("Discover cards are not accepted")
    assert fake_braintree.payment_methods == {} and stored(undescribing_app) == []
    assert "DELETE" in {m for m, _ in fake_braintree.requests}


def test_pay1_when_the_gateway_cannot_delete_operators_are_told(undescribing_app, admin,
                                                                fake_braintree):
    fake_braintree.inject("500", path="/payment_methods/any/", method="DELETE")
    response = admin.add("fake-valid-discover-nonce")
    assert field_error(response).startswith("Discover cards are not accepted")
    assert stored(undescribing_app) == []
    with undescribing_app.app_context():
        failed = AuditEvent.get(AuditEvent.action == "card.gateway_delete_failed")
    [token] = fake_braintree.payment_methods
    assert token in failed.detail and "delete it there by hand" in failed.detail


@pytest.mark.parametrize("kind, after", [("500", False), ("timeout", False), ("reset", False),
                                         ("timeout", True), ("reset", True)])
def test_gateway_faults_while_adding_give_a_clear_message(bt_app, admin, fake_braintree,  # noqa: E501
                                                         kind, after):
    fake_braintree.inject(kind, path="/payment_methods", method="POST", after=after, delay=2,
                          times=1)
    response = admin.add("fake-valid-visa-nonce")
    assert response.status_code == 422 and field_error(response).startswith(GATEWAY_DOWN)
    assert stored(bt_app) == []
    # a card that was vaulted although the answer was lost is deleted again (our token)
    assert fake_braintree.payment_methods == {}


def test_connection_refused_while_adding(bt_app, admin, fake_braintree):
    fake_braintree.stop()
    response = admin.add("fake-valid-visa-nonce")
    assert response.status_code == 422 and field_error(response).startswith(GATEWAY_DOWN)
    assert stored(bt_app) == []


@pytest.mark.parametrize("nonce, message", [
    ("fake-processor-declined-visa-nonce", "Your bank declined this card (Do Not Honor)"),
    ("fake-consumed-nonce", "These card details were already used"),
    ("no-such-nonce", "The card details were not recognised"),
    ("fake-gateway-rejected-fraud-nonce", "Your bank declined this card"),
])
def test_refusals_from_braintree_explained(bt_app, admin, fake_braintree, nonce, message):  # noqa: E501
    response = admin.add(nonce)
    assert field_error(response).startswith(message)
    assert stored(bt_app) == [] and fake_braintree.payment_methods == {}


def test_make_default_and_remove_reach_braintree(bt_app, admin, fake_braintree):
    admin.add("fake-valid-visa-nonce")
    admin.add("fake-valid-amex-nonce")
    visa, amex = stored(bt_app)
    assert fake_braintree.payment_methods[visa.token]["default"] is True
    admin.post(f"/admin/cards/{amex.id}/default")
    assert fake_braintree.payment_methods[amex.token]["default"] is True
    assert fake_braintree.payment_methods[visa.token]["default"] is False
    admin.post(f"/admin/cards/{visa.id}/remove")
    assert list(fake_braintree.payment_methods) == [amex.token]
    assert [m.token for m in stored(bt_app)] == [amex.token]


def test_make_default_while_braintree_is_down_changes_nothing(bt_app, bt_client, admin,
                                                              fake_braintree):
    admin.add("fake-valid-visa-nonce")
    admin.add("fake-valid-amex-nonce")
    amex = stored(bt_app)[1]
    fake_braintree.inject("500", method="PUT")
    admin.post(f"/admin/cards/{amex.id}/default")
    assert [m.is_default for m in stored(bt_app)] == [True, False]
    assert "the default card is unchanged" in bt_client.get("/admin/cards/").get_data(
        as_text=True)


# ---------------------------------------------------------------- Drop-in and CSP
@pytest.fixture
def dropin_app(bt_app, fake_braintree):
    """Braintree in Drop-in mode (as in sandbox/production), its API still the fake server:
    a test plugin registers it under the same name and wins over the default."""
    gateway = BraintreeGateway(fake_braintree.url, fake_braintree.merchant_id,
                               fake_braintree.public_key, fake_braintree.private_key,
                               timeout=1, dropin=True)
    gateway.mode = "sandbox"
    with registered(bt_app, GatewayPlugin(gateway), "dropin-test"):
        yield bt_app


def test_dropin_page_allows_braintree_there_only(dropin_app, bt_client, admin):
    page = bt_client.get("/admin/cards/")
    assert "braintreegateway" not in page.headers["Content-Security-Policy"]
    assert 'hx-get="/admin/cards/new"' not in page.get_data(as_text=True)  # a page of its own
    form = bt_client.get("/admin/cards/new")
    csp = form.headers["Content-Security-Policy"]
    assert "script-src 'self' https://js.braintreegateway.com;" in csp
    assert "connect-src 'self' https://api.sandbox.braintreegateway.com" in csp
    html = form.get_data(as_text=True)
    token = re.search(r'data-client-token="([^"]+)"', html).group(1)
    assert len(token) > 40 and "dropin.min.js" in html and "braintree-dropin.js" in html
    assert "<script>" not in html  # no inline script
    assert "braintreegateway" not in bt_client.get("/admin/").headers["Content-Security-Policy"]


def test_dropin_page_when_braintree_is_down(dropin_app, bt_client, admin, fake_braintree):  # noqa: E501
    fake_braintree.stop()
    html = bt_client.get("/admin/cards/new").get_data(as_text=True)
    assert "The card form could not be loaded" in html and "dropin.min.js" not in html


# ---------------------------------------------------------------- webhooks
def test_genuine_webhook_accepted_once_then_replay_refused(bt_app, bt_client, fake_braintree,  # noqa: E501
                                                          caplog):
    signed = fake_braintree.webhook("transaction_settled", "txn1")
    first = bt_client.post("/webhooks/braintree", data=signed)
    assert first.status_code == 200 and first.json == {"received": 1, "outcomes": ["recorded"]}
    with caplog.at_level("WARNING", logger="portal.webhooks"):
        again = bt_client.post("/webhooks/braintree", data=signed)
    assert again.status_code == 400 and again.json["error"]["code"] == "webhook_refused"
    assert "replayed notification" in caplog.text
    with bt_app.app_context():
        assert WebhookReceipt.select().count() == 1


def test_forged_webhook_refused_and_logged(bt_client, fake_braintree, caplog):
    signed = fake_braintree.webhook("check", "x")
    signed["bt_signature"] = signed["bt_signature"][:-2] + "00"
    with caplog.at_level("WARNING", logger="portal.webhooks"):
        response = bt_client.post("/webhooks/braintree", data=signed)
    assert response.status_code == 400 and "signature refused" in caplog.text
    assert bt_client.post("/webhooks/braintree").status_code == 400


def test_webhooks_need_no_csrf_token_but_a_known_gateway(bt_client):
    assert bt_client.post("/webhooks/nonesuch", data={"x": "1"}).status_code == 404
    assert bt_client.post("/webhooks/fake", data={"x": "1"}).status_code == 400


def test_revoked_card_removed_idempotently(bt_app, bt_client, admin, fake_braintree):  # noqa: E501
    admin.add("fake-valid-visa-nonce")
    admin.add("fake-valid-amex-nonce")
    visa, amex = stored(bt_app)
    signed = fake_braintree.webhook("payment_method_revoked_by_customer", visa.token)
    response = bt_client.post("/webhooks/braintree", data=signed)
    assert response.json["outcomes"] == ["method removed"]
    assert [(m.token, m.is_default) for m in stored(bt_app)] == [(amex.token, True)]
    # Braintree sends the same news again in a new notification (another id): no change.
    [event] = plugins_gateway(bt_app).parse_webhook(signed)
    with bt_app.app_context():
        outcome = webhooks.handle("braintree", dataclasses.replace(event, id="another"))
        assert outcome == "no such method here"
        assert AuditEvent.select().where(AuditEvent.action == "card.revoked").count() == 1
    assert [m.token for m in stored(bt_app)] == [amex.token]


def plugins_gateway(app):
    from portal.gateways import registered_gateways

    return registered_gateways(plugins.plugin_manager(app), app.config)["braintree"]


def test_settlement_declined_shown_to_operators(bt_app, bt_client, fake_braintree):
    signed = fake_braintree.webhook("transaction_settlement_declined", "txn9")
    assert bt_client.post("/webhooks/braintree", data=signed).status_code == 200
    with bt_app.app_context():
        event = AuditEvent.get(AuditEvent.action == "payment.settlement_declined")
    assert "txn9" in event.detail
