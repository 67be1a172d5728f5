"""Every table of the portal, declared once (peewee). Money is stored as integer cents."""
from __future__ import annotations

import datetime as dt
import secrets

import peewee as pw

from . import clock
from .money import from_cents, to_cents
from .db import db
from .statuses import (AccountStatus, ChangeKind, ChargeStatus, DeliveryStatus, EnumField,
                       Interval, InvoiceStatus, LineKind, OrderStatus, PlanKind, RequestStatus,
                       Role, SubscriptionStatus, TrialOutcome)


def utcnow() -> dt.datetime:
    """Naive UTC now from the app's one clock (portal/clock.py: follows a pinned day)."""
    return clock.now()


class MoneyField(pw.BigIntegerField):
    """A Decimal amount stored as integer minor units (cents) (rule DOC-3). The currency
    is always beside it: the row's ``currency`` column, or its account's."""

    field_type = "BIGINT"

    def db_value(self, value):
        return None if value is None else to_cents(value)

    def python_value(self, value):
        return None if value is None else from_cents(value)


class BaseModel(pw.Model):
    id: pw.AutoField[int]  # the primary key peewee adds at class creation (for mypy)
    class Meta:
        database = db
        legacy_table_names = False


class Account(BaseModel):
    """A billing unit (rule ACC-1): a retail chain or a collaboration space."""

    name = pw.CharField(max_length=200)
    # Billing details (rule BIL-1; portal/accounts/billing_details.py edits them).
    legal_name = pw.CharField(max_length=200, default="")
    address_line1 = pw.CharField(max_length=200, default="")
    address_line2 = pw.CharField(max_length=200, default="")
    postal_code = pw.CharField(max_length=20, default="")
    city = pw.CharField(max_length=100, default="")
    country = pw.CharField(max_length=2, default="")  # ISO 3166 alpha-2
    tax_id = pw.CharField(max_length=32, default="")  # checked by checksum before saving
    invoice_emails = pw.TextField(default="")  # comma separated; documents are mailed there
    po_reference = pw.CharField(max_length=100, default="")
    language = pw.CharField(max_length=8, default="en")
    # CAT-1: the account bills in one currency (ISO 4217); its plans' prices in it apply.
    currency = pw.CharField(max_length=3, default="USD")
    # CHG-7: plan changes go through customer success, not the wizard.
    negotiated_contract = pw.BooleanField(default=False)
    # PAY-4: used another payment method before 2019-04-01.
    grandfathered = pw.BooleanField(default=False)
    # The reference another system knows the account by (e.g. the reseller's old billing
    # tool), unique where set: ``portal import`` finds an imported account by it.
    external_ref = pw.CharField(max_length=100, null=True, unique=True)
    status = EnumField(AccountStatus, default=AccountStatus.ACTIVE)
    gateway_customer_id = pw.CharField(max_length=64, null=True)
    created_at = pw.DateTimeField(default=utcnow)
    # A random stamp that database triggers renew whenever one of the account's devices,
    # locations or memberships changes (migrations/010_usage_stamp.py and
    # 021_memberships.py): the key under which portal.billing.pricing caches the
    # account's usage. Never set it from Python.
    usage_stamp = pw.BigIntegerField(default=0)

    class Meta:
        # the operators' accounts list pages by name and by creation (migration 034)
        indexes = ((("name", "id"), False), (("created_at", "id"), False))


def new_session_key() -> int:
    """A random 62-bit number: a user's sessions are valid while it stays the same."""
    return secrets.randbits(62)


