"""Every route, called as every kind of user, with ids of their own and of another account.

Generated from the app's URL map: a route without an entry in ACCESS fails the test,
so a new route cannot ship without deciding who may use it. Expected answers:
anonymous -> login redirect (401 JSON for the API), wrong role -> 403, another
account's object -> 404, and another account's data never appears in a page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from portal.models import Account, Device, Location, User

PUBLIC, LOGGED_IN, ACCOUNT, ADMIN, OPERATOR, TOKEN, WEBHOOK = (
    "public", "logged-in", "account", "admin", "operator", "token", "webhook")

# endpoint (or "blueprint.*") -> who may use it
ACCESS = {
    "static": PUBLIC,
    "auth.root": LOGGED_IN,
    "auth.login": PUBLIC,
    "auth.logout": LOGGED_IN,
    "subscription.*": ACCOUNT,
    "admin.*": ADMIN,
    "operator.*": OPERATOR,
    "api.*": TOKEN,
}

# who logs in for each role; "own" objects belong to Northwind, "foreign" to Atelier
ROLES = {
    "anonymous": None,
    "member": "member@northwind.example",
    "admin": "admin@northwind.example",
    "operator": "operator@example.com",
}
OWN, FOREIGN = "Northwind Retail", "Atelier Space"


def rule_for(endpoint: str) -> str | None:
    if endpoint in ACCESS:
        return ACCESS[endpoint]
    return ACCESS.get(endpoint.split(".", 1)[0] + ".*")


# URL parameter -> function(account) returning the id of one object of that account
def _first(model, account):
    row = model.select(model.id).where(model.account == account).order_by(model.id).first()
    return row.id if row else 0


ID_OF = {
    "user_id": lambda a: User.select(User.id).where((User.account == a) & (User.role == "member"))
    .order_by(User.id).first().id,
    "account_id": lambda a: a.id,
    "device_id": lambda a: _first(Device, a),
    "location_id": lambda a: _first(Location, a),
}
VALUES = {"action": "deactivate", "tab": "usage", "filename": "portal.css"}


@dataclass
class Call:
    endpoint: str
    method: str
    url: str
    owner: str  # OWN or FOREIGN: whose object the ids name


def calls(app):
    """One call per route and method, with own ids and, where ids appear, foreign ids."""
    with app.app_context():
        own, foreign = (Account.get(Account.name == n) for n in (OWN, FOREIGN))
        result, missing = [], []
        for rule in app.url_map.iter_rules():
            if rule_for(rule.endpoint) is None:
                missing.append(rule.endpoint)
                continue
            for owner, account in ((OWN, own), (FOREIGN, foreign)):
                values, has_ids = {}, False
                for arg in rule.arguments:
                    if arg in ID_OF:
                        values[arg], has_ids = ID_OF[arg](account), True
                    elif arg in VALUES:
                        values[arg] = VALUES[arg]
                    elif arg in (rule.defaults or {}):
                        continue
                    else:
                        missing.append(f"{rule.endpoint}: no value for <{arg}>")
                if owner == FOREIGN and not has_ids:
                    continue
                with app.test_request_context():
                    from flask import url_for

                    url = url_for(rule.endpoint, **values)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    result.append(Call(rule.endpoint, method, url, owner))
        return result, missing


def test_every_route_has_an_access_rule(app):
    _, missing = calls(app)
    assert not missing, f"decide who may use these routes (ACCESS / ID_OF): {missing}"


def expected(rule: str, role: str, call: Call) -> str:
    """'login', 'forbidden', 'not-found' or 'allowed'."""
    if rule == PUBLIC or rule == WEBHOOK:
        return "allowed"
    if rule == TOKEN:
        return "unauthorized"
    if role == "anonymous":
        return "login"
    if rule == LOGGED_IN:
        return "allowed"
    allowed_roles = {ACCOUNT: {"member", "admin"}, ADMIN: {"admin"}, OPERATOR: {"operator"}}[rule]
    if role not in allowed_roles:
        return "forbidden"
    if call.owner == FOREIGN and rule != OPERATOR:
        return "not-found"
    return "allowed"


def outcome(response) -> str:
    code = response.status_code
    if code == 302 and "/login" in response.location:
        return "login"
    return {401: "unauthorized", 403: "forbidden", 404: "not-found"}.get(
        code, "error" if code >= 500 else "allowed")


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
        if got != want:
            wrong.append(f"{role} {call.method} {call.url} ({call.owner}): "
                         f"expected {want}, got {response.status_code}")
        elif got == "allowed" and role in ("member", "admin"):
            text = response.get_data(as_text=True)
            if re.search(FOREIGN, text):
                wrong.append(f"{role} {call.method} {call.url}: shows {FOREIGN}'s data")
    assert not wrong, "\n".join(wrong)
