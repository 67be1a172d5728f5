"""Domain events through one hook (issue #14 item 3): a plugin that listens on
``portal_events`` receives each event from the real flows (the API, the wizard, the
payment methods, the billing run); the built-in notifier is such a listener, and turning
it off stops the mails, not the events."""
import datetime as dt

import pytest

from portal import events, payments
from portal.gateways import registered_gateways
from portal.hookspecs import hookimpl
from portal.models import (Account, ChangeOrder, Delivery, Device, Invoice, PaymentMethod,
                           Membership, Quote, Subscription, SurveyAnswer, User)
from portal.plugins import plugin_manager
from support.api import call
from support.billing import DEC1, account, add_card, cards_for_demo, make_due, run
from support.changes import Wizard, subscription_of

NORTHWIND = "admin@northwind.example"


class Recorder:
    """An outside listener, written as a reseller's would be: it keeps every batch."""

    def __init__(self):
        self.batches = []

    @hookimpl
    def portal_events(self, events):
        self.batches.append(events)

    def of(self, kind):
        return [e for batch in self.batches for e in batch if e.kind == kind]


def listen(app):
    recorder = Recorder()
    plugin_manager(app).register(recorder, name="recorder")
    return recorder


@pytest.fixture
def recorder(app):
    found = listen(app)
    yield found
    plugin_manager(app).unregister(name="recorder")


def test_every_event_type_is_documented_in_the_hookspec():
    from portal.hookspecs import portal_events

    for event_type in events.EVENT_TYPES:
        assert f"``{event_type.__name__}(account_id" in portal_events.__doc__, event_type
    assert len({t.kind for t in events.EVENT_TYPES}) == len(events.EVENT_TYPES)


def test_dev2_a_device_added_through_the_api_is_an_event_and_a_mail_with_its_key(
        app, client, tokens, recorder):
    r = call(client, "PUT", "/api/v1/devices/NW-york-09", tokens["nw"],
             json={"location": "york"})
    assert r.status_code == 201
    again = call(client, "PUT", "/api/v1/devices/NW-york-09", tokens["nw"],
                 json={"location": "york"})
    assert again.status_code == 200  # unchanged: no second event
    with app.app_context():
        device = Device.get(Device.serial == "NW-york-09")
        northwind = Account.get(Account.name == "Northwind Retail")
        assert recorder.of("device_added") == [
            events.DeviceAdded(northwind.id, device.id, "new")]
        [event] = recorder.of("device_added")
        assert {d.key for d in Delivery.select().where(Delivery.kind == "device_added")} == {
            event.key}


def test_dev3_an_rma_replacement_is_no_event(app, client, tokens, recorder):
    r = call(client, "PUT", "/api/v1/devices/NW-york-09", tokens["nw"],
             json={"location": "york", "replaces": "NW-york-01"})
    assert r.status_code in (200, 201), r.get_json()
    assert recorder.of("device_added") == []


def test_the_wizard_emits_survey_answered_quote_ready_and_order_placed(
        app, client, auth, recorder):
    wizard = Wizard(client)
    auth.login(as_=NORTHWIND)
    with app.app_context():
        sid = subscription_of("Northwind Retail", "team").id
    review = wizard.to_review(sid, plan="team", interval="monthly", quantity=2,
                              addon_quantity=0, reason="price", details="Too dear")
    form = wizard.review_form(review)
    assert wizard.quote(sid, form).status_code == 303
    assert wizard.place(sid, form).status_code == 303
    with app.app_context():
        northwind = Account.get(Account.name == "Northwind Retail")
        answer, quote, order = SurveyAnswer.get(), Quote.get(), ChangeOrder.get()
        admin = User.get(User.email == NORTHWIND)
    assert recorder.of("survey_answered") == [
        events.SurveyAnswered(northwind.id, answer.id, admin.id)]
    assert recorder.of("quote_ready") == [events.QuoteReady(northwind.id, quote.id)]
    assert recorder.of("order_placed") == [events.OrderPlaced(northwind.id, order.id)]
    assert [e.kind for batch in recorder.batches for e in batch] == [
        "survey_answered", "quote_ready", "order_placed"]