class User(BaseModel):
    """A person who logs in (rule ACC-5): one login, one email. What they are in an
    account (role, active flag, add-on license) is a ``Membership``; an operator (rule
    ACC-2) is one by ``is_operator`` and needs none.

    The logged-in principal carries the membership of the account chosen for the session
    (``membership``, attached by ``portal.security.load_user``), and ``account``,
    ``account_id``, ``role`` and ``is_account_admin`` read it: call sites ask "the
    current user's account" as before, and get the account the session works in.

    Sessions (rule ACC-8): the signed session cookie holds ``get_id()``, the id *and* the
    user's ``session_key``; a session whose key is no longer the user's is refused when
    the user is loaded. Logging out and a new password renew the key, which ends every
    copy of every session of that user. Random rather than a counter, so two renewals
    that race never write the same key.

    It speaks Flask-Login's documented user protocol (``is_authenticated``,
    ``is_active``, ``is_anonymous``, ``get_id``) itself rather than through
    ``flask_login.UserMixin``: the tables import no web framework, so the billing
    engine that reads them does not either (issue #14, the layers contract).
    """

    email = pw.CharField(max_length=254, unique=True)
    name = pw.CharField(max_length=200, default="")
    password_hash = pw.CharField(max_length=255)
    is_operator = pw.BooleanField(default=False)
    language = pw.CharField(max_length=8, null=True)
    created_at = pw.DateTimeField(default=utcnow)
    session_key = pw.BigIntegerField(default=new_session_key)

    # The membership of the account this session works in (None: no account chosen,
    # or an operator): set by the user loader, never stored.
    membership: Membership | None = None
    # How many active memberships the person has, when the loader counted them.
    account_count: int = 0

    class Meta:
        # Only the fields a save changed are written: a save of a user loaded before a
        # logout (a language change, say) must not write the old session key back.
        only_save_dirty = True

    def save(self, *args, **kwargs):
        """A new password ends every session of the user (ACC-8)."""
        if self.id is not None and User.password_hash in self.dirty_fields:
            self.session_key = new_session_key()
        return super().save(*args, **kwargs)

    def end_sessions(self) -> None:
        """End every session of this user, wherever its cookie was copied (ACC-8)."""
        self.session_key = new_session_key()
        User.update(session_key=self.session_key).where(User.id == self.id).execute()

    def get_id(self) -> str:
        """Flask-Login: what the session (and a remember cookie) stores, "id:key"."""
        return f"{self.id}:{self.session_key}"

    def active_memberships(self):
        """The person's active memberships with their accounts, by account name."""
        return (Membership.select(Membership, Account).join(Account)
                .where((Membership.user == self.id) & (Membership.active == True))  # noqa: E712
                .order_by(Account.name, Account.id))

    @property
    def can_log_in(self) -> bool:
        """An operator, or a person with at least one active membership (ACC-4)."""
        return bool(self.is_operator) or self.active_memberships().exists()

    @property
    def is_active(self) -> bool:  # Flask-Login: loaded users passed the loader's checks
        return True

    @property
    def is_authenticated(self) -> bool:  # Flask-Login: as UserMixin, an active user
        return self.is_active

    @property
    def is_anonymous(self) -> bool:  # Flask-Login: a real person, never the anonymous one
        return False

    # --- the current membership (the account the session works in) ---
    @property
    def account_id(self) -> int | None:
        return self.membership.account_id if self.membership is not None else None

    @property
    def account(self) -> Account | None:
        return self.membership.account if self.membership is not None else None

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership is not None else None

    @property
    def is_account_admin(self) -> bool:
        m = self.membership
        return m is not None and m.role == Role.ADMIN and bool(m.active)


class Membership(BaseModel):
    """A person in an account (rule ACC-5): the role (ACC-2), the active flag (ACC-4: an
    active membership occupies a seat) and the add-on license belong here."""

    user_id: int  # set by peewee for the foreign key (for mypy)
    user = pw.ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    account_id: int  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="memberships", on_delete="CASCADE")
    role = EnumField(Role, default=Role.MEMBER)
    active = pw.BooleanField(default=True)
    holds_addon_license = pw.BooleanField(default=False)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "account"), True),)

    # The person's facts, for templates and JSON that list members.
    @property
    def email(self) -> str:
        return self.user.email

    @property
    def name(self) -> str:
        return self.user.name


class Location(BaseModel):
    """A place where devices stand (a shop); counts for location plans (rule LOC-1)."""

    account_id: int  # set by peewee for the foreign key (for mypy)
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

    account_id: int  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="devices", on_delete="CASCADE")
    location_id: int  # set by peewee for the foreign key (for mypy)
    location = pw.ForeignKeyField(Location, backref="devices", on_delete="CASCADE")
    serial = pw.CharField(max_length=100)
    active = pw.BooleanField(default=True)
    # DEV-3: a device support marked as the RMA replacement of another one.
    rma_replacement_of_id: int | None  # set by peewee for the foreign key (for mypy)
    rma_replacement_of = pw.ForeignKeyField("self", null=True, backref="replacements",
                                            on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    removed_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("account", "serial"), True),)


class Plan(BaseModel):
    """A catalogue entry (rules CAT-1..CAT-3): what is counted, its tier and trial; its
    prices are ``PriceVersion`` rows, per currency. A retired plan (``available`` false)
    takes no new subscriptions and keeps its existing ones (CAT-3)."""

    code = pw.CharField(max_length=50, unique=True)
    name = pw.CharField(max_length=200)
    kind = EnumField(PlanKind)
    rank = pw.IntegerField(default=0)  # higher = more expensive tier, for upgrade/downgrade
    trial_days = pw.IntegerField(default=0)
    available = pw.BooleanField(default=True)


