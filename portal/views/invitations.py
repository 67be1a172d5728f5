"""Invitations (rule ACC-6): the members page's Invite form, Resend and Revoke, and the
public page where the invited person accepts. Every change goes through
portal/accounts/invitations.py; the mail is handed to the notifier once the answer has
been sent, so no answer (content, status or time) tells whether the address has a login.
"""
from __future__ import annotations

import logging

from flask import (Blueprint, abort, copy_current_request_context, current_app, flash, redirect,
                   render_template, request, session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_user
from markupsafe import Markup, escape

from .. import clock
from ..accounts import invitations, memberships, passwords, seats
from ..accounts.login_limit import keys_for, login_limit
from ..accounts.password_policy import PasswordRefused
from ..db import db
from ..forms import AcceptNewForm, AcceptWithLoginForm, InviteForm
from ..security import ACCOUNT_KEY, account_admin_required

bp = Blueprint("invitations", __name__)
log = logging.getLogger("portal.invitations")


def link_for(token: str) -> str:
    """The absolute link of the accept page for ``token`` (in a request)."""
    return url_for("invitations.accept", token=token, _external=True)


def after_the_answer(response, events):
    """Hand ``events`` to the listeners once ``response`` has been sent (the notifier
    looks the address up then, to word the mail)."""
    if not events:
        return response

    @copy_current_request_context
    def run():
        try:
            db.connect(reuse_if_open=True)
            passwords.emit_events(events)
        except Exception:  # noqa: BLE001 - the answer is gone; the log is the record
            log.exception("the invitation mail could not be handed over")

    response.call_on_close(run)
    return response


def seats_message(full: seats.SeatsFull) -> str:
    """CHG-1's way out, in words: upgrade to N users (or licenses) first."""
    if full.unit == "licenses":
        return _("Every add-on license of the subscription is taken or invited: upgrade to "
                 "%(num)s add-on licenses first, or invite without a license.", num=full.needed)
    return _("Every user of the subscription is taken or invited: upgrade to %(num)s users "
             "first, or deactivate someone or revoke an invitation.", num=full.needed)


def upgrade_url(full: seats.SeatsFull) -> str:
    """The plan-change wizard (CHG-1) with the number it needs filled in."""
    field = "addon_quantity" if full.unit == "licenses" else "quantity"
    return url_for("changes.start", sid=full.subscription_id, **{field: full.needed})


def members_page(form=None, status=200, seat_error=None):
    account = current_user.account
    return render_template(
        "admin/members.html", people=memberships.members_of(account.id),
        form=form or InviteForm(formdata=None), seat_error=seat_error,
        pending=list(invitations.pending_for(account)),
        seats=seats.seats_of(account, clock.now()),
        expires_at=invitations.expires_at), status


def sent_message(sent) -> str:
    """The flash after an invitation (the operator console's too)."""
    if sent.result == "member":
        return _("%(email)s is already a member of this account.",
                 email=sent.membership.email)
    if sent.result == "unchanged":
        return _("An invitation to %(email)s is already pending: resend it below if it "
                 "was lost.", email=sent.invitation.email)
    # ACC-6: the same words whether or not the address has a login anywhere.
    return _("An invitation was sent to %(email)s. It is valid for 7 days.",
             email=sent.invitation.email)


@bp.route("/admin/members/invite", methods=["POST"])
@account_admin_required
def invite():
    """Invite a person (ACC-6): field errors beside the fields, a seat refusal with the
    way to upgrade (CHG-1), else a flash and the members page again."""
    form = InviteForm()
    if not form.validate_on_submit():
        return members_page(form, 400)
    try:
        sent = invitations.invite(current_user.account, form.email.data, link_for,
                                  role=form.role.data, addon=form.addon_license.data,
                                  actor=current_user.id)
    except seats.SeatsFull as full:
        return members_page(form, 409, seat_error=Markup(
            '{} <a href="{}" data-testid="upgrade-link">{}</a>').format(
                seats_message(full), upgrade_url(full), _("Change the subscription")))
    flash(sent_message(sent), "success" if sent.result == "invited" else "info")
    return after_the_answer(redirect(url_for("admin.members"), 303), sent.events)


@bp.route("/admin/members/invitations/<int:invitation_id>/resend", methods=["POST"])
@account_admin_required
def resend(invitation_id):
    """Mail a pending invitation again: a new link, 7 more days; the old link dies."""
    events = ()
    try:
        sent = invitations.resend(current_user.account, invitation_id, link_for,
                                  actor=current_user.id)
    except invitations.InvitationError as refusal:
        if refusal.status == 404:
            abort(404)  # another account's invitation: as if it did not exist
        flash(refusal.message, "error")
    else:
        events = sent.events
        flash(_("The invitation to %(email)s was sent again; the earlier link no longer "
                "works.", email=sent.invitation.email), "success")
    return after_the_answer(redirect(url_for("admin.members"), 303), events)


@bp.route("/admin/members/invitations/<int:invitation_id>/revoke", methods=["POST"])
@account_admin_required
def revoke(invitation_id):
    """Withdraw a pending invitation: its link dies and its seat is free again."""
    try:
        revoked = invitations.revoke(current_user.account, invitation_id, actor=current_user.id)
    except invitations.InvitationError as refusal:
        if refusal.status == 404:
            abort(404)  # another account's invitation: as if it did not exist
        flash(refusal.message, "error")
    else:
        flash(_("The invitation to %(email)s was revoked; its link no longer works.",
                email=revoked.email), "success")
    return redirect(url_for("admin.members"), 303)


def _dead(why: str):
    return render_template("invitations/dead.html", why=why), 410


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept(token: str):
    """The invited person accepts (ACC-6): a new person sets a name and a password; a
    person with a login gives their password. Either way they land logged in on the
    account's subscription page. A dead link says why (expired, used, revoked, replaced)."""
    try:
        invitation = invitations.invitation_for(token)
    except invitations.LinkDead as dead:
        return _dead(dead.why)
    login = invitations.login_of(invitation)
    form = AcceptWithLoginForm() if login else AcceptNewForm()
    if not form.is_submitted():
        form.process(data={"name": invitation.name} if not login else None)
    error, status, keys = None, 200, keys_for(request.remote_addr, invitation.email)
    if form.validate_on_submit():
        wait = login_limit().wait(keys) if login else 0
        try:
            if wait:
                raise invitations.WrongPassword()
            person = invitations.accept(
                invitation, name="" if login else form.name.data,
                password=form.password.data if login else form.new_password.data,
                existing=login is not None)
        except invitations.WrongPassword:
            login_limit().failed(keys)
            form.password.errors.append(_("This is not the password of %(email)s.",
                                          email=invitation.email))
        except PasswordRefused:  # the form's policy check ran: only a race gets here
            form.new_password.errors.append(_("Choose another password."))
        except seats.SeatsFull:
            error, status = _("%(account)s has no free seat now: ask its admin to add one, "
                              "then open this link again.",
                              account=escape(invitation.account.name)), 409
        else:
            session.clear()  # a new session (ACC-8)
            login_user(person)
            session[ACCOUNT_KEY] = invitation.account_id
            flash(_("Welcome to %(account)s.", account=invitation.account.name), "success")
            return redirect(url_for("subscription.index"), 303)
    if form.errors and status == 200:
        status = 400
    return current_app.make_response((render_template(
        "invitations/accept.html", invitation=invitation, form=form, login=login,
        error=error), status))
