"""Notification channels, the events they receive, and the record of every delivery.

``notify(Notification(...))`` records one ``Delivery`` per enabled channel and queues one
huey job per delivery (``portal.jobs.deliver``), so the request never waits on a mail
server and one failing channel neither stops nor repeats the others. The job sends
through its channel alone; a failure is recorded (status, attempts, last error) and
retried by huey; operators see every delivery on Operator > Deliveries and can send a
failed one again. A notification with a ``key`` is delivered at most once per channel
(a unique index), whoever sends it and however often.

In the embedded default (PORTAL_JOBS=immediate) the job runs in the request itself, once:
huey's delayed retries need a consumer, so a failure stays "failed" until an operator
retries it or ``portal deliveries retry`` runs (e.g. from cron).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import typing
import weakref
from dataclasses import dataclass, field

import peewee as pw

from ..statuses import DeliveryStatus, Role

log = logging.getLogger("portal.notifications")

# A job holding "sending" longer than this is presumed dead and may be taken over.
STALE_SENDING = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Notification:
    """One event for people: what happened, to whom, in plain text and HTML.

    ``key`` (optional) names the event once and for all, e.g. ``device_added:42:new``:
    a second notification with the same key is not delivered again.
    """

    kind: str  # device_added | order_placed | quote_ready | payment_failed | ...
    account_id: int | None
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str = ""
    data: dict = field(default_factory=dict)
    key: str | None = None

    def to_json(self) -> str:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if any(dataclasses.is_dataclass(v) for v in self.data.values()):
            values = dataclasses.asdict(self)  # deep copies, only when data holds dataclasses
        values["recipients"] = list(self.recipients)
        return json.dumps(values, default=str)

    @classmethod
    def from_json(cls, raw: str) -> Notification:
        values = json.loads(raw)
        values["recipients"] = tuple(values.get("recipients") or ())
        return cls(**values)


class Channel:
    """Base class of a notification channel."""

    name: str = ""
    # True for a channel that writes into the portal's own database (the outbox): a batch
    # is then written and marked sent in one transaction (notifications/batch.py)
    in_database: bool = False

    def send(self, notification: Notification) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def send_many(self, notifications: list[Notification]) -> list[Exception | None]:
        """Send each of ``notifications``; for each, None once sent or the error that
        stopped it. A channel that can send many at once does it in one go."""
        errors: list[Exception | None] = []
        for notification in notifications:
            try:
                self.send(notification)
                errors.append(None)
            except Exception as exc:  # noqa: BLE001 - one failure must not stop the others
                errors.append(exc)
        return errors


class DeliveryNotReady(Exception):
    """The delivery row is not visible yet (its transaction has not committed): retry."""


def registered_channels(pm, config) -> list[Channel]:
    """Every channel the enabled plugins register."""
    found: list[Channel] = []
    pm.hook.portal_register_notification_channels(register=found.append, config=config)
    return found


def channel_named(pm, config, name: str) -> Channel | None:
    """The enabled channel called ``name``, if any."""
    return next((c for c in registered_channels(pm, config) if c.name == name), None)


def broadcast(pm, config, notification: Notification) -> dict[str, str]:
    """Send ``notification`` to every channel now, unrecorded; {channel: "sent" or error}.

    For tools and tests; the portal itself goes through ``notify``.
    """
    outcome = {}
    for channel in registered_channels(pm, config):
        try:
            channel.send(notification)
            outcome[channel.name] = "sent"
        except Exception as exc:  # a failed channel must not stop the others
            outcome[channel.name] = f"failed: {exc}"
    return outcome


def recipients_for_account(account_id, *, admins_only: bool = False) -> tuple[str, ...]:
    """Addresses of the account's active people: admins first, then members (ACC-2, ACC-4)."""
    from ..models import Membership, User

    query = (User.select(User.email).join(Membership)
             .where((Membership.account == account_id)
                    & (Membership.active == True)))  # noqa: E712
    if admins_only:
        query = query.where(Membership.role == Role.ADMIN)
    query = query.order_by(pw.Case(None, ((Membership.role == Role.ADMIN, 0),), 1), User.email)
    return tuple(u.email for u in query)


_LOCALES: dict[str, typing.Any] = {}  # a language code -> its one babel Locale


def render_mail(template: str, locale: str | None = None, **context) -> tuple[str, str]:
    """Render ``mail/<template>.txt`` and ``.html`` in ``locale``: (text, html)."""
    return render_mails(template, locale, [context])[0]


