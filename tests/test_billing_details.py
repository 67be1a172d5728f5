"""Billing details (rule BIL-1): edited by account admins on the dashboard (without
JavaScript, errors beside the fields), by operators on the account page and through the
API; the tax ID checked by checksum before anything is saved; every save audited."""
import pytest

from portal.models import Account, AuditEvent
from support.api import csrf_token
from support.changes import csrf

NORTHWIND = "Northwind Retail"
VALID = {"legal_name": "Northwind Retail Ltd", "address_line1": "1 Market Street",
         "address_line2": "Floor 2", "postal_code": "10115", "city": "Berlin",
         "country": "DE", "tax_id": "DE 136 695 976",
         "invoice_emails": "ap@northwind.example, cfo@northwind.example",
         "po_reference": "PO-77"}


def northwind(app):
    with app.app_context():
        return Account.get(Account.name == NORTHWIND)


def test_bil1_admin_sees_the_billing_details_tab_and_saves_them(client, auth, app):
    auth.login(as_="admin@northwind.example")
    page = client.get("/admin/billing-details").get_data(as_text=True)
    assert 'aria-current="page">Billing details</a>' in page
    assert 'name="tax_id"' in page and '<option value="DE">Germany</option>' in page
    response = client.post("/admin/billing-details", data={**VALID, "csrf_token": csrf(client)})
    assert response.status_code == 302
    acct = northwind(app)
    assert (acct.tax_id, acct.country, acct.city) == ("DE136695976", "DE", "Berlin")
    assert acct.invoice_emails == "ap@northwind.example, cfo@northwind.example"
    with app.app_context():
        event = AuditEvent.select().where(AuditEvent.action == "account.billing_details").get()
        assert event.account_id == acct.id and event.actor.email == "admin@northwind.example"
        assert "tax_id" in event.detail


@pytest.mark.parametrize("field,value,message", [
    ("tax_id", "DE136695977", "check digits"),
    ("tax_id", "12345", "country code"),
    ("country", "XX", "Choose a country"),
    ("invoice_emails", "ap@northwind.example, not-an-address", "not an e-mail address"),
])
def test_bil1_invalid_field_is_refused_beside_it_and_nothing_saved(client, auth, app, field,
                                                                   value, message):
    before = northwind(app)
    auth.login(as_="admin@northwind.example")
    response = client.post("/admin/billing-details",
                           data={**VALID, field: value, "csrf_token": csrf(client)})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">' in page and message in page
    after = northwind(app)
    assert (after.tax_id, after.city, after.legal_name) == (before.tax_id, before.city,
                                                            before.legal_name)
    with app.app_context():
        assert not AuditEvent.select().where(
            AuditEvent.action == "account.billing_details").exists()


def test_bil1_country_names_in_the_readers_language(client, auth):
    auth.login(as_="admin@northwind.example")
    client.post("/language", data={"language": "fr"})
    page = client.get("/admin/billing-details",
                      headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<option value="DE">Allemagne</option>' in page


def test_bil1_operator_edits_an_accounts_details(client, auth, app):
    acct = northwind(app)
    auth.login(as_="operator@example.com")
    path = f"/operator/accounts/{acct.id}/billing-details"
    assert "Billing details" in client.get(path).get_data(as_text=True)
    token = csrf_token(client, "/operator/")
    response = client.post(path, data={**VALID, "tax_id": "FR40303265045", "country": "FR",
                                       "csrf_token": token})
    assert response.status_code == 302
    assert northwind(app).tax_id == "FR40303265045"


def test_bil1_api_reads_and_changes_billing_details(app, tokens):
    client, headers = app.test_client(), {"Authorization": f"Bearer {tokens['nw']}"}
    assert client.get("/api/v1/billing-details", headers=headers).get_json()["legal_name"] \
        == "Northwind Retail Ltd"
    response = client.patch("/api/v1/billing-details", headers=headers,
                            json={"tax_id": "NL004495445B01", "country": "NL"})
    assert response.status_code == 200 and response.get_json()["tax_id"] == "NL004495445B01"
    refused = client.patch("/api/v1/billing-details", headers=headers,
                           json={"tax_id": "NL004495446B01"})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"] == "tax_id"
    assert northwind(app).tax_id == "NL004495445B01"
    unknown = client.patch("/api/v1/billing-details", headers=headers, json={"vat": "x"})
    assert unknown.status_code == 400
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "BillingDetails" in spec["components"]["schemas"]
    assert "patch" in spec["paths"]["/api/v1/billing-details"]


def test_bil1_billing_mail_goes_to_the_invoice_addresses_too(app_ctx):
    from portal.models import OutboxMessage
    from support.billing import DEC1, cards_for_demo, run

    Account.update(invoice_emails="ap@northwind.example, admin@northwind.example").where(
        Account.name == NORTHWIND).execute()
    cards_for_demo()
    run(app_ctx, DEC1)
    north = Account.get(Account.name == NORTHWIND)
    [mail, *_] = (OutboxMessage.select().where((OutboxMessage.account == north.id)
                                               & (OutboxMessage.kind == "receipt_ready")))
    assert mail.recipients.split(", ") == ["admin@northwind.example", "ap@northwind.example"]
