"""Helpers and fixtures for the devices API and notification tests (issue 7).

A pytest plugin (tests/conftest.py lists it): name its fixtures as test arguments; import
the helpers (``from support.api import call``).

- ``tokens``: plain API tokens for Northwind (``nw``), Corner Bakeries (``cb``) and a
  revoked Northwind token (``revoked``).
- ``smtp_server``: a real SMTP server (aiosmtpd) on 127.0.0.1 and a free port; its
  ``messages`` are parsed ``email.message.EmailMessage`` objects with their envelopes.
- ``mail_app`` / ``mail_client``: the app (and a client) whose email channel sends there.
- ``snapshot(app)``: every row the API could write, to prove that a refusal wrote nothing.
"""
from __future__ import annotations

import email
import email.policy
import re
import threading
import time

import pytest

from portal import demo
from portal.accounts import tokens as api_tokens
from portal.db import db
from portal.models import (Account, ApiToken, AuditEvent, Delivery, Device, Location,
                           Membership, OutboxMessage, User)
from portal.testing.served import free_port


@pytest.fixture
def tokens(app):
    """Plain API tokens: Northwind's, Corner Bakeries', and a revoked Northwind one."""
    with app.app_context():
        nw = Account.get(Account.name == "Northwind Retail")
        cb = Account.get(Account.name == "Corner Bakeries")
        _, nw_plain = api_tokens.create_token(nw, "counting product")
        _, cb_plain = api_tokens.create_token(cb, "counting product")
        old, old_plain = api_tokens.create_token(nw, "old integration")
        api_tokens.revoke_token(old)
        db.close()
    return {"nw": nw_plain, "cb": cb_plain, "revoked": old_plain}


def call(client, method: str, path: str, token: str | None = None, **kwargs):
    """One API request with a bearer token."""
    headers = dict(kwargs.pop("headers", {}) or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.open(path, method=method, headers=headers, **kwargs)


def csrf_token(client, path: str) -> str:
    """The CSRF token a page of ``client``'s session carries."""
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'"X-CSRFToken": "([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email: str, password: str = demo.PASSWORD):
    """Log ``client`` in through the real form (for apps other than the ``app`` fixture)."""
    r = client.post("/login", data={"email": email, "password": password,
                                    "csrf_token": csrf_token(client, "/login")})
    assert r.status_code == 302, r.status_code
    return r


def snapshot(app) -> dict:
    """Every row the API and its notifications may write, as comparable tuples."""
    with app.app_context():
        try:
            return {
                "locations": sorted(Location.select(Location.id, Location.external_id,
                                                    Location.name, Location.active).tuples()),
                "devices": sorted(Device.select(Device.id, Device.serial, Device.location,
                                                Device.active, Device.rma_replacement_of)
                                  .tuples()),
                "users": sorted(User.select(User.id, User.email, User.name).tuples()),
                "memberships": sorted(Membership.select(
                    Membership.id, Membership.user, Membership.account, Membership.role,
                    Membership.active).tuples()),
                "audit": AuditEvent.select().count(),
                "deliveries": Delivery.select().count(),
                "outbox": OutboxMessage.select().count(),
                "tokens": sorted(ApiToken.select(ApiToken.id, ApiToken.revoked_at).tuples()),
            }
        finally:
            db.close()


class Mailbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        msg.envelope_from = envelope.mail_from
        msg.envelope_to = list(envelope.rcpt_tos)
        self.messages.append(msg)
        self.received.set()
        return "250 OK"


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be started and stopped."""

    def __init__(self):
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller = None

    @property
    def messages(self):
        return self.mailbox.messages

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def config(self) -> dict:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port,
                "SMTP_FROM": "portal@portal.test"}

    def wait_for(self, count: int, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@pytest.fixture
def smtp_server():
    """A running SMTP server (aiosmtpd) that keeps what it receives."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(make_app, smtp_server):
    """The app with the email channel pointed at the test's SMTP server."""
    application = make_app(**smtp_server.config())
    yield application
    if not db.is_closed():
        db.close()


@pytest.fixture
def mail_client(mail_app):
    return mail_app.test_client()


def parts(msg) -> dict[str, str]:
    """{content type: decoded text} of a multipart message's leaves."""
    return {p.get_content_type(): p.get_content() for p in msg.walk()
            if not p.is_multipart()}


@pytest.fixture
def operator_tokens(app):
    """Plain operator tokens for the provisioning API: ``all`` (every scope), ``read``
    (accounts:read, catalogue:read), ``accounts`` (accounts:write only) and ``revoked``."""
    from portal.accounts import operator_tokens as made
    from portal.models import User

    with app.app_context():
        operator = User.get(User.email == "operator@example.com")
        _, every = made.create("CRM", made.SCOPES, created_by=operator)
        _, read = made.create("Reporting", ["accounts:read", "catalogue:read"])
        _, accounts = made.create("Accounts only", ["accounts:write"])
        old, revoked = made.create("Old CRM", made.SCOPES)
        made.revoke(old)
        db.close()
    return {"all": every, "read": read, "accounts": accounts, "revoked": revoked}
