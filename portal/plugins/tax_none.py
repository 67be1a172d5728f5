"""The default tax plugin: no tax on any document (rule TAX-1, today's behaviour).

It answers last, so an enabled tax plugin (``tax_eu_vat`` with PORTAL_TAXES=eu_vat, or an
outside one) wins without anyone disabling this one.
"""
from ..hookspecs import hookimpl


@hookimpl(trylast=True)
def portal_tax_lines(document, seller, buyer, config):
    return []
