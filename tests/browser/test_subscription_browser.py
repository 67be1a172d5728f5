"""The Manage Subscription page in a real headless chromium (rules USE-1, USE-2, SUB-3, ACC-3).

The demo data (portal/demo.py) gives the Northwind chain admin one bar of each kind: 7
location subscriptions needed for 6 subscribed (over, yellow), 2 seats of 2 (full) and
0 add-on licenses of 1 (ok, grey to spare).
"""
import re

import pytest
from playwright.sync_api import expect

from portal.billing import pricing
from portal.models import Subscription
from support.people import membership

pytestmark = pytest.mark.browser

ADMIN, MEMBER = "admin@northwind.example", "member@northwind.example"


def bars(page):
    """(used, subscribed, state, printed numbers) of every usage bar on the page."""
    return [(int(bar.get_attribute("data-used")), int(bar.get_attribute("data-subscribed")),
             bar.get_attribute("data-state"), bar.locator(".usage-count").inner_text())
            for bar in page.locator(".usage[data-state]").all()]


def expected_bars(live_server, email):
    """The bars the billing engine computes for this user's account, straight from the DB."""
    with live_server.app_context():
        account_id = membership(email).account_id
        usage = pricing.account_usage(account_id)
        subs = Subscription.select().where(Subscription.account == account_id).order_by(
            Subscription.id)
        return [(i.used, i.subscribed, i.state) for s in subs
                for i in pricing.usage_items(s, usage)]


def fill_colour(locator):
    return locator.evaluate("el => getComputedStyle(el).fill")


def test_use2_chain_admin_sees_over_full_and_ok_bars(page, live_server, login, console_errors):
    login(page, ADMIN)
    assert page.url == f"{live_server.url}/subscription/"
    shown = bars(page)
    assert [b[:3] for b in shown] == expected_bars(live_server, ADMIN)
    assert sorted(b[2] for b in shown) == ["full", "ok", "over"]
    for used, subscribed, _state, printed in shown:  # USE-2: numbers beside the colours
        assert printed == f"{used} used of {subscribed} subscribed"

    over = page.locator(".usage[data-state=over]")
    assert over.locator(".over-note").inner_text().endswith(f"{shown[0][0] - shown[0][1]}")
    # Green used, grey available, yellow overflow: three different colours, and the
    # yellow part of the over bar is really drawn.
    colours = {fill_colour(over.locator(f"rect.{seg}"))
               for seg in ("seg-used", "seg-available", "seg-over")}
    assert len(colours) == 3
    assert over.locator("rect.seg-over").bounding_box()["width"] > 0
    ok = page.locator(".usage[data-state=ok]")
    assert ok.locator("rect.seg-available").bounding_box()["width"] > 0
    assert page.locator("[data-total=devices] b").inner_text() == "15"  # USE-1
    assert console_errors == []


def test_sub3_active_tab_is_an_htmx_swap_with_pushed_url(page, live_server, login,
                                                         console_errors):
    login(page, ADMIN)
    page.evaluate("window.__sameDocument = 'still here'")
    spinner = page.locator("#spinner.htmx-indicator")
    assert spinner.count() == 1
    expect(spinner).to_have_css("opacity", "0")  # idle: hidden

    with page.expect_response(re.compile(r"/subscription/active$")) as answer:
        page.get_by_role("tab", name="Active subscriptions").click()
    assert answer.value.request.headers.get("hx-request") == "true"
    page.wait_for_url(f"{live_server.url}/subscription/active")
    renewal = page.get_by_text("Renews automatically").first
    renewal.wait_for()
    assert renewal.is_visible()
    # No full reload: the window (and its marker) survived the swap.
    assert page.evaluate("window.__sameDocument") == "still here"
    assert page.get_by_role("tab", name="Active subscriptions").get_attribute(
        "aria-selected") == "true"
    assert page.locator("#tabs").count() == 1 and page.locator(".usage").count() == 0
    assert "htmx-request" not in (page.locator("body").get_attribute("class") or "")
    expect(spinner).to_have_css("opacity", "0")  # and hidden again once the swap is done

    # Back to the usage tab, again without a reload.
    page.get_by_role("tab", name="Usage").click()
    page.wait_for_url(f"{live_server.url}/subscription/")
    page.locator(".usage[data-state=over]").wait_for()
    assert page.evaluate("window.__sameDocument") == "still here"
    assert console_errors == []


def test_sub3_active_tab_works_as_a_plain_link_without_javascript(nojs_page, live_server,
                                                                   login):
    login(nojs_page, ADMIN)
    assert len(bars(nojs_page)) == 3
    with nojs_page.expect_navigation():
        nojs_page.get_by_role("tab", name="Active subscriptions").click()
    assert nojs_page.url == f"{live_server.url}/subscription/active"
    assert nojs_page.get_by_text("Renews automatically").first.is_visible()
    assert nojs_page.locator("h1").inner_text().startswith("Manage subscription")


@pytest.mark.parametrize("email, shown", [(ADMIN, True), (MEMBER, False)])
def test_acc3_gear_icon_only_for_account_admins(page, live_server, login, email, shown):
    login(page, email)
    gear = page.locator("[data-testid=admin-gear]")
    assert gear.count() == (1 if shown else 0)
    if shown:
        assert gear.is_visible()
        with page.expect_navigation():
            gear.click()
        assert page.url == f"{live_server.url}/admin/"
    else:
        response = page.goto("/admin/")
        assert response.status == 403
