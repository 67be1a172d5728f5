"""Fixtures, flaskr-style: ``app`` (a fresh database with the demo data), ``client``,
``runner`` and ``auth``.

The database is SQLite by default: a migrated, demo-loaded template is built once per
session and copied for each test. Set PORTAL_TEST_DATABASE_URL to a PostgreSQL URL to
run the same tests on PostgreSQL: a migrated, demo-loaded template database is built once
per session and each test gets a fresh copy of it (``CREATE DATABASE ... TEMPLATE``).

Extra app settings for a whole module (or one test): ``pytestmark =
pytest.mark.app_config(TODAY=DEMO_TODAY)``; ``app`` passes them to ``make_app``.

More fixtures come from the support modules below (see tests/support/__init__.py); a test
names them and imports nothing from another test module.
"""
from __future__ import annotations

import secrets
import shutil

import pytest

from portal import create_app, demo
from portal.db import close_all, db, migrate, open_database
from support.database import DEMO_TODAY, PG_URL, pg_admin, pg_url

pytest_plugins = ["support.api", "support.fake_braintree", "support.history"]

# A fresh random key per session: testing mode does not lift the secret-key check.
SECRET_KEY = secrets.token_hex(32)


def _load(url: str) -> None:
    database = open_database(url)
    with database.connection_context():
        migrate(database)
        demo.load(today=DEMO_TODAY)
    close_all(database)  # the pool's connection too: the file is copied, or a template


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite database with the demo data, built once."""
    path = tmp_path_factory.mktemp("template") / "portal.sqlite3"
    _load(f"sqlite:///{path}")
    return path


PG_TEMPLATE = "portal_test_template"
PG_TEST_DB = "portal_test"


@pytest.fixture(scope="session")
def postgres_template():
    """A migrated PostgreSQL database with the demo data, built once; None on SQLite."""
    if not PG_URL:
        yield None
        return
    pg_admin(f"DROP DATABASE IF EXISTS {PG_TEST_DB} WITH (FORCE)",
             f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)",
             f"CREATE DATABASE {PG_TEMPLATE}")
    _load(pg_url(PG_TEMPLATE))
    yield PG_TEMPLATE
    pg_admin(f"DROP DATABASE IF EXISTS {PG_TEST_DB} WITH (FORCE)",
             f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)")


@pytest.fixture
def database_url(tmp_path, request):
    """URL of a fresh database holding the demo data, for this test alone."""
    if PG_URL:
        template = request.getfixturevalue("postgres_template")
        # FORCE ends the connections an earlier test's app left open.
        pg_admin(f"DROP DATABASE IF EXISTS {PG_TEST_DB} WITH (FORCE)",
                 f"CREATE DATABASE {PG_TEST_DB} TEMPLATE {template}")
        return pg_url(PG_TEST_DB)
    path = tmp_path / "portal.sqlite3"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def make_app(tmp_path, database_url):
    """Build an app on this test's database, with extra config."""

    def make(**config):
        base = {"TESTING": True, "SECRET_KEY": SECRET_KEY, "DATABASE_URL": database_url,
                "SUPPORT_EMAIL": "success@portal.test"}
        base.update(config)
        return create_app(base)

    return make


@pytest.fixture
def app(make_app, request):
    """The app with CSRF on, as in production (plus the settings of an ``app_config`` mark)."""
    marker = request.node.get_closest_marker("app_config")
    application = make_app(**(marker.kwargs if marker else {}))
    yield application
    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app):
    """A test client for ``app``."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for ``app``'s commands."""
    return app.test_cli_runner()


class AuthActions:
    """Log in and out through the real login form, CSRF token included."""

    def __init__(self, client):
        self._client = client

    def csrf_token(self, path="/login") -> str:
        import re

        page = self._client.get(path, follow_redirects=True).get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'"X-CSRFToken": "([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, as_="admin@northwind.example", password=demo.PASSWORD):
        token = self.csrf_token()
        return self._client.post("/login", data={"email": as_, "password": password,
                                                 "csrf_token": token})

    def logout(self):
        return self._client.post("/logout", data={"csrf_token": self.csrf_token("/")},
                                 follow_redirects=False)


@pytest.fixture
def auth(client):
    """``auth.login(as_=email)`` / ``auth.logout()`` / ``auth.csrf_token(path)``."""
    return AuthActions(client)


@pytest.fixture
def auth_for():
    """``auth_for(client)``: the ``auth`` helper for another test client."""
    return AuthActions


@pytest.fixture
def app_ctx(app):
    """An application context with the database connected, for model-level tests."""
    with app.app_context():
        db.connect(reuse_if_open=True)
        yield app
