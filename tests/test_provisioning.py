"""The provisioning API (issue #16 item 4): operator tokens and their scopes, opening
accounts with their first subscriptions through the onboarding and catalogue services
(rule ONB-1: the same checks as the console, nothing half-created), listing and reading
accounts, the catalogue (CAT-1..CAT-3)."""
import uuid

import pytest

from portal.models import Account, AuditEvent, Invitation, OperatorToken, Subscription
from support.api import call, snapshot

BASE = "/api/v1/provisioning"
DETAILS = {"legal_name": "Fjord Cafés AS", "address_line1": "Karl Johans gate 1",
           "postal_code": "0154", "city": "Oslo", "country": "NO"}
NEW = {"name": "Fjord Cafés", "external_ref": "tenant-42",
       "language": "fr", "currency": "EUR", "negotiated": False,
       "billing_details": DETAILS,
       "subscriptions": [{"plan": "team", "interval": "monthly", "quantity": 5, "addons": 1,
                          "start": "2026-11-23"}]}


def post(client, path, token, body, key=None):
    return call(client, "POST", BASE + path, token, json=body,
                headers={"Idempotency-Key": key or str(uuid.uuid4())})


def count_accounts(app):
    with app.app_context():
        return Account.select().count()


def test_onb1_an_operator_token_opens_an_account_with_its_subscription(app, client,
                                                                       operator_tokens):
    r = post(client, "/accounts", operator_tokens["all"], NEW)
    assert r.status_code == 201, r.get_json()
    assert r.headers["Idempotent-Replayed"] == "false"
    body = r.get_json()
    assert (body["name"], body["language"], body["currency"]) == ("Fjord Cafés", "fr", "EUR")
    assert body["billing_details"]["city"] == "Oslo" and body["external_ref"] == "tenant-42"
    [sub] = body["subscriptions"]
    assert (sub["plan"], sub["quantity"], sub["addon_quantity"], sub["currency"]) == (
        "team", 5, 1, "EUR")
    assert sub["next_payment_date"] == "2026-12-01"  # CHG-5: the first of next month
    assert not sub["negotiated"]
    with app.app_context():
        events = {e.action: e.detail for e in AuditEvent.select().where(
            AuditEvent.account == body["id"])}
        actor = AuditEvent.get(AuditEvent.action == "account.opened",
                               AuditEvent.account == body["id"]).actor.email
    assert "via operator token CRM" in events["account.opened"]
    assert "via operator token CRM" in events["subscription.started"]
    assert actor == "operator@example.com"  # who made the token
    got = call(client, "GET", f"{BASE}/accounts/{body['id']}", operator_tokens["read"])
    assert got.status_code == 200 and got.get_json() == body


def test_chg7_negotiated_prices_are_private_to_the_account(app, client, operator_tokens):
    body = {**NEW, "negotiated": True, "subscriptions": [
        {"plan": "business", "interval": "annual", "quantity": 20,
         "negotiated_prices": {"monthly": "30.00", "annual": "300.00"}}]}
    r = post(client, "/accounts", operator_tokens["all"], body)
    assert r.status_code == 201, r.get_json()
    sub = r.get_json()["subscriptions"][0]
    assert sub["negotiated"] and r.get_json()["negotiated"]
    catalogue = call(client, "GET", f"{BASE}/catalogue", operator_tokens["read"]).get_json()
    business = next(p for p in catalogue["plans"] if p["code"] == "business")
    assert sub["price_version"] not in [p["version"] for p in business["prices"]
                                        if p["currency"] == "EUR"]


