"""Quantities, list prices and over-allocation (rules LOC-1, LOC-2, USE-1, USE-2, USE-3, SUB-1,
DEV-3); the estimate of a coming charge is the billing run's own (renewals.next_charge,
rule SUB-4).

The counting is done by the database in one query whatever the account's size, and
remembered under the account's usage stamp (renewed by database triggers whenever the
data changes), so the subscription page costs the same at 10 or 10,000 devices.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import peewee as pw
from cachetools import LRUCache

from ..db import db
from ..models import Account, Device, Location, Membership, Subscription
from ..statuses import USAGE_KINDS, PlanKind, SubscriptionStatus
from .money import money

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
            .where((Device.account.in_(list(account_id))
                    if isinstance(account_id, (list, tuple, set)) else
                    (Device.account == account_id))
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


def _devices_of_locations(account_id, *columns):
    """One row per active location of the account: ``columns`` and ``n``, its counting
    devices (0 when none: LOC-1 still counts the location once)."""
    per_location = (counting_devices(account_id)
                    .select(Device.location.alias("loc"), pw.fn.COUNT(Device.id).alias("n"))
                    .group_by(Device.location))
    return (Location
            .select(*columns, pw.fn.COALESCE(per_location.c.n, 0).alias("n"))
            .join(per_location, pw.JOIN.LEFT_OUTER, on=(Location.id == per_location.c.loc))
            .where((Location.account == account_id) & (Location.active == True)))  # noqa: E712


def _count_usage(account_id) -> tuple[Usage, int] | None:
    """Count an account's usage in one query, with the account's usage stamp read in the
    same statement (so the pair is consistent); None when there is no such account."""
    counts = _devices_of_locations(account_id)
    needed = pw.Case(None, ((counts.c.n <= DEVICES_PER_LOCATION_SUBSCRIPTION, 1),),
                     (counts.c.n + DEVICES_PER_LOCATION_SUBSCRIPTION - 1)
                     / DEVICES_PER_LOCATION_SUBSCRIPTION)
    places = (Location.select(pw.fn.COALESCE(pw.fn.SUM(counts.c.n), 0).alias("devices"),
                              pw.fn.COUNT(pw.SQL("*")).alias("locations"),
                              pw.fn.COALESCE(pw.fn.SUM(needed), 0).alias("location_subs"))
              .from_(counts).alias("places"))
    # ACC-4, ACC-5: a seat is an active membership of the account.
    people = (Membership.select(pw.fn.COUNT(Membership.id).alias("seats"),
                                pw.fn.COALESCE(pw.fn.SUM(
                                    pw.Case(None, ((Membership.holds_addon_license, 1),), 0)), 0)
                                .alias("addons"))
              .where((Membership.account == account_id)
                     & (Membership.active == True))  # noqa: E712
              .alias("people"))
    row = (Account
           .select(Account.usage_stamp, places.c.devices, places.c.locations,
                   places.c.location_subs, people.c.seats, people.c.addons)
           .from_(Account, places, people)
           .where(Account.id == account_id)
           .tuples().first())
    if row is None:
        return None
    stamp, devices, locations, location_subs, seats, addons = row
    return Usage(devices=int(devices), locations=int(locations),
                 location_subscriptions=int(location_subs), seats=int(seats),
                 addon_licenses=int(addons)), int(stamp)


# Usage counted per (database, account, usage stamp). Database triggers renew an account's
# stamp in the transaction that changes its devices, locations or users
# (migrations/010_usage_stamp.py), so an entry can only be found while its data is
# unchanged; entries of old stamps are never hit again and age out.
_USAGE_CACHE_SIZE = 4096
_USAGE_CACHE: LRUCache = LRUCache(maxsize=_USAGE_CACHE_SIZE)
_usage_cache_lock = threading.Lock()  # cachetools' caches are not thread-safe


def account_usage(account_id, stamp: int | None = None) -> Usage:
    """Live usage of one account (rule USE-1), counted in one query whatever its size.

    Pass ``stamp``, the account's ``usage_stamp`` as read in this request, to reuse the
    usage counted under that same stamp: then the page costs the same at 10 or 10,000
    devices. Without it, the usage is always counted afresh.
    """
    database = getattr(db.obj, "database", None)
    if stamp is not None:
        with _usage_cache_lock:
            usage = _USAGE_CACHE.get((database, account_id, stamp))
        if usage is not None:
            return usage
    counted = _count_usage(account_id)
    if counted is None:
        return Usage(devices=0, locations=0, location_subscriptions=0, seats=0,
                     addon_licenses=0)
    usage, current_stamp = counted
    with _usage_cache_lock:
        _USAGE_CACHE[(database, account_id, current_stamp)] = usage
    return usage


def accounts_usage(account_ids) -> dict[int, Usage]:
    """Live usage of many accounts in three queries (the billing run's batches): the
    same counting as ``account_usage`` (DEV-3 devices, LOC-1 per location, ACC-4 seats)."""
    ids = list(account_ids)
    per_location = dict(counting_devices(ids)
                        .select(Device.location, pw.fn.COUNT(Device.id))
                        .group_by(Device.location).tuples())
    places: dict[int, list[int]] = {i: [] for i in ids}
    active = (Location.select(Location.id, Location.account)
              .where(Location.account.in_(ids) & (Location.active == True)))  # noqa: E712
    for location_id, account_id in cast(Iterable[tuple[int, int]], active.tuples()):
        places[account_id].append(per_location.get(location_id, 0))
    people = {account_id: (int(seats), int(addons or 0)) for account_id, seats, addons in cast(
        Iterable[tuple[int, int, int | None]],  # COUNT, SUM (None when no rows are summed)
        Membership.select(Membership.account, pw.fn.COUNT(Membership.id),
                          pw.fn.SUM(pw.Case(None, ((Membership.holds_addon_license, 1),), 0)))
        .where(Membership.account.in_(ids) & (Membership.active == True))  # noqa: E712
        .group_by(Membership.account).tuples())}
    return {i: Usage(devices=sum(places[i]), locations=len(places[i]),
                     location_subscriptions=location_subscriptions_total(places[i]),
                     seats=people.get(i, (0, 0))[0], addon_licenses=people.get(i, (0, 0))[1])
            for i in ids}


@dataclass(frozen=True)
class LocationNeeds:
    """One active location: its counting devices and the location subscriptions it needs."""

    name: str
    devices: int

    @property
    def subscriptions(self) -> int:
        return location_subscriptions_for(self.devices)  # rule LOC-1


def location_breakdown(account_id, limit: int | None = None) -> list[LocationNeeds]:
    """Each active location of an account by name (the first ``limit`` of them, if given),
    with its counting devices (DEV-3) and the location subscriptions it needs (LOC-1), in
    one grouped query whatever the number of locations. Their sum over every location is
    ``Usage.location_subscriptions``, the number billed (LOC-2)."""
    query = _devices_of_locations(account_id, Location.name).order_by(Location.name,
                                                                      Location.id)
    if limit is not None:
        query = query.limit(limit)
    return [LocationNeeds(name, int(n)) for name, n in query.tuples()]


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
    if kind == PlanKind.DEVICE:
        return [UsageItem("Devices", "devices", usage.devices, subscription.quantity)]
    if kind == PlanKind.LOCATION:
        return [UsageItem("Location subscriptions", "locations",
                          usage.location_subscriptions, subscription.quantity)]
    items = [UsageItem("Seats", "users", usage.seats, subscription.quantity)]
    if subscription.addon_quantity or usage.addon_licenses:
        items.append(UsageItem("Add-on licenses", "licenses", usage.addon_licenses,
                               subscription.addon_quantity))
    return items


def billable_quantities(subscription, usage: Usage) -> tuple[int, int]:
    """Units and add-on units billed at the next payment date.

    Usage plans bill the live count on the platform (LOC-2, DEV-1); seat plans bill
    the seats and add-on licenses bought. ``subscription`` is a Subscription or the
    ``changes.Terms`` it is asked to become (a plan, a quantity, an add-on quantity).
    """
    kind = subscription.plan.kind
    if kind == PlanKind.DEVICE:
        return usage.devices, 0
    if kind == PlanKind.LOCATION:
        return usage.location_subscriptions, 0
    return subscription.quantity, subscription.addon_quantity


@dataclass(frozen=True)
class Overage:
    """Rule USE-3: units of a usage plan used above its subscribed quantity, and what the
    billing run bills for them on the next payment date, on top of the subscribed ones
    (made from that charge by ``renewals.overage``, rule SUB-4)."""

    units: int
    unit_price: Decimal
    amount: Decimal
    due_on: dt.date


def unbilled(subscription: Subscription, usage: Usage) -> int:
    """Rule DEV-1: subscribed units of an active usage plan that its next payment date no
    longer bills (fewer in use than subscribed); 0 for seat plans, which bill what was bought."""
    if (subscription.status != SubscriptionStatus.ACTIVE
            or subscription.plan.kind not in USAGE_KINDS):
        return 0
    billed, _addons = billable_quantities(subscription, usage)
    return max(subscription.quantity - billed, 0)
