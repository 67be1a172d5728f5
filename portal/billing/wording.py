"""The words the billing engine writes on the documents it issues, in the language of the
account they are addressed to (``Account.language``).

Issued documents never change (docs/decisions.md, "Billing engine"): an invoice line, a
credit carried on or a receipt's payment method is stored as text once, at issue, so the
engine writes it in the account's language then. No Flask here: the engine reads the same
compiled catalogues as the pages (portal/translations) with plain Babel. Every text is a
constant marked ``N_()`` so that ``make translations`` extracts it; an account in a
language without a catalogue gets the English text.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from ..models import Account

CATALOGUES = Path(__file__).resolve().parent.parent / "translations"


def N_(message: str) -> str:
    """Mark ``message`` for extraction; ``say`` translates it when it is written."""
    return message


@lru_cache(maxsize=16)
def _catalogue(locale: str) -> NullTranslations:
    return Translations.load(str(CATALOGUES), [locale])  # NullTranslations if none


def say(locale: str | None, message: str, **params) -> str:
    """``message`` (an ``N_()`` constant) in ``locale``, with its ``%(name)s`` filled in."""
    text = _catalogue(locale or "en").gettext(message)
    return text % params if params else text


def language_of(account_id) -> str | None:
    """An account's language, for code that has only its id."""
    return (Account.select(Account.language).where(Account.id == account_id)
            .scalar())


# Invoice lines (renewals.invoice_lines): the plan, its add-on licenses, pro rata, credits.
PLAN_LINE = {"monthly": N_("%(plan)s, monthly (%(units)s)"),
             "annual": N_("%(plan)s, annual (%(units)s)")}
ADDON_LINE = {"monthly": N_("Add-on licenses, monthly"),
              "annual": N_("Add-on licenses, annual")}
UNITS = {"device": N_("devices"), "location": N_("location subscriptions"),
         "seat": N_("seats")}
PRO_RATA = N_("%(line)s (pro rata %(days)s/%(month_days)s days)")
CARRIED_TO_NEXT = N_("Credit carried to the next invoice")
CARRIED_FROM = N_("Credit carried from %(number)s")
CREDIT_NOTE_LINE = N_("Credit note %(note)s (%(invoice)s)")
# ``day`` is stored as an ISO day; documents and pages print it as the reader's date
# (rewording.py), never as "2026-11-23".
PRORATION_LINE = N_("Change from %(old)s to %(new)s (%(users)s + %(addons)s add-on), "
                    "prorated from %(day)s to the next payment date")
# Receipts: how the money came.
CARD = N_("%(brand)s ending %(last4)s")
CARD_WORD = N_("card")  # a card payment whose card is no longer on file
CARD_PAYMENT = N_("Card payment: %(card)s")
RECORDED_BY_OPERATOR = N_("Payment received (recorded by an operator)")
