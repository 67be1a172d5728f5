"""The plan catalogue (rules CAT-1..CAT-3, ONB-1): the one home of creating and editing
plans and their price versions, and of starting a subscription on a plan. The console,
``portal catalogue apply`` (portal/catalogue/files.py) and the demo all call these.

Money is Decimal beside its ISO currency code; a currency must have two decimals
(amounts are stored in cents, rule DOC-3).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import peewee as pw

from ..billing.catalogue import NoPrice, latest_price
from ..billing.dates import next_payment_date
from ..billing.money import money
from ..billing.trials import trial_dates
from ..db import db
from ..money import currency_problem
from ..models import Account, AuditEvent, Plan, PriceVersion, Subscription
from ..statuses import Interval, PlanKind, SubscriptionStatus

MAX_TRIAL_DAYS = 366  # TRI-1: a trial is a trial, not a free year and more
CURRENCIES = ("USD", "EUR")  # offered in forms; the file takes any two-decimal ISO code


class CatalogueError(ValueError):
    """Bad catalogue input: ``field`` names what is wrong, the message says how to fix it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class Prices:
    """One currency's four prices, as asked for."""

    currency: str
    monthly: Decimal
    annual: Decimal
    addon_monthly: Decimal = Decimal("0.00")
    addon_annual: Decimal = Decimal("0.00")

    def amounts(self) -> tuple:
        return (self.monthly, self.annual, self.addon_monthly, self.addon_annual)


def currency_code(value, field: str = "currency") -> str:
    """An ISO 4217 code with two decimals (CAT-1, DOC-3), upper-cased; else CatalogueError."""
    code, problem = currency_problem(value)
    if problem:
        raise CatalogueError(field, problem)
    return code


def amount(value, field: str) -> Decimal:
    """A price: a string or integer, at least zero, whole cents; never a float (DOC-3)."""
    if isinstance(value, (float, bool)):
        raise CatalogueError(field, "write amounts as strings (\"25.00\"), never as floats")
    try:
        exact = Decimal(str(value).strip())
    except ArithmeticError:
        raise CatalogueError(field, f"{value!r} is not an amount") from None
    if not exact.is_finite() or exact < 0 or exact != money(exact):
        raise CatalogueError(field, f"{value!r} must be zero or more, in whole cents")
    return money(exact)


def price_changed(plan: Plan, prices: Prices) -> bool:
    """Whether ``prices`` differ from the plan's newest version in that currency."""
    try:
        return latest_price(plan, prices.currency).amounts() != prices.amounts()
    except NoPrice:
        return True


def add_price_version(plan: Plan, prices: Prices, *, existing_from: dt.date | None,
                      actor=None) -> PriceVersion:
    """A new price version of ``plan`` in ``prices.currency`` (CAT-2): new subscriptions
    pay it at once; existing ones from their first renewal on or after ``existing_from``,
    never when it is None (grandfathered). Nothing written when the prices are unchanged."""
    try:
        last = latest_price(plan, prices.currency)
    except NoPrice:
        last = None
    if last is not None and last.amounts() == prices.amounts():
        return last
    with db.atomic():
        version = PriceVersion.create(
            plan=plan, currency=prices.currency, number=_next_number(plan, prices.currency),
            monthly_price=prices.monthly, annual_price=prices.annual,
            addon_monthly_price=prices.addon_monthly, addon_annual_price=prices.addon_annual,
            existing_from=existing_from if last else None)
        reach = ("existing subscriptions keep their version" if existing_from is None
                 else f"existing subscriptions from their first renewal on or after "
                      f"{existing_from.isoformat()}")
        AuditEvent.create(actor=getattr(actor, "id", actor), action="catalogue.price_version",
                          detail=f"plan {plan.code} {prices.currency} version {version.number}: "
                                 f"{' / '.join(str(a) for a in prices.amounts())}"
                                 + (f"; {reach}" if last else ""))
    return version


def _next_number(plan: Plan, currency: str) -> int:
    """The next version number of a plan in a currency, negotiated versions included."""
    return (PriceVersion.select(pw.fn.MAX(PriceVersion.number))
            .where((PriceVersion.plan == plan) & (PriceVersion.currency == currency))
            .scalar() or 0) + 1


