"""Invoices, receipts and credit notes: lists, PDF downloads at once (DOC-1), pay now,
and the operators' console (filters, a period's zip, credit notes, manual payments)."""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import peewee as pw
from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from ..forms import Form
from wtforms import DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from .. import clock, pager, payments
from ..billing import invoices as billing
from ..billing import renewals
from ..db import write_transaction
from ..documents import render_pdf
from ..i18n import money_filter, select_locale
from ..models import Account, Charge, CreditNote, Invoice, InvoiceLine, Receipt
from ..plugins import plugin_manager
from ..security import account_admin_required, htmx, operator_required
from ..statuses import AccountStatus, InvoiceStatus

bp = Blueprint("documents", __name__)

PAGE_SIZE = 100
MAX_ZIP_DOCUMENTS = 500
STATUS_LABELS = {"open": _l("Open"), "paid": _l("Paid"), "dunning": _l("Payment failed"),
                 "held": _l("Held for an operator"), "credited": _l("Credited")}


# --- documents as PDF -------------------------------------------------------------------

def pdf_context(kind: str, doc) -> dict:
    """What a document's template needs, all read from the stored rows (DOC-3)."""
    if kind == "invoice":  # only invoices print their lines; render_pdf reads the account
        context = {"invoice": doc,
                   "lines": list(InvoiceLine.select().where(InvoiceLine.invoice == doc.id)
                                 .order_by(InvoiceLine.position))}
    else:  # the invoice and its account (the document's language) in one query
        invoice = (Invoice.select(Invoice, Account).join(Account)
                   .where(Invoice.id == doc.invoice_id).get())
        context = {"invoice": invoice, "account": invoice.account}
    if kind == "receipt":
        context["receipt"] = doc
    elif kind == "credit_note":
        context["note"] = doc
        context["invoice_paid"] = invoice.status == InvoiceStatus.PAID
    return context


def document_pdf(kind: str, doc, locale: str | None = None) -> bytes:
    """The PDF in ``locale`` (a person downloading it: theirs), else the account's."""
    return render_pdf(kind, locale=locale, **pdf_context(kind, doc))


MODELS_BY_KIND = {"invoice": Invoice, "receipt": Receipt, "credit_note": CreditNote}


def account_of(kind: str, doc) -> int:
    if kind == "invoice":
        return doc.account_id
    return Invoice.get_by_id(doc.invoice_id).account_id


@bp.route("/documents/<any(invoice, receipt, credit_note):kind>/<int:doc_id>.pdf")
@login_required
def pdf(kind, doc_id):
    """One document as a PDF, at once: an account admin's own, or any for operators."""
    doc = MODELS_BY_KIND[kind].get_or_none(MODELS_BY_KIND[kind].id == doc_id) or abort(404)
    if not current_user.is_operator:
        if account_of(kind, doc) != current_user.account_id:
            abort(404)  # another account's document: as if it did not exist
        if not current_user.is_account_admin:
            abort(403)  # ACC-2: members do not see invoices
    # The reader's language (picker, else Accept-Language): labels, money, dates and the
    # phrases stored at issue (|reworded) alike. Mail follows the account's instead.
    response = Response(document_pdf(kind, doc, select_locale()), mimetype="application/pdf")
    disposition = "inline" if request.args.get("inline") else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{doc.number}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- account admins ---------------------------------------------------------------------

def documents_of(invoice_query):
    """Invoices with their receipts and credit notes (three queries, whatever the count)."""
    rows = list(invoice_query)
    ids = [i.id for i in rows]
    receipts = {r.invoice_id: r for r in Receipt.select().where(Receipt.invoice.in_(ids))}
    notes: dict[int, list] = {}
    for note in CreditNote.select().where(CreditNote.invoice.in_(ids)).order_by(CreditNote.id):
        notes.setdefault(note.invoice_id, []).append(note)
    return [{"invoice": i, "receipt": receipts.get(i.id), "notes": notes.get(i.id, [])}
            for i in rows]


@bp.route("/admin/invoices")
@account_admin_required
def index():
    """The account's invoices, receipts and credit notes, each downloadable as PDF (DOC-1)."""
    account = Account.get_by_id(current_user.account_id)
    rows = documents_of(Invoice.select().where(Invoice.account == account.id)
                        .order_by(Invoice.issued_on.desc(), Invoice.id.desc()))
    unpaid = [r["invoice"] for r in rows if r["invoice"].status in (InvoiceStatus.DUNNING, InvoiceStatus.HELD)]
    # what Pay now charges and to which card, before the button (issue #17)
    today = clock.today()
    card = next((m for m in payments.methods_of(account.id)
                 if m.is_default and payments.usable(m, today)), None)
    return render_template("documents_pages/index.html", account=account, rows=rows,
                           unpaid=unpaid, labels=STATUS_LABELS,
                           due_total=billing.total_due(unpaid) if unpaid else None,
                           pay_card=card and payments.describe(card),
                           add_card_url=url_for("cards.new", next=url_for("documents.index")))


