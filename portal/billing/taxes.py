"""Taxes on documents (rules TAX-1, TAX-3): what the tax hook is given and what it returns.

The engine never decides a rate itself. It builds a ``TaxDraft`` (the document's lines,
currency and date) and the two ``Party`` records (seller and buyer billing details) and
asks the ``portal_tax_lines`` hook (portal/hookspecs.py) for ``TaxLine`` objects; with no
tax plugin answering, a document carries no tax (TAX-1: ``tax_none``, the default).

Rounding (TAX-3): one tax line per rate per document, its amount rounded half-up to the
cent once, on the sum of the document's lines at that rate, never line by line. A credit
note reverses the tax of what it credits: each rate's share of the credited gross amount,
rounded the same way, the last rate taking the remainder so net + tax = credited exactly.

Taxes are stored on the document as JSON (``to_json``/``from_json``): the document keeps
them as issued, whatever plugin or rate is configured later.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from collections.abc import Callable

from .money import ZERO, money


@dataclass(frozen=True)
class Party:
    """Billing details of a seller or a buyer (rule BIL-1), as a document prints them."""

    legal_name: str = ""
    address_lines: tuple[str, ...] = ()
    postal_code: str = ""
    city: str = ""
    country: str = ""  # ISO 3166 alpha-2, upper case; "" when unknown
    tax_id: str = ""  # a VAT number with its country prefix, or another tax number
    registrations: tuple[tuple[str, str], ...] = ()  # (label, number): SIREN, SIRET, ...
    purchase_order: str = ""
    emails: tuple[str, ...] = ()
    # What a registry (VIES, ``portal_vat_id_valid``) said of ``tax_id``: None if not asked.
    tax_id_registered: bool | None = None

    @property
    def is_business(self) -> bool:
        """A buyer with a tax ID buys as a business (TAX-2)."""
        return bool(self.tax_id)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> Party:
        data = dict(data or {})
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("address_lines", "emails"):
            known[key] = tuple(known.get(key) or ())
        known["registrations"] = tuple(tuple(r) for r in known.get("registrations") or ())
        return cls(**known)


@dataclass(frozen=True)
class DraftLine:
    """One line of a document before tax: what it is and its net amount."""

    description: str
    amount: Decimal
    kind: str = ""


@dataclass(frozen=True)
class TaxDraft:
    """What the tax hook sees of a document about to be issued."""

    kind: str  # invoice | quote | credit_note | order
    lines: tuple[DraftLine, ...]
    currency: str
    date: dt.date

    @property
    def net(self) -> Decimal:
        return money(sum((line.amount for line in self.lines), ZERO))


@dataclass(frozen=True)
class TaxLine:
    """One tax of a document: ``rate`` in percent, on ``base`` (net), ``amount`` of tax."""

    rate: Decimal
    base: Decimal
    amount: Decimal
    label: str = ""  # "VAT 20 %", shown beside the amount
    mention: str = ""  # a legal sentence the document must print ("Reverse charge ...")
    country: str = ""

    def to_dict(self) -> dict:
        return {"rate": str(self.rate), "base": str(self.base), "amount": str(self.amount),
                "label": self.label, "mention": self.mention, "country": self.country}

    @classmethod
    def from_dict(cls, data: dict) -> TaxLine:
        return cls(Decimal(data["rate"]), money(data["base"]), money(data["amount"]),
                   data.get("label", ""), data.get("mention", ""), data.get("country", ""))


def tax_on(base: Decimal, rate: Decimal) -> Decimal:
    """The tax at ``rate`` percent on ``base``, rounded half-up to the cent once (TAX-3)."""
    return money(money(base) * Decimal(rate) / 100)


def to_json(taxes) -> str:
    return json.dumps([t.to_dict() for t in taxes])


def from_json(text: str | None) -> list[TaxLine]:
    return [TaxLine.from_dict(d) for d in json.loads(text or "[]")]


def total_tax(taxes) -> Decimal:
    return money(sum((t.amount for t in taxes), ZERO))


def reversed_share(taxes, gross_total: Decimal, credited: Decimal) -> list[TaxLine]:
    """The tax lines of a credit of ``credited`` (gross) on a document of ``gross_total``
    that carried ``taxes`` (TAX-3): each rate's share, rounded per rate; the last one takes
    what rounding left so bases + taxes add up to ``credited`` exactly."""
    taxes = list(taxes)
    if not taxes or gross_total <= ZERO:
        return []
    credited = money(credited)
    out, left = [], credited
    for i, t in enumerate(taxes):
        part = t.base + t.amount
        if i == len(taxes) - 1:
            share = left
        else:
            share = money(credited * part / gross_total)
        left -= share
        if part == ZERO:
            amount = ZERO
        else:
            amount = money(share * t.amount / part)
        out.append(TaxLine(t.rate, money(share - amount), amount, t.label, t.mention,
                           t.country))
    return out


# --- where the hook comes from -------------------------------------------------------
# The engine imports no plugin manager (layers contract): the services register a
# function that returns the current app's hook caller (portal.plugins.init_app).
_provider: list[Callable] = []


def set_hook_provider(provider: Callable) -> None:
    """``provider()`` returns ``(hook_caller, config)`` for the running app, or None."""
    _provider[:] = [provider]


def _hook():
    return _provider[0]() if _provider else None


def seller_party(config) -> Party:
    """The deployment's own billing details, from settings (PORTAL_SELLER_*)."""
    config = config or {}
    address = (config.get("SELLER_ADDRESS") or config.get("BILLING_ADDRESS") or "")
    registrations = []
    for item in config.get("SELLER_REGISTRATIONS") or ():
        label, _, number = str(item).partition("=")
        if number.strip():
            registrations.append((label.strip(), number.strip()))
    return Party(legal_name=config.get("SELLER_LEGAL_NAME") or config.get("PRODUCT_NAME") or "",
                 address_lines=tuple(x.strip() for x in address.replace("\\n", "\n")
                                     .splitlines() if x.strip()),
                 postal_code=config.get("SELLER_POSTAL_CODE") or "",
                 city=config.get("SELLER_CITY") or "",
                 country=(config.get("SELLER_COUNTRY") or "").upper(),
                 tax_id=config.get("SELLER_TAX_ID") or "",
                 registrations=tuple(registrations))


