"""One pager for every list (issue #13 item 7): each operator list is walked page by page
by following its own "next" link; pages 1, 2 and 3 together show every row exactly once, in
the list's order, with the filters kept. A page past the last, or a page "number" that is
not one, is 404."""
import datetime as dt
import html as htmllib
import re

import pytest

from portal import pager
from portal.models import (Account, AuditEvent, Delivery, Device, Invoice, Location,
                           OutboxMessage, Quote, Subscription)

OPERATOR = "operator@example.com"


@pytest.fixture
def operator(client, auth):
    auth.login(as_=OPERATOR)
    return client


def walk(client, url, pattern):
    """Row keys of each page, following rel="next"; asserts the pager's own links."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        pages.append(re.findall(pattern, text))
        nxt = re.search(r'<a rel="next" href="([^"]+)"', text)
        url = htmllib.unescape(nxt.group(1)) if nxt else None
        assert len(pages) < 10
    return pages


def assert_three_pages(pages, expected, per_page):
    assert [len(p) for p in pages] == [per_page, per_page, len(expected) - 2 * per_page]
    shown = [key for page in pages for key in page]
    assert shown == expected  # none missing, none repeated, in order


def bulk_account(name="Pager Test Co") -> Account:
    return Account.create(name=name, address_line1="1 Test Road")


def test_operator_devices_pages_2_and_3_miss_no_row(app, operator):
    with app.app_context():
        acct = bulk_account()
        loc = Location.create(account=acct, name="Shop", external_id="shop")
        Device.insert_many([{"account": acct.id, "location": loc.id, "serial": f"SN-{i:04d}"}
                            for i in range(250)]).execute()
        expected = [f"SN-{i:04d}" for i in range(250)]
    pages = walk(operator, f"/operator/accounts/{acct.id}/devices", r'data-serial="([^"]+)"')
    assert_three_pages(pages, expected, 100)  # SN-0100 and SN-0201 were never shown before


def test_operator_deliveries_pages_keep_the_status_filter(app, operator):
    with app.app_context():
        rows = [{"kind": "test", "channel": "outbox", "key": f"k{i}", "payload": "{}",
                 "status": "failed" if i % 5 else "sent"} for i in range(300)]
        Delivery.insert_many(rows).execute()
        expected = [str(d.id) for d in Delivery.select().where(Delivery.status == "failed")
                    .order_by(Delivery.id.desc())]
    assert 200 < len(expected) < 300
    pages = walk(operator, "/operator/deliveries?status=failed", r'id="delivery-(\d+)"')
    assert_three_pages(pages, expected, 100)


def test_operator_audit_log_pages(app, operator):
    with app.app_context():
        acct = bulk_account()
        start = dt.datetime(2026, 11, 1)
        AuditEvent.insert_many([{"account": acct.id, "action": "test.page",
                                 "created_at": start + dt.timedelta(minutes=i // 2)}
                                for i in range(130)]).execute()
        expected = [str(e.id) for e in AuditEvent.select().where(AuditEvent.account == acct.id)
                    .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())]
    pages = walk(operator, f"/operator/audit?account={acct.id}", r'data-event="(\d+)"')
    assert_three_pages(pages, expected, 50)
    assert "Older" in operator.get(f"/operator/audit?account={acct.id}").get_data(as_text=True)


def test_operator_documents_pages_with_their_count(app, operator):
    with app.app_context():
        acct = bulk_account()
        Invoice.insert_many([{"number": f"PG-{i:04d}", "account": acct.id,
                              "issued_on": dt.date(2026, 1, 1) + dt.timedelta(days=i // 3),
                              "due_on": dt.date(2026, 12, 31), "total": 100,
                              "account_name": acct.name} for i in range(240)]).execute()
        expected = [i.number for i in Invoice.select().where(Invoice.account == acct.id)
                    .order_by(Invoice.issued_on.desc(), Invoice.id.desc())]
    pages = walk(operator, f"/operator/documents?account={acct.id}",
                 r'data-invoice="([^"]+)"')
    assert_three_pages(pages, expected, 100)
    page2 = operator.get(f"/operator/documents?account={acct.id}&page=2").get_data(as_text=True)
    assert "Page 2 of 3" in page2


def test_operator_outbox_pages(app, operator):
    with app.app_context():
        start = dt.datetime(2026, 11, 1)
        OutboxMessage.insert_many([{"kind": "test", "subject": f"m{i}",
                                    "created_at": start + dt.timedelta(seconds=i // 4)}
                                   for i in range(230)]).execute()
        expected = [str(m.id) for m in OutboxMessage.select()
                    .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())]
    pages = walk(operator, "/operator/outbox", r'data-message="(\d+)"')
    assert_three_pages(pages, expected, 100)


def test_operator_accounts_pages(app, operator):
    with app.app_context():
        Account.insert_many([{"name": f"Bulk {i % 7} {i:03d}", "address_line1": ""}
                             for i in range(220)]).execute()
        expected = [str(a.id) for a in Account.select().order_by(Account.name, Account.id)]
    pages = walk(operator, "/operator/?per_page=100", r'data-account="(\d+)"')
    assert_three_pages(pages, expected, 100)


def test_the_page_size_choice_reads_a_choice_or_the_default():
    """issue #20: a list offers 25, 50 or 100 rows, 25 when nothing (or not a choice) is
    asked; the form beside it says why a wrong value is refused."""
    assert pager.per_page_choices() == [("25", "25"), ("50", "50"), ("100", "100")]
    assert [pager.per_page(raw) for raw in (None, "", "25", "50", "100", "7", "abc")] == [
        25, 25, 25, 50, 100, 25, 25]


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=abc", "page=1.5", "page=２",
                                   "page=99999999999999999999", "page=2"])
def test_a_page_that_does_not_exist_is_404(operator, query):
    # The demo's lists fit on one page, so page 2 does not exist either.
    for path in ("/operator/deliveries", "/operator/audit", "/operator/outbox", "/operator/",
                 "/operator/documents", "/operator/accounts/1/devices"):
        assert operator.get(f"{path}?{query}").status_code == 404, (path, query)


def test_page_1_of_an_empty_list_exists(app, operator):
    with app.app_context():
        acct = bulk_account()
    response = operator.get(f"/operator/accounts/{acct.id}/devices?page=1")
    assert response.status_code == 200 and "No device." in response.get_data(as_text=True)
    assert 'class="pager"' not in response.get_data(as_text=True)  # one page: no pager


def test_page_reads_one_row_more_and_shows_it_on_the_next_page(app_ctx):
    acct = bulk_account()
    AuditEvent.insert_many([{"account": acct.id, "action": f"a{i}"} for i in range(5)]).execute()
    query = AuditEvent.select().where(AuditEvent.account == acct.id).order_by(AuditEvent.id)
    first, second, third = (pager.Page(query, n, 2) for n in (1, 2, 3))
    assert [e.action for e in first] == ["a0", "a1"] and first.has_next and not first.has_prev
    assert [e.action for e in second] == ["a2", "a3"] and second.has_next and second.has_prev
    assert [e.action for e in third] == ["a4"] and not third.has_next
    counted = pager.Page(query, 3, 2, count=True)
    assert (counted.total, counted.pages) == (5, 3)
    assert not pager.Page(query, 4, 2).exists and pager.Page(query.where(False), 1, 2).exists


def test_an_account_admins_quotes_pages(app, client, auth):
    """The customer's quotes list stopped at the newest 100 (a silent limit, issue #13 item
    7): it is paged like the operators' lists."""
    with app.app_context():
        sub = (Subscription.select().join(Account)
               .where(Account.name == "Atelier Space").get())
        Quote.insert_many([{
            "account": sub.account_id, "subscription": sub.id, "number": f"QP-{i:04d}",
            "review_key": f"qp{i}", "account_name": "Atelier Space", "change": "upgrade",
            "plan": sub.plan_id, "interval": "annual", "quantity": 9, "recurring_before": 1,
            "recurring_after": 2, "effective_on": dt.date(2026, 12, 1),
            "created_on": dt.date(2026, 11, 1), "valid_until": dt.date(2026, 11, 30),
            "fingerprint": "x"} for i in range(120)]).execute()
        expected = [q.number for q in Quote.select().where(Quote.account == sub.account_id)
                    .order_by(Quote.id.desc())]
    auth.login(as_="admin@atelier.example")
    pages = walk(client, "/admin/subscription/quotes", r'data-quote="([^"]+)"')
    assert_three_pages(pages, expected, 50)
    assert client.get("/admin/subscription/quotes?page=4").status_code == 404
