"""The operator's Billing details page of an account (rule BIL-1): the same form and
service as the account admin's (views/billing_details.py)."""
from flask import Blueprint, abort, url_for

from ..models import Account
from ..security import operator_required
from .billing_details import edit

bp = Blueprint("operator_billing", __name__, url_prefix="/operator")


@bp.route("/accounts/<int:account_id>/billing-details", methods=["GET", "POST"])
@operator_required
def edit_details(account_id):
    """An operator edits an account's billing details (BIL-1)."""
    account = Account.get_or_none(Account.id == account_id) or abort(404)
    return edit(account, "billing_details/operator.html",
                url_for("operator_billing.edit_details", account_id=account.id))
