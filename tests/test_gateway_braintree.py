"""The ``braintree`` plugin: the real SDK against the local fake Braintree server.

Configuration and registration, the XML the fake answers (422 documents, declines),
every fault (500, timeout, connection reset, connection refused) mapped to a Result that
never raises, reconciliation by order_id, refunds and webhooks.
"""
from decimal import Decimal

import pytest

from portal import plugins
from portal.gateways import ConfigurationError, Status, WebhookError, registered_gateways
from portal.plugins.gateway_braintree import BraintreeGateway, parse_environment
from support.fake_braintree import FakeBraintree


@pytest.fixture
def gateway(fake_braintree):
    """The plugin's gateway on the fake server, with a short timeout."""
    return BraintreeGateway.from_config(fake_braintree.portal_config(timeout="1"))


def card(gateway, nonce="fake-valid-visa-nonce", customer=None):
    result = gateway.vault(customer, nonce, email="ada@example.com")
    assert result.ok, result.message
    return result


# ---------------------------------------------------------------- configuration
@pytest.mark.parametrize("missing", ["BRAINTREE_MERCHANT_ID", "BRAINTREE_PUBLIC_KEY",
                                     "BRAINTREE_PRIVATE_KEY"])
def test_a_missing_setting_is_named(make_app, fake_braintree, missing):
    config = fake_braintree.portal_config()
    config[missing] = ""
    with pytest.raises(ConfigurationError, match=f"PORTAL_{missing}"):
        make_app(**config)


def test_registered_only_when_chosen_or_configured(make_app, fake_braintree):
    def names(app):
        return set(registered_gateways(plugins.plugin_manager(app), app.config))

    assert names(make_app()) == {"fake", "manual"}  # the demo runs without Braintree
    assert "braintree" in names(make_app(**fake_braintree.portal_config()))
    configured = dict(fake_braintree.portal_config(), GATEWAY="fake")
    assert "braintree" in names(make_app(**configured))


def test_environment_names_and_urls():
    assert parse_environment("sandbox")[1] == "sandbox"
    assert parse_environment("production")[1] == "production"
    env, mode = parse_environment("http://127.0.0.1:8765")
    assert mode == "custom" and env.base_url == "http://127.0.0.1:8765"
    with pytest.raises(ConfigurationError, match="PORTAL_BRAINTREE_ENVIRONMENT"):
        parse_environment("sandbx")


def test_dropin_only_in_sandbox_and_production(fake_braintree):
    config = fake_braintree.portal_config()
    custom = BraintreeGateway.from_config(config)
    sandbox = BraintreeGateway.from_config(dict(config, BRAINTREE_ENVIRONMENT="sandbox"))
    assert custom.script_sources() == () and custom.csp_sources() == {}
    assert sandbox.script_sources() == ("https://js.braintreegateway.com",)
    assert "https://api.sandbox.braintreegateway.com" in sandbox.csp_sources()["connect-src"]


# ---------------------------------------------------------------- cards
def test_first_card_creates_the_customer_and_vaults_with_verification(gateway, fake_braintree):  # noqa: E501
    result = card(gateway)
    assert result.customer_id in fake_braintree.customers
    stored = fake_braintree.payment_methods[result.card.token]
    assert stored["customer_id"] == result.customer_id and stored["default"] is True
    assert (result.card.brand, result.card.last4, result.card.exp_month,
            result.card.exp_year) == ("Visa", "1111", 12, 2030)
    second = card(gateway, "fake-valid-amex-nonce", result.customer_id)
    assert second.customer_id == result.customer_id and len(fake_braintree.customers) == 1


def test_processor_declined_verification_is_declined(gateway, fake_braintree):
    result = gateway.vault(None, "fake-processor-declined-visa-nonce")
    assert result.status is Status.DECLINED and result.message == "Do Not Honor"
    assert result.extra["code"] == "2000" and result.customer_id in fake_braintree.customers
    assert fake_braintree.payment_methods == {}


