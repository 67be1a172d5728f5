"""Every account's documents (filters, a period's zip) and one invoice with the operator's
corrections: credit notes and payments received outside the gateway (PAY-3)."""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import peewee as pw
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ... import clock, pager
from ...billing import invoices as billing
from ...db import write_transaction
from ...documents import document_facts
from ...forms import Form
from ...i18n import money_filter, select_locale, use_currency
from ...models import Account, Charge, CreditNote, Invoice, Receipt
from ...security import htmx
from ..documents import STATUS_LABELS, document_pdf, documents_of, pdf_context
from . import bp

PAGE_SIZE = 100
MAX_ZIP_DOCUMENTS = 500


class FilterForm(Form):
    """The operators' filters (GET: no CSRF needed, nothing changes)."""

    class Meta:
        csrf = False

    account = SelectField(_l("Account"), coerce=str, validators=[Optional()])
    period = StringField(_l("Period (YYYY-MM)"),
                         validators=[Optional(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$",
                                                        message=_l("Use YYYY-MM, e.g. 2026-12."))])
    status = SelectField(_l("Status"), coerce=str, validators=[Optional()])


def filter_form() -> FilterForm:
    form = FilterForm(request.args)
    form.account.choices = [("", _("All accounts"))] + [
        (str(a.id), a.name)
        for a in Account.select(Account.id, Account.name).order_by(Account.name)]
    form.status.choices = [("", _("Any status"))] + [(k, str(v)) for k, v in STATUS_LABELS.items()]
    return form


def month_bounds(period: str) -> tuple[dt.date, dt.date]:
    start = dt.date.fromisoformat(f"{period}-01")
    return start, (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def filtered_invoices(form: FilterForm):
    query = Invoice.select()
    if form.account.data:
        query = query.where(Invoice.account == int(form.account.data))
    if form.period.data:
        start, end = month_bounds(form.period.data)
        query = query.where((Invoice.issued_on >= start) & (Invoice.issued_on < end))
    if form.status.data:
        query = query.where(Invoice.status == form.status.data)
    return query


@bp.route("/documents")
def documents():
    """Every account's documents, filtered by account, period and status; htmx swaps the
    table as the filters change, and the same form works without JavaScript."""
    form = filter_form()
    valid = form.validate()
    query = filtered_invoices(form) if valid else Invoice.select().where(pw.SQL("1 = 0"))
    page = pager.from_request(query.order_by(Invoice.issued_on.desc(), Invoice.id.desc()),
                              PAGE_SIZE, count=True)
    context = {"form": form, "rows": documents_of(page.items), "total": page.total,
               "page": page, "labels": STATUS_LABELS,
               "filters": {k: v for k, v in request.args.items() if k != "page" and v}}
    template = ("documents_pages/_operator_table.html" if htmx and not htmx.boosted
                else "documents_pages/operator.html")
    return render_template(template, **context), 200 if valid or htmx else 400


@bp.route("/documents.zip")
def documents_zip():
    """A period's documents (invoices, receipts, credit notes dated in it) as one zip."""
    form = filter_form()
    if not form.validate() or not form.period.data:
        flash(_("Choose a period (YYYY-MM) to download its documents."), "error")
        return redirect(url_for(".documents", **request.args))
    start, end = month_bounds(form.period.data)
    account = int(form.account.data) if form.account.data else None
    docs = [("invoices", "invoice", i) for i in filtered_invoices(form).order_by(Invoice.id)]
    receipts = (Receipt.select().join(Invoice)
                .where((Receipt.paid_on >= start) & (Receipt.paid_on < end)))
    notes = (CreditNote.select().join(Invoice)
             .where((CreditNote.issued_on >= start) & (CreditNote.issued_on < end)))
    if account:
        receipts = receipts.where(Invoice.account == account)
        notes = notes.where(Invoice.account == account)
    if form.status.data:
        receipts = receipts.where(Invoice.status == form.status.data)
        notes = notes.where(Invoice.status == form.status.data)
    docs += [("receipts", "receipt", r) for r in receipts.order_by(Receipt.id)]
    docs += [("credit_notes", "credit_note", n) for n in notes.order_by(CreditNote.id)]
    if not docs:
        flash(_("No document in %(period)s with these filters.", period=form.period.data),
              "info")
        return redirect(url_for(".documents", **request.args))
    if len(docs) > MAX_ZIP_DOCUMENTS:
        flash(_("%(n)s documents: more than %(max)s in one zip. Narrow it with the account "
                "or status filter.", n=len(docs), max=MAX_ZIP_DOCUMENTS), "error")
        return redirect(url_for(".documents", **request.args))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder, kind, doc in docs:
            archive.writestr(f"{folder}/{doc.number}.pdf",
                             document_pdf(kind, doc, select_locale()))
    name = f"documents-{form.period.data}" + (f"-account{account}" if account else "")
    return Response(buffer.getvalue(), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}.zip"',
        "Cache-Control": "private, no-store"})  # every account's documents: never cached


