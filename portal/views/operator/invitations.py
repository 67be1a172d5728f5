"""An account's first admin, invited from its page in the console (rules ACC-6, ONB-1):
the People section's "Invite an admin" form, and Resend and Revoke of its pending
invitations. Every change goes through portal/accounts/invitations.py with the operator
as the actor (its audit entries); the mail goes out once the answer is sent, as on the
members page (portal/views/invitations.py)."""
from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...accounts import invitations, seats
from ...forms import AdminInviteForm
from ...statuses import Role
from ..invitations import after_the_answer, link_for, seats_message, sent_message
from . import bp
from .accounts import account_or_404, account_page


def _back(account_id: int):
    return redirect(url_for("operator.account", account_id=account_id, _anchor="people"), 303)


@bp.route("/accounts/<int:account_id>/invitations", methods=["POST"])
def account_invite(account_id):
    """Invite an admin of the account: a field error beside the field, a seat refusal
    (CHG-1) in the section, else a flash and the account page again."""
    account = account_or_404(account_id)
    form = AdminInviteForm(prefix="invite")
    if not form.validate_on_submit():
        return account_page(account, invite_form=form, status=400)
    try:
        sent = invitations.invite(account, form.email.data, link_for, role=Role.ADMIN,
                                  actor=current_user.id)
    except seats.SeatsFull as full:
        return account_page(account, invite_form=form, invite_error=seats_message(full),
                            status=409)
    flash(sent_message(sent), "success" if sent.result == "invited" else "info")
    return after_the_answer(_back(account.id), sent.events)


def _refused(refusal: invitations.InvitationError):
    if refusal.status == 404:
        abort(404)  # another account's invitation: as if it did not exist
    flash(refusal.message, "error")


@bp.route("/accounts/<int:account_id>/invitations/<int:invitation_id>/resend",
          methods=["POST"])
def account_invitation_resend(account_id, invitation_id):
    """Mail a pending invitation again: a new link, 7 more days; the old link dies."""
    account, events = account_or_404(account_id), ()
    try:
        sent = invitations.resend(account, invitation_id, link_for, actor=current_user.id)
    except invitations.InvitationError as refusal:
        _refused(refusal)
    else:
        events = sent.events
        flash(_("The invitation to %(email)s was sent again; the earlier link no longer "
                "works.", email=sent.invitation.email), "success")
    return after_the_answer(_back(account.id), events)


@bp.route("/accounts/<int:account_id>/invitations/<int:invitation_id>/revoke",
          methods=["POST"])
def account_invitation_revoke(account_id, invitation_id):
    """Withdraw a pending invitation: its link dies and its seat is free again."""
    account = account_or_404(account_id)
    try:
        revoked = invitations.revoke(account, invitation_id, actor=current_user.id)
    except invitations.InvitationError as refusal:
        _refused(refusal)
    else:
        flash(_("The invitation to %(email)s was revoked; its link no longer works.",
                email=revoked.email), "success")
    return _back(account.id)
