"""Operators (rule ACC-2): the staff of whoever runs the portal. ``create`` is the one way
to make one (``portal operators create``); a later invitation flow calls it too."""
from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

from ..db import db
from ..models import AuditEvent, User

MIN_PASSWORD_LENGTH = 12  # the portal's password policy for operators (docs/decisions.md)


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


def password_problem(password: str, email: str) -> str | None:
    """What is wrong with ``password`` for an operator, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if password.strip().lower() == email.strip().lower():
        return "the password must not be the email address"
    return None


def normalised(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise OperatorError("invalid_email", f"not an email address: {email!r}")
    return email


def create(email: str, password: str, *, name: str = "") -> User:
    """A new active operator; refuses an address already in use and a weak password.
    Writes the user and an audit entry in one transaction."""
    email = normalised(email)
    problem = password_problem(password, email)
    if problem:
        raise OperatorError("weak_password", problem)
    if User.select().where(pw.fn.LOWER(User.email) == email).exists():
        raise OperatorError("email_taken",
                            f"{email} already has a login; choose another address")
    user = User(email=email, name=name or email.split("@")[0], is_operator=True)
    user.set_password(password)
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
