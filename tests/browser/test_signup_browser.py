"""Self-serve sign-up in the browser, end to end (issue #16 item 6, rule ONB-1): the
reseller's self-serve path to a first paid invoice. The pricing page, the sign-up form,
the mail read from the real SMTP server, the link, a card through the test gateway's
form, the first invoice paid at once, the subscription page."""
import re
import threading

import pytest
from playwright.sync_api import expect
from support.serving import make_server

from portal.db import db
from portal.models import Account, Invoice, Receipt, Subscription
from support.api import parts
from support.database import DEMO_TODAY

PASSWORD = "Harbour-Lantern-3391"


@pytest.fixture
def signup_server(make_app, smtp_server):
    """The app with sign-up on, served over HTTP, its mail going to the test's SMTP server."""
    app = make_app(SIGNUP=True, TODAY=DEMO_TODAY, **smtp_server.config())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    if not db.is_closed():
        db.close()


def test_onb1_pricing_signup_mail_link_card_first_invoice_paid(browser, signup_server,
                                                               smtp_server):
    url, app = signup_server
    context = browser.new_context(base_url=url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
            and not msg.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/pricing")
    page.get_by_role("link", name="Yearly").click()  # the toggle is a link: no script
    expect(page.locator('[data-plan="team"] .amount')).to_have_text("$270.00")
    expect(page.locator('[data-plan="team"] .price-note')).to_contain_text(
        "a month, billed once a year")
    page.get_by_role("link", name="Monthly").click()
    expect(page.locator('[data-plan="team"] .amount')).to_have_text("$25.00")
    page.locator('[data-start="team"]').click()
    page.wait_for_url(re.compile(r"/signup\?plan=team&interval=monthly&currency=USD$"))
    page.fill("#company_name", "Lovelace Analytics")
    page.fill("#name", "Ada Lovelace")
    page.fill("#email", "ada@lovelace.example")
    page.fill("#password", PASSWORD)
    page.select_option("#country", "GB")
    page.fill("#quantity", "3")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("[data-testid=signup-sent]")).to_contain_text("ada@lovelace.example")
    [mail] = smtp_server.wait_for(1)
    link = re.search(r"(http://127\.0\.0\.1:\d+/signup/verify/\S+)",
                     parts(mail)["text/plain"]).group(1)
    assert link in parts(mail)["text/html"]
    page.goto(link)
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url(re.compile(r"/admin/cards/new"))
    form = page.get_by_test_id("add-card-form")
    form.locator("select[name=payment_method_nonce]").select_option("fake-valid-visa-nonce")
    form.get_by_role("button", name="Save card").click()
    page.wait_for_url(f"{url}/signup/pay")
    expect(page.locator("[data-testid=due-today]")).to_have_text("$20.00")
    page.locator("[data-testid=signup-pay]").click()
    page.wait_for_url(f"{url}/subscription/")
    expect(page.locator("#flashes")).to_contain_text("your first invoice is paid")
    with app.app_context():
        db.connect(reuse_if_open=True)
        account = Account.get(Account.name == "Lovelace Analytics")
        [invoice] = Invoice.select().where(Invoice.account == account.id)
        assert invoice.status == "paid" and str(invoice.total) == "20.00"
        assert Receipt.select().where(Receipt.invoice == invoice.id).exists()
        assert Subscription.get(Subscription.account == account).quantity == 3
    page.goto("/admin/invoices")
    expect(page.locator("body")).to_contain_text(invoice.number)
    assert not errors, errors
    context.close()
