"""One account's page for operators, all in one place (issue #18.2): every section, the
timeline newest first and paged, nothing of another account, the operators' words, a
bounded number of queries, and the grouped console menu (issue #18.7)."""
import datetime as dt
import html
import re
from decimal import Decimal

import pytest

from portal.models import (Account, AuditEvent, Charge, Delivery, Invoice, PendingChange,
                           Receipt, Subscription, User)
from support.console import make_account, mark_account, place_order
from support.pages import counted_queries

OPERATOR = "operator@example.com"


@pytest.fixture
def operator(client, auth):
    auth.login(as_=OPERATOR)
    return client


def page_of(client, account_id, query=""):
    response = client.get(f"/operator/accounts/{account_id}{query}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_every_section_shows_the_accounts_rows(app, operator):
    with app.app_context():
        acct = make_account("Sections Ltd", plan="team", quantity=3)
        mark_account(acct, "alpha1234")
        order = place_order(acct, "k-sections")
        sub = Subscription.get(Subscription.account == acct)
        PendingChange.create(subscription=sub, effective_on=dt.date(2027, 1, 1), cancel=True)
        invoice = Invoice.get(Invoice.number == "alpha1234-INV")
        Receipt.create(number="alpha1234-RCT", invoice=invoice, amount=Decimal("10.00"),
                       paid_on=dt.date(2026, 11, 2), method="Bank transfer")
        acct_id = acct.id
    text = page_of(operator, acct_id)
    for section in ("subscriptions", "people", "payment-methods", "scheduled", "invoices",
                    "receipts", "credit-notes", "deliveries", "tokens", "timeline"):
        assert f'id="{section}"' in text, section
    assert "alpha1234@people.example" in text
    assert "Visa ending in 1234" in text and "01/2031" in text
    assert "alpha1234-secret-token" not in text  # PAY-2: brand, last 4, expiry, nothing more
    assert "alpha1234-INV" in text and "alpha1234-RCT" in text
    assert "alpha1234 token" in text and "Alpha1234 event" in text
    assert "Ends on Dec 31, 2026: it will not renew." in text  # the scheduled cancellation
    assert 'data-estimate="75.00"' in text  # the next charge (SUB-4): 3 seats x 25.00
    # the order, in the plan changes and in the timeline, names both plans
    assert text.count("Foot traffic: per device → Collaboration Team (per seat)") == 2
    assert f'data-entry="order-{order.id}"' in text


def test_acc5_the_page_never_shows_another_accounts_data(app, operator):
    with app.app_context():
        mine, other = make_account("Mine Co"), make_account("Other Co")
        mark_account(mine, "mine5678")
        mark_account(other, "othr9999")
        place_order(other, "k-other")
        AuditEvent.create(account=other, action="othr9999.action", detail="othr9999 detail")
        ids = mine.id, other.id
    text = page_of(operator, ids[0])
    assert "mine5678" in text
    assert "othr9999" not in text.lower() and "Other Co" not in text


def test_timeline_is_everything_newest_first_and_paged(app, operator):
    start = dt.datetime(2026, 10, 1, 9, 0)
    with app.app_context():
        acct = make_account("Timeline Co", invoice="TL-INV-1")
        other = make_account("Elsewhere", invoice="EL-INV-1")
        invoice = Invoice.get(Invoice.number == "TL-INV-1")
        Invoice.update(created_at=start).where(Invoice.id == invoice.id).execute()
        charge = Charge.create(invoice=invoice, attempt=1, idempotency_key="tl-1",
                               amount=Decimal("10.00"), gateway="fake", status="declined",
                               message="Do not honor", created_at=start + dt.timedelta(hours=1))
        receipt = Receipt.create(number="TL-RCT-1", invoice=invoice, amount=Decimal("10.00"),
                                 paid_on=dt.date(2026, 10, 3), method="Bank transfer",
                                 created_at=start + dt.timedelta(days=2))
        entries = [("invoice", invoice.id, start),
                   ("charge", charge.id, start + dt.timedelta(hours=1)),
                   ("receipt", receipt.id, start + dt.timedelta(days=2))]
        for i in range(30):  # audit events and deliveries, interleaved in time
            at = start + dt.timedelta(days=1, minutes=7 * i)
            if i % 2:
                row = Delivery.create(account=acct, kind="device_added", channel="email",
                                      payload="{}", status="sent", created_at=at)
                entries.append(("delivery", row.id, at))
            else:
                row = AuditEvent.create(account=acct, action="member.deactivate",
                                        detail=f"step {i}", created_at=at)
                entries.append(("audit", row.id, at))
        AuditEvent.create(account=other, action="member.deactivate", detail="elsewhere",
                          created_at=start + dt.timedelta(days=5))
        expected = [f"{k}-{i}" for k, i, _at in sorted(entries, key=lambda e: e[2], reverse=True)]
        acct_id = acct.id
    first = page_of(operator, acct_id)
    second = page_of(operator, acct_id, "?page=2")
    shown = (re.findall(r'data-entry="([a-z]+-\d+)"', first)
             + re.findall(r'data-entry="([a-z]+-\d+)"', second))
    assert shown == expected  # 33 entries: 25, then 8, newest first
    assert len(re.findall(r"data-entry=", first)) == 25
    assert 'rel="next"' in first and 'rel="prev"' in second and "elsewhere" not in first + second
    assert "Payment attempt: Declined" in second and "Do not honor" in second
    assert operator.get(f"/operator/accounts/{acct_id}?page=3").status_code == 404


def test_the_page_costs_the_same_queries_for_a_small_or_a_busy_account(app, operator):
    def cost(account_id):
        with counted_queries() as counter:
            page_of(operator, account_id)
        return counter.count

    with app.app_context():
        small, busy = make_account("Small"), make_account("Busy")
        mark_account(small, "small001")  # the same kinds of rows, once
        AuditEvent.create(account=small, action="member.activate")
        place_order(small, "k-small")
        for i in range(40):
            mark_account(busy, f"busy{i:04d}")
            place_order(busy, f"k-busy-{i}")
            AuditEvent.create(account=busy, action="member.activate", actor=User.get(
                User.email == f"busy{i:04d}@people.example"))
        ids = small.id, busy.id
    assert cost(ids[0]) == cost(ids[1])


def test_operators_words_not_the_customers(app, operator):
    with app.app_context():  # the demo's Northwind uses one location subscription too many
        north = Account.get(Account.name == "Northwind Retail")
    text = page_of(operator, north.id)
    assert "Over-allocated:" in text and "Over your subscription" not in text
    assert "your subscription" not in text.lower()
    note = re.search(r'<p class="over-billing"[^>]*>\s*(.*?)\s*</p>', text, re.S).group(1)
    assert note.startswith("The 1 extra location subscription is billed on")
    assert note.endswith("the subscribed quantity then includes it.")


def test_acc2_only_operators_see_an_account_page(app, client, auth):
    with app.app_context():
        other = Account.get(Account.name == "Corner Bakeries").id
    assert client.get(f"/operator/accounts/{other}").status_code == 302
    for who in ("admin@northwind.example", "member@northwind.example"):
        auth.login(as_=who)
        assert client.get(f"/operator/accounts/{other}").status_code == 403
        auth.logout()


def test_menu_is_grouped_and_marks_the_current_section(operator):
    text = operator.get("/operator/accounts/1").get_data(as_text=True)
    groups = re.findall(r'<details class="nav-group( current)?" data-group="(\w+)">', text)
    assert groups == [(" current", "customers"), ("", "billing"), ("", "system")]
    wide = text[text.index('class="nav-groups"'):text.index('class="nav-flat"')]
    assert wide.count('aria-current="page"') == 1 and '>Accounts</a>' in wide
    for label in ("Plans", "Invoices", "Payment methods", "Outbox", "Deliveries", "Audit log",
                  "Plugins"):
        assert f">{label}</a>" in wide
