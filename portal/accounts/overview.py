"""One account as the operators see it, all in one place (issue #18.2): its people, payment
methods, documents, scheduled changes, deliveries and API tokens, each section one query
whatever the account's size (the latest ``RECENT`` of each list, with a link to the rest
where the console has a full list). The subscriptions and their usage come from the
subscription pages' own context; the timeline from ``timeline``.

Every query is filtered by the account's id: nothing of another account can reach the page.
"""
from __future__ import annotations

import peewee as pw

from ..models import (CreditNote, Delivery, Invoice, Membership, PaymentMethod, PendingChange,
                      Plan, Receipt, Subscription, User)
from .tokens import tokens_of

RECENT = 6  # rows per section (the full lists are a link away)


def people(account_id: int) -> list[Membership]:
    """The account's people (their memberships, ACC-5), admins first (ACC-2), active before
    deactivated (ACC-4), each with its person read in the same query."""
    return list(Membership.select(Membership, User).join(User)
                .where(Membership.account == account_id)
                .order_by(Membership.role, Membership.active.desc(), User.email))


def payment_methods(account_id: int) -> list[PaymentMethod]:
    """Brand, last four digits and expiry are all the page reads (PAY-2); the default first."""
    return list(PaymentMethod
                .select(PaymentMethod.id, PaymentMethod.brand, PaymentMethod.last4,
                        PaymentMethod.exp_month, PaymentMethod.exp_year,
                        PaymentMethod.is_default, PaymentMethod.gateway)
                .where(PaymentMethod.account == account_id)
                .order_by(PaymentMethod.is_default.desc(), PaymentMethod.id))


def invoices(account_id: int) -> list[Invoice]:
    return list(Invoice.select().where(Invoice.account == account_id)
                .order_by(Invoice.issued_on.desc(), Invoice.id.desc()).limit(RECENT))


def receipts(account_id: int) -> list[Receipt]:
    return list(Receipt.select(Receipt, Invoice).join(Invoice)
                .where(Invoice.account == account_id)
                .order_by(Receipt.paid_on.desc(), Receipt.id.desc()).limit(RECENT))


def credit_notes(account_id: int) -> list[CreditNote]:
    return list(CreditNote.select(CreditNote, Invoice).join(Invoice)
                .where(Invoice.account == account_id)
                .order_by(CreditNote.issued_on.desc(), CreditNote.id.desc()).limit(RECENT))


def scheduled_changes(account_id: int) -> list[PendingChange]:
    """Changes still to come (neither applied nor withdrawn), soonest first, each with its
    subscription, its current plan and the plan it moves to read in the same statement."""
    new_plan = Plan.alias()
    return list(PendingChange
                .select(PendingChange, Subscription, Plan, new_plan)
                .join(Subscription).join(Plan)
                .switch(PendingChange).join(new_plan, pw.JOIN.LEFT_OUTER,
                                            on=(PendingChange.plan == new_plan.id))
                .where((Subscription.account == account_id)
                       & PendingChange.applied_at.is_null()
                       & PendingChange.withdrawn_at.is_null())
                .order_by(PendingChange.effective_on, PendingChange.id))


def deliveries(account_id: int) -> list[Delivery]:
    return list(Delivery.select().where(Delivery.account == account_id)
                .order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(RECENT))


def sections(account_id: int) -> dict:
    """Every list of the account page but the subscriptions and the timeline."""
    return {"people": people(account_id), "methods": payment_methods(account_id),
            "invoices": invoices(account_id), "receipts": receipts(account_id),
            "credit_notes": credit_notes(account_id),
            "scheduled": scheduled_changes(account_id), "deliveries": deliveries(account_id),
            "tokens": list(tokens_of(account_id)), "recent": RECENT}
