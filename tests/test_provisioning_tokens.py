"""Operator tokens for the provisioning API (issue #16 item 4), made and revoked by
operators in the console (System > Provisioning tokens) and by ``portal tokens``: shown
once, stored hashed, audited; only operators reach the page."""
import re

from portal.models import AuditEvent, OperatorToken
from support.api import call

PAGE = "/operator/system/tokens"


def test_an_operator_makes_a_token_in_the_console_sees_it_once_and_revokes_it(
        app, client, auth):
    auth.login(as_="operator@example.com")
    page = client.get(PAGE)
    assert page.status_code == 200 and "accounts:write" in page.get_data(as_text=True)
    token = auth.csrf_token(PAGE)
    made = client.post(PAGE, data={"csrf_token": token, "name": "CRM",
                                   "scopes": ["accounts:read", "catalogue:read"]})
    assert made.status_code == 201
    plain = re.search(r'value="(pop_[^"]+)"',
                      made.get_data(as_text=True)).group(1)
    assert plain.startswith("pop_")
    assert plain not in client.get(PAGE).get_data(as_text=True)  # shown once
    assert call(client, "GET", "/api/v1/provisioning/catalogue", plain).status_code == 200
    r = call(client, "GET", "/api/v1/provisioning/accounts/1", plain)
    assert r.status_code == 200
    with app.app_context():
        row = OperatorToken.get(OperatorToken.name == "CRM")
        assert row.scopes == "accounts:read catalogue:read" and plain not in row.token_hash
    revoked = client.post(f"{PAGE}/{row.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert call(client, "GET", "/api/v1/provisioning/catalogue", plain).status_code == 401
    with app.app_context():
        events = [(e.action, e.actor.email) for e in AuditEvent.select().where(
            AuditEvent.action.startswith("operator_token.")).order_by(AuditEvent.id)]
    assert events == [("operator_token.create", "operator@example.com"),
                      ("operator_token.revoke", "operator@example.com")]


def test_a_token_needs_a_name_and_a_scope(app, client, auth):
    auth.login(as_="operator@example.com")
    token = auth.csrf_token(PAGE)
    for data in ({"name": "", "scopes": ["accounts:read"]}, {"name": "CRM"},
                 {"name": "CRM", "scopes": ["root"]}):
        r = client.post(PAGE, data={"csrf_token": token, **data})
        assert r.status_code == 400 and 'class="field-error"' in r.get_data(as_text=True)
    with app.app_context():
        assert OperatorToken.select().count() == 0


def test_the_page_is_in_french_for_a_french_operator(app, client, auth):
    auth.login(as_="operator@example.com")
    client.post("/language", data={"csrf_token": auth.csrf_token("/operator/"),
                                   "language": "fr"})
    text = client.get(PAGE, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Jetons de provisionnement" in text


def test_account_people_cannot_reach_the_page(client, auth):
    auth.login(as_="admin@northwind.example")
    assert client.get(PAGE).status_code == 403


def test_the_cli_makes_lists_and_revokes_operator_tokens(app, runner, client):
    made = runner.invoke(args=["tokens", "create-operator", "Device platform",
                               "--scope", "accounts:write", "--scope", "subscriptions:write"])
    assert made.exit_code == 0, made.output
    plain = made.stdout.strip().splitlines()[-1]
    assert plain.startswith("pop_")
    listed = runner.invoke(args=["tokens", "list-operator"])
    assert "Device platform" in listed.output and plain not in listed.output
    r = call(client, "GET", "/api/v1/provisioning/catalogue", plain)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "insufficient_scope"
    refused = runner.invoke(args=["tokens", "create-operator", "X", "--scope", "root"])
    assert refused.exit_code == 1 and "unknown scope" in refused.output
    revoked = runner.invoke(args=["tokens", "revoke-operator", plain[:10]])
    assert revoked.exit_code == 0, revoked.output
    assert call(client, "GET", "/api/v1/provisioning/accounts", plain).status_code == 401
    assert runner.invoke(args=["tokens", "revoke-operator", plain[:10]]).exit_code == 1
