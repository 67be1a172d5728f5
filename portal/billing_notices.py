"""Billing events for people: receipt ready, payment failed, invoice issued (issue 6).

The billing engine (portal/billing, no Flask) returns ``Notice`` objects; this module
turns each into a ``Notification`` in the account's language and hands it to
``notify`` after the engine's transaction has committed. Each carries a key, so a
billing run that is started again never sends the same event twice.
"""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from .billing.collection import write_transaction
from .billing.invoices import amount_due
from .i18n import account_locale
from .models import Account, Charge, Invoice, Receipt, User
from .notifications import Notification, notify, render_mail
from .statuses import Role


def _payment_failed(invoice, notice, locale, found):
    attempt = (Charge.select().where(Charge.invoice == invoice.id)
               .order_by(Charge.attempt.desc()).first())
    amount = attempt.amount if attempt else amount_due(invoice)
    with force_locale(locale):
        subject = _("Payment failed for invoice %(number)s", number=invoice.number)
        message = (_("There is no card on file: add one, then press \"Pay now\".")
                   if notice.code == "no_card" else notice.message)
    context = {"invoice": invoice, "amount": amount, "message": message,
               "retry_on": notice.next_attempt_on}
    key = f"payment_failed:{invoice.number}:{invoice.dunning_step}"
    return "billing_payment_failed", subject, context, key


def _receipt_ready(invoice, notice, locale, found):
    receipt = found["receipts"].get(invoice.id) or Receipt.get(Receipt.invoice == invoice.id)
    with force_locale(locale):
        subject = _("Receipt %(number)s: thank you for your payment", number=receipt.number)
    return ("billing_receipt_ready", subject, {"invoice": invoice, "receipt": receipt},
            f"receipt_ready:{receipt.number}")


def _invoice_issued(invoice, notice, locale, found):
    with force_locale(locale):
        subject = _("Invoice %(number)s", number=invoice.number)
    return ("billing_invoice_issued", subject, {"invoice": invoice},
            f"invoice_issued:{invoice.number}")


BUILDERS = {"payment_failed": _payment_failed, "receipt_ready": _receipt_ready,
            "invoice_issued": _invoice_issued}


def send(notices) -> None:
    """Notify the account's admins of each billing notice (call after the commit); the
    invoices, accounts and receipts involved are read in three queries."""
    if not notices:
        return
    ids = list({n.invoice_id for n in notices})
    invoices = {i.id: i for i in Invoice.select().where(Invoice.id.in_(ids))}
    accounts = {a.id: a for a in Account.select().where(
        Account.id.in_(list({i.account_id for i in invoices.values()})))}
    found = {"receipts": {r.invoice_id: r for r in Receipt.select().where(
        Receipt.invoice.in_([n.invoice_id for n in notices if n.kind == "receipt_ready"]))}}
    admins: dict[int, list[str]] = {}
    for account_id, email in (User.select(User.account, User.email)
                              .where(User.account.in_(list(accounts)) & (User.role == Role.ADMIN)
                                     & (User.active == True))  # noqa: E712
                              .order_by(User.email).tuples()):
        admins.setdefault(account_id, []).append(email)
    mails = []
    for notice in notices:
        invoice = invoices[notice.invoice_id]
        account = accounts[invoice.account_id]
        locale = account_locale(account)
        template, subject, context, key = BUILDERS[notice.kind](invoice, notice, locale, found)
        text, html = render_mail(template, locale, **context)
        mails.append(Notification(kind=notice.kind, account_id=account.id,
                                  recipients=tuple(admins.get(account.id, ())),
                                  subject=subject, text=text, html=html, key=key,
                                  data={"invoice": invoice.number, "status": invoice.status}))
    with write_transaction():  # one commit records them all; deliveries start after it
        for mail in mails:
            notify(mail)
