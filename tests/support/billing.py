"""Helpers for the billing tests: cards, due subscriptions, runs, PDFs read back."""
from __future__ import annotations

import datetime as dt
import io
from contextlib import contextmanager

from pypdf import PdfReader

from portal.billing import renewals
from portal.models import (Account, Device, Invoice, InvoiceLine, Location, Membership,
                           PaymentMethod, Plan, Subscription, User)
from portal.plugins import plugin_manager
from support.ledger_gateway import GatewayPlugin, LedgerGateway, LedgerPlugin  # noqa: F401 (for the tests)

DEC1 = dt.date(2026, 12, 1)  # the demo's monthly subscriptions are due on this day
# EU VAT on, sold from France (TAX-1, TAX-2), as of the demo's day: an ``app_config`` mark
FRENCH_SELLER = dict(TAXES="eu_vat", TODAY=dt.date(2026, 11, 23),
                     SELLER_LEGAL_NAME="Comptoir Portail SAS",
                     SELLER_ADDRESS="12 avenue de l'Opéra", SELLER_POSTAL_CODE="75001",
                     SELLER_CITY="Paris", SELLER_COUNTRY="FR", SELLER_TAX_ID="FR40303265045",
                     SELLER_REGISTRATIONS=("SIREN=303265045", "SIRET=30326504500020"))


def account(name) -> Account:
    return Account.get(Account.name == name)


def add_card(acct, gateway="fake", token=None, brand="Visa", last4="1881") -> PaymentMethod:
    """A vaulted card as the payment-methods pages store it (token only, PAY-2)."""
    PaymentMethod.update(is_default=False).where(PaymentMethod.account == acct.id).execute()
    token = token or f"tok_{gateway}_{acct.id}_{PaymentMethod.select().count()}"
    return PaymentMethod.create(account=acct.id, gateway=gateway, token=token,
                                brand=brand, last4=last4, exp_month=12, exp_year=2030,
                                is_default=True)


def cards_for_demo(gateway="fake"):
    for acct in Account.select():
        add_card(acct, gateway)


def run(app, day, **config):
    """One billing run as ``portal billing run --date day`` does it."""
    return renewals.run(day, pm=plugin_manager(app), config={**app.config, **config})


def invoices_of(acct, **where):
    query = Invoice.select().where(Invoice.account == acct.id)
    for name, value in where.items():
        query = query.where(getattr(Invoice, name) == value)
    return list(query.order_by(Invoice.id))


def lines_of(invoice):
    return list(InvoiceLine.select().where(InvoiceLine.invoice == invoice.id)
                .order_by(InvoiceLine.position))


def sub_of(acct, plan_code) -> Subscription:
    return (Subscription.select().join(Plan)
            .where((Subscription.account == acct.id) & (Plan.code == plan_code)).get())


def make_due(n, day, *, plan_code="devices", devices=2, gateway="fake", prefix="Bulk",
             amount_declined_every=0):
    """``n`` accounts, each with an admin, ``devices`` devices, a card and a monthly
    subscription due on ``day``. Returns the subscription ids."""
    plan = Plan.get(Plan.code == plan_code)
    ids = []
    for i in range(n):
        acct = Account.create(name=f"{prefix} {i:05d}", address_line1=f"{i} Test Road")
        admin = User.create(email=f"{prefix.lower()}{i}@example.test", name="Admin",
                            password_hash="x")
        Membership.create(user=admin, account=acct, role="admin")
        loc = Location.create(account=acct, name="Shop", external_id="shop")
        for d in range(devices):
            Device.create(account=acct, location=loc, serial=f"{prefix}-{i}-{d}")
        add_card(acct, gateway, token=f"tok_{prefix}_{i}")
        sub = Subscription.create(account=acct, plan=plan, interval="monthly", quantity=devices,
                                  started_on=day.replace(day=1), next_payment_date=day)
        ids.append(sub.id)
    return ids


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-"), data[:40]
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def usd(amount) -> str:
    """How the ``money`` filter prints an amount in English (rule DOC-3)."""
    return f"${amount:,.2f}" if amount >= 0 else f"-${-amount:,.2f}"


@contextmanager
def registered(app, plugin, name):
    """Register a plugin for the duration of a block (STYLE: one test)."""
    pm = plugin_manager(app)
    pm.register(plugin, name=name)
    try:
        yield plugin
    finally:
        pm.unregister(name=name)
