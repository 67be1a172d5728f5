"""Plan-change rules (CHG-3..CHG-8) and the scheduled changes the billing run applies.

The rules are pure functions: ``preview_change`` takes a subscription's terms, what the
admin asks for, today's date and the live usage, and says what the change is (upgrade,
downgrade, interval switch or cancellation), what it costs now and per period, from
when the new price applies and why, and which rule refuses it. Error entries are codes
with parameters (no Flask here); the views turn them into translated messages.

``put_changes`` says what scheduled changes do to a subscription: the billing run
applies them with it (``apply_changes``) and the estimates of a coming charge apply them
to a copy in memory (``as_changed``, rule SUB-4). Placing an order (the database and
gateway side) lives in ``orders.py``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

import peewee as pw
from playhouse.shortcuts import dict_to_model, model_to_dict

from ..models import PendingChange, Plan, PriceVersion, Subscription, utcnow
from ..statuses import USAGE_KINDS, ChangeKind, Interval, SubscriptionStatus
from .catalogue import account_currency, latest_price
from .dates import add_months, add_years, first_of_next_month
from .money import ZERO, money
from .pricing import billable_quantities

MAX_UNITS = 10_000  # seats or add-on licenses in one subscription
ONE_DAY = dt.timedelta(days=1)


# --- terms and prices -------------------------------------------------------------------

@dataclass(frozen=True)
class Terms:
    """What a subscription is, or is asked to become."""

    plan: Plan
    interval: str
    quantity: int
    addon_quantity: int = 0
    # CAT-2: the price version these terms pay; None on terms asked for, which keep the
    # subscription's version on its own plan and take the newest one of another plan.
    prices: PriceVersion | None = None

    @classmethod
    def of(cls, subscription) -> Terms:
        """The terms of a subscription at the version it pays, or of an order (unpriced)."""
        prices = None
        if isinstance(subscription, Subscription):
            prices = (subscription.price_version if subscription.price_version_id is not None
                      else latest_price(subscription.plan, account_currency(subscription)))
        return cls(subscription.plan, subscription.interval, subscription.quantity,
                   subscription.addon_quantity, prices)

    def priced(self) -> PriceVersion:
        """The price version of priced terms (a subscription's, or as ``requested_terms``
        resolves them); asking unpriced terms for prices is a programming error."""
        if self.prices is None:
            raise ValueError(f"terms on plan {self.plan.code} carry no price version")
        return self.prices


@dataclass(frozen=True)
class Line:
    """One priced line of a recurring total: the plan's units, or the add-on licenses."""

    key: str  # "plan" | "addon"
    plan: Plan
    interval: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


def family(plan: Plan) -> str:
    """Seat plans change among seat plans; usage plans (devices, locations) among usage plans."""
    return "usage" if plan.kind in USAGE_KINDS else "seat"


def price_lines(terms: Terms, usage) -> tuple[Line, ...]:
    """The lines of one period's recurring price; add-on licenses only when there are some."""
    units, addons = billable_quantities(terms, usage)
    prices = terms.priced()
    unit = prices.unit_price(terms.interval)
    lines = [Line("plan", terms.plan, terms.interval, units, unit, money(unit * units))]
    if addons:
        addon = prices.addon_price(terms.interval)
        lines.append(Line("addon", terms.plan, terms.interval, addons, addon,
                          money(addon * addons)))
    return tuple(lines)


def total(lines) -> Decimal:
    return money(sum((line.amount for line in lines), ZERO))


# --- dates (CHG-5, CHG-6) and proration (CHG-8) -------------------------------------------

def next_payment_on(interval: str, today: dt.date, next_payment_date: dt.date) -> dt.date:
    """CHG-5: monthly plans pay on the 1st of next month; annual ones on the renewal date
    (the subscription's next payment date, rolled on by years if already past)."""
    if interval == Interval.MONTHLY:
        return first_of_next_month(today)
    renewal = next_payment_date
    while renewal <= today:
        renewal = add_years(renewal)
    return renewal


def current_period(interval: str, today: dt.date, next_payment_date: dt.date):
    """(first day, next payment date) of the period ``today`` belongs to."""
    end = next_payment_on(interval, today, next_payment_date)
    start = today.replace(day=1) if interval == Interval.MONTHLY else add_years(end, -1)
    return min(start, today), end


