"""Domain events: what happened, as facts, for whoever listens (the ``portal_events`` hook).

One small frozen dataclass per event. Each carries the account it happened to and the ids
and facts a listener needs to read the rest; none carries words for people (the built-in
notifier, ``portal.plugins.notifier``, writes the mails; a reseller's plugin may export
to accounting or sync a CRM from the same events). ``key`` names one occurrence once and
for all: an event emitted again (a billing run started twice) has the same key, so a
listener can do its work at most once per key, as the notifier's deliveries do.

Pure Python, below everything that emits: the billing engine, the services and the views
build events and hand them to ``emit(pm, events)`` once their transaction has committed.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Event:
    """Base of every event: ``kind`` names the type, ``account_id`` the account."""

    kind: ClassVar[str] = ""
    account_id: int | None

    @property
    def key(self) -> str:  # pragma: no cover - every event defines its own
        raise NotImplementedError


@dataclass(frozen=True)
class DeviceAdded(Event):
    """A new device, or one brought back after its removal (rule DEV-2); never an RMA
    replacement (DEV-3). ``since`` is ``"new"`` or when it had been removed (ISO)."""

    kind: ClassVar[str] = "device_added"
    device_id: int
    since: str = "new"

    @property
    def key(self) -> str:
        return f"device_added:{self.device_id}:{self.since}"


@dataclass(frozen=True)
class OrderPlaced(Event):
    """A plan change ordered in the wizard (CHG-2), placed (paid when charged today)."""

    kind: ClassVar[str] = "order_placed"
    order_id: int

    @property
    def key(self) -> str:
        return f"order_placed:{self.order_id}"


@dataclass(frozen=True)
class QuoteReady(Event):
    """A numbered quote was issued for a reviewed change (DOC-2)."""

    kind: ClassVar[str] = "quote_ready"
    quote_id: int

    @property
    def key(self) -> str:
        return f"quote_ready:{self.quote_id}"


@dataclass(frozen=True)
class SurveyAnswered(Event):
    """Someone answered the downgrade/cancel survey of a wizard run (CHG-2 step 2)."""

    kind: ClassVar[str] = "survey_answered"
    survey_id: int
    user_id: int | None = None

    @property
    def key(self) -> str:
        return f"survey_answered:{self.survey_id}"


@dataclass(frozen=True)
class InvoiceIssued(Event):
    """An invoice to pay by bank transfer was issued (PAY-3): nothing is charged."""

    kind: ClassVar[str] = "invoice_issued"
    invoice_id: int

    @property
    def key(self) -> str:
        return f"invoice_issued:{self.invoice_id}"


@dataclass(frozen=True)
class PaymentFailed(Event):
    """Collecting an invoice failed (dunning): ``attempt`` is its dunning step,
    ``retry_on`` the next try (None: no more tries), ``message`` the gateway's words and
    ``code`` our reason (``"no_card"``) when there is one."""

    kind: ClassVar[str] = "payment_failed"
    invoice_id: int
    attempt: int = 0
    retry_on: dt.date | None = None
    message: str = ""
    code: str = ""

    @property
    def key(self) -> str:
        return f"payment_failed:{self.invoice_id}:{self.attempt}"


@dataclass(frozen=True)
class ReceiptReady(Event):
    """An invoice was paid by card and its receipt issued."""

    kind: ClassVar[str] = "receipt_ready"
    invoice_id: int

    @property
    def key(self) -> str:
        return f"receipt_ready:{self.invoice_id}"


@dataclass(frozen=True)
class PaymentMethodAdded(Event):
    """A card was added to the account by ``actor_id`` (PAY-1)."""

    kind: ClassVar[str] = "payment_method_added"
    method_id: int
    actor_id: int | None = None

    @property
    def key(self) -> str:
        return f"payment_method_added:{self.method_id}"


@dataclass(frozen=True)
class PaymentMethodRemoved(Event):
    """A payment method was removed (its row is gone: the facts travel with the event);
    ``actor_id`` is None when the portal itself removed it."""

    kind: ClassVar[str] = "payment_method_removed"
    method_id: int
    gateway: str
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    actor_id: int | None = None

    @property
    def key(self) -> str:
        return f"payment_method_removed:{self.method_id}"


@dataclass(frozen=True)
class ManualMethodDecided(Event):
    """An operator approved or refused an account's request to pay by invoice (PAY-3)."""

    kind: ClassVar[str] = "manual_method_decided"
    request_id: int
    approved: bool

    @property
    def key(self) -> str:
        return f"manual_method_decided:{self.request_id}"


@dataclass(frozen=True)
class PasswordChanged(Event):
    """A person's password was changed (``how`` is ``"change"``: they gave the current one,
    or ``"reset"``: through a mailed link) at ``changed_at`` (ISO); ACC-8."""

    kind: ClassVar[str] = "password_changed"
    user_id: int
    how: str
    changed_at: str

    @property
    def key(self) -> str:
        return f"password_changed:{self.user_id}:{self.changed_at}"


@dataclass(frozen=True)
class PasswordResetRequested(Event):
    """Someone asked for a password reset link for a known, active person (ACC-8): ``link``
    is the signed, single-use link (valid 1 hour) to mail to that person alone; nothing is
    emitted for an unknown address."""

    kind: ClassVar[str] = "password_reset_requested"
    user_id: int
    link: str
    requested_at: str

    @property
    def key(self) -> str:
        return f"password_reset_requested:{self.user_id}:{self.requested_at}"


@dataclass(frozen=True)
class SignupRequested(Event):
    """Someone signed up on the public sign-up form (issue #16 item 6): mail ``email`` the
    signed, single-use ``link`` that verifies it (valid 24 hours), or, when the address
    already has a login (``known``), a mail that says so and links to the login (the
    form's answer is the same either way). ``account_id`` is None: nothing exists yet."""

    kind: ClassVar[str] = "signup_requested"
    email: str
    link: str
    known: bool
    language: str
    requested_at: str

    @property
    def key(self) -> str:
        return f"signup_requested:{self.email}:{self.requested_at}"


@dataclass(frozen=True)
class TrialEnding(Event):
    """A trial ends soon (rule TRI-1): ``reminder`` is 7 or 1, the days before its last
    day ``ends_on`` the reminder is for; one mail per subscription and reminder."""

    kind: ClassVar[str] = "trial_ending"
    subscription_id: int
    ends_on: dt.date
    reminder: int

    @property
    def key(self) -> str:
        return f"trial_ending:{self.subscription_id}:{self.ends_on.isoformat()}:{self.reminder}"


EVENT_TYPES: tuple[type[Event], ...] = (
    DeviceAdded, OrderPlaced, QuoteReady, SurveyAnswered, InvoiceIssued, PaymentFailed,
    ReceiptReady, PaymentMethodAdded, PaymentMethodRemoved, ManualMethodDecided,
    PasswordChanged, PasswordResetRequested, SignupRequested, TrialEnding)


def emit(pm, events) -> None:
    """Hand ``events`` (in the order they happened) to every ``portal_events`` listener
    of the plugin manager ``pm``; nothing when there are none. Call it after the change
    they describe has committed."""
    events = tuple(events)
    if events:
        pm.hook.portal_events(events=events)