def negotiated_version(account, plan: Plan, prices: Prices, *, actor=None,
                       note: str = "") -> PriceVersion:
    """A price version of ``plan`` private to ``account`` (CHG-7: a negotiated contract),
    in the account's currency; the subscriptions pointed at it pay it until it is
    renegotiated (no public version replaces it). ``note`` goes into the audit entry."""
    if prices.currency != account.currency:
        raise CatalogueError("currency", f"the account bills in {account.currency}, "
                                         f"not {prices.currency}")
    with db.atomic():
        version = PriceVersion.create(
            plan=plan, currency=prices.currency, number=_next_number(plan, prices.currency),
            account=account, monthly_price=prices.monthly, annual_price=prices.annual,
            addon_monthly_price=prices.addon_monthly, addon_annual_price=prices.addon_annual)
        AuditEvent.create(account=account.id, actor=getattr(actor, "id", actor),
                          action="catalogue.negotiated_price",
                          detail=f"plan {plan.code} {prices.currency} version {version.number} "
                                 f"(negotiated): {' / '.join(str(a) for a in prices.amounts())}"
                                 + (f"; {note}" if note else ""))
    return version


def save_plan(code: str, *, name: str, kind, rank: int = 0, trial_days: int = 0,
              available: bool = True, actor=None) -> tuple[Plan, list[str]]:
    """Create the plan ``code`` or update its name, rank, trial and availability; what
    changed, in words. What a plan counts cannot change once it has subscriptions."""
    kind = PlanKind(kind)
    if trial_days < 0 or rank < 0:
        raise CatalogueError("trial_days" if trial_days < 0 else "rank", "must be zero or more")
    plan = Plan.get_or_none(Plan.code == code)
    if plan is None:
        with db.atomic():
            plan = Plan.create(code=code, name=name, kind=kind, rank=rank,
                               trial_days=trial_days, available=available)
            AuditEvent.create(actor=getattr(actor, "id", actor), action="catalogue.plan_created",
                              detail=f"plan {code} ({kind}) created")
        return plan, [f"created plan {code}"]
    if plan.kind != kind and Subscription.select().where(Subscription.plan == plan).exists():
        raise CatalogueError("counts", f"plan {code} has subscriptions: what it counts "
                                       f"({plan.kind}) cannot change; make a new plan")
    wanted = {"name": name, "kind": kind, "rank": rank, "trial_days": trial_days,
              "available": available}
    changed = [k for k, v in wanted.items() if getattr(plan, k) != v]
    if not changed:
        return plan, []
    with db.atomic():
        for k in changed:
            setattr(plan, k, wanted[k])
        plan.save()
        AuditEvent.create(actor=getattr(actor, "id", actor), action="catalogue.plan_changed",
                          detail=f"plan {code}: {', '.join(changed)}")
    said = [f"retired plan {code}" if k == "available" and not available else
            f"offered plan {code} again" if k == "available" else f"plan {code}: {k} changed"
            for k in changed]
    return plan, said


def retire(plan: Plan, actor=None) -> None:
    """CAT-3: the plan takes no new subscriptions; its subscribers keep it."""
    save_plan(plan.code, name=plan.name, kind=plan.kind, rank=plan.rank,
              trial_days=plan.trial_days, available=False, actor=actor)


def check_start(currency: str, plan: Plan, *, interval: str, quantity: int, addons: int = 0,
                start: dt.date, first_payment: dt.date | None = None,
                trial_days: int | None = None) -> tuple:
    """What ``start_subscription`` checks, writing nothing (a dry run, e.g. ``portal import
    --dry-run``, calls it for an account not opened yet): the plan's newest price version
    in ``currency`` and the first payment date; else CatalogueError naming the field.
    ``start`` itself may be the first payment date: the first period is billed at once."""
    if not plan.available:
        raise CatalogueError("plan", f"plan {plan.code} is retired: it takes no new subscriptions")
    if interval not in tuple(Interval):
        raise CatalogueError("interval", f"{interval!r} is not monthly or annual")
    if quantity < 0 or addons < 0:
        raise CatalogueError("quantity", "quantities must be zero or more")
    if trial_days is not None and not 0 <= trial_days <= MAX_TRIAL_DAYS:
        raise CatalogueError("trial_days", f"a trial lasts 0 to {MAX_TRIAL_DAYS} days")
    trial_ends_on = trial_dates(start, trial_days)[0] if trial_days else None
    if trial_ends_on is not None:
        if first_payment is not None:
            raise CatalogueError("first_payment", "a trial is paid from its last day on: "
                                                  "leave the first payment date empty")
        first_payment = trial_ends_on
    elif first_payment is None:
        first_payment = next_payment_date(interval, start)
    if trial_ends_on is not None:
        pass
    # The start itself is allowed: the first period is billed at once (self-serve sign-up
    # pays before it uses; renewals.bill_now), prorated to the month's end when monthly.
    elif not start <= first_payment <= next_payment_date(interval, start):
        raise CatalogueError("first_payment", "the first payment date must be on or after the "
                                              "start and at most one period after it")
    elif interval == Interval.MONTHLY and first_payment.day != 1 and first_payment != start:
        raise CatalogueError("first_payment", "monthly plans are paid on the first day of a "
                                              "month (CHG-5)")
    try:
        version = latest_price(plan, currency)
    except NoPrice:
        raise CatalogueError("plan", f"plan {plan.code} has no price in {currency}") from None
    return version, first_payment


