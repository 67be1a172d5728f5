"""Wizard orders through the real ``braintree`` SDK while the fake Braintree server fails
on purpose (issue 9, item 5; rules CHG-2, CHG-8): 500s after the sale went through,
connection resets, read timeouts and slow answers, at a set rate or one at a time.

Whatever happens, no order is charged twice and none is lost: every order ends placed
(charged once, applied, invoiced), refused with a clear message (nothing charged, nothing
applied), or held while the payment is confirmed (nothing applied; the next change waits);
a held order is settled by looking its charge up under its key, never by sending it again;
and posting the same review again never charges a second time.
"""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from portal.billing import orders
from portal.gateways import active_gateway
from portal.models import (Account, ChangeOrder, Invoice, PaymentMethod, Receipt, Subscription,
                           utcnow)
from portal.plugins import plugin_manager
from portal.plugins.gateway_braintree import COLLECTED
from support.changes import ATELIER, DEMO_TODAY, Wizard

SEATS, ADDONS = 5, 2  # Atelier Space: Business, annual, 5 users + 2 add-on licenses
PAGE_TEXT = {
    "placed": "Placed.",
    "charging": "The payment is being confirmed with the payment provider",
    "failed": "Nothing was changed and nothing was charged",
    "declined": "Nothing was changed and nothing was charged",
}


@pytest.fixture
def bt_app(make_app, fake_braintree):
    """PORTAL_GATEWAY=braintree on the fake server, a half-second read timeout, today pinned,
    and a card vaulted at the fake server as Atelier Space's default."""
    app = make_app(TODAY=DEMO_TODAY, **fake_braintree.portal_config(timeout="0.5"))
    with app.app_context():
        gateway = active_gateway(plugin_manager(app), app.config)
        result = gateway.vault(None, "fake-valid-visa-nonce", email="ada@atelier.example",
                               make_default=True)
        assert result.ok, result.message
        card = result.card
        PaymentMethod.create(account=Account.get(Account.name == "Atelier Space"),
                             gateway="braintree", token=card.token, brand=card.brand,
                             last4=card.last4, exp_month=card.exp_month,
                             exp_year=card.exp_year, is_default=True)
    return app


@pytest.fixture
def wizard(bt_app, auth_for):
    client = bt_app.test_client()
    auth_for(client).login(as_=ATELIER)
    return Wizard(client)


def atelier_sub() -> Subscription:
    return (Subscription.select().join(Account)
            .where(Account.name == "Atelier Space").get())


def sales(fake, key: str) -> list[dict]:
    """Sales at the fake gateway that took money under our idempotency key."""
    return [t for t in fake.transactions_with_order_id(key)
            if t["type"] == "sale" and t["status"] in COLLECTED]


def all_sales(fake) -> list[dict]:
    with fake._lock:
        return [t for t in fake.transactions.values()
                if t["type"] == "sale" and t["status"] in COLLECTED]


def review_upgrade(wizard, sid, seats) -> dict:
    """Walk steps 1-3 for ``seats`` users; the review's form (what Place order posts)."""
    return wizard.review_form(wizard.to_review(sid, reason="", plan="business",
                                               interval="annual", quantity=seats,
                                               addon_quantity=ADDONS))


