"""The Manage Subscription page: usage bars and the active subscriptions tab."""
import peewee as pw
from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from .. import clock, fragments, payments
from ..billing import gross, pricing, renewals, trials
from ..i18n import use_currency
from ..models import Invoice, Plan, PriceVersion, Subscription
from ..statuses import SubscriptionStatus
from ..security import account_member_required, htmx
from ..sqlcache import Compiled, columns, model_of
from . import layout
from .change_messages import Scheduled
from .documents import STATUS_LABELS
from .subscription_history import history_context, init_routes
from .subscription_state import figures_key, row_state

bp = Blueprint("subscription", __name__, url_prefix="/subscription")
bp.record_once(layout.init_app)  # the layout's header, on every page (views/layout.py)

TABS = ("usage", "active", "history")


_SUB, _PLAN, _PRICES, _INVOICE = (columns(Subscription), columns(Plan), columns(PriceVersion),
                                   columns(Invoice))
# Read on every subscription page and tab: compiled once per process (portal/sqlcache.py).
_SUBSCRIPTIONS = Compiled(lambda account_id: Subscription.select(*_SUB, *_PLAN, *_PRICES)
                          .join(Plan).switch(Subscription)
                          .join(PriceVersion, pw.JOIN.LEFT_OUTER)
                          .where(Subscription.account == account_id)
                          .order_by(Subscription.id), 1)


def with_plan_and_prices(row) -> Subscription:
    """A subscription from a row of its columns, its plan's and (LEFT OUTER) its price
    version's, in ``columns`` order, with the two attached."""
    n_sub, n_plan = len(_SUB), len(_PLAN)
    sub = model_of(Subscription, _SUB, row[:n_sub])
    sub.plan = model_of(Plan, _PLAN, row[n_sub:n_sub + n_plan])
    if row[n_sub + n_plan] is not None:
        sub.price_version = model_of(PriceVersion, _PRICES, row[n_sub + n_plan:])
    return sub


def read_subscriptions(account_id) -> list[Subscription]:
    """The account's subscriptions with their plans and price versions, by id. Every
    subscription page reads them; every column of each is, with the usage stamp and the
    language, the key of what the page keeps (subscription_state.figures_key)."""
    return [with_plan_and_prices(row) for row in _SUBSCRIPTIONS.rows(account_id)]


def scheduled(sub, pending) -> Scheduled | None:
    """The change shown beside ``sub``: the first still to come, read with the others (and
    given ``sub``, its plan loaded, so that describing it reads nothing more)."""
    first = next(iter(pending.get(sub.id, ())), None)
    if first is not None:
        first.subscription = sub
    return Scheduled.of(first)


# The usage tab's per-location breakdown shows this many locations unless every one is
# asked for (?locations=all): 10,000 devices over 2,500 shops made a 400 kB page
# (docs/decisions.md, "The location breakdown shows the first 25 locations").
BREAKDOWN_ROWS = 25


def subscription_context(account, with_locations=False, estimates=True, subs=None,
                         all_locations=True) -> dict:
    """What the subscription page and its tabs show for one account; ``with_locations``
    adds the per-location breakdown of a location plan (LOC-1), one grouped query, of
    every location or (``all_locations`` false) the first ``BREAKDOWN_ROWS``;
    ``estimates`` the next charges (rule SUB-4), one query for the scheduled changes,
    which an over-allocation needs too (USE-3: what the next payment date bills for it).
    ``subs``: the account's subscriptions as this request read them already."""
    use_currency(account.currency)  # CAT-1: every amount of the page is in it
    usage = pricing.account_usage(account.id, stamp=account.usage_stamp)
    subs = read_subscriptions(account.id) if subs is None else subs
    over = any(s.plan.kind in pricing.USAGE_KINDS
               and pricing.billable_quantities(s, usage)[0] > s.quantity for s in subs)
    pending = renewals.pending_of(subs) if estimates or over else {}
    charges = renewals.next_charges(subs, usage, pending) if estimates or over else {}
    today = clock.today()
    # SUB-4 with taxes (TAX-3): each estimate taxed as the run will tax its invoice
    taxed = gross.of_next_charges(charges, account) if estimates else {}
    rows = [{"sub": s,
             "trial_left": trials.days_left(s, today) if trials.in_trial(s) else None,
             "items": pricing.usage_items(s, usage),
             "overage": renewals.overage(s, charges.get(s.id)),
             "unbilled": pricing.unbilled(s, usage),
             "estimate": charges.get(s.id) if estimates else None,
             "taxed": taxed.get(s.id),
             "scheduled": scheduled(s, pending)} for s in subs]
    kinds = {s.plan.kind for s in subs}
    locations = (pricing.location_breakdown(
        account.id, None if all_locations else BREAKDOWN_ROWS)
        if with_locations and "location" in kinds else [])
    return {"account": account, "usage": usage, "rows": rows, "kinds": kinds,
            "taxes_shown": any(t.taxes for t in taxed.values()),
            "locations": locations,
            "per_location": pricing.DEVICES_PER_LOCATION_SUBSCRIPTION}


