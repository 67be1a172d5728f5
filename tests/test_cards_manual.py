"""Payment by invoice (rules PAY-3, PAY-4, PAY-5) and the operator screens: approvals,
grandfathering and the audit log.

Demo amounts for one billing period: Atelier Space 2,754.00 (over the 1,000.00 minimum),
Northwind Retail 403.00 and Corner Bakeries 45.00 (under it).
"""
import re
from decimal import Decimal

import pytest

from portal.billing import payment_terms
from portal.gateways import Status
from portal.models import (Account, AuditEvent, ManualMethodRequest, OutboxMessage,
                           PaymentMethod, Subscription)
from portal.plugins.gateway_manual import ManualGateway

OPERATOR = "operator@example.com"
ATELIER, NORTHWIND, CORNER = ("admin@atelier.example", "admin@northwind.example",
                              "admin@corner.example")


@pytest.fixture
def as_user(client, auth):
    """``as_user(email)`` logs in; ``.post(path, **data)`` adds the CSRF token."""

    class Session:
        def __call__(self, email):
            auth.logout()
            auth.login(as_=email)
            return self

        def post(self, path, **data):
            data["csrf_token"] = auth.csrf_token("/")
            return client.post(path, data=data)

        def get(self, path):
            return client.get(path).get_data(as_text=True)

    return Session()


def account(app, name):
    with app.app_context():
        return Account.get(Account.name == name)


def methods(app, name):
    with app.app_context():
        return [(m.gateway, m.is_default) for m in PaymentMethod.select().join(Account)
                .where(Account.name == name).order_by(PaymentMethod.id)]


def requests_of(app, name):
    with app.app_context():
        return list(ManualMethodRequest.select().join(Account).where(Account.name == name)
                    .order_by(ManualMethodRequest.id))


def test_pay3_period_amounts_of_the_demo(app_ctx):
    amounts = {a.name: payment_terms.billing_period_amount(a.id) for a in Account.select()}
    assert amounts == {"Atelier Space": Decimal("2754.00"), "Northwind Retail": Decimal("403.00"),
                       "Corner Bakeries": Decimal("45.00")}
    usd = payment_terms.manual_minimum("USD", None)  # PAY-3: the USD minimum by default
    assert payment_terms.manual_method_allowed(Decimal("1000.00"), False, usd)
    assert not payment_terms.manual_method_allowed(Decimal("999.99"), False, usd)
    assert payment_terms.manual_method_allowed(Decimal("0.00"), True, usd)


def test_pay3_under_the_minimum_the_page_says_why(app, as_user):
    page = as_user(NORTHWIND).get("/admin/cards/")
    assert ("Payment by invoice is possible when one billing period amounts to at least "
            "$1,000.00; this account's amounts to $403.00.") in page
    assert "Request payment by invoice" not in page
    as_user.post("/admin/cards/manual", note="please")
    assert requests_of(app, "Northwind Retail") == []
    assert "possible from $1,000.00 per billing period" in as_user.get("/admin/cards/")


def test_pay3_request_then_operator_approval(app, as_user):
    page = as_user(ATELIER).get("/admin/cards/")
    assert "amounts to $2,754.00, so you may pay by invoice" in page
    response = as_user.post("/admin/cards/manual", note="PO 4711")
    assert response.status_code == 303
    page = as_user.get("/admin/cards/")
    assert "waiting for an operator" in page and "request to pay by invoice is sent" in page
    [request] = requests_of(app, "Atelier Space")
    assert (request.status, request.note, request.period_amount) == (
        "pending", "PO 4711", Decimal("2754.00"))

    queue = as_user(OPERATOR).get("/operator/payment-methods")
    assert f'data-request-id="{request.id}"' in queue and "$2,754.00" in queue
    assert "PO 4711" in queue and ATELIER in queue
    as_user.post(f"/operator/payment-methods/{request.id}/approve", note="")
    assert "Payment by invoice approved for Atelier Space" in as_user.get(
        "/operator/payment-methods")
    assert methods(app, "Atelier Space") == [("manual", True)]
    assert requests_of(app, "Atelier Space")[0].status == "approved"

    page = as_user(ATELIER).get("/admin/cards/")
    assert 'data-gateway="manual"' in page and "Approved: you receive an invoice" in page
    with app.app_context():
        mail = OutboxMessage.get(OutboxMessage.kind == "manual_method_decided")
        actions = [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]
    assert mail.recipients == ATELIER and "approved" in mail.body
    assert actions[-2:] == ["manual_method.requested", "manual_method.approved"]


