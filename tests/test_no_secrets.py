"""No secret where it does not belong: after logins, a failed login, API-token creation and
use, and the mails those flows send, the database (file bytes and rows), the logs and the
mails hold no password and no API token in clear (card data: test_cards_secrets.py)."""
import logging
import re

import pytest

from portal.accounts import passwords
from portal.models import Account, User
from support.database import database_text

PASSWORD = "Correct-Horse-7731-battery"
WRONG_PASSWORD = "Wrong-Staple-9150-guess"


@pytest.fixture
def app(make_app, smtp_server):
    """Mail goes to a real SMTP server."""
    return make_app(**smtp_server.config())


def test_no_password_or_api_token_in_database_logs_or_mail(app, client, auth, smtp_server,  # noqa: E501
                                                           caplog):
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        user = User.get(User.email == "admin@northwind.example")
        passwords.set_password(user, PASSWORD)
        user.save()
        account_id = Account.get(Account.name == "Northwind Retail").id
    assert auth.login(password=WRONG_PASSWORD).status_code == 401
    assert auth.login(password=PASSWORD).status_code == 302
    auth.logout()

    auth.login(as_="operator@example.com")
    tokens_url = f"/operator/accounts/{account_id}/tokens"
    page = client.post(tokens_url, data={"name": "secrets",
                                         "csrf_token": auth.csrf_token(tokens_url)})
    token = re.search(r'value="([^"]+)"[^>]*data-testid="new-token"',
                      page.get_data(as_text=True)).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.put("/api/v1/devices/SECRET-1", headers=headers,
                      json={"location": "york"}).status_code == 201
    assert client.get("/api/v1/usage", headers=headers).status_code == 200
    mails = smtp_server.wait_for(1)
    assert mails  # the new-device mail went out

    haystacks = {"database": database_text(app),
                 "logs": caplog.text.encode(),
                 "mails": b"\n".join(m.as_bytes() for m in mails)}
    for where, data in haystacks.items():
        for secret in (PASSWORD, WRONG_PASSWORD, token):
            assert secret.encode() not in data, f"a secret is in the {where}"
    assert token[:10].encode() in haystacks["database"]  # the search looks where it should
