"""The payment-gateway contract as a reusable pytest suite.

Every gateway the portal ships passes it (tests/test_gateway_contract.py runs it for
``fake``, ``braintree`` and ``manual``), and a third-party gateway can prove it
behaves the same way by subclassing ``GatewayContract`` and giving a ``gateway``
fixture::

    # tests/test_my_gateway.py in your plugin's package
    import pytest
    from portal.testing.gateway_contract import ContractNonces, GatewayContract

    class TestMyGateway(GatewayContract):
        nonces = ContractNonces(visa="tok_visa", amex="tok_amex", mastercard="tok_mc",
                                discover="tok_discover", declined="tok_chargeDeclined",
                                consumed="tok_used", unknown="tok_nonsense")
        declined_amount = Decimal("2000.00")  # an amount your sandbox declines

        @pytest.fixture
        def gateway(self):
            return MyGateway(api_key="sandbox-key")

What it checks, in the portal's terms (see ``portal.gateways.Gateway``):

- the gateway declares ``name``, ``label``, ``accepted_brands`` and ``takes_cards``;
- ``vault`` turns a nonce into a token, brand, last four and expiry, and keeps the
  customer id across cards; a declined card is DECLINED, a consumed or unknown nonce an
  ERROR, and the real brand of any other card (Discover) is reported so the portal can
  refuse it (rule PAY-1) and ``remove`` it; ``describe_nonce`` (if offered) names the
  brand behind a nonce without storing it, so the portal refuses before ``vault``;
  ``remove`` is idempotent;
- ``charge`` approves an ordinary amount and declines ``declined_amount``; the charge is
  found again by its idempotency key, an unknown key is not found (UNKNOWN, found False);
- a fresh charge can be refunded in full (or voided) and voided;
- ``parse_webhook`` refuses a forged notification with ``WebhookError``;
- nothing raises: every answer is a ``Result``. An operation the gateway does not offer
  answers UNSUPPORTED, and the test for it is skipped. Gateways that do not take cards
  (``takes_cards = False``, e.g. invoices) skip the card tests.

``client_snippet`` is rendered inside the ``render_context`` fixture; override it with
an app's request context if your snippet renders a template (the default checks the
snippet without one and skips if it needs Flask).
"""
from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest

from ..gateways import ACCEPTED_BRANDS, Gateway, Result, Status, WebhookError


@dataclass(frozen=True)
class ContractNonces:
    """One-time tokens from your gateway's sandbox (defaults: Braintree's test nonces)."""

    visa: str = "fake-valid-visa-nonce"
    amex: str = "fake-valid-amex-nonce"
    mastercard: str = "fake-valid-mastercard-nonce"
    discover: str = "fake-valid-discover-nonce"
    declined: str = "fake-processor-declined-visa-nonce"
    consumed: str = "fake-consumed-nonce"
    unknown: str = "this-is-not-a-nonce"


def _offered(result: Result, what: str) -> Result:
    assert isinstance(result, Result), f"{what} must return a Result, not {result!r}"
    if result.status is Status.UNSUPPORTED:
        pytest.skip(f"the gateway does not offer {what}")
    return result


