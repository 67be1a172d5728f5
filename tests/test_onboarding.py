"""Opening an account (rule ONB-1): one service for every path (console, API, import,
sign-up, demo); a refusal names every bad field and creates nothing."""
import pytest

from portal.accounts import onboarding
from portal.models import Account, AuditEvent

GOOD = {"legal_name": "Fjord Cafés AS", "address_line1": "Karl Johans gate 1",
        "postal_code": "0154", "city": "Oslo", "country": "NO"}


def test_onb1_open_account_creates_it_with_its_details_and_an_audit_entry(app_ctx):
    account = onboarding.open_account(" Fjord  Cafés ", language="fr", currency="eur",
                                      details=GOOD, negotiated=True, via="console")
    stored = Account.get_by_id(account.id)
    assert (stored.name, stored.language, stored.currency) == ("Fjord Cafés", "fr", "EUR")
    assert (stored.legal_name, stored.city, stored.country) == ("Fjord Cafés AS", "Oslo", "NO")
    assert stored.negotiated_contract is True
    event = AuditEvent.get(AuditEvent.account == account.id)
    assert event.action == "account.opened" and "EUR" in event.detail
    assert "via console" in event.detail


@pytest.mark.parametrize("kwargs,field", [
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "Evil\u202eCorp"}, "name"),
    ({"name": "Nul\x00Ltd"}, "name"),
    ({"language": "tlh"}, "language"),
    ({"currency": "ZZZ"}, "currency"),
    ({"currency": "JPY"}, "currency"),  # no two decimals (DOC-3)
    ({"details": {"country": "XX"}}, "country"),
    ({"details": {"country": "FR", "tax_id": "FR00000000000"}}, "tax_id"),
    ({"external_ref": "x" * 101}, "external_ref"),
    ({"external_ref": "CRM\u200b1"}, "external_ref"),
])
def test_onb1_a_refused_account_names_the_field_and_creates_nothing(app_ctx, kwargs, field):
    before = Account.select().count(), AuditEvent.select().count()
    arguments = {"name": "Fjord Cafés", "details": GOOD, **kwargs}
    with pytest.raises(onboarding.AccountRefused) as refused:
        onboarding.open_account(arguments.pop("name"), **arguments)
    assert field in refused.value.errors and refused.value.errors[field]
    assert (Account.select().count(), AuditEvent.select().count()) == before


def test_onb1_every_error_at_once(app_ctx):
    with pytest.raises(onboarding.AccountRefused) as refused:
        onboarding.check("", language="xx", currency="", details={"country": "XX"})
    assert set(refused.value.errors) == {"name", "language", "currency", "country"}


def test_onb1_the_demo_opens_its_accounts_through_the_service(app_ctx):
    opened = {e.account_id for e in AuditEvent.select().where(
        AuditEvent.action == "account.opened")}
    assert opened and opened == {a.id for a in Account.select()}


def test_onb1_an_external_reference_is_kept_and_unique(app_ctx):
    account = onboarding.open_account("Fjord Cafés", currency="EUR", details=GOOD,
                                      external_ref=" CRM-7 ")
    assert Account.get_by_id(account.id).external_ref == "CRM-7"
    assert Account.get_by_id(onboarding.open_account("Other", currency="EUR").id) \
        .external_ref is None  # no reference: none stored, and NULLs never collide
    with pytest.raises(onboarding.AccountRefused) as refused:
        onboarding.open_account("Fjord Again", currency="EUR", external_ref="CRM-7")
    assert set(refused.value.errors) == {"external_ref"}
