"""Quantities and estimates: rules LOC-1, LOC-2, USE-1, USE-2, DEV-3, SUB-2, DOC-3."""
from decimal import Decimal

import pytest

from portal.billing import pricing, renewals
from portal.billing.money import from_cents, money, to_cents
from portal.models import Account, Device, Location, Plan, PriceVersion, Subscription


@pytest.mark.parametrize("devices, needed", [(0, 1), (1, 1), (4, 1), (5, 2), (8, 2), (9, 3),
                                              (12, 3), (13, 4), (400, 100)])
def test_loc1_one_subscription_per_started_group_of_four(devices, needed):
    assert pricing.location_subscriptions_for(devices) == needed


def test_loc1_negative_count_is_refused():
    with pytest.raises(ValueError):
        pricing.location_subscriptions_for(-1)


def test_loc2_total_is_summed_over_locations_not_pooled():
    # 3 + 3 devices in two shops need 2 subscriptions, not ceil(6/4) = 2 by luck: use 5 + 5.
    assert pricing.location_subscriptions_total([5, 5]) == 4
    assert pricing.location_subscriptions_total([9, 3, 2, 0, 1]) == 7


def northwind():
    return Account.get(Account.name == "Northwind Retail")


def test_use1_loc1_demo_chain_usage_counted_by_database(app_ctx):
    usage = pricing.account_usage(northwind().id)
    assert usage.devices == 15
    assert usage.locations == 5
    assert usage.location_subscriptions == 7  # 3 + 1 + 1 + 1 (empty shop) + 1
    assert usage.seats == 2


def test_loc1_location_without_device_still_counts_one(app_ctx):
    acct = northwind()
    before = pricing.account_usage(acct.id).location_subscriptions
    Location.create(account=acct, name="Empty", external_id="empty")
    assert pricing.account_usage(acct.id).location_subscriptions == before + 1


def test_dev1_removed_device_and_location_stop_counting(app_ctx):
    acct = northwind()
    leeds = Location.get((Location.account == acct) & (Location.name == "Leeds Flagship"))
    device = Device.select().where(Device.location == leeds).first()
    device.active = False
    device.save()
    usage = pricing.account_usage(acct.id)
    assert (usage.devices, usage.location_subscriptions) == (14, 6)  # 8 devices -> 2 subs
    leeds.active = False
    leeds.save()
    usage = pricing.account_usage(acct.id)
    assert (usage.devices, usage.locations, usage.location_subscriptions) == (6, 4, 4)


def test_dev3_rma_replacement_not_counted_on_top_of_original(app_ctx):
    acct = northwind()
    york = Location.get((Location.account == acct) & (Location.name == "York"))
    original = Device.select().where(Device.location == york).first()
    Device.create(account=acct, location=york, serial="NW-RMA-1", rma_replacement_of=original)
    usage = pricing.account_usage(acct.id)
    assert usage.devices == 15 and usage.location_subscriptions == 7
    original.active = False  # the broken device goes back: the replacement now counts
    original.save()
    usage = pricing.account_usage(acct.id)
    assert usage.devices == 15 and usage.location_subscriptions == 7


def test_loc2_usage_is_per_account_never_mixed(app_ctx):
    corner = Account.get(Account.name == "Corner Bakeries")
    assert pricing.account_usage(corner.id).devices == 3


@pytest.mark.parametrize("used, subscribed, state, parts", [
    (3, 5, "ok", (3, 2, 0)), (5, 5, "full", (5, 0, 0)), (7, 6, "over", (6, 0, 1)),
    (0, 1, "ok", (0, 1, 0)), (0, 0, "full", (0, 0, 0))])
def test_use2_bar_parts_green_grey_yellow(used, subscribed, state, parts):
    item = pricing.UsageItem("x", "devices", used, subscribed)
    assert item.state == state
    assert (item.in_plan, item.available, item.over) == parts
    expected_total = 100 if used or subscribed else 0
    assert abs(sum(item.widths()) - expected_total) <= Decimal("0.01")


def test_use2_bar_widths_proportional():
    g, a, o = pricing.UsageItem("x", "locations", 7, 6).widths()
    assert (g, a, o) == (Decimal("85.71"), Decimal("0.00"), Decimal("14.29"))


def test_sub2_estimate_uses_live_usage_for_location_plans(app_ctx):
    sub = (Subscription.select().join(Plan).where((Subscription.account == northwind())
                                                 & (Plan.kind == "location")).get())
    estimate = renewals.next_charge(sub, pricing.account_usage(sub.account_id))
    assert estimate.quantity == 7
    assert estimate.total == Decimal("343.00")  # 7 x 49.00, not the 6 subscribed


def test_sub2_estimate_for_seats_counts_bought_seats_and_addons(app_ctx):
    atelier = Account.get(Account.name == "Atelier Space")
    sub = Subscription.get(Subscription.account == atelier)
    estimate = renewals.next_charge(sub, pricing.account_usage(atelier.id))
    assert (estimate.quantity, estimate.addon_quantity) == (5, 2)
    assert estimate.total == Decimal("2754.00")  # 5 x 486.00 + 2 x 162.00


def test_doc3_money_is_decimal_never_float():
    assert money("10.005") == Decimal("10.01")
    assert to_cents("12.34") == 1234 and from_cents(1234) == Decimal("12.34")
    with pytest.raises(TypeError):
        money(0.1)
    with pytest.raises(ValueError):
        money("ten")


def test_doc3_money_field_round_trips_exact_cents(app_ctx):
    plan = Plan.create(code="odd", name="Odd", kind="device")
    version = PriceVersion.create(plan=plan, currency="EUR", number=1, monthly_price="0.07",
                                  annual_price="1234567.89")
    again = PriceVersion.get_by_id(version.id)
    assert again.monthly_price == Decimal("0.07")
    assert again.annual_price == Decimal("1234567.89")
