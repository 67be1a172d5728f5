"""The Manage Subscription page: usage bars and the active subscriptions tab."""
from flask import Blueprint, abort, render_template
from flask_login import current_user

from ..billing import pricing
from ..db import Prepared
from ..models import Plan, Subscription
from ..security import account_member_required, htmx

bp = Blueprint("subscription", __name__, url_prefix="/subscription")

TABS = ("usage", "active")

# Every subscription page runs it: its SQL is compiled once (portal.db.Prepared).
_subscriptions_of = Prepared(lambda account_id: Subscription.select(Subscription, Plan)
                             .join(Plan).where(Subscription.account == account_id)
                             .order_by(Subscription.id))


def subscription_context(account) -> dict:
    """What the subscription page and its tabs show for one account."""
    usage = pricing.account_usage(account.id, stamp=account.usage_stamp)
    subs = _subscriptions_of(account.id)
    rows = [{"sub": s,
             "items": pricing.usage_items(s, usage),
             "estimate": pricing.estimate_next_charge(s, usage)} for s in subs]
    kinds = {s.plan.kind for s in subs}
    return {"account": account, "usage": usage, "rows": rows, "kinds": kinds}


@bp.route("/", defaults={"tab": "usage"})
@bp.route("/<tab>")
@account_member_required
def index(tab):
    """The page with the chosen tab; htmx gets the tab's partial alone."""
    if tab not in TABS:
        abort(404)
    context = subscription_context(current_user.account)
    if htmx and not htmx.boosted:
        return render_template("subscription/_tabs.html", tab=tab, **context)
    return render_template("subscription/index.html", tab=tab, **context)