def current_seller() -> Party:
    """The running deployment's seller details (empty outside an app)."""
    found = _hook()
    return seller_party(found[1]) if found else Party()


def resolved_buyer(buyer: Party) -> Party:
    """``buyer`` with what the registry (``portal_vat_id_valid``, VIES) says of its tax ID,
    asked once: a page that prices several amounts for one buyer asks once, not per
    amount."""
    found = _hook()
    if found is None or not buyer.tax_id or buyer.tax_id_registered is not None:
        return buyer
    hook, config = found
    return replace(buyer, tax_id_registered=hook.portal_vat_id_valid(vat_id=buyer.tax_id,
                                                                     config=config))


def tax_lines(draft: TaxDraft, seller: Party, buyer: Party) -> list[TaxLine]:
    """The taxes of ``draft`` from the enabled tax plugin; none without one (TAX-1)."""
    found = _hook()
    if found is None:
        return []
    hook, config = found
    buyer = resolved_buyer(buyer)
    answer = hook.portal_tax_lines(document=draft, seller=seller, buyer=buyer, config=config)
    return [line if isinstance(line, TaxLine) else TaxLine(**line) for line in (answer or [])]


@dataclass
class Taxed:
    """A document's net, its tax lines and its gross."""

    net: Decimal
    taxes: list[TaxLine] = field(default_factory=list)

    @property
    def tax(self) -> Decimal:
        return total_tax(self.taxes)

    @property
    def gross(self) -> Decimal:
        return money(self.net + self.tax)
