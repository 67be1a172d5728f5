"""An invitation in the browser, end to end (rule ACC-6, issue #15): the admin invites
from the members page, the mail is read from the real SMTP server, the link is followed
in another browser, a name and password are set, the person is logged in on the
account's subscription page, and the seat is counted on the usage bar."""
import re

from portal.accounts import passwords
from portal.db import db
from portal.models import Invitation, Membership, User
from support.api import parts

NEW = "Quarry-Lantern-5127"
EMAIL = "nina@atelier.example"


def test_acc6_admin_invites_mail_link_password_logged_in_seat_counted(
        browser, mail_server, smtp_server, login):
    url, app = mail_server
    errors = []

    def watch(page):
        # the refused form (400) is an answer this test asks for, which chromium logs too
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
                and not msg.text.startswith("Failed to load resource") else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    admin_context = browser.new_context(base_url=url)
    admin = watch(admin_context.new_page())
    login(admin, "admin@atelier.example")
    admin.goto("/subscription/?tab=usage")
    seats = admin.locator(".usage[data-unit=users]").first
    assert (seats.get_attribute("data-used"), seats.get_attribute("data-subscribed")) == (
        "4", "5")
    admin.goto("/admin/members")
    form = admin.locator("[data-testid=invite-form]")
    form.locator("input[name=email]").fill(EMAIL)
    form.locator("select[name=role]").select_option("member")
    form.locator("button.primary").click()
    admin.wait_for_selector("[data-testid=pending-invitations]")
    assert f"An invitation was sent to {EMAIL}." in admin.locator("#flashes").inner_text()
    assert EMAIL in admin.locator("[data-testid=pending-invitations]").inner_text()
    assert admin.locator("[data-testid=seat-count]").get_attribute("data-reserved") == "1"

    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == EMAIL and mail["Subject"] == "You are invited to Atelier Space"
    link = re.search(r"(http://127\.0\.0\.1:\d+/invitations/\S+)",
                     parts(mail)["text/plain"]).group(1)
    assert link in parts(mail)["text/html"]

    guest_context = browser.new_context(base_url=url)
    guest = watch(guest_context.new_page())
    guest.goto(link)
    assert guest.locator("h1").inner_text() == "Join Atelier Space"
    guest.fill("input[name=name]", "Nina New")
    guest.fill("input[name=new_password]", "short")
    guest.fill("input[name=confirm]", "short")
    guest.click("form button.primary")
    assert guest.locator("#new_password-error").inner_text() == "Use at least 10 characters."
    guest.fill("input[name=new_password]", NEW)
    guest.fill("input[name=confirm]", NEW)
    guest.click("form button.primary")
    guest.wait_for_url(f"{url}/subscription/")
    assert "Welcome to Atelier Space." in guest.locator("#flashes").inner_text()
    assert guest.locator(".who").inner_text() == EMAIL
    guest.goto("/subscription/?tab=usage")
    seats = guest.locator(".usage[data-unit=users]").first
    assert (seats.get_attribute("data-used"), seats.get_attribute("data-subscribed")) == (
        "5", "5")
    guest.goto(link)  # single use
    assert guest.locator("[data-testid=invitation-dead]").get_attribute("data-why") == "used"

    admin.goto("/admin/members")
    assert admin.locator("[data-testid=no-invitations]").is_visible()
    assert EMAIL in admin.locator("table.members").inner_text()
    with app.app_context():
        db.connect(reuse_if_open=True)
        person = User.get(User.email == EMAIL)
        assert passwords.check(person.password_hash, NEW) and person.name == "Nina New"
        assert Membership.get(Membership.user == person.id).active
        assert Invitation.get(Invitation.email == EMAIL).accepted_at is not None
    assert not errors
    admin_context.close()
    guest_context.close()
