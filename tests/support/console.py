"""Accounts made for the operator console's tests (issue #18): one call writes an account
with the rows its search keys, filters and sections read, and returns it."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from portal.models import (Account, ApiToken, ChangeOrder, Delivery, Device, Invoice, Location,
                           Membership, PaymentMethod, Plan, PriceVersion, Subscription, User)

ROW = re.compile(r'<tr data-account="(\d+)"')


def listed(client, url: str) -> list[int]:
    """The account ids of one page of the accounts list, in their order."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return [int(x) for x in ROW.findall(response.get_data(as_text=True))]


def make_account(name: str, *, plan: str = "devices", interval: str = "monthly",
                 quantity: int = 1, addons: int = 0, email: str | None = None,
                 serial: str | None = None, invoice: str | None = None,
                 gateway: str | None = None, status: str = "active",
                 sub_status: str = "active", negotiated: bool = False,
                 next_payment: dt.date = dt.date(2026, 12, 1),
                 created: dt.datetime | None = None, subscription: bool = True,
                 currency: str = "USD") -> Account:
    acct = Account.create(name=name, negotiated_contract=negotiated, status=status,
                          currency=currency, **({"created_at": created} if created else {}))
    if subscription:
        the_plan = Plan.get(Plan.code == plan)
        version = (PriceVersion.select().where((PriceVersion.plan == the_plan)
                                               & (PriceVersion.currency == currency))
                   .order_by(PriceVersion.number.desc()).get())
        Subscription.create(account=acct, plan=the_plan, price_version=version, interval=interval,
                            quantity=quantity, addon_quantity=addons,
                            started_on=dt.date(2026, 1, 1), next_payment_date=next_payment,
                            status=sub_status)
    if email:
        person(acct, email, role="admin")
    if serial:
        loc = Location.create(account=acct, name=f"{name} HQ")
        Device.create(account=acct, location=loc, serial=serial)
    if invoice:
        Invoice.create(number=invoice, account=acct, issued_on=dt.date(2026, 11, 1),
                       due_on=dt.date(2026, 11, 15), total=Decimal("10.00"), account_name=name)
    if gateway:
        PaymentMethod.create(account=acct, gateway=gateway, token=f"tok-{name}",
                             brand="Visa", last4="4242", exp_month=12, exp_year=2030,
                             is_default=True)
    return acct


def person(acct: Account, email: str, role: str = "member") -> User:
    """A person with a membership of ``acct`` (ACC-5)."""
    user = User.create(email=email, name="", password_hash="x")
    Membership.create(user=user, account=acct, role=role)
    return user


def mark_account(acct: Account, marker: str) -> None:
    """Rows of every section of the account page, each carrying ``marker``."""
    person(acct, f"{marker}@people.example")
    loc = Location.create(account=acct, name=f"{marker} site")
    Device.create(account=acct, location=loc, serial=f"{marker}-serial")
    Invoice.create(number=f"{marker}-INV", account=acct, issued_on=dt.date(2026, 11, 1),
                   due_on=dt.date(2026, 11, 15), total=Decimal("10.00"), account_name=acct.name)
    PaymentMethod.create(account=acct, gateway="fake", token=f"{marker}-secret-token",
                         brand="Visa", last4=marker[-4:], exp_month=1, exp_year=2031)
    ApiToken.create(account=acct, name=f"{marker} token", prefix=marker[:8],
                    token_hash=f"{marker}-hash")
    Delivery.create(account=acct, kind=f"{marker}_event", channel="outbox", payload="{}")


def place_order(acct: Account, key: str) -> ChangeOrder:
    """A placed upgrade from per-device to Team seats, as the wizard's order records it."""
    return ChangeOrder.create(
        account=acct, subscription=Subscription.get(Subscription.account == acct),
        review_key=key, change="upgrade", plan=Plan.get(Plan.code == "team"),
        interval="monthly", quantity=2, old_plan=Plan.get(Plan.code == "devices"),
        old_interval="monthly", old_quantity=1, recurring_before=Decimal("15"),
        recurring_after=Decimal("50"), effective_on=dt.date(2026, 12, 1), status="placed")
