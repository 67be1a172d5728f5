"""The console's path to a first invoice (rule ONB-1, issue #16 "Done when"): an account
opened with its subscription in the operator console is billed by the billing run on its
first payment date: paid with a card on file, in dunning without one."""
import datetime as dt
from decimal import Decimal

import pytest

from portal.models import Account, Subscription
from portal.statuses import InvoiceStatus
from support.billing import add_card, invoices_of, lines_of, run
from support.database import DEMO_TODAY

pytestmark = pytest.mark.app_config(TODAY=DEMO_TODAY)
NEW = "/operator/accounts/new"
FIRST_PAYMENT = dt.date(2026, 12, 1)  # CHG-5: the first of the month after the start


def open_account(client, auth, name) -> None:
    auth.login(as_="operator@example.com")
    response = client.post(NEW, data={
        "csrf_token": auth.csrf_token(NEW), "name": name, "language": "en",
        "currency": "USD", "details-legal_name": f"{name} LLC",
        "details-address_line1": "1 Main St", "details-postal_code": "10001",
        "details-city": "New York", "details-country": "US",
        "details-invoice_emails": "ap@example.com", "plan": "team", "interval": "monthly",
        "quantity": "3", "addon_quantity": "1", "start": DEMO_TODAY.isoformat()})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


@pytest.mark.parametrize("with_card,status", [(True, InvoiceStatus.PAID),
                                              (False, InvoiceStatus.DUNNING)])
def test_onb1_an_account_opened_in_the_console_gets_its_first_invoice_from_the_billing_run(
        app, client, auth, with_card, status):
    open_account(client, auth, "Hudson Studio")
    with app.app_context():
        account = Account.get(Account.name == "Hudson Studio")
        assert Subscription.get(Subscription.account == account).next_payment_date == \
            FIRST_PAYMENT
        if with_card:
            add_card(account)  # a vaulted card of the test gateway (PAY-2)
        assert invoices_of(account) == []  # nothing is billed before the first payment date
        run(app, FIRST_PAYMENT)
        invoices = invoices_of(account)
        assert len(invoices) == 1
        invoice = invoices[0]
        # team plan in USD: 3 seats at 25.00 and 1 add-on license at 10.00 (demo catalogue)
        assert sum(line.amount for line in lines_of(invoice)) == Decimal("85.00")
        assert invoice.status == status
        assert "Hudson Studio LLC" in invoice.buyer  # the details typed in the console (BIL-1)
        assert invoice.currency == "USD"
        assert Subscription.get(Subscription.account == account).next_payment_date == \
            dt.date(2027, 1, 1)
