"""The Manage Subscription page: usage bars and the active subscriptions tab."""
from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from .. import fragments
from ..billing import pricing, renewals
from ..models import Plan, Subscription
from ..security import account_member_required, htmx

bp = Blueprint("subscription", __name__, url_prefix="/subscription")

TABS = ("usage", "active")


def _subscriptions_query(account_id):
    """The account's subscriptions with their plans. Every subscription page reads them;
    as plain tuples (every column of both) they are, with the usage and the language,
    the key of the rendered usage tab."""
    return (Subscription.select(Subscription, Plan).join(Plan)
            .where(Subscription.account == account_id).order_by(Subscription.id))


def subscription_context(account, with_locations=False, estimates=True) -> dict:
    """What the subscription page and its tabs show for one account; ``with_locations``
    adds the per-location breakdown of a location plan (LOC-1), one grouped query;
    ``estimates`` the next charges (rule SUB-4), one query for the scheduled changes,
    which an over-allocation needs too (USE-3: what the next payment date bills for it)."""
    usage = pricing.account_usage(account.id, stamp=account.usage_stamp)
    subs = list(_subscriptions_query(account.id))
    over = any(s.plan.kind in pricing.USAGE_KINDS
               and pricing.billable_quantities(s, usage)[0] > s.quantity for s in subs)
    charges = renewals.next_charges(subs, usage) if estimates or over else {}
    rows = [{"sub": s,
             "items": pricing.usage_items(s, usage),
             "overage": renewals.overage(s, charges.get(s.id)),
             "unbilled": pricing.unbilled(s, usage),
             "estimate": charges.get(s.id) if estimates else None} for s in subs]
    kinds = {s.plan.kind for s in subs}
    locations = (pricing.location_breakdown(account.id)
                 if with_locations and "location" in kinds else [])
    return {"account": account, "usage": usage, "rows": rows, "kinds": kinds,
            "locations": locations,
            "per_location": pricing.DEVICES_PER_LOCATION_SUBSCRIPTION}


def rendered_tabs(account, tab) -> tuple[Markup, dict]:
    """The tabs partial and the page's totals. The usage tab is rendered once per worker
    for each state of what it shows (portal.fragments): the account's subscriptions and
    plans as read now, its usage and usage stamp, the language and the URL prefix. The
    active tab (with its scheduled changes and their forms) is rendered every time."""
    def render():
        context = subscription_context(account, with_locations=tab == "usage",
                                       estimates=tab != "usage")
        return (Markup(render_template("subscription/_tabs.html", tab=tab, **context)),
                frozenset(context["kinds"]))

    if tab != "usage":
        html, kinds = render()
    else:
        key = ("usage-tab", account.id,
               # the stamp: the per-location breakdown follows any change of a location
               # or device, even one that leaves the totals as they were (a moved device),
               # and the over-allocation sentence any scheduled change (migration 020)
               account.usage_stamp,
               pricing.account_usage(account.id, stamp=account.usage_stamp),
               tuple(_subscriptions_query(account.id).tuples()), str(get_locale()),
               request.script_root)
        html, kinds = fragments.cache().get_or_render(key, render)
    return html, {"usage": pricing.account_usage(account.id, stamp=account.usage_stamp),
                  "kinds": kinds}


@bp.route("/", defaults={"tab": "usage"})
@bp.route("/<tab>")
@account_member_required
def index(tab):
    """The page with the chosen tab; htmx gets the tab's partial alone."""
    if tab not in TABS:
        abort(404)
    account = current_user.account
    tabs, totals = rendered_tabs(account, tab)
    if htmx and not htmx.boosted:
        return tabs
    return render_template("subscription/index.html", tab=tab, tabs=tabs, account=account,
                           **totals)