class PriceVersion(BaseModel):
    """One version of a plan's prices in one currency (rules CAT-1, CAT-2).

    Versions of a (plan, currency) are numbered 1, 2, ...; the highest is what new
    subscriptions get at once. An existing subscription moves to a newer version at its
    first renewal on or after ``existing_from``; never when that is null (grandfathered).
    Rows are never changed once written: a new price is a new version.
    """

    plan_id: int  # set by peewee for the foreign key (for mypy)
    plan = pw.ForeignKeyField(Plan, backref="price_versions", on_delete="CASCADE")
    currency = pw.CharField(max_length=3)
    number = pw.IntegerField()
    monthly_price = MoneyField()
    annual_price = MoneyField()
    addon_monthly_price = MoneyField(default=0)
    addon_annual_price = MoneyField(default=0)
    existing_from = pw.DateField(null=True)
    # CHG-7: a negotiated price, private to this account (migration 027): it takes the next
    # number of its plan and currency, and no public version replaces it at a renewal.
    account_id: int | None  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, null=True, backref="negotiated_prices",
                                 on_delete="CASCADE")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("plan", "currency", "number"), True),)

    def unit_price(self, interval: str):  # an Interval (a StrEnum) or its stored value
        return self.annual_price if interval == Interval.ANNUAL else self.monthly_price

    def addon_price(self, interval: str):
        return self.addon_annual_price if interval == Interval.ANNUAL else self.addon_monthly_price

    def amounts(self) -> tuple:
        """The four prices, to compare versions."""
        return (self.monthly_price, self.annual_price, self.addon_monthly_price,
                self.addon_annual_price)


class Subscription(BaseModel):
    """An account's subscription to a plan; renews automatically (rule SUB-3)."""

    account_id: int  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="subscriptions", on_delete="CASCADE")
    plan_id: int  # set by peewee for the foreign key (for mypy)
    plan = pw.ForeignKeyField(Plan, backref="subscriptions")
    # CAT-2: the prices it pays (its plan's, in its account's currency); the billing run
    # moves it to a newer version at a renewal the version reaches (billing/catalogue.py).
    price_version_id: int | None  # set by peewee for the foreign key (for mypy)
    price_version = pw.ForeignKeyField(PriceVersion, null=True, backref="subscriptions")
    interval = EnumField(Interval, max_length=8, default=Interval.MONTHLY)
    quantity = pw.IntegerField(default=1)
    addon_quantity = pw.IntegerField(default=0)
    started_on = pw.DateField()
    next_payment_date = pw.DateField(index=True)
    status = EnumField(SubscriptionStatus, default=SubscriptionStatus.ACTIVE)
    # TRI-1 (migration 032): the last day of its trial (kept after it, as history), and
    # how the trial finished (None while it runs or when it had none).
    trial_ends_on = pw.DateField(null=True, index=True)
    trial_outcome = EnumField(TrialOutcome, null=True)
    created_at = pw.DateTimeField(default=utcnow)


class PendingChange(BaseModel):
    """A change to a subscription that takes effect on a later date (rules CHG-5, CHG-6).

    Fields left null keep their current value; ``cancel`` ends the subscription on
    ``effective_on``. The billing run applies due changes before it bills.
    """

    subscription_id: int  # set by peewee for the foreign key (for mypy)
    subscription = pw.ForeignKeyField(Subscription, backref="pending_changes",
                                      on_delete="CASCADE")
    effective_on = pw.DateField(index=True)
    plan_id: int | None  # set by peewee for the foreign key (for mypy)
    plan = pw.ForeignKeyField(Plan, null=True)
    interval = EnumField(Interval, max_length=8, null=True)
    quantity = pw.IntegerField(null=True)
    addon_quantity = pw.IntegerField(null=True)
    cancel = pw.BooleanField(default=False)
    reason = pw.TextField(default="")
    created_by_id: int | None  # set by peewee for the foreign key (for mypy)
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    applied_at = pw.DateTimeField(null=True)
    withdrawn_at = pw.DateTimeField(null=True)


class PaymentMethod(BaseModel):
    """A vaulted card or an approved alternative method; never card data (rule PAY-2)."""

    account_id: int  # set by peewee for the foreign key (for mypy)
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

    account_id: int | None  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="audit_events", null=True,
                                 on_delete="CASCADE")
    actor_id: int | None  # set by peewee for the foreign key (for mypy)
    actor = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    action = pw.CharField(max_length=64)
    detail = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow, index=True)