@pytest.mark.parametrize("nonce, code", [("fake-consumed-nonce", "93107"),
                                         ("no-such-nonce", "93108"),
                                         ("fake-luhn-invalid-nonce", "81716")])
def test_422_validation_documents_become_errors_with_codes(gateway, nonce, code):
    result = gateway.vault(None, nonce)
    assert result.status is Status.ERROR and code in result.extra["codes"]


def test_a_customer_deleted_at_braintree_is_replaced(gateway, fake_braintree):
    first = card(gateway)
    gateway.sdk.customer.delete(first.customer_id)
    again = card(gateway, customer=first.customer_id)
    assert again.customer_id != first.customer_id and again.customer_id in fake_braintree.customers


def test_remove_deletes_at_the_gateway_and_is_idempotent(gateway, fake_braintree):
    token = card(gateway).card.token
    assert gateway.remove(token).ok and token not in fake_braintree.payment_methods
    assert gateway.remove(token).ok


# ---------------------------------------------------------------- charges
def test_charge_sends_our_key_as_order_id_and_settles(gateway, fake_braintree):
    token = card(gateway).card.token
    result = gateway.charge(token, Decimal("49.00"), "INV-7-1")
    assert result.ok and result.amount == Decimal("49.00")
    [txn] = fake_braintree.transactions_with_order_id("INV-7-1")
    assert txn["id"] == result.transaction_id and txn["status"] == "submitted_for_settlement"


@pytest.mark.parametrize("amount, status, code", [("2000.00", Status.DECLINED, "2000"),
                                                  ("2001.00", Status.DECLINED, "2001"),
                                                  ("3000.00", Status.ERROR, "3000"),
                                                  ("5001.00", Status.DECLINED,
                                                   "application_incomplete")])
def test_processor_and_gateway_declines(gateway, amount, status, code):
    token = card(gateway).card.token
    result = gateway.charge(token, Decimal(amount), f"k-{amount}")
    assert result.status is status and result.extra["code"] == code and result.message


@pytest.mark.parametrize("kind", ["500", "timeout", "reset"])
def test_charge_without_an_answer_is_unknown_then_reconciled(gateway, fake_braintree, kind):  # noqa: E501
    """The sale went through but the answer was lost: UNKNOWN, never an exception; the
    lookup by our key finds the one transaction, so nobody charges twice."""
    token = card(gateway).card.token
    fake_braintree.inject(kind, path="/transactions", method="POST", after=True, times=1,
                          delay=2)
    result = gateway.charge(token, Decimal("25.00"), "INV-9-1")
    assert result.status is Status.UNKNOWN
    found = gateway.find_by_idempotency_key("INV-9-1")
    assert found.status is Status.APPROVED and found.extra["found"] is True
    assert found.extra["transaction_ids"] == [t["id"] for t in
                                             fake_braintree.transactions_with_order_id("INV-9-1")]


def test_charge_refused_before_reaching_braintree_is_not_found(gateway, fake_braintree):  # noqa: E501
    token = card(gateway).card.token
    fake_braintree.inject("500", path="/transactions", method="POST", times=1)
    assert gateway.charge(token, Decimal("25.00"), "INV-10-1").status is Status.UNKNOWN
    found = gateway.find_by_idempotency_key("INV-10-1")
    assert found.status is Status.UNKNOWN and found.extra["found"] is False


def test_connection_refused_is_an_error(gateway, fake_braintree):
    token = card(gateway).card.token
    fake_braintree.stop()
    assert gateway.charge(token, Decimal("5.00"), "k-refused").status is Status.ERROR
    assert gateway.vault(None, "fake-valid-visa-nonce").status is Status.ERROR
    assert gateway.find_by_idempotency_key("k-refused").status is Status.ERROR