def notice_deadline(renewal: dt.date) -> dt.date:
    """CHG-6: the last day an annual downgrade can be placed for ``renewal``: one month
    before it (clamped to month ends: 31 Mar -> 28/29 Feb)."""
    return add_months(renewal, -1)


def prorate(difference: Decimal, today: dt.date, start: dt.date, end: dt.date) -> Decimal:
    """CHG-8: ``difference`` x days left (today included) / days in the period.

    Exact Decimal arithmetic, rounded once, half-up to the cent, on the total
    difference (never per line), so the charge equals the amount shown.
    """
    if not start <= today < end:
        raise ValueError(f"{today} is not in the period {start}..{end}")
    if isinstance(difference, float):
        raise TypeError("money must not be a float (rule DOC-3)")
    return money(Decimal(difference) * (end - today).days / (end - start).days)


# --- the preview ------------------------------------------------------------------------

@dataclass(frozen=True)
class Preview:
    """What a requested change is and costs; ``errors`` maps a field to (code, params)."""

    change: ChangeKind | None
    current: Terms
    new: Terms
    lines_before: tuple[Line, ...] = ()
    lines_after: tuple[Line, ...] = ()
    recurring_before: Decimal = ZERO
    recurring_after: Decimal = ZERO
    due_now: Decimal = ZERO
    price_from: dt.date | None = None
    renewal: dt.date | None = None
    period_start: dt.date | None = None
    days_left: int = 0
    period_days: int = 0
    apply_now: bool = False
    reduce_now: bool = False
    late_notice: bool = False
    deadline: dt.date | None = None
    active_seats: int = 0
    active_addons: int = 0
    surplus_seats: int = 0
    surplus_addons: int = 0
    errors: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and self.change is not None

    @property
    def usage_plan(self) -> bool:
        return family(self.new.plan) == "usage"

    @property
    def ends_on(self) -> dt.date | None:
        """The last day of service of a cancelled subscription."""
        if self.change != ChangeKind.CANCEL or not self.price_from:
            return None
        return self.price_from - ONE_DAY

    def figures(self) -> dict:
        """The amounts and date a review shows: compared again when the order is placed."""
        return {"recurring_after": str(self.recurring_after), "due_now": str(self.due_now),
                "price_from": self.price_from.isoformat() if self.price_from else ""}


def preview_change(current: Terms, wanted: Terms, *, today: dt.date,
                   next_payment_date: dt.date, usage, cancel: bool = False) -> Preview:
    """Classify and price a requested change (CHG-3..CHG-8); never raises on bad input.

    The steps: check the terms asked for, field by field; price both terms; say what the
    change is and which combinations are refused; keep seat plans above their active
    users; then when the new price applies and what is due today.
    """
    if cancel:
        wanted = current
    new, errors = requested_terms(current, wanted, usage)
    if errors:
        return Preview(change=None, current=current, new=new, errors=errors)
    before = price_lines(current, usage)
    after = () if cancel else price_lines(new, usage)
    recurring_before, recurring_after = total(before), total(after)
    change, errors = classify(current, new, recurring_before, recurring_after, cancel=cancel)
    surplus_seats, surplus_addons = 0, 0
    if family(new.plan) == "seat" and not cancel:
        surplus_seats, surplus_addons, floor_errors = seat_floor(current, new, usage)
        errors.update(floor_errors)
    return Preview(change=change, current=current, new=new,
                   lines_before=before, lines_after=after,
                   recurring_before=recurring_before, recurring_after=recurring_after,
                   **timing(change, current, new, recurring_after - recurring_before,
                            today=today, next_payment_date=next_payment_date),
                   active_seats=usage.seats, active_addons=usage.addon_licenses,
                   surplus_seats=surplus_seats, surplus_addons=surplus_addons, errors=errors)


