"""Placing orders against the real database and gateway: CHG-4, CHG-5, CHG-6, CHG-8,
idempotency (a replay or twenty concurrent POSTs place one order and charge once),
unknown gateway outcomes, undo, and the billing run applying what the wizard scheduled."""
import datetime as dt
import re
import threading
from decimal import Decimal

import pytest

from portal.billing import orders
from portal.billing.changes import Terms, apply_due_changes
from portal.gateways import Result, Status
from portal.hookspecs import hookimpl
from portal.models import (AuditEvent, ChangeOrder, Invoice, PendingChange, Plan, Receipt,
                           Subscription, utcnow)
from portal.plugins import plugin_manager
from portal.plugins.gateway_fake import FakeGateway
from support.changes import DEMO_TODAY, Wizard, add_card, subscription_of, with_card

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)  # the wizard prices as of the demo day


class CountingGateway(FakeGateway):
    """The fake gateway, counting every charge call it receives (thread-safe)."""

    def __init__(self, outcome=None):
        super().__init__()
        self.calls = []
        self.outcome = outcome  # None: behave as the fake; else what charge() answers

    def charge(self, token, amount, idempotency_key):
        with self._lock:
            self.calls.append((token, amount, idempotency_key))
        real = super().charge(token, amount, idempotency_key)
        if self.outcome == "timeout_after_charging":
            raise TimeoutError("read timed out")
        if self.outcome == "unknown_before_charging":
            with self._lock:
                self._charges.pop(idempotency_key)
            return Result(Status.UNKNOWN, "connection reset")
        return real


@pytest.fixture
def counting(app):
    """A CountingGateway registered as the active "fake" gateway for this test."""
    gateway = CountingGateway()

    class Plugin:
        @hookimpl
        def portal_register_gateways(self, register, config):
            register(gateway)

    pm = plugin_manager(app)
    pm.register(Plugin(), name="counting")
    yield gateway
    pm.unregister(name="counting")


def place(sub, wanted, gateway, *, key="k1", today=DEMO_TODAY, cancel=False):
    """Place an order the way the review does: figures computed, then posted back."""
    preview, digest = orders.review_state(sub, wanted, today=today, cancel=cancel)
    return orders.place_order(sub.id, wanted, review_key=key,
                              expected={"fingerprint": digest, **preview.figures()},
                              today=today, gateway=gateway, cancel=cancel)


def fresh(sub):
    return Subscription.get_by_id(sub.id)


# --- what an order does --------------------------------------------------------------------

def test_chg4_chg5_downgrade_reduces_now_and_switches_plan_on_the_first(app_ctx):
    sub = subscription_of("Northwind Retail", "team")
    Subscription.update(plan=Plan.get(Plan.code == "business").id).where(
        Subscription.id == sub.id).execute()
    sub = fresh(sub)
    order, created = place(sub, Terms(Plan.get(Plan.code == "team"), "monthly", 2, 0),
                           CountingGateway())
    assert created and order.status == "placed" and order.applied_now
    sub = fresh(sub)
    assert (sub.plan.code, sub.quantity, sub.addon_quantity) == ("business", 2, 0)
    change = PendingChange.get()
    assert change.plan.code == "team" and change.effective_on == dt.date(2026, 12, 1)
    assert change.quantity is None and order.pending_change_id == change.id
    # the billing run applies it on its date, not before
    apply_due_changes(sub, dt.date(2026, 11, 30))
    assert fresh(sub).plan.code == "business"
    apply_due_changes(fresh(sub), dt.date(2026, 12, 1))
    assert fresh(sub).plan.code == "team" and PendingChange.get().applied_at is not None
    assert AuditEvent.select().where(AuditEvent.action == "subscription.downgrade").exists()


def test_chg6_late_annual_downgrade_waits_for_the_following_renewal(app_ctx):
    sub = subscription_of("Atelier Space", "business")  # renews 2027-11-01
    late = dt.date(2027, 10, 5)  # after the 2027-10-01 deadline
    order, _ = place(sub, Terms(Plan.get(Plan.code == "team"), "annual", 4, 2),
                     CountingGateway(), today=late)
    assert order.effective_on == dt.date(2028, 11, 1) and not order.applied_now
    sub = fresh(sub)
    assert (sub.plan.code, sub.quantity, sub.addon_quantity) == ("business", 5, 2)
    change = PendingChange.get()
    assert (change.plan.code, change.quantity, change.addon_quantity) == ("team", 4, 2)
    apply_due_changes(sub, dt.date(2027, 11, 1))  # the renewal itself: unchanged
    assert fresh(sub).plan.code == "business"
    apply_due_changes(fresh(sub), dt.date(2028, 11, 1))
    sub = fresh(sub)
    assert (sub.plan.code, sub.quantity, sub.addon_quantity) == ("team", 4, 2)


