"""Forgotten passwords: rule ACC-8 (issue #15 item 4). A signed, single-use link valid one
hour, mailed through the real SMTP server; the same answer whatever the address."""
import datetime as dt
import re

import pytest

from portal import clock
from portal.accounts import password_reset
from portal.db import db
from portal.models import AuditEvent, Delivery, User
from support.api import parts
from support.database import DEMO_TODAY

NEW = "Copper-Meadow-8052"
KNOWN, UNKNOWN = "member@northwind.example", "nobody@northwind.example"


def token_of(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def forgot(client, email, address="127.0.0.1", close=True):
    response = client.post("/password/forgot", environ_base={"REMOTE_ADDR": address}, data={
        "email": email, "csrf_token": token_of(client, "/password/forgot")})
    if close:
        response.close()  # the lookup and the mail run once the answer is sent
    return response


def link_in(mail) -> str:
    return re.search(r"http://localhost(/password/reset/\S+)", parts(mail)["text/plain"]).group(1)


def set_new(client, path, password=NEW, confirm=None, token_from=None):
    return client.post(path, data={"csrf_token": token_of(client, token_from or path),
                                   "new_password": password,
                                   "confirm": password if confirm is None else confirm})


def page_text(response) -> str:
    """The page without its CSRF tokens (signed with the second they were made in)."""
    return re.sub(r'value="[^"]+"|"X-CSRFToken": "[^"]+"', "", response.get_data(as_text=True))


def test_acc8_forgot_answers_the_same_for_a_known_and_an_unknown_address(
        mail_app, mail_client, smtp_server):
    known, unknown = forgot(mail_client, KNOWN), forgot(mail_client, UNKNOWN)
    assert known.status_code == unknown.status_code == 200
    assert known.headers.get("Retry-After") == unknown.headers.get("Retry-After")
    assert page_text(known) == page_text(unknown)
    assert "If an account uses this address" in page_text(known)
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == KNOWN and mail["Subject"] == "Reset your password"
    with mail_app.app_context():
        assert [d.kind for d in Delivery.select().where(
            Delivery.kind == "password_reset_requested")] == ["password_reset_requested"] * 2
        assert AuditEvent.select().where(AuditEvent.action == "password.reset_requested",
                                         AuditEvent.detail == KNOWN).count() == 1


def test_acc8_forgot_does_no_lookup_before_the_answer_is_sent(mail_app, mail_client):
    """The request takes the same path for every address: nothing is looked up, written
    or mailed until the answer has gone (then only for a known person)."""
    response = forgot(mail_client, KNOWN, close=False)
    assert response.status_code == 200
    with mail_app.app_context():
        assert not Delivery.select().where(Delivery.kind == "password_reset_requested").exists()
        assert not AuditEvent.select().where(
            AuditEvent.action == "password.reset_requested").exists()
    response.close()
    with mail_app.app_context():
        assert Delivery.select().where(Delivery.kind == "password_reset_requested").exists()


def test_acc8_a_deactivated_person_gets_no_link(mail_app, mail_client, smtp_server):
    assert page_text(forgot(mail_client, "eve@atelier.example")) == page_text(
        forgot(mail_client, UNKNOWN))
    forgot(mail_client, KNOWN)  # proves the server was listening
    assert [m["To"] for m in smtp_server.wait_for(1)] == [KNOWN]


def test_acc8_the_mailed_link_sets_a_new_password_ends_every_session_and_logs_in(
        mail_app, mail_client, auth_for, smtp_server):
    elsewhere = mail_app.test_client()
    auth_for(elsewhere).login(as_=KNOWN)
    forgot(mail_client, KNOWN)
    path = link_in(smtp_server.wait_for(1)[0])
    page = mail_client.get(path)
    assert page.status_code == 200 and KNOWN in page.get_data(as_text=True)
    done = set_new(mail_client, path)
    assert done.status_code == 303 and done.location == "/subscription/"
    home = mail_client.get("/subscription/")
    assert home.status_code == 200  # logged in by the reset
    assert "Your new password is set." in home.get_data(as_text=True)
    assert elsewhere.get("/subscription/").status_code == 302  # the other session ended
    assert auth_for(elsewhere).login(as_=KNOWN, password=NEW).status_code == 302
    changed = smtp_server.wait_for(2)[1]
    assert changed["To"] == KNOWN and changed["Subject"] == "Your password was changed"
    with mail_app.app_context():
        person = User.get(User.email == KNOWN)
        entry = AuditEvent.get(AuditEvent.action == "password.reset")
        assert entry.actor_id == person.id


def test_acc8_a_reset_link_is_single_use(mail_app, mail_client, smtp_server):
    forgot(mail_client, KNOWN)
    forgot(mail_client, KNOWN, address="127.0.0.2")
    first, second = (link_in(m) for m in smtp_server.wait_for(2))
    assert set_new(mail_client, first).status_code == 303
    mail_client.post("/logout", data={"csrf_token": token_of(mail_client, "/password")})
    for path in (first, second):  # used, and the other one sent before it
        again = mail_client.get(path)
        assert again.status_code == 410
        assert "This link no longer works" in again.get_data(as_text=True)
        assert set_new(mail_client, path, password="Another-Brook-1234",
                       token_from="/password/forgot").status_code == 410
    with mail_app.app_context():
        assert AuditEvent.select().where(AuditEvent.action == "password.reset").count() == 1


@pytest.mark.app_config(TODAY=DEMO_TODAY)
def test_acc8_a_reset_link_expires_after_an_hour_on_the_apps_clock(app, client):
    with app.test_request_context():
        db.connect(reuse_if_open=True)
        person = User.get(User.email == KNOWN)
        with clock.pinned(DEMO_TODAY - dt.timedelta(days=1)):
            old = password_reset.make_token(person)  # a day old on the app's clock
        fresh = password_reset.make_token(person)
        assert password_reset.user_for(fresh).id == person.id
        assert password_reset.user_for(old) is None
    assert client.get(f"/password/reset/{old}").status_code == 410
    assert client.get(f"/password/reset/{fresh}").status_code == 200


def test_acc8_a_forged_or_foreign_link_is_refused(app, client, make_app):
    assert client.get("/password/reset/not-a-token").status_code == 410
    other = make_app(SECRET_KEY="another-secret-key-of-32-bytes-or-more-123")
    with other.test_request_context():
        db.connect(reuse_if_open=True)
        forged = password_reset.make_token(User.get(User.email == KNOWN))
    assert client.get(f"/password/reset/{forged}").status_code == 410


def test_acc8_the_policy_applies_to_a_reset(mail_app, mail_client, smtp_server):
    forgot(mail_client, KNOWN)
    path = link_in(smtp_server.wait_for(1)[0])
    refused = set_new(mail_client, path, password="password1")
    assert refused.status_code == 400
    assert 'id="new_password-error">Use at least 10 characters.' in refused.get_data(
        as_text=True)
    refused = set_new(mail_client, path, password="1q2w3e4r5t")
    assert "one of the most common ones" in refused.get_data(as_text=True)
    assert mail_client.get(path).status_code == 200  # still live: nothing was set


@pytest.mark.app_config(LOGIN_RATE_LIMIT="3 per minute")
def test_acc8_forgot_is_limited_per_address_asked_for_and_per_client(app, client):
    for n in range(3):
        assert forgot(client, KNOWN, address=f"10.0.0.{n}").status_code == 200
    refused = forgot(client, KNOWN, address="10.0.0.9")  # the same address from a 4th client
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert forgot(client, UNKNOWN, address="10.0.1.1").status_code == 200  # another address
    for n in range(2):
        forgot(client, f"x{n}@example.com", address="10.0.1.1")
    assert forgot(client, "y@example.com", address="10.0.1.1").status_code == 429  # a client
    # an unknown address is limited the same way as a known one
    for n in range(3):
        forgot(client, UNKNOWN, address=f"10.0.2.{n}")
    assert forgot(client, UNKNOWN, address="10.0.2.9").status_code == 429