def order_of(response) -> ChangeOrder:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    match = re.search(r"/orders/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return ChangeOrder.get_by_id(int(match.group(1)))


def check_order(fake, wizard, order: ChangeOrder) -> str:
    """The invariants of one order in its current state; returns the state."""
    order = ChangeOrder.get_by_id(order.id)
    page = wizard.client.get(f"/admin/subscription/orders/{order.id}").get_data(as_text=True)
    order = ChangeOrder.get_by_id(order.id)  # the page may have settled it
    assert f'data-status="{order.status}"' in page
    assert PAGE_TEXT[order.status] in page
    taken = sales(fake, order.charge_key)
    invoices = Invoice.select().where(Invoice.description == f"Plan change, order {order.id}")
    sub = atelier_sub()
    if order.status == "placed":  # charged exactly once, applied, documented (DOC-1)
        assert len(taken) == 1, taken
        assert Decimal(taken[0]["amount"]) == order.due_now > 0
        assert order.transaction_id == taken[0]["id"]
        assert sub.quantity >= order.quantity
        invoice = invoices.get()
        assert invoice.status == "paid" and invoice.total == order.due_now
        assert Receipt.get(Receipt.invoice == invoice.id).reference == order.transaction_id
    elif order.status == "charging":  # held: nothing applied until the charge is known
        assert len(taken) <= 1
        assert sub.quantity == order.old_quantity and not invoices.exists()
    else:  # refused with its reason: nothing charged, nothing applied
        assert order.status in ("failed", "declined") and order.message
        assert taken == [] and not invoices.exists()
        assert sub.quantity == order.old_quantity
    return order.status


def replay(fake, wizard, sid, form, order: ChangeOrder) -> None:
    """Posting the same review again answers the same order and charges nothing more."""
    before = len(sales(fake, order.charge_key))
    again = wizard.place(sid, form)
    assert order_of(again).id == order.id
    assert "already placed" in wizard.client.get(again.headers["Location"]).get_data(
        as_text=True)
    assert len(sales(fake, order.charge_key)) == before
    assert ChangeOrder.select().where(ChangeOrder.review_key == order.review_key).count() == 1


def let_time_pass(order: ChangeOrder) -> None:
    """Move the order's creation back past the wait before a held charge is looked up."""
    (ChangeOrder.update(created_at=utcnow() - orders.CHARGING_TIMEOUT * 2)
     .where(ChangeOrder.id == order.id).execute())


# --- one fault at a time: each way a charge can go wrong -------------------------------------

@pytest.mark.parametrize("fault, expected", [
    # the sale went through but the answer was a 500: found by its key, placed once
    pytest.param(dict(kind="500", path="/transactions", method="POST", after=True, times=1),
                 "placed", id="500-after-the-sale"),
    # the connection was reset after the sale: the same
    pytest.param(dict(kind="reset", path="/transactions", method="POST", after=True,
                      times=1), "placed", id="reset-after-the-sale"),
    # a slow answer within the timeout: placed normally
    pytest.param(dict(kind="delay", path="/transactions", method="POST", delay=0.2, times=1),
                 "placed", id="slow-answer"),
    # reset before the gateway did anything: the lookup finds nothing, refused
    pytest.param(dict(kind="reset", path="/transactions", method="POST", times=1),
                 "failed", id="reset-before-the-sale"),
    # no answer in time and nothing charged: refused
    pytest.param(dict(kind="timeout", path="/transactions", method="POST", delay=1.0,
                      times=1), "failed", id="timeout-before-the-sale"),
])
def test_a_fault_on_the_charge_places_once_or_refuses(bt_app, wizard, fake_braintree,
                                                      fault, expected):
    fake = fake_braintree
    with bt_app.app_context():
        sid = atelier_sub().id
        form = review_upgrade(wizard, sid, SEATS + 1)
        fault = dict(fault)
        fake.inject(fault.pop("kind"), **fault)
        response = wizard.place(sid, form)
        order = order_of(response)
        assert fake.injected, "the fault was not injected"
        assert check_order(fake, wizard, order) == expected
        replay(fake, wizard, sid, form, order)
        assert atelier_sub().quantity == (SEATS + 1 if expected == "placed" else SEATS)
        assert len(all_sales(fake)) == (1 if expected == "placed" else 0)


def test_an_unknown_charge_is_held_then_settled_by_its_key(bt_app, wizard,
                                                           fake_braintree):
    fake = fake_braintree
    with bt_app.app_context():
        sid = atelier_sub().id
        form = review_upgrade(wizard, sid, SEATS + 1)
        # The sale goes through but its answer is lost, and the lookup fails too.
        fake.inject("timeout", path="/transactions", method="POST", after=True, delay=1.0,
                    times=1)
        fake.inject("500", path="/transactions/advanced_search", times=10)
        order = order_of(wizard.place(sid, form))
        assert check_order(fake, wizard, order) == "charging"
        assert len(sales(fake, order.charge_key)) == 1  # the money was taken...
        assert atelier_sub().quantity == SEATS  # ...but nothing is applied yet
        replay(fake, wizard, sid, form, order)  # the same review: no second sale
        # Another change of the subscription waits, with the reason.
        other = review_upgrade(wizard, sid, SEATS + 2)
        refused = wizard.place(sid, other)
        assert refused.status_code == 409
        assert "still being confirmed" in refused.get_data(as_text=True)
        fake.clear_faults()
        let_time_pass(order)
        assert check_order(fake, wizard, order) == "placed"  # found by its key, not resent
        assert len(all_sales(fake)) == 1 and atelier_sub().quantity == SEATS + 1
        replay(fake, wizard, sid, form, order)


# --- faults at a set rate over a series of orders ------------------------------------------

def test_orders_under_faults_at_a_set_rate_never_charge_twice_nor_get_lost(
        bt_app, wizard, fake_braintree):
    fake = fake_braintree
    fake.inject("500", rate=0.2, path="/transactions", method="POST", after=True, seed=4)
    fake.inject("reset", rate=0.15, path="/transactions", method="POST")
    fake.inject("timeout", rate=0.1, path="/transactions", method="POST", after=True,
                delay=1.0)
    fake.inject("delay", rate=0.2, path="/transactions", delay=0.1)
    outcomes = []
    with bt_app.app_context():
        sid = atelier_sub().id
        for _ in range(12):
            form = review_upgrade(wizard, sid, atelier_sub().quantity + 1)
            order = order_of(wizard.place(sid, form))
            state = check_order(fake, wizard, order)
            replay(fake, wizard, sid, form, order)
            held_rounds = 0
            while state == "charging":  # the next change waits until this one is known
                refused = wizard.place(sid, review_upgrade(wizard, sid, order.quantity + 1))
                assert refused.status_code == 409
                assert "still being confirmed" in refused.get_data(as_text=True)
                let_time_pass(order)
                held_rounds += 1
                if held_rounds == 5:  # the gateway recovers at last
                    fake.clear_faults()
                replay(fake, wizard, sid, form, order)  # may settle it too
                state = check_order(fake, wizard, order)
            outcomes.append((state, held_rounds > 0))
        fake.clear_faults()

        # The faults hit every way an order can end (the seed makes the run repeatable).
        states = [state for state, _held in outcomes]
        assert {"placed", "failed"} <= set(states), (outcomes, fake.injected)
        assert any(held for _state, held in outcomes), (outcomes, fake.injected)
        # Nothing lost: every placed order added its user and took its money exactly once;
        # refused ones took nothing and left no trace on the subscription.
        placed = list(ChangeOrder.select().where(ChangeOrder.status == "placed"))
        assert len(placed) == states.count("placed")
        assert ChangeOrder.select().count() == len(outcomes)
        assert ChangeOrder.select().where(ChangeOrder.status == "charging").count() == 0
        assert atelier_sub().quantity == SEATS + len(placed)
        taken = all_sales(fake)
        assert len(taken) == len(placed)
        assert sorted(t["order_id"] for t in taken) == sorted(o.charge_key for o in placed)
        assert (sum(Decimal(t["amount"]) for t in taken)
                == sum(o.due_now for o in placed))
        assert Invoice.select().where(Invoice.description.startswith("Plan change")).count() \
            == len(placed)