def test_payment_methods_emit_added_and_removed(app_ctx, recorder):
    corner = account("Corner Bakeries")
    admin = User.select().join(Membership).where(
        (Membership.account == corner.id) & (Membership.role == "admin")).get()
    gateways = registered_gateways(plugin_manager(app_ctx), app_ctx.config)
    method = payments.add_card(corner, admin, "fake-valid-visa-nonce", gateways["fake"])
    payments.remove_method(corner, admin, method, gateways, DEC1, check_last=False)
    assert recorder.of("payment_method_added") == [
        events.PaymentMethodAdded(corner.id, method.id, admin.id)]
    [removed] = recorder.of("payment_method_removed")
    assert (removed.account_id, removed.method_id, removed.gateway, removed.last4,
            removed.actor_id) == (corner.id, method.id, "fake", method.last4, admin.id)
    assert not PaymentMethod.select().where(PaymentMethod.id == method.id).exists()
    kinds = {d.kind for d in Delivery.select()}  # the notifier mailed both
    assert {"payment_method_added", "payment_method_removed"} <= kinds


def test_the_billing_run_emits_receipts_failures_and_issued_invoices_in_batches(
        app_ctx, recorder):
    north, corner = account("Northwind Retail"), account("Corner Bakeries")
    add_card(north)  # Northwind pays by card; Corner Bakeries has no card
    transfer = {Subscription.get_by_id(s).account_id  # PAY-3: by bank transfer
                for s in make_due(2, DEC1, gateway="manual", prefix="Transfer")}
    report = run(app_ctx, DEC1)
    invoices = {i.id: i for i in Invoice.select()}
    issued = recorder.of("invoice_issued")
    failed = recorder.of("payment_failed")
    paid = recorder.of("receipt_ready")
    assert {e.invoice_id for e in issued} == {i.id for i in invoices.values()
                                              if i.account_id in transfer} != set()
    assert {e.invoice_id for e in failed} == {i.id for i in invoices.values()
                                              if i.account_id == corner.id} != set()
    assert {e.invoice_id for e in paid} == {i.id for i in invoices.values()
                                            if i.account_id == north.id} != set()
    assert len(paid) == report.paid and len(failed) == report.dunning
    for event in issued + failed + paid:
        assert event.account_id == invoices[event.invoice_id].account_id
    for event in failed:
        assert (event.code, event.attempt) == ("no_card", 1)
        assert event.retry_on is not None and event.retry_on > DEC1
    # a batch of invoices is handed over at once, not one call per invoice
    assert max(len(batch) for batch in recorder.batches) > 1
    # the notifier mailed each, under the keys the portal always used
    keys = {d.key for d in Delivery.select()}
    for event in paid:
        assert f"receipt_ready:{invoices[event.invoice_id].receipts[0].number}" in keys
    before = len(recorder.batches)
    run(app_ctx, DEC1)  # nothing due any more: nothing new to tell
    assert recorder.batches[before:] == []


def test_without_the_notifier_the_events_still_flow_and_no_mail_is_written(make_app):
    app = make_app(DISABLE_PLUGINS=("notifier",))
    recorder = listen(app)
    with app.app_context():
        from portal.db import db

        with db.connection_context():
            cards_for_demo()
            run(app, DEC1)
            assert recorder.of("receipt_ready")
            assert Delivery.select().count() == 0
    assert "notifier" not in {name for name, _ in plugin_manager(app).list_name_plugin()}


def test_an_event_has_the_same_key_when_it_happens_again():
    one = events.PaymentFailed(7, 42, 1, dt.date(2026, 12, 4), "declined")
    assert one.key == events.PaymentFailed(7, 42, 1).key == "payment_failed:42:1"
    assert events.PaymentFailed(7, 42, 2).key != one.key
    with pytest.raises(AttributeError):
        one.invoice_id = 1  # frozen: a listener cannot change what another one sees
