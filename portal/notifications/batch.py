"""Many notifications at once: recorded in one statement, delivered in one pass.

A billing batch mails a receipt (or a failure, or an issued invoice) for each of its
invoices. One by one, each mail cost a delivery row, then in immediate mode a read, a
claim, the channel's own write and "sent": a commit each, most of a billing run's time
(docs/performance.md, "Billing"). Here a batch of mails is:

1. recorded with one INSERT per batch (``notify_many``), inside the caller's transaction:
   a key already recorded for a channel is skipped (ON CONFLICT DO NOTHING on the
   (channel, key) unique index), so a key is still delivered at most once per channel;
2. once that commits, claimed with one UPDATE ... RETURNING (``attempt_many``): only rows
   still pending, failed, or stuck in "sending", so two workers never send one delivery;
3. sent per channel with ``Channel.send_many``; a channel that writes into this database
   (``in_database``: the outbox) writes its rows and marks them sent in one transaction,
   so a crash never leaves an outbox message recorded twice or a delivery sent twice;
   other channels send first and are marked sent (or failed, each with its error) after.

With a huey queue (PORTAL_JOBS not immediate) each delivery stays a job of its own,
retried on its own, as ``notify`` queues it.
"""
from __future__ import annotations

import logging
import weakref

import peewee as pw

from ..statuses import DeliveryStatus
from . import (STALE_SENDING, Notification, after_commit, enqueue, notify,
               registered_channels)

log = logging.getLogger("portal.notifications")


def notify_many(notifications: list[Notification]) -> list[int]:
    """Record ``notifications`` for every enabled channel in one statement; deliver them
    once the current transaction commits (now if there is none). Returns the new
    delivery ids; a (channel, key) recorded before is skipped, as ``notify`` skips it."""
    from flask import current_app

    from ..db import db
    from ..plugins import plugin_manager

    if not notifications:
        return []
    channels = registered_channels(plugin_manager(), current_app.config)
    rows = [{"account": n.account_id, "kind": n.kind, "channel": channel.name, "key": n.key,
             "payload": payload}
            for n in notifications for payload in [n.to_json()] for channel in channels]
    if not rows:
        return []
    try:
        with db.atomic():  # a savepoint inside the caller's transaction
            ids = sorted(record(db.obj, rows))
    except pw.IntegrityError:  # e.g. an account deleted meanwhile: each on its own
        return [i for n in notifications for i in notify(n)]
    after_commit(lambda: enqueue_many(ids))
    return ids


CHUNK = 500  # delivery rows per statement: 5,000 parameters, far below any driver's limit
COLUMNS = ("account", "kind", "channel", "key", "payload", "status", "attempts", "last_error",
           "created_at", "updated_at")
_INSERTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # database -> statements


def record(database, rows: list[dict]) -> list[int]:
    """INSERT the delivery ``rows`` (ON CONFLICT (channel, key) DO NOTHING RETURNING id);
    the ids of the rows inserted. The statement for a number of rows is built once by
    peewee's public ``Query.sql()`` with named markers (as billing/bulk.py does): building
    and converting the whole multi-row ``insert_many`` anew was a tenth of a billing run.
    Every column is given (the defaults ``insert_many`` would fill: pending, no attempt,
    no error, now)."""
    from ..models import Delivery, utcnow

    now = utcnow()
    defaults = {"status": DeliveryStatus.PENDING, "attempts": 0, "last_error": "",
                "created_at": now, "updated_at": now}
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        sql, order = _insert(database, Delivery, len(chunk))
        params = [field.db_value(chunk[i].get(field.name, defaults.get(field.name)))
                  for i, field in order]
        ids += [row[0] for row in database.execute_sql(sql, params).fetchall()]
    return ids


