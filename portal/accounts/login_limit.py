"""Failed logins, counted where every worker sees them: per client address *and* per login.

By default the count lives in the portal's own database (table ``login_failure``: one row
per key, the start of its window and the failures in it), so the 4 gunicorn workers of the
reference deployment share it with nothing more to run. ``PORTAL_RATELIMIT_STORAGE_URI``
names another store of the ``limits`` library instead (``redis://...``, or ``memory://``
for one process). Keys are hashes: the table holds no address and no email.
A successful login is not counted; a refused one (401, or a malformed form: 400) is.
"""
from __future__ import annotations

import hashlib
import math
import time

import peewee as pw
from flask import current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from ..db import rows
from ..models import LoginFailure


def keys_for(address: str | None, login: str, purpose: str = "") -> tuple[str, str]:
    """The two counters a login attempt belongs to: its client address and its login
    (the email as the login form looks it up: trimmed, lower case). ``purpose`` keeps
    other forms' counters apart ("reset": the forgotten-password form)."""
    email = login.strip().lower()[:254]
    prefix = f"{purpose}:" if purpose else ""
    address_key, login_key = (
        hashlib.sha256(f"{prefix}{kind}:{value}".encode("utf-8", "replace")).hexdigest()
        for kind, value in (("address", address or ""), ("login", email)))
    return address_key, login_key


class LoginLimit:
    """``rule`` failures ("10 per minute") per key and window; ``wait(keys)`` says how long
    a refused client waits, ``failed(keys)`` counts a failure. ``storage_uri`` "" means
    the portal's database."""

    def __init__(self, rule: str, storage_uri: str = "", clock=time.time):
        self.item = parse(rule)
        self.amount, self.period = self.item.amount, self.item.get_expiry()
        self.clock = clock
        self.limiter = (FixedWindowRateLimiter(storage_from_string(storage_uri))
                        if storage_uri else None)

    def wait(self, keys) -> int:
        """Seconds until these keys may try again: 0 when none is over the limit."""
        now = self.clock()
        if self.limiter is not None:
            ends = [self.limiter.get_window_stats(self.item, key).reset_time
                    for key in keys if not self.limiter.test(self.item, key)]
        else:
            ends = [start + self.period for (start,) in rows(LoginFailure.select(
                LoginFailure.window_start).where(
                    LoginFailure.key.in_(list(keys)) & (LoginFailure.count >= self.amount)
                    & (LoginFailure.window_start > now - self.period)))]
        return max(1, math.ceil(max(ends) - now)) if ends else 0

    def failed(self, keys) -> None:
        """Count one failure for each key (one statement each: workers may race)."""
        if self.limiter is not None:
            for key in keys:
                self.limiter.hit(self.item, key)
            return
        now = int(self.clock())
        expired = LoginFailure.window_start <= now - self.period
        for key in keys:
            (LoginFailure.insert(key=key, window_start=now, count=1)
             .on_conflict(conflict_target=[LoginFailure.key], update={
                 LoginFailure.count: pw.Case(None, [(expired, 1)], LoginFailure.count + 1),
                 LoginFailure.window_start: pw.Case(None, [(expired, now)],
                                                    LoginFailure.window_start)})
             .execute())
        # Housekeeping: windows over for a while are dropped (the table stays small).
        LoginFailure.delete().where(LoginFailure.window_start < now - 2 * self.period).execute()


def login_limit() -> LoginLimit:
    """The current app's login limit."""
    return current_app.extensions["portal_login_limit"]


def init_app(app) -> None:
    """Build the app's limit from PORTAL_LOGIN_RATE_LIMIT and PORTAL_RATELIMIT_STORAGE_URI;
    a bad value refuses start-up, naming the variable."""
    try:
        limit = LoginLimit(app.config["LOGIN_RATE_LIMIT"])
    except ValueError as exc:
        raise RuntimeError(f"PORTAL_LOGIN_RATE_LIMIT: {exc} (e.g. '10 per minute')") from None
    uri = app.config["RATELIMIT_STORAGE_URI"] or ""
    if uri:
        try:
            limit = LoginLimit(app.config["LOGIN_RATE_LIMIT"], uri)
        except Exception as exc:  # an unknown scheme, a missing driver (redis)
            raise RuntimeError(f"PORTAL_RATELIMIT_STORAGE_URI: {exc}") from None
    app.extensions["portal_login_limit"] = limit
