"""The parties a document names (rule BIL-1): the buyer from an account's billing
details, the seller from settings, and the currency a document is written in.

A document copies them when it is issued (``snapshot``), so editing an account's details
later never changes a document already issued.
"""
from __future__ import annotations

import json

from ..models import Account
from .taxes import DraftLine, Party, TaxDraft, TaxLine, current_seller, tax_lines


def currency_of(thing) -> str:
    """The currency of an account or a document: its ``currency`` field (CAT-1)."""
    return thing.currency


def emails_of(account: Account) -> tuple[str, ...]:
    return tuple(e.strip() for e in (account.invoice_emails or "").split(",") if e.strip())


def buyer_party(account: Account) -> Party:
    """The account's billing details as a document prints them."""
    return Party(legal_name=account.legal_name or account.name,
                 address_lines=tuple(x for x in (account.address_line1, account.address_line2)
                                     if x),
                 postal_code=account.postal_code, city=account.city,
                 country=(account.country or "").upper(), tax_id=account.tax_id,
                 purchase_order=account.po_reference, emails=emails_of(account))


def address_text(party: Party) -> str:
    """The postal address as lines of text (the documents' older ``billing_address``)."""
    town = " ".join(x for x in (party.postal_code, party.city) if x)
    return "\n".join([*party.address_lines, *([town] if town else []),
                      *([party.country] if party.country else [])])


def snapshot(account: Account, seller: str | None = None) -> dict:
    """What a document copies of its parties when it is issued; ``seller``: the seller's
    stored party when already made (``seller_text()``: once for a batch of invoices)."""
    buyer = buyer_party(account)
    return {"account_name": account.name, "billing_address": address_text(buyer),
            "currency": currency_of(account), "buyer": json.dumps(buyer.to_dict()),
            "seller": seller if seller is not None else seller_text()}


def seller_text() -> str:
    """The seller's party as a document stores it."""
    return json.dumps(current_seller().to_dict())


def party_of(text: str | None) -> Party:
    """A document's stored party."""
    return Party.from_dict(json.loads(text or "{}"))


def taxes_on_charge(account: Account, amount, *, day, kind: str, description: str = "",
                    line_kind: str = "proration", buyer: Party | None = None) -> list[TaxLine]:
    """The taxes of a one-off ``amount`` (an upgrade's prorated charge, TAX-3: taxed like
    any invoice); none on nothing. ``buyer``: the account's details when already read."""
    if not amount:
        return []
    draft = TaxDraft(kind, (DraftLine(description, amount, line_kind),), currency_of(account),
                     day)
    return tax_lines(draft, current_seller(), buyer or buyer_party(account))
