"""Operator screens: an account's devices and locations (LOC-1), RMA marks (DEV-3), API
tokens (create, rotate, revoke; shown once) and deliveries; roles and CSRF (ACC-2)."""
import re

import pytest

from portal.models import Account, ApiToken, Device
from support.api import call, snapshot


def ids(app):
    with app.app_context():
        nw = Account.get(Account.name == "Northwind Retail").id
        cb = Account.get(Account.name == "Corner Bakeries").id
        york1 = Device.get(Device.serial == "NW-york-01").id
        york2 = Device.get(Device.serial == "NW-york-02").id
        corner = Device.get(Device.serial.startswith("CB-")).id
    return nw, cb, york1, york2, corner


@pytest.mark.parametrize("who, status", [("admin@northwind.example", 403),
                                         ("member@northwind.example", 403)])
def test_acc2_only_operators_reach_the_inventory_tokens_and_deliveries(app, client, auth, who,
                                                                       status):
    nw, *_ = ids(app)
    pages = [f"/operator/accounts/{nw}/devices", f"/operator/accounts/{nw}/tokens",
             "/operator/deliveries"]
    for page in pages:
        assert client.get(page).status_code == 302  # anonymous: to the login form
    auth.login(as_=who)
    for page in pages:
        assert client.get(page).status_code == status
    assert client.post(f"/operator/accounts/{nw}/tokens",
                       data={"name": "x", "csrf_token": auth.csrf_token("/subscription/")}
                       ).status_code == status


def test_loc1_operator_sees_locations_with_their_subscriptions_and_devices(app, client, auth):
    nw, *_ = ids(app)
    auth.login(as_="operator@example.com")
    page = client.get(f"/operator/accounts/{nw}/devices").get_data(as_text=True)
    assert 'data-location="leeds-flagship" data-devices="9" data-subscriptions="3"' in page
    assert 'data-location="bradford-pop-up" data-devices="0" data-subscriptions="1"' in page
    assert 'data-total="location-subscriptions"><b>7</b>' in page
    assert page.count('data-serial="NW-') == 15
    assert "CB-" not in page  # another account's devices are not mixed in


def test_dev3_operator_marks_an_rma_replacement_without_javascript(app, client, auth):
    nw, _, york1, york2, _ = ids(app)
    auth.login(as_="operator@example.com")
    token = auth.csrf_token(f"/operator/accounts/{nw}/devices")
    r = client.post(f"/operator/accounts/{nw}/devices/{york2}/rma",
                    data={"replaces": "NW-york-01", "csrf_token": token})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert f'id="device-{york2}" data-serial="NW-york-02" data-active="true" ' \
           'data-rma="NW-york-01"' in page
    assert "is now the RMA replacement of NW-york-01" in page  # flashed
    # DEV-3: not counted on top of the device it replaces (York: 3 devices -> 2 counting)
    assert 'data-location="york" data-devices="2"' in page
    # clearing the mark
    client.post(f"/operator/accounts/{nw}/devices/{york2}/rma",
                data={"replaces": "", "csrf_token": token})
    page = client.get(f"/operator/accounts/{nw}/devices").get_data(as_text=True)
    assert 'data-serial="NW-york-02" data-active="true" data-rma=""' in page


def test_dev3_rma_mark_with_htmx_returns_the_row_and_the_flash(app, client, auth):
    nw, _, york1, york2, _ = ids(app)
    auth.login(as_="operator@example.com")
    token = auth.csrf_token(f"/operator/accounts/{nw}/devices")
    r = client.post(f"/operator/accounts/{nw}/devices/{york2}/rma",
                    data={"replaces": "NW-york-01"},
                    headers={"HX-Request": "true", "X-CSRFToken": token})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and body.lstrip().startswith(f'<tr id="device-{york2}"')
    assert 'data-rma="NW-york-01"' in body and 'hx-swap-oob="true"' in body
    assert "<html" not in body


def test_rma_mark_errors_show_next_to_the_field_and_change_nothing(app, client, auth):
    nw, _, york1, york2, _ = ids(app)
    auth.login(as_="operator@example.com")
    token = auth.csrf_token(f"/operator/accounts/{nw}/devices")
    before = snapshot(app)
    for replaces, message in (("NOPE-1", "No device with this serial"),
                              ("NW-york-02", "cannot replace itself"),
                              ("x" * 101, "at most 100 characters")):
        r = client.post(f"/operator/accounts/{nw}/devices/{york2}/rma",
                        data={"replaces": replaces, "csrf_token": token})
        page = r.get_data(as_text=True)
        assert r.status_code == 422
        error = re.search(rf'id="rma-{york2}-error">([^<]+)<', page)
        assert error and message in error.group(1)
        hx = client.post(f"/operator/accounts/{nw}/devices/{york2}/rma",
                         data={"replaces": replaces},
                         headers={"HX-Request": "true", "X-CSRFToken": token})
        assert f'id="rma-{york2}-error"' in hx.get_data(as_text=True)
    assert snapshot(app)["devices"] == before["devices"]


