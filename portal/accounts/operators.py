"""Operators (rule ACC-2): the staff of whoever runs the portal. ``create`` is the one way
to make one (``portal operators create``); ``invite`` makes one without a password and
returns the event that mails them a link to choose it (``--invite``, when mail is
configured)."""
from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

from ..db import db
from ..models import AuditEvent, User
from ..events import OperatorInvited
from . import password_policy, password_reset, passwords
from .memberships import UNUSABLE_PASSWORD

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
    created_at: object


def normalised(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise OperatorError("invalid_email", f"not an email address: {email!r}")
    return email


def create(email: str, password: str | None, *, name: str = "") -> User:
    """A new active operator; refuses an address already in use and a password the
    portal's policy refuses (ACC-8). Writes the user and an audit entry in one transaction.
    ``password`` None: no usable password yet (``invite``)."""
    email = normalised(email)
    problem = password_policy.problem(password) if password is not None else None
    if problem:
        raise OperatorError("weak_password", POLICY_MESSAGES.get(problem, problem))
    if User.select().where(pw.fn.LOWER(User.email) == email).exists():
        raise OperatorError("email_taken",
                            f"{email} already has a login; choose another address")
    user = User(email=email, name=name or email.split("@")[0], is_operator=True,
                password_hash=UNUSABLE_PASSWORD)
    if password is not None:
        passwords.set_password(user, password)
    how = "created from the command line" if password is not None else \
        "invited by mail from the command line"
    try:
        with db.atomic():
            user.save(force_insert=True)
            AuditEvent.create(actor=user.id, action="operator.created",
                              detail=f"operator {email} {how}")
    except pw.IntegrityError:  # created by someone else meanwhile
        raise OperatorError("email_taken",
                            f"{email} already has a login; choose another address") from None
    return user


def invite(email: str, link_for, *, name: str = "") -> tuple[User, list]:
    """A new operator without a password, and the event that mails them a link (signed,
    single-use, valid 7 days) to choose one: emit it once committed. ``link_for(token)``
    makes the absolute link."""
    user = create(email, None, name=name)
    link = link_for(password_reset.make_token(user, password_reset.WELCOME_SALT))
    return user, [OperatorInvited(None, user.id, link)]


def listed() -> list[OperatorRow]:
    """Every operator, oldest first (an operator switched off loses the flag: ACC-5,
    docs/decisions.md "Memberships")."""
    return [OperatorRow(u.email, u.name, u.created_at)
            for u in User.select().where(User.is_operator == True)  # noqa: E712
            .order_by(User.created_at, User.id)]
