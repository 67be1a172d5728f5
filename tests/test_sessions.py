"""Sessions end for real (rule ACC-8): logout, a new password and deactivation end every
copy of a session; a login starts a new session with a new CSRF token; an unknown email
costs the same hash check as a known one (ACC-6: no answer tells which emails exist)."""
import re

import pytest

from portal.accounts import passwords
from portal.db import db
from portal.models import User


def copy_session(source, target):
    """Give ``target`` the session cookie of ``source``, as a thief copying it would."""
    target.set_cookie("session", source.get_cookie("session").value)


def user_id(app, email):
    with app.app_context():
        return User.get(User.email == email).id


def test_acc8_a_cookie_copied_before_logout_is_refused_after_it(app, client, auth):
    auth.login(as_="admin@northwind.example")
    thief = app.test_client()
    copy_session(client, thief)
    assert thief.get("/subscription/").status_code == 200  # the copy works while logged in
    assert auth.logout().status_code == 302
    refused = thief.get("/subscription/")
    assert refused.status_code == 302 and refused.location.startswith("/login")
    assert client.get("/subscription/").status_code == 302


def test_acc8_logging_in_again_after_logout_works(app, client, auth):
    auth.login()
    auth.logout()
    assert auth.login().status_code == 302
    assert client.get("/subscription/").status_code == 200


def test_acc8_deactivating_a_member_ends_their_session(app, client, auth, auth_for):
    member = app.test_client()
    auth_for(member).login(as_="member@northwind.example")
    assert member.get("/subscription/").status_code == 200
    auth.login(as_="admin@northwind.example")
    person = user_id(app, "member@northwind.example")
    for action in ("deactivate", "activate"):  # through the real admin route (ACC-4)
        response = client.post(f"/admin/members/{person}/{action}",
                               data={"csrf_token": auth.csrf_token("/admin/members")})
        assert response.status_code == 302
    # active again, but the session from before the deactivation stays ended
    assert member.get("/subscription/").status_code == 302
    assert auth_for(member).login(as_="member@northwind.example").status_code == 302


def test_acc8_deactivation_through_the_api_path_ends_the_session(app, auth_for):
    from portal.accounts import memberships
    from portal.models import Account

    member = app.test_client()
    auth_for(member).login(as_="member@northwind.example")
    with app.app_context():
        memberships.set_active(Account.get(Account.name == "Northwind Retail"),
                               "member@northwind.example", False)
    assert member.get("/subscription/").status_code == 302


def test_acc8_a_new_password_ends_every_session(app, client, auth):
    auth.login(as_="member@northwind.example")
    with app.app_context():
        person = User.get(User.email == "member@northwind.example")
        passwords.set_password(person, "a new long password")
        person.save()
    assert client.get("/subscription/").status_code == 302
    assert auth.login(as_="member@northwind.example",
                      password="a new long password").status_code == 302


def test_acc8_saving_a_user_loaded_before_logout_does_not_revive_the_session(app, client, auth):
    auth.login(as_="member@northwind.example")
    thief = app.test_client()
    copy_session(client, thief)
    with app.app_context():
        stale = User.get(User.email == "member@northwind.example")  # loaded before logout
    auth.logout()
    with app.app_context():
        stale.language = "fr"
        stale.save()  # writes only what changed, not the old session key
    assert thief.get("/subscription/").status_code == 302


def test_acc8_login_renews_the_session_and_its_csrf_token(app, client, auth):
    before = auth.csrf_token("/login")
    auth.login()
    after = auth.csrf_token("/")
    assert before != after
    # the anonymous session's token no longer passes
    refused = client.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 400
    assert client.get("/subscription/").status_code == 200


def test_the_session_check_rides_on_the_one_user_query(app, client, auth):
    auth.login()
    client.get("/subscription/")
    statements = []
    original = db.obj.execute_sql
    db.obj.execute_sql = lambda sql, *a, **k: statements.append(sql) or original(sql, *a, **k)
    try:
        assert client.get("/subscription/").status_code == 200
    finally:
        del db.obj.execute_sql
    assert len([s for s in statements if re.search(r'FROM "user"', s)]) == 1


@pytest.fixture
def hash_checks(monkeypatch):
    """Every password hash checked, through portal.accounts.passwords.check."""
    checked = []
    original = passwords.check
    monkeypatch.setattr(passwords, "check",
                        lambda hashed, password: checked.append(hashed) or original(hashed,
                                                                                    password))
    return checked


def test_acc6_an_unknown_email_costs_the_same_hash_check(app, auth, hash_checks):
    assert auth.login(as_="nobody@northwind.example", password="guess").status_code == 401
    assert auth.login(as_="admin@northwind.example", password="guess").status_code == 401
    unknown, known = hash_checks
    with app.app_context():
        real = User.get(User.email == "admin@northwind.example").password_hash
    assert known == real and unknown != real
    # the same hasher with the same cost: method and parameters before the salt
    assert unknown.split("$")[0] == real.split("$")[0]


def test_acc6_a_deactivated_user_is_hashed_then_refused(auth, hash_checks):
    assert auth.login(as_="eve@atelier.example").status_code == 401
    assert len(hash_checks) == 1
