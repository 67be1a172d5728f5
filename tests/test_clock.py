"""One clock (issue #13 item 6): an app pinned with ``TODAY`` acts on that day everywhere,
the former ``date.today()`` call sites included: cards' expiry state, make default and
remove (PAY-5), the revoked-card webhook, pay now, credit notes, manual payments, the CLI
billing run, the daily huey run, the demo loader and every stored timestamp."""
import datetime as dt

import pytest

from portal import clock, demo
from portal.gateways import WebhookEvent
from portal.models import (Account, AuditEvent, CreditNote, Invoice, PaymentMethod, Plan, Receipt,
                           Subscription)
from support.billing import DEC1, account, invoices_of, run

PINNED = dt.date(2031, 1, 15)  # far from the real date: a card expiring 12/2030 is expired
HTMX = {"HX-Request": "true"}


@pytest.fixture
def app(make_app):
    """The app pinned to PINNED."""
    assert clock.today() != PINNED  # else nothing below could tell the two clocks apart
    return make_app(TODAY=PINNED)


def card(acct, token, exp_year, exp_month=12, default=False, gateway="fake"):
    return PaymentMethod.create(account=acct.id, gateway=gateway, token=token, brand="Visa",
                                last4=token[-4:], exp_month=exp_month, exp_year=exp_year,
                                is_default=default)


def test_clock_pins_today_and_now_moves_with_it():
    real = clock.today()
    with clock.pinned(PINNED):
        assert clock.today() == PINNED and clock.now().date() == PINNED
        first = clock.now()
        assert clock.now() >= first  # time still flows on the pinned day
        with clock.pinned(None):  # None leaves the clock alone
            assert clock.today() == PINNED
    assert clock.today() == real


def test_timestamps_follow_the_pinned_day(app):
    with app.app_context():
        from portal.models import utcnow

        assert utcnow().date() == PINNED
        event = AuditEvent.create(action="test.clock", detail="")
        assert AuditEvent.get_by_id(event.id).created_at.date() == PINNED
    assert clock.today() != PINNED  # outside the app, the real clock again


def test_cards_expiry_state_uses_the_pinned_day(app, client, auth):
    with app.app_context():
        north = account("Northwind Retail")
        card(north, "tok_0001", 2030, default=True)  # valid today, expired on PINNED
        card(north, "tok_0002", 2031, exp_month=1)  # expires at the end of PINNED's month
    auth.login(as_="admin@northwind.example")
    page = client.get("/admin/cards/").get_data(as_text=True)
    assert 'data-last4="0001" data-default="true" data-state="expired"' in page
    assert 'data-last4="0002" data-default="false" data-state="expiring"' in page


def test_make_default_and_remove_use_the_pinned_day(app, client, auth):
    with app.app_context():
        north = account("Northwind Retail")
        good = card(north, "tok_0003", 2032, default=True)
        old = card(north, "tok_0004", 2030)
    auth.login(as_="admin@northwind.example")
    token = auth.csrf_token("/admin/cards/")
    html = client.post(f"/admin/cards/{old.id}/default", data={"csrf_token": token},
                       headers=HTMX).get_data(as_text=True)
    assert "An expired card cannot be the default" in html
    # PAY-5: on PINNED the expired card is not usable, so the good one is the last usable
    # one of an active subscription and stays; the expired one may go.
    html = client.post(f"/admin/cards/{good.id}/remove", data={"csrf_token": token},
                       headers=HTMX).get_data(as_text=True)
    assert "This is your last usable payment method" in html
    client.post(f"/admin/cards/{old.id}/remove", data={"csrf_token": token}, headers=HTMX)
    with app.app_context():
        assert [m.token for m in PaymentMethod.select().where(
            PaymentMethod.account == north.id)] == ["tok_0003"]


def test_revoked_card_webhook_promotes_a_card_usable_on_the_pinned_day(app):
    from portal.views import webhooks

    with app.app_context():
        north = account("Northwind Retail")
        revoked = card(north, "tok_0005", 2032, default=True)
        later = card(north, "tok_0006", 2033)
        card(north, "tok_0007", 2030)  # the newest, but expired on PINNED
        event = WebhookEvent(kind="payment_method_revoked_by_customer",
                             subject_id=revoked.token, timestamp="", id="clock-1")
        assert webhooks.handle("fake", event) == "method removed"
        assert PaymentMethod.get(PaymentMethod.is_default == True).id == later.id  # noqa: E712


def unpaid_invoice(app, name="Corner Bakeries"):
    """The account's December invoice, unpaid (billed with no card)."""
    with app.app_context():
        run(app, DEC1)
        [invoice] = invoices_of(account(name))
        assert invoice.status == "dunning"
        return invoice


def test_pay_now_receipt_is_dated_on_the_pinned_day(app, client, auth):
    invoice = unpaid_invoice(app)
    with app.app_context():
        card(account("Corner Bakeries"), "tok_0008", 2032, default=True)
    auth.login(as_="admin@corner.example")
    client.post("/admin/invoices/pay", data={"csrf_token": auth.csrf_token("/admin/invoices")})
    with app.app_context():
        assert Receipt.get(Receipt.invoice == invoice.id).paid_on == PINNED
        assert Invoice.get_by_id(invoice.id).paid_at.date() == PINNED


def test_operator_credit_note_and_manual_payment_are_dated_on_the_pinned_day(app, client,
                                                                              auth):
    invoice = unpaid_invoice(app)
    auth.login(as_="operator@example.com")
    path = f"/operator/invoices/{invoice.id}"
    client.post(f"{path}/credit-notes", data={"amount": "1.00", "reason": "Clock test",
                                              "csrf_token": auth.csrf_token(path)})
    client.post(f"{path}/mark-paid", data={"reference": "BANK-1",
                                           "csrf_token": auth.csrf_token(path)})
    with app.app_context():
        assert CreditNote.get(CreditNote.invoice == invoice.id).issued_on == PINNED
        assert Receipt.get(Receipt.invoice == invoice.id).paid_on == PINNED


def test_cli_billing_run_defaults_to_the_pinned_day(app):
    result = app.test_cli_runner().invoke(args=["billing", "run"])
    assert result.exit_code == 0, result.output
    assert f"Billing run for {PINNED.isoformat()}" in result.output
    with app.app_context():
        assert {i.issued_on for i in Invoice.select()} == {PINNED}


def test_daily_huey_billing_run_uses_the_pinned_day(app):
    from portal import jobs

    with app.app_context():
        summary = jobs.daily_billing_run.call_local()
    assert summary.startswith(f"Billing run for {PINNED.isoformat()}")


def test_demo_loader_defaults_to_the_pinned_day(app):
    with app.app_context():
        corner = account("Corner Bakeries")
        Subscription.delete().where(Subscription.account == corner.id).execute()
        demo.load()
        sub = Subscription.get(Subscription.account == corner.id)
        assert sub.started_on == PINNED.replace(day=1)
        assert sub.plan_id == Plan.get(Plan.code == "devices").id
        assert Account.get_by_id(corner.id).created_at.date() != PINNED  # loaded earlier
