"""The console's figures kept per worker under a stamp of the records they are computed from
(issue #20; decision in docs/decisions.md, "The metrics page keeps its figures").

The figures are computed from the billing records and nowhere else (MET-1, MET-2): what
is kept here is that computation's result, found again only while its ``stamp`` is
unchanged. The stamp is read in ONE statement of primary-key maxima (an index look-up
each, the same cost at 100 or 10,000 accounts): today's date and the newest id of every
table the figures are read from, and of the rows written *with* the in-place updates that
change a figure (an audit entry with a subscription's change or its trial's end, a receipt
with a payment, the outbox message that tells the admins a payment failed). A new record
of any of them is a new stamp, so the next request computes afresh.

A change that inserts none of these rows (a scheduled cancellation applied by the billing
run; a row committed after a newer id of the same table was already read, on PostgreSQL)
is seen when the entry expires: ``TTL`` seconds after it was computed (a backstop, not the
rule), and the page says when its figures were computed.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import peewee as pw
from cachetools import TTLCache

from ..db import db
from ..models import (Account, AccountSnapshot, AuditEvent, Charge, CreditNote, Invoice,
                      InvoiceLine, OutboxMessage, PendingChange, PriceVersion, Receipt,
                      Subscription, utcnow)

TTL = 60  # seconds: the backstop for the changes no new row announces
SIZE = 4  # stamps kept: only the newest is ever asked for again

# The tables read by portal/metrics (mrr, collection, trials, usage) and the ones whose
# new rows announce an in-place change of theirs (see the module docstring).
STAMPED = (Account, Subscription, PriceVersion, Invoice, InvoiceLine, CreditNote, Receipt,
           Charge, AccountSnapshot, AuditEvent, PendingChange, OutboxMessage)


def stamp(today: dt.date) -> tuple:
    """Today and the newest id of each ``STAMPED`` table: one statement of sub-selects."""
    newest = [model.select(pw.fn.MAX(model.id)) for model in STAMPED]
    row = pw.Select(columns=newest).bind(db).tuples().first()
    return (today, *(row or ()))


class Kept:
    """Computed figures per stamp, for ``ttl`` seconds at most (``cachetools.TTLCache``
    behind a lock: its caches are not thread-safe)."""

    def __init__(self, ttl: float = TTL, size: int = SIZE,
                 timer: Callable[[], float] = time.monotonic):
        self._entries: TTLCache = TTLCache(maxsize=size, ttl=ttl, timer=timer)
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_compute(self, key, compute: Callable[[], Any]) -> tuple[dt.datetime, Any]:
        """(when computed, value) under ``key``; else ``compute()``'s, kept from now on.
        Read the key *before* computing: a change committed in between is then in the
        value (newer than its key, harmless), never missing from it."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self.hits += 1
                return found
        computed = (utcnow(), compute())  # outside the lock: two threads may both compute
        with self._lock:
            self.misses += 1
            self._entries[key] = computed
        return computed
