"""Password hashing, setting and changing a password, and the check of a login whose
email is unknown (rule ACC-6).

Every login attempt costs one hash check, whether or not the email is known: an unknown
email is checked against a dummy hash made once with the same hasher, so the answer time
does not tell which emails have an account (it took ~10 ms for an unknown email against
110-460 ms for a known one when only known ones were hashed).
"""
from __future__ import annotations

import secrets
from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

from .. import clock
from ..db import db
from ..events import PasswordChanged, emit
from ..models import AuditEvent
from . import password_policy


def hash_password(password: str) -> str:
    """A salted hash of ``password`` (werkzeug's default method, scrypt)."""
    return generate_password_hash(password)


def set_password(user, password: str) -> None:
    """Give ``user`` a new password (not saved) that the policy accepts, else raise
    ``PasswordRefused`` (ACC-8); saving it ends every session of the user (``User.save``)."""
    password_policy.check(password)
    user.password_hash = hash_password(password)


def check(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``: the one place a hash is checked."""
    return check_password_hash(password_hash, password)


@cache
def dummy_hash() -> str:
    """The hash an unknown email is checked against: a random password's, made once."""
    return hash_password(secrets.token_urlsafe(24))


def authenticate(user, password: str) -> bool:
    """Whether ``user`` (None when the email is unknown) logs in with ``password``; the
    same hash work either way. A person with no active membership (and no operator) is
    checked too, then refused (ACC-4, ACC-5)."""
    if user is None:
        check(dummy_hash(), password)
        return False
    return check(user.password_hash, password) and user.can_log_in


class WrongPassword(ValueError):
    """The current password given to a change is not the person's."""


def changed(user, how: str) -> list:
    """Save ``user``'s new password (which ends every session of the person, ACC-8) with
    an audit entry by the person; return the event to emit once committed."""
    account_id = getattr(user, "account_id", None)
    with db.atomic():
        user.save()
        AuditEvent.create(account=account_id, actor=user.id, action=f"password.{how}",
                          detail=user.email)
    return [PasswordChanged(account_id, user.id, how, clock.now().isoformat())]


def change_password(user, current: str, new: str) -> None:
    """ACC-8: ``user`` changes their password, giving the current one; every session of
    the person ends (the caller logs the current one in again) and they get a mail.
    Raises ``WrongPassword`` or ``PasswordRefused``; nothing is written then."""
    if not check(user.password_hash, current):
        raise WrongPassword()
    set_password(user, new)
    emit_events(changed(user, "change"))


def emit_events(events) -> None:
    """Hand committed events to the listeners (the notifier mails the person)."""
    from ..plugins import plugin_manager  # the plugins import the services: not at the top

    emit(plugin_manager(), events)
