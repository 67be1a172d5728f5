"""The operator console in a real chromium (issue #18): the grouped menu on one line at
1280 px in English and French, dropdowns that close one another and on Escape, the phone
menu without JavaScript, and the accounts search updating as the operator types."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

OPERATOR = "operator@example.com"
SHOTS = "docs/screenshots"


def console(browser, live_server, *, width, locale="en-US", javascript=True):
    context = browser.new_context(base_url=live_server.url, locale=locale,
                                  java_script_enabled=javascript,
                                  viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    return context, context.new_page()


@pytest.mark.parametrize("locale", ["en-US", "fr-FR"])
def test_the_menu_is_one_line_at_1280_and_its_groups_drop_down(browser, live_server, login,
                                                               locale):
    context, page = console(browser, live_server, width=1280, locale=locale)
    try:
        login(page, OPERATOR)
        page.goto("/operator/accounts/1")
        bar = page.locator("header.topbar").bounding_box()
        summary = page.locator("details.nav-group > summary").first.bounding_box()
        assert bar["height"] < 70, bar  # one line: the brand, three groups, the user's links
        assert summary["y"] < bar["y"] + bar["height"]
        groups = page.locator("details.nav-group")
        billing, system = groups.nth(1), groups.nth(2)
        billing.locator("summary").click()
        expect(billing.locator(".nav-group-links a").first).to_be_visible()
        page.screenshot(path=f"{SHOTS}/operator-menu-open-{locale}--1280.png")
        system.locator("summary").click()  # opening one closes the other
        expect(billing).not_to_have_attribute("open", "")
        expect(system.locator(".nav-group-links a").first).to_be_visible()
        page.keyboard.press("Escape")
        expect(system).not_to_have_attribute("open", "")
        billing.locator("summary").click()
        billing.locator("a", has_text="Invoices" if locale == "en-US" else "Factures").click()
        expect(page).to_have_url(f"{live_server.url}/operator/documents")
        expect(page.locator('details.nav-group.current[data-group="billing"]')).to_have_count(1)
    finally:
        context.close()


def test_the_phone_menu_lists_the_groups_without_javascript(browser, live_server, login):
    context, page = console(browser, live_server, width=390, javascript=False)
    try:
        login(page, OPERATOR)
        page.goto("/operator/")
        expect(page.locator(".nav-flat")).not_to_be_visible()
        page.locator("details.menu > summary").click()
        for label in ("Customers", "Billing", "System"):
            expect(page.locator(".nav-group-label", has_text=label)).to_be_visible()
        expect(page.locator(".nav-groups")).not_to_be_visible()
        page.screenshot(path=f"{SHOTS}/operator-menu-phone--390.png", full_page=True)
        page.locator(".nav-flat a", has_text="Audit log").click()
        expect(page).to_have_url(f"{live_server.url}/operator/audit")
        # the accounts search is a plain GET form: it works without JavaScript too
        page.goto("/operator/")
        page.fill("#q", "corner")
        page.select_option("#sort", "mrr")
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(f"{live_server.url}/operator/?q=corner&plan=&interval=&status="
                                 "&gateway=&negotiated=&currency=&sort=mrr&per_page=25")
        rows = page.locator("#accounts-results tr[data-account]")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Corner Bakeries")
    finally:
        context.close()


def test_the_search_updates_as_the_operator_types(page, login, live_server, console_errors):
    login(page, OPERATOR)
    page.goto("/operator/")
    rows = page.locator("#accounts-results tr[data-account]")
    total = rows.count()
    assert total > 1
    page.locator("#q").press_sequentially("northw", delay=20)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Northwind Retail")
    assert "q=northw" in page.url  # the address follows, so the search can be shared
    page.select_option("#status", "past_due")
    expect(page.locator("#accounts-results")).to_contain_text("No account matches.")
    assert not console_errors
