"""Every route, called as every kind of user, with ids of their own and of another account.

Generated from the app's URL map: a route without an entry in ACCESS (tests/support/routes.py)
fails the test, so a new route cannot ship without deciding who may use it. Expected answers:
anonymous -> login redirect (401 JSON for the API), wrong role -> 403, another
account's object -> 404, and another account's data never appears in a page.
"""
from __future__ import annotations

import re

import pytest

from support.routes import (ACCOUNT, ADMIN, ADMIN_OR_OPERATOR, ALSO_OPERATOR, FOREIGN, LOGGED_IN,
                            OPERATOR, PUBLIC, ROLES, DEMO_ONLY, TOKEN, WEBHOOK, Call, calls,
                            make_objects, rule_for)


@pytest.fixture
def app(make_app, tmp_path):
    """The app with one object of every kind for both accounts (and a logo to serve)."""
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    application = make_app(LOGO_PATH=str(logo), SIGNUP=True)
    make_objects(application)
    return application


def test_every_route_has_an_access_rule(app):
    _, missing = calls(app)
    assert not missing, f"decide who may use these routes (ACCESS / ID_OF): {missing}"


def expected(rule: str, role: str, call: Call) -> str:
    """'login', 'forbidden', 'not-found' or 'allowed'."""
    if rule == PUBLIC:
        return "allowed"
    if rule == DEMO_ONLY:
        return "not-found"  # the matrix's app is not in demo mode
    if rule == WEBHOOK:
        return "refused"  # an unsigned notification
    if rule == TOKEN:
        return "unauthorized"
    if role == "anonymous":
        return "login"
    if rule == LOGGED_IN:
        return "allowed"
    if role == "operator" and (rule in (OPERATOR, ADMIN_OR_OPERATOR)
                               or call.endpoint in ALSO_OPERATOR):
        return "allowed"
    allowed_roles = {ACCOUNT: {"member", "admin"}, ADMIN: {"admin"},
                     ADMIN_OR_OPERATOR: {"admin"}, OPERATOR: set()}[rule]
    if role not in allowed_roles:
        return "forbidden"
    if call.owner == FOREIGN:
        return "not-found"
    return "allowed"


def outcome(response) -> str:
    code = response.status_code
    if code == 302 and "/login" in response.location:
        return "login"
    return {400: "refused", 401: "unauthorized", 403: "forbidden", 404: "not-found"}.get(
        code, "error" if code >= 500 else "allowed")


def response_text(response) -> str:
    """The text a person would read: PDFs are read back, other bodies decoded."""
    if response.mimetype == "application/pdf":
        import io

        from pypdf import PdfReader

        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    if response.mimetype == "application/zip":
        import io
        import zipfile

        return " ".join(zipfile.ZipFile(io.BytesIO(response.data)).namelist())
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role", list(ROLES))
def test_authorization_matrix(app, client, auth, role):
    if ROLES[role]:
        assert auth.login(as_=ROLES[role]).status_code == 302
    token = auth.csrf_token("/login") if role == "anonymous" else None
    wrong = []
    all_calls, _ = calls(app)
    for call in all_calls:
        if call.endpoint in ("auth.logout", "auth.login") and call.method == "POST":
            continue  # would end or replace this session: covered in test_auth.py
        if role != "anonymous":
            token = auth.csrf_token("/")
        kwargs = {"headers": {"X-CSRFToken": token}} if call.method != "GET" else {}
        response = getattr(client, call.method.lower())(call.url, **kwargs)
        want = expected(rule_for(call.endpoint), role, call)
        got = outcome(response)
        if got == "refused" and want == "allowed" and call.method != "GET":
            got = "allowed"  # an empty form refused with 400 got past the role checks
        if want == "forbidden" and got == "not-found" and call.owner == FOREIGN:
            got = want  # another account's object: 404 refuses as well as 403, leaking nothing
        if got != want:
            wrong.append(f"{role} {call.method} {call.url} ({call.owner}): "
                         f"expected {want}, got {response.status_code}")
        elif got == "allowed" and role in ("member", "admin") \
                and re.search(FOREIGN, response_text(response)):
            wrong.append(f"{role} {call.method} {call.url}: shows {FOREIGN}'s data")
        response.close()  # a streamed download left open ends outside its request
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ["anonymous", "member", "admin"])
def test_acc2_every_operator_route_is_the_console_and_refuses_everyone_else(app, client, auth,
                                                                          role):
    """Issue #14 item 5: every /operator route belongs to the one console blueprint, whose
    single check (``security.operator_only``, before every route) answers as the per-route
    decorators did: anonymous -> the login page, any other role -> 403, whatever the ids
    name (own, another account's, none at all), before the view looks anything up."""
    with app.app_context():
        rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/operator")]
    assert len(rules) >= 20
    assert [r.endpoint for r in rules if not r.endpoint.startswith("operator.")] == []
    assert app.blueprints["operator"].url_prefix == "/operator"
    if ROLES[role]:
        assert auth.login(as_=ROLES[role]).status_code == 302
    token = auth.csrf_token("/login" if role == "anonymous" else "/")
    operator_calls = [c for c in calls(app)[0] if c.url.startswith("/operator")]
    assert {c.owner for c in operator_calls} == {"Northwind Retail", FOREIGN}
    operator_calls.append(Call("operator.account", "GET", "/operator/accounts/999999999", FOREIGN))
    want = "login" if role == "anonymous" else "forbidden"
    wrong = []
    for call in operator_calls:
        kwargs = {"headers": {"X-CSRFToken": token}} if call.method != "GET" else {}
        response = getattr(client, call.method.lower())(call.url, **kwargs)
        if outcome(response) != want:
            wrong.append(f"{role} {call.method} {call.url}: {response.status_code}")
        response.close()
    assert not wrong, "\n".join(wrong)
