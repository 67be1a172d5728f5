"""The billing run's rules: LOC-2, DEV-1, DEV-3, CHG-5, CHG-6, DOC-3 across month ends,
leap years and annual renewals; gapless numbers; issued invoices never change."""
import datetime as dt
from decimal import Decimal

import peewee as pw
import pytest

from portal.billing import invoices as billing
from portal.billing.catalogue import latest_price
from portal.billing.money import money
from portal.db import db
from portal.models import (Account, BillingAdjustment, Device, ImmutableDocument, Invoice,
                           InvoiceLine, Location, PendingChange, Plan, Receipt, Subscription)
from support.billing import (DEC1, account, add_card, cards_for_demo, invoices_of, lines_of, run,
                             sub_of)

D = dt.date


def test_loc2_billed_on_the_account_total_over_all_locations(app_ctx):
    cards_for_demo()
    north = account("Northwind Retail")
    sub = sub_of(north, "locations")
    # LOC-1 per location, summed for the whole account (LOC-2), computed here from the rows.
    per_location = [Device.select().where((Device.location == loc) & Device.active).count()
                    for loc in Location.select().where(Location.account == north.id)]
    expected = sum(max(1, -(-n // 4)) for n in per_location)
    due = Subscription.select().where(Subscription.next_payment_date <= DEC1).count()
    report = run(app_ctx, DEC1)
    assert report.invoiced == report.paid == due
    [invoice] = invoices_of(north, subscription=sub.id)
    [line] = lines_of(invoice)
    assert line.quantity == expected
    assert line.unit_price == sub.price_version.monthly_price
    assert invoice.total == line.amount == money(sub.price_version.monthly_price * expected)
    # One invoice for the account, one billing address: never split per location.
    assert invoice.billing_address.splitlines()[0] == north.address_line1
    assert invoice.account_name == north.name


def test_dev1_removed_device_and_location_are_gone_from_the_next_invoice(app_ctx):
    corner = account("Corner Bakeries")
    add_card(corner)
    active = list(Device.select().where((Device.account == corner.id) & Device.active))
    run(app_ctx, DEC1)
    [december] = invoices_of(corner)
    assert lines_of(december)[0].quantity == len(active)
    active[0].active, active[0].removed_at = False, dt.datetime(2026, 12, 10)
    active[0].save()
    run(app_ctx, D(2027, 1, 1))
    january = invoices_of(corner)[-1]
    assert lines_of(january)[0].quantity == len(active) - 1
    unit = latest_price(Plan.get(Plan.code == "devices"), "USD").monthly_price
    assert january.total == money(unit * (len(active) - 1))
    # A removed location takes its devices with it.
    loc = active[1].location
    on_it = Device.select().where((Device.location == loc) & Device.active).count()
    loc.active = False
    loc.save()
    run(app_ctx, D(2027, 2, 1))
    assert lines_of(invoices_of(corner)[-1])[0].quantity == len(active) - 1 - on_it
    # The December invoice is what it was: removals act from the next payment date on.
    assert lines_of(Invoice.get_by_id(december.id))[0].quantity == len(active)


def test_dev3_rma_replacement_is_billed_once(app_ctx):
    corner = account("Corner Bakeries")
    add_card(corner)
    devices = list(Device.select().where((Device.account == corner.id) & Device.active))
    original = devices[0]
    Device.create(account=corner, location=original.location, serial="CB-RMA-1",
                  rma_replacement_of=original)
    run(app_ctx, DEC1)
    assert lines_of(invoices_of(corner)[0])[0].quantity == len(devices)
    original.active = False  # the broken device goes back; its replacement counts instead
    original.save()
    run(app_ctx, D(2027, 1, 1))
    assert lines_of(invoices_of(corner)[1])[0].quantity == len(devices)


@pytest.mark.parametrize("due, run_on, last_day, next_due", [
    (D(2026, 12, 1), D(2026, 12, 1), D(2026, 12, 31), D(2027, 1, 1)),  # across the year end
    (D(2027, 1, 1), D(2027, 1, 31), D(2027, 1, 31), D(2027, 2, 1)),  # run late, on the 31st
    (D(2027, 2, 1), D(2027, 2, 1), D(2027, 2, 28), D(2027, 3, 1)),  # a common February
    (D(2028, 2, 1), D(2028, 2, 1), D(2028, 2, 29), D(2028, 3, 1)),  # a leap February
    (D(2027, 4, 1), D(2027, 4, 30), D(2027, 4, 30), D(2027, 5, 1)),  # a 30-day month
])
def test_chg5_monthly_plans_bill_a_calendar_month_on_the_first(app_ctx, due, run_on, last_day,
                                                               next_due):
    corner = account("Corner Bakeries")
    add_card(corner)
    sub = sub_of(corner, "devices")
    sub.next_payment_date = due
    sub.save()
    run(app_ctx, run_on)
    [invoice] = invoices_of(corner)
    assert (invoice.period_start, invoice.period_end) == (due, last_day)
    assert invoice.issued_on == run_on
    assert sub_of(corner, "devices").next_payment_date == next_due
    assert run(app_ctx, run_on).invoiced == 0  # the same day again bills nothing


def test_chg5_scheduled_price_applies_from_the_first_of_next_month(app_ctx):
    north = account("Northwind Retail")
    add_card(north)
    team = sub_of(north, "team")
    business = Plan.get(Plan.code == "business")
    business_prices = latest_price(business, "USD")  # CAT-2: another plan, its newest version
    PendingChange.create(subscription=team, effective_on=D(2027, 1, 1), plan=business,
                         quantity=2, addon_quantity=1, reason="upgrade at the next payment")
    run(app_ctx, DEC1)
    december = invoices_of(north, subscription=team.id)[0]
    assert [(x.unit_price, x.quantity) for x in lines_of(december)] == [
        (team.price_version.monthly_price, 2), (team.price_version.addon_monthly_price, 1)]
    run(app_ctx, D(2027, 1, 1))
    january = invoices_of(north, subscription=team.id)[1]
    assert [(x.unit_price, x.quantity) for x in lines_of(january)] == [
        (business_prices.monthly_price, 2), (business_prices.addon_monthly_price, 1)]
    assert january.total == money(business_prices.monthly_price * 2
                                  + business_prices.addon_monthly_price)
    assert sub_of(north, "business").id == team.id


def test_chg5_missed_runs_bill_each_month_once_in_order(app_ctx):
    corner = account("Corner Bakeries")
    add_card(corner)
    run(app_ctx, D(2027, 2, 15))
    periods = [(i.period_start, i.period_end) for i in invoices_of(corner)]
    assert periods == [(D(2026, 12, 1), D(2026, 12, 31)), (D(2027, 1, 1), D(2027, 1, 31)),
                       (D(2027, 2, 1), D(2027, 2, 28))]
    assert sub_of(corner, "devices").next_payment_date == D(2027, 3, 1)
    assert run(app_ctx, D(2027, 2, 15)).invoiced == 0


def test_chg6_annual_plan_renews_on_its_date_with_the_downgrade_placed_in_time(app_ctx):
    atelier = account("Atelier Space")
    add_card(atelier)
    sub = sub_of(atelier, "business")
    renewal = sub.next_payment_date
    assert renewal == D(2027, 11, 1)
    PendingChange.create(subscription=sub, effective_on=renewal, quantity=4,
                         reason="downgrade with a month's notice")
    run(app_ctx, DEC1)
    assert invoices_of(atelier) == []  # annual: nothing until the renewal date
    run(app_ctx, renewal)
    [invoice] = invoices_of(atelier)
    plan = sub.price_version
    assert [(x.quantity, x.unit_price) for x in lines_of(invoice)] == [
        (4, plan.annual_price), (2, plan.addon_annual_price)]
    assert invoice.total == money(plan.annual_price * 4 + plan.addon_annual_price * 2)
    assert (invoice.period_start, invoice.period_end) == (D(2027, 11, 1), D(2028, 10, 31))
    assert sub_of(atelier, "business").next_payment_date == D(2028, 11, 1)


def test_chg6_late_annual_downgrade_waits_for_the_following_renewal(app_ctx):
    atelier = account("Atelier Space")
    add_card(atelier)
    sub = sub_of(atelier, "business")
    # Placed less than a month before the 2027 renewal: effective at the 2028 one.
    PendingChange.create(subscription=sub, effective_on=D(2028, 11, 1), quantity=4)
    run(app_ctx, D(2027, 11, 1))
    run(app_ctx, D(2028, 11, 1))
    first, second = invoices_of(atelier)
    assert lines_of(first)[0].quantity == 5 and lines_of(second)[0].quantity == 4


def test_annual_subscription_from_29_february_renews_on_the_28th_and_the_29th(app_ctx):
    atelier = account("Atelier Space")
    add_card(atelier)
    sub = sub_of(atelier, "business")
    sub.started_on, sub.next_payment_date = D(2024, 2, 29), D(2025, 2, 28)
    sub.save()
    expected = [(D(2025, 2, 28), D(2026, 2, 27)), (D(2026, 2, 28), D(2027, 2, 27)),
                (D(2027, 2, 28), D(2028, 2, 28)), (D(2028, 2, 29), D(2029, 2, 27))]
    for start, end in expected:
        run(app_ctx, start)
        assert (invoices_of(atelier)[-1].period_start, invoices_of(atelier)[-1].period_end) == (
            start, end)
    assert sub_of(atelier, "business").next_payment_date == D(2029, 2, 28)


def test_chg6_cancellation_ends_the_subscription_on_its_date(app_ctx):
    corner = account("Corner Bakeries")
    add_card(corner)
    sub = sub_of(corner, "devices")
    PendingChange.create(subscription=sub, effective_on=D(2027, 1, 1), cancel=True)
    run(app_ctx, DEC1)
    report = run(app_ctx, D(2027, 1, 1))
    assert report.ended == 1
    assert len(invoices_of(corner)) == 1
    assert sub_of(corner, "devices").status == "cancelled"
    run(app_ctx, D(2027, 2, 1))
    assert len(invoices_of(corner)) == 1


def test_proration_charges_and_credits_go_on_the_next_invoice_and_credit_carries(app_ctx):
    corner = account("Corner Bakeries")
    add_card(corner)
    sub = sub_of(corner, "devices")
    BillingAdjustment.create(account=corner, subscription=sub, kind="proration",
                             description="Upgrade, 12 of 31 days", amount=Decimal("12.34"))
    BillingAdjustment.create(account=corner, kind="credit", description="Goodwill credit",
                             amount=Decimal("-5.00"))
    run(app_ctx, DEC1)
    [invoice] = invoices_of(corner)
    lines = lines_of(invoice)
    assert [x.kind for x in lines] == ["plan", "proration", "credit"]
    assert invoice.total == money(sum(x.amount for x in lines))
    assert not BillingAdjustment.select().where(BillingAdjustment.invoice.is_null()).exists()
    # A credit larger than the next invoice: nothing is charged, the rest carries on.
    BillingAdjustment.create(account=corner, kind="credit", description="Big credit",
                             amount=Decimal("-60.00"))
    run(app_ctx, D(2027, 1, 1))
    january = invoices_of(corner)[-1]
    assert january.total == Decimal("0.00") and january.status == "paid"
    assert lines_of(january)[-1].kind == "carry"
    carried = BillingAdjustment.get(BillingAdjustment.invoice.is_null())
    plan_amount = lines_of(january)[0].amount
    assert carried.amount == money(plan_amount - Decimal("60.00"))
    run(app_ctx, D(2027, 2, 1))
    assert invoices_of(corner)[-1].total == money(plan_amount + carried.amount)


def test_doc3_every_total_is_the_sum_of_its_lines_in_cents(app_ctx):
    cards_for_demo()
    for day in (DEC1, D(2027, 1, 1), D(2027, 11, 1)):
        run(app_ctx, day)
    for invoice in Invoice.select():
        lines = lines_of(invoice)
        assert invoice.total == sum(x.amount for x in lines)
        for x in lines:
            assert x.amount == money(x.unit_price * x.quantity)
            assert x.amount.as_tuple().exponent == -2
        if invoice.status == "paid":
            assert Receipt.get(Receipt.invoice == invoice.id).amount == invoice.total
    assert Receipt.select().count() >= Invoice.select().count() - 1  # Atelier: 2754 declined


def _numbers(model):
    return [int(n.split("-")[1]) for (n,) in model.select(model.number).tuples()]


def test_numbers_have_no_gap_even_after_a_rolled_back_issue(app_ctx):
    corner = account("Corner Bakeries")
    with pytest.raises(RuntimeError), db.atomic():
        billing.issue_invoice(corner, [billing.Line.flat("proration", "x", "1.00")],
                              day=DEC1)
        raise RuntimeError("the issuing transaction fails after taking a number")
    cards_for_demo()
    due = Subscription.select().where(Subscription.next_payment_date <= DEC1).count()
    run(app_ctx, DEC1)
    run(app_ctx, D(2027, 1, 1))
    for model in (Invoice, Receipt):
        numbers = sorted(_numbers(model))
        assert numbers == list(range(1, len(numbers) + 1))
    assert Invoice.select().count() == 2 * due


def test_one_invoice_per_subscription_and_period_is_a_unique_index(app_ctx):
    cards_for_demo()
    run(app_ctx, DEC1)
    first = Invoice.select().where(Invoice.subscription.is_null(False)).first()
    with pytest.raises(pw.IntegrityError), db.atomic():
        Invoice.create(number="INV-X", account=first.account_id,
                       subscription=first.subscription_id, period_start=first.period_start,
                       period_end=first.period_end, issued_on=DEC1, due_on=DEC1,
                       total=Decimal("1.00"), account_name="x")


def test_an_issued_invoice_never_changes(app_ctx):
    cards_for_demo()
    run(app_ctx, DEC1)
    invoice = Invoice.select().first()
    invoice.total = invoice.total + 1
    with pytest.raises(ImmutableDocument):
        invoice.save()
    # ...not even behind the model's back: the database refuses it too.
    for statement in (Invoice.update(total=Invoice.total + 100),
                      Invoice.update(account_name="someone else"),
                      InvoiceLine.update(amount=0),
                      InvoiceLine.delete(),
                      Receipt.update(amount=0)):
        with pytest.raises(pw.DatabaseError, match="immutable"), db.atomic():
            statement.execute()
    fresh = Invoice.get_by_id(invoice.id)
    assert fresh.total == invoice.total - 1
    fresh.hold_reason = "collection fields may change"  # status, hold reason, dunning
    fresh.save()


def test_batched_usage_counts_exactly_like_the_subscription_page(app_ctx):
    """The run reads many accounts' usage at once: LOC-1, DEV-1, DEV-3 and ACC-4 as
    ``account_usage`` counts them, after RMA marks and removals too."""
    from portal.billing import pricing

    north = account("Northwind Retail")
    york = Location.get((Location.account == north.id) & (Location.name == "York"))
    original = Device.select().where(Device.location == york).first()
    Device.create(account=north, location=york, serial="NW-RMA-9", rma_replacement_of=original)
    leeds = Location.get((Location.account == north.id) & (Location.name == "Leeds Flagship"))
    Device.update(active=False).where(Device.id == Device.select(Device.id)
                                      .where(Device.location == leeds).limit(1)).execute()
    ids = [a.id for a in Account.select()]
    batched = pricing.accounts_usage(ids)
    assert batched == {i: pricing.account_usage(i) for i in ids}
    assert batched[north.id].location_subscriptions == 6  # 8 devices at Leeds now need 2