def start_subscription(account, plan: Plan, *, interval: str, quantity: int, addons: int = 0,
                       start: dt.date, first_payment: dt.date | None = None,
                       negotiated: Prices | None = None, trial_days: int | None = None,
                       actor=None, via: str = "") -> Subscription:
    """ONB-1: the one way a subscription starts: a plan still offered (CAT-3) with a price
    in the account's currency (CAT-1), at its newest version (CAT-2), or at ``negotiated``
    prices private to the account (CHG-7). ``first_payment`` (an imported or negotiated
    contract's next payment date) defaults to the interval's: the first of next month
    (monthly, CHG-5) or a year after ``start`` (annual); ``start`` itself bills the first
    period at once (self-serve sign-up, ``renewals.bill_now``).

    ``trial_days`` (TRI-1; None or 0: no trial; sign-up passes the plan's ``trial_days``):
    the subscription is ``trialing`` from ``start`` to its last trial day,
    ``start + trial_days - 1``, which is its first payment date: the billing run converts
    it that day (billing/trials.py) and bills its first period from the day after.
    ``via`` names the path in the audit entry (e.g. "operator token CRM")."""
    version, first_payment = check_start(account.currency, plan, interval=interval,
                                         quantity=quantity, addons=addons, start=start,
                                         first_payment=first_payment, trial_days=trial_days)
    trial_ends_on = trial_dates(start, trial_days)[0] if trial_days else None
    with db.atomic():
        if negotiated is not None:
            version = negotiated_version(account, plan, negotiated, actor=actor)
        sub = Subscription.create(account=account, plan=plan, price_version=version,
                                  interval=interval, quantity=quantity, addon_quantity=addons,
                                  started_on=start, status=SubscriptionStatus.TRIALING
                                  if trial_ends_on else SubscriptionStatus.ACTIVE,
                                  next_payment_date=first_payment,
                                  trial_ends_on=trial_ends_on)
        AuditEvent.create(account=account.id, actor=getattr(actor, "id", actor),
                          action="subscription.started",
                          detail=f"{plan.code} {interval} x{quantity} at {version.currency} "
                                 f"price version {version.number}"
                                 + (f"; trial of {trial_days} days, last day "
                                    f"{trial_ends_on.isoformat()}" if trial_ends_on else "")
                                 + (f" via {via}" if via else ""))
    return sub


def negotiate(subscription: Subscription, prices: Prices, *, actor=None,
              note: str = "") -> PriceVersion:
    """CHG-7: a negotiated price for an existing subscription. A version private to its
    account is made (``negotiated_version``), the subscription points at it at once and
    the account is marked negotiated (its admins then change nothing in the wizard; an
    operator does it for them). Charges are billed in advance, so the new price is first
    billed at the next payment date; the period already paid is neither credited nor
    charged again (as a price change at a renewal, CHG-5; docs/decisions.md)."""
    account = Account.get_by_id(subscription.account_id)
    if subscription.status != SubscriptionStatus.ACTIVE:
        raise CatalogueError("subscription", "the subscription has ended")
    with db.atomic():
        before = subscription.price_version
        version = negotiated_version(account, subscription.plan, prices, actor=actor,
                                     note=note)
        Subscription.update(price_version=version).where(
            Subscription.id == subscription.id).execute()
        if not account.negotiated_contract:
            Account.update(negotiated_contract=True).where(Account.id == account.id).execute()
        AuditEvent.create(account=account.id, actor=getattr(actor, "id", actor),
                          action="subscription.negotiated",
                          detail=f"subscription {subscription.id} ({subscription.plan.code}): "
                                 f"price version {getattr(before, 'number', '-')} -> "
                                 f"{version.number} (negotiated), billed from "
                                 f"{subscription.next_payment_date.isoformat()}"
                                 + (f"; {note}" if note else ""))
    return version
