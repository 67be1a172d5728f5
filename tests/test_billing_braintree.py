"""The billing run through the real ``braintree`` SDK against the fake Braintree server,
with faults injected on a share of the calls (500 after the sale, connection resets,
read timeouts): no double charge; every invoice paid, in dunning or held with a reason;
once the gateway behaves, everything is collected exactly once."""
import datetime as dt
from decimal import Decimal

import pytest

from portal.gateways import active_gateway
from portal.models import (Account, BillingAdjustment, Charge, Invoice, PaymentMethod, Receipt,
                           Subscription)
from portal.plugins import plugin_manager
from portal.plugins.gateway_braintree import COLLECTED
from support.billing import DEC1, add_card, make_due, run


@pytest.fixture
def bt_app(make_app, fake_braintree):
    """PORTAL_GATEWAY=braintree on the fake server, with a one-second read timeout."""
    return make_app(**fake_braintree.portal_config(timeout="1"))


def vault_cards(app, sub_ids):
    """A card vaulted at the fake Braintree for each subscription's account."""
    gateway = active_gateway(plugin_manager(app), app.config)
    for sub_id in sub_ids:
        acct = Account.get_by_id(Subscription.get_by_id(sub_id).account_id)
        result = gateway.vault(None, "fake-valid-visa-nonce", email="a@example.test",
                               make_default=True)
        assert result.ok, result.message
        PaymentMethod.delete().where(PaymentMethod.account == acct.id).execute()
        add_card(acct, gateway="braintree", token=result.card.token, last4=result.card.last4)


def collected_sales(fake, invoice):
    """Sales at the fake gateway that took money for ``invoice`` (by our order ids)."""
    keys = [c.idempotency_key for c in Charge.select().where(Charge.invoice == invoice.id)]
    return [t for key in keys for t in fake.transactions_with_order_id(key)
            if t["type"] == "sale" and t["status"] in COLLECTED]


def test_faults_from_the_fake_braintree_never_charge_twice(bt_app, fake_braintree):
    fake = fake_braintree
    with bt_app.app_context():
        ids = make_due(12, DEC1, gateway="braintree")
        vault_cards(bt_app, ids)
        declined = ids[0]  # 2000-2999 is a processor decline at Braintree's sandbox
        BillingAdjustment.create(account=Subscription.get_by_id(declined).account_id,
                                 subscription=declined, description="one-off",
                                 amount=Decimal("2000.00"))
        fake.inject("500", rate=0.3, path="/transactions", method="POST", after=True, seed=11)
        fake.inject("reset", rate=0.15, path="/transactions", method="POST", after=True)
        fake.inject("timeout", rate=0.1, path="/transactions", method="POST", delay=1.5)
        report = run(bt_app, DEC1)
        sales_failed = [f for f in fake.injected if f[2] == "/transactions"]
        assert sales_failed and report.held >= 1  # the faults did hit charges
        invoices = list(Invoice.select().where(Invoice.subscription.in_(ids)))
        assert len(invoices) == len(ids)
        for invoice in invoices:
            assert invoice.status in ("paid", "dunning", "held")
            if invoice.status == "held":
                assert "Payment outcome unknown" in invoice.hold_reason
            assert len(collected_sales(fake, invoice)) <= 1  # never charged twice
            if invoice.status == "paid":
                assert len(collected_sales(fake, invoice)) == 1
        # The gateway recovers; later runs reconcile what was held, by our keys.
        fake.clear_faults()
        for day in (2, 3):
            run(bt_app, dt.date(2026, 12, day), BILLING_RECONCILE_AFTER=0)
        for invoice in Invoice.select().where(Invoice.subscription.in_(ids)):
            sales = collected_sales(fake, invoice)
            if invoice.subscription_id == declined:
                assert invoice.status == "dunning" and sales == []
                continue
            assert invoice.status == "paid"
            assert [Decimal(t["amount"]) for t in sales] == [invoice.total]
            assert Receipt.get(Receipt.invoice == invoice.id).amount == invoice.total
