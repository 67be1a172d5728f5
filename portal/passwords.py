"""Password hashing, and the check of a login whose email is unknown (rule ACC-6).

Every login attempt costs one hash check, whether or not the email is known: an unknown
email is checked against a dummy hash made once with the same hasher, so the answer time
does not tell which emails have an account (it took ~10 ms for an unknown email against
110-460 ms for a known one when only known ones were hashed).
"""
from __future__ import annotations

import secrets
from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash


def hash_password(password: str) -> str:
    """A salted hash of ``password`` (werkzeug's default method, scrypt)."""
    return generate_password_hash(password)


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
    checked too, then refused (ACC-4)."""
    if user is None:
        check(dummy_hash(), password)
        return False
    return check(user.password_hash, password) and user.can_log_in
