"""Every table of the portal, declared once (peewee). Money is stored as integer cents."""
from __future__ import annotations

import datetime as dt

import peewee as pw
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from .billing.money import from_cents, to_cents
from .db import db


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class MoneyField(pw.BigIntegerField):
    """A Decimal amount in USD, stored as integer cents (rule DOC-3)."""

    field_type = "BIGINT"

    def db_value(self, value):
        return None if value is None else to_cents(value)

    def python_value(self, value):
        return None if value is None else from_cents(value)


class BaseModel(pw.Model):
    class Meta:
        database = db
        legacy_table_names = False


class Account(BaseModel):
    """A billing unit (rule ACC-1): a retail chain or a collaboration space."""

    name = pw.CharField(max_length=200)
    billing_address = pw.TextField(default="")
    language = pw.CharField(max_length=8, default="en")
    # CHG-7: plan changes go through customer success, not the wizard.
    negotiated_contract = pw.BooleanField(default=False)
    # PAY-4: used another payment method before 2019-04-01.
    grandfathered = pw.BooleanField(default=False)
    status = pw.CharField(max_length=16, default="active")  # active | past_due
    gateway_customer_id = pw.CharField(max_length=64, null=True)
    created_at = pw.DateTimeField(default=utcnow)


class User(UserMixin, BaseModel):
    """A person who logs in: an account's admin or member, or an operator (rule ACC-2)."""

    ROLES = ("admin", "member")

    email = pw.CharField(max_length=254, unique=True)
    name = pw.CharField(max_length=200, default="")
    password_hash = pw.CharField(max_length=255)
    account = pw.ForeignKeyField(Account, backref="users", null=True, on_delete="CASCADE")
    role = pw.CharField(max_length=16, default="member")
    active = pw.BooleanField(default=True)  # ACC-4: only active members occupy a seat
    holds_addon_license = pw.BooleanField(default=False)
    is_operator = pw.BooleanField(default=False)
    language = pw.CharField(max_length=8, null=True)
    created_at = pw.DateTimeField(default=utcnow)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated users cannot log in
        return bool(self.active)

    @property
    def is_account_admin(self) -> bool:
        return self.account_id is not None and self.role == "admin" and bool(self.active)


class Location(BaseModel):
    """A place where devices stand (a shop); counts for location plans (rule LOC-1)."""

    account = pw.ForeignKeyField(Account, backref="locations", on_delete="CASCADE")
    name = pw.CharField(max_length=200)
    external_id = pw.CharField(max_length=100, null=True)
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField(default=utcnow)
    removed_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("account", "external_id"), True),)


class Device(BaseModel):
    """A counting device at a location (rules DEV-1..DEV-3)."""

    account = pw.ForeignKeyField(Account, backref="devices", on_delete="CASCADE")
    location = pw.ForeignKeyField(Location, backref="devices", on_delete="CASCADE")
    serial = pw.CharField(max_length=100)
    active = pw.BooleanField(default=True)
    # DEV-3: a device support marked as the RMA replacement of another one.
    rma_replacement_of = pw.ForeignKeyField("self", null=True, backref="replacements",
                                            on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    removed_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("account", "serial"), True),)


class Plan(BaseModel):
    """A catalogue entry: what is counted and the list prices per unit."""

    KINDS = ("device", "location", "seat")

    code = pw.CharField(max_length=50, unique=True)
    name = pw.CharField(max_length=200)
    kind = pw.CharField(max_length=16)  # device | location | seat
    monthly_price = MoneyField()
    annual_price = MoneyField()
    addon_monthly_price = MoneyField(default=0)
    addon_annual_price = MoneyField(default=0)
    rank = pw.IntegerField(default=0)  # higher = more expensive tier, for upgrade/downgrade
    available = pw.BooleanField(default=True)

    def unit_price(self, interval: str):
        return self.annual_price if interval == "annual" else self.monthly_price

    def addon_price(self, interval: str):
        return self.addon_annual_price if interval == "annual" else self.addon_monthly_price


class Subscription(BaseModel):
    """An account's subscription to a plan; renews automatically (rule SUB-3)."""

    INTERVALS = ("monthly", "annual")

    account = pw.ForeignKeyField(Account, backref="subscriptions", on_delete="CASCADE")
    plan = pw.ForeignKeyField(Plan, backref="subscriptions")
    interval = pw.CharField(max_length=8, default="monthly")
    quantity = pw.IntegerField(default=1)
    addon_quantity = pw.IntegerField(default=0)
    started_on = pw.DateField()
    next_payment_date = pw.DateField()
    status = pw.CharField(max_length=16, default="active")  # active | cancelled
    created_at = pw.DateTimeField(default=utcnow)


class PendingChange(BaseModel):
    """A change to a subscription that takes effect on a later date (rules CHG-5, CHG-6).

    Fields left null keep their current value; ``cancel`` ends the subscription on
    ``effective_on``. The billing run applies due changes before it bills.
    """

    subscription = pw.ForeignKeyField(Subscription, backref="pending_changes",
                                      on_delete="CASCADE")
    effective_on = pw.DateField(index=True)
    plan = pw.ForeignKeyField(Plan, null=True)
    interval = pw.CharField(max_length=8, null=True)
    quantity = pw.IntegerField(null=True)
    addon_quantity = pw.IntegerField(null=True)
    cancel = pw.BooleanField(default=False)
    reason = pw.TextField(default="")
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    applied_at = pw.DateTimeField(null=True)
    withdrawn_at = pw.DateTimeField(null=True)


class PaymentMethod(BaseModel):
    """A vaulted card or an approved alternative method; never card data (rule PAY-2)."""

    account = pw.ForeignKeyField(Account, backref="payment_methods", on_delete="CASCADE")
    gateway = pw.CharField(max_length=32)
    token = pw.CharField(max_length=128)
    brand = pw.CharField(max_length=32, default="")
    last4 = pw.CharField(max_length=4, default="")
    exp_month = pw.IntegerField(null=True)
    exp_year = pw.IntegerField(null=True)
    is_default = pw.BooleanField(default=False)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("gateway", "token"), True),)


class AuditEvent(BaseModel):
    """Who did what, when: card, payment-method and subscription changes."""

    account = pw.ForeignKeyField(Account, backref="audit_events", null=True,
                                 on_delete="CASCADE")
    actor = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    action = pw.CharField(max_length=64)
    detail = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow, index=True)


class OutboxMessage(BaseModel):
    """A notification kept by the outbox channel, readable by operators."""

    account = pw.ForeignKeyField(Account, backref="outbox", null=True, on_delete="CASCADE")
    kind = pw.CharField(max_length=64)
    recipients = pw.TextField(default="")
    subject = pw.CharField(max_length=300, default="")
    body = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow, index=True)


MODELS = (Account, User, Location, Device, Plan, Subscription, PendingChange, PaymentMethod,
          AuditEvent, OutboxMessage)