def test_pay3_one_open_request_at_a_time(app, as_user):
    as_user(ATELIER)
    as_user.post("/admin/cards/manual", note="")
    as_user.post("/admin/cards/manual", note="again")
    assert len(requests_of(app, "Atelier Space")) == 1
    assert "already waiting for an operator" in as_user.get("/admin/cards/")


def test_pay3_refusal_needs_a_reason_which_the_admin_reads(app, as_user):
    as_user(ATELIER).post("/admin/cards/manual", note="")
    [request] = requests_of(app, "Atelier Space")
    as_user(OPERATOR).post(f"/operator/payment-methods/{request.id}/refuse", note="")
    assert "Say why the request is refused" in as_user.get("/operator/payment-methods")
    assert requests_of(app, "Atelier Space")[0].status == "pending"
    as_user.post(f"/operator/payment-methods/{request.id}/refuse", note="Pay by card, please")
    assert requests_of(app, "Atelier Space")[0].status == "refused"
    page = as_user(ATELIER).get("/admin/cards/")
    assert "Your last request was not approved: Pay by card, please" in page
    assert "Request payment by invoice" in page  # may ask again
    assert methods(app, "Atelier Space") == []


def test_pay3_approval_checks_the_amount_again(app, as_user):
    as_user(ATELIER).post("/admin/cards/manual", note="")
    [request] = requests_of(app, "Atelier Space")
    with app.app_context():
        Subscription.update(quantity=1, addon_quantity=0).where(
            Subscription.account == request.account_id).execute()  # now 486.00
    as_user(OPERATOR).post(f"/operator/payment-methods/{request.id}/approve")
    assert "Cannot approve: one billing period is now $486.00" in as_user.get(
        "/operator/payment-methods")
    assert methods(app, "Atelier Space") == []


def test_a_decided_request_cannot_be_decided_again(app, as_user):
    as_user(ATELIER).post("/admin/cards/manual", note="")
    [request] = requests_of(app, "Atelier Space")
    as_user(OPERATOR).post(f"/operator/payment-methods/{request.id}/approve")
    as_user.post(f"/operator/payment-methods/{request.id}/refuse", note="oops")
    assert "This request was already decided" in as_user.get("/operator/payment-methods")
    assert requests_of(app, "Atelier Space")[0].status == "approved"


def test_pay4_grandfathered_account_keeps_invoice_payment_whatever_the_amount(app, as_user):
    corner = account(app, "Corner Bakeries")
    response = as_user(OPERATOR).post("/operator/payment-methods/grandfather",
                                      account=corner.id, first_used_on="2018-06-01",
                                      note="contract 2018/12")
    assert response.status_code == 303
    assert "Corner Bakeries is grandfathered" in as_user.get("/operator/payment-methods")
    assert account(app, "Corner Bakeries").grandfathered is True
    assert methods(app, "Corner Bakeries") == [("manual", True)]
    [decision] = requests_of(app, "Corner Bakeries")
    assert decision.status == "approved" and "since 2018-06-01" in decision.decision_note
    assert "Approved: you receive an invoice" in as_user(CORNER).get("/admin/cards/")
    with app.app_context():
        event = AuditEvent.get(AuditEvent.action == "account.grandfathered")
    assert "contract 2018/12" in event.detail


