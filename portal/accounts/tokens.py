"""Per-account API tokens: created, named, rotated and revoked by operators.

A token is shown once, when it is made; the database keeps only its SHA-256 (the token
is 256 random bits, so a fast hash is enough) and its first characters, so operators
can tell tokens apart. Clients send ``Authorization: Bearer <token>``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from ..db import db
from ..models import Account, ApiToken, AuditEvent, utcnow

TOKEN_PREFIX = "ptk_"
SHOWN_CHARS = 10  # "ptk_" and six random characters
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # at most one write per token and minute


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def _new(account_id: int, name: str, created_by) -> tuple[ApiToken, str]:
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.create(account=account_id, name=name, prefix=plain[:SHOWN_CHARS],
                            token_hash=hash_token(plain), created_by=created_by)
    return token, plain


def create_token(account: Account, name: str, created_by=None) -> tuple[ApiToken, str]:
    """A new token for ``account``; returns the row and the plain token (shown once)."""
    name = name.strip()
    if not name:
        raise ValueError("a token needs a name")
    with db.atomic():
        token, plain = _new(account.id, name, created_by)
        AuditEvent.create(account=account.id, actor=created_by, action="api_token.create",
                          detail=f"{name} ({token.prefix}…)")
    return token, plain


def rotate_token(token: ApiToken, by=None) -> tuple[ApiToken, str]:
    """Revoke ``token`` and make a new one with the same name, in one transaction."""
    with db.atomic():
        revoked = (ApiToken.update(revoked_at=utcnow())
                   .where((ApiToken.id == token.id) & ApiToken.revoked_at.is_null()).execute())
        if not revoked:
            raise ValueError("this token is already revoked")
        new, plain = _new(token.account_id, token.name, by)
        AuditEvent.create(account=token.account_id, actor=by, action="api_token.rotate",
                          detail=f"{token.name}: {token.prefix}… -> {new.prefix}…")
    return new, plain


def revoke_token(token: ApiToken, by=None) -> bool:
    """Revoke ``token`` for good; False if it already was."""
    with db.atomic():
        revoked = (ApiToken.update(revoked_at=utcnow())
                   .where((ApiToken.id == token.id) & ApiToken.revoked_at.is_null()).execute())
        if revoked:
            AuditEvent.create(account=token.account_id, actor=by, action="api_token.revoke",
                              detail=f"{token.name} ({token.prefix}…)")
    return bool(revoked)


def authenticate(authorization: str | None) -> ApiToken | None:
    """The live token named by an ``Authorization: Bearer …`` header, with its account."""
    plain = bearer(authorization)
    if not plain.startswith(TOKEN_PREFIX):
        return None
    token = (ApiToken.select(ApiToken, Account).join(Account)
             .where((ApiToken.token_hash == hash_token(plain)) & ApiToken.revoked_at.is_null())
             .first())
    if token is not None:
        mark_used(token)
    return token


def bearer(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header (at most 200 characters), or ""."""
    scheme, _, plain = (authorization or "").strip().partition(" ")
    plain = plain.strip()
    return plain if scheme.lower() == "bearer" and len(plain) <= 200 else ""


def mark_used(token) -> None:
    """Record the use of a token (an account's or an operator's), at most one write per
    token and ``LAST_USED_RESOLUTION``."""
    now = utcnow()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        model = type(token)
        model.update(last_used_at=now).where(model.id == token.id).execute()


def tokens_of(account_id: int):
    """An account's tokens, live ones first, newest first."""
    return (ApiToken.select().where(ApiToken.account == account_id)
            .order_by(ApiToken.revoked_at.is_null().desc(), ApiToken.created_at.desc(),
                      ApiToken.id.desc()))
