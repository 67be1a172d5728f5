"""PDF documents (quotes, invoices, receipts, credit notes) through the renderer hook.

The HTML comes from ``portal/templates/documents/<kind>.html`` with the deployment's
branding, its stylesheet apart (``documents/_style.css``, one for every kind; a reseller may
add ``documents/<kind>.css``); the first plugin that answers ``portal_render_document``
turns them into PDF bytes (WeasyPrint by default). Amounts are passed in as stored
Decimals (rule DOC-3): templates only format them.
"""
from __future__ import annotations

from pathlib import Path

from flask import current_app, g, render_template
from flask_babel import force_locale

from .i18n import account_locale
from .branding import accent_colour
from .plugins import plugin_manager

KINDS = ("quote", "invoice", "receipt", "credit_note")


def branding(config) -> dict:
    """Name, support address and the like, from configuration."""
    address = (config.get("BILLING_ADDRESS") or "").replace("\\n", "\n")
    logo = config.get("LOGO_PATH") or ""
    return {"product_name": config.get("PRODUCT_NAME", "Portal"),
            "support_email": config.get("SUPPORT_EMAIL", ""),
            "billing_address": address,
            "address_lines": [line.strip() for line in address.splitlines() if line.strip()],
            "logo_url": Path(logo).resolve().as_uri() if logo else "",
            "accent": accent_colour(config)}


def document_account(context: dict):
    """The account a document is addressed to: its language is the document's."""
    from .models import Account

    if context.get("account") is not None:
        return context["account"]
    doc = context.get("invoice") or context.get("quote")
    account_id = getattr(doc, "account_id", None)
    return Account.get_or_none(Account.id == account_id) if account_id else None


def document_facts(kind: str, context: dict, config) -> dict:
    """Seller, buyer, currency, net, tax lines and gross of a document, as it was issued
    (BIL-1, TAX-3): read from the document's snapshot, never from today's account.

    A document issued before snapshots existed names its buyer from its stored name and
    address, and the seller from today's settings."""
    from .billing.money import ZERO, money
    from .billing.parties import currency_of, party_of
    from .billing.taxes import Party, from_json, seller_party, total_tax

    doc = context.get("quote") if kind == "quote" else context.get("invoice")
    if doc is None:  # a reseller's own template rendered without a document
        return {"seller": seller_party(config), "buyer": Party(),
                "currency": document_currency(context) or "USD",
                "taxes": [], "net": ZERO, "tax": ZERO, "gross": ZERO, "mentions": [],
                "french": False, "late_rate": ""}
    seller = party_of(doc.seller)
    if not seller.legal_name:
        seller = seller_party(config)
    buyer = party_of(doc.buyer)
    if not buyer.legal_name:
        buyer = Party(legal_name=doc.account_name, address_lines=tuple(
            x.strip() for x in (doc.billing_address or "").splitlines() if x.strip()))
    if kind == "credit_note":
        note = context["note"]
        taxes, gross = from_json(note.taxes), note.amount
        net = money(gross - total_tax(taxes))
    elif kind == "quote":
        taxes, net = from_json(doc.taxes), doc.due_now
        gross = money(net + total_tax(taxes))
    else:
        taxes, gross = from_json(doc.taxes), doc.total
        net = money(gross - total_tax(taxes))
    mentions = list(dict.fromkeys(t.mention for t in taxes if t.mention))
    return {"seller": seller, "buyer": buyer, "currency": currency_of(doc), "taxes": taxes,
            "net": net, "tax": money(gross - net) if taxes else ZERO, "gross": gross,
            "mentions": mentions, "french": seller.country == "FR",
            "late_rate": config.get("LATE_PAYMENT_RATE") or ""}


def document_currency(context: dict) -> str | None:
    """The currency of a document's amounts (CAT-1, DOC-3): its invoice's, recorded at
    issue, else its account's."""
    invoice = context.get("invoice")
    if invoice is None and context.get("receipt") is not None:
        invoice = context["receipt"].invoice
    if invoice is None and context.get("credit_note") is not None:
        invoice = context["credit_note"].invoice
    if invoice is not None:
        return invoice.currency
    account = document_account(context)
    return getattr(account, "currency", None)


def render_pdf(kind: str, *, locale: str | None = None, **context) -> bytes:
    """Render the document ``kind`` with ``context`` to PDF bytes, in ``locale`` or else
    in the language of the account it is addressed to (``Account.language``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    app = current_app
    context = {"brand": branding(app.config), "kind": kind, **context}
    context["facts"] = document_facts(kind, context, app.config)
    context.setdefault("base_url", app.root_path)
    before = g.get("portal_currency")
    g.portal_currency = document_currency(context) or before
    with force_locale(locale or account_locale(document_account(context))):
        html = render_template(f"documents/{kind}.html", **context)
        # Its stylesheet apart: a renderer may parse it once for every document it styles.
        stylesheet = render_template([f"documents/{kind}.css", "documents/_style.css"],
                                     **context)
    g.portal_currency = before
    pdf = plugin_manager(app).hook.portal_render_document(
        kind=kind, html=html, stylesheet=stylesheet, context=context, config=app.config)
    if not pdf:
        raise RuntimeError("no document renderer answered; enable render_weasyprint")
    return pdf
