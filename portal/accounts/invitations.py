"""Invitations (rule ACC-6): people join an account by a mailed, signed, single-use link
that expires after 7 days; the one home of every invitation, called by the members page,
the API and (later) the operator console.

The token is signed with the app's secret key (itsdangerous, its own salt, the portal's
clock as in ``password_reset``) and carries the invitation's id and its ``sent_count``:
a resend counts up (so every link sent before dies), and a link whose invitation was
accepted or revoked is refused, each with its own page. Its age is the signature's.

No enumeration (ACC-6): nothing here looks at whether the address has a login before
the person opens the link. ``invite`` answers the same for any address that is not a
member of the account; the mail (written by the notifier after the answer is sent) is
the only place that tells "accept with your login", and it goes to that address alone.

Accepting goes through ``memberships.add_membership`` (the one way to add people); a new
person sets a name and a password (the policy of ``password_policy``), a person with a
login gives their password. Every step writes an audit entry with who did it. The
services return the events to emit (``passwords.emit_events``) once the caller has sent
its answer.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .. import clock
from ..db import write_transaction
from ..events import InvitationSent
from ..models import Account, AuditEvent, Invitation, Membership, User
from ..statuses import Role
from . import memberships, passwords, seats
from .memberships import UNUSABLE_PASSWORD, MembershipError
from .password_reset import ClockSigner

LIFETIME = dt.timedelta(days=7)
SALT = "portal.invitation"

# What a link that no longer works is: one page each (views/invitations.py).
EXPIRED, USED, REVOKED, REPLACED, INVALID = "expired", "used", "revoked", "replaced", "invalid"


class InvitationError(MembershipError):
    """A refusal (code, message, status, field), answered like a membership's."""


class LinkDead(Exception):
    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


@dataclass(frozen=True)
class Sent:
    """What ``invite`` did: ``result`` is ``invited`` (a new invitation), ``unchanged``
    (one was pending already), or ``member`` (the address is already in the account:
    ``membership`` says how); ``events`` to emit once the answer is sent."""

    result: str
    invitation: Invitation | None = None
    membership: Membership | None = None
    events: tuple = ()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT,
                                  signer=ClockSigner)


def make_token(invitation: Invitation) -> str:
    return _serializer().dumps({"i": invitation.id, "n": invitation.sent_count})


def expires_at(invitation: Invitation) -> dt.datetime:
    return invitation.last_sent_at + LIFETIME


def _serialized(account_id: int):
    """One writer per account at a time (as ``memberships``): two invitations cannot both
    take the last seat."""
    return write_transaction(serialize_on=Account.select(Account.id)
                             .where(Account.id == account_id))


def _audit(invitation: Invitation, actor, action: str, via: str | None = None) -> None:
    detail = invitation.email if not via else f"{invitation.email} ({via})"
    AuditEvent.create(account=invitation.account_id, actor=actor, action=action, detail=detail)


def _event(invitation: Invitation, link_for) -> InvitationSent:
    return InvitationSent(invitation.account_id, invitation.id,
                          link_for(make_token(invitation)), invitation.sent_count)


def pending_for(account: Account | int):
    """The account's pending invitations, newest first."""
    account_id = account.id if isinstance(account, Account) else account
    return (seats.pending_query(account_id, clock.now())
            .order_by(Invitation.last_sent_at.desc(), Invitation.id.desc()))


def invite(account: Account, email: str, link_for, *, role: str = Role.MEMBER,
           addon: bool = False, name: str = "", actor=None, via: str | None = None) -> Sent:
    """Invite ``email`` into ``account`` with ``role`` and an add-on license. A member of
    the account is not invited (``result`` ``member``); an invitation already pending
    for the address is kept (``unchanged``: resend it to mail it again). Refuses one
    more seat beyond the seat plan (``seats.SeatsFull``, CHG-1) having written nothing.
    ``link_for(token)`` makes the absolute link of the mail."""
    email = email.strip().lower()
    if role not in (Role.ADMIN, Role.MEMBER):
        raise InvitationError("invalid_role", _("A role is admin or member."), 400, "role")
    with _serialized(account.id):
        member = (Membership.select(Membership, User).join(User)
                  .where((Membership.account == account.id) & (User.email == email)).first())
        if member is not None:
            return Sent("member", membership=member)
        pending = pending_for(account).where(Invitation.email == email).first()
        if pending is not None:
            return Sent("unchanged", invitation=pending)
        seats.check_room(account, addon, clock.now())
        now = clock.now()
        invitation = Invitation.create(account=account.id, email=email, name=name or "",
                                       role=role, holds_addon_license=addon,
                                       invited_by=actor, via=via or "", created_at=now,
                                       last_sent_at=now)
        _audit(invitation, actor, "invitation.send", via)
    return Sent("invited", invitation=invitation, events=(_event(invitation, link_for),))


