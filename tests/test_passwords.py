"""Changing a password and the password policy: rule ACC-8 (issue #15 item 4)."""
import re

import pytest

from portal import demo
from portal.accounts import password_policy, passwords
from portal.models import AuditEvent, User
from support.api import parts

NEW = "Lantern-Orchard-4417"


def change(client, auth, current=demo.PASSWORD, new=NEW, confirm=None):
    token = auth.csrf_token("/password")
    return client.post("/password", data={"csrf_token": token, "current_password": current,
                                          "new_password": new,
                                          "confirm": new if confirm is None else confirm})


def test_acc8_a_change_ends_every_other_session_and_keeps_this_one(
        mail_app, auth_for, smtp_server):
    here, elsewhere = mail_app.test_client(), mail_app.test_client()
    auth_for(elsewhere).login(as_="member@northwind.example")
    auth = auth_for(here)
    auth.login(as_="member@northwind.example")
    response = change(here, auth)
    assert response.status_code == 303 and response.location == "/subscription/"
    page = here.get("/subscription/")
    assert page.status_code == 200  # this session stays logged in
    assert "Your password was changed." in page.get_data(as_text=True)
    assert elsewhere.get("/subscription/").status_code == 302  # the other one is logged out
    assert auth_for(elsewhere).login(as_="member@northwind.example").status_code == 401
    assert auth_for(elsewhere).login(as_="member@northwind.example",
                                     password=NEW).status_code == 302
    with mail_app.app_context():
        person = User.get(User.email == "member@northwind.example")
        entry = AuditEvent.get(AuditEvent.action == "password.change")
        assert entry.actor_id == person.id and entry.account_id == person.account_id
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "member@northwind.example"
    assert mail["Subject"] == "Your password was changed"
    assert NEW not in mail.as_string()
    assert "Every other session of yours was logged out." in parts(mail)["text/plain"]


def test_acc8_an_operator_changes_their_password_too(client, auth):
    auth.login(as_="operator@example.com")
    assert change(client, auth).status_code == 303
    assert client.get("/operator/").status_code == 200


def test_acc8_a_wrong_current_password_changes_nothing(app, client, auth):
    auth.login()
    with app.app_context():
        before = User.get(User.email == "admin@northwind.example").password_hash
    response = change(client, auth, current="not-my-password-at-all")
    assert response.status_code == 400
    assert re.search(r'id="current_password-error">This is not your current password',
                     response.get_data(as_text=True))
    with app.app_context():
        assert User.get(User.email == "admin@northwind.example").password_hash == before
        assert not AuditEvent.select().where(AuditEvent.action == "password.change").exists()


@pytest.mark.parametrize("new, confirm, message", [
    ("short-pw", None, "Use at least 10 characters."),
    ("qwertyuiop", None, "This password is one of the most common ones: choose another."),
    ("Password123", None, "This password is one of the most common ones: choose another."),
    (NEW, NEW + "x", "The two passwords differ."),
])
def test_acc8_the_policy_is_said_beside_the_field(app, client, auth, new, confirm, message):
    auth.login()
    response = change(client, auth, new=new, confirm=confirm)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    field = "confirm" if confirm else "new_password"
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in text
    assert auth.login(password=demo.PASSWORD).status_code == 302  # unchanged


def test_acc8_the_policy_errors_in_french(app, client, auth):
    auth.login()
    token = auth.csrf_token("/password")
    response = client.post("/password", headers={"Accept-Language": "fr"}, data={
        "csrf_token": token, "current_password": demo.PASSWORD, "new_password": "azertyuiop",
        "confirm": "azertyuiop"})
    text = response.get_data(as_text=True)
    assert "Ce mot de passe fait partie des plus courants\u00a0: choisissez-en un autre." in text
    assert "Changer votre mot de passe" in text


def test_acc8_the_policy_list_is_the_10000_most_common():
    common = password_policy.common_passwords()
    assert len(common) >= 9_900  # a few entries differ only by case
    assert "password" in common and "qwertyuiop" in common
    assert password_policy.problem("Iddqd12345") is None  # rank > 10,000: not refused
    assert password_policy.problem("1234567890") == password_policy.TOO_COMMON
    assert password_policy.problem("x" * 9) == password_policy.TOO_SHORT
    assert password_policy.problem(NEW) is None


def test_acc8_set_password_applies_the_policy(app_ctx):
    person = User.get(User.email == "member@northwind.example")
    with pytest.raises(password_policy.PasswordRefused):
        passwords.set_password(person, "password12")
    passwords.set_password(person, NEW)
    assert passwords.check(person.password_hash, NEW)


def test_acc8_the_demo_password_follows_the_policy():
    assert password_policy.problem(demo.PASSWORD) is None
