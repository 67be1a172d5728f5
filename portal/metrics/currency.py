"""The currency of an account, read in this one place (rules DOC-3, CAT-1, MET-1)."""
from __future__ import annotations

from ..db import rows
from ..models import Account

DEFAULT = "USD"


def currency_column():
    """An account's currency as a column to select (joined on ``Account``): the one it
    bills in (CAT-1)."""
    return Account.currency


def currencies_of(account_ids=None) -> dict[int, str]:
    """Account id -> currency, in one query (all accounts when ``account_ids`` is None)."""
    query = Account.select(Account.id, currency_column().alias("currency"))
    if account_ids is not None:
        query = query.where(Account.id.in_(list(account_ids)))
    return {account_id: currency for account_id, currency in rows(query)}


def document_currency(invoice) -> str:
    """The currency an issued document is in: the one it recorded at issue (DOC-3)."""
    return invoice.currency
