"""Quantities, list prices and estimates (rules LOC-1, LOC-2, USE-1, USE-2, SUB-1, SUB-2, DEV-3).

The counting is done by the database in a fixed number of queries whatever the
account's size, so the subscription page costs the same at 10 or 10,000 devices.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import peewee as pw

from ..models import Device, Location, Subscription, User
from .money import ZERO, money

DEVICES_PER_LOCATION_SUBSCRIPTION = 4


def location_subscriptions_for(devices: int) -> int:
    """Rule LOC-1: subscriptions one location needs: max(1, ceil(devices / 4))."""
    if devices < 0:
        raise ValueError("a device count cannot be negative")
    per = DEVICES_PER_LOCATION_SUBSCRIPTION
    return max(1, -(-devices // per))


def location_subscriptions_total(device_counts) -> int:
    """Rule LOC-2: the account's total is the sum over all its locations, never per location."""
    return sum(location_subscriptions_for(n) for n in device_counts)


def counting_devices(account_id):
    """Active devices that count (rule DEV-3): an RMA replacement is not counted on top
    of the device it replaces while that one is still active."""
    original = Device.alias("original")
    return (Device
            .select()
            .join(original, pw.JOIN.LEFT_OUTER, on=(Device.rma_replacement_of == original.id))
            .switch(Device)
            .join(Location, on=(Device.location == Location.id))
            .where((Device.account == account_id)
                   & (Device.active == True)  # noqa: E712
                   & (Location.active == True)  # noqa: E712
                   & (original.id.is_null() | (original.active == False))))  # noqa: E712


@dataclass(frozen=True)
class Usage:
    """What an account uses right now (rule USE-1)."""

    devices: int
    locations: int
    location_subscriptions: int
    seats: int
    addon_licenses: int


def account_usage(account_id) -> Usage:
    """Live usage of one account in three queries, whatever its size."""
    per_location = (counting_devices(account_id)
                    .select(Device.location.alias("loc"), pw.fn.COUNT(Device.id).alias("n"))
                    .group_by(Device.location))
    # One row per active location, with its counting devices (0 when none: LOC-1 still 1).
    counts = (Location
              .select(pw.fn.COALESCE(per_location.c.n, 0).alias("n"))
              .join(per_location, pw.JOIN.LEFT_OUTER, on=(Location.id == per_location.c.loc))
              .where((Location.account == account_id) & (Location.active == True)))  # noqa: E712
    needed = pw.Case(None, ((counts.c.n <= DEVICES_PER_LOCATION_SUBSCRIPTION, 1),),
                     (counts.c.n + DEVICES_PER_LOCATION_SUBSCRIPTION - 1)
                     / DEVICES_PER_LOCATION_SUBSCRIPTION)
    devices, locations, location_subs = (
        Location.select(pw.fn.COALESCE(pw.fn.SUM(counts.c.n), 0),
                        pw.fn.COUNT(pw.SQL("*")),
                        pw.fn.COALESCE(pw.fn.SUM(needed), 0))
        .from_(counts).tuples().get())
    seats, addons = (
        User.select(pw.fn.COUNT(User.id),
                    pw.fn.COALESCE(pw.fn.SUM(pw.Case(None, ((User.holds_addon_license, 1),), 0)),
                                   0))
        .where((User.account == account_id) & (User.active == True))  # noqa: E712
        .tuples().get())
    return Usage(devices=int(devices), locations=int(locations),
                 location_subscriptions=int(location_subs), seats=int(seats),
                 addon_licenses=int(addons))


@dataclass(frozen=True)
class UsageItem:
    """One usage bar (rule USE-2): green used, grey available, yellow over-allocation."""

    label: str
    unit: str
    used: int
    subscribed: int

    @property
    def state(self) -> str:
        if self.used > self.subscribed:
            return "over"
        return "full" if self.used == self.subscribed else "ok"

    @property
    def in_plan(self) -> int:
        return min(self.used, self.subscribed)

    @property
    def available(self) -> int:
        return max(self.subscribed - self.used, 0)

    @property
    def over(self) -> int:
        return max(self.used - self.subscribed, 0)

    def widths(self) -> tuple[Decimal, Decimal, Decimal]:
        """Percent widths of the green, grey and yellow parts of the bar."""
        scale = max(self.used, self.subscribed) or 1
        pct = [money(Decimal(part * 100) / scale)
               for part in (self.in_plan, self.available, self.over)]
        return pct[0], pct[1], pct[2]


def usage_items(subscription: Subscription, usage: Usage) -> list[UsageItem]:
    """The bars of one subscription, by what its plan counts."""
    kind = subscription.plan.kind
    if kind == "device":
        return [UsageItem("Devices", "devices", usage.devices, subscription.quantity)]
    if kind == "location":
        return [UsageItem("Location subscriptions", "locations",
                          usage.location_subscriptions, subscription.quantity)]
    items = [UsageItem("Seats", "users", usage.seats, subscription.quantity)]
    if subscription.addon_quantity or usage.addon_licenses:
        items.append(UsageItem("Add-on licenses", "licenses", usage.addon_licenses,
                               subscription.addon_quantity))
    return items


def billable_quantities(subscription: Subscription, usage: Usage) -> tuple[int, int]:
    """Units and add-on units billed at the next payment date.

    Usage plans bill the live count on the platform (LOC-2, DEV-1); seat plans bill
    the seats and add-on licenses bought.
    """
    kind = subscription.plan.kind
    if kind == "device":
        return usage.devices, 0
    if kind == "location":
        return usage.location_subscriptions, 0
    return subscription.quantity, subscription.addon_quantity


@dataclass(frozen=True)
class Estimate:
    """The estimated next charge of a subscription (rule SUB-2), apart from list prices."""

    unit_price: Decimal
    quantity: int
    addon_price: Decimal
    addon_quantity: int
    total: Decimal
    due_on: dt.date


def estimate_next_charge(subscription: Subscription, usage: Usage) -> Estimate:
    """List price x billable quantity (+ add-ons) at the next payment date."""
    plan, interval = subscription.plan, subscription.interval
    quantity, addons = billable_quantities(subscription, usage)
    unit, addon = plan.unit_price(interval), plan.addon_price(interval)
    total = money(unit * quantity + addon * addons) if subscription.status == "active" else ZERO
    return Estimate(unit, quantity, addon, addons, total, subscription.next_payment_date)