def test_pay4_only_before_april_2019(app, as_user):
    corner = account(app, "Corner Bakeries")
    response = as_user(OPERATOR).post("/operator/payment-methods/grandfather",
                                      account=corner.id, first_used_on="2019-04-01")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="first_used_on-error">Only a method used before 2019-04-01', html)
    assert account(app, "Corner Bakeries").grandfathered is False
    response = as_user.post("/operator/payment-methods/grandfather", account=corner.id,
                            first_used_on="not a date")
    assert response.status_code == 422 and 'id="first_used_on-error"' in response.get_data(
        as_text=True)


def test_pay4_grandfathered_may_ask_again_under_the_minimum(app, as_user):
    corner = account(app, "Corner Bakeries")
    as_user(OPERATOR).post("/operator/payment-methods/grandfather", account=corner.id,
                           first_used_on="2017-01-01")
    as_user(CORNER)
    with app.app_context():
        manual_id = PaymentMethod.get(PaymentMethod.account == corner.id).id
    as_user.post(f"/admin/cards/{manual_id}/remove")
    assert methods(app, "Corner Bakeries") == [("manual", True)]  # PAY-5: the only one
    as_user.post("/admin/cards/", payment_method_nonce="fake-valid-visa-nonce")
    as_user.post(f"/admin/cards/{manual_id}/remove")
    assert methods(app, "Corner Bakeries") == [("fake", True)]
    as_user.post("/admin/cards/manual", note="back to invoices")
    assert requests_of(app, "Corner Bakeries")[-1].status == "pending"


def test_pay5_an_approved_manual_method_counts_as_usable(app, as_user):
    as_user(ATELIER).post("/admin/cards/manual", note="")
    [request] = requests_of(app, "Atelier Space")
    as_user(OPERATOR).post(f"/operator/payment-methods/{request.id}/approve")
    as_user(ATELIER).post("/admin/cards/", payment_method_nonce="fake-valid-visa-nonce")
    with app.app_context():
        card = PaymentMethod.get((PaymentMethod.gateway == "fake")
                                 & (PaymentMethod.account == request.account_id))
    as_user.post(f"/admin/cards/{card.id}/remove")
    assert methods(app, "Atelier Space") == [("manual", True)]


def test_the_manual_gateway_never_charges():
    result = ManualGateway().charge("manual-1", Decimal("10.00"), "k")
    assert result.status is Status.UNSUPPORTED and "marked paid by an operator" in result.message


@pytest.mark.parametrize("path", ["/operator/payment-methods", "/operator/audit"])
def test_operator_screens_are_for_operators(client, auth, path):
    auth.login(as_=ATELIER)
    assert client.get(path).status_code == 403


def test_audit_log_shows_who_did_what_with_a_filter_and_pages(app, as_user):
    as_user(NORTHWIND).post("/admin/cards/", payment_method_nonce="fake-valid-visa-nonce")
    as_user(ATELIER).post("/admin/cards/manual", note="")
    page = as_user(OPERATOR).get("/operator/audit")
    assert 'data-action="card.added"' in page and 'data-action="manual_method.requested"' in page
    assert NORTHWIND in page and "Visa ending 1881, expires 12/2030 (default)" in page
    northwind = account(app, "Northwind Retail")
    only = as_user.get(f"/operator/audit?account={northwind.id}")
    assert 'data-action="card.added"' in only and "manual_method.requested" not in only
    with app.app_context():
        for i in range(60):
            AuditEvent.create(account=northwind.id, action="test.event", detail=f"n{i}")
        events = AuditEvent.select().count()  # the demo's own (catalogue, subscriptions) too
    assert events > 50
    first = as_user.get("/operator/audit")
    assert first.count("<tr data-action=") == 50 and "page=2" in first
    second = as_user.get("/operator/audit?page=2")
    assert second.count("<tr data-action=") == min(events - 50, 50)
    assert ("page=3" in second) == (events > 100)


def test_pay3_request_note_is_validated_next_to_the_field(app, as_user):
    response = as_user(ATELIER).post("/admin/cards/manual", note="x" * 501)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="note-error"' in html
    assert requests_of(app, "Atelier Space") == []
