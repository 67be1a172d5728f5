"""The closed sets of words the tables store: statuses, kinds, intervals, roles.

Each is a ``StrEnum``: a member *is* its string (``InvoiceStatus.PAID == "paid"``), so
templates, JSON and logs show the same words as before, while the code names a member
instead of repeating a bare string. ``EnumField`` stores the value and reads back the
member; migration 017 makes the database itself refuse any other word (a CHECK
constraint on PostgreSQL, triggers on SQLite: see docs/decisions.md).

This module imports nothing of the portal, so the models, the billing engine and the
views can all use it. It is the one definition of the plan kinds (``USAGE_KINDS``) and
the billing intervals.
"""
from __future__ import annotations

import enum

import peewee as pw


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    PAST_DUE = "past_due"  # an invoice is in dunning (rule PAY-5)


class Role(enum.StrEnum):
    """An account user's role (rule ACC-2)."""

    ADMIN = "admin"
    MEMBER = "member"


class PlanKind(enum.StrEnum):
    """What a plan counts."""

    DEVICE = "device"
    LOCATION = "location"
    SEAT = "seat"


# Plans billed on the live count of devices or locations (rule LOC-2).
USAGE_KINDS = frozenset({PlanKind.DEVICE, PlanKind.LOCATION})


class Interval(enum.StrEnum):
    """How often a subscription is billed."""

    MONTHLY = "monthly"
    ANNUAL = "annual"


class SubscriptionStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    TRIALING = "trialing"  # in its trial: charges nothing until its last day (rule TRI-1)


class TrialOutcome(enum.StrEnum):
    """How a trial finished on its last day (rule TRI-1); None while it runs."""

    CONVERTED = "converted"  # a usable payment method was on file: billed as a renewal
    ENDED = "ended"  # none was: the subscription ended, nothing charged


class ChangeKind(enum.StrEnum):
    """What a plan change is (rules CHG-3..CHG-8)."""

    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    INTERVAL = "interval"
    CANCEL = "cancel"


class OrderStatus(enum.StrEnum):
    """A placed plan change: being charged, placed, or refused by the gateway."""

    CHARGING = "charging"
    PLACED = "placed"
    DECLINED = "declined"
    FAILED = "failed"


class InvoiceStatus(enum.StrEnum):
    OPEN = "open"
    PAID = "paid"
    DUNNING = "dunning"
    HELD = "held"
    CREDITED = "credited"


class LineKind(enum.StrEnum):
    """An invoice line, or the billing adjustment that becomes one."""

    PLAN = "plan"
    ADDON = "addon"
    PRORATION = "proration"
    CREDIT = "credit"
    CARRY = "carry"


class ChargeStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the gateway's answer was lost: reconciled, never re-sent blindly


class RequestStatus(enum.StrEnum):
    """A request to pay by invoice or bank transfer (rules PAY-3, PAY-4)."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class DeliveryStatus(enum.StrEnum):
    """A notification's delivery on one channel."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class EnumField(pw.CharField):
    """A column holding one member of ``enum``: stores its value, reads back the member.

    Writing (or comparing with) a word outside the enum raises ``ValueError`` before the
    database is reached; the database refuses it too (migration 017).
    """

    def __init__(self, enum_class: type[enum.StrEnum], *args, **kwargs):
        self.enum = enum_class
        kwargs.setdefault("max_length", 16)
        super().__init__(*args, **kwargs)

    def db_value(self, value):
        return None if value is None else self.enum(value).value

    def python_value(self, value):
        return None if value is None else self.enum(value)


# Every enum column: (table, column, enum). tests/test_statuses.py checks that the
# database (migration 017) accepts exactly these words in each.
COLUMNS = (
    ("account", "status", AccountStatus),
    ("membership", "role", Role),
    ("plan", "kind", PlanKind),
    ("subscription", "interval", Interval),
    ("subscription", "status", SubscriptionStatus),
    ("subscription", "trial_outcome", TrialOutcome),
    ("pending_change", "interval", Interval),
    ("delivery", "status", DeliveryStatus),
    ("invoice", "status", InvoiceStatus),
    ("invoice_line", "kind", LineKind),
    ("billing_adjustment", "kind", LineKind),
    ("charge", "status", ChargeStatus),
    ("survey_answer", "change", ChangeKind),
    ("quote", "change", ChangeKind),
    ("quote", "interval", Interval),
    ("change_order", "change", ChangeKind),
    ("change_order", "interval", Interval),
    ("change_order", "old_interval", Interval),
    ("change_order", "status", OrderStatus),
    ("manual_method_request", "status", RequestStatus),
)
