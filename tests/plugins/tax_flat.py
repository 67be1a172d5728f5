"""A tiny outside tax plugin, as a reseller would write one: a flat 8.5 % sales tax for
buyers in the seller's country, nothing abroad. Registered by tests only (rule TAX-1)."""
from decimal import Decimal

from portal.billing.taxes import TaxLine, tax_on
from portal.hookspecs import hookimpl

RATE = Decimal("8.5")


@hookimpl
def portal_tax_lines(document, seller, buyer, config):
    if buyer.country and buyer.country != seller.country:
        return []
    return [TaxLine(RATE, document.net, tax_on(document.net, RATE), "Sales tax")]
