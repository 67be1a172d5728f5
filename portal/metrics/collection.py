"""Active subscriptions and accounts, and how collection goes, per currency.

- active subscriptions (started, not cancelled) and the accounts that have one;
- failed payments: charges the gateway declined or that failed, over the last
  ``WINDOW_DAYS`` days (their number and amount);
- recovered by dunning: what was received over the same days for invoices that had
  failed at least once (``Invoice.dunning_step`` > 0, portal/billing/dunning.py);
- past due: what is still to collect (total less credit notes) on unpaid invoices whose
  due date has passed, whatever their age.
One statement (a grouped query per figure, by currency), whatever the number of accounts.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import peewee as pw

from ..billing.money import ZERO
from ..db import rows
from ..models import Account, Charge, CreditNote, Invoice, Receipt, Subscription
from ..statuses import ChargeStatus, InvoiceStatus, SubscriptionStatus
from .currency import currency_column

WINDOW_DAYS = 30
FAILED = (ChargeStatus.DECLINED, ChargeStatus.FAILED)
UNPAID = (InvoiceStatus.OPEN, InvoiceStatus.DUNNING, InvoiceStatus.HELD)


@dataclass
class Figures:
    """One currency's figures."""

    active_subscriptions: int = 0
    active_accounts: int = 0
    failed_payments: int = 0
    failed_amount: Decimal = ZERO
    recovered_by_dunning: Decimal = ZERO
    past_due: Decimal = ZERO


def _cents(value) -> Decimal:
    return Invoice.total.python_value(int(value or 0))


def figures(today: dt.date) -> dict[str, Figures]:
    """Currency -> its figures (see the module docstring): one statement, a grouped query
    per figure (by the account's currency) joined with UNION ALL."""
    since = today - dt.timedelta(days=WINDOW_DAYS)
    cur = currency_column()

    def figure(name):
        return pw.Value(name).alias("figure")

    live = (Subscription.select(cur, figure("live"), pw.fn.COUNT(Subscription.id),
                                pw.fn.COUNT(Subscription.account.distinct()))
            .join(Account)
            .where((Subscription.status == SubscriptionStatus.ACTIVE)
                   & (Subscription.started_on <= today))
            .group_by(cur))
    failed = (Charge.select(cur, figure("failed"), pw.fn.COUNT(Charge.id),
                            pw.fn.SUM(Charge.amount))
              .join(Invoice).join(Account)
              .where(Charge.status.in_(FAILED)
                     & (Charge.created_at >= dt.datetime.combine(since, dt.time())))
              .group_by(cur))
    recovered = (Receipt.select(cur, figure("recovered"), pw.fn.COUNT(Receipt.id),
                                pw.fn.SUM(Receipt.amount))
                 .join(Invoice).join(Account)
                 .where((Invoice.dunning_step > 0) & (Receipt.paid_on > since)
                        & (Receipt.paid_on <= today))
                 .group_by(cur))
    credited = (CreditNote.select(CreditNote.invoice, pw.fn.SUM(CreditNote.amount).alias("sum"))
                .group_by(CreditNote.invoice))
    past_due = (Invoice.select(cur, figure("past_due"), pw.fn.COUNT(Invoice.id),
                               pw.fn.SUM(Invoice.total - pw.fn.COALESCE(credited.c.sum, 0)))
                .join(credited, pw.JOIN.LEFT_OUTER, on=(credited.c.invoice_id == Invoice.id))
                .join_from(Invoice, Account)
                .where(Invoice.status.in_(UNPAID) & (Invoice.due_on < today))
                .group_by(cur))
    result: dict[str, Figures] = {}
    for currency, name, n, value in rows(live + failed + recovered + past_due):
        fig = result.setdefault(currency, Figures())
        if name == "live":
            fig.active_subscriptions, fig.active_accounts = n, int(value)
        elif name == "failed":
            fig.failed_payments, fig.failed_amount = n, _cents(value)
        elif name == "recovered":
            fig.recovered_by_dunning = _cents(value)
        else:
            fig.past_due = _cents(value)
    return result
