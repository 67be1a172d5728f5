"""The account admin dashboard (the gear icon): subscription and members (rules ACC-3,
ACC-4, ACC-7). Every change to a member goes through portal/accounts/memberships.py."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import memberships
from ..accounts.memberships import MembershipError
from ..models import Membership
from ..security import account_admin_required, htmx
from .invitations import members_page
from .subscription import subscription_context

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@account_admin_required
def index():
    """The dashboard's Subscription tab."""
    return render_template("admin/index.html", **subscription_context(current_user.account))


def own_member_or_404(user_id: int) -> Membership:
    """The membership of this person in the current account; a person of another
    account only is 404 (no leak)."""
    try:
        return memberships.membership_of(current_user.account_id, user_id=user_id)
    except MembershipError:
        abort(404)


@bp.route("/members")
@account_admin_required
def members():
    """Every person of the account, active first; the Invite form and the pending
    invitations (ACC-6)."""
    return members_page()


def _done_message(change) -> str | None:
    email = change.obj.email
    return {
        "activated": _("%(email)s is active again and occupies a seat.", email=email),
        "deactivated": _("%(email)s is deactivated and no longer occupies a seat.",
                         email=email),
        "promoted": _("%(email)s is now an admin of this account.", email=email),
        "demoted": _("%(email)s is now a member of this account.", email=email),
        "removed": _("%(email)s no longer belongs to this account.", email=email),
    }.get(change.result)


ACTIONS = {
    "activate": lambda who, **kw: memberships.set_active(current_user.account, None, True,
                                                          user_id=who, **kw),
    "deactivate": lambda who, **kw: memberships.set_active(current_user.account, None, False,
                                                            user_id=who, **kw),
    "promote": lambda who, **kw: memberships.set_role(current_user.account, None, "admin",
                                                       user_id=who, **kw),
    "demote": lambda who, **kw: memberships.set_role(current_user.account, None, "member",
                                                      user_id=who, **kw),
    "remove": lambda who, **kw: memberships.remove(current_user.account, None, user_id=who,
                                                   **kw),
}


@bp.route("/members/<int:user_id>/<any(activate, deactivate, promote, demote, remove):action>",
          methods=["POST"])
@account_admin_required
def change_member(user_id, action):
    """Activate, deactivate, promote, demote or remove a member (rules ACC-4, ACC-7); a
    refusal is shown beside the row. htmx gets the row back; without JavaScript the page
    comes back with the message."""
    person = own_member_or_404(user_id)
    error = None
    try:
        change = ACTIONS[action](user_id, actor=current_user.id)
    except MembershipError as refusal:
        error = refusal.message
        if not htmx:
            flash(refusal.message, "error")
    else:
        person = change.obj
        message = _done_message(change)
        if message and not htmx:
            flash(message, "success")
        if change.result == "removed":
            return ("", 200) if htmx else redirect(url_for("admin.members"))
    if htmx:
        return render_template("admin/_member_row.html", person=person, error=error)
    return redirect(url_for("admin.members"))