class GatewayContract:
    """Subclass it and provide a ``gateway`` fixture; every test below then runs."""

    nonces = ContractNonces()
    approved_amount = Decimal("10.00")
    declined_amount = Decimal("2000.00")

    @pytest.fixture
    def gateway(self) -> Gateway:
        pytest.fail("define a `gateway` fixture that returns your gateway")

    @pytest.fixture
    def render_context(self):
        """Where ``client_snippet`` renders (override with an app's request context)."""
        return contextlib.nullcontext()

    @pytest.fixture
    def card_gateway(self, gateway):
        if not gateway.takes_cards:
            pytest.skip(f"{gateway.name} takes no cards")
        return gateway

    def vault(self, gateway, nonce, customer_id=None):
        result = _offered(gateway.vault(customer_id, nonce, email="contract@example.com"),
                          "storing cards")
        return result

    def charged(self, gateway, amount=None):
        token = self.vault(gateway, self.nonces.visa).card.token
        key = f"contract-{uuid.uuid4().hex}"
        return key, _offered(gateway.charge(token, amount or self.approved_amount, key),
                             "charges")

    # ------------------------------------------------------------ declarations
    def test_declares_what_it_is(self, gateway):
        assert isinstance(gateway.name, str) and gateway.name.isidentifier()
        assert gateway.label
        assert isinstance(gateway.takes_cards, bool)
        assert set(gateway.accepted_brands) <= set(ACCEPTED_BRANDS) | {"Discover", "JCB"}
        assert isinstance(gateway.csp_sources(), dict)

    def test_client_snippet_posts_a_nonce(self, card_gateway, render_context):
        try:
            with render_context:
                html = card_gateway.client_snippet(client_token=card_gateway.client_token())
        except RuntimeError as exc:  # needs Flask: give the suite a render_context
            pytest.skip(f"client_snippet needs an app context: {exc}")
        assert 'name="payment_method_nonce"' in html

    # ------------------------------------------------------------ cards
    @pytest.mark.parametrize("which, brand", [("visa", "Visa"), ("amex", "American Express"),
                                              ("mastercard", "MasterCard")])
    def test_vault_returns_only_what_may_be_stored(self, card_gateway, which, brand):
        result = self.vault(card_gateway, getattr(self.nonces, which))
        assert result.status is Status.APPROVED, result.message
        card = result.card
        assert card.token and card.brand == brand
        assert len(card.last4) == 4 and card.last4.isdigit()
        assert 1 <= card.exp_month <= 12 and card.exp_year >= 2000
        assert result.customer_id

    def test_second_card_keeps_the_customer(self, card_gateway):
        first = self.vault(card_gateway, self.nonces.visa)
        second = self.vault(card_gateway, self.nonces.amex, first.customer_id)
        assert second.ok and second.customer_id == first.customer_id
        assert second.card.token != first.card.token

    def test_declined_card_is_declined_with_a_message(self, card_gateway):
        result = self.vault(card_gateway, self.nonces.declined)
        assert result.status is Status.DECLINED and result.message and result.card is None

    @pytest.mark.parametrize("which", ["consumed", "unknown"])
    def test_bad_nonce_is_an_error_not_an_exception(self, card_gateway, which):
        result = self.vault(card_gateway, getattr(self.nonces, which))
        assert result.status is Status.ERROR and result.message and result.card is None

    def test_reports_the_real_brand_of_other_cards(self, card_gateway):
        """The portal refuses Discover (PAY-1) and removes it: the gateway must say."""
        result = self.vault(card_gateway, self.nonces.discover)
        assert result.ok and result.card.brand == "Discover"
        assert _offered(card_gateway.remove(result.card.token), "removing cards").ok

    @pytest.mark.parametrize("which, brand", [("visa", "Visa"), ("discover", "Discover")])
    def test_describes_a_nonce_without_storing_it(self, card_gateway, which, brand):
        """The portal refuses a brand (PAY-1) from this answer, before ``vault``; the
        nonce is still usable afterwards."""
        described = card_gateway.describe_nonce(getattr(self.nonces, which))
        if described.status is Status.UNSUPPORTED:
            pytest.skip("the gateway does not describe nonces: the portal vaults, then "
                        "deletes a refused brand")
        assert described.ok and described.card.brand == brand and not described.card.token
        assert not described.customer_id
        assert self.vault(card_gateway, getattr(self.nonces, which)).ok

    def test_remove_is_idempotent(self, card_gateway):
        token = self.vault(card_gateway, self.nonces.visa).card.token
        assert _offered(card_gateway.remove(token), "removing cards").ok
        assert card_gateway.remove(token).ok

    def test_make_default(self, card_gateway):
        first = self.vault(card_gateway, self.nonces.visa)
        second = self.vault(card_gateway, self.nonces.amex, first.customer_id)
        assert _offered(card_gateway.make_default(second.card.token), "default cards").ok

    # ------------------------------------------------------------ money
    def test_charge_is_approved_and_found_by_its_key(self, card_gateway):
        key, result = self.charged(card_gateway)
        assert result.status is Status.APPROVED and result.transaction_id
        assert result.amount == self.approved_amount
        found = _offered(card_gateway.find_by_idempotency_key(key), "looking up charges")
        assert found.status is Status.APPROVED and found.extra.get("found") is True
        assert found.transaction_id == result.transaction_id

    def test_charge_declined_and_found_as_declined(self, card_gateway):
        key, result = self.charged(card_gateway, self.declined_amount)
        assert result.status is Status.DECLINED and result.message
        found = _offered(card_gateway.find_by_idempotency_key(key), "looking up charges")
        assert found.status is Status.DECLINED and found.extra.get("found") is True

    def test_unknown_key_is_not_found(self, gateway):
        found = _offered(gateway.find_by_idempotency_key(f"never-{uuid.uuid4().hex}"),
                         "looking up charges")
        assert found.status is Status.UNKNOWN and found.extra.get("found") is False

    def test_fresh_charge_refunded_in_full(self, card_gateway):
        _key, charge = self.charged(card_gateway)
        refund = _offered(card_gateway.refund(charge.transaction_id), "refunds")
        assert refund.status is Status.APPROVED, refund.message

    def test_fresh_charge_can_be_voided(self, card_gateway):
        _key, charge = self.charged(card_gateway)
        assert _offered(card_gateway.void(charge.transaction_id), "voids").ok

    # ------------------------------------------------------------ webhooks
    def test_forged_webhook_is_refused(self, gateway):
        with pytest.raises(WebhookError):
            gateway.parse_webhook({"bt_signature": "forged|00", "bt_payload": "Zm9yZ2Vk\n",
                                   "kind": "check", "signature": "forged"})
