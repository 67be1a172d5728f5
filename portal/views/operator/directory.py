"""Every account: search by name, a person's email, a device's serial or an invoice's
number; filters, sort, a page at a time (issue #18.1). One GET form that works without
JavaScript; htmx swaps the results as the operator types (hx-sync drops stale answers)."""
from __future__ import annotations

import peewee as pw
from flask import current_app, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SearchField, SelectField
from wtforms.validators import Length, Optional

from markupsafe import Markup

from ... import fragments, pager, plugins
from ...accounts import directory
from ...billing.recurring import mrr
from ...forms import Form
from ...gateways import registered_gateways
from ...models import Account, Plan
from ...security import htmx
from . import bp


class AccountSearchForm(Form):
    """The list's search box, filters and sort (GET: nothing changes, no CSRF)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=200)],
                    description=_l("Account name, a person's email, a device serial or an "
                                   "invoice number."))
    plan = SelectField(_l("Plan"), validators=[Optional()])
    interval = SelectField(_l("Interval"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    gateway = SelectField(_l("Gateway"), validators=[Optional()])
    negotiated = SelectField(_l("Contract"), validators=[Optional()])
    currency = SelectField(_l("Currency"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), validators=[Optional()])
    per_page = SelectField(_l("Rows per page"), validators=[Optional()])


def search_form() -> AccountSearchForm:
    form = AccountSearchForm(request.args)
    form.plan.choices = [("", _("Any plan"))] + [
        (str(p.id), p.name) for p in Plan.select(Plan.id, Plan.name).order_by(Plan.rank, Plan.name)]
    form.interval.choices = [("", _("Any interval")), ("monthly", _("Monthly")),
                             ("annual", _("Annual"))]
    form.status.choices = [("", _("Any status")), ("active", _("Active")),
                           ("past_due", _("Past due")), ("in_trial", _("In trial")),
                           ("ended", _("No active subscription"))]
    form.gateway.choices = [("", _("Any gateway"))] + [
        (name, name) for name in directory.gateway_names(
            registered_gateways(plugins.plugin_manager(), current_app.config))]
    form.negotiated.choices = [("", _("Any contract")), ("yes", _("Negotiated")),
                               ("no", _("Standard"))]
    form.currency.choices = [("", _("Any currency"))] + [(c, c) for c in directory.currencies()]
    form.sort.choices = [("name", _("Name")), ("mrr", _("MRR, highest first")),
                         ("next_payment", _("Next payment, soonest first")),
                         ("created", _("Created, newest first"))]
    form.per_page.choices = pager.per_page_choices()
    return form


def criteria(form: AccountSearchForm) -> directory.Criteria:
    negotiated = {"yes": True, "no": False}.get(form.negotiated.data or "")
    return directory.Criteria(q=(form.q.data or "").strip(),
                              plan=int(form.plan.data) if form.plan.data else None,
                              interval=form.interval.data or "",
                              status=form.status.data or "",
                              gateway=form.gateway.data or "",
                              negotiated=negotiated, currency=form.currency.data or "",
                              sort=form.sort.data or "name")


def form_key(form: AccountSearchForm) -> tuple:
    """Everything the search form's HTML shows: each field's submitted value, choices and
    errors (the locale is added by ``rendered``)."""
    return tuple((f.name, tuple(f.raw_data or ()),
                  tuple((str(v), str(label)) for v, label in getattr(f, "choices", None) or ()),
                  tuple(str(e) for e in f.errors)) for f in form)


ROWS_KEPT = 64  # renderings of the list kept per worker: up to ~60 kB each (100 rows)


def kept_renderings() -> fragments.FragmentCache:
    """This app's renderings of the list's form and rows: a cache of its own, small, so
    the pages of every search typed never crowd the other fragments out (nor the memory)."""
    found = current_app.extensions.get("portal.operator.accounts")
    if found is None:
        found = current_app.extensions.setdefault("portal.operator.accounts",
                                                  fragments.FragmentCache(ROWS_KEPT))
    return found


def rendered(key: tuple, template: str, **context) -> Markup:
    """``template`` rendered once per ``key`` and locale."""
    return kept_renderings().get_or_render(
        (template, str(get_locale()), *key),
        lambda: Markup(render_template(template, **context)))


@bp.route("/")
def index():
    """Every account the form selects, with its MRR, plans, status and next payment."""
    form = search_form()
    valid = form.validate()
    query = (directory.accounts(criteria(form)) if valid
             else Account.select().where(pw.SQL("1 = 0")))
    page = pager.from_request(query, pager.per_page(form.per_page.data), count=True)
    plans = directory.plans_of(a.id for a in page.items)
    rows = [{"account": a, "mrr": mrr(getattr(a, "annual", 0)), "plans": plans.get(a.id, []),
             "state": directory.state_of(a),
             "next_payment": directory.as_date(getattr(a, "next_payment", None))}
            for a in page.items]
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    # the results' HTML is kept under all it shows: the rows as read now, the page, the
    # filters its links keep (a fragment cannot outlive its data: new data, new key)
    shown = tuple((r["account"].id, r["account"].name, r["account"].currency,
                   r["account"].negotiated_contract, r["mrr"], tuple(r["plans"]), r["state"],
                   r["next_payment"]) for r in rows)
    results_html = rendered(
        (shown, page.number, page.has_prev, page.has_next, page.total, page.pages,
         tuple(sorted(filters.items()))),
        "operator/_accounts_results.html", rows=rows, page=page, filters=filters)
    status = 200 if valid else 400
    if htmx and not htmx.boosted:
        return results_html, status
    form_html = rendered(form_key(form), "operator/_accounts_form.html", form=form)
    return render_template("operator/index.html", form_html=form_html,
                           results_html=results_html), status