@bp.route("/admin/invoices/pay", methods=["POST"])
@account_admin_required
def pay_now():
    """Charge the account's unpaid invoices now with its default card ("Pay now")."""
    today = clock.today()
    if (not any(payments.usable(m, today) for m in payments.methods_of(current_user.account_id))
            and Invoice.select().where(
                (Invoice.account == current_user.account_id)
                & Invoice.status.in_((InvoiceStatus.DUNNING, InvoiceStatus.HELD))).exists()):
        # say why instead of "0 invoices paid", and lead to the card form and back here
        flash(_("No usable card is on file, so nothing was charged. Add a card: you come "
                "back to your invoices to pay them."), "error")
        return redirect(url_for("cards.new", next=url_for("documents.index")), 303)
    finals = renewals.pay_now(current_user.account_id, day=clock.today(),
                              pm=plugin_manager(), config=current_app.config)
    paid = sum(1 for f in finals if f.outcome == InvoiceStatus.PAID)
    failed = sum(1 for f in finals if f.outcome in (InvoiceStatus.DUNNING, InvoiceStatus.HELD))
    if not finals:
        flash(_("Nothing to pay now: no unpaid invoice, or a payment is already being "
                "checked with the gateway."), "info")
    elif failed:
        flash(ngettext("%(num)s invoice paid", "%(num)s invoices paid", paid) + "; "
              + ngettext("%(num)s could not be collected.", "%(num)s could not be collected.",
                         failed)
              + " " + _("Check the card, or add another one, and try again."), "error")
    else:
        flash(ngettext("Thank you: %(num)s invoice paid. Your receipt is below.",
                       "Thank you: %(num)s invoices paid. Your receipts are below.", paid),
              "success")
    return redirect(url_for("documents.index"))


@bp.app_context_processor
def billing_banner():
    """``past_due`` and the cards page for the past-due banner in base.html."""
    if not getattr(current_user, "is_authenticated", False) or not current_user.account_id:
        return {"past_due": False}
    account = current_user.account  # loaded with the user: no query per page
    return {"past_due": account.status == AccountStatus.PAST_DUE, "cards_url": url_for("cards.index")}


# --- operators ----------------------------------------------------------------------------

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


@bp.route("/operator/documents")
@operator_required
def operator_index():
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


@bp.route("/operator/documents.zip")
@operator_required
def operator_zip():
    """A period's documents (invoices, receipts, credit notes dated in it) as one zip."""
    form = filter_form()
    if not form.validate() or not form.period.data:
        flash(_("Choose a period (YYYY-MM) to download its documents."), "error")
        return redirect(url_for("documents.operator_index", **request.args))
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
        return redirect(url_for("documents.operator_index", **request.args))
    if len(docs) > MAX_ZIP_DOCUMENTS:
        flash(_("%(n)s documents: more than %(max)s in one zip. Narrow it with the account "
                "or status filter.", n=len(docs), max=MAX_ZIP_DOCUMENTS), "error")
        return redirect(url_for("documents.operator_index", **request.args))
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
    amount = DecimalField(_l("Amount to credit (USD)"), places=2,
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
    context = pdf_context("invoice", invoice)
    context.update(
        row=documents_of(Invoice.select().where(Invoice.id == invoice.id))[0],
        charges=list(Charge.select().where(Charge.invoice == invoice.id).order_by(Charge.attempt)),
        due=billing.amount_due(invoice), labels=STATUS_LABELS,
        credit_form=credit_form or CreditNoteForm(), paid_form=paid_form or MarkPaidForm())
    # htmx swaps only 2xx answers: a boosted form gets its errors with 200.
    return render_template("documents_pages/invoice.html", **context), 200 if htmx else status


@bp.route("/operator/invoices/<int:invoice_id>")
@operator_required
def operator_invoice(invoice_id):
    """One invoice: its lines, charge attempts (keys and outcomes), receipt, credit notes."""
    return invoice_page(Invoice.get_or_none(Invoice.id == invoice_id) or abort(404))


@bp.route("/operator/invoices/<int:invoice_id>/credit-notes", methods=["POST"])
@operator_required
def credit_note(invoice_id):
    """Issue a credit note: the only way to correct an issued invoice."""
    invoice = Invoice.get_or_none(Invoice.id == invoice_id) or abort(404)
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
            return redirect(url_for("documents.operator_invoice", invoice_id=invoice.id))
    return invoice_page(Invoice.get_by_id(invoice.id), credit_form=form, status=400)


@bp.route("/operator/invoices/<int:invoice_id>/mark-paid", methods=["POST"])
@operator_required
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
            return redirect(url_for("documents.operator_invoice", invoice_id=invoice.id))
    return invoice_page(Invoice.get_by_id(invoice.id), paid_form=form, status=400)
