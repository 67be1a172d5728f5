"""``Idempotency-Key`` for the provisioning API's POSTs, as Stripe does it.

The first answer to a key (per operator token) is kept for 24 hours with a hash of the
request (method, path and JSON body): the same request again gets that answer back, with
``Idempotent-Replayed: true``; another request with the key is 422
``idempotency_key_reused``.

The claim of the key, the work and the kept answer are one transaction, so a crash or a
refusal (4xx raised by a service, 5xx) leaves no key behind and a retry runs again, and
two requests with one key never both create: the second one's insert of the key waits
for the first transaction (PostgreSQL: the unique index; SQLite: its single writer),
then finds the kept answer and replays it. A wait longer than ``WAIT`` answers 409
``idempotency_key_in_use``. Expired keys are deleted at each write (and by the periodic
task ``purge_idempotency_keys``, portal/periodic.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import peewee as pw
from flask import current_app

from ..apispec import IDEMPOTENCY_KEY, Invalid, validate
from ..db import db, is_postgres, write_transaction
from ..models import IdempotencyKey, OperatorToken, utcnow

KEPT = dt.timedelta(hours=24)
WAIT = "10s"  # how long a request waits for another one with the same key (PostgreSQL)
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


class KeyRefused(Invalid):
    """The key cannot be used for this request (400, 409 or 422)."""


def key_of(headers) -> str:
    """The request's Idempotency-Key, checked; 400 when it is missing or malformed."""
    key = headers.get(HEADER)
    if key is None:
        raise KeyRefused("idempotency_key_missing",
                         f"Send an {HEADER} header (e.g. a UUID) with every POST of the "
                         "provisioning API: a retry with the same key and body is then "
                         "answered once.", HEADER)
    validate(IDEMPOTENCY_KEY, key, HEADER)
    return key


def request_hash(method: str, path: str, body) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def purge(now: dt.datetime | None = None) -> int:
    """Delete the keys kept longer than 24 hours; how many."""
    return IdempotencyKey.delete().where(IdempotencyKey.expires_at <= (now or utcnow())).execute()


class _Unkept(Exception):
    """The answer is not kept (5xx): roll back the claim with the work."""

    def __init__(self, response):
        self.response = response


def _claim(token: OperatorToken, key: str, digest: str, now: dt.datetime):
    """Our new row for the key, or the row another request kept for it."""
    if is_postgres():
        db.execute_sql(f"SET LOCAL lock_timeout = '{WAIT}'")
    try:
        with db.atomic():
            return IdempotencyKey.create(token=token.id, key=key, request_hash=digest,
                                         status=0, body="", created_at=now,
                                         expires_at=now + KEPT), False
    except pw.IntegrityError:
        return IdempotencyKey.get((IdempotencyKey.token == token.id)
                                  & (IdempotencyKey.key == key)), True
    except pw.OperationalError as exc:  # lock_timeout: the other request is still busy
        if "lock timeout" not in str(exc):
            raise
        raise KeyRefused("idempotency_key_in_use",
                         "Another request with this Idempotency-Key is still being "
                         "answered: try again in a moment.", HEADER, status=409) from None
    finally:
        if is_postgres():
            db.execute_sql("SET LOCAL lock_timeout TO DEFAULT")


def once(token: OperatorToken, key: str, digest: str, run):
    """The answer of ``run()`` for this key: computed once and kept, or replayed."""
    now = utcnow()
    try:
        with write_transaction():
            purge(now)
            row, kept = _claim(token, key, digest, now)
            if kept:
                if row.request_hash != digest:
                    raise KeyRefused("idempotency_key_reused",
                                     "This Idempotency-Key was used with another request in "
                                     "the last 24 hours: use a new key for a new request.",
                                     HEADER, status=422)
                response = current_app.response_class(row.body, status=row.status,
                                                      mimetype="application/json")
                response.headers[REPLAYED] = "true"
                return response
            response = current_app.make_response(run())
            if response.status_code >= 500:
                raise _Unkept(response)
            (IdempotencyKey.update(status=response.status_code,
                                   body=response.get_data(as_text=True))
             .where(IdempotencyKey.id == row.id).execute())
    except _Unkept as unkept:
        return unkept.response
    response.headers[REPLAYED] = "false"
    return response
