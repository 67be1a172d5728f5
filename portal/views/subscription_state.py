"""The state of what the subscription page computes from: the key under which its figures
and tabs are kept per worker (portal/fragments.py), so that they can never be stale.

Each part is read in the request that uses the key: the account as the user loader read
it (its usage stamp included, which triggers renew with any change of its devices,
locations, people or scheduled changes: migrations 010, 020, 021), its subscriptions with
their plans and price versions, every column of each, the price book's state
(``billing.catalogue.book_state``), today's date and the language.
"""
from __future__ import annotations

import peewee as pw
from flask import request
from flask_babel import get_locale

from .. import clock
from ..billing.catalogue import book_state


def row_state(instance) -> tuple | None:
    """Every column of a model instance as read (a foreign key: its id), in order."""
    if instance is None:
        return None
    return tuple(getattr(instance, f.object_id_name if isinstance(f, pw.ForeignKeyField)
                         else f.name) for f in type(instance)._meta.sorted_fields)


def subscriptions_state(subs) -> tuple:
    """Each subscription with its plan and price version, every column of each."""
    return tuple((row_state(s), row_state(s.plan),
                  row_state(s.price_version) if s.price_version_id is not None else None)
                 for s in subs)


def figures_key(account, subs) -> tuple:
    """The key of the page's figures (usage bars, next charges with their taxes, scheduled
    changes, trial days): everything they are computed from."""
    return (account.id, row_state(account), subscriptions_state(subs), book_state(),
            clock.today(), str(get_locale()), request.script_root)
