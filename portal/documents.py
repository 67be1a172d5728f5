"""PDF documents (quotes, invoices, receipts, credit notes) through the renderer hook.

The HTML comes from ``portal/templates/documents/<kind>.html`` with the deployment's
branding; the first plugin that answers ``portal_render_document`` turns it into PDF
bytes (WeasyPrint by default). Amounts are passed in as stored Decimals (rule DOC-3):
templates only format them.
"""
from __future__ import annotations

from pathlib import Path

from flask import current_app, render_template

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
            "logo_url": Path(logo).resolve().as_uri() if logo else ""}


def render_pdf(kind: str, **context) -> bytes:
    """Render the document ``kind`` with ``context`` to PDF bytes."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    app = current_app
    context = {"brand": branding(app.config), "kind": kind, **context}
    context.setdefault("base_url", app.root_path)
    html = render_template(f"documents/{kind}.html", **context)
    pdf = plugin_manager(app).hook.portal_render_document(kind=kind, html=html,
                                                          context=context, config=app.config)
    if not pdf:
        raise RuntimeError("no document renderer answered; enable render_weasyprint")
    return pdf
