"""Operators (rule ACC-2): the staff of whoever runs the portal. ``create`` is the one way
to make one (``portal operators create``); a later invitation flow calls it too."""
from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

from ..db import db
from ..models import AuditEvent, User
from . import password_policy, passwords

# The password policy's refusals (ACC-8, accounts/password_policy.py), for a terminal.
POLICY_MESSAGES = {
    password_policy.TOO_SHORT: f"the password must have at least "
                               f"{password_policy.MIN_LENGTH} characters",
    password_policy.TOO_LONG: f"the password may have at most "
                              f"{password_policy.MAX_LENGTH} characters",
    password_policy.TOO_COMMON: "the password is one of the most common ones; choose another",
}


class OperatorError(ValueError):
    """Why an operator cannot be created; ``code`` is stable, the message says how to fix it."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class OperatorRow:
    email: str
    name: str
    active: bool
    created_at: object


def normalised(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise OperatorError("invalid_email", f"not an email address: {email!r}")
    return email


def create(email: str, password: str, *, name: str = "") -> User:
    """A new active operator; refuses an address already in use and a password the
    portal's policy refuses (ACC-8). Writes the user and an audit entry in one transaction."""
    email = normalised(email)
    problem = password_policy.problem(password)
    if problem:
        raise OperatorError("weak_password", POLICY_MESSAGES.get(problem, problem))
    if User.select().where(pw.fn.LOWER(User.email) == email).exists():
        raise OperatorError("email_taken",
                            f"{email} already has a login; choose another address")
    user = User(email=email, name=name or email.split("@")[0], is_operator=True)
    passwords.set_password(user, password)
    try:
        with db.atomic():
            user.save(force_insert=True)
            AuditEvent.create(actor=user.id, action="operator.created",
                              detail=f"operator {email} created from the command line")
    except pw.IntegrityError:  # created by someone else meanwhile
        raise OperatorError("email_taken",
                            f"{email} already has a login; choose another address") from None
    return user


def listed() -> list[OperatorRow]:
    """Every operator, oldest first."""
    return [OperatorRow(u.email, u.name, bool(u.active), u.created_at)
            for u in User.select().where(User.is_operator == True)  # noqa: E712
            .order_by(User.created_at, User.id)]
