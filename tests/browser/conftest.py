"""Browser-test fixtures: the app on a real HTTP server, and headless Debian chromium.

Every test in tests/browser/ is marked ``browser`` automatically (``make test`` runs them
on SQLite; the PostgreSQL pass deselects them with ``-m "not browser"``).

Fixtures, for any helper's browser test:

- ``live_server``: the app (a fresh copy of the demo database, CSRF on, as in production)
  served by werkzeug from a thread on 127.0.0.1 and a free port, for this test alone.
  ``live_server.url`` is the base URL, ``live_server.app`` the Flask app; use
  ``live_server.app_context()`` for database assertions, e.g.
  ``with live_server.app_context(): assert Device.select().count() == 16``.
- ``browser``: Playwright's chromium, Debian's ``/usr/bin/chromium`` (``playwright install``
  cannot download here). Launched once per session. A missing chromium FAILS the test and
  says how to install it: the browser tests are not optional.
- ``page``: a fresh browser context (JavaScript on) and page whose ``base_url`` is the
  live server, so ``page.goto("/subscription/")`` works.
- ``nojs_page``: the same with JavaScript disabled, to prove that forms and links work
  without htmx (progressive enhancement).
- ``console_errors``: the list of console errors, uncaught exceptions ("pageerror") and
  CSP violations (chromium reports them as console errors) seen by ``page``; assert it
  is empty at the end of a test. For ``nojs_page`` call ``watch_errors(nojs_page)``.

- ``mail_server``: ``(url, app)``, the app served with its mail sent to ``smtp_server``
  (a real SMTP server), to follow mailed links (password reset, invitations).

- ``login``: the helper ``login(page, email, password=demo.PASSWORD)``, which logs in through the
  real form and fails with the page's message when the login does not succeed (a
  fixture, because conftest modules are not meant to be imported).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from support.serving import make_server

from portal import demo
from portal.db import db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
TIMEOUT_MS = 10_000  # per Playwright action/assertion; loopback pages answer in milliseconds

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark every test under tests/browser/ as ``browser`` (before ``-m`` selects)."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class LiveServer:
    """A running app: ``url`` (no trailing slash) and ``app`` (for database assertions)."""

    url: str
    app: Flask

    def app_context(self):
        """An app context with the database connected (the test's own connection)."""
        return _ConnectedContext(self.app)


class _ConnectedContext:
    def __init__(self, app):
        self._ctx = app.app_context()

    def __enter__(self):
        self._ctx.__enter__()
        db.connect(reuse_if_open=True)
        return self._ctx

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)  # the app's teardown closes the connection


@pytest.fixture
def live_server(make_app):
    """The app on a fresh demo database, served over HTTP from a thread, for this test."""
    app = make_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live_server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        if not db.is_closed():
            db.close()


@pytest.fixture
def mail_server(make_app, smtp_server):
    """(url, app): the app served over HTTP with its email channel pointed at the test's
    real SMTP server (``smtp_server``), for tests that follow a mailed link."""
    app = make_app(**smtp_server.config())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="mail_server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        if not db.is_closed():
            db.close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium through Playwright, once per session."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium. "
                    "Install it with `apt-get install chromium` (as root), or run `make test`, "
                    "which installs it.", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: install the test extra with "
                    "`.venv/bin/pip install -e '.[test]'` (or run `make test`).", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _new_page(browser, live_server, **context_options):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280,
                                                                      "height": 900},
                                  **context_options)
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_server):
    """A page with JavaScript on, in its own context (cookies), based at the live server."""
    context, p = _new_page(browser, live_server)
    yield p
    context.close()


@pytest.fixture
def nojs_page(browser, live_server):
    """A page with JavaScript disabled, based at the live server."""
    context, p = _new_page(browser, live_server, java_script_enabled=False)
    yield p
    context.close()


def watch_errors(p) -> list[str]:
    """Collect console errors, uncaught page errors and CSP violations of page ``p``."""
    errors: list[str] = []
    p.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}")
         if msg.type == "error" else None)
    p.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors


@pytest.fixture
def console_errors(page) -> list[str]:
    """Errors seen by ``page`` from now on (attach before the first ``goto``)."""
    return watch_errors(page)


def log_in(p, email: str, password: str = demo.PASSWORD) -> None:
    """Log in through the real login form; fail with the page's message if refused."""
    p.goto("/login")
    p.fill("input[name=email]", email)
    p.fill("input[name=password]", password)
    with p.expect_navigation():
        p.click("form button[type=submit], form button:not([type])")
    if p.url.rstrip("/").endswith("/login"):
        message = p.locator(".error, .field-error").all_inner_texts()
        pytest.fail(f"login as {email} failed: {message or p.content()[:500]}")


@pytest.fixture(scope="session")
def login():
    """``login(page, email, password=demo.PASSWORD)``: log in through the real form."""
    return log_in