def _own_pending(account: Account, invitation_id: int) -> Invitation:
    """The account's invitation if still pending; another account's is unknown (404)."""
    if not Invitation.select().where((Invitation.id == invitation_id)
                                     & (Invitation.account == account.id)).exists():
        raise InvitationError("unknown_invitation", _("No such invitation in this account."),
                              404)
    found = pending_for(account).where(Invitation.id == invitation_id).first()
    if found is None:
        raise InvitationError("not_pending", _("This invitation is no longer pending."), 409)
    return found


def resend(account: Account, invitation_id: int, link_for, *, actor=None) -> Sent:
    """Mail a pending invitation again with a new link, valid 7 days from now; every link
    sent before stops working."""
    with _serialized(account.id):
        invitation = _own_pending(account, invitation_id)
        invitation.sent_count += 1
        invitation.last_sent_at = clock.now()
        invitation.save()
        _audit(invitation, actor, "invitation.resend")
    return Sent("resent", invitation=invitation, events=(_event(invitation, link_for),))


def revoke(account: Account, invitation_id: int, *, actor=None) -> Invitation:
    """Withdraw a pending invitation: its link stops working, its seat is free again."""
    with _serialized(account.id):
        invitation = _own_pending(account, invitation_id)
        invitation.revoked_at = clock.now()
        invitation.save()
        _audit(invitation, actor, "invitation.revoke")
    return invitation


def invitation_for(token: str) -> Invitation:
    """The pending invitation a live link names, else ``LinkDead(why)``: forged, expired,
    used (accepted), revoked, or replaced by a newer mail."""
    try:
        data, signed_at = _serializer().loads(token, return_timestamp=True)
    except BadSignature:
        raise LinkDead(INVALID) from None
    if not isinstance(data, dict) or not isinstance(data.get("i"), int):
        raise LinkDead(INVALID)
    invitation = (Invitation.select(Invitation, Account).join(Account)
                  .where(Invitation.id == data["i"]).first())
    if invitation is None:
        raise LinkDead(INVALID)
    if invitation.revoked_at is not None:
        raise LinkDead(REVOKED)
    if invitation.accepted_at is not None:
        raise LinkDead(USED)
    if data.get("n") != invitation.sent_count:
        raise LinkDead(REPLACED)
    if clock.now() - signed_at.replace(tzinfo=None) > LIFETIME:
        raise LinkDead(EXPIRED)
    return invitation


def login_of(invitation: Invitation) -> User | None:
    """The login the invited address has, if it can log in with a password: the invited
    person (who holds the link) accepts with it. Never shown to the inviter."""
    user = User.get_or_none(User.email == invitation.email)
    return user if user is not None and user.password_hash != UNUSABLE_PASSWORD else None


class WrongPassword(ValueError):
    """The password given to accept with an existing login is not theirs."""


def accept(invitation: Invitation, *, name: str = "", password: str, existing: bool) -> User:
    """The invited person joins: ``existing`` (they have a login) checks ``password``
    against it, else the password is set (the policy applies: ``PasswordRefused``) with
    ``name``. The membership comes from ``memberships.add_membership``; the invitation
    is marked accepted (its link dies); audit entries by the person. Raises
    ``WrongPassword``, ``PasswordRefused``, ``seats.SeatsFull`` (no seat left: the
    subscription shrank meanwhile) having written nothing."""
    account = invitation.account
    user = login_of(invitation)
    if existing != (user is not None):
        raise WrongPassword()
    if user is not None and not passwords.check(user.password_hash, password):
        raise WrongPassword()
    with _serialized(account.id):
        seats.check_room(account, bool(invitation.holds_addon_license), clock.now(),
                         exclude=invitation.id)
        change = memberships.add_membership(account, invitation.email, name=name or None,
                                            role=invitation.role,
                                            addon=bool(invitation.holds_addon_license),
                                            actor=invitation.invited_by_id,
                                            via=invitation.via or None)
        person = User.get_by_id(change.obj.user_id)
        if user is None:
            passwords.set_password(person, password)
            if name:
                person.name = name
            person.save()
        invitation.accepted_at = clock.now()
        invitation.save()
        _audit(invitation, person.id, "invitation.accept")
    return person
