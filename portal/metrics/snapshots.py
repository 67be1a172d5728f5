"""The daily account snapshot (issue #18.5): each account's usage and subscription state
on a day, the history the usage charts stand on.

``take(day)`` writes one row per account for ``day``, idempotently: the unique index on
(day, account) keeps the first row written for a day, so the huey periodic task, the
``portal snapshots take`` cron command and a re-run the same day agree. The usage is the
billing engine's own count (portal/billing/pricing.py: DEV-3 devices, LOC-1 location
subscriptions, ACC-4 seats); a subscription counts from its start day on.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from ..billing import pricing
from ..db import rows as db_rows
from ..db import write_transaction
from ..models import Account, AccountSnapshot, Plan, Subscription, utcnow
from ..statuses import AccountStatus, SubscriptionStatus

BATCH = 500  # accounts counted and written per transaction


def _plans(subs) -> str:
    return ";".join(f"{s.plan.code}:{s.interval}:{s.quantity}+{s.addon_quantity}" for s in subs)


def rows_for(account_ids, days) -> list[dict]:
    """The snapshot rows of these accounts as they are now, one per account and day of
    ``days`` (a subscription counts from its start day); four queries."""
    usage = pricing.accounts_usage(account_ids)
    subs = defaultdict(list)
    for sub in (Subscription.select(Subscription, Plan).join(Plan)
                .where(Subscription.account.in_(list(account_ids))
                       & (Subscription.status == SubscriptionStatus.ACTIVE))
                .order_by(Subscription.id)):
        subs[sub.account_id].append(sub)
    past_due = {a for (a,) in db_rows(Account.select(Account.id).where(
        Account.id.in_(list(account_ids)) & (Account.status == AccountStatus.PAST_DUE)))}
    now, rows = utcnow(), []
    for day in days:
        for a in account_ids:
            started = [s for s in subs[a] if s.started_on <= day]
            rows.append({"account": a, "day": day, "devices": usage[a].devices,
                         "locations": usage[a].locations,
                         "location_subscriptions": usage[a].location_subscriptions,
                         "seats": usage[a].seats, "addon_licenses": usage[a].addon_licenses,
                         "active_subscriptions": len(started), "past_due": a in past_due,
                         "plans": _plans(started), "taken_at": now})
    return rows


def take(day: dt.date, days=None) -> int:
    """Snapshot every account as it is now for ``day`` (and each of ``days``, when given:
    the demo fills the days on which nothing changed); a (day, account) already taken is
    kept as it was. Return the number of rows written."""
    days = sorted(set(days or ()) | {day})
    before = AccountSnapshot.select().where(AccountSnapshot.day.in_(days)).count()
    last = 0
    while True:
        ids = [a for (a,) in db_rows(Account.select(Account.id).where(Account.id > last)
                                     .order_by(Account.id).limit(BATCH))]
        if not ids:
            break
        last = ids[-1]
        rows = rows_for(ids, days)
        with write_transaction():
            for at in range(0, len(rows), BATCH):
                AccountSnapshot.insert_many(rows[at:at + BATCH]).on_conflict_ignore().execute()
    return AccountSnapshot.select().where(AccountSnapshot.day.in_(days)).count() - before


def history(days, account_id=None) -> dict[dt.date, dict[int, AccountSnapshot]]:
    """Day -> account id -> its snapshot, for each of ``days`` taken (one query); one
    account's only when ``account_id`` is given."""
    query = AccountSnapshot.select().where(AccountSnapshot.day.in_(list(days)))
    if account_id is not None:
        query = query.where(AccountSnapshot.account == account_id)
    found: dict[dt.date, dict[int, AccountSnapshot]] = {d: {} for d in days}
    for snap in query.iterator():
        found[snap.day][snap.account_id] = snap
    return found


def latest_day(today: dt.date, account_id=None) -> dt.date | None:
    """The last day on or before ``today`` with a snapshot (one query)."""
    query = AccountSnapshot.select(AccountSnapshot.day).where(AccountSnapshot.day <= today)
    if account_id is not None:
        query = query.where(AccountSnapshot.account == account_id)
    row = query.order_by(AccountSnapshot.day.desc()).first()
    return row.day if row else None