def requested_terms(current: Terms, wanted: Terms, usage) -> tuple[Terms, dict]:
    """The terms asked for and the errors of each field: a plan of the same family and
    still offered, a known interval, quantities in range. A usage plan's quantity is not
    asked for: it follows the devices on the platform (LOC-2)."""
    errors: dict = {}
    plan, interval = wanted.plan, wanted.interval
    if family(plan) != family(current.plan):
        errors["plan"] = ("plan_other_family", {})
    elif not plan.available and plan != current.plan:
        errors["plan"] = ("plan_unavailable", {})
    if interval not in tuple(Interval):
        errors["interval"] = ("interval_unknown", {})
    prices = current.prices if plan == current.plan else (
        wanted.prices or latest_price(plan, current.priced().currency))  # CAT-1, CAT-2
    if family(plan) != "seat":
        return Terms(plan, interval, *billable_quantities(Terms(plan, interval, 0), usage),
                     prices=prices), errors
    new = Terms(plan, interval, wanted.quantity, wanted.addon_quantity, prices)
    if not 1 <= new.quantity <= MAX_UNITS:
        errors["quantity"] = ("quantity_range", {"low": 1, "high": MAX_UNITS})
    if not 0 <= new.addon_quantity <= MAX_UNITS:
        errors["addon_quantity"] = ("quantity_range", {"low": 0, "high": MAX_UNITS})
    elif new.addon_quantity > new.quantity and "quantity" not in errors:
        errors["addon_quantity"] = ("addons_over_seats", {})
    return new, errors


def classify(current: Terms, new: Terms, recurring_before: Decimal, recurring_after: Decimal,
             *, cancel: bool) -> tuple[ChangeKind, dict]:
    """What the change is (CHG-4), and the combinations refused: nothing changed, an
    interval switch together with anything else, a downgrade that also adds something."""
    if cancel:
        return ChangeKind.CANCEL, {}
    same_terms = new.plan == current.plan and (
        family(new.plan) == "usage"
        or (new.quantity, new.addon_quantity) == (current.quantity, current.addon_quantity))
    if new.interval != current.interval:
        return ChangeKind.INTERVAL, {} if same_terms else {"interval": ("interval_alone", {})}
    errors: dict[str, tuple[str, dict]] = {"form": ("no_change", {})} if same_terms else {}
    if recurring_after >= recurring_before:
        return ChangeKind.UPGRADE, errors
    adds = new.plan.rank > current.plan.rank or (family(new.plan) == "seat" and (
        new.quantity > current.quantity or new.addon_quantity > current.addon_quantity))
    if adds:
        errors["form"] = ("mixed_change", {})
    return ChangeKind.DOWNGRADE, errors


def seat_floor(current: Terms, new: Terms, usage) -> tuple[int, int, dict]:
    """CHG-3: a seat plan never drops below its active users, nor its add-on licenses below
    the users holding one: (users to deactivate first, license holders to, errors)."""
    errors: dict = {}
    surplus_seats = surplus_addons = 0
    if new.quantity < current.quantity and new.quantity < usage.seats:
        surplus_seats = usage.seats - new.quantity
        errors["quantity"] = ("seat_floor", {"active": usage.seats, "surplus": surplus_seats})
    if new.addon_quantity < current.addon_quantity and new.addon_quantity < usage.addon_licenses:
        surplus_addons = usage.addon_licenses - new.addon_quantity
        errors["addon_quantity"] = ("addon_floor", {"active": usage.addon_licenses,
                                                    "surplus": surplus_addons})
    return surplus_seats, surplus_addons, errors


def notice(change: ChangeKind, current: Terms, new: Terms, today: dt.date,
           renewal: dt.date) -> tuple[dt.date | None, bool]:
    """CHG-6: leaving annual terms early (a downgrade, a cancellation, annual to monthly)
    needs a month's notice: (the last day to give it, or None; whether it is too late)."""
    leaves_annual = current.interval == Interval.ANNUAL and (
        change in (ChangeKind.DOWNGRADE, ChangeKind.CANCEL)
        or (change == ChangeKind.INTERVAL and new.interval == Interval.MONTHLY))
    if not leaves_annual:
        return None, False
    deadline = notice_deadline(renewal)
    return deadline, today > deadline


def timing(change: ChangeKind, current: Terms, new: Terms, difference: Decimal, *,
           today: dt.date, next_payment_date: dt.date) -> dict:
    """When the new price applies and what is due today, as ``Preview`` fields: an upgrade
    at once, the difference prorated by days (CHG-8); anything else at the next payment
    date (CHG-5), or at the following renewal when the notice came too late (CHG-6)."""
    start, end = current_period(current.interval, today, next_payment_date)
    deadline, late = notice(change, current, new, today, end)
    apply_now = change == ChangeKind.UPGRADE
    if apply_now:
        price_from, due_now = today, prorate(difference, today, start, end)
    else:
        price_from, due_now = (add_years(end) if late else end), ZERO
    return {"due_now": due_now, "price_from": price_from, "renewal": end,
            "period_start": start, "days_left": (end - today).days,
            "period_days": (end - start).days, "apply_now": apply_now,
            "reduce_now": change == ChangeKind.DOWNGRADE and not late, "late_notice": late,
            "deadline": deadline}


