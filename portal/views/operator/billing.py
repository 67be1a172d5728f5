"""An account's billing details (rule BIL-1): the same form and service as the account
admin's Billing details tab (views/billing_details.py)."""
from flask import url_for

from ..billing_details import edit
from . import bp
from .accounts import account_or_404


@bp.route("/accounts/<int:account_id>/billing-details", methods=["GET", "POST"])
def billing_details(account_id):
    """An operator edits an account's billing details (BIL-1)."""
    account = account_or_404(account_id)
    return edit(account, "billing_details/operator.html",
                url_for("operator.billing_details", account_id=account.id))
