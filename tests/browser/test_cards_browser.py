"""The Cards tab in a real headless chromium (rules PAY-1, PAY-5), with the offline
``fake`` gateway's form: htmx swaps the form in and the widget back; without JavaScript
the same forms post and redirect. Fixtures come from tests/browser/conftest.py."""
import pytest
from playwright.sync_api import expect

from portal.models import Account, PaymentMethod

pytestmark = pytest.mark.browser

ADMIN = "admin@northwind.example"


def row(page, brand):
    return page.locator(f'#payment-methods tr[data-brand="{brand}"]')


def add_card(page, nonce):
    page.get_by_role("link", name="Add a card").click()
    form = page.get_by_test_id("add-card-form")
    expect(form).to_be_visible()
    form.locator("select[name=payment_method_nonce]").select_option(nonce)
    form.get_by_role("button", name="Save card").click()


def stored(live_server):
    with live_server.app_context():
        account = Account.get(Account.name == "Northwind Retail")
        return [(m.brand, m.is_default) for m in PaymentMethod.select()
                .where(PaymentMethod.account == account).order_by(PaymentMethod.id)]


def test_pay5_cards_lifecycle_with_htmx(page, live_server, login, console_errors, tmp_path):
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm on Remove
    login(page, ADMIN)
    page.goto("/admin/cards/")
    expect(page.locator("#payment-methods")).to_contain_text("No payment method yet")

    # A Visa through the fake gateway's form: the first card becomes the default.
    add_card(page, "fake-valid-visa-nonce")
    visa = row(page, "Visa")
    expect(visa).to_have_attribute("data-default", "true")
    expect(visa.get_by_test_id("default-badge")).to_have_text("Default")
    expect(page.locator("#flashes")).to_contain_text("Visa ending 1881, expires 12/2030 is saved")
    assert page.url.endswith("/admin/cards/")  # swapped in place, no navigation

    # PAY-1: a Discover card is refused next to the field, the form stays open.
    add_card(page, "fake-valid-discover-nonce")
    expect(page.locator("#payment_method_nonce-error")).to_contain_text(
        "Discover cards are not accepted")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_test_id("add-card-form")).to_have_count(0)

    # PAY-5: the last usable card of an active subscription offers no Remove, and says why.
    expect(visa.get_by_role("button", name="Remove")).to_have_count(0)
    expect(visa.get_by_test_id("kept")).to_contain_text("add another to remove this one")

    # An Amex, made the default, then the Visa removed.
    add_card(page, "fake-valid-amex-nonce")
    amex = row(page, "American Express")
    expect(amex).to_have_attribute("data-default", "false")
    amex.get_by_role("button", name="Make default").click()
    expect(row(page, "American Express")).to_have_attribute("data-default", "true")
    expect(row(page, "Visa")).to_have_attribute("data-default", "false")
    row(page, "Visa").get_by_role("button", name="Remove").click()
    expect(row(page, "Visa")).to_have_count(0)
    expect(page.locator("#flashes")).to_contain_text("Visa ending 1881, expires 12/2030 is removed")
    expect(row(page, "American Express")).to_have_attribute("data-default", "true")

    assert stored(live_server) == [("American Express", True)]
    page.screenshot(path=str(tmp_path / "cards.png"), full_page=True)
    assert console_errors == []


def test_cards_work_without_javascript(nojs_page, live_server, login):
    page = nojs_page
    login(page, ADMIN)
    page.goto("/admin/cards/")
    page.get_by_role("link", name="Add a card").click()
    assert page.url.endswith("/admin/cards/new")
    page.locator("select[name=payment_method_nonce]").select_option("fake-valid-mastercard-nonce")
    page.get_by_role("button", name="Save card").click()
    assert page.url.endswith("/admin/cards/")
    expect(row(page, "MasterCard")).to_have_attribute("data-default", "true")
    expect(page.locator("#flashes")).to_contain_text("MasterCard ending 4444")
    # PAY-5: the only usable card has no Remove without JavaScript either
    expect(row(page, "MasterCard").get_by_role("button", name="Remove")).to_have_count(0)
    expect(row(page, "MasterCard").get_by_test_id("kept")).to_be_visible()
    assert stored(live_server) == [("MasterCard", True)]