def test_rma_mark_needs_csrf_and_the_accounts_own_device(app, client, auth):
    nw, cb, york1, york2, corner = ids(app)
    auth.login(as_="operator@example.com")
    before = snapshot(app)
    assert client.post(f"/operator/accounts/{nw}/devices/{york2}/rma",
                       data={"replaces": "NW-york-01"}).status_code == 400
    token = auth.csrf_token(f"/operator/accounts/{nw}/devices")
    assert client.post(f"/operator/accounts/{nw}/devices/{corner}/rma",
                       data={"replaces": "NW-york-01", "csrf_token": token}).status_code == 404
    assert client.post(f"/operator/accounts/{cb}/devices/{york2}/rma",
                       data={"replaces": "NW-york-01", "csrf_token": token}).status_code == 404
    assert client.get("/operator/accounts/99999/devices").status_code == 404
    assert snapshot(app) == before


def test_tokens_are_created_shown_once_rotated_and_revoked(app, client, auth):
    nw, *_ = ids(app)
    auth.login(as_="operator@example.com")
    tokens_page = f"/operator/accounts/{nw}/tokens"
    csrf = auth.csrf_token(tokens_page)
    r = client.post(tokens_page, data={"name": "Counting product", "csrf_token": csrf})
    assert r.status_code == 201
    plain = re.search(r'value="(ptk_[^"]+)" data-testid="new-token"', r.get_data(as_text=True))[1]
    assert "not shown again" in r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "no-store"
    assert call(client, "GET", "/api/v1/usage", plain).status_code == 200
    listing = client.get(tokens_page).get_data(as_text=True)
    assert plain not in listing and plain[:10] in listing  # only the prefix, never the token
    with app.app_context():
        token = ApiToken.get(ApiToken.name == "Counting product")
        assert token.last_used_at is not None and token.created_by.email == "operator@example.com"
    # rotate: a new token, the old one refused at once
    r = client.post(f"/operator/tokens/{token.id}/rotate", data={"csrf_token": csrf})
    new_plain = re.search(r'value="(ptk_[^"]+)"', r.get_data(as_text=True))[1]
    assert r.status_code == 201 and new_plain != plain
    assert call(client, "GET", "/api/v1/usage", plain).status_code == 401
    assert call(client, "GET", "/api/v1/usage", new_plain).status_code == 200
    # revoke with htmx: the row comes back revoked, the token is refused
    with app.app_context():
        new = ApiToken.get((ApiToken.name == "Counting product") & ApiToken.revoked_at.is_null())
    r = client.post(f"/operator/tokens/{new.id}/revoke",
                    headers={"HX-Request": "true", "X-CSRFToken": csrf})
    row = r.get_data(as_text=True)
    assert f'id="token-{new.id}"' in row and 'data-revoked="true"' in row
    assert call(client, "GET", "/api/v1/usage", new_plain).status_code == 401
    # rotating a revoked token is refused with a message
    r = client.post(f"/operator/tokens/{new.id}/rotate", data={"csrf_token": csrf},
                    follow_redirects=True)
    assert "already revoked" in r.get_data(as_text=True)


def test_token_form_errors_show_next_to_the_field(app, client, auth):
    nw, *_ = ids(app)
    auth.login(as_="operator@example.com")
    page = f"/operator/accounts/{nw}/tokens"
    before = snapshot(app)
    for name in ("", "x" * 101):
        r = client.post(page, data={"name": name, "csrf_token": auth.csrf_token(page)})
        assert r.status_code == 400
        assert re.search(r'class="field-error" id="name-error">[^<]+<', r.get_data(as_text=True))
    assert client.post(page, data={"name": "no csrf"}).status_code == 400
    assert snapshot(app) == before


def test_operator_outbox_points_at_failed_deliveries(app, client, auth):
    from portal.models import Delivery

    with app.app_context():
        Delivery.create(kind="order_placed", channel="email", payload="{}", status="failed",
                        attempts=6, last_error="SMTPServerDisconnected: gone")
    auth.login(as_="operator@example.com")
    outbox = client.get("/operator/outbox").get_data(as_text=True)
    assert 'data-failed-deliveries="1"' in outbox and "/operator/deliveries?status=failed" in outbox
    page = client.get("/operator/deliveries?status=failed").get_data(as_text=True)
    assert "SMTPServerDisconnected: gone" in page and 'data-attempts="6"' in page
