"""The currency of an account, read in this one place (rules DOC-3, CAT-1, MET-1)."""
from __future__ import annotations

import peewee as pw

from ..models import Account

DEFAULT = "USD"


def currency_column():
    """An account's currency as a column to select (joined on ``Account``): its
    ``currency`` once the catalogue gives accounts one (CAT-1); until then every account
    bills in US dollars. Select it, never group by it (a constant on PostgreSQL)."""
    column = getattr(Account, "currency", None)
    return column if column is not None else pw.Value(DEFAULT)


def currencies_of(account_ids=None) -> dict[int, str]:
    """Account id -> currency, in one query (all accounts when ``account_ids`` is None)."""
    query = Account.select(Account.id, currency_column().alias("currency"))
    if account_ids is not None:
        query = query.where(Account.id.in_(list(account_ids)))
    return {account_id: currency for account_id, currency in query.tuples()}


def document_currency(invoice) -> str:
    """The currency an issued document is in: the one it recorded at issue (DOC-3)."""
    return getattr(invoice, "currency", None) or DEFAULT