def rendered_tabs(account, tab, home=True) -> tuple[Markup, dict]:
    """The tabs partial and the page's totals (with ``home``, the active tab's figures for
    the home above the tabs). The account's subscriptions are read once; what is computed
    from them is kept per worker under everything it is computed from
    (``subscription_state.figures_key``: the account row with its usage stamp, the
    subscriptions, plans and price versions as read now, the price book's state, today,
    the language and the URL prefix; portal.fragments), so it can never be stale: the
    active tab's figures with their estimates (rule SUB-4), the rendered usage tab, and
    the rendered active tab (with the role, and the session's CSRF token when it shows an
    undo form). The history tab is read and rendered fresh."""
    use_currency(account.currency)  # CAT-1, also when everything below is kept
    all_locations = request.args.get("locations") == "all"
    subs = read_subscriptions(account.id)
    cache = fragments.cache()
    key = figures_key(account, subs)

    def figures() -> dict:
        context = subscription_context(account, estimates=True, subs=subs)
        return {k: context[k] for k in ("rows", "kinds", "taxes_shown")}

    kept = cache.get_or_render(("figures", *key), figures) if home or tab != "usage" else {}

    def render():
        if tab == "active":
            context = {**subscription_context(account, estimates=False, subs=subs), **kept}
        else:
            context = subscription_context(account, with_locations=tab == "usage",
                                           estimates=tab != "usage", subs=subs,
                                           all_locations=all_locations)
        if tab == "history":
            context.update(history_context(account, current_user.is_account_admin))
        context["all_locations"] = all_locations
        return (Markup(render_template("subscription/_tabs.html", tab=tab, **context)),
                frozenset(context["kinds"]))

    if tab == "usage":
        html, kinds = cache.get_or_render(("usage-tab", *key, all_locations), render)
    elif tab == "active":
        undo = any(r["scheduled"] for r in kept["rows"])
        html, kinds = cache.get_or_render(
            ("active-tab", *key, current_user.is_account_admin,
             generate_csrf() if undo else None), render)
    else:
        html, kinds = render()
    return html, {"usage": pricing.account_usage(account.id, stamp=account.usage_stamp),
                  "kinds": kinds, "rows": kept.get("rows"), "key": key}


LATEST_INVOICES = 3


_LATEST_INVOICES = Compiled(lambda account_id: Invoice.select(*_INVOICE)
                            .where(Invoice.account == account_id)
                            .order_by(Invoice.issued_on.desc(), Invoice.id.desc())
                            .limit(LATEST_INVOICES), 1)


def home_context(account, is_admin: bool, rows=None) -> dict:
    """The account's home above the tabs (issue #17.2), read fresh on every request and
    rendered outside the cached usage tab: each plan with its next charge (rule SUB-4,
    the figure of the Active subscriptions tab) and, for admins (ACC-2: cards and invoices
    are theirs), the card that will be charged and the latest invoices. A fixed number of
    queries whatever the account's size."""
    if rows is None:  # the Active tab's rows when it was just read (the same figures)
        rows = subscription_context(account, estimates=True)["rows"]
    renewing = [r for r in rows if r["sub"].status == SubscriptionStatus.ACTIVE
                and r["estimate"] and not r["estimate"].ends_on]
    methods = payments.methods_of(account.id)
    card = next((m for m in methods if m.is_default), None)
    usable = card is not None and payments.usable(card, clock.today())
    invoices = ([model_of(Invoice, _INVOICE, row) for row in _LATEST_INVOICES.rows(account.id)]
                if is_admin else [])
    return {"home_rows": rows, "card": card if is_admin else None,
            "card_text": card and payments.describe(card),
            "card_state": card and payments.expiry_state(card, clock.today()),
            # TRI-1: the card each trial converts with (the default, usable on its last day)
            "trial_cards": {r["sub"].id: payments.describe(card) for r in rows
                            if is_admin and trials.in_trial(r["sub"]) and card is not None
                            and trials.usable(card, r["sub"].trial_ends_on)},
            # warn when a renewal will find no card to charge
            "no_usable_card": bool(renewing) and not usable,
            "latest_invoices": invoices, "labels": STATUS_LABELS, "is_admin": is_admin,
            # what it shows besides the figures: the key of the rendered home (index)
            "home_state": (row_state(card), tuple(row_state(i) for i in invoices))}


@bp.route("/", defaults={"tab": "usage"})
@bp.route("/<tab>")
@account_member_required
def index(tab):
    """The page with the chosen tab; htmx gets the tab's partial alone."""
    if tab not in TABS:
        abort(404)
    account = current_user.account
    partial = bool(htmx) and not htmx.boosted
    tabs, totals = rendered_tabs(account, tab, home=not partial)
    if partial:
        return tabs
    key = totals.pop("key")
    is_admin = current_user.is_account_admin
    home = home_context(account, is_admin, totals.pop("rows"))
    # Rendered once per state of all it shows: the figures' key, the card and the latest
    # invoices as read now, the role, and the session's CSRF token when an undo form shows.
    undo = any(r["scheduled"] for r in home["home_rows"])
    home_html = fragments.cache().get_or_render(
        ("home", *key, is_admin, home["home_state"], generate_csrf() if undo else None),
        lambda: Markup(render_template("subscription/_home.html", tab=tab, account=account,
                                       **totals, **home)))
    return render_template("subscription/index.html", tab=tab, tabs=tabs, account=account,
                           home=home_html, **totals)


init_routes(bp)