class OutboxMessage(BaseModel):
    """A notification kept by the outbox channel, readable by operators."""

    account_id: int | None  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="outbox", null=True, on_delete="CASCADE")
    kind = pw.CharField(max_length=64)
    recipients = pw.TextField(default="")
    subject = pw.CharField(max_length=300, default="")
    body = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow, index=True)


# --- devices API and notification deliveries (issue 7) ---
class ApiToken(BaseModel):
    """A per-account token for the JSON API; only its SHA-256 is stored (shown once)."""

    account_id: int  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="api_tokens", on_delete="CASCADE")
    name = pw.CharField(max_length=100)
    prefix = pw.CharField(max_length=16)  # the token's first characters, to tell them apart
    token_hash = pw.CharField(max_length=64, unique=True)
    created_by_id: int | None  # set by peewee for the foreign key (for mypy)
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    last_used_at = pw.DateTimeField(null=True)
    revoked_at = pw.DateTimeField(null=True)


class Delivery(BaseModel):
    """One notification for one channel: status, attempts and last error, for operators.

    ``key`` makes a delivery happen once: at most one row per (channel, key).
    """

    account_id: int | None  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="deliveries", null=True, on_delete="CASCADE")
    kind = pw.CharField(max_length=64)
    channel = pw.CharField(max_length=64)
    key = pw.CharField(max_length=200, null=True)
    payload = pw.TextField()  # the Notification as JSON
    status = EnumField(DeliveryStatus, default=DeliveryStatus.PENDING, index=True)
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(default="")
    next_attempt_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow, index=True)
    updated_at = pw.DateTimeField(default=utcnow)
    sent_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("channel", "key"), True),)


# --- billing: invoices, charges, receipts, credit notes, dunning (issue 6) ---
class DocumentCounter(BaseModel):
    """The last number issued in one document series: numbers without gaps per deployment.

    The row is updated in the transaction that issues the document, so a rolled-back
    issue gives its number back.
    """

    series = pw.CharField(max_length=16, primary_key=True)  # invoice | receipt | credit_note
    last = pw.BigIntegerField(default=0)


class Invoice(BaseModel):
    """An issued invoice: immutable once issued (corrections are credit notes).

    One invoice per (subscription, period) is a unique index, so two billing workers
    can never bill a period twice. Only the collection fields (status, hold reason,
    dunning step, next attempt, paid at) change after issue.
    """

    FROZEN = ("number", "account", "subscription", "period_start", "period_end", "issued_on",
              "due_on", "total", "account_name", "billing_address", "description",
              "currency", "buyer", "seller", "taxes", "tax_total")

    number = pw.CharField(max_length=32, unique=True)
    account_id: int  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="invoices")
    subscription_id: int | None  # set by peewee for the foreign key (for mypy)
    subscription = pw.ForeignKeyField(Subscription, backref="invoices", null=True)
    period_start = pw.DateField(null=True)
    period_end = pw.DateField(null=True)  # last day of the period, inclusive
    issued_on = pw.DateField(index=True)
    due_on = pw.DateField()
    total = MoneyField()
    currency = pw.CharField(max_length=3, default="USD")  # DOC-3, CAT-1: the account's, at issue
    # Snapshots: the document says what was true when it was issued.
    account_name = pw.CharField(max_length=200)
    billing_address = pw.TextField(default="")
    description = pw.CharField(max_length=300, default="")
    # Snapshots (BIL-1, TAX-3): the parties' details and the tax lines, as JSON
    # (portal.billing.taxes.Party / TaxLine); ``total`` is the gross, tax included.
    buyer = pw.TextField(default="{}")
    seller = pw.TextField(default="{}")
    taxes = pw.TextField(default="[]")
    tax_total = MoneyField(default=0)
    # Collection state (may change after issue).
    status = EnumField(InvoiceStatus, default=InvoiceStatus.OPEN, index=True)
    hold_reason = pw.TextField(default="")
    dunning_step = pw.IntegerField(default=0)  # failed collection attempts so far
    next_attempt_on = pw.DateField(null=True, index=True)
    paid_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        only_save_dirty = True
        indexes = ((("subscription", "period_start"), True),)

    def save(self, *args, **kwargs):
        frozen = set(self.FROZEN) & {f.name for f in self.dirty_fields}
        if self._pk is not None and frozen and not kwargs.get("force_insert"):
            raise ImmutableDocument(f"invoice {self.number} is issued: {sorted(frozen)} "
                                    "cannot change; issue a credit note")
        return super().save(*args, **kwargs)