def fingerprint(subscription: Subscription, pending, plans) -> str:
    """A digest of everything a review or quote was computed from: the subscription, its
    scheduled changes and the catalogue prices of the plans involved."""
    parts = [subscription.id, subscription.plan_id, subscription.interval,
             subscription.quantity, subscription.addon_quantity, subscription.status,
             str(subscription.next_payment_date), sorted(p.id for p in pending),
             subscription.price_version_id]
    ids = sorted({p.id for p in plans})
    parts += [(p.id, p.available) for p in sorted(set(plans), key=lambda p: p.id)]
    parts += list(PriceVersion.select(PriceVersion.id).where(PriceVersion.plan.in_(ids))
                  .order_by(PriceVersion.id).tuples())  # a new price version changes it
    return hashlib.sha256(repr(parts).encode()).hexdigest()


# --- scheduled changes --------------------------------------------------------------------

def pending_changes(subscription: Subscription):
    """Changes of ``subscription`` still to come (neither applied nor withdrawn)."""
    return (PendingChange
            .select()
            .where((PendingChange.subscription == subscription)
                   & PendingChange.applied_at.is_null()
                   & PendingChange.withdrawn_at.is_null())
            .order_by(PendingChange.effective_on, PendingChange.id))


def due_changes(subscription: Subscription, day: dt.date):
    """Pending changes of ``subscription`` effective on or before ``day``, oldest first."""
    return pending_changes(subscription).where(PendingChange.effective_on <= day)


def pending_by_subscription(subscription_ids) -> dict[int, list[PendingChange]]:
    """Changes still to come of many subscriptions in one query, each with its new plan
    read in the same statement, oldest first (what the billing run and the estimates of
    rule SUB-4 apply)."""
    ids = list(subscription_ids)
    found: dict[int, list[PendingChange]] = {}
    if not ids:
        return found
    for change in (PendingChange
                   .select(PendingChange, Plan)
                   .join(Plan, pw.JOIN.LEFT_OUTER, on=(PendingChange.plan == Plan.id))
                   .where(PendingChange.subscription.in_(ids)
                          & PendingChange.applied_at.is_null()
                          & PendingChange.withdrawn_at.is_null())
                   .order_by(PendingChange.effective_on, PendingChange.id)):
        found.setdefault(change.subscription_id, []).append(change)
    return found


def due_by(changes, day: dt.date) -> list[PendingChange]:
    """The ones of ``changes`` effective on or before ``day`` (CHG-5, CHG-6)."""
    return [c for c in changes if c.effective_on <= day]


def put_changes(subscription: Subscription, changes) -> Subscription:
    """Set ``changes`` (oldest first) on ``subscription`` in memory, writing nothing: the
    one place that says what a scheduled change does to a subscription (rule SUB-4)."""
    for change in changes:
        if change.cancel:
            subscription.status = SubscriptionStatus.CANCELLED
        if change.plan_id is not None:
            subscription.plan = change.plan
        for name in ("interval", "quantity", "addon_quantity"):
            value = getattr(change, name)
            if value is not None:
                setattr(subscription, name, value)
    return subscription


def as_changed(subscription: Subscription, changes) -> Subscription:
    """A copy of ``subscription`` as it will be once ``changes`` apply; the original and
    the database are left alone (rule SUB-4: estimates of a coming charge)."""
    copy = dict_to_model(Subscription, model_to_dict(subscription, recurse=False))
    copy.plan = subscription.plan
    return put_changes(copy, changes)


def apply_changes(subscription: Subscription, changes) -> Subscription:
    """Apply ``changes`` to ``subscription`` and mark them applied (inside a transaction)."""
    put_changes(subscription, changes)
    applied = [c.id for c in changes]
    if applied:
        (PendingChange.update(applied_at=utcnow())
         .where(PendingChange.id.in_(applied)).execute())
    subscription.save()
    return subscription


def apply_due_changes(subscription: Subscription, day: dt.date) -> Subscription:
    """Apply every change due by ``day`` to ``subscription`` (call inside a transaction)."""
    due = due_by(pending_by_subscription([subscription.id]).get(subscription.id, ()), day)
    return apply_changes(subscription, due)
