"""The language menu in a real headless chromium whose language is French (issue 8, item 5):
the browser's language first, then the user's choice, with and without JavaScript."""
import pytest
from playwright.sync_api import expect

from portal.models import User

pytestmark = pytest.mark.browser

ADMIN = "admin@northwind.example"


def french_browser(browser, live_server, javascript=True):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR",
                                  java_script_enabled=javascript,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    return context, context.new_page()


def choose(page, label):
    page.select_option("[data-testid=language-menu]", label=label)
    with page.expect_navigation():
        page.click(".language-menu button")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_a_french_browser_then_the_users_choice(browser, live_server, login, javascript):
    context, page = french_browser(browser, live_server, javascript)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login(page, ADMIN)
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator("h1")).to_contain_text("Gérer l'abonnement")

        choose(page, "English")
        assert page.url == f"{live_server.url}/subscription/"  # back where the reader was
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator(".flash")).to_contain_text("Language saved: English.")
        expect(page.locator("h1")).to_contain_text("Manage subscription")
        with live_server.app_context():
            assert User.get(User.email == ADMIN).language == "en"

        choose(page, "Automatic (browser)")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator(".flash")).to_contain_text(
            "Vos pages suivent désormais la langue de votre navigateur.")
        with live_server.app_context():
            assert User.get(User.email == ADMIN).language is None
        assert errors == []  # no CSP violation, no script error
    finally:
        context.close()