class ImmutableDocument(Exception):
    """An issued document was about to change."""


class InvoiceLine(BaseModel):
    """One line of an invoice: plan, add-on licenses, proration charge or credit."""

    invoice_id: int  # set by peewee for the foreign key (for mypy)
    invoice = pw.ForeignKeyField(Invoice, backref="lines")
    position = pw.IntegerField()
    kind = EnumField(LineKind)
    description = pw.CharField(max_length=300)
    quantity = pw.IntegerField(default=1)
    unit_price = MoneyField()
    amount = MoneyField()

    class Meta:
        indexes = ((("invoice", "position"), True),)


class BillingAdjustment(BaseModel):
    """A charge (positive) or credit (negative) put on a subscription's next invoice:
    proration left over from a plan change, or an operator's credit carried forward."""

    account_id: int  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="billing_adjustments")
    subscription_id: int | None  # set by peewee for the foreign key (for mypy)
    subscription = pw.ForeignKeyField(Subscription, backref="billing_adjustments", null=True)
    kind = EnumField(LineKind, default=LineKind.PRORATION)  # proration | credit | carry
    description = pw.CharField(max_length=300)
    amount = MoneyField()
    invoice_id: int | None  # set by peewee for the foreign key (for mypy)
    invoice = pw.ForeignKeyField(Invoice, null=True, backref="adjustments")  # set when billed
    created_at = pw.DateTimeField(default=utcnow)


class Charge(BaseModel):
    """One collection attempt at the gateway. Its idempotency key is stored (committed)
    before the gateway is called, so an unknown outcome is reconciled, never re-sent blindly.
    """

    invoice_id: int  # set by peewee for the foreign key (for mypy)
    invoice = pw.ForeignKeyField(Invoice, backref="charges")
    attempt = pw.IntegerField()
    idempotency_key = pw.CharField(max_length=64, unique=True)
    amount = MoneyField()
    gateway = pw.CharField(max_length=32)
    payment_method_id: int | None  # set by peewee for the foreign key (for mypy)
    payment_method = pw.ForeignKeyField(PaymentMethod, null=True, on_delete="SET NULL")
    status = EnumField(ChargeStatus, default=ChargeStatus.PENDING, index=True)
    transaction_id = pw.CharField(max_length=64, null=True)
    message = pw.TextField(default="")
    calls = pw.IntegerField(default=0)  # times sent to the gateway (re-sent only after a lookup)
    created_at = pw.DateTimeField(default=utcnow)
    last_call_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("invoice", "attempt"), True),)


class Receipt(BaseModel):
    """Proof of payment of one invoice, by card (a charge) or marked paid by an operator."""

    number = pw.CharField(max_length=32, unique=True)
    invoice_id: int  # set by peewee for the foreign key (for mypy)
    invoice = pw.ForeignKeyField(Invoice, backref="receipts", unique=True)
    charge_id: int | None  # set by peewee for the foreign key (for mypy)
    charge = pw.ForeignKeyField(Charge, null=True)
    amount = MoneyField()
    paid_on = pw.DateField()
    method = pw.CharField(max_length=200)
    reference = pw.CharField(max_length=200, default="")
    created_at = pw.DateTimeField(default=utcnow)


class CreditNote(BaseModel):
    """A correction of an issued invoice, issued by an operator (never an edit)."""

    number = pw.CharField(max_length=32, unique=True)
    invoice_id: int  # set by peewee for the foreign key (for mypy)
    invoice = pw.ForeignKeyField(Invoice, backref="credit_notes")
    amount = MoneyField()
    reason = pw.TextField()
    issued_on = pw.DateField()
    taxes = pw.TextField(default="[]")  # the tax it reverses, per rate (TAX-3), JSON
    issued_by_id: int | None  # set by peewee for the foreign key (for mypy)
    issued_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)


# --- plan changes: survey answers, quotes, orders (issue 5) ---
class SurveyAnswer(BaseModel):
    """Why an admin changes or cancels a subscription (CHG-2 step 2), for operators.

    ``draft_key`` names the wizard run: answering again updates the same row.
    """

    account_id: int  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="survey_answers", on_delete="CASCADE")
    subscription_id: int  # set by peewee for the foreign key (for mypy)
    subscription = pw.ForeignKeyField(Subscription, backref="survey_answers",
                                      on_delete="CASCADE")
    user_id: int | None  # set by peewee for the foreign key (for mypy)
    user = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    draft_key = pw.CharField(max_length=64, unique=True)
    change = EnumField(ChangeKind)
    reason = pw.CharField(max_length=32, default="")  # a code of change_choices.reason_choices
    details = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow, index=True)


