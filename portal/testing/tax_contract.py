"""The tax-plugin contract (rule TAX-1) as a reusable pytest suite.

The built-in ``tax_none`` and ``tax_eu_vat`` pass it (tests/test_tax_contract.py), and so
can an outside tax plugin: subclass ``TaxContract`` and give a ``plugin`` fixture (the
module or object with your ``portal_tax_lines``) and, if it needs settings, ``config``::

    import pytest
    from portal.testing.tax_contract import TaxContract

    class TestMyTaxes(TaxContract):
        @pytest.fixture
        def plugin(self):
            import my_taxes
            return my_taxes

        @pytest.fixture
        def config(self):
            return {"MY_TAX_REGION": "CA"}

What it checks, through a real pluggy manager with the portal's hook specifications:

- the answer is a list of ``TaxLine`` (or None: "not mine"), with Decimal rates, bases
  and amounts in cents;
- each line's amount is its rate on its base, rounded half-up once (TAX-3), and a line
  has a label;
- the bases add up to the document's net, credits (negative lines) included;
- the answer depends only on its inputs (asked twice, answered the same), whoever buys;
- a document with nothing to pay carries no tax.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pluggy
import pytest

from .. import hookspecs
from ..billing.money import ZERO, money
from ..billing.taxes import DraftLine, Party, TaxDraft, TaxLine, tax_on

SELLER = Party("Seller SAS", ("1 rue de la Paix",), "75002", "Paris", "FR", "FR40303265045",
               (("SIREN", "303265045"),))
BUYERS = {
    "domestic": Party("Client SARL", ("2 rue Neuve",), "69001", "Lyon", "FR"),
    "eu_business": Party("Kunde GmbH", ("Hauptstr. 1",), "10115", "Berlin", "DE",
                         "DE136695976"),
    "eu_consumer": Party("Jan Jansen", ("Dorpsstraat 1",), "1011 AA", "Amsterdam", "NL"),
    "outside": Party("Client Inc.", ("1 Main St",), "10001", "New York", "US"),
    "no_details": Party(),
}
DAY = dt.date(2026, 11, 23)


def draft(*amounts, kind="invoice") -> TaxDraft:
    return TaxDraft(kind, tuple(DraftLine(f"line {i}", money(a)) for i, a in enumerate(amounts)),
                    "EUR", DAY)


class TaxContract:
    """Subclass it and provide a ``plugin`` fixture; every test below then runs."""

    @pytest.fixture
    def config(self):
        return {}

    @pytest.fixture
    def ask(self, plugin, config):
        pm = pluggy.PluginManager("portal")
        pm.add_hookspecs(hookspecs)
        pm.register(plugin)

        def ask(document, buyer, seller=SELLER):
            return pm.hook.portal_tax_lines(document=document, seller=seller, buyer=buyer,
                                            config=config)
        return ask

    @pytest.mark.parametrize("buyer", sorted(BUYERS))
    def test_answers_tax_lines_in_cents(self, ask, buyer):
        lines = ask(draft("100.00", "19.99"), BUYERS[buyer])
        if lines is None:
            pytest.skip("the plugin does not answer for this deployment")
        assert isinstance(lines, list)
        for line in lines:
            assert isinstance(line, TaxLine)
            assert all(isinstance(v, Decimal) for v in (line.rate, line.base, line.amount))
            assert money(line.base) == line.base and money(line.amount) == line.amount
            assert line.label, "every tax line has a label the document prints"

    @pytest.mark.parametrize("buyer", sorted(BUYERS))
    def test_amount_is_rate_on_base_rounded_once_per_rate(self, ask, buyer):
        lines = ask(draft("33.33", "33.33", "33.34"), BUYERS[buyer]) or []
        for line in lines:
            assert line.amount == tax_on(line.base, line.rate)
        assert len({line.rate for line in lines}) == len(lines), "one line per rate"

    @pytest.mark.parametrize("buyer", sorted(BUYERS))
    def test_bases_add_up_to_the_net_credits_included(self, ask, buyer):
        document = draft("120.00", "-20.00", "0.05")
        lines = ask(document, BUYERS[buyer])
        if lines:
            assert sum((line.base for line in lines), ZERO) == document.net

    @pytest.mark.parametrize("buyer", sorted(BUYERS))
    def test_same_inputs_same_answer(self, ask, buyer):
        assert ask(draft("10.00"), BUYERS[buyer]) == ask(draft("10.00"), BUYERS[buyer])

    @pytest.mark.parametrize("buyer", sorted(BUYERS))
    def test_nothing_to_pay_carries_no_tax(self, ask, buyer):
        lines = ask(draft("0.00"), BUYERS[buyer]) or []
        assert sum((line.amount for line in lines), ZERO) == ZERO
