"""Clicks per main flow (issue #17, "no more clicks than Stripe's customer portal"): each
test performs one flow in chromium from the home page an admin lands on after logging in,
and counts what the person does: every click, radio chosen, option picked or confirm
dialog accepted (typing into a field counts as one). docs/decisions.md compares the counts
with Stripe's customer portal; the numbers there are the ones asserted here."""
import pytest
from playwright.sync_api import expect

from support.changes import DEMO_TODAY, add_card

pytestmark = pytest.mark.browser

NORTHWIND, ATELIER = "admin@northwind.example", "admin@atelier.example"


@pytest.fixture
def make_app(make_app):
    """The served app with today pinned to the demo date (the figures depend on it)."""
    return lambda **config: make_app(**{"TODAY": DEMO_TODAY, **config})


class Person:
    """A page whose actions are counted: ``click``, ``choose`` (a radio), ``pick`` (an
    option), ``type`` (a field), ``confirm`` (a dialog that will be accepted)."""

    def __init__(self, page):
        self.page, self.count = page, 0
        page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.count += 1  # accepting a confirm dialog is one more click
        dialog.accept()

    def click(self, locator):
        self.count += 1
        locator.click()

    def choose(self, locator):
        self.count += 1
        locator.check()

    def pick(self, locator, value):
        self.count += 1
        locator.select_option(value)

    def type(self, locator, text):
        self.count += 1
        locator.fill(text)


@pytest.fixture
def person(page, login):
    """An admin of Northwind Retail (a card on file) on the home page; counting starts."""
    def start(email=NORTHWIND, card=True, live_server=None):
        if card:
            with live_server.app_context():
                add_card({NORTHWIND: "Northwind Retail", ATELIER: "Atelier Space"}[email])
        login(page, email)
        expect(page.locator("[data-home=plans]")).to_be_visible()
        return Person(page)
    return start


def team(p):
    return p.page.locator('.home-plan[data-plan="team"]')


def test_view_subscription_takes_no_click(person, live_server):
    p = person(live_server=live_server)
    for part in ("plans", "card", "invoices"):
        expect(p.page.locator(f"[data-home={part}]")).to_be_visible()
    expect(p.page.locator("[data-next-charge]").first).to_be_visible()
    assert p.count == 0


def test_upgrade_takes_four_clicks(person, live_server):
    p = person(live_server=live_server)
    p.click(team(p).get_by_role("link", name="Change plan"))
    p.choose(p.page.locator("input[name=plan][value=business]"))
    expect(p.page.locator("#preview")).to_have_attribute("data-change", "upgrade")
    p.click(p.page.get_by_role("button", name="Continue"))
    p.click(p.page.get_by_role("button", name="Place order"))
    expect(p.page.locator("section.order")).to_have_attribute("data-status", "placed")
    assert p.count == 4


def test_downgrade_takes_six_clicks_with_its_required_reason(person, live_server):
    """Rule CHG-2 asks why before a downgrade: two of the six are the reason."""
    p = person(ATELIER, live_server=live_server)
    p.click(p.page.get_by_role("link", name="Change plan"))
    p.choose(p.page.locator("input[name=plan][value=team]"))
    expect(p.page.locator("#preview")).to_have_attribute("data-change", "downgrade")
    p.click(p.page.get_by_role("button", name="Continue"))
    p.choose(p.page.locator("input[name=reason][value=price]"))
    p.click(p.page.get_by_role("button", name="Continue to the review"))
    p.click(p.page.get_by_role("button", name="Place order"))
    expect(p.page.locator("section.order")).to_have_attribute("data-status", "placed")
    assert p.count == 6


def test_quote_takes_five_clicks_to_the_pdf(person, live_server):
    p = person(live_server=live_server)
    p.click(team(p).get_by_role("link", name="Change plan"))
    p.choose(p.page.locator("input[name=plan][value=business]"))
    expect(p.page.locator("#preview")).to_have_attribute("data-change", "upgrade")
    p.click(p.page.get_by_role("button", name="Continue"))
    p.click(p.page.get_by_role("button", name="Get a quote"))
    with p.page.expect_download():
        p.click(p.page.locator("tr[data-quote]").first.get_by_role("link", name="PDF"))
    assert p.count == 5


def test_cancel_takes_two_clicks_and_undo_one(person, live_server):
    p = person(live_server=live_server)
    p.click(team(p).get_by_role("link", name="Cancel subscription"))
    p.click(p.page.get_by_role("button", name="Cancel subscription"))
    expect(p.page.locator("#flashes")).to_contain_text("Your subscription is cancelled")
    assert p.count == 2
    p.click(team(p).get_by_role("button", name="Undo the cancellation"))
    expect(p.page.locator("#flashes")).to_contain_text("The cancellation is undone")
    expect(team(p).get_by_role("link", name="Cancel subscription")).to_be_visible()
    assert p.count == 3


def test_cards_add_three_clicks_default_two_remove_three(person, live_server):
    p = person(live_server=live_server)
    p.click(p.page.get_by_role("link", name="Update card"))
    p.click(p.page.get_by_role("link", name="Add a card"))
    p.pick(p.page.locator("select[name=payment_method_nonce]"), "fake-valid-amex-nonce")
    p.click(p.page.get_by_role("button", name="Save card"))
    amex = p.page.locator("tr[data-method-id]", has_text="American Express")
    expect(amex).to_be_visible()
    assert p.count == 4  # the nonce menu stands for typing the card number (one field)
    p.page.goto("/subscription/")
    p.count = 0
    p.click(p.page.get_by_role("link", name="Update card"))
    p.click(amex.get_by_role("button", name="Make default"))
    expect(amex).to_have_attribute("data-default", "true")
    assert p.count == 2
    p.page.goto("/subscription/")
    p.count = 0
    visa = p.page.locator("tr[data-method-id]", has_text="Visa")
    p.click(p.page.get_by_role("link", name="Update card"))
    p.click(visa.get_by_role("button", name="Remove"))  # + the confirm dialog
    expect(visa).to_have_count(0)
    assert p.count == 3


def test_invoice_download_takes_one_click(person, live_server):
    p = person(live_server=live_server)
    from support.billing import DEC1, run
    with live_server.app_context():
        run(live_server.app, DEC1)  # Northwind's December invoices
    p.page.reload()
    with p.page.expect_download() as download:
        p.click(p.page.locator("[data-home=invoices] [data-action=download]").first)
    assert download.value.suggested_filename.endswith(".pdf")
    assert p.count == 1


def test_pay_now_takes_two_clicks(person, live_server):
    from support.billing import DEC1, run
    with live_server.app_context():
        run(live_server.app, DEC1)  # no card yet: the December invoices fail
    p = person(live_server=live_server)  # then the admin adds a card and pays
    p.click(p.page.get_by_role("link", name="All invoices"))
    p.click(p.page.locator("[data-action=pay-now]"))
    expect(p.page.locator("#flashes")).to_contain_text("Thank you")
    assert p.count == 2
