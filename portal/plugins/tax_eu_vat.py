"""EU VAT (rule TAX-2), enabled with PORTAL_TAXES=eu_vat.

For a seller established in the EU:

- domestic sale (buyer in the seller's country, or buyer's country unknown): the seller
  country's standard rate;
- business buyer in another EU country with a valid VAT number (checksum by python-stdnum,
  its prefix the buyer's country, and no registry saying otherwise, see
  ``portal_vat_id_valid``): reverse charge at 0 %, with the legal mention;
- consumer (no valid VAT number) in another EU country: that country's standard rate;
- buyer outside the EU: no VAT, with the mention.

The rates and the day each applies from are in ``data/eu_vat_rates.json`` (with their
source); a document's date picks the rate in force. One tax line per document (all lines
of a document fall under one case), its amount rounded once on the document's net (TAX-3).
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from ..billing.taxes import TaxLine, tax_on
from ..billing.money import ZERO
from ..hookspecs import hookimpl

RATES_FILE = Path(__file__).resolve().parent / "data" / "eu_vat_rates.json"
VAT_PREFIX = {"GR": "EL"}  # ISO country -> the prefix of its VAT numbers


def N_(message: str) -> str:
    """Mark for extraction: documents print the label and mentions through the catalogue."""
    return message


LABEL = N_("VAT")
REVERSE_CHARGE = N_("Reverse charge: VAT to be accounted for by the recipient (Article 196 "
                    "of Council Directive 2006/112/EC).")
OUTSIDE_EU = N_("VAT not applicable: service supplied to a customer established outside "
                "the EU (Article 44 of Council Directive 2006/112/EC).")


@lru_cache(maxsize=1)
def rate_table() -> dict:
    return json.loads(RATES_FILE.read_text())["rates"]


EU = frozenset(rate_table())


def standard_rate(country: str, day: dt.date) -> Decimal:
    """The standard rate of ``country`` in force on ``day``."""
    periods = [p for p in rate_table()[country] if dt.date.fromisoformat(p["from"]) <= day]
    if not periods:
        raise LookupError(f"no VAT rate of {country} in force on {day}")
    return Decimal(max(periods, key=lambda p: p["from"])["rate"])


def valid_vat_id(buyer) -> bool:
    """A VAT number that is well formed, of the buyer's country, and not refused by a
    registry (``buyer.tax_id_registered`` False)."""
    from stdnum.eu import vat

    prefix = VAT_PREFIX.get(buyer.country, buyer.country)
    return (bool(buyer.tax_id) and vat.is_valid(buyer.tax_id)
            and vat.compact(buyer.tax_id)[:2] == prefix
            and buyer.tax_id_registered is not False)


def vat_case(seller, buyer) -> str:
    """``domestic``, ``reverse_charge``, ``consumer_eu`` or ``outside_eu`` (TAX-2)."""
    if not buyer.country or buyer.country == seller.country:
        return "domestic"
    if buyer.country not in EU:
        return "outside_eu"
    return "reverse_charge" if valid_vat_id(buyer) else "consumer_eu"


@hookimpl
def portal_tax_lines(document, seller, buyer, config):
    if (config or {}).get("TAXES") != "eu_vat":
        return None
    if seller.country not in EU:
        return []  # not an EU seller: EU VAT does not apply
    base = document.net
    case = vat_case(seller, buyer)
    if case == "reverse_charge":
        return [TaxLine(Decimal("0"), base, ZERO, LABEL, REVERSE_CHARGE, buyer.country)]
    if case == "outside_eu":
        return [TaxLine(Decimal("0"), base, ZERO, LABEL, OUTSIDE_EU, buyer.country)]
    country = seller.country if case == "domestic" else buyer.country
    rate = standard_rate(country, document.date)
    return [TaxLine(rate, base, tax_on(base, rate), LABEL, "", country)]
