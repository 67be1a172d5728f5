"""Operator tokens for the provisioning API in a real chromium (issue #16 item 4): reached
from System in the menu, made without JavaScript at a phone's width (scopes as checkboxes,
the token shown once), revoked with htmx at a desktop's width; no axe-core violation."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

OPERATOR = "operator@example.com"
SHOTS = "docs/screenshots"
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list:
    page.add_script_tag(path=str(AXE))
    return page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']}))"
                         ".violations.map(v => v.id + ': ' + v.help)")


def test_an_operator_makes_a_token_without_javascript_and_revokes_it_with_htmx(
        browser, live_server, login):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  viewport={"width": 390, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, OPERATOR)
        page.goto("/operator/")
        page.locator("details.menu > summary").click()
        page.locator(".nav-flat a", has_text="Provisioning tokens").click()
        expect(page).to_have_url(f"{live_server.url}/operator/system/tokens")
        page.fill("#name", "CRM")
        page.get_by_role("checkbox", name=re.compile("^accounts:write")).check()
        page.get_by_role("checkbox", name=re.compile("^subscriptions:write")).check()
        page.screenshot(path=f"{SHOTS}/operator-provisioning-tokens--390.png", full_page=True)
        page.get_by_role("button", name="Create token").click()
        plain = page.get_by_test_id("new-token").input_value()
        assert plain.startswith("pop_")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
    finally:
        context.close()
    context = browser.new_context(base_url=live_server.url, bypass_csp=True,  # for axe-core
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, OPERATOR)
        page.goto("/operator/system/tokens")
        row = page.locator("tr[data-revoked='false']", has_text="CRM")
        expect(row).to_contain_text("subscriptions:write")
        assert plain not in page.content()  # shown once
        assert axe_violations(page) == []
        page.screenshot(path=f"{SHOTS}/operator-provisioning-tokens--1280.png", full_page=True)
        page.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name="Revoke").click()
        expect(page.locator("tr[data-revoked='true']", has_text="CRM")).to_have_count(1)
    finally:
        context.close()
