"""The JSON API under /api/v1/: every endpoint, tokens, refusals that write nothing, the
OpenAPI document, and the subscription page after API changes (ACC-4, DEV-1, DEV-3,
LOC-1, LOC-2)."""
import json
import math
import re

import pytest

from portal.apispec import OPERATIONS, openapi
from portal.models import Account, AuditEvent, Device, Location
from support.api import call, snapshot

NW_SERIAL = "NW-york-01"  # a demo device of Northwind at York


def sample(op, serial="NEW-1", location="york", email="new.person@northwind.example"):
    """A well-formed call of ``op``: (method, path, json body or None)."""
    values = {"serial": serial, "external_id": location, "email": email}
    path = "/api/v1" + re.sub(r"<(\w+)>", lambda m: values[m.group(1)], op.rule)
    body = None
    if op.body is not None:
        body = {"location": location} if "location" in op.body["properties"] else {}
        if op.rule.endswith("/rma"):
            body = {"replaces": None}
    return op.method, path, body


# --- the OpenAPI document ---

def test_openapi_document_lists_exactly_the_routes_of_the_url_map(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi_document":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
    assert doc["openapi"].startswith("3.0") and doc["components"]["securitySchemes"]["token"]


def test_openapi_parameters_match_each_rule(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path, ops in doc["paths"].items():
        for method, entry in ops.items():
            in_path = {p["name"] for p in entry.get("parameters", []) if p["in"] == "path"}
            assert in_path == set(re.findall(r"{(\w+)}", path)), (method, path)
            assert "401" in entry["responses"] and "default" in entry["responses"]


# --- tokens ---

def test_every_endpoint_refuses_a_revoked_a_missing_and_a_made_up_token(app, client, tokens):
    before = snapshot(app)
    for op in OPERATIONS:
        method, path, body = sample(op)
        for token in (tokens["revoked"], None, "ptk_" + "x" * 43, tokens["nw"][:-1]):
            r = call(client, method, path, token, json=body)
            assert r.status_code == 401, (method, path)
            assert r.get_json()["error"]["code"] == "unauthorized"
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot(app) == before


def test_another_accounts_token_gets_404_and_learns_nothing(app, client, tokens):
    before = snapshot(app)
    other = tokens["cb"]  # Corner Bakeries' token on Northwind's objects
    for method, path, body in (
            ("GET", f"/api/v1/devices/{NW_SERIAL}", None),
            ("DELETE", f"/api/v1/devices/{NW_SERIAL}", None),
            ("PUT", f"/api/v1/devices/{NW_SERIAL}/rma", {"replaces": None}),
            ("GET", "/api/v1/locations/york", None),
            ("DELETE", "/api/v1/locations/york", None),
            ("GET", "/api/v1/members/member@northwind.example", None),
            ("POST", "/api/v1/members/member@northwind.example/deactivate", None),
            ("POST", "/api/v1/members/admin@northwind.example/activate", None),
            ("POST", "/api/v1/members/member@northwind.example/promote", None),
            ("POST", "/api/v1/members/admin@northwind.example/demote", None),
            ("DELETE", "/api/v1/members/member@northwind.example", None)):
        r = call(client, method, path, other, json=body)
        assert r.status_code == 404, (method, path)
        text = r.get_data(as_text=True)
        assert "York" not in text and "Northwind" not in text and "Mike" not in text
        # the same answer as for something that exists nowhere
        unknown = call(client, method, path.replace("york", "nowhere")
                       .replace(NW_SERIAL, "NOPE-1").replace("member@", "nobody@")
                       .replace("admin@", "nobody@"), other, json=body)
        assert unknown.status_code == 404 and unknown.get_json() == r.get_json()
    # lists and reads show Corner's own things only
    devices = call(client, "GET", "/api/v1/devices", other).get_json()["devices"]
    assert devices and all(d["serial"].startswith("CB-") for d in devices)
    members = call(client, "GET", "/api/v1/members", other).get_json()["members"]
    assert [m["email"] for m in members] == ["admin@corner.example", "consultant@example.com"]
    # a body reference to another account's device is unknown too (422, not leaked)
    r = call(client, "PUT", "/api/v1/devices/CB-NEW-1", other,
             json={"location": "bellecour", "replaces": NW_SERIAL})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "unknown_device"
    assert snapshot(app) == before


def test_token_is_stored_hashed_and_rotation_retires_the_old_one(app, client, tokens):
    import portal.accounts.tokens as api_tokens
    from portal.models import ApiToken

    with app.app_context():
        stored = [t.token_hash for t in ApiToken.select()]
        assert tokens["nw"] not in stored and api_tokens.hash_token(tokens["nw"]) in stored
        token = api_tokens.authenticate(f"Bearer {tokens['nw']}")
        new, plain = api_tokens.rotate_token(token)
    assert call(client, "GET", "/api/v1/usage", tokens["nw"]).status_code == 401
    assert call(client, "GET", "/api/v1/usage", plain).status_code == 200


# --- every endpoint with a good token ---

def test_every_endpoint_works_with_a_good_token(app, client, tokens):
    nw = tokens["nw"]
    seen = set()

    def go(method, path, body=None, status=200):
        r = call(client, method, path, nw, json=body)
        assert r.status_code == status, (method, path, r.get_json())
        assert r.headers["Cache-Control"] == "no-store"
        rule = next(op for op in OPERATIONS if op.method == method and re.fullmatch(
            "/api/v1" + re.sub(r"<\w+>", "[^/]+", op.rule), path.split("?")[0]))
        seen.add((rule.method, rule.rule))
        return r.get_json()

    assert go("GET", "/api/v1/usage") == {"devices": 15, "locations": 5,
                                          "location_subscriptions": 7, "seats": 2,
                                          "addon_licenses": 0}
    subs = go("GET", "/api/v1/subscriptions")["subscriptions"]
    assert [(s["plan"]["kind"], s["estimate"]["quantity"]) for s in subs] == [("location", 7),
                                                                            ("seat", 2)]
    assert go("GET", "/api/v1/invoices") == {"invoices": [], "next_offset": None}
    locs = go("GET", "/api/v1/locations")["locations"]
    assert {loc["external_id"]: loc["subscriptions"] for loc in locs}["leeds-flagship"] == 3
    assert go("PUT", "/api/v1/locations/leeds-2", {"name": "Leeds Station"}, 201)["result"] \
        == "created"
    assert go("GET", "/api/v1/locations/leeds-2")["name"] == "Leeds Station"
    assert go("PUT", "/api/v1/devices/NEW-1", {"location": "leeds-2"}, 201)["result"] == "created"
    assert go("GET", "/api/v1/devices/NEW-1")["location"] == "leeds-2"
    assert go("PUT", "/api/v1/devices/NEW-2", {"location": "leeds-2", "replaces": "NEW-1"},
              201)["device"]["rma_replacement_of"] == "NEW-1"
    assert go("PUT", "/api/v1/devices/NEW-2/rma", {"replaces": None})["device"][
        "rma_replacement_of"] is None
    page = go("GET", "/api/v1/devices?location=leeds-2&limit=1")
    assert len(page["devices"]) == 1 and page["next_offset"] == 1
    assert go("DELETE", "/api/v1/devices/NEW-2")["result"] == "removed"
    assert go("DELETE", "/api/v1/locations/leeds-2")["location"]["active"] is False
    assert [m["email"] for m in go("GET", "/api/v1/members")["members"]] == [
        "admin@northwind.example", "member@northwind.example"]
    # ACC-6, CHG-1: Team's 2 users are taken, so an invitation is refused until one is free
    assert go("PUT", "/api/v1/members/Zoe@Northwind.example", {"name": "Zoe"}, 409)[
        "error"]["code"] == "seats_full"
    assert go("POST", "/api/v1/members/member@northwind.example/deactivate")["result"] \
        == "deactivated"
    invited = go("PUT", "/api/v1/members/Zoe@Northwind.example", {"name": "Zoe"}, 202)
    assert invited["result"] == "invited"
    assert {k: v for k, v in invited["invitation"].items() if not k.endswith("_at")} == {
        "email": "zoe@northwind.example", "role": "member", "addon_license": False,
        "status": "pending"}
    assert go("GET", "/api/v1/members/zoe@northwind.example", status=404)  # not yet a member
    assert go("PUT", "/api/v1/members/member@northwind.example", {"name": "Mike"})[
        "result"] == "updated"
    # ACC-4, CHG-1: Zoe's invitation holds the freed seat, so Mike cannot take it back...
    refused = go("POST", "/api/v1/members/member@northwind.example/activate", status=409)
    assert refused["error"]["code"] == "seats_full"
    assert "upgrade to 3 users" in refused["error"]["message"]
    with app.app_context():  # ...until the invitation is revoked
        from portal.accounts import invitations
        from portal.models import Account, Invitation

        northwind = Account.get(Account.name == "Northwind Retail")
        zoe = Invitation.get(Invitation.email == "zoe@northwind.example")
        invitations.revoke(northwind, zoe.id)
    assert go("POST", "/api/v1/members/member@northwind.example/activate")["result"] \
        == "activated"
    assert go("GET", "/api/v1/members/member@northwind.example")["active"] is True
    assert go("PATCH", "/api/v1/billing-details", {"po_reference": "PO-1"})["po_reference"] \
        == "PO-1"
    assert go("GET", "/api/v1/billing-details")["po_reference"] == "PO-1"

    assert go("POST", "/api/v1/members/member@northwind.example/promote")["member"][
        "role"] == "admin"
    assert go("POST", "/api/v1/members/member@northwind.example/demote")["result"] == "demoted"
    assert go("DELETE", "/api/v1/members/member@northwind.example")["result"] == "removed"
    assert go("GET", "/api/v1/members?include_removed=true")["members"][-1]["email"] \
        != "member@northwind.example"
    assert seen == {(op.method, op.rule) for op in OPERATIONS}


def test_dev2_resending_the_same_device_or_member_is_a_no_op(app, client, tokens):
    nw = tokens["nw"]
    first = call(client, "PUT", "/api/v1/devices/NEW-1", nw, json={"location": "york"})
    assert first.status_code == 201
    after_first = snapshot(app)
    for _ in range(3):
        again = call(client, "PUT", "/api/v1/devices/NEW-1", nw, json={"location": "york"})
        assert again.status_code == 200 and again.get_json()["result"] == "unchanged"
        member = call(client, "PUT", "/api/v1/members/member@northwind.example", nw, json={})
        assert member.status_code == 200 and member.get_json()["result"] == "unchanged"
    assert snapshot(app) == after_first
    with app.app_context():
        assert Device.select().where(Device.serial == "NEW-1").count() == 1


def test_acc4_acc6_an_invitation_through_the_api_reserves_a_seat_until_refused_or_accepted(
        app, client, tokens):
    """Team's 2 users are taken: an invitation is refused (409 seats_full, "upgrade to 3
    users"); a deactivation frees the seat, which the pending invitation then reserves."""
    nw = tokens["nw"]
    seats = lambda: call(client, "GET", "/api/v1/usage", nw).get_json()["seats"]  # noqa: E731
    assert seats() == 2
    before = snapshot(app)
    refused = call(client, "PUT", "/api/v1/members/new@northwind.example", nw,
                   json={"name": "New"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "seats_full"
    assert "upgrade to 3 users" in refused.get_json()["error"]["message"]
    assert snapshot(app) == before
    call(client, "POST", "/api/v1/members/member@northwind.example/deactivate", nw)
    assert seats() == 1
    invited = call(client, "PUT", "/api/v1/members/new@northwind.example", nw, json={})
    assert invited.status_code == 202 and invited.get_json()["result"] == "invited"
    assert seats() == 1  # a member once they accept (the pending invitation reserves it)
    again = call(client, "PUT", "/api/v1/members/new@northwind.example", nw, json={})
    assert again.status_code == 202 and again.get_json()["result"] == "unchanged"
    assert call(client, "PUT", "/api/v1/members/other@northwind.example", nw,
                json={}).status_code == 409  # the freed seat is reserved
    refused = call(client, "POST", "/api/v1/members/admin@northwind.example/deactivate", nw)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "last_admin"


def test_acc6_the_api_answers_the_same_for_a_login_elsewhere_and_a_new_address(
        app, client, tokens):
    """Issue 15: no 409 email_taken and no stored name in the answer: an address with a
    login in another account gets the same invitation (status, headers, JSON) as a new
    one, whatever name is sent; the person joins when they accept."""
    cb = tokens["cb"]  # Corner Bakeries: a device plan, its people take no seat
    seen = []
    for email in ("admin@atelier.example", "nobody-yet@corner.example"):
        r = call(client, "PUT", f"/api/v1/members/{email}", cb, json={"name": "Someone"})
        body = r.get_json()
        body["invitation"]["email"] = "EMAIL"
        for stamp in ("created_at", "expires_at"):  # the second it was made in
            body["invitation"][stamp] = len(body["invitation"][stamp])
        length = int(r.headers["Content-Length"]) - len(email)
        seen.append((r.status_code, length, sorted(
            (k, v) for k, v in r.headers if k not in ("Date", "Content-Length")), body))
    assert seen[0] == seen[1]
    assert seen[0][0] == 202 and seen[0][3]["result"] == "invited"
    assert "name" not in seen[0][3]["invitation"]
    with app.app_context():
        from portal.models import User
        person = User.get(User.email == "admin@atelier.example")
        assert sorted((m.account.name, m.role) for m in person.memberships) == [
            ("Atelier Space", "admin")]  # not a member of Corner until they accept
        assert person.name == "Ada Admin"


def test_acc5_a_member_is_renamed_only_while_they_belong_to_one_account(app, client, tokens):
    """A person shared by two accounts keeps their own name: Corner's token does not
    rename the consultant who also works for Harbour Coffee... nor for Atelier here."""
    with app.app_context():
        from portal.accounts import memberships
        atelier = Account.get(Account.name == "Atelier Space")
        memberships.add_membership(atelier, "admin@corner.example")
    again = call(client, "PUT", "/api/v1/members/admin@corner.example", tokens["cb"],
                 json={"name": "Renamed"})
    assert again.status_code == 200 and again.get_json()["result"] == "unchanged"
    alone = call(client, "PUT", "/api/v1/members/member@northwind.example", tokens["nw"],
                 json={"name": "Mike M."})
    assert alone.status_code == 200 and alone.get_json()["member"]["name"] == "Mike M."


def test_dev3_rma_replacement_is_not_counted_on_top_of_the_device_it_replaces(app, client,
                                                                            tokens):
    nw = tokens["nw"]
    usage = lambda: call(client, "GET", "/api/v1/usage", nw).get_json()  # noqa: E731
    before = usage()
    r = call(client, "PUT", "/api/v1/devices/NW-york-R1", nw,
             json={"location": "york", "replaces": NW_SERIAL})
    assert r.status_code == 201
    assert usage() == before  # the replacement does not count while the original is active
    call(client, "DELETE", f"/api/v1/devices/{NW_SERIAL}", nw)
    assert usage()["devices"] == before["devices"]  # it counts in the original's place
    second = call(client, "PUT", "/api/v1/devices/NW-york-R2", nw,
                  json={"location": "york", "replaces": "NW-york-R1"})
    assert second.status_code == 201
    twice = call(client, "PUT", "/api/v1/devices/NW-york-R3", nw,
                 json={"location": "york", "replaces": "NW-york-R1"})
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "already_replaced"
    loop = call(client, "PUT", "/api/v1/devices/NW-york-R1/rma", nw,
                json={"replaces": "NW-york-R2"})
    assert loop.status_code == 422 and loop.get_json()["error"]["code"] == "invalid_rma"
    itself = call(client, "PUT", "/api/v1/devices/NW-york-R2/rma", nw,
                  json={"replaces": "NW-york-R2"})
    assert itself.status_code == 422


# --- refusals: clear JSON errors, nothing written ---

BAD_BODIES = [
    ("malformed_json", b'{"location": "york"', "application/json", 400),
    ("malformed_json", b'{"location": "york", "location": "hull"}', "application/json", 400),
    ("malformed_json", b'{"location": NaN}', "application/json", 400),
    ("malformed_json", b"\xff\xfe{}", "application/json", 400),
    ("malformed_json", b"[" * 5000 + b"]" * 5000, "application/json", 400),
    ("invalid_type", b'["york"]', "application/json", 400),
    ("invalid_type", b'"york"', "application/json", 400),
    ("invalid_type", b'{"location": 7}', "application/json", 400),
    ("invalid_type", b'{"location": null}', "application/json", 400),
    ("invalid_type", b'{"location": ["york"]}', "application/json", 400),
    ("invalid_type", b'{"location": "york", "replaces": true}', "application/json", 400),
    ("unknown_field", b'{"location": "york", "price": "0.00"}', "application/json", 400),
    ("unknown_field", b'{"location": "york", "account_id": 3}', "application/json", 400),
    ("missing_field", b'{}', "application/json", 400),
    ("missing_field", b'', "application/json", 400),
    ("invalid_value", b'{"location": ""}', "application/json", 400),
    ("forbidden_character", b'{"location": "york\\n"}', "application/json", 400),
    ("invalid_value", json.dumps({"location": "y" * 101}).encode(), "application/json", 400),
    ("invalid_value", b'{"location": "\\ud800"}', "application/json", 400),
    ("unsupported_media_type", b'{"location": "york"}', "text/plain", 415),
    ("unsupported_media_type", b"location=york", "application/x-www-form-urlencoded", 415),
    ("payload_too_large", json.dumps({"location": "york", "x": "y" * 20_000}).encode(),
     "application/json", 413),
]


@pytest.mark.parametrize("code, body, content_type, status", BAD_BODIES)
def test_bad_bodies_get_a_clear_json_error_and_write_nothing(app, client, tokens, code, body,
                                                            content_type, status):
    before = snapshot(app)
    r = call(client, "PUT", "/api/v1/devices/NEW-1", tokens["nw"], data=body,
             content_type=content_type)
    assert r.status_code == status
    error = r.get_json()["error"]
    assert error["code"] == code and len(error["message"]) > 10
    assert snapshot(app) == before


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/api/v1/nothing-here", 404, "not_found"),
    ("PATCH", "/api/v1/devices/NEW-1", 405, "method_not_allowed"),
    ("POST", "/api/v1/usage", 405, "method_not_allowed"),
    ("PUT", "/api/v1/devices/bad%20serial", 400, "invalid_value"),
    ("PUT", "/api/v1/devices/" + "x" * 101, 400, "invalid_value"),
    ("PUT", "/api/v1/members/not-an-email", 400, "invalid_value"),
    ("GET", "/api/v1/devices?limit=0", 400, "invalid_value"),
    ("GET", "/api/v1/devices?limit=ten", 400, "invalid_type"),
    ("GET", "/api/v1/devices?include_removed=yes", 400, "invalid_type"),
    ("GET", "/api/v1/devices/NOPE-1", 404, "unknown_device"),
    ("DELETE", "/api/v1/locations/nowhere", 404, "unknown_location"),
    ("POST", "/api/v1/members/nobody@northwind.example/activate", 404, "unknown_member"),
])
def test_wrong_routes_methods_and_parameters_get_json_errors(app, client, tokens, method, path,
                                                             status, code):
    before = snapshot(app)
    body = {"location": "york"} if method == "PUT" else None
    r = call(client, method, path, tokens["nw"], json=body)
    assert r.status_code == status and r.get_json()["error"]["code"] == code
    if status == 405:
        assert r.headers["Allow"]
    assert snapshot(app) == before


def test_semantic_refusals_write_nothing(app, client, tokens):
    nw = tokens["nw"]
    before = snapshot(app)
    for body, code in (({"location": "nowhere"}, "unknown_location"),
                       ({"location": "york", "replaces": "NOPE-9"}, "unknown_device")):
        r = call(client, "PUT", "/api/v1/devices/NEW-1", nw, json=body)
        assert r.status_code == 422 and r.get_json()["error"]["code"] == code
    call(client, "DELETE", "/api/v1/locations/hull", nw)  # removed: no device may be added
    after_removal = snapshot(app)
    r = call(client, "PUT", "/api/v1/devices/NEW-1", nw, json={"location": "hull"})
    assert r.status_code == 422 and snapshot(app) == after_removal
    assert before != after_removal


def test_an_audit_event_records_each_change_made_through_the_api(app, client, tokens):
    call(client, "PUT", "/api/v1/devices/NEW-1", tokens["nw"], json={"location": "york"})
    call(client, "DELETE", "/api/v1/devices/NEW-1", tokens["nw"])
    with app.app_context():
        actions = [e.action for e in AuditEvent.select().order_by(AuditEvent.id)]
    assert actions[-2:] == ["device.created", "device.remove"]


# --- what the subscription page shows afterwards (LOC-1, LOC-2, DEV-1) ---

def bars(page: str) -> dict:
    return {unit: (int(u), int(s), st) for u, s, st, unit in re.findall(
        r'data-used="(\d+)" data-subscribed="(\d+)"\s+data-state="(\w+)" data-unit="(\w+)"',
        page)}


def expected_location_subscriptions(app) -> int:
    """LOC-1 recomputed independently: per active location max(1, ceil(n / 4)), summed
    over the whole account (LOC-2); RMA replacements of active devices do not count."""
    with app.app_context():
        account = Location.get(Location.external_id == "york").account_id
        total = 0
        for loc in Location.select().where((Location.account == account) & Location.active):
            n = 0
            for d in Device.select().where((Device.location == loc.id) & Device.active):
                original = d.rma_replacement_of
                n += 0 if (original is not None and original.active) else 1
            total += max(1, math.ceil(n / 4))
        return total


def test_loc1_loc2_dev1_page_bars_and_estimate_follow_devices_added_and_removed(
        app, client, auth, tokens):
    nw = tokens["nw"]
    auth.login(as_="admin@northwind.example")
    page = client.get("/subscription/").get_data(as_text=True)
    assert bars(page)["locations"] == (7, 6, "over") == (expected_location_subscriptions(app),
                                                         6, "over")
    # York has 3 devices: 2 more make 5 -> 2 subscriptions there (LOC-1)
    for serial in ("NW-york-04", "NW-york-05"):
        assert call(client, "PUT", f"/api/v1/devices/{serial}", nw,
                    json={"location": "york"}).status_code == 201
    # a new location with no device still counts 1 (LOC-1), whatever city it is in (LOC-2)
    call(client, "PUT", "/api/v1/locations/paris-1", nw, json={"name": "Paris"})
    assert bars(client.get("/subscription/").get_data(as_text=True))["locations"] == (
        9, 6, "over")
    # removing 8 of Leeds Flagship's 9 devices: 3 subscriptions there become 1 (DEV-1)
    for i in range(1, 9):
        assert call(client, "DELETE", f"/api/v1/devices/NW-leeds-flagship-{i:02d}",
                    nw).status_code == 200
    call(client, "DELETE", "/api/v1/locations/bradford-pop-up", nw)
    expected = expected_location_subscriptions(app)
    assert expected == 6
    page = client.get("/subscription/").get_data(as_text=True)
    assert bars(page)["locations"] == (expected, 6, "full")
    assert re.search(r'data-total="devices"><b>9</b>', page)
    active = client.get("/subscription/active").get_data(as_text=True)
    assert 'data-estimate="294.00"' in active  # 6 x 49.00, from the next payment date on
    api = call(client, "GET", "/api/v1/subscriptions", nw).get_json()["subscriptions"][0]
    assert api["estimate"]["quantity"] == expected and api["estimate"]["total"] == "294.00"
    assert api["usage"] == [{"unit": "locations", "used": 6, "subscribed": 6, "state": "full"}]
    # DEV-1: the page says removal lowers the bill from the next payment date, export first
    assert "lowers the quantity billed from the next payment date" in page
    assert "Export its data first" in page


def test_loc2_device_plan_bar_counts_devices_across_locations(app, client, auth, tokens):
    cb = tokens["cb"]
    auth.login(as_="admin@corner.example")
    for serial, loc in (("CB-x-1", "bellecour"), ("CB-x-2", "croix-rousse"),
                        ("CB-x-3", "bellecour")):
        call(client, "PUT", f"/api/v1/devices/{serial}", cb, json={"location": loc})
    assert bars(client.get("/subscription/").get_data(as_text=True))["devices"] == (6, 5, "over")
    call(client, "DELETE", "/api/v1/devices/CB-x-3", cb)
    call(client, "PUT", "/api/v1/devices/CB-x-4", cb,
         json={"location": "bellecour", "replaces": "CB-x-1"})  # DEV-3: not on top
    assert bars(client.get("/subscription/").get_data(as_text=True))["devices"] == (5, 5, "full")
    active = client.get("/subscription/active").get_data(as_text=True)
    assert 'data-estimate="75.00"' in active  # 5 devices x 15.00


def test_openapi_module_builds_the_same_document(app, client):
    assert client.get("/api/v1/openapi.json").get_json() == json.loads(json.dumps(
        openapi("/api/v1", app.config["PRODUCT_NAME"])))
