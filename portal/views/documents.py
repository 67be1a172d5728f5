"""Invoices, receipts and credit notes: an account admin's list, PDF downloads at once
(DOC-1), pay now. The operators' pages (every account's documents, a period's zip, credit
notes, manual payments) are in views/operator/documents.py."""
from __future__ import annotations

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import clock, payments
from ..billing import invoices as billing
from ..billing import renewals
from ..documents import render_pdf
from ..i18n import select_locale
from ..models import Account, CreditNote, Invoice, InvoiceLine, Receipt
from ..plugins import plugin_manager
from ..security import account_admin_required
from ..statuses import AccountStatus, InvoiceStatus

bp = Blueprint("documents", __name__)

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
    unpaid = [r["invoice"] for r in rows
              if r["invoice"].status in (InvoiceStatus.DUNNING, InvoiceStatus.HELD)]
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
    return {"past_due": account.status == AccountStatus.PAST_DUE,
            "cards_url": url_for("cards.index")}
