"""Admins manage admins (rule ACC-7): promote, demote, deactivate, reactivate and remove a
membership from the members page (HTML with and without htmx) and the API, never the last
active admin of an account; every action leaves an audit entry with who did it."""
from __future__ import annotations

import pytest

from portal.models import AuditEvent, Membership, User
from support.api import call
from support.people import membership

NW = "Northwind Retail"


def user_id(app, email):
    with app.app_context():
        return User.get(User.email == email).id


def post(client, auth, app, email, action, htmx=False):
    token = auth.csrf_token("/admin/members")
    headers = {"X-CSRFToken": token, "HX-Request": "true"} if htmx else {}
    data = {} if htmx else {"csrf_token": token}
    return client.post(f"/admin/members/{user_id(app, email)}/{action}", data=data,
                       headers=headers)


def audit(app, account=NW):
    with app.app_context():
        return [(e.actor_id, e.action, e.detail) for e in AuditEvent.select().where(
            AuditEvent.action.startswith("member.")).order_by(AuditEvent.id)]


def test_acc7_an_admin_promotes_demotes_deactivates_reactivates_and_removes(app, client, auth):
    auth.login(as_="admin@northwind.example")
    nora = user_id(app, "admin@northwind.example")
    mike = "member@northwind.example"
    for action, role, active in (("promote", "admin", True), ("demote", "member", True),
                                 ("deactivate", "member", False), ("activate", "member", True)):
        assert post(client, auth, app, mike, action).status_code == 302
        with app.app_context():
            found = membership(mike)
            assert (found.role, found.active) == (role, active), action
    assert post(client, auth, app, mike, "remove").status_code == 302
    with app.app_context():
        assert not Membership.select().join(User).where(User.email == mike).exists()
        assert User.select().where(User.email == mike).exists()  # the login stays
    assert "member@northwind.example no longer belongs to this account." in client.get(
        "/admin/members").get_data(as_text=True)
    assert audit(app) == [(nora, f"member.{a}", mike) for a in
                          ("promote", "demote", "deactivate", "activate", "remove")]


def test_acc7_nobody_demotes_or_removes_themself(app, client, auth):
    with app.app_context():
        Membership.update(role="admin").where(Membership.user == user_id(
            app, "member@northwind.example")).execute()
    auth.login(as_="admin@northwind.example")
    for action, message in (("demote", "You cannot demote yourself."),
                            ("remove", "You cannot remove yourself."),
                            ("deactivate", "You cannot deactivate yourself.")):
        row = post(client, auth, app, "admin@northwind.example", action, htmx=True)
        assert row.status_code == 200 and message in row.get_data(as_text=True)
        assert 'data-testid="member-error"' in row.get_data(as_text=True)
    with app.app_context():
        assert membership("admin@northwind.example").role == "admin"
    assert audit(app) == []


def test_acc7_the_last_active_admin_cannot_be_demoted_deactivated_or_removed(app, client,
                                                                            auth):
    """With a second admin deactivated, Nora is the last active one: the one service
    refuses every way of taking her away (on the members page a person never acts on
    their own row, so the service is called directly, as the API does)."""
    with app.app_context():
        Membership.update(role="admin").where(Membership.user == user_id(
            app, "member@northwind.example")).execute()
    auth.login(as_="admin@northwind.example")
    assert post(client, auth, app, "member@northwind.example", "deactivate").status_code == 302
    # Mike is an inactive admin now; Nora the last active one: no one else can act, and the
    # service refuses every way of taking her away (the API has no "yourself")
    with app.app_context():
        from portal.accounts import memberships
        from portal.models import Account

        northwind = Account.get(Account.name == NW)
        for change in (lambda: memberships.set_role(northwind, "admin@northwind.example",
                                                    "member"),
                       lambda: memberships.set_active(northwind, "admin@northwind.example",
                                                      False),
                       lambda: memberships.remove(northwind, "admin@northwind.example")):
            with pytest.raises(memberships.MembershipError) as refused:
                change()
            assert refused.value.code == "last_admin"
        assert membership("admin@northwind.example").role == "admin"


def test_acc7_the_api_promotes_demotes_and_removes_with_its_token_in_the_audit(
        app, client, tokens):
    nw = tokens["nw"]
    for path, method in (("/members/admin@northwind.example/demote", "POST"),
                         ("/members/admin@northwind.example", "DELETE")):
        r = call(client, method, "/api/v1" + path, nw)
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "last_admin"
    r = call(client, "POST", "/api/v1/members/member@northwind.example/promote", nw)
    assert r.get_json() == {"result": "promoted", "member": {
        "email": "member@northwind.example", "name": "Mike Member", "role": "admin",
        "active": True}}
    assert call(client, "POST", "/api/v1/members/admin@northwind.example/demote",
                nw).get_json()["result"] == "demoted"
    assert call(client, "DELETE", "/api/v1/members/admin@northwind.example",
                nw).get_json()["result"] == "removed"
    seats = call(client, "GET", "/api/v1/usage", nw).get_json()["seats"]
    assert seats == 1
    assert audit(app) == [
        (None, "member.promote", "member@northwind.example (API token counting product)"),
        (None, "member.demote", "admin@northwind.example (API token counting product)"),
        (None, "member.remove", "admin@northwind.example (API token counting product)")]


def test_acc7_a_refused_change_writes_nothing(app, client, tokens):
    before = audit(app)
    with app.app_context():
        rows = sorted(Membership.select(Membership.id, Membership.role, Membership.active)
                      .tuples())
    call(client, "DELETE", "/api/v1/members/admin@northwind.example", tokens["nw"])
    with app.app_context():
        assert sorted(Membership.select(Membership.id, Membership.role, Membership.active)
                      .tuples()) == rows
    assert audit(app) == before
