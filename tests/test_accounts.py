"""Rule ACC-1: the account is the billing unit: one billing address, one set of payment
methods, and every invoice addressed to it, whatever subscriptions it holds."""
import datetime as dt


from portal.models import Subscription
from support.billing import account, add_card, invoices_of, run


def test_acc1_every_subscription_bills_the_one_account_at_its_address(app):
    with app.app_context():
        north = account("Northwind Retail")
        card = add_card(north)
        assert Subscription.select().where(Subscription.account == north).count() == 2
        run(app, dt.date(2026, 12, 1))
        invoices = invoices_of(north)
    assert len(invoices) == 2  # the location plan and the seat plan
    for invoice in invoices:
        assert invoice.account_id == north.id
        assert invoice.account_name == "Northwind Retail"
        assert invoice.billing_address.startswith(north.address_line1)
        assert [c.payment_method_id for c in invoice.charges] == [card.id]