def refusal(exc: billing.BillingError) -> str:
    """A billing refusal in the reader's language."""
    messages = {
        "amount_not_positive": _("The amount must be more than zero."),
        "reason_missing": _("Say why the invoice is corrected."),
        "over_credit": _("At most %(room)s can still be credited on %(number)s.",
                         room=money_filter(exc.params.get("room", 0)),
                         number=exc.params.get("number")),
        "charge_in_flight": _("A card charge of this invoice has an unknown outcome: the next "
                              "billing run looks it up at the gateway first."),
        "not_unpaid": _("%(number)s has nothing left to collect.",
                        number=exc.params.get("number")),
        "reference_missing": _("Give the payment's reference."),
    }
    return messages.get(exc.code, str(exc))


def refuse(exc: billing.BillingError, field) -> None:
    """Show a refusal next to its field, or as a message when it is about the invoice."""
    if exc.code in ("not_unpaid", "charge_in_flight"):
        flash(refusal(exc), "error")
    else:
        field.errors = [*field.errors, refusal(exc)]


class CreditNoteForm(Form):
    amount = DecimalField(_l("Amount to credit (in the invoice's currency)"), places=2,
                          validators=[InputRequired(message=_l("Give an amount, e.g. 12.50.")),
                                      # Decimal bounds: Decimal("0.01") < 0.01 (a float
                                      # just above 1 cent), so a float refused one cent.
                                      NumberRange(min=Decimal("0.01"), max=Decimal(10_000_000),
                                                  message=_l("More than zero, please."))])
    reason = TextAreaField(_l("Reason (printed on the credit note)"),
                           validators=[DataRequired(message=_l("Say why.")), Length(max=500)])


class MarkPaidForm(Form):
    reference = StringField(_l("Payment reference (e.g. the bank transfer's)"),
                            validators=[DataRequired(message=_l("Give the reference.")),
                                        Length(max=200)])


def invoice_page(invoice, credit_form=None, paid_form=None, status=200):
    """The operator's view of one invoice, with its forms (and their errors)."""
    use_currency(invoice.currency)  # CAT-1: every amount of the page is in it
    context = pdf_context("invoice", invoice)
    # TAX-3: net, tax per rate and gross as the PDF prints them, from the stored invoice
    context["facts"] = document_facts("invoice", context, current_app.config)
    context.update(
        row=documents_of(Invoice.select().where(Invoice.id == invoice.id))[0],
        charges=list(Charge.select().where(Charge.invoice == invoice.id).order_by(Charge.attempt)),
        due=billing.amount_due(invoice), labels=STATUS_LABELS,
        credit_form=credit_form or CreditNoteForm(), paid_form=paid_form or MarkPaidForm())
    # htmx swaps only 2xx answers: a boosted form gets its errors with 200.
    return render_template("documents_pages/invoice.html", **context), 200 if htmx else status


@bp.route("/invoices/<int:invoice_id>")
def invoice(invoice_id):
    """One invoice: its lines, charge attempts (keys and outcomes), receipt, credit notes."""
    return invoice_page(Invoice.get_or_none(Invoice.id == invoice_id) or abort(404))


@bp.route("/invoices/<int:invoice_id>/credit-notes", methods=["POST"])
def credit_note(invoice_id):
    """Issue a credit note: the only way to correct an issued invoice."""
    invoice = Invoice.get_or_none(Invoice.id == invoice_id) or abort(404)
    use_currency(invoice.currency)  # a refusal names amounts in it
    form = CreditNoteForm()
    if form.validate_on_submit():
        try:
            with write_transaction():
                note = billing.issue_credit_note(invoice, form.amount.data, form.reason.data,
                                                 day=clock.today(), user=current_user)
        except billing.BillingError as exc:
            refuse(exc, form.reason if exc.code == "reason_missing" else form.amount)
        else:
            flash(_("Credit note %(number)s issued.", number=note.number), "success")
            return redirect(url_for(".invoice", invoice_id=invoice.id))
    return invoice_page(Invoice.get_by_id(invoice.id), credit_form=form, status=400)


@bp.route("/invoices/<int:invoice_id>/mark-paid", methods=["POST"])
def mark_paid(invoice_id):
    """Record a payment received outside the gateway (bank transfer, PAY-3)."""
    invoice = Invoice.get_or_none(Invoice.id == invoice_id) or abort(404)
    form = MarkPaidForm()
    if form.validate_on_submit():
        try:
            with write_transaction():
                receipt = billing.mark_paid(invoice, reference=form.reference.data,
                                            day=clock.today(), user=current_user)
        except billing.BillingError as exc:
            refuse(exc, form.reference)
        else:
            flash(_("%(invoice)s is paid; receipt %(receipt)s issued.", invoice=invoice.number,
                    receipt=receipt.number), "success")
            return redirect(url_for(".invoice", invoice_id=invoice.id))
    return invoice_page(Invoice.get_by_id(invoice.id), paid_form=form, status=400)
