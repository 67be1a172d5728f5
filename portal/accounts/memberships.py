"""People in accounts (rules ACC-2, ACC-4, ACC-5, ACC-7): the one home of every change to a
membership, called by the API, the admin members page, the plan-change wizard and the
demo alike.

A person (``User``: one login, one email) belongs to accounts through memberships; the
role, the active flag (ACC-4: an active membership occupies a seat) and the add-on
license are the membership's. Every function runs in one transaction that queues on the
account's row (PostgreSQL; SQLite's single write lock does the same), so two admins
demoting or deactivating each other at once cannot both succeed; when it refuses it
raises ``MembershipError`` having written nothing. Every change writes an audit entry
with who did it: ``actor`` is the person's user id (None through the API, where ``via``
names the token).
"""
from __future__ import annotations

from dataclasses import dataclass

import peewee as pw
from flask_babel import gettext as _

from .. import clock
from ..db import db, write_transaction
from ..models import Account, AuditEvent, Membership, User
from ..statuses import Role
from . import seats

UNUSABLE_PASSWORD = "!"  # logins made for a member log in only once given a password


class MembershipError(Exception):
    """A refusal: a machine ``code``, a sentence for people, an HTTP status, the field."""

    def __init__(self, code: str, message: str, status: int = 409, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.field = code, message, status, field


@dataclass(frozen=True)
class Change:
    """What a call did: ``result`` is created, updated, activated, deactivated, promoted,
    demoted, removed or unchanged; ``obj`` the membership (its user loaded)."""

    obj: Membership
    result: str

    @property
    def created(self) -> bool:
        return self.result == "created"


def _audit(account_id: int, actor, action: str, email: str, via: str | None) -> None:
    detail = email if not via else f"{email} ({via})"
    AuditEvent.create(account=account_id, actor=actor, action=action, detail=detail)


def _serialized(account_id: int):
    return write_transaction(serialize_on=Account.select(Account.id)
                             .where(Account.id == account_id))


def members_of(account_id: int):
    """The account's memberships with their people, active first, then by email."""
    return (Membership.select(Membership, User).join(User)
            .where(Membership.account == account_id)
            .order_by(Membership.active.desc(), User.email))


def membership_of(account_id: int, *, email: str | None = None,
                  user_id: int | None = None) -> Membership:
    """The account's membership of the person with this email (or user id), or a 404
    refusal: another account's person is not found either (no leak)."""
    query = (Membership.select(Membership, User).join(User)
             .where(Membership.account == account_id))
    query = (query.where(User.email == (email or "").strip().lower()) if user_id is None
             else query.where(User.id == user_id))
    found = query.first()
    if found is None:
        raise MembershipError("unknown_member", _("No member with this email in this account."),
                              404)
    return found


def add_membership(account: Account, email: str, *, name: str | None = None,
                   role: str = Role.MEMBER, addon: bool = False, actor=None,
                   via: str | None = None) -> Change:
    """Put the person with this email in the account (an active membership: a seat,
    ACC-4), making their login if the address has none; idempotent on the email.

    An address with a login elsewhere gets a membership here like a new one (ACC-5: no
    ``email_taken``). The name is the person's own: it is set for a new login, and
    changed only for a person who belongs to this account alone (another account's
    token must not rename someone it shares)."""
    email = email.strip().lower()
    with _serialized(account.id):
        user = User.get_or_none(User.email == email)
        if user is None:
            try:
                with db.atomic():
                    user = User.create(email=email, name=name or "",
                                       password_hash=UNUSABLE_PASSWORD)
            except pw.IntegrityError:  # made at the same moment by another request
                user = User.get(User.email == email)
        membership = Membership.get_or_none((Membership.user == user.id)
                                            & (Membership.account == account.id))
        if membership is None:
            membership = Membership.create(user=user.id, account=account.id, role=role,
                                           holds_addon_license=addon)
            membership.user = user
            _audit(account.id, actor, "member.add", email, via)
            return Change(membership, "created")
        membership.user = user
        if name and name != user.name and not (
                Membership.select().where((Membership.user == user.id)
                                          & (Membership.account != account.id)).exists()):
            user.name = name
            user.save()
            _audit(account.id, actor, "member.update", email, via)
            return Change(membership, "updated")
        return Change(membership, "unchanged")


def _other_active_admin(membership: Membership) -> bool:
    return (Membership.select().where((Membership.account == membership.account_id)
                                      & (Membership.role == Role.ADMIN)
                                      & (Membership.active == True)  # noqa: E712
                                      & (Membership.id != membership.id)).exists())


def _keep_an_admin(membership: Membership, message: str) -> None:
    """ACC-7: an account always keeps at least one active admin."""
    if (membership.role == Role.ADMIN and membership.active
            and not _other_active_admin(membership)):
        raise MembershipError("last_admin", message, 409)


def _not_yourself(membership: Membership, actor, message: str) -> None:
    if actor is not None and membership.user_id == getattr(actor, "id", actor):
        raise MembershipError("self", message, 409)


def set_active(account: Account, email: str | None, active: bool, *, user_id: int | None = None,
               actor=None, via: str | None = None) -> Change:
    """Activate or deactivate a membership (ACC-4). Nobody deactivates themself and the
    last active admin stays active (ACC-7). A deactivation ends every session of the
    person (ACC-8: a reactivation does not bring an old session back); they log in
    again to work in their other accounts."""
    with _serialized(account.id):
        membership = membership_of(account.id, email=email, user_id=user_id)
        if bool(membership.active) == active:
            return Change(membership, "unchanged")
        if not active:
            _not_yourself(membership, actor, _("You cannot deactivate yourself."))
            _keep_an_admin(membership,
                           _("The account's last active admin cannot be deactivated."))
        if active:
            _room_for(account, membership)
        membership.active = active
        membership.save()
        if not active:
            membership.user.end_sessions()
        action = "activate" if active else "deactivate"
        _audit(account.id, actor, f"member.{action}", membership.email, via)
        return Change(membership, f"{action}d")


def _room_for(account: Account, membership: Membership) -> None:
    """ACC-4, CHG-1: an activation takes a seat (and its add-on license): refused with the
    way out when the seat plan has none left (pending invitations hold theirs), unless
    the account may over-allocate (portal/accounts/seats.py)."""
    try:
        seats.check_room(account, bool(membership.holds_addon_license), clock.now())
    except seats.SeatsFull as full:
        message = (_("Every add-on license of the subscription is taken: upgrade to "
                     "%(num)s add-on licenses first, or take the license from someone.",
                     num=full.needed) if full.unit == "licenses" else
                   _("Every user of the subscription is taken: upgrade to %(num)s users "
                     "first, or deactivate someone.", num=full.needed))
        raise MembershipError("seats_full", message, 409, "active") from None


def set_role(account: Account, email: str | None, role: str, *, user_id: int | None = None,
             actor=None, via: str | None = None) -> Change:
    """Promote a member to admin or demote an admin to member (ACC-2); the last active
    admin is never demoted (ACC-7), and nobody demotes themself."""
    if role not in (Role.ADMIN, Role.MEMBER):
        raise MembershipError("invalid_role", _("A role is admin or member."), 400, "role")
    with _serialized(account.id):
        membership = membership_of(account.id, email=email, user_id=user_id)
        if membership.role == role:
            return Change(membership, "unchanged")
        if role == Role.MEMBER:
            _not_yourself(membership, actor, _("You cannot demote yourself."))
            _keep_an_admin(membership, _("The account's last active admin cannot be demoted."))
        membership.role = role
        membership.save()
        action = "promote" if role == Role.ADMIN else "demote"
        _audit(account.id, actor, f"member.{action}", membership.email, via)
        return Change(membership, f"{action}d")


def remove(account: Account, email: str | None, *, user_id: int | None = None, actor=None,
           via: str | None = None) -> Change:
    """Take a person out of the account (their login stays, with their other accounts).
    Nobody removes themself and the last active admin stays (ACC-7); the person's
    sessions end (ACC-8)."""
    with _serialized(account.id):
        membership = membership_of(account.id, email=email, user_id=user_id)
        _not_yourself(membership, actor, _("You cannot remove yourself."))
        _keep_an_admin(membership, _("The account's last active admin cannot be removed."))
        membership.delete_instance()
        membership.user.end_sessions()
        _audit(account.id, actor, "member.remove", membership.email, via)
        return Change(membership, "removed")
