"""One login in several accounts (rule ACC-5): the account is chosen after login, switched
from the header, checked against an active membership on every request, and working in
one account never shows another's data."""
from __future__ import annotations

import io
import re

import pytest

from portal import demo
from portal.models import Account, Device, Invoice, Location, Membership, Quote, User
from support.people import join
from support.routes import (ACCOUNT, ADMIN, ADMIN_OR_OPERATOR, FOREIGN, LOGGED_IN, OWN, calls,
                            make_objects, rule_for)

A, B = OWN, FOREIGN  # Northwind Retail (A) and Atelier Space (B): both with every kind of row
SWITCHER = re.compile(r'<form[^>]*data-testid="account-switcher".*?</form>', re.S)


@pytest.fixture
def app(make_app):
    """The demo consultant (a member of Corner Bakeries) is also an admin of A and of B."""
    application = make_app()
    make_objects(application)
    with application.app_context():
        join(demo.CONSULTANT, A, role="admin")
        join(demo.CONSULTANT, B, role="admin")
    return application


def account_id(app, name):
    with app.app_context():
        return Account.get(Account.name == name).id


def switch(client, auth, app, name):
    return client.post("/accounts/switch", data={"account_id": account_id(app, name),
                                                 "csrf_token": auth.csrf_token("/accounts")})


def a_markers(app) -> set[str]:
    """What only account A shows: its name, people, places, serials, document numbers."""
    with app.app_context():
        a = Account.get(Account.name == A)
        found = {a.name, "@northwind.example", "Nora Admin", "Mike Member"}
        found |= {d.serial for d in Device.select().where(Device.account == a)}
        found |= {loc.name for loc in Location.select().where(Location.account == a)}
        found |= {i.number for i in Invoice.select().where(Invoice.account == a)}
        found |= {q.number for q in Quote.select().where(Quote.account == a)}
    return found


def text_of(response) -> str:
    if response.mimetype == "application/pdf":
        from pypdf import PdfReader

        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    # the person's own list of accounts is theirs to see: the switcher names A
    return SWITCHER.sub("", response.get_data(as_text=True))


def test_acc5_a_person_in_several_accounts_picks_one_after_login(app, client, auth):
    response = auth.login(as_=demo.CONSULTANT)
    assert response.status_code == 302 and response.location.endswith("/accounts")
    assert client.get("/subscription/").location.endswith("/accounts")  # none chosen yet
    page = client.get("/accounts").get_data(as_text=True)
    assert [int(i) for i in re.findall(r'data-account-choice="(\d+)"', page)] == [
        account_id(app, n) for n in ("Atelier Space", "Corner Bakeries", "Northwind Retail")]
    response = switch(client, auth, app, B)
    assert response.status_code == 303 and response.location.endswith("/subscription/")
    page = client.get("/subscription/").get_data(as_text=True)
    assert "You are working in Atelier Space." in page
    switcher = SWITCHER.search(page).group(0)
    assert f'value="{account_id(app, B)}" selected' in switcher and "Northwind Retail" in switcher


def test_acc5_a_person_in_one_account_goes_straight_in_without_a_switcher(client, auth):
    response = auth.login(as_="admin@northwind.example")
    assert response.location.endswith("/subscription/")
    assert 'data-testid="account-switcher"' not in client.get("/subscription/").get_data(
        as_text=True)


def test_acc2_operators_stay_operators(client, auth):
    assert auth.login(as_="operator@example.com").location.endswith("/operator/")
    assert client.get("/operator/").status_code == 200
    assert client.get("/subscription/").status_code == 403


def test_acc5_working_in_b_never_shows_a(app, client, auth):
    """Walk every account and admin page with the switcher set to B: B's own objects are
    shown without a trace of A; A's objects are 404, like another account's."""
    auth.login(as_=demo.CONSULTANT)
    switch(client, auth, app, B)
    markers = a_markers(app)
    all_calls, _ = calls(app)
    with_ids = {c.endpoint for c in all_calls if c.owner == FOREIGN}
    wrong, walked = [], 0
    for call in all_calls:
        if call.method != "GET" or rule_for(call.endpoint) not in (
                ACCOUNT, ADMIN, ADMIN_OR_OPERATOR, LOGGED_IN):
            continue
        if call.endpoint == "auth.choose_account":
            continue  # the person's own list of accounts names A on purpose
        if call.endpoint.startswith("signup.") and not app.config.get("SIGNUP"):
            continue  # self-serve sign-up is off in this app: its pages do not exist
        response = client.get(call.url)
        if call.owner == A and call.endpoint in with_ids:
            if response.status_code != 404:
                wrong.append(f"{call.url}: A's object answered {response.status_code}")
            continue
        walked += 1
        if response.status_code >= 400:
            wrong.append(f"{call.url}: {response.status_code} while working in B")
            continue
        shown = sorted(m for m in markers if m in text_of(response))
        if shown:
            wrong.append(f"{call.url} shows A's {shown}")
    assert not wrong, "\n".join(wrong)
    assert walked > 15  # the walk really went through the account pages


def test_acc5_switching_back_shows_a_again(app, client, auth):
    auth.login(as_=demo.CONSULTANT)
    switch(client, auth, app, B)
    switch(client, auth, app, A)
    assert "Northwind" in text_of(client.get("/admin/members"))


def test_acc5_switching_to_an_account_without_membership_is_refused(app, client, auth):
    auth.login(as_="admin@northwind.example")
    response = switch(client, auth, app, B)
    assert response.location.endswith("/accounts")
    page = client.get("/admin/members").get_data(as_text=True)
    assert "Nora Admin" in page and "Ada Admin" not in page  # still working in A


def test_acc5_a_membership_removed_behind_the_session_ends_access_at_once(app, client, auth):
    """Checked on every request, even when nothing ended the person's sessions (raw SQL)."""
    auth.login(as_=demo.CONSULTANT)
    switch(client, auth, app, B)
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        consultant = User.get(User.email == demo.CONSULTANT)
        Membership.delete().where((Membership.user == consultant.id) & (
            Membership.account == account_id(app, B))).execute()
    response = client.get("/admin/")
    assert response.status_code == 302 and response.location.endswith("/accounts")
    assert "Atelier Space" not in client.get("/accounts").get_data(as_text=True)


def test_acc5_deactivating_the_membership_in_b_ends_the_session(app, client, auth, auth_for):
    auth.login(as_=demo.CONSULTANT)
    switch(client, auth, app, B)
    admin = app.test_client()
    helper = auth_for(admin)
    helper.login(as_="admin@atelier.example")
    with app.app_context():
        consultant = User.get(User.email == demo.CONSULTANT)
    response = admin.post(f"/admin/members/{consultant.id}/deactivate",
                          data={"csrf_token": helper.csrf_token("/admin/members")})
    assert response.status_code == 302
    assert "/login" in client.get("/admin/").location
    # a new login works in the accounts still active, not in B
    auth.login(as_=demo.CONSULTANT)
    assert "Atelier Space" not in client.get("/accounts").get_data(as_text=True)
    assert switch(client, auth, app, B).location.endswith("/accounts")
