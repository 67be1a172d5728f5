"""Failed logins are limited where every worker sees it: per client address and per login,
counted in the portal's database by default, 429 with Retry-After (issue 13, item 12)."""
import re
import subprocess
import sys
import textwrap

import pytest

from portal import demo
from portal.accounts.login_limit import LoginLimit, keys_for
from portal.models import LoginFailure


def attempt(client, email="admin@northwind.example", password="wrong", address="127.0.0.1",
            headers=None):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address}, headers=headers or {})


WORKER = textwrap.dedent("""
    import secrets
    import sys
    from portal import create_app
    app = create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(32),
                      "WTF_CSRF_ENABLED": False, "DATABASE_URL": sys.argv[1]})
    client = app.test_client()
    for _ in range(int(sys.argv[2])):
        response = client.post("/login", data={"email": "admin@northwind.example",
                                               "password": "wrong"})
        print(response.status_code)
""")


def test_another_worker_process_shares_the_count(make_app, database_url):
    """The reference deployment runs 4 gunicorn workers: a failure counted by one is
    seen by the others (it used to be counted in each worker's memory)."""
    app = make_app()  # migrated and demo-loaded: the other worker opens the same database
    other = subprocess.run([sys.executable, "-c", WORKER, database_url, "5"],
                           capture_output=True, text=True, check=True)
    assert other.stdout.split() == ["401"] * 5
    client = app.test_client()
    assert [attempt(client).status_code for _ in range(5)] == [401] * 5
    refused = attempt(client)  # the 11th wrong password across both workers
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_the_login_limit_holds_across_addresses(make_app):
    client = make_app(LOGIN_RATE_LIMIT="3 per minute").test_client()
    statuses = [attempt(client, address=f"10.0.0.{n}").status_code for n in range(1, 5)]
    assert statuses == [401, 401, 401, 429]
    response = attempt(client, password=demo.PASSWORD, address="10.0.0.9")  # even the right one
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert "Too many attempts" in response.get_data(as_text=True)
    # another login from a fresh address is not refused
    assert attempt(client, email="member@northwind.example", address="10.0.0.10",
                   password=demo.PASSWORD).status_code == 302


def test_the_address_limit_holds_across_logins(make_app):
    client = make_app(LOGIN_RATE_LIMIT="3 per minute").test_client()
    statuses = [attempt(client, email=f"guess{n}@northwind.example").status_code
                for n in range(4)]
    assert statuses == [401, 401, 401, 429]
    other_address = attempt(client, email="guess9@northwind.example", address="10.1.1.1")
    assert other_address.status_code == 401


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(make_app):
    direct = make_app(LOGIN_RATE_LIMIT="2 per minute").test_client()
    statuses = [attempt(direct, email=f"guess{n}@northwind.example",
                        headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code
                for n in range(3)]
    assert statuses == [401, 401, 429]  # a forged header does not dodge the address limit

    proxied = make_app(LOGIN_RATE_LIMIT="2 per minute", PROXY_FIX=1).test_client()
    statuses = [attempt(proxied, email=f"other{n}@northwind.example", address="10.9.9.9",
                        headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
                for n in range(3)]
    assert statuses == [401, 401, 401]  # behind the proxy: three different clients


def test_successful_logins_do_not_count(make_app):
    client = make_app(LOGIN_RATE_LIMIT="2 per minute").test_client()
    for _ in range(4):
        assert attempt(client, password=demo.PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": re.search(
            r'"X-CSRFToken": "([^"]+)"',
            client.get("/subscription/").get_data(as_text=True)).group(1)})
    assert [attempt(client).status_code for _ in range(3)] == [401, 401, 429]


def test_a_redis_or_memory_store_can_count_instead(make_app):
    client = make_app(LOGIN_RATE_LIMIT="2 per minute",
                      RATELIMIT_STORAGE_URI="memory://").test_client()
    statuses = [attempt(client).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    assert 1 <= int(attempt(client).headers["Retry-After"]) <= 60


@pytest.mark.parametrize("setting, value", [("LOGIN_RATE_LIMIT", "lots"),
                                            ("RATELIMIT_STORAGE_URI", "nosuch://x")])
def test_a_bad_limit_setting_refuses_to_start(make_app, setting, value):
    with pytest.raises(RuntimeError, match=f"PORTAL_{setting}"):
        make_app(**{setting: value})


def test_the_window_ends_and_the_count_starts_again(app_ctx):
    now = [1_000_000.0]
    limit = LoginLimit("2 per minute", clock=lambda: now[0])
    keys = keys_for("10.0.0.1", " Admin@Northwind.example ")
    assert keys == keys_for("10.0.0.1", "admin@northwind.example")  # as the login looks it up
    limit.failed(keys)
    limit.failed(keys)
    now[0] += 20
    assert limit.wait(keys) == 40
    assert limit.wait(keys_for("10.0.0.2", "someone@else.example")) == 0
    now[0] += 41
    assert limit.wait(keys) == 0
    limit.failed(keys)
    assert limit.wait(keys) == 0  # one failure in the new window
    assert {row.count for row in LoginFailure.select()} == {1}