def render_mails(template: str, locale: str | None, contexts: list[dict]) -> list[tuple[str, str]]:
    """Render ``mail/<template>.txt`` and ``.html`` in ``locale`` once per context.

    What ``render_template`` does (the app's template context, its context processors
    included, through ``update_template_context``; a context's own values win), made once
    for a batch of mails of one template and language (a billing batch's receipts). The
    language is forced with one ``Locale`` object per code, so the translations the first
    mail looks up serve the next; its strings, amounts and dates are translated and
    formatted with that language looked up once (notifications/formats.py)."""
    from babel import Locale
    from flask import current_app
    from flask_babel import force_locale, format_datetime, get_translations

    from .formats import Formats, mail_environment

    app = current_app
    base = {"product_name": app.config.get("PRODUCT_NAME", "Portal"),
            "support_email": app.config.get("SUPPORT_EMAIL", ""),
            "format_datetime": format_datetime}
    code = str(locale or app.config.get("DEFAULT_LOCALE", "en"))
    chosen = _LOCALES.get(code)
    if chosen is None:
        chosen = _LOCALES[code] = Locale.parse(code)
    environment = mail_environment(app)  # the batch's filters (notifications/formats.py)
    text = environment.get_template(f"mail/{template}.txt")
    html = environment.get_template(f"mail/{template}.html")
    with force_locale(chosen):
        app.update_template_context(base)
        base.update(Formats(chosen, get_translations()).context())
        rendered = []
        for context in contexts:
            values = {**base, **context}
            rendered.append((text.render(values), html.render(values)))
        return rendered


def notify(notification: Notification) -> list[int]:
    """Record and queue ``notification`` for every enabled channel; return the delivery ids.

    Never blocks on delivery (see the module docstring). Inside a transaction, the jobs
    are queued when it commits, and not at all if it rolls back (nor are the rows kept).
    """
    from flask import current_app

    from ..db import db
    from ..models import Delivery
    from ..plugins import plugin_manager

    ids = []
    payload = notification.to_json()
    for channel in registered_channels(plugin_manager(), current_app.config):
        try:
            with db.atomic():
                delivery = Delivery.create(account=notification.account_id,
                                           kind=notification.kind, channel=channel.name,
                                           key=notification.key, payload=payload)
        except pw.IntegrityError:
            continue  # this key was already delivered (or queued) through this channel
        ids.append(delivery.id)
    for delivery_id in ids:
        after_commit(lambda delivery_id=delivery_id: enqueue(delivery_id))
    return ids


def after_commit(fn) -> None:
    """Run ``fn`` once the current transaction commits (now if there is none); never if
    it rolls back. (peewee 4's ``after_commit``; older peewee runs it at once.)"""
    from ..db import db

    hook = getattr(db.obj, "after_commit", None)
    if hook is None:
        fn()
    else:
        hook(fn)


def enqueue(delivery_id: int) -> None:
    """Queue one delivery's job; in immediate mode it runs now, once (see module doc).

    If the queue cannot take it, the delivery stays "pending" and ``retry_due`` (the
    periodic job, the CLI, or an operator) sends it later.
    """
    from ..jobs import deliver, huey

    try:
        if huey.immediate:
            deliver(delivery_id, retries=0)
        else:
            deliver(delivery_id)
    except Exception:  # noqa: BLE001 - the row is the record; it is retried from there
        log.exception("delivery %s could not be queued; it stays pending", delivery_id)


class _Delivery(typing.NamedTuple):
    status: str
    channel: str
    payload: str


_ATTEMPT_SQL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # database -> SQL