class ImmutableQuote(Exception):
    """An accepted quote (or one of its lines) was about to change (rule DOC-2)."""


class Quote(BaseModel):
    """A numbered offer for a plan change, valid until a date (rule DOC-2).

    Once accepted it never changes: ``save`` and ``delete_instance`` refuse, and so do
    its lines'. ``fingerprint`` is the subscription and prices it was computed from.
    """

    account_id: int  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="quotes", on_delete="CASCADE")
    subscription_id: int  # set by peewee for the foreign key (for mypy)
    subscription = pw.ForeignKeyField(Subscription, backref="quotes", on_delete="CASCADE")
    number = pw.CharField(max_length=32, unique=True)
    review_key = pw.CharField(max_length=64, unique=True)
    # Snapshots: the document says what was true when it was issued.
    account_name = pw.CharField(max_length=200)
    billing_address = pw.TextField(default="")
    currency = pw.CharField(max_length=3, default="USD")
    buyer = pw.TextField(default="{}")  # BIL-1 snapshot (JSON)
    seller = pw.TextField(default="{}")
    taxes = pw.TextField(default="[]")  # the tax on ``due_now`` (TAX-3), JSON
    change = EnumField(ChangeKind)
    plan_id: int  # set by peewee for the foreign key (for mypy)
    plan = pw.ForeignKeyField(Plan, backref="+")
    interval = EnumField(Interval, max_length=8)
    quantity = pw.IntegerField()
    addon_quantity = pw.IntegerField(default=0)
    recurring_before = MoneyField()
    recurring_after = MoneyField()
    due_now = MoneyField(default=0)
    days_left = pw.IntegerField(default=0)
    period_days = pw.IntegerField(default=0)
    effective_on = pw.DateField()
    created_on = pw.DateField()
    valid_until = pw.DateField()
    fingerprint = pw.CharField(max_length=64)
    survey_id: int | None  # set by peewee for the foreign key (for mypy)
    survey = pw.ForeignKeyField(SurveyAnswer, null=True, backref="+", on_delete="SET NULL")
    created_by_id: int | None  # set by peewee for the foreign key (for mypy)
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    accepted_at = pw.DateTimeField(null=True)
    accepted_by_id: int | None  # set by peewee for the foreign key (for mypy)
    accepted_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    def _refuse_if_accepted(self):
        if self._pk is not None and (Quote.select().where(
                (Quote.id == self._pk) & Quote.accepted_at.is_null(False)).exists()):
            raise ImmutableQuote(f"quote {self.number} was accepted and cannot change")

    def save(self, *args, **kwargs):
        if not kwargs.get("force_insert"):
            self._refuse_if_accepted()
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        self._refuse_if_accepted()
        return super().delete_instance(*args, **kwargs)


class QuoteLine(BaseModel):
    """One line of a quote: the plan's units or the add-on licenses, per period."""

    quote_id: int  # set by peewee for the foreign key (for mypy)
    quote = pw.ForeignKeyField(Quote, backref="lines", on_delete="CASCADE")
    position = pw.IntegerField()
    description = pw.CharField(max_length=300)
    quantity = pw.IntegerField()
    unit_price = MoneyField()
    amount = MoneyField()

    class Meta:
        indexes = ((("quote", "position"), True),)

    def save(self, *args, **kwargs):
        Quote(id=self.quote_id)._refuse_if_accepted()
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        Quote(id=self.quote_id)._refuse_if_accepted()
        return super().delete_instance(*args, **kwargs)