def test_an_answer_the_sdk_cannot_read_is_a_gateway_failure(gateway, fake_braintree):
    token = card(gateway).card.token
    fake_braintree.inject("garbled", path="/transactions", method="POST", after=True, times=1)
    result = gateway.charge(token, Decimal("5.00"), "k-garbled")
    assert result.status is Status.UNKNOWN and "ExpatError" in result.message
    fake_braintree.inject("garbled", path="/payment_methods", times=1)
    assert gateway.remove(token).status is Status.ERROR


@pytest.mark.parametrize("call", ["charge", "refund"])
def test_a_bug_of_ours_is_raised_not_reported_as_a_gateway_outage(gateway, fake_braintree,
                                                                  call):
    """A float amount is refused by ``money`` (rule DOC-3) with a TypeError: that is our
    code's mistake, so it must reach the log as one, not read "no answer from the
    gateway" (which a billing run would reconcile and retry as an outage)."""
    token = card(gateway).card.token
    with pytest.raises(TypeError, match="float"):
        if call == "charge":
            gateway.charge(token, 5.0, "k-float")
        else:
            gateway.refund(gateway.charge(token, Decimal("5.00"), "k-ok").transaction_id, 1.5)
    assert fake_braintree.transactions_with_order_id("k-float") == []


def test_slow_answers_within_the_timeout_succeed(gateway, fake_braintree):
    fake_braintree.inject("delay", delay=0.3)
    assert card(gateway).ok


def test_fault_rate_is_seeded_and_counted(gateway, fake_braintree):
    token = card(gateway).card.token
    fake_braintree.inject("500", rate=0.5, path="/transactions", seed=7)
    statuses = [gateway.charge(token, Decimal("1.00"), f"rate-{i}").status for i in range(20)]
    failed = statuses.count(Status.UNKNOWN)
    assert failed == len(fake_braintree.injected) and 0 < failed < 20


def test_refund_voids_an_unsettled_sale_and_refunds_a_settled_one(gateway, fake_braintree):  # noqa: E501
    token = card(gateway).card.token
    fresh = gateway.charge(token, Decimal("30.00"), "r-1")
    refund = gateway.refund(fresh.transaction_id)
    assert refund.ok and refund.extra["voided_instead"] is True
    assert fake_braintree.transactions[fresh.transaction_id]["status"] == "voided"
    settled = gateway.charge(token, Decimal("30.00"), "r-2")
    fake_braintree.settle(settled.transaction_id)
    part = gateway.refund(settled.transaction_id, Decimal("10.00"))
    assert part.ok and part.amount == Decimal("10.00")
    too_much = gateway.refund(settled.transaction_id, Decimal("25.00"))
    assert too_much.status is Status.DECLINED and "too large" in too_much.message
    assert gateway.void(settled.transaction_id).status is Status.DECLINED


# ---------------------------------------------------------------- webhooks
def test_genuine_webhook_parsed(gateway, fake_braintree):
    signed = fake_braintree.webhook("transaction_settlement_declined", "txn42")
    [event] = gateway.parse_webhook(signed)
    assert (event.kind, event.subject_id) == ("transaction_settlement_declined", "txn42")
    assert event.data["status"] == "settlement_declined" and len(event.id) == 64


@pytest.mark.parametrize("tamper", ["signature", "payload", "missing", "other_key"])
def test_forged_webhook_refused(gateway, fake_braintree, tamper):
    signed = fake_braintree.webhook("check", "x")
    if tamper == "signature":
        signed["bt_signature"] = signed["bt_signature"][:-4] + "0000"
    elif tamper == "payload":
        signed["bt_payload"] = signed["bt_payload"][:-8] + b"AAAAAAA\n"
    elif tamper == "missing":
        del signed["bt_signature"]
    else:
        other = FakeBraintree(private_key="someone-else").start()
        try:
            signed = other.webhook("check", "x")
        finally:
            other.stop()
    with pytest.raises(WebhookError):
        gateway.parse_webhook(signed)
