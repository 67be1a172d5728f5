"""The business in figures and charts (issue #18.3-4): MRR and ARR, MRR month by month
and its movements (MET-1, MET-2), subscriptions, collection and usage, per currency.
Every figure is computed by portal/metrics from the billing records; this page formats."""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import format_currency, format_date, format_decimal, get_locale
from flask_babel import gettext as _

from markupsafe import Markup

from ... import clock
from ...metrics import collection, kept, mrr, trials, usage
from .. import charts
from . import bp


def movement_names() -> dict[str, str]:
    return {"new": _("New"), "expansion": _("Expansion"), "reactivation": _("Reactivation"),
            "contraction": _("Contraction"), "churn": _("Churn")}


def unit_names() -> dict[str, str]:
    return {"devices": _("Devices"), "locations": _("Locations"), "seats": _("Seats")}


def _month(day) -> str:
    return format_date(day, "MMM")


def currency_view(cur, report, figures, used, trial_figures) -> dict:
    """One currency's figures and charts."""
    def fmt(v):
        return format_decimal(v, "#,##0.#")

    points = report.points[cur]
    months = report.months[cur]
    names = movement_names()
    mrr_chart = charts.lines(_("MRR, month by month (%(currency)s)", currency=cur),
                             [_month(d) for d, _v in points[1:]],
                             [("s-mrr", _("MRR"), [v for _d, v in points[1:]])], fmt)
    order = ("new", "expansion", "reactivation", "contraction", "churn")
    moves_chart = charts.stacked_bars(
        _("MRR movements (%(currency)s)", currency=cur), [_month(m.month) for m in months],
        [(f"s-{k}", names[k], [m.moves[k] for m in months]) for k in order], fmt)
    history = used.get(cur, [])
    units = unit_names()
    usage_chart = charts.lines(_("Usage, month by month"), [_month(d) for d, _v in history],
                               [(f"s-{u}", units[u], [v[u] for _d, v in history])
                                for u in usage.UNITS], fmt) if history else None
    def money(v):
        return format_currency(v, cur)

    return {"currency": cur, "mrr": report.today[cur], "arr": report.arr(cur),
            "figures": figures.get(cur, collection.Figures()), "months": months,
            "trials": trial_figures.get(cur, trials.TrialFigures()),
            "points": points, "history": history, "order": order,
            "move_names": [names[k] for k in order],
            "mrr_rows": [(format_date(d, "MMMM y"), money(v)) for d, v in points[1:]],
            "move_rows": [(format_date(m.month, "MMMM y"), money(m.start),
                           *(money(m.moves[k]) for k in order), money(m.end)) for m in months],
            "usage_rows": [(format_date(d), *(v[u] for u in usage.UNITS)) for d, v in history],
            "mrr_chart": mrr_chart, "moves_chart": moves_chart, "usage_chart": usage_chart}


EXTENSION = "portal.metrics.kept"


def kept_figures() -> kept.Kept:
    """This app's kept figures (one per worker process and app)."""
    found = current_app.extensions.get(EXTENSION)
    if found is None:
        found = current_app.extensions.setdefault(
            EXTENSION, kept.Kept(ttl=current_app.config.get("METRICS_KEPT_SECONDS", kept.TTL)))
    return found


def compute(today) -> tuple:
    """Every figure of the page, from the billing records (portal/metrics)."""
    report = mrr.report(today)
    figures = collection.figures(today)
    used = usage.totals_by_currency(today)
    trial_figures = trials.figures(today)
    currencies = sorted(set(report.today) | set(figures) | set(used) | set(trial_figures))
    for cur in currencies:
        report.today.setdefault(cur, mrr.ZERO)
        report.points.setdefault(cur, [(d, mrr.ZERO) for d in mrr.month_ends(today)])
        report.months.setdefault(cur, [])
    return currencies, report, figures, used, trial_figures


@bp.route("/metrics")
def metrics():
    """MRR, its movements, subscriptions, collection and usage per currency: computed
    afresh whenever a record they are read from changes (portal/metrics/kept.py), and
    rendered once per computation and locale, kept with it."""
    today = clock.today()
    stamp = kept.stamp(today)
    computed_at, (currencies, report, figures, used, trial_figures, rendered) = (
        kept_figures().get_or_compute(stamp, lambda: (*compute(today), {})))
    # rendered once per locale beside the figures it shows, and dropped with them
    locale = str(get_locale())
    content = rendered.get(locale)
    if content is None:
        content = rendered[locale] = Markup(render_template(
            "operator/_metrics_content.html", today=today, computed_at=computed_at,
            sections=[currency_view(c, report, figures, used, trial_figures)
                      for c in currencies],
            names=movement_names(), units=unit_names(), window=collection.WINDOW_DAYS,
            format_currency=format_currency, format_decimal=format_decimal, month=_month))
    return render_template("operator/metrics.html", content=content)
