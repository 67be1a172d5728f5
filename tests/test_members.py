"""Activating and deactivating members: one service (portal/accounts/memberships.py)
behind the API, the members page and the plan-change wizard (rules ACC-4, ACC-7, ACC-8)."""
import sqlite3
import threading
import time

import pytest

from portal.models import Account, AuditEvent, Membership, Subscription, User
from support.people import membership

ROUTES = {
    "members page": "/admin/members/{id}/deactivate",
    "wizard step 1": "/admin/subscription/{sid}/change/members/{id}/deactivate",
}


def hold_the_account(database_url, account_id):
    """Another writer holding what a member change must wait for: SQLite's write lock,
    or the account's row on PostgreSQL. Returns the function that lets go."""
    if database_url.startswith("sqlite"):
        blocker = sqlite3.connect(database_url.split(":///", 1)[1], timeout=0)
        blocker.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        blocker = psycopg.connect(database_url)
        blocker.execute("SELECT id FROM account WHERE id = %s FOR UPDATE", (account_id,))

    def release():
        blocker.rollback()
        blocker.close()
    return release


RACES = {**ROUTES, "demote": "/admin/members/{id}/demote",
         "remove": "/admin/members/{id}/remove"}


@pytest.mark.parametrize("route", RACES.values(), ids=RACES.keys())
def test_acc7_two_admins_deactivating_each_other_at_once_leave_one_active(
        make_app, database_url, auth_for, route):
    app = make_app()
    with app.app_context():
        ada = User.get(User.email == "admin@atelier.example")
        ben = User.get(User.email == "ben@atelier.example")
        Membership.update(role="admin").where(Membership.user == ben.id).execute()
        atelier = membership(ada.email).account_id
        sid = Subscription.get(Subscription.account == atelier).id
    admins = []
    for me, other in ((ada, ben), (ben, ada)):
        client = app.test_client()
        auth = auth_for(client)
        auth.login(as_=me.email)
        admins.append((client, auth.csrf_token("/admin/members"), other))

    def deactivate(client, token, other):
        client.post(route.format(id=other.id, sid=sid), data={"csrf_token": token})

    release = hold_the_account(database_url, atelier)
    threads = [threading.Thread(target=deactivate, args=admin) for admin in admins]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # both requests are past their login and wait to write
    finally:
        release()
    for thread in threads:
        thread.join(30)
    with app.app_context():
        active = [m.user_id for m in Membership.select().where(
            (Membership.account == atelier) & (Membership.role == "admin") & Membership.active)]
    assert len(active) == 1


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_acc4_each_screen_writes_the_services_audit_entry_and_ends_the_session(
        app, client, auth, auth_for, route):
    member = app.test_client()
    auth_for(member).login(as_="ben@atelier.example")
    assert member.get("/subscription/").status_code == 200
    auth.login(as_="admin@atelier.example")
    with app.app_context():
        ada = User.get(User.email == "admin@atelier.example")
        ben = User.get(User.email == "ben@atelier.example")
        atelier = membership(ada.email).account_id
        sid = Subscription.get(Subscription.account == atelier).id
    client.post(route.format(id=ben.id, sid=sid),
                data={"csrf_token": auth.csrf_token("/admin/members")})
    with app.app_context():
        entries = [(e.actor_id, e.action, e.detail) for e in AuditEvent.select().where(
            (AuditEvent.account == atelier) & AuditEvent.action.startswith("member."))]
        assert not membership(ben.email).active
    assert entries == [(ada.id, "member.deactivate", "ben@atelier.example")]
    assert member.get("/subscription/").status_code == 302  # ACC-8: the session ended


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_acc7_nobody_deactivates_themself(app, client, auth, route):
    auth.login(as_="admin@atelier.example")
    with app.app_context():
        ada = User.get(User.email == "admin@atelier.example")
        sid = Subscription.get(Subscription.account == membership(ada.email).account_id).id
    client.post(route.format(id=ada.id, sid=sid),
                data={"csrf_token": auth.csrf_token("/admin/members")})
    page = client.get("/admin/members").get_data(as_text=True)
    assert "You cannot deactivate yourself." in page
    with app.app_context():
        assert membership(ada.email).active
        assert not AuditEvent.select().where(AuditEvent.action == "member.deactivate").exists()


def test_acc7_the_api_keeps_the_last_active_admin(app_ctx):
    from portal.accounts import memberships

    northwind = Account.get(Account.name == "Northwind Retail")
    with pytest.raises(memberships.MembershipError) as refused:
        memberships.set_active(northwind, "admin@northwind.example", False)
    assert refused.value.code == "last_admin"


def test_acc4_chg1_an_activation_beyond_the_seats_is_refused_with_the_way_out(app, client, auth):
    """Atelier subscribes 5 users and has 4 active: Eve takes the fifth seat; Finn would
    be a sixth, which the seat plan does not bill, so the page says to upgrade first."""
    auth.login(as_="admin@atelier.example")
    with app.app_context():
        eve, finn = (User.get(User.email == f"{n}@atelier.example") for n in ("eve", "finn"))
    token = auth.csrf_token("/admin/members")
    client.post(f"/admin/members/{eve.id}/activate", data={"csrf_token": token})
    client.post(f"/admin/members/{finn.id}/activate", data={"csrf_token": token})
    page = client.get("/admin/members").get_data(as_text=True)
    assert "Every user of the subscription is taken: upgrade to 6 users first" in page
    with app.app_context():
        assert membership(eve.email).active and not membership(finn.email).active
        assert [e.detail for e in AuditEvent.select().where(
            AuditEvent.action == "member.activate")] == ["eve@atelier.example"]


def test_acc4_a_negotiated_account_may_activate_beyond_its_seats(app_ctx):
    """USE-2: a negotiated contract over-allocates (customer success trues it up)."""
    from portal.accounts import memberships

    atelier = Account.get(Account.name == "Atelier Space")
    Account.update(negotiated_contract=True).where(Account.id == atelier.id).execute()
    atelier = Account.get_by_id(atelier.id)
    for email in ("eve@atelier.example", "finn@atelier.example"):
        assert memberships.set_active(atelier, email, True).result == "activated"
