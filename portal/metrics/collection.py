"""Active subscriptions and accounts, and how collection goes, per currency.

- active subscriptions (started, not cancelled) and the accounts that have one;
- failed payments: charges the gateway declined or that failed, over the last
  ``WINDOW_DAYS`` days (their number and amount);
- recovered by dunning: what was received over the same days for invoices that had
  failed at least once (``Invoice.dunning_step`` > 0, portal/billing/dunning.py);
- past due: what is still to collect (total less credit notes) on unpaid invoices whose
  due date has passed, whatever their age.
Each a bounded number of grouped queries, whatever the number of accounts.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import peewee as pw

from ..billing.money import ZERO
from ..db import rows
from ..models import Charge, CreditNote, Invoice, Receipt, Subscription
from ..statuses import ChargeStatus, InvoiceStatus, SubscriptionStatus
from .currency import currencies_of

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
    return Invoice.total.python_value(value or 0)


def figures(today: dt.date) -> dict[str, Figures]:
    """Currency -> its figures (see the module docstring)."""
    since = today - dt.timedelta(days=WINDOW_DAYS)
    per_account: dict[int, list] = defaultdict(lambda: [0, 0, ZERO, ZERO, ZERO])
    live = (Subscription.select(Subscription.account, pw.fn.COUNT(Subscription.id))
            .where((Subscription.status == SubscriptionStatus.ACTIVE)
                   & (Subscription.started_on <= today))
            .group_by(Subscription.account))
    for account_id, n in rows(live):
        per_account[account_id][0] = n
    for account_id, n, cents in rows(
            Charge.select(Invoice.account, pw.fn.COUNT(Charge.id), pw.fn.SUM(Charge.amount))
            .join(Invoice)
            .where(Charge.status.in_(FAILED)
                   & (Charge.created_at >= dt.datetime.combine(since, dt.time())))
            .group_by(Invoice.account)):
        per_account[account_id][1], per_account[account_id][2] = n, _cents(cents)
    for account_id, cents in rows(Receipt.select(Invoice.account, pw.fn.SUM(Receipt.amount))
                              .join(Invoice)
                              .where((Invoice.dunning_step > 0) & (Receipt.paid_on > since)
                                     & (Receipt.paid_on <= today))
                              .group_by(Invoice.account)):
        per_account[account_id][3] = _cents(cents)
    credited = (CreditNote.select(CreditNote.invoice, pw.fn.SUM(CreditNote.amount).alias("sum"))
                .group_by(CreditNote.invoice))
    for account_id, cents in rows(
            Invoice.select(Invoice.account,
                           pw.fn.SUM(Invoice.total - pw.fn.COALESCE(credited.c.sum, 0)))
            .join(credited, pw.JOIN.LEFT_OUTER, on=(credited.c.invoice_id == Invoice.id))
            .where(Invoice.status.in_(UNPAID) & (Invoice.due_on < today))
            .group_by(Invoice.account)):
        per_account[account_id][4] = _cents(cents)
    currency = currencies_of(per_account) if per_account else {}
    result: dict[str, Figures] = {}
    for account_id, (subs, failed, failed_amount, recovered, past_due) in per_account.items():
        fig = result.setdefault(currency[account_id], Figures())
        fig.active_subscriptions += subs
        fig.active_accounts += 1 if subs else 0
        fig.failed_payments += failed
        fig.failed_amount += failed_amount
        fig.recovered_by_dunning += recovered
        fig.past_due += past_due
    return result
