"""Forgot password in the browser, end to end (rule ACC-8): the login page's link, the
form, the mail read from the real SMTP server, the link, the new password, logged in."""
import re

from portal.accounts import passwords
from portal.db import db
from portal.models import User
from support.api import parts

NEW = "Harbour-Lantern-3391"


def test_acc8_forgot_mail_link_new_password_logged_in(browser, mail_server, smtp_server):
    url, app = mail_server
    context = browser.new_context(base_url=url)
    page = context.new_page()
    errors = []
    # script errors and CSP violations; the refused form (400) and the used link (410)
    # are answers this test asks for, which chromium also logs
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
            and not msg.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/login")
    page.click("[data-testid=forgot-link]")
    page.fill("input[name=email]", "member@northwind.example")
    page.click("form button.primary")
    page.wait_for_selector("[data-testid=reset-sent]")
    [mail] = smtp_server.wait_for(1)
    link = re.search(r"(http://127\.0\.0\.1:\d+/password/reset/\S+)",
                     parts(mail)["text/plain"]).group(1)
    assert link in parts(mail)["text/html"]
    page.goto(link)
    page.fill("input[name=new_password]", "short")
    page.fill("input[name=confirm]", "short")
    page.click("form button.primary")
    assert page.locator("#new_password-error").inner_text() == "Use at least 10 characters."
    page.fill("input[name=new_password]", NEW)
    page.fill("input[name=confirm]", NEW)
    page.click("form button.primary")
    page.wait_for_url(f"{url}/subscription/")
    assert "Your new password is set." in page.locator("#flashes").inner_text()
    assert page.locator(".who").inner_text() == "member@northwind.example"
    page.goto(link)  # the link is used up
    assert page.locator("[data-testid=reset-invalid]").is_visible()
    with app.app_context():
        db.connect(reuse_if_open=True)
        person = User.get(User.email == "member@northwind.example")
        assert passwords.check(person.password_hash, NEW)
    assert not errors
    context.close()
