"""Seats and invitations (issue #15 item 3; rules ACC-4, ACC-6, CHG-1, USE-2).

An account on a seat plan has the users (seats) and add-on licenses it subscribed to. A
seat is an active membership (ACC-4), and a pending invitation reserves one until it is
accepted, revoked or expired (docs/decisions.md "Invitations"), so two invitations
cannot both take the last seat. An invitation beyond the subscribed users is refused
with the way out of CHG-1: "upgrade to N users" in the plan-change wizard.

Seat plans bill what was bought (``pricing.billable_quantities``): unlike usage plans
(USE-3) they bill nothing for an over-allocation, so none of them lets people in beyond
the seats... except on a negotiated contract (CHG-7), whose admins cannot use the
wizard: there the invitation is accepted and the usage bar shows the seats over the
subscription in yellow (USE-2), for customer success to true up.

An account with no active seat subscription (a device or location plan alone) does not
count its people: it invites freely.
"""
from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

from ..billing import pricing
from ..models import Account, Invitation, Plan, Subscription
from ..statuses import PlanKind, SubscriptionStatus


class SeatsFull(Exception):
    """No free seat (or add-on license) for one more person: ``needed`` is the number to
    upgrade to, ``unit`` ``"users"`` or ``"licenses"``, ``subscription_id`` the seat
    subscription the wizard changes."""

    def __init__(self, unit: str, needed: int, subscription_id: int):
        super().__init__(f"{unit}: upgrade to {needed}")
        self.unit, self.needed, self.subscription_id = unit, needed, subscription_id


@dataclass(frozen=True)
class Seats:
    """The seat subscription's users and licenses, those taken, and those reserved by
    pending invitations. ``subscription_id`` is None when the account has no seat plan."""

    subscription_id: int | None
    users: int
    licenses: int
    taken: int
    licenses_taken: int
    reserved: int
    licenses_reserved: int
    over_allowed: bool

    @property
    def limited(self) -> bool:
        return self.subscription_id is not None


def pending_query(account_id: int, now):
    """The account's pending invitations (not accepted, not revoked, mailed last less
    than the link's lifetime ago)."""
    from .invitations import LIFETIME  # the lifetime belongs to the invitations

    return Invitation.select().where((Invitation.account == account_id)
                                     & Invitation.accepted_at.is_null()
                                     & Invitation.revoked_at.is_null()
                                     & (Invitation.last_sent_at > now - LIFETIME))


def seats_of(account: Account, now, exclude: int | None = None) -> Seats:
    """Where the account stands; ``exclude`` leaves one invitation out of the reserved
    ones (the one being accepted)."""
    subs = list(Subscription.select(Subscription.id, Subscription.quantity,
                                    Subscription.addon_quantity).join(Plan)
                .where((Subscription.account == account.id)
                       & (Subscription.status == SubscriptionStatus.ACTIVE)
                       & (Plan.kind == PlanKind.SEAT)).order_by(Subscription.id))
    usage = pricing.account_usage(account.id)
    pending = pending_query(account.id, now)
    if exclude is not None:
        pending = pending.where(Invitation.id != exclude)
    reserved, licenses = pending.select(
        pw.fn.COUNT(Invitation.id),
        pw.fn.COALESCE(pw.fn.SUM(pw.Case(None, ((Invitation.holds_addon_license, 1),), 0)),
                       0)).scalar(as_tuple=True)
    return Seats(subscription_id=subs[0].id if subs else None,
                 users=sum(s.quantity for s in subs),
                 licenses=sum(s.addon_quantity for s in subs),
                 taken=usage.seats, licenses_taken=usage.addon_licenses,
                 reserved=int(reserved or 0), licenses_reserved=int(licenses or 0),
                 over_allowed=bool(account.negotiated_contract))


def check_room(account: Account, addon: bool, now, exclude: int | None = None) -> Seats:
    """Refuse (``SeatsFull``) one more person (with an add-on license if ``addon``) beyond
    the seat subscription, unless the account may over-allocate; else the seats."""
    seats = seats_of(account, now, exclude)
    if not seats.limited or seats.over_allowed:
        return seats
    needed = seats.taken + seats.reserved + 1
    if needed > seats.users:
        raise SeatsFull("users", needed, seats.subscription_id)  # type: ignore[arg-type]
    needed = seats.licenses_taken + seats.licenses_reserved + 1
    if addon and needed > seats.licenses:
        raise SeatsFull("licenses", needed, seats.subscription_id)  # type: ignore[arg-type]
    return seats
