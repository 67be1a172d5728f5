"""Changing a subscription on its account's behalf (rule CHG-7, issue #16 item 3): the
operator goes through the wizard's own review and orders engine, so the change is billed
exactly as the customer's would be; a note is required and logged; a double submit places
one order."""
from decimal import Decimal

import pytest

from portal.billing import orders
from portal.catalogue import Prices, negotiate
from portal.models import Account, AuditEvent, ChangeOrder, Subscription, User
from support.changes import (DEMO_TODAY, Wizard, add_card, charges_for, hidden,
                             subscription_of, with_card)

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)
OPERATOR = "operator@example.com"
FIGURES = ("recurring_after", "due_now", "price_from")


def review_page(client, sid, **values) -> str:
    response = client.get(f"/operator/subscriptions/{sid}/change",
                          query_string={k: str(v) for k, v in values.items()})
    return response.get_data(as_text=True)


def review_form(page: str, note="Asked by Ada on the phone, ticket 4711") -> dict:
    form = {name: hidden(page, name) for name in ("csrf_token", "review", *FIGURES)}
    assert form["review"], page[:3000]
    return {**form, "note": note}


def test_chg7_the_operator_change_is_billed_as_the_customers_wizard_would(app, client, auth):
    sid = with_card(app, auth, "Northwind Retail", "team")
    wanted = dict(plan="team", interval="monthly", quantity=3, addon_quantity=1)
    customer = Wizard(client).reviewed(sid, **wanted)  # the customer's own review
    auth.logout()
    auth.login(as_=OPERATOR)
    page = review_page(client, sid, **wanted)
    form = review_form(page)
    assert {k: form[k] for k in FIGURES} == {k: customer[k] for k in FIGURES}
    assert Decimal(form["due_now"]) > 0  # an upgrade: prorated today (CHG-8)
    response = client.post(f"/operator/subscriptions/{sid}/order", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    again = client.post(f"/operator/subscriptions/{sid}/order", data=form)  # double submit
    assert again.status_code == 303
    with app.app_context():
        operator_id = User.get(User.email == OPERATOR).id
        placed = list(ChangeOrder.select().where(ChangeOrder.subscription == sid)
                      .where(ChangeOrder.status == "placed")
                      .where(ChangeOrder.created_by == operator_id))
        assert len(placed) == 1
        order = placed[0]
        assert order.due_now == Decimal(customer["due_now"])
        assert str(order.recurring_after) == customer["recurring_after"]
        assert len(charges_for(order.charge_key)) == 1  # charged once, with its key
        assert Subscription.get_by_id(sid).quantity == 3
        upgrade = AuditEvent.get(AuditEvent.action == "subscription.upgrade")
        note = AuditEvent.get(AuditEvent.action == "subscription.on_behalf")
        assert upgrade.actor_id == note.actor_id == operator_id
        assert "ticket 4711" in note.detail and f"order {order.id}" in note.detail
        assert AuditEvent.select().where(AuditEvent.action == "subscription.on_behalf"
                                         ).count() == 1


def test_chg7_a_negotiated_account_is_changed_by_support_at_its_negotiated_price(
        app, client, auth):
    with app.app_context():
        sub = subscription_of("Atelier Space", "business")
        add_card("Atelier Space")
        version = negotiate(sub, Prices("USD", Decimal("30.00"), Decimal("300.00"),
                                        Decimal("5.00"), Decimal("50.00")), note="contract")
        sid, quantity = sub.id, sub.quantity
    auth.login(as_="admin@atelier.example")  # CHG-7: the wizard refuses its admins
    blocked = client.get(f"/admin/subscription/{sid}/change").get_data(as_text=True)
    assert 'name="quantity"' not in blocked
    auth.logout()
    auth.login(as_=OPERATOR)
    wanted = dict(plan="business", interval="annual", quantity=quantity + 1, addon_quantity=2)
    page = review_page(client, sid, **wanted)
    assert "negotiated contract" in page
    form = review_form(page)
    with app.app_context():  # the engine's own figures for the same change
        sub = Subscription.get_by_id(sid)
        preview, _digest = orders.review_state(
            sub, orders.Terms(sub.plan, "annual", quantity + 1, 2), today=DEMO_TODAY)
        assert preview.figures() == {k: form[k] for k in FIGURES}
        assert {line.unit_price for line in preview.lines_after} == {Decimal("300.00"),
                                                                      Decimal("50.00")}
    response = client.post(f"/operator/subscriptions/{sid}/order", data=form)
    assert response.status_code == 303
    with app.app_context():
        order = ChangeOrder.get(ChangeOrder.subscription == sid)
        assert order.status == "placed" and order.due_now == preview.due_now
        stored = Subscription.get_by_id(sid)
        assert stored.quantity == quantity + 1
        assert stored.price_version_id == version.id  # still the negotiated version


def test_chg7_the_note_is_required_and_a_refusal_places_nothing(app, client, auth):
    sid = with_card(app, auth, "Northwind Retail", "team")
    auth.logout()
    auth.login(as_=OPERATOR)
    form = review_form(review_page(client, sid, plan="team", interval="monthly", quantity=3,
                                   addon_quantity=1), note="  ")
    response = client.post(f"/operator/subscriptions/{sid}/order", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="note-error"' in page
    assert hidden(page, "review") == form["review"]  # the same review: still one order
    tampered = client.post(f"/operator/subscriptions/{sid}/order",
                           data={**form, "note": "ok", "due_now": "0.00"})
    assert tampered.status_code == 400
    with app.app_context():
        assert not ChangeOrder.select().where(ChangeOrder.subscription == sid).exists()
    placed = client.post(f"/operator/subscriptions/{sid}/order", data={**form, "note": "ok"})
    assert placed.status_code == 303


def test_chg7_without_a_card_an_upgrade_is_refused_and_nothing_changes(app, client, auth):
    auth.login(as_=OPERATOR)
    with app.app_context():
        sub = subscription_of("Northwind Retail", "team")
        Account.update(negotiated_contract=True).where(Account.id == sub.account_id).execute()
    form = review_form(review_page(client, sub.id, plan="team", interval="monthly",
                                   quantity=sub.quantity + 1, addon_quantity=1))
    response = client.post(f"/operator/subscriptions/{sub.id}/order", data=form)
    assert response.status_code == 409
    assert "no default card" in response.get_data(as_text=True)
    with app.app_context():
        assert Subscription.get_by_id(sub.id).quantity == sub.quantity
        assert not AuditEvent.select().where(AuditEvent.action == "subscription.on_behalf"
                                             ).exists()


def test_chg7_a_seat_floor_error_is_shown_beside_the_field(app, client, auth):
    auth.login(as_=OPERATOR)
    with app.app_context():
        sub = subscription_of("Atelier Space", "business")  # 4 active users (CHG-3)
    response = client.get(f"/operator/subscriptions/{sub.id}/change",
                          query_string={"plan": "business", "interval": "annual",
                                        "quantity": "2", "addon_quantity": "2"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="quantity-error"' in page and 'name="review"' not in page
