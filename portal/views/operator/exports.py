"""A period's invoices, credit notes and payments as CSV, for accounting (issue #18.6).

The page holds one form (the period: first and last day, inclusive); each download is a
GET of the same fields, streamed row by row (portal/metrics/exports.py) so that a year of
a large deployment never sits in memory. A refused period answers the page with the
error beside its field, and nothing is downloaded."""
from __future__ import annotations

import datetime as dt

from flask import Response, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField, MonthField
from wtforms.validators import InputRequired, ValidationError

from ... import clock
from ...billing.dates import add_months
from ...db import write_transaction
from ...forms import Form
from ...metrics import exports as csv_exports
from ...models import AuditEvent
from . import bp

KINDS = {"invoices": csv_exports.invoice_lines, "credit-notes": csv_exports.credit_notes,
         "payments": csv_exports.payments}
MAX_DAYS = 366 * 5


class PeriodForm(Form):
    """The period of an export (GET: nothing changes, no CSRF)."""

    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[InputRequired(_l("Give the first day."))])
    end = DateField(_l("To (inclusive)"), validators=[InputRequired(_l("Give the last day."))])

    def validate_end(self, field):
        if self.start.data and field.data and field.data < self.start.data:
            raise ValidationError(_l("The last day comes after the first."))
        if self.start.data and field.data and (field.data - self.start.data).days > MAX_DAYS:
            raise ValidationError(_l("Export at most five years at once."))


def period_form() -> tuple[PeriodForm, bool]:
    """The form from the query string and whether it is valid; last month when the query
    names no period."""
    if "start" not in request.args and "end" not in request.args:
        first = add_months(clock.today().replace(day=1), -1)
        return PeriodForm(data={"start": first,
                                "end": clock.today().replace(day=1) - dt.timedelta(days=1)}), True
    form = PeriodForm(request.args)
    return form, form.validate()


class MonthForm(Form):
    """The month of the tax report (GET: nothing changes, no CSRF)."""

    class Meta:
        csrf = False

    month = MonthField(_l("Month"), validators=[InputRequired(_l("Give a month (YYYY-MM)."))])


def month_form() -> tuple[MonthForm, bool]:
    """The tax report's month from the query string; last month when it names none."""
    if "month" not in request.args:
        return MonthForm(data={"month": add_months(clock.today().replace(day=1), -1)}), True
    form = MonthForm(request.args)
    return form, form.validate()


def exports_page(status=200, **forms):
    form, tax_form = forms.get("form"), forms.get("tax_form")
    context = {"form": period_form()[0] if form is None else form,
               "tax_form": month_form()[0] if tax_form is None else tax_form, "kinds": KINDS}
    return render_template("operator/exports.html", **context), status


@bp.route("/exports")
def exports():
    """The export page: the period, and a download per kind of document; the month of the
    tax report."""
    form, valid = period_form()
    tax_form, tax_valid = month_form()
    return exports_page(200 if valid and tax_valid else 400, form=form, tax_form=tax_form)


@bp.route("/exports/tax-collected.csv")
def tax_report():
    """Tax collected in a month (last month by default) per country and rate, as CSV,
    streamed (TAX-3): invoices issued minus credit notes issued."""
    form, valid = month_form()
    if not valid:
        return exports_page(400, tax_form=form)
    start = form.month.data.replace(day=1)
    end = add_months(start, 1) - dt.timedelta(days=1)
    with write_transaction():
        AuditEvent.create(actor=current_user.id, action="export.accounting",
                          detail=f"tax collected {start:%Y-%m-%d}..{end:%Y-%m-%d}")
    name = f"tax-collected-{start:%Y%m}.csv"
    return Response(stream_with_context(csv_exports.tax_collected(start, end)),
                    mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/exports/<any(invoices, 'credit-notes', payments):what>.csv")
def export_csv(what):
    """One kind of document of the period (last month by default) as CSV, streamed."""
    form, valid = period_form()
    if not valid:
        return exports_page(400, form=form)
    start, end = form.start.data, form.end.data
    with write_transaction():
        AuditEvent.create(actor=current_user.id, action="export.accounting",
                          detail=f"{what} issued {start:%Y-%m-%d}..{end:%Y-%m-%d}")
    rows = KINDS[what](start, end)
    name = f"{what}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    return Response(stream_with_context(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
