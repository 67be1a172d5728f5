"""Forgotten passwords (rule ACC-8): a mailed link, signed, single-use, valid one hour.

The token is signed with the app's secret key (itsdangerous, its own salt) and carries
the person's id and a digest of their current password hash: setting a new password
changes the hash, so a used link (and every other link sent before) is refused after.
Its age is read from the portal's clock (``portal.clock``), like everything dated.

``request_reset(email, link_for)`` runs after the answer has been sent (the view defers
it), so the form's answer, status and time are the same for a known and an unknown
address; only a known, active person gets a mail.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from .. import clock
from ..events import PasswordResetRequested
from ..models import AuditEvent, User
from . import passwords

MAX_AGE_SECONDS = 3600
SALT = "portal.password-reset"


class ClockSigner(TimestampSigner):
    """Timestamps from the portal's clock (``get_timestamp`` is itsdangerous's documented
    point to override), so tests and a pinned day move the link's age too."""

    def get_timestamp(self) -> int:
        return int(clock.now().replace(tzinfo=dt.UTC).timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT,
                                  signer=ClockSigner)


def _fingerprint(user) -> str:
    """What binds a link to the password it replaces (a digest, not the hash itself)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def make_token(user) -> str:
    """A reset token for ``user``, valid until they set a new password or an hour passes."""
    return _serializer().dumps({"u": user.id, "p": _fingerprint(user)})


def user_for(token: str):
    """The active person a live token names, else None (forged, expired, used, or the
    person deactivated or gone)."""
    try:
        data = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = User.get_or_none(User.id == data["u"])
    if user is None or not user.can_log_in \
            or not hmac.compare_digest(str(data.get("p", "")), _fingerprint(user)):
        return None
    return user


def request_reset(email: str, link_for) -> None:
    """Mail a reset link to the active person with ``email``; nothing for anyone else.
    ``link_for(token)`` makes the absolute link. Runs after the answer was sent."""
    user = User.get_or_none(User.email == email.strip().lower())
    if user is None or not user.can_log_in:
        return
    now = clock.now().isoformat()
    AuditEvent.create(account=getattr(user, "account_id", None), actor=None,
                      action="password.reset_requested", detail=user.email)
    passwords.emit_events([PasswordResetRequested(getattr(user, "account_id", None), user.id,
                                                  link_for(make_token(user)), now)])


def reset_password(user, new: str) -> None:
    """Set the new password of the person a live link named: every session of theirs ends,
    the link is used up (the hash it was bound to is gone), and they get a mail. Raises
    ``PasswordRefused``; nothing is written then."""
    passwords.set_password(user, new)
    passwords.emit_events(passwords.changed(user, "reset"))
