"""Going live by the provisioning API (issue #16 item 4, rule ONB-1): from an empty
database holding only an operator and a catalogue, an operator token opens an account
with its billing details and a subscription; a card is added through the test gateway;
the billing run on the first payment date issues the first invoice, paid. On SQLite and
on PostgreSQL (PORTAL_TEST_DATABASE_URL)."""
import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from portal.db import db
from portal.models import Account, Invoice, InvoiceLine
from support.api import call
from support.billing import run
from support.database import PG_URL, pg_admin, pg_url

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def empty_url(tmp_path):
    """An empty database: SQLite, or a new PostgreSQL database on the test server."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path}/live.sqlite3"
        return
    name = "portal_provisioning_path"
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    yield pg_url(name)
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_onb1_empty_database_to_a_paid_first_invoice_by_the_provisioning_api(make_app,
                                                                            empty_url):
    app = make_app(DATABASE_URL=empty_url)
    runner, client = app.test_cli_runner(), app.test_client()
    assert runner.invoke(args=["init"]).exit_code == 0
    made = runner.invoke(args=["operators", "create", "ops@reseller.example", "--password",
                               "a long and unusual passphrase 42"])
    assert made.exit_code == 0, made.output
    applied = runner.invoke(args=["catalogue", "apply", str(ROOT / "docs" / "catalogue.toml")])
    assert applied.exit_code == 0, applied.output
    token = runner.invoke(args=["tokens", "create-operator", "CRM", "--scope", "all"])
    assert token.exit_code == 0, token.output
    plain = token.stdout.strip().splitlines()[-1]

    r = call(client, "POST", "/api/v1/provisioning/accounts", plain,
             headers={"Idempotency-Key": str(uuid.uuid4())},
             json={"name": "Fjord Cafés", "language": "en", "currency": "EUR",
                   "billing_details": {"legal_name": "Fjord Cafés AS",
                                       "address_line1": "Karl Johans gate 1",
                                       "postal_code": "0154", "city": "Oslo",
                                       "country": "NO", "invoice_emails": "ap@fjord.example"},
                   "subscriptions": [{"plan": "team", "interval": "monthly", "quantity": 4,
                                      "start": "2026-11-23"}]})
    assert r.status_code == 201, r.get_json()
    opened = r.get_json()
    first_payment = dt.date.fromisoformat(opened["subscriptions"][0]["next_payment_date"])
    assert first_payment == dt.date(2026, 12, 1)

    from portal import payments
    from portal.gateways import active_gateway
    from portal.models import User
    from portal.plugins import plugin_manager

    with app.app_context():
        account = Account.get_by_id(opened["id"])
        operator = User.get(User.email == "ops@reseller.example")
        gateway = active_gateway(plugin_manager(app), app.config)
        card = payments.add_card(account, operator, "fake-valid-visa-nonce", gateway)
        assert card.is_default and card.gateway == "fake"
        report = run(app, first_payment)
        [invoice] = Invoice.select().where(Invoice.account == account.id)
        lines = list(InvoiceLine.select().where(InvoiceLine.invoice == invoice.id))
        db.close()
    assert report is not None
    assert invoice.paid_at is not None and invoice.status == "paid"
    assert invoice.currency == "EUR" and invoice.issued_on == first_payment
    # CAT-1: the team plan's EUR price (23.00 a seat a month), four seats
    assert sum((line.amount for line in lines), Decimal("0")) == Decimal("92.00")
    assert invoice.total >= Decimal("92.00")