def _attempt_statements(database) -> dict:
    """The SQL of a delivery attempt's three statements, built once per database.

    A billing run makes one attempt per receipt mail, and building the same SQL again
    was most of an attempt's time. Peewee's public ``Query.sql()`` builds each one with
    named markers (``Value(..., converter=False)``) where its parameters go, which gives
    the order they are bound in; ``run`` binds the values, converted by each column's
    public ``db_value``, in that order through ``Database.execute_sql``."""
    statements = _ATTEMPT_SQL.get(database)
    if statements is not None:
        return statements
    from peewee import Value

    from ..models import Delivery

    def marker(name):
        return Value(f"<{name}>", converter=False)

    queries = {
        "read": Delivery.select(Delivery.status, Delivery.channel, Delivery.payload)
        .where(Delivery.id == marker("id")),
        "claim": Delivery.update(status=marker("sending"), updated_at=marker("now"),
                                 attempts=Delivery.attempts + marker("one"))
        .where((Delivery.id == marker("id"))
               & (Delivery.status.in_([marker("pending"), marker("failed")])
                  | ((Delivery.status == marker("sending"))
                     & (Delivery.updated_at < marker("stale_before"))))),
        "sent": Delivery.update(status=marker("sent"), sent_at=marker("now"),
                                next_attempt_at=marker("nothing"), updated_at=marker("now"))
        .where(Delivery.id == marker("id")),
    }
    statements = {}
    for name, query in queries.items():
        sql, params = query.sql()
        if not all(isinstance(p, str) and p.startswith("<") for p in params):
            raise RuntimeError(f"delivery statement {name}: unexpected parameters {params!r}")
        statements[name] = (sql, [p[1:-1] for p in params])
    _ATTEMPT_SQL[database] = statements
    return statements


def _run(database, statement, **values):
    sql, names = _attempt_statements(database)[statement]
    return database.execute_sql(sql, [values[name] for name in names])


def attempt(pm, config, delivery_id: int, retries_left: int = 0, retry_delay: float = 0) -> str:
    """Send one delivery through its channel once; record the outcome; raise on failure.

    Idempotent: a delivery already sent, or being sent by another worker, is left alone.
    """
    from ..db import db
    from ..models import Delivery, utcnow

    database = db.obj
    row = _run(database, "read", id=delivery_id).fetchone()
    if row is None:
        raise DeliveryNotReady(f"delivery {delivery_id} not found (yet)")
    delivery = _Delivery(*row)
    now = utcnow()
    stamp = Delivery.updated_at.db_value
    claimed = _run(database, "claim", id=delivery_id, one=1, now=stamp(now),
                   sending="sending", pending="pending", failed="failed",
                   stale_before=stamp(now - STALE_SENDING)).rowcount
    if not claimed:
        return delivery.status
    channel = channel_named(pm, config, delivery.channel)
    try:
        if channel is None:
            raise LookupError(f"the channel {delivery.channel!r} is not enabled")
        channel.send(Notification.from_json(delivery.payload))
    except Exception as exc:
        retry_at = now + dt.timedelta(seconds=retry_delay) if retries_left > 0 else None
        error = f"{type(exc).__name__}: {exc}"[:2000]
        (Delivery.update(status=DeliveryStatus.FAILED, last_error=error,
                         next_attempt_at=retry_at, updated_at=utcnow())
         .where(Delivery.id == delivery_id).execute())
        raise
    _run(database, "sent", id=delivery_id, sent="sent", nothing=None, now=stamp(utcnow()))
    return "sent"


def retry(delivery_id: int) -> bool:
    """Queue a failed (or stuck) delivery again, e.g. from the operator's page."""
    from ..models import Delivery, utcnow

    stuck = (Delivery.status == DeliveryStatus.PENDING) | (
        (Delivery.status == DeliveryStatus.SENDING)
        & (Delivery.updated_at < utcnow() - STALE_SENDING))
    found = (Delivery.select(Delivery.id)
             .where((Delivery.id == delivery_id)
                    & ((Delivery.status == DeliveryStatus.FAILED) | stuck))
             .exists())
    if found:
        enqueue(delivery_id)
    return found


def retry_due(now: dt.datetime | None = None, *, gave_up: bool = False) -> int:
    """Queue again deliveries whose job was lost; with ``gave_up`` also those whose
    retries ran out (what an operator or ``portal deliveries retry`` asks). Return how many."""
    from ..models import Delivery, utcnow

    now = now or utcnow()
    stale = now - STALE_SENDING
    lost = (((Delivery.status == DeliveryStatus.FAILED) & (Delivery.next_attempt_at < stale))
            | ((Delivery.status == DeliveryStatus.PENDING) & (Delivery.created_at < stale))
            | ((Delivery.status == DeliveryStatus.SENDING) & (Delivery.updated_at < stale)))
    if gave_up:
        lost |= (Delivery.status == DeliveryStatus.FAILED) & Delivery.next_attempt_at.is_null()
    ids = [d.id for d in Delivery.select(Delivery.id).where(lost).order_by(Delivery.id)]
    for delivery_id in ids:
        enqueue(delivery_id)
    return len(ids)