class ChangeOrder(BaseModel):
    """A placed plan change (CHG-2 "Place order", or an accepted quote).

    ``review_key`` is unique: a double-click or a replayed POST of one review finds the
    order it already placed. ``charge_key`` is the gateway idempotency key, committed
    before the gateway is called.
    """

    account_id: int  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="change_orders", on_delete="CASCADE")
    subscription_id: int  # set by peewee for the foreign key (for mypy)
    subscription = pw.ForeignKeyField(Subscription, backref="change_orders",
                                      on_delete="CASCADE")
    review_key = pw.CharField(max_length=64, unique=True)
    change = EnumField(ChangeKind)
    plan_id: int  # set by peewee for the foreign key (for mypy)
    plan = pw.ForeignKeyField(Plan, backref="+")
    interval = EnumField(Interval, max_length=8)
    quantity = pw.IntegerField()
    addon_quantity = pw.IntegerField(default=0)
    old_plan_id: int  # set by peewee for the foreign key (for mypy)
    old_plan = pw.ForeignKeyField(Plan, backref="+")
    old_interval = EnumField(Interval, max_length=8)
    old_quantity = pw.IntegerField()
    old_addon_quantity = pw.IntegerField(default=0)
    recurring_before = MoneyField()
    recurring_after = MoneyField()
    due_now = MoneyField(default=0)  # net; the charge adds ``taxes``
    taxes = pw.TextField(default="[]")  # the tax on ``due_now`` (its quote's, if any), JSON
    effective_on = pw.DateField()
    applied_now = pw.BooleanField(default=False)
    status = EnumField(OrderStatus, default=OrderStatus.CHARGING, index=True)
    charge_key = pw.CharField(max_length=80, null=True, unique=True)
    payment_method_id: int | None  # set by peewee for the foreign key (for mypy)
    payment_method = pw.ForeignKeyField(PaymentMethod, null=True, backref="+",
                                        on_delete="SET NULL")
    transaction_id = pw.CharField(max_length=64, null=True)
    message = pw.TextField(default="")
    quote_id: int | None  # set by peewee for the foreign key (for mypy)
    quote = pw.ForeignKeyField(Quote, null=True, backref="orders", on_delete="SET NULL")
    survey_id: int | None  # set by peewee for the foreign key (for mypy)
    survey = pw.ForeignKeyField(SurveyAnswer, null=True, backref="+", on_delete="SET NULL")
    pending_change_id: int | None  # set by peewee for the foreign key (for mypy)
    pending_change = pw.ForeignKeyField(PendingChange, null=True, backref="+",
                                        on_delete="SET NULL")
    created_by_id: int | None  # set by peewee for the foreign key (for mypy)
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    placed_at = pw.DateTimeField(null=True)


# --- payments: manual-method requests, gateway webhooks (issue 4) ---
class ManualMethodRequest(BaseModel):
    """An admin's request to pay by invoice / bank transfer, and the operator's decision
    (rules PAY-3, PAY-4). Grandfathering is recorded as an approved request too."""

    account_id: int  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="manual_method_requests", on_delete="CASCADE")
    requested_by_id: int | None  # set by peewee for the foreign key (for mypy)
    requested_by = pw.ForeignKeyField(User, null=True, backref="manual_method_requests",
                                      on_delete="SET NULL")
    note = pw.TextField(default="")
    period_amount = MoneyField()  # one billing period's amount when requested (PAY-3)
    status = EnumField(RequestStatus, default=RequestStatus.PENDING, index=True)
    # The account's id while pending, null once decided: one open request per account.
    pending_for = pw.IntegerField(null=True, unique=True)
    decided_by_id: int | None  # set by peewee for the foreign key (for mypy)
    decided_by = pw.ForeignKeyField(User, null=True, backref="manual_method_decisions",
                                    on_delete="SET NULL")
    decided_at = pw.DateTimeField(null=True)
    decision_note = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow, index=True)


class WebhookReceipt(BaseModel):
    """A verified gateway notification; its unique key makes a replay fail."""

    gateway = pw.CharField(max_length=32)
    key = pw.CharField(max_length=128)
    kind = pw.CharField(max_length=64)
    subject_id = pw.CharField(max_length=128, default="")
    outcome = pw.CharField(max_length=200, default="")
    received_at = pw.DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("gateway", "key"), True),)


class LoginFailure(BaseModel):
    """Failed logins of one client address or one login in the current window
    (portal/accounts/login_limit.py); ``key`` is a hash, ``window_start`` Unix seconds."""

    key = pw.CharField(max_length=64, primary_key=True)
    window_start = pw.BigIntegerField(index=True)
    count = pw.IntegerField(default=0)


class AccountSnapshot(BaseModel):
    """One account's usage and subscription state on one day (issue #18.5): the history
    the usage charts stand on. Written once per (account, day) by ``portal.metrics
    .snapshots.take`` (a huey periodic task, ``portal snapshots take``); never changed."""

    account_id: int  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="+", on_delete="CASCADE")
    day = pw.DateField()
    devices = pw.IntegerField(default=0)  # counting devices (DEV-3)
    locations = pw.IntegerField(default=0)
    location_subscriptions = pw.IntegerField(default=0)  # LOC-1
    seats = pw.IntegerField(default=0)  # active members (ACC-4)
    addon_licenses = pw.IntegerField(default=0)
    active_subscriptions = pw.IntegerField(default=0)
    past_due = pw.BooleanField(default=False)  # the account's status (dunning.py)
    # each active subscription as "plan:interval:quantity+addons", ";"-separated
    plans = pw.TextField(default="")
    taken_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("day", "account"), True),)


