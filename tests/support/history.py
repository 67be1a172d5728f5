"""``history_app``: the app on the demo *with* its year of history (invoices, receipts,
a credit note, dunning, daily account snapshots), loaded once per test module, as of
DEMO_TODAY; on a fresh PostgreSQL database when PORTAL_TEST_DATABASE_URL is set. Tests
that use it read only (the base ``app`` fixture is for tests that write)."""
from __future__ import annotations

import re
import secrets
from contextlib import contextmanager

import pytest

from portal import create_app, demo
from portal.db import close_all, db, migrate
from support.database import DEMO_TODAY, PG_URL, pg_admin, pg_url

HISTORY_DB = "portal_test_history"


@pytest.fixture(scope="module")
def history_app(tmp_path_factory):
    """The app on the demo with its year of history (read-only, for one module)."""
    if PG_URL:
        pg_admin(f"DROP DATABASE IF EXISTS {HISTORY_DB} WITH (FORCE)",
                 f"CREATE DATABASE {HISTORY_DB}")
        url = pg_url(HISTORY_DB)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('history') / 'portal.sqlite3'}"
    app = create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(32),
                      "DATABASE_URL": url, "TODAY": DEMO_TODAY,
                      "SUPPORT_EMAIL": "success@portal.test"})
    with app.app_context():
        db.connect(reuse_if_open=True)
        migrate()
        demo.load(DEMO_TODAY, history=True)
        db.close()
    yield app
    close_all()
    if PG_URL:
        pg_admin(f"DROP DATABASE IF EXISTS {HISTORY_DB} WITH (FORCE)")


def logged_in(app, email: str):
    """A test client of ``app`` logged in as ``email`` through the real form (CSRF)."""
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    client.post("/login", data={"email": email, "password": demo.PASSWORD, "csrf_token": token})
    return client


def operator_page(app, path: str) -> str:
    """``path`` as the demo operator sees it (answered 200)."""
    response = logged_in(app, "operator@example.com").get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@contextmanager
def connected(app):
    """A database connection on ``app`` (the history app is read outside requests)."""
    with app.app_context():
        db.connect(reuse_if_open=True)
        yield
        db.close()
