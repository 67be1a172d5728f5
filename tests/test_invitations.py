"""Invitations: rule ACC-6 (issue #15 items 2 and 3). An admin invites by email from the
members page; the mail comes through the real SMTP server; the signed link works once,
for 7 days; a resend or a revocation ends it; no answer differs between an address with
a login elsewhere and a new one; seats are counted (CHG-1's way out when full)."""
import datetime as dt
import re

import pytest

from portal import clock
from portal.accounts import invitations, seats
from portal.db import db
from portal.models import Account, AuditEvent, Invitation, Membership, User
from support.api import parts, snapshot

ATELIER_ADMIN = "admin@atelier.example"  # Business seats: 5 users, 4 active, 2 licenses used
CORNER_ADMIN = "admin@corner.example"  # a device plan: people count against no seat
NEW_PASSWORD = "Copper-Meadow-8052"


def page_token(client, path="/admin/members"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def invite(client, email, role="member", addon=False):
    data = {"csrf_token": page_token(client), "email": email, "role": role}
    if addon:
        data["addon_license"] = "y"
    response = client.post("/admin/members/invite", data=data)
    response.close()  # the mail is handed over once the answer is sent
    return response


def link_in(mail) -> str:
    return re.search(r"http://localhost(/invitations/\S+)", parts(mail)["text/plain"]).group(1)


def accept_new(client, path, name="Nina New", password=NEW_PASSWORD, confirm=None):
    return client.post(path, data={"csrf_token": page_token(client, path), "name": name,
                                   "new_password": password,
                                   "confirm": password if confirm is None else confirm})


def accept_with_login(client, path, password):
    return client.post(path, data={"csrf_token": page_token(client, path),
                                   "password": password})


def normalised(text: str, email: str) -> str:
    """A page without what differs by design: the address typed, ids, CSRF tokens and
    the second the link was mailed in."""
    text = text.replace(email, "EMAIL")
    text = re.sub(r"\d{1,2}:\d{2}:\d{2}\W*[AP]M", "TIME", text)
    text = re.sub(r'value="[^"]+"|"X-CSRFToken": "[^"]+"', "", text)
    return re.sub(r"invitation[s]?[-/]\d+", "invitation-ID", text)


def test_acc6_an_invited_new_person_sets_a_password_and_lands_logged_in(
        mail_app, mail_client, auth_for, smtp_server):
    auth_for(mail_client).login(as_=ATELIER_ADMIN)
    sent = invite(mail_client, "nina@atelier.example", addon=False)
    assert sent.status_code == 303 and sent.location == "/admin/members"
    page = mail_client.get("/admin/members").get_data(as_text=True)
    assert "An invitation was sent to nina@atelier.example." in page
    assert 'data-testid="pending-invitations"' in page and "nina@atelier.example" in page
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "nina@atelier.example"
    assert mail["Subject"] == "You are invited to Atelier Space"
    assert "choose your name and password" in parts(mail)["text/plain"]
    path = link_in(mail)
    mail_client.post("/logout", data={"csrf_token": page_token(mail_client, "/password")})
    form = mail_client.get(path)
    assert form.status_code == 200 and "Join Atelier Space" in form.get_data(as_text=True)
    refused = accept_new(mail_client, path, password="password1")
    assert refused.status_code == 400
    assert 'id="new_password-error">Use at least 10 characters.' in refused.get_data(
        as_text=True)
    done = accept_new(mail_client, path)
    assert done.status_code == 303 and done.location == "/subscription/"
    home = mail_client.get("/subscription/")
    assert home.status_code == 200 and "Welcome to Atelier Space." in home.get_data(as_text=True)
    with mail_app.app_context():
        person = User.get(User.email == "nina@atelier.example")
        assert person.name == "Nina New" and person.password_hash != "!"
        membership = Membership.get(Membership.user == person.id)
        assert membership.account.name == "Atelier Space" and membership.active
        invitation = Invitation.get(Invitation.email == "nina@atelier.example")
        assert invitation.accepted_at is not None
        actions = [e.action for e in AuditEvent.select().where(
            AuditEvent.detail.startswith("nina@atelier.example")).order_by(AuditEvent.id)]
        assert actions == ["invitation.send", "member.add", "invitation.accept"]
        admin = User.get(User.email == ATELIER_ADMIN)
        assert AuditEvent.get(AuditEvent.action == "invitation.send").actor_id == admin.id
        assert AuditEvent.get(AuditEvent.action == "invitation.accept").actor_id == person.id
    again = mail_client.get(path)  # ACC-6: single use
    assert again.status_code == 410
    assert 'data-why="used"' in again.get_data(as_text=True)


def test_acc6_a_person_with_a_login_elsewhere_accepts_with_it(
        mail_app, mail_client, auth_for, smtp_server):
    auth_for(mail_client).login(as_=ATELIER_ADMIN)
    invite(mail_client, CORNER_ADMIN)
    [mail] = smtp_server.wait_for(1)
    assert "accept with your login" in parts(mail)["text/plain"]
    path = link_in(mail)
    page = mail_client.get(path).get_data(as_text=True)
    assert "You already have a login" in page and 'name="new_password"' not in page
    wrong = accept_with_login(mail_client, path, "not-the-password")
    assert wrong.status_code == 400
    assert 'id="password-error">This is not the password of admin@corner.example.' in \
        wrong.get_data(as_text=True)
    from portal import demo
    done = accept_with_login(mail_client, path, demo.PASSWORD)
    assert done.status_code == 303 and done.location == "/subscription/"
    assert "Atelier Space" in mail_client.get("/subscription/").get_data(as_text=True)
    with mail_app.app_context():
        person = User.get(User.email == CORNER_ADMIN)
        assert sorted((m.account.name, m.role) for m in person.memberships) == [
            ("Atelier Space", "member"), ("Corner Bakeries", "admin")]
        assert person.name == "Claire Admin"  # their own name, untouched


def test_acc6_no_answer_differs_between_a_login_elsewhere_and_a_new_address(
        app, client, auth):
    """The admin's answers (status, headers, redirect, the page after it) are the same
    for an address with a login in another account and a new one, but for the address."""
    auth.login(as_=CORNER_ADMIN)
    seen = []
    for email in (ATELIER_ADMIN, "nobody-yet@corner.example"):
        response = invite(client, email)
        page = client.get("/admin/members")
        seen.append((response.status_code, response.location, sorted(
            (k, v) for k, v in response.headers if k not in ("Set-Cookie", "Date")),
            normalised(response.get_data(as_text=True), email),
            page.status_code, normalised(page.get_data(as_text=True), email)))
        with app.app_context():
            pending = Invitation.get(Invitation.email == email)
        client.post(f"/admin/members/invitations/{pending.id}/revoke",
                    data={"csrf_token": page_token(client)})
    assert seen[0] == seen[1]
    assert "An invitation was sent to EMAIL." in seen[0][-1]


def test_acc6_resend_ends_the_old_link_and_revoke_ends_the_new_one(
        mail_app, mail_client, auth_for, smtp_server):
    auth_for(mail_client).login(as_=CORNER_ADMIN)
    invite(mail_client, "rae@corner.example")
    first = link_in(smtp_server.wait_for(1)[0])
    with mail_app.app_context():
        invitation = Invitation.get(Invitation.email == "rae@corner.example")
    resent = mail_client.post(f"/admin/members/invitations/{invitation.id}/resend",
                              data={"csrf_token": page_token(mail_client)})
    resent.close()
    assert resent.status_code == 303
    assert "was sent again" in mail_client.get("/admin/members").get_data(as_text=True)
    second = link_in(smtp_server.wait_for(2)[1])
    assert first != second
    old = mail_client.get(first)
    assert old.status_code == 410 and 'data-why="replaced"' in old.get_data(as_text=True)
    assert mail_client.get(second).status_code == 200
    revoked = mail_client.post(f"/admin/members/invitations/{invitation.id}/revoke",
                               data={"csrf_token": page_token(mail_client)})
    assert revoked.status_code == 303
    page = mail_client.get("/admin/members").get_data(as_text=True)
    assert "was revoked" in page and 'data-testid="no-invitations"' in page
    dead = mail_client.get(second)
    assert dead.status_code == 410 and 'data-why="revoked"' in dead.get_data(as_text=True)
    with mail_app.app_context():
        assert [e.action for e in AuditEvent.select().where(
            AuditEvent.action.startswith("invitation.")).order_by(AuditEvent.id)] == [
            "invitation.send", "invitation.resend", "invitation.revoke"]
    # a revoked invitation cannot be resent nor revoked again
    again = mail_client.post(f"/admin/members/invitations/{invitation.id}/resend",
                             data={"csrf_token": page_token(mail_client)}, follow_redirects=True)
    assert "This invitation is no longer pending." in again.get_data(as_text=True)


def test_acc6_a_link_expires_after_7_days_on_the_apps_clock(app, client):
    with app.test_request_context():
        db.connect(reuse_if_open=True)
        corner = Account.get(Account.name == "Corner Bakeries")
        link = lambda token: token  # noqa: E731
        with clock.pinned(clock.today() - dt.timedelta(days=8)):
            old = invitations.invite(corner, "old@corner.example", link).events[0].link
        with clock.pinned(clock.today() - dt.timedelta(days=6)):
            recent = invitations.invite(corner, "recent@corner.example", link).events[0].link
        assert [i.email for i in invitations.pending_for(corner)] == ["recent@corner.example"]
        with pytest.raises(invitations.LinkDead) as dead:
            invitations.invitation_for(old)
        assert dead.value.why == "expired"
        assert invitations.invitation_for(recent).email == "recent@corner.example"
    expired = client.get(f"/invitations/{old}")
    assert expired.status_code == 410 and 'data-why="expired"' in expired.get_data(as_text=True)
    assert client.get(f"/invitations/{recent}").status_code == 200
    assert client.get("/invitations/forged-token").status_code == 410


def test_acc6_a_link_signed_with_another_key_is_refused(app, client, make_app):
    other = make_app(SECRET_KEY="another-secret-key-of-32-bytes-or-more-123")
    with other.test_request_context():
        db.connect(reuse_if_open=True)
        corner = Account.get(Account.name == "Corner Bakeries")
        forged = invitations.invite(corner, "x@corner.example", lambda t: t).events[0].link
    answer = client.get(f"/invitations/{forged}")
    assert answer.status_code == 410 and 'data-why="invalid"' in answer.get_data(as_text=True)


def test_acc6_chg1_an_invitation_beyond_the_seats_is_refused_with_the_way_to_upgrade(
        app, client, auth):
    """Atelier has 5 users and 4 active: the first invitation reserves the last seat, the
    next one is refused with "upgrade to 6 users" and a link to the wizard."""
    auth.login(as_=ATELIER_ADMIN)
    assert invite(client, "one@atelier.example").status_code == 303
    page = client.get("/admin/members").get_data(as_text=True)
    assert "4 of 5 users taken, 1 reserved by pending invitations." in page
    before = snapshot(app)
    refused = invite(client, "two@atelier.example")
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "upgrade to 6 users first" in text
    with app.app_context():
        sub = Account.get(Account.name == "Atelier Space").subscriptions.get()
    assert f'href="/admin/subscription/{sub.id}/change?quantity=6"' in text
    assert snapshot(app) == before
    with app.app_context():
        assert not Invitation.select().where(Invitation.email == "two@atelier.example").exists()


def test_acc6_an_add_on_license_beyond_the_subscribed_ones_is_refused(app, client, auth):
    auth.login(as_=ATELIER_ADMIN)  # 2 licenses, held by Ada and Ben
    refused = invite(client, "lic@atelier.example", addon=True)
    assert refused.status_code == 409
    assert "upgrade to 3 add-on licenses first" in refused.get_data(as_text=True)
    assert invite(client, "lic@atelier.example").status_code == 303  # without one: fine


def test_acc6_use2_a_negotiated_account_over_allocates_and_the_bar_shows_it(
        mail_app, mail_client, auth_for, smtp_server):
    """Northwind's 2 Team seats are full; on a negotiated contract (CHG-7: no wizard) the
    invitation is accepted and the seats bar shows 3 used of 2, one over (USE-2)."""
    with mail_app.app_context():
        Account.update(negotiated_contract=True).where(
            Account.name == "Northwind Retail").execute()
    auth_for(mail_client).login(as_="admin@northwind.example")
    assert invite(mail_client, "extra@northwind.example").status_code == 303
    path = link_in(smtp_server.wait_for(1)[0])
    assert accept_new(mail_client, path).status_code == 303
    page = mail_client.get("/subscription/?tab=usage").get_data(as_text=True)
    bar = re.search(r'<div class="usage" data-used="(\d+)" data-subscribed="(\d+)"\s+'
                    r'data-state="(\w+)" data-unit="users"', page)
    assert bar.groups() == ("3", "2", "over")


def test_acc6_a_full_account_refuses_to_invite(app, client, auth):
    auth.login(as_="admin@northwind.example")  # Team: 2 users, both active
    refused = invite(client, "extra@northwind.example")
    assert refused.status_code == 409 and "upgrade to 3 users first" in refused.get_data(
        as_text=True)


def test_acc6_an_invitation_asks_a_valid_address_beside_the_field(app, client, auth):
    auth.login(as_=CORNER_ADMIN)
    refused = invite(client, "not-an-address")
    assert refused.status_code == 400
    assert re.search(r'id="email-error">[^<]*email', refused.get_data(as_text=True))
    with app.app_context():
        assert not Invitation.select().exists()


def test_acc6_a_member_of_the_account_is_not_invited_again(app, client, auth):
    auth.login(as_=CORNER_ADMIN)
    answer = invite(client, "consultant@example.com")
    assert answer.status_code == 303
    assert "is already a member of this account" in client.get("/admin/members").get_data(
        as_text=True)
    invite(client, "twice@corner.example")
    invite(client, "twice@corner.example")
    with app.app_context():
        assert Invitation.select().where(Invitation.email == "twice@corner.example").count() == 1


def test_acc6_only_the_accounts_own_invitations_can_be_resent_or_revoked(app, client, auth):
    with app.test_request_context():
        db.connect(reuse_if_open=True)
        atelier = Account.get(Account.name == "Atelier Space")
        theirs = invitations.invite(atelier, "z@atelier.example", lambda t: t).invitation
    auth.login(as_=CORNER_ADMIN)
    for action in ("resend", "revoke"):
        answer = client.post(f"/admin/members/invitations/{theirs.id}/{action}",
                             data={"csrf_token": page_token(client)})
        assert answer.status_code == 404
    with app.app_context():
        assert Invitation.get_by_id(theirs.id).revoked_at is None
        assert Invitation.get_by_id(theirs.id).sent_count == 1


def test_acc6_the_invitation_mail_is_in_the_accounts_language(
        mail_app, mail_client, auth_for, smtp_server):
    with mail_app.app_context():
        Account.update(language="fr").where(Account.name == "Corner Bakeries").execute()
    auth_for(mail_client).login(as_=CORNER_ADMIN)
    invite(mail_client, "lea@corner.example")
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == "Vous êtes invité(e) à rejoindre Corner Bakeries"
    assert "choisir votre nom et votre mot de passe" in parts(mail)["text/plain"]


def test_acc6_seats_count_pending_invitations_but_not_expired_ones(app_ctx):
    atelier = Account.get(Account.name == "Atelier Space")
    with app_ctx.test_request_context():
        with clock.pinned(clock.today() - dt.timedelta(days=8)):
            invitations.invite(atelier, "stale@atelier.example", lambda t: t)
        state = seats.seats_of(atelier, clock.now())
        assert (state.users, state.taken, state.reserved) == (5, 4, 0)
        invitations.invite(atelier, "fresh@atelier.example", lambda t: t)
        assert seats.seats_of(atelier, clock.now()).reserved == 1
        with pytest.raises(seats.SeatsFull) as full:
            seats.check_room(atelier, False, clock.now())
        assert (full.value.unit, full.value.needed) == ("users", 6)


# --- an operator invited from the command line (issue #16 item 1) ---

def test_operators_create_invite_mails_a_link_to_choose_the_password(
        mail_app, mail_client, smtp_server):
    runner = mail_app.test_cli_runner()
    done = runner.invoke(args=["operators", "create", "ops@example.com", "--invite",
                               "--url", "https://portal.example.com"])
    assert done.exit_code == 0, done.output
    assert "a mail with a link to choose a password" in done.output
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "ops@example.com"
    assert mail["Subject"] == "Choose your operator password"
    path = re.search(r"https://portal\.example\.com(/password/welcome/\S+)",
                     parts(mail)["text/plain"]).group(1)
    with mail_app.app_context():
        assert User.get(User.email == "ops@example.com").is_operator
    refused = mail_client.post("/login", data={  # no usable password before the link
        "email": "ops@example.com", "password": "!",
        "csrf_token": page_token(mail_client, "/login")})
    assert refused.status_code == 401
    page = mail_client.get(path)
    assert page.status_code == 200
    done = mail_client.post(path, data={"csrf_token": page_token(mail_client, path),
                                        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.location == "/operator/"
    assert mail_client.get("/operator/").status_code == 200
    assert mail_client.get(path).status_code == 410  # single use


def test_operators_create_invite_needs_mail_and_an_address(app, runner):
    refused = runner.invoke(args=["operators", "create", "ops@example.com", "--invite",
                                  "--url", "https://portal.example.com"])
    assert refused.exit_code == 1 and "mail is not configured" in refused.output
    with app.app_context():
        assert not User.select().where(User.email == "ops@example.com").exists()


def test_operators_create_invite_asks_for_the_portals_address(make_app, smtp_server):
    runner = make_app(**smtp_server.config()).test_cli_runner()
    refused = runner.invoke(args=["operators", "create", "ops@example.com", "--invite"])
    assert refused.exit_code == 1 and "--url" in refused.output
