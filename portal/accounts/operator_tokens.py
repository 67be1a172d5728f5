"""Operator-level API tokens for the provisioning API (issue #16 item 4): made and revoked
by operators (console: Operator > System > Provisioning tokens; ``portal tokens
create-operator``), apart from the per-account tokens of portal/accounts/tokens.py.

A token belongs to no account: it acts for the deployment, within its scopes. Like an
account token it is shown once; the database keeps its SHA-256 and first characters. Its
prefix (``pop_``) differs from an account token's (``ptk_``), so each API can tell a
token of the other kind and say so instead of "unknown token".
"""
from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l

from ..db import db
from ..models import AuditEvent, OperatorToken, utcnow
from .tokens import bearer, hash_token, mark_used

TOKEN_PREFIX = "pop_"
SHOWN_CHARS = 10  # "pop_" and six random characters
NAME_LIMIT = 100

# scope -> what it allows (docs/api.md lists them too; the OpenAPI document per operation)
SCOPES = {
    "accounts:read": _l("List accounts and read one, with its subscriptions."),
    "accounts:write": _l("Open accounts (with their first subscriptions: also "
                         "subscriptions:write)."),
    "subscriptions:write": _l("Start subscriptions on accounts."),
    "catalogue:read": _l("Read the plans and their prices."),
    "invitations:write": _l("Invite people into accounts, such as their first admin."),
}


class TokenRefused(ValueError):
    """A token cannot be made as asked: ``field`` and a sentence."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def check_scopes(scopes) -> tuple[str, ...]:
    """The scopes asked for, known ones only, in the documented order; else TokenRefused."""
    asked = {s.strip() for s in scopes if s and s.strip()}
    unknown = sorted(asked - set(SCOPES))
    if unknown:
        raise TokenRefused("scopes", f"unknown scope {unknown[0]!r} (known: "
                                     f"{', '.join(SCOPES)})")
    if not asked:
        raise TokenRefused("scopes", "choose at least one scope")
    return tuple(s for s in SCOPES if s in asked)


def create(name: str, scopes, created_by=None) -> tuple[OperatorToken, str]:
    """A new operator token; returns the row and the plain token (shown once)."""
    name = " ".join(str(name or "").split())
    if not name or len(name) > NAME_LIMIT:
        raise TokenRefused("name", f"give the token a name of 1 to {NAME_LIMIT} characters")
    chosen = check_scopes(scopes)
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    actor = getattr(created_by, "id", created_by)
    with db.atomic():
        token = OperatorToken.create(name=name, prefix=plain[:SHOWN_CHARS],
                                     token_hash=hash_token(plain), scopes=" ".join(chosen),
                                     created_by=actor)
        AuditEvent.create(actor=actor, action="operator_token.create",
                          detail=f"{name} ({token.prefix}…): {' '.join(chosen)}")
    return token, plain


def revoke(token: OperatorToken, by=None) -> bool:
    """Revoke ``token`` for good; False if it already was."""
    with db.atomic():
        revoked = (OperatorToken.update(revoked_at=utcnow())
                   .where((OperatorToken.id == token.id) & OperatorToken.revoked_at.is_null())
                   .execute())
        if revoked:
            AuditEvent.create(actor=getattr(by, "id", by), action="operator_token.revoke",
                              detail=f"{token.name} ({token.prefix}…)")
    return bool(revoked)


def is_operator_token(plain: str) -> bool:
    """Whether ``plain`` has the shape of an operator token (not whether it is live)."""
    return plain.startswith(TOKEN_PREFIX)


def authenticate(authorization: str | None) -> OperatorToken | None:
    """The live operator token named by an ``Authorization: Bearer …`` header."""
    plain = bearer(authorization)
    if not is_operator_token(plain):
        return None
    token = (OperatorToken.select()
             .where((OperatorToken.token_hash == hash_token(plain))
                    & OperatorToken.revoked_at.is_null())
             .first())
    if token is not None:
        mark_used(token)
    return token


def listed():
    """Every operator token, live ones first, newest first."""
    return (OperatorToken.select()
            .order_by(OperatorToken.revoked_at.is_null().desc(),
                      OperatorToken.created_at.desc(), OperatorToken.id.desc()))