class PendingSignup(BaseModel):
    """A self-serve sign-up waiting for its e-mail to be verified (issue #16 item 6, ONB-1):
    nothing else exists until the mailed link is followed (portal/accounts/signup.py). The
    link carries the id and ``nonce``; ``used_at`` makes it single-use. The password is
    kept only as its hash."""

    email = pw.CharField(max_length=254, index=True)
    person_name = pw.CharField(max_length=200)
    company = pw.CharField(max_length=200)
    password_hash = pw.CharField(max_length=255)
    country = pw.CharField(max_length=2, default="")
    currency = pw.CharField(max_length=3)
    language = pw.CharField(max_length=8, default="en")
    plan_code = pw.CharField(max_length=64)
    interval = pw.CharField(max_length=16)
    quantity = pw.IntegerField(default=1)
    nonce = pw.CharField(max_length=64)
    created_at = pw.DateTimeField(default=utcnow, index=True)
    used_at = pw.DateTimeField(null=True)


class Invitation(BaseModel):
    """A person invited by email into an account (rule ACC-6) with a role (ACC-2) and an
    add-on license; ``portal.accounts.invitations`` is its one home. Pending while neither
    accepted nor revoked and its last mail is younger than 7 days; the mailed link is
    bound to ``sent_count``, ``accepted_at`` and ``revoked_at``, so a resend, an
    acceptance or a revocation ends every link sent before."""

    account_id: int  # set by peewee for the foreign key (for mypy)
    account = pw.ForeignKeyField(Account, backref="invitations", on_delete="CASCADE")
    email = pw.CharField(max_length=254)
    name = pw.CharField(max_length=200, default="")  # a suggestion for a new login only
    role = EnumField(Role, default=Role.MEMBER)
    holds_addon_license = pw.BooleanField(default=False)
    invited_by_id: int | None  # set by peewee for the foreign key (for mypy)
    invited_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    via = pw.CharField(max_length=200, default="")  # the API token's name, through the API
    created_at = pw.DateTimeField(default=utcnow)
    sent_count = pw.IntegerField(default=1)
    last_sent_at = pw.DateTimeField(default=utcnow)
    accepted_at = pw.DateTimeField(null=True)
    revoked_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("account", "email"), False),)


# --- the provisioning API (issue #16 item 4, migration 028) ---
class OperatorToken(BaseModel):
    """An operator-level API token for the provisioning API: no account, a set of scopes
    (portal/accounts/operator_tokens.py); only its SHA-256 is stored (shown once)."""

    name = pw.CharField(max_length=100)
    prefix = pw.CharField(max_length=16)  # the token's first characters, to tell them apart
    token_hash = pw.CharField(max_length=64, unique=True)
    scopes = pw.CharField(max_length=300, default="")  # space-separated, e.g. "accounts:read"
    created_by_id: int | None  # set by peewee for the foreign key (for mypy)
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    last_used_at = pw.DateTimeField(null=True)
    revoked_at = pw.DateTimeField(null=True)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class IdempotencyKey(BaseModel):
    """The first answer to a POST of the provisioning API with this ``Idempotency-Key``
    (per token): replayed for 24 hours to a request with the same hash, refused to another
    (portal/views/idempotency.py)."""

    token_id: int  # set by peewee for the foreign key (for mypy)
    token = pw.ForeignKeyField(OperatorToken, on_delete="CASCADE")
    key = pw.CharField(max_length=255)
    request_hash = pw.CharField(max_length=64)  # SHA-256 of method, path and JSON body
    status = pw.IntegerField()
    body = pw.TextField()
    created_at = pw.DateTimeField(default=utcnow)
    expires_at = pw.DateTimeField(index=True)

    class Meta:
        indexes = ((("token", "key"), True),)


MODELS = (Account, User, Membership, Location, Device, Plan, PriceVersion, Subscription,
          PendingChange, PaymentMethod, AuditEvent, OutboxMessage)
MODELS += (ManualMethodRequest, WebhookReceipt)
MODELS += (ApiToken, Delivery)
MODELS += (DocumentCounter, Invoice, InvoiceLine, BillingAdjustment, Charge, Receipt,
           CreditNote)
MODELS += (SurveyAnswer, Quote, QuoteLine, ChangeOrder)
MODELS += (LoginFailure,)
MODELS += (AccountSnapshot,)
MODELS += (PendingSignup, Invitation)
MODELS += (OperatorToken, IdempotencyKey)