def atelier_with_card():
    """Atelier Space's Business subscription (annual, 5 users), a card on file."""
    add_card("Atelier Space")
    return subscription_of("Atelier Space", "business")


def test_chg8_upgrade_applies_at_once_and_charges_the_stored_key(app_ctx, counting):
    sub = atelier_with_card()
    order, created = place(sub, Terms(sub.plan, "annual", 6, 2), counting)
    # one more Business user for 343 of 365 days: 486 x 343 / 365 = 456.706...
    assert order.due_now == Decimal("456.71") and order.status == "placed"
    assert counting.calls == [(order.payment_method.token, Decimal("456.71"),
                               order.charge_key)]
    assert fresh(sub).quantity == 6 and PendingChange.select().count() == 0
    # DOC-1: the charge has its paid invoice and receipt, with the same amount
    invoice = Invoice.get(Invoice.account == sub.account_id)
    assert invoice.status == "paid" and invoice.total == order.due_now
    assert invoice.period_start is None and invoice.subscription_id == sub.id
    assert [line.amount for line in invoice.lines] == [order.due_now]
    receipt = Receipt.get(Receipt.invoice == invoice.id)
    assert receipt.amount == order.due_now and receipt.reference == order.transaction_id


def test_usage_plan_upgrade_takes_the_live_count(app_ctx, counting):
    add_card("Corner Bakeries")
    sub = subscription_of("Corner Bakeries", "devices")  # 3 devices at $15, 2 locations
    order, _ = place(sub, Terms(Plan.get(Plan.code == "locations"), "monthly", 0, 0), counting)
    assert order.quantity == 2 and order.recurring_after == Decimal("98.00")
    assert order.due_now == Decimal("14.13")  # (98 - 45) x 8 / 30 = 14.1333
    sub = fresh(sub)
    assert sub.plan.code == "locations" and sub.quantity == 2


# --- idempotency and refusals -----------------------------------------------------------------

def shown_in_review(sub, wanted) -> dict:
    """What a review of ``wanted`` showed and an order must still match: its fingerprint
    and figures."""
    preview, digest = orders.review_state(sub, wanted, today=DEMO_TODAY)
    return {"fingerprint": digest, **preview.figures()}


def test_the_same_review_key_places_one_order_and_one_charge(app_ctx, counting):
    sub = atelier_with_card()
    wanted = Terms(sub.plan, "annual", 7, 2)
    expected = shown_in_review(sub, wanted)
    first = orders.place_order(sub.id, wanted, review_key="same", expected=expected,
                               today=DEMO_TODAY, gateway=counting)
    second = orders.place_order(sub.id, wanted, review_key="same", expected=expected,
                                today=DEMO_TODAY, gateway=counting)
    assert first[1] is True and second[1] is False and first[0].id == second[0].id
    assert ChangeOrder.select().count() == 1 and len(counting.calls) == 1
    assert fresh(sub).quantity == 7


def test_a_second_review_of_the_old_figures_is_stale(app_ctx, counting):
    sub = atelier_with_card()
    wanted = Terms(sub.plan, "annual", 7, 2)
    expected = shown_in_review(sub, wanted)
    orders.place_order(sub.id, wanted, review_key="tab-1", expected=expected,
                       today=DEMO_TODAY, gateway=counting)
    with pytest.raises(orders.ChangeRefused) as refused:  # the same review in another tab
        orders.place_order(sub.id, wanted, review_key="tab-2", expected=expected,
                           today=DEMO_TODAY, gateway=counting)
    assert refused.value.code == "stale" and refused.value.preview.errors.get("form")
    assert ChangeOrder.select().count() == 1 and len(counting.calls) == 1


def test_a_review_from_yesterday_is_stale_today(app_ctx, counting):
    sub = atelier_with_card()
    wanted = Terms(sub.plan, "annual", 6, 2)
    preview, digest = orders.review_state(sub, wanted, today=DEMO_TODAY)
    with pytest.raises(orders.ChangeRefused) as refused:
        orders.place_order(sub.id, wanted, review_key="k", today=DEMO_TODAY
                           + dt.timedelta(days=1), gateway=counting,
                           expected={"fingerprint": digest, **preview.figures()})
    assert refused.value.code == "stale"
    assert refused.value.preview.due_now < preview.due_now  # one day less to pay for
    assert counting.calls == [] and ChangeOrder.select().count() == 0


