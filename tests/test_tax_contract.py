"""The tax-plugin contract (portal.testing.tax_contract), rule TAX-1: run for both
built-in tax plugins and for a tiny outside one (tests/plugins/tax_flat.py)."""
import pytest

from portal.plugins import tax_eu_vat, tax_none
from portal.testing.tax_contract import TaxContract
from plugins import tax_flat


class TestTaxNone(TaxContract):
    @pytest.fixture
    def plugin(self):
        return tax_none


class TestTaxEuVat(TaxContract):
    @pytest.fixture
    def plugin(self):
        return tax_eu_vat

    @pytest.fixture
    def config(self):
        return {"TAXES": "eu_vat"}


class TestOutsideFlatTax(TaxContract):
    @pytest.fixture
    def plugin(self):
        return tax_flat


def test_tax1_tax_none_answers_no_tax():
    from portal.testing.tax_contract import BUYERS, SELLER, draft

    assert tax_none.portal_tax_lines(draft("100.00"), SELLER, BUYERS["domestic"], {}) == []


def test_tax1_eu_vat_stays_silent_unless_configured():
    from portal.testing.tax_contract import BUYERS, SELLER, draft

    assert tax_eu_vat.portal_tax_lines(draft("100.00"), SELLER, BUYERS["domestic"], {}) is None
