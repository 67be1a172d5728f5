"""Onboarding in the operator console, in a real chromium (rule ONB-1, issue #16 item 3):
from an empty deployment (one operator, the catalogue, no account) the operator opens an
account with its first subscription through the New account page — JavaScript off, as
the form must work without it — and finds it on the accounts list; field errors are shown
beside the fields. Screenshots at 390 and 1280 px go to docs/screenshots/."""
from __future__ import annotations

import datetime as dt
import secrets
import threading

import pytest
from playwright.sync_api import expect
from support.serving import make_server

from portal import create_app
from portal.accounts import operators
from portal.catalogue import files as catalogue_files
from portal.db import db, migrate
from portal.demo import CATALOGUE
from portal.models import Account, Subscription

pytestmark = pytest.mark.browser
TODAY = dt.date(2026, 11, 23)
EMAIL, PASSWORD = "ops@reseller.example", "a long operator passphrase 42"
SHOTS = "docs/screenshots"


@pytest.fixture
def empty_deployment(tmp_path):
    """A new deployment: its database migrated, one operator, the catalogue applied."""
    app = create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(32), "TODAY": TODAY,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
                      "SUPPORT_EMAIL": "success@portal.test"})
    with app.app_context():
        db.connect(reuse_if_open=True)
        migrate()
        operators.create(EMAIL, PASSWORD)
        catalogue_files.apply(catalogue_files.parse(CATALOGUE.read_text(encoding="utf-8"),
                                                    today=TODAY))
        assert Account.select().count() == 0
        db.close()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        if not db.is_closed():
            db.close()


def test_onb1_an_operator_opens_the_first_account_from_an_empty_console(
        browser, login, empty_deployment):
    app, url = empty_deployment
    context = browser.new_context(base_url=url, java_script_enabled=False,
                                  viewport={"width": 390, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, EMAIL, PASSWORD)
        page.goto("/operator/")
        page.locator("details.menu > summary").click()  # the phone menu, no JavaScript
        page.locator(".nav-flat a", has_text="New account").click()
        expect(page.locator("h1")).to_have_text("New account")
        page.screenshot(path=f"{SHOTS}/operator-new-account--390.png", full_page=True)
        page.fill("#name", "Hudson Studio")
        page.select_option("#currency", "USD")
        page.fill("#details-legal_name", "Hudson Studio LLC")
        page.fill("#details-address_line1", "1 Main St")
        page.fill("#details-postal_code", "10001")
        page.fill("#details-city", "New York")
        page.select_option("#details-country", "US")
        page.fill("#details-invoice_emails", "not an address")  # refused beside the field
        page.select_option("#plan", "team")
        page.fill("#quantity", "3")
        page.click("button.primary")
        expect(page.locator("#details-invoice_emails-error")).to_be_visible()
        expect(page.locator("[data-refused]")).to_be_visible()
        page.screenshot(path=f"{SHOTS}/operator-new-account-refused--390.png", full_page=True)
        with app.app_context():
            assert Account.select().count() == 0
        page.fill("#details-invoice_emails", "ap@hudson.example")
        page.click("button.primary")
        expect(page.locator(".flash-success")).to_contain_text("Hudson Studio")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=f"{SHOTS}/operator-new-account-opened--1280.png", full_page=True)
        page.goto("/operator/")
        expect(page.locator("#accounts-results")).to_contain_text("Hudson Studio")
        with app.app_context():
            account = Account.get(Account.name == "Hudson Studio")
            sub = Subscription.get(Subscription.account == account)
            assert (sub.plan.code, sub.quantity, sub.next_payment_date) == \
                ("team", 3, dt.date(2026, 12, 1))
        page.goto("/operator/accounts/new")
        page.screenshot(path=f"{SHOTS}/operator-new-account--1280.png", full_page=True)
        for path, name in ((f"/operator/accounts/{account.id}/subscriptions/new",
                            "operator-start-subscription"),
                           (f"/operator/subscriptions/{sub.id}/negotiated",
                            "operator-negotiated-price"),
                           (f"/operator/subscriptions/{sub.id}/change?plan=team&interval="
                            "monthly&quantity=4&addon_quantity=0", "operator-change-review")):
            for width in (390, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(path)
                assert page.evaluate("document.documentElement.scrollWidth") <= width, path
                page.screenshot(path=f"{SHOTS}/{name}--{width}.png", full_page=True)
    finally:
        context.close()