def test_another_order_waits_while_a_charge_is_unconfirmed(app_ctx):
    sub = atelier_with_card()
    gateway = CountingGateway(outcome="unknown_before_charging")
    gateway.find_by_idempotency_key = lambda key: Result(Status.ERROR, "lookup failed")
    order, _ = place(sub, Terms(sub.plan, "annual", 6, 2), gateway)
    assert order.status == "charging" and fresh(sub).quantity == 5
    with pytest.raises(orders.ChangeRefused) as refused:
        place(fresh(sub), Terms(sub.plan, "annual", 8, 2), CountingGateway(), key="k2")
    assert refused.value.code == "busy"


def test_unknown_outcome_is_looked_up_before_anything_is_decided(app_ctx):
    sub = atelier_with_card()
    charged = CountingGateway(outcome="timeout_after_charging")
    order, _ = place(sub, Terms(sub.plan, "annual", 6, 2), charged)
    assert order.status == "placed" and order.transaction_id and fresh(sub).quantity == 6
    never = CountingGateway(outcome="unknown_before_charging")
    order2, _ = place(fresh(sub), Terms(sub.plan, "annual", 7, 2), never, key="k2")
    assert order2.status == "failed" and fresh(sub).quantity == 6
    assert Invoice.select().count() == 1  # only the charge that went through is invoiced


def test_settle_finishes_an_order_left_charging_by_a_crash(app_ctx):
    sub = atelier_with_card()
    gateway = CountingGateway(outcome="timeout_after_charging")
    gateway.find_by_idempotency_key = lambda key: Result(Status.ERROR, "lookup failed")
    order, _ = place(sub, Terms(sub.plan, "annual", 6, 2), gateway)
    assert order.status == "charging"
    del gateway.find_by_idempotency_key  # the gateway answers again
    assert orders.settle(order, gateway).status == "charging"  # too early to look
    ChangeOrder.update(created_at=utcnow() - orders.CHARGING_TIMEOUT - dt.timedelta(seconds=1)
                       ).where(ChangeOrder.id == order.id).execute()
    settled = orders.settle(ChangeOrder.get_by_id(order.id), gateway)
    assert settled.status == "placed" and fresh(sub).quantity == 6
    assert len(gateway.calls) == 1


def test_withdraw_only_before_the_effective_date(app_ctx):
    sub = subscription_of("Northwind Retail", "team")
    order, _ = place(sub, Terms(sub.plan, "monthly", 2, 1), CountingGateway(), cancel=True)
    change = PendingChange.get()
    assert change.cancel and change.effective_on == dt.date(2026, 12, 1)
    assert orders.withdraw(sub, change.id, today=dt.date(2026, 12, 1)) is None
    assert orders.withdraw(sub, change.id, today=dt.date(2026, 11, 30)).withdrawn_at
    apply_due_changes(fresh(sub), dt.date(2026, 12, 1))
    assert fresh(sub).status == "active"


# --- twenty concurrent Place order POSTs ------------------------------------------------------

def test_twenty_concurrent_place_order_posts_make_one_order_and_one_charge(app, client, auth,
                                                                          counting):
    sid = with_card(app, auth, "Atelier Space", "business")
    form = Wizard(client).reviewed(sid, plan="business", interval="annual", quantity=8,
                                   addon_quantity=3)
    cookie = client.get_cookie("session")
    clients = []
    for _ in range(20):
        other = app.test_client()
        other.set_cookie("session", cookie.value, domain=cookie.domain or "localhost")
        clients.append(other)
    barrier = threading.Barrier(len(clients))
    answers = [None] * len(clients)

    def post(i):
        barrier.wait()
        answers[i] = clients[i].post(f"/admin/subscription/{sid}/order", data=form)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = [a.status_code for a in answers]
    assert statuses == [303] * 20, statuses
    locations = {a.headers["Location"] for a in answers}
    assert len(locations) == 1 and re.search(r"/orders/\d+$", locations.pop())
    with app.app_context():
        order = ChangeOrder.get()
        assert ChangeOrder.select().count() == 1 and order.status == "placed"
        assert len(counting.calls) == 1 and counting.calls[0][1] == order.due_now
        sub = subscription_of("Atelier Space", "business")
        assert (sub.quantity, sub.addon_quantity) == (8, 3)
