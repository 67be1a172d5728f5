"""Plan-change rules: scheduled changes and their effective dates (rules CHG-4..CHG-6).

The wizard (views/changes.py) records what the admin ordered; this module decides
when it applies, and ``apply_due_changes`` is what the billing run calls first.
"""
from __future__ import annotations

import datetime as dt

from ..models import PendingChange, Subscription, utcnow


def due_changes(subscription: Subscription, day: dt.date):
    """Pending changes of ``subscription`` effective on or before ``day``, oldest first."""
    return (PendingChange
            .select()
            .where((PendingChange.subscription == subscription)
                   & (PendingChange.effective_on <= day)
                   & PendingChange.applied_at.is_null()
                   & PendingChange.withdrawn_at.is_null())
            .order_by(PendingChange.effective_on, PendingChange.id))


def apply_due_changes(subscription: Subscription, day: dt.date) -> Subscription:
    """Apply every change due by ``day`` to ``subscription`` (call inside a transaction)."""
    for change in due_changes(subscription, day):
        if change.cancel:
            subscription.status = "cancelled"
        for name in ("plan", "interval", "quantity", "addon_quantity"):
            value = getattr(change, f"{name}_id" if name == "plan" else name)
            if value is not None:
                setattr(subscription, f"{name}_id" if name == "plan" else name, value)
        change.applied_at = utcnow()
        change.save()
    subscription.save()
    return subscription