def _insert(database, model, count: int):
    cache = _INSERTS.setdefault(database, {})
    if count not in cache:
        fields = [getattr(model, name) for name in COLUMNS]
        query = (model.insert_many([{f: pw.Value(f"<{i}:{f.name}>", converter=False)
                                     for f in fields} for i in range(count)])
                 .on_conflict(conflict_target=[model.channel, model.key], action="nothing")
                 .returning(model.id))
        sql, params = query.sql()
        expected = sorted(f"<{i}:{f.name}>" for i in range(count) for f in fields)
        if sorted(params) != expected:  # a default peewee added, or a converted marker
            raise RuntimeError(f"delivery insert: unexpected parameters {params[:20]!r}")
        by_name = {f.name: f for f in fields}
        order = []
        for marker in params:
            index, name = marker[1:-1].split(":")
            order.append((int(index), by_name[name]))
        cache[count] = (sql, order)
    return cache[count]


def enqueue_many(ids: list[int]) -> None:
    """Deliver ``ids`` now in one pass (immediate mode), or queue a job for each."""
    from flask import current_app

    from ..jobs import huey
    from ..plugins import plugin_manager

    if not huey.immediate:
        for delivery_id in ids:
            enqueue(delivery_id)
        return
    try:
        attempt_many(plugin_manager(), current_app.config, ids)
    except Exception:  # noqa: BLE001 - the rows are the record; retried from there
        log.exception("deliveries %s could not be sent; they stay pending", ids)


def attempt_many(pm, config, ids: list[int]) -> dict[int, str]:
    """Claim and send the deliveries ``ids`` once each (see the module docstring); return
    {delivery id: "sent" or "failed"} for those this call claimed. A failure is recorded
    with its error and no next attempt, as in immediate mode (``retry_due`` sends it)."""
    from ..db import write_transaction
    from ..models import Delivery, utcnow

    if not ids:
        return {}
    now = utcnow()
    claimable = (Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.FAILED])
                 | ((Delivery.status == DeliveryStatus.SENDING)
                    & (Delivery.updated_at < now - STALE_SENDING)))
    claimed = list(Delivery.update(status=DeliveryStatus.SENDING, updated_at=now,
                                   attempts=Delivery.attempts + 1)
                   .where(Delivery.id.in_(list(ids)) & claimable)
                   .returning(Delivery.id, Delivery.channel, Delivery.payload)
                   .tuples().execute())
    by_channel: dict[str, list[tuple[int, Notification]]] = {}
    for delivery_id, channel_name, payload in sorted(claimed):
        by_channel.setdefault(channel_name, []).append(
            (delivery_id, Notification.from_json(payload)))
    channels = {c.name: c for c in registered_channels(pm, config)}
    outcome: dict[int, str] = {}
    for name, items in by_channel.items():
        channel = channels.get(name)
        if channel is None:
            failed(items, [LookupError(f"the channel {name!r} is not enabled")] * len(items))
            outcome.update((i, "failed") for i, _ in items)
            continue
        try:
            if channel.in_database:  # its rows and "sent" in one commit: once, whatever dies
                with write_transaction():
                    errors = channel.send_many([n for _, n in items])
                    mark_sent([i for (i, _), e in zip(items, errors, strict=True) if e is None])
            else:
                errors = channel.send_many([n for _, n in items])
                mark_sent([i for (i, _), e in zip(items, errors, strict=True) if e is None])
        except Exception as exc:  # noqa: BLE001 - the whole channel failed: each is retried
            errors = [exc] * len(items)
        failed([item for item, e in zip(items, errors, strict=True) if e is not None],
               [e for e in errors if e is not None])
        outcome.update((i, "sent" if e is None else "failed")
                       for (i, _), e in zip(items, errors, strict=True))
    return outcome


def mark_sent(ids: list[int]) -> None:
    from ..models import Delivery, utcnow

    if ids:
        now = utcnow()
        (Delivery.update(status=DeliveryStatus.SENT, sent_at=now, next_attempt_at=None,
                         updated_at=now)
         .where(Delivery.id.in_(ids)).execute())


def failed(items, errors) -> None:
    """Record each failed delivery's error; no next attempt (immediate mode)."""
    from ..models import Delivery, utcnow

    for (delivery_id, notification), exc in zip(items, errors, strict=True):
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("delivery %s (%s) failed: %s", delivery_id, notification.kind, error)
        (Delivery.update(status=DeliveryStatus.FAILED, last_error=error, next_attempt_at=None,
                         updated_at=utcnow())
         .where(Delivery.id == delivery_id).execute())
