"""The account admin dashboard (the gear icon): subscription and members (rule ACC-3)."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import inventory
from ..inventory import InventoryError
from ..models import User
from ..security import account_admin_required, htmx
from .subscription import subscription_context

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@account_admin_required
def index():
    """The dashboard's Subscription tab."""
    return render_template("admin/index.html", **subscription_context(current_user.account))


def own_member_or_404(user_id: int) -> User:
    """A user of the current account; another account's user is 404 (no leak)."""
    user = User.get_or_none((User.id == user_id) & (User.account == current_user.account_id))
    if user is None:
        abort(404)
    return user


@bp.route("/members")
@account_admin_required
def members():
    """Every person of the account, active first."""
    people = (User.select().where(User.account == current_user.account_id)
              .order_by(User.active.desc(), User.email))
    return render_template("admin/members.html", people=people)


@bp.route("/members/<int:user_id>/<any(activate, deactivate):action>", methods=["POST"])
@account_admin_required
def set_member_active(user_id, action):
    """Activate or deactivate a member (rule ACC-4); htmx gets the row back."""
    person = own_member_or_404(user_id)
    try:
        person = inventory.set_member_active(current_user.account, person.email,
                                             action == "activate", actor=current_user.id).obj
    except InventoryError as refusal:
        flash(refusal.message, "error")
    else:
        if person.active:
            flash(_("%(email)s is active again and occupies a seat.", email=person.email),
                  "success")
        else:
            flash(_("%(email)s is deactivated and no longer occupies a seat.",
                    email=person.email), "success")
    if htmx:
        return render_template("admin/_member_row.html", person=person)
    return redirect(url_for("admin.members"))