@pytest.mark.parametrize("change, field", [
    ({"name": "   "}, "name"),
    ({"language": "tlh"}, "language"),
    ({"external_ref": "nw-1"}, "external_ref"),  # Northwind's: references are unique
    ({"currency": "JPY"}, "currency"),  # no two decimals (DOC-3)
    ({"billing_details": {**DETAILS, "country": "XX"}}, "billing_details.country"),
    ({"billing_details": {**DETAILS, "country": "FR", "tax_id": "FR00000000000"}},
     "billing_details.tax_id"),
    ({"subscriptions": [{"plan": "nope", "interval": "monthly", "quantity": 1}]},
     "subscriptions[0].plan"),
    ({"currency": "GBP"}, "subscriptions[0].plan"),  # CAT-1: no price in GBP
    ({"subscriptions": [NEW["subscriptions"][0],
                        {"plan": "team", "interval": "monthly", "quantity": 1,
                         "start": "2026-11-23", "first_payment": "2026-12-15"}]},
     "subscriptions[1].first_payment"),  # CHG-5: monthly plans are paid on the 1st
])
def test_onb1_a_refused_account_names_the_field_and_creates_nothing(
        app, client, operator_tokens, change, field):
    with app.app_context():
        Account.update(external_ref="nw-1").where(Account.name == "Northwind Retail").execute()
    before = snapshot(app), count_accounts(app)
    r = post(client, "/accounts", operator_tokens["all"], {**NEW, **change})
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] in ("invalid_account", "invalid_subscription")
    assert error["field"] == field and field in error["fields"] and error["message"]
    assert (snapshot(app), count_accounts(app)) == before


def test_cat3_a_retired_plan_takes_no_new_subscription(app, client, operator_tokens):
    from portal.catalogue import retire
    from portal.models import Plan

    with app.app_context():
        retire(Plan.get(Plan.code == "team"))
    r = post(client, "/accounts", operator_tokens["all"], NEW)
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "subscriptions[0].plan"
    plans = call(client, "GET", f"{BASE}/catalogue", operator_tokens["read"]).get_json()["plans"]
    assert {p["code"]: p["available"] for p in plans}["team"] is False


@pytest.mark.parametrize("body, field", [
    ({"name": 5}, "name"),
    ({"name": "X", "extra": 1}, "extra"),
    ({"name": "X", "subscriptions": [{"plan": "team", "interval": "weekly", "quantity": 1}]},
     "subscriptions[0].interval"),
    ({"name": "X", "subscriptions": [{"plan": "team", "interval": "monthly", "quantity": -1}]},
     "subscriptions[0].quantity"),
    ({"name": "X", "subscriptions": [{"plan": "team", "interval": "monthly", "quantity": 1,
                                      "start": "2026-02-30"}]}, "subscriptions[0].start"),
    ({"name": "X", "billing_details": {"city": "a\nb"}}, "billing_details.city"),
])
def test_a_malformed_body_is_400_with_the_field_and_writes_nothing(
        app, client, operator_tokens, body, field):
    before = snapshot(app), count_accounts(app)
    r = post(client, "/accounts", operator_tokens["all"], body)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == field
    assert (snapshot(app), count_accounts(app)) == before


