"""An account's billing details (rule BIL-1): the one home of reading, checking and saving
them, for the dashboard, the operator's account page and the API alike.

A tax ID is checked by its checksum with python-stdnum before it is saved: an EU VAT
number (its prefix names the country: FR, DE, EL for Greece) by ``stdnum.eu.vat``, another
country's by that country's ``vat`` module when python-stdnum has one. Invoice e-mail
addresses are checked one by one. Nothing is written unless every field is valid; every
save writes an audit entry naming who made it. Documents already issued keep the details
they were issued with (they copy them, portal/billing/parties.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from ..db import write_transaction
from ..i18n import country_name
from ..models import Account, AuditEvent

FIELDS = ("legal_name", "address_line1", "address_line2", "postal_code", "city", "country",
          "tax_id", "invoice_emails", "po_reference")
LIMITS = {"legal_name": 200, "address_line1": 200, "address_line2": 200, "postal_code": 20,
          "city": 100, "country": 2, "tax_id": 32, "invoice_emails": 1000, "po_reference": 100}
MAX_EMAILS = 5
# python-stdnum's modules for a country's tax number, tried in this order (VAT, tax
# identification number, US EIN, Australian ABN, Canadian BN).
TAX_NUMBER_KINDS = ("vat", "tin", "ein", "abn", "bn")


class DetailsRefused(ValueError):
    """Some fields are invalid: ``errors`` maps each field to a sentence for people."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Checked:
    values: dict
    errors: dict


def details_of(account: Account) -> dict:
    return {name: getattr(account, name) or "" for name in FIELDS}


def countries() -> set[str]:
    return {code for code in map(str, Locale("en").territories)
            if len(code) == 2 and code.isalpha()}


def check_tax_id(tax_id: str, country: str) -> tuple[str, str | None]:
    """(the number in its compact form, None) or (as given, why it is refused)."""
    from stdnum import get_cc_module
    from stdnum.eu import vat as eu_vat
    from stdnum.exceptions import ValidationError

    prefix = "".join(ch for ch in tax_id if ch.isalnum())[:2].lower()
    if prefix in eu_vat.MEMBER_STATES | {"el"}:
        try:
            return eu_vat.validate(tax_id), None
        except ValidationError:
            return tax_id, _("This VAT number is not valid (its check digits do not match).")
    module = next((m for m in (get_cc_module(country.lower(), kind) if country else None
                               for kind in TAX_NUMBER_KINDS) if m is not None), None)
    if module is None:
        return tax_id, _("Give a VAT number starting with its country code (e.g. FR, DE), "
                         "or choose the country whose tax number this is.")
    try:
        return module.compact(module.validate(tax_id)), None
    except ValidationError:
        return tax_id, _("This tax number is not valid for %(country)s.",
                         country=country_name(country))


def check(data: dict) -> Checked:
    """Every field cleaned and checked; nothing is saved here."""
    values = {name: " ".join(str(data.get(name) or "").split()) for name in FIELDS}
    errors = {}
    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            errors[name] = _("At most %(count)s characters.", count=limit)
    values["country"] = values["country"].upper()
    if values["country"] and values["country"] not in countries():
        errors["country"] = _("Choose a country from the list.")
    if values["tax_id"] and "tax_id" not in errors:
        values["tax_id"], problem = check_tax_id(values["tax_id"], values["country"])
        if problem:
            errors["tax_id"] = problem
    emails = [e.strip() for e in values["invoice_emails"].replace(";", ",").split(",")
              if e.strip()]
    if len(emails) > MAX_EMAILS:
        errors["invoice_emails"] = _("At most %(count)s addresses.", count=MAX_EMAILS)
    for email in emails:
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            errors["invoice_emails"] = _("%(address)s is not an e-mail address.",
                                         address=email)
            break
    values["invoice_emails"] = ", ".join(emails)
    if values["tax_id"] and not values["country"] and "tax_id" not in errors:
        errors["country"] = _("Choose the country of this tax ID.")
    return Checked(values, errors)


def update(account: Account, data: dict, *, actor_id=None, via: str = "") -> Account:
    """Check and save the billing details of ``account`` (BIL-1); raise ``DetailsRefused``
    with every field's error, having written nothing."""
    checked = check({**details_of(account), **data})
    if checked.errors:
        raise DetailsRefused(checked.errors)
    changed = {k: v for k, v in checked.values.items() if getattr(account, k) != v}
    if not changed:
        return account
    with write_transaction():
        Account.update(**changed).where(Account.id == account.id).execute()
        AuditEvent.create(account=account.id, actor=actor_id, action="account.billing_details",
                          detail="changed: " + ", ".join(sorted(changed))
                          + (f" ({via})" if via else ""))
    for key, value in changed.items():
        setattr(account, key, value)
    return account
