"""Login, roles and isolation: rules ACC-2, ACC-3, ACC-4."""
import pytest

from portal import demo
from portal.models import User
from support.people import membership


def test_login_and_logout(client, auth):
    response = auth.login()
    assert response.status_code == 302 and response.location == "/subscription/"
    assert "Welcome, Nora Admin." in client.get("/subscription/").get_data(as_text=True)
    assert auth.logout().location == "/login"
    assert client.get("/subscription/").status_code == 302


@pytest.mark.parametrize("email, password", [("admin@northwind.example", "wrong"),
                                             ("nobody@northwind.example", demo.PASSWORD)])
def test_wrong_password_and_unknown_user_get_the_same_message(auth, email, password):
    response = auth.login(as_=email, password=password)
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_malformed_login_form_shows_field_errors(client, auth):
    response = client.post("/login", data={"email": "not-an-email", "password": "",
                                           "csrf_token": auth.csrf_token()})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="email-error"' in page and 'id="password-error"' in page


def test_acc4_deactivated_user_cannot_log_in(auth):
    assert auth.login(as_="eve@atelier.example").status_code == 401


def test_open_redirect_after_login_is_ignored(client, auth):
    token = auth.csrf_token()
    response = client.post("/login?next=https://evil.example/",
                           data={"email": "admin@northwind.example", "password": demo.PASSWORD,
                                 "csrf_token": token})
    assert response.location == "/subscription/"


def test_acc3_gear_icon_only_for_account_admins(client, auth):
    auth.login(as_="admin@northwind.example")
    assert 'data-testid="admin-gear"' in client.get("/subscription/").get_data(as_text=True)
    auth.logout()
    auth.login(as_="member@northwind.example")
    assert 'data-testid="admin-gear"' not in client.get("/subscription/").get_data(as_text=True)


ADMIN_ROUTES = ["/admin/", "/admin/members"]


@pytest.mark.parametrize("path", ADMIN_ROUTES)
@pytest.mark.parametrize("who", ["member@northwind.example", "operator@example.com"])
def test_acc3_admin_routes_refuse_others_with_403(client, auth, path, who):
    auth.login(as_=who)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_ROUTES + ["/subscription/", "/operator/"])
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.location.startswith("/login?next=")


@pytest.mark.parametrize("path", ["/operator/", "/operator/plugins", "/operator/outbox",
                                  "/operator/accounts/1"])
def test_acc2_operator_console_refuses_account_users(client, auth, path):
    auth.login(as_="admin@northwind.example")
    assert client.get(path).status_code == 403


def test_acc2_another_accounts_member_is_404_not_403(app, client, auth):
    auth.login(as_="admin@northwind.example")
    with app.app_context():
        foreign = User.get(User.email == "ben@atelier.example")
    token = auth.csrf_token("/admin/members")
    response = client.post(f"/admin/members/{foreign.id}/deactivate",
                           data={"csrf_token": token})
    assert response.status_code == 404
    with app.app_context():
        assert membership("ben@atelier.example").active is True


@pytest.mark.parametrize("path", ["/subscription/nope", "/admin/members/abc/deactivate",
                                  "/operator/accounts/999999", "/operator/accounts/x"])
def test_unknown_or_malformed_ids_are_404(client, auth, path):
    auth.login(as_="operator@example.com" if "operator" in path else "admin@northwind.example")
    method = client.post if path.endswith("deactivate") else client.get
    assert method(path).status_code == 404


def test_security_headers_on_every_page(client):
    headers = client.get("/login").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_session_cookie_is_httponly_and_samesite(client, auth):
    cookie = auth.login().headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_rate_limit_counts_failures_with_a_clear_message(make_app, auth_for):
    client = make_app(LOGIN_RATE_LIMIT="3 per minute").test_client()
    auth = auth_for(client)
    statuses = [auth.login(password="wrong").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    response = auth.login()  # even the right password waits now
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_hsts_behind_a_tls_proxy_only_when_trusted(make_app):
    headers = {"X-Forwarded-Proto": "https"}
    trusted = make_app(PROXY_FIX=1).test_client().get("/login", headers=headers)
    assert trusted.headers["Strict-Transport-Security"].startswith("max-age=")
    untrusted = make_app().test_client().get("/login", headers=headers)
    assert "Strict-Transport-Security" not in untrusted.headers


def test_demo_mode_lists_the_demo_logins_under_the_form(make_app):
    from portal import demo

    shown = make_app(DEMO=True).test_client().get("/login").get_data(as_text=True)
    # every demo user of this database (Harbour and Papillon come with the history only)
    history_only = ("admin@harbour.example", "admin@papillon.example", "admin@fjord.example")
    present = [email for email, _ in demo.LOGINS if email not in history_only]
    assert all(f"<code>{email}</code>" in shown for email in present)
    assert all(f'data-demo-login="{email}"' in shown for email in present)
    assert 'data-demo-login="admin@harbour.example"' not in shown
    assert f"<code>{demo.PASSWORD}</code>" in shown
    hidden = make_app().test_client().get("/login").get_data(as_text=True)
    assert "demo-logins" not in hidden and "admin@northwind.example" not in hidden


def test_one_click_demo_login_in_demo_mode(make_app, auth_for):
    client = make_app(DEMO=True).test_client()
    token = auth_for(client).csrf_token()
    response = client.post("/login/demo", data={"email": "admin@atelier.example",
                                                "csrf_token": token})
    assert response.status_code == 303 and response.location.endswith("/subscription/")
    page = client.get("/subscription/").get_data(as_text=True)
    assert "Atelier Space" in page
    # no CSRF token: refused, nobody logged in
    other = make_app(DEMO=True).test_client()
    assert other.post("/login/demo", data={"email": "admin@atelier.example"}).status_code == 400
    assert other.get("/subscription/").status_code == 302
    # only the demo logins: not any user of the database
    refused = other.post("/login/demo", data={"email": "eve@atelier.example",
                                              "csrf_token": auth_for(other).csrf_token()})
    assert refused.status_code == 303 and refused.location.endswith("/login")
    assert other.get("/subscription/").status_code == 302


def test_demo_login_does_not_exist_outside_demo_mode(client, auth):
    token = auth.csrf_token()
    response = client.post("/login/demo", data={"email": "admin@northwind.example",
                                                "csrf_token": token})
    assert response.status_code == 404
    assert client.get("/subscription/").status_code == 302  # still logged out


@pytest.mark.parametrize("path", ["/operator/accounts/99999999999999999999"])
def test_huge_ids_are_404_not_500(client, auth, path):
    auth.login(as_="operator@example.com")
    assert client.get(path).status_code == 404
