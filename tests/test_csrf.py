"""CSRF: every state change refuses a missing or wrong token, forms and htmx alike."""
import pytest

from portal import demo
from portal.models import User
from support.people import membership


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_login_without_valid_token_is_refused(client, token):
    data = {"email": "admin@northwind.example", "password": demo.PASSWORD}
    if token:
        data["csrf_token"] = token
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert "The form expired" in response.get_data(as_text=True)


@pytest.mark.parametrize("headers", [{}, {"X-CSRFToken": "forged", "HX-Request": "true"}])
def test_member_deactivation_without_token_changes_nothing(app, client, auth, headers):
    auth.login(as_="admin@atelier.example")
    with app.app_context():
        ben = User.get(User.email == "ben@atelier.example")
    response = client.post(f"/admin/members/{ben.id}/deactivate", headers=headers)
    assert response.status_code == 400
    with app.app_context():
        assert membership(ben.email).active is True


def test_htmx_request_with_header_token_is_accepted(app, client, auth):
    auth.login(as_="admin@atelier.example")
    token = auth.csrf_token("/admin/members")
    with app.app_context():
        ben = User.get(User.email == "ben@atelier.example")
    response = client.post(f"/admin/members/{ben.id}/deactivate",
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 200
    assert response.get_data(as_text=True).lstrip().startswith(f'<tr id="member-{ben.id}"')
    with app.app_context():
        assert membership(ben.email).active is False


def test_logout_requires_token(client, auth):
    auth.login()
    assert client.post("/logout").status_code == 400
    assert client.get("/subscription/").status_code == 200