def test_start_a_subscription_on_an_existing_account(app, client, operator_tokens):
    with app.app_context():
        atelier = Account.get(Account.name == "Atelier Space").id
        before = Subscription.select().where(Subscription.account == atelier).count()
    r = post(client, f"/accounts/{atelier}/subscriptions", operator_tokens["all"],
             {"plan": "business", "interval": "annual", "quantity": 3,
              "start": "2026-11-23"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["next_payment_date"] == "2027-11-23"
    with app.app_context():
        assert Subscription.select().where(Subscription.account == atelier).count() \
            == before + 1
    missing = post(client, "/accounts/999999/subscriptions", operator_tokens["all"],
                   {"plan": "business", "interval": "annual", "quantity": 3})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_accounts_are_listed_a_page_at_a_time_and_filtered_by_name_or_reference(
        app, client, operator_tokens):
    token = operator_tokens["read"]
    first = call(client, "GET", f"{BASE}/accounts?per_page=2", token).get_json()
    assert len(first["accounts"]) == 2 and first["page"] == 1 and first["next_page"] == 2
    second = call(client, "GET", f"{BASE}/accounts?per_page=2&page=2", token).get_json()
    ids = [a["id"] for a in first["accounts"] + second["accounts"]]
    assert ids == sorted(ids) and len(set(ids)) == min(4, count_accounts(app))
    found = call(client, "GET", f"{BASE}/accounts?name=NORTH", token).get_json()
    assert [a["name"] for a in found["accounts"]] == ["Northwind Retail"]
    assert found["next_page"] is None
    post(client, "/accounts", operator_tokens["all"], NEW)
    found = call(client, "GET", f"{BASE}/accounts?external_ref=tenant-42", token).get_json()
    assert [a["name"] for a in found["accounts"]] == ["Fjord Cafés"]
    past = call(client, "GET", f"{BASE}/accounts?page=999", token)
    assert past.status_code == 404 and past.get_json()["error"]["code"] == "no_such_page"


def test_cat2_the_catalogue_lists_prices_per_currency_and_version(app, client,
                                                                 operator_tokens):
    plans = call(client, "GET", f"{BASE}/catalogue", operator_tokens["read"]).get_json()["plans"]
    team = next(p for p in plans if p["code"] == "team")
    usd = [p for p in team["prices"] if p["currency"] == "USD"]
    assert usd[-1]["current"] and usd[-1]["monthly"].count(".") == 1
    assert {p["currency"] for p in team["prices"]} == {"EUR", "USD"}


# --- tokens, scopes and authorization ---

def test_scopes_are_enforced_with_a_code(app, client, operator_tokens):
    before = snapshot(app)
    r = post(client, "/accounts", operator_tokens["read"], NEW)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "insufficient_scope"
    assert "accounts:write" in r.get_json()["error"]["message"]
    # accounts:write alone opens an account, but not one with subscriptions
    r = post(client, "/accounts", operator_tokens["accounts"], NEW)
    assert r.status_code == 403 and "subscriptions:write" in r.get_json()["error"]["message"]
    assert snapshot(app) == before
    r = call(client, "GET", f"{BASE}/catalogue", operator_tokens["accounts"])
    assert r.status_code == 403
    r = post(client, "/accounts", operator_tokens["accounts"], {"name": "Bare Account"})
    assert r.status_code == 201 and r.get_json()["subscriptions"] == []


def test_account_tokens_and_operator_tokens_each_have_their_own_api(app, client, tokens,
                                                                    operator_tokens):
    before = snapshot(app)
    r = post(client, "/accounts", tokens["nw"], NEW)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_token"
    r = call(client, "GET", f"{BASE}/accounts", tokens["nw"])
    assert r.status_code == 403
    r = call(client, "GET", "/api/v1/usage", operator_tokens["all"])
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_token"
    for token in (None, operator_tokens["revoked"], "pop_" + "x" * 43):
        r = call(client, "GET", f"{BASE}/accounts", token)
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
        r = post(client, "/accounts", token, NEW)
        assert r.status_code == 401
    assert snapshot(app) == before


def test_operator_tokens_are_stored_hashed_and_creation_and_revocation_are_audited(
        app, operator_tokens):
    from portal.accounts.tokens import hash_token

    with app.app_context():
        stored = [t.token_hash for t in OperatorToken.select()]
        assert operator_tokens["all"] not in stored
        assert hash_token(operator_tokens["all"]) in stored
        actions = [e.action for e in AuditEvent.select().where(
            AuditEvent.action.startswith("operator_token."))]
    assert actions.count("operator_token.create") == 4
    assert actions.count("operator_token.revoke") == 1


# --- the OpenAPI document ---

def test_the_openapi_document_describes_the_provisioning_api(app, client):
    from portal.accounts.operator_tokens import SCOPES
    from portal.apispec import PROVISIONING_OPERATIONS, SCOPE_WORDS

    doc = client.get("/api/v1/openapi.json").get_json()
    assert set(SCOPE_WORDS) == set(SCOPES)
    scheme = doc["components"]["securitySchemes"]["operator_token"]
    assert scheme["scheme"] == "bearer" and all(s in scheme["description"] for s in SCOPES)
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops
                  if path.startswith(BASE)}
    assert len(documented) == len(PROVISIONING_OPERATIONS) == 6
    for path, method in documented:
        entry = doc["paths"][path][method]
        assert entry["security"] == [{"operator_token": []}] and entry["x-scopes"]
        assert "403" in entry["responses"]
        headers = [p for p in entry.get("parameters", []) if p["in"] == "header"]
        if method == "post":
            assert headers[0]["name"] == "Idempotency-Key" and headers[0]["required"]
            assert {"409", "422"} <= set(entry["responses"])
        else:
            assert not headers


# --- docs/api.md: its curl examples work as written ---

def curl_examples() -> list[list[str]]:
    """Each ``curl`` command of docs/api.md's shell blocks, split as a shell would."""
    import re
    import shlex
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for command in re.split(r"\n(?=curl )", block.replace("\\\n", " ")):
            if command.startswith("curl "):
                commands.append(shlex.split(command))
    return commands


def replay(client, argv, token):
    """Run one curl command line through the test client."""
    method, headers, data, url = "GET", {}, None, None
    args = iter(argv[1:])
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, _, value = next(args).partition(": ")
            headers[name] = value.replace("$TOKEN", token)
        elif arg == "-d":
            data = next(args)
        elif not arg.startswith("-"):
            url = arg.replace("$PORTAL", "")
    return client.open(url, method=method, headers=headers, data=data)


def test_the_curl_examples_of_docs_api_md_work(app, client, operator_tokens):
    examples = curl_examples()
    assert len(examples) == 5
    for argv in examples:
        r = replay(client, argv, operator_tokens["all"])
        r.close()
        assert r.status_code in (200, 201, 202), (argv, r.get_json())
    assert count_accounts(app) and call(client, "GET", f"{BASE}/accounts?name=fjord",
                                        operator_tokens["read"]).get_json()["accounts"]


# --- inviting the first admin (ACC-6, ONB-1) ---

def invite(client, token, account_id, body, key=None):
    r = post(client, f"/accounts/{account_id}/invitations", token, body, key)
    r.close()  # the mail is handed over once the answer is sent
    return r


def opened(client, operator_tokens) -> int:
    r = post(client, "/accounts", operator_tokens["all"], NEW)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_acc6_onb1_an_operator_token_invites_the_first_admin(app, client, operator_tokens):
    account_id = opened(client, operator_tokens)
    key = str(uuid.uuid4())
    r = invite(client, operator_tokens["all"], account_id,
               {"email": "Ingrid@Fjord.example"}, key)
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert body["result"] == "invited" and r.headers["Idempotent-Replayed"] == "false"
    assert (body["invitation"]["email"], body["invitation"]["role"]) == (
        "ingrid@fjord.example", "admin")  # the first admin by default
    again = invite(client, operator_tokens["all"], account_id,
                   {"email": "Ingrid@Fjord.example"}, key)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == body
    later = invite(client, operator_tokens["all"], account_id, {"email": "ingrid@fjord.example"})
    assert later.status_code == 202 and later.get_json()["result"] == "unchanged"
    with app.app_context():
        [pending] = Invitation.select().where(Invitation.account == account_id)
        assert (pending.role, pending.sent_count) == ("admin", 1)  # mailed once
        sent = AuditEvent.get(AuditEvent.action == "invitation.send",
                              AuditEvent.account == account_id)
    assert "(operator token CRM)" in sent.detail
    assert sent.actor.email == "operator@example.com"  # who made the token


def test_acc6_the_provisioning_answer_never_tells_a_login_elsewhere(app, client,
                                                                     operator_tokens):
    """No enumeration: an address with a login in another account and a new one get the
    same answer but for the address and the times."""
    account_id = opened(client, operator_tokens)
    seen = []
    for email in ("admin@atelier.example", "nobody-yet@fjord.example"):
        r = invite(client, operator_tokens["all"], account_id, {"email": email})
        body = r.get_json()
        body["invitation"] = {k: v for k, v in body["invitation"].items()
                              if k not in ("email", "created_at", "expires_at")}
        seen.append((r.status_code, sorted((k, v) for k, v in r.headers
                                           if k not in ("Date", "Content-Length")), body))
    assert seen[0] == seen[1]


def test_acc6_a_member_is_not_invited_and_refusals_write_nothing(app, client,
                                                                 operator_tokens):
    with app.app_context():
        atelier = Account.get(Account.name == "Atelier Space").id
    r = invite(client, operator_tokens["all"], atelier, {"email": "admin@atelier.example"})
    assert r.status_code == 200 and r.get_json()["result"] == "member"
    before = snapshot(app)
    r = invite(client, operator_tokens["read"], atelier, {"email": "x@fjord.example"})
    assert r.status_code == 403 and "invitations:write" in r.get_json()["error"]["message"]
    r = invite(client, operator_tokens["all"], 999999, {"email": "x@fjord.example"})
    assert r.status_code == 404
    r = invite(client, operator_tokens["all"], atelier, {"email": "x@fjord.example",
                                                          "role": "owner"})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "role"
    r = invite(client, operator_tokens["all"], atelier, {"email": "x@fjord.example",
                                                          "addon_license": True,
                                                          "role": "member"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "seats_full"
    assert snapshot(app) == before
