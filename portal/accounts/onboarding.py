"""Opening an account (rule ONB-1): the one home of creating a customer account, called by
the operator console, the provisioning API, the CSV import, self-serve sign-up and the
demo alike, so every path checks the same things and a refusal creates nothing.

An account is opened with a name, a language, a currency (CAT-1: its plans' prices in
that currency apply) and its billing details (BIL-1, checked by
portal/accounts/billing_details.py). Subscriptions start through
``portal.catalogue.start_subscription``; people join through memberships (and
invitations, ACC-6).
"""
from __future__ import annotations

from flask_babel import gettext as _

from ..db import write_transaction
from ..i18n import LANGUAGES
from ..models import Account, AuditEvent
from ..money import currency_problem
from .. import text
from . import billing_details

NAME_LIMIT = 200
REFERENCE_LIMIT = 100


class AccountRefused(ValueError):
    """Some fields are invalid: ``errors`` maps each field to a sentence for people."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def check(name, *, language="en", currency="USD", details: dict | None = None,
          external_ref: str | None = None) -> dict:
    """The fields of a new account, cleaned; raise ``AccountRefused`` with every field's
    error. Nothing is written here (a dry run, e.g. ``portal import --dry-run``, calls it).
    ``external_ref``: the reference another system knows the account by (unique)."""
    errors: dict[str, str] = {}
    reference = " ".join(str(external_ref or "").split()) or None
    if reference is not None:
        if len(reference) > REFERENCE_LIMIT:
            errors["external_ref"] = _("At most %(count)s characters.", count=REFERENCE_LIMIT)
        elif text.forbidden(reference, "name") is not None:
            errors["external_ref"] = _("Remove the invisible or control characters.")
        elif Account.select().where(Account.external_ref == reference).exists():
            errors["external_ref"] = _("Another account already has this reference.")
    name = " ".join(str(name or "").split())
    if not name:
        errors["name"] = _("Give the account a name.")
    elif len(name) > NAME_LIMIT:
        errors["name"] = _("At most %(count)s characters.", count=NAME_LIMIT)
    elif (char := text.forbidden(name, "name")) is not None:
        errors["name"] = (_("Names cannot hold invisible or text-direction characters "
                            "(%(code)s): remove it.", code=text.describe(char))
                          if text.is_invisible(char) else
                          _("Remove the control character %(code)s: it cannot be stored.",
                            code=text.describe(char)))
    language = str(language or "").strip().lower()
    if language not in LANGUAGES:
        errors["language"] = _("Choose one of: %(choices)s.", choices=", ".join(LANGUAGES))
    currency, problem = currency_problem(currency)
    if problem:
        errors["currency"] = _("Choose a currency with two decimals, such as USD or EUR.")
    checked = billing_details.check(details or {})
    errors.update(checked.errors)
    if errors:
        raise AccountRefused(errors)
    return {"name": name, "language": language, "currency": currency,
            "external_ref": reference, **checked.values}


def open_account(name, *, language="en", currency="USD", details: dict | None = None,
                 negotiated: bool = False, external_ref: str | None = None, actor=None,
                 via: str = "") -> Account:
    """Create a customer account (ONB-1) with one audit entry naming who opened it
    (``actor``: a user or its id; ``via``: the path, e.g. "console", "api token 3",
    "import line 4", "sign-up"). Raise ``AccountRefused`` having written nothing."""
    fields = check(name, language=language, currency=currency, details=details,
                   external_ref=external_ref)
    with write_transaction():
        account = Account.create(negotiated_contract=bool(negotiated), **fields)
        AuditEvent.create(account=account.id, actor=getattr(actor, "id", actor),
                          action="account.opened",
                          detail=f"{fields['name']} ({fields['currency']}, {fields['language']})"
                                 + (f" via {via}" if via else ""))
    return account
