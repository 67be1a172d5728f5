"""The plan-change rules as pure functions (CHG-3..CHG-8, DOC-3), with dates at the edges:
the last day of a month, 31 Jan -> 1 Feb, leap years, a renewal exactly one month away
and one day less."""
import datetime as dt
from decimal import Decimal

import pytest

from portal.billing import changes
from portal.billing.changes import (current_period, next_payment_on, notice_deadline,
                                    preview_change, prorate, total)
from portal.billing.money import money
from portal.billing.pricing import Usage
from portal.billing.quotes import valid_until
from portal.models import Plan, PriceVersion

D = dt.date
TEAM = Plan(id=1, code="team", name="Team", kind="seat", rank=1, available=True)
BUSINESS = Plan(id=2, code="business", name="Business", kind="seat", rank=2, available=True)
DEVICES = Plan(id=3, code="devices", name="Devices", kind="device", rank=1, available=True)
LOCATIONS = Plan(id=4, code="locations", name="Locations", kind="location", rank=1,
                 available=True)
OLD = Plan(id=5, code="old", name="Old", kind="seat", rank=0, available=False)
# CAT-1, CAT-2: each plan's USD prices, version 1 (in memory: these rules read no database).
PRICES = {plan.id: PriceVersion(id=plan.id, plan=plan, currency="USD", number=1,
                                monthly_price=Decimal(m), annual_price=Decimal(a),
                                addon_monthly_price=Decimal(am), addon_annual_price=Decimal(aa))
          for plan, m, a, am, aa in ((TEAM, "25.00", "270.00", "10.00", "108.00"),
                                     (BUSINESS, "45.00", "486.00", "15.00", "162.00"),
                                     (DEVICES, "15.00", "162.00", "0", "0"),
                                     (LOCATIONS, "49.00", "529.00", "0", "0"),
                                     (OLD, "5.00", "50.00", "0", "0"))}


def Terms(plan, interval, quantity, addon_quantity=0):  # noqa: N802 (the real one, priced)
    """Terms at the plan's version-1 USD prices."""
    return changes.Terms(plan, interval, quantity, addon_quantity, PRICES[plan.id])


def usage(seats=3, addons=1, devices=9, location_subscriptions=4):
    return Usage(devices=devices, locations=3, location_subscriptions=location_subscriptions,
                 seats=seats, addon_licenses=addons)


def preview(current, wanted, today, npd=None, cancel=False, **use):
    npd = npd or (D(today.year + (today.month == 12), today.month % 12 + 1, 1)
                  if current.interval == "monthly" else None)
    return preview_change(current, wanted, today=today, next_payment_date=npd,
                          usage=usage(**use), cancel=cancel)


# --- CHG-5: effective dates ---------------------------------------------------------------

@pytest.mark.parametrize("today, expected", [
    (D(2027, 1, 31), D(2027, 2, 1)),   # 31 Jan -> 1 Feb
    (D(2027, 2, 1), D(2027, 3, 1)),    # first day: the whole month still ahead
    (D(2026, 12, 31), D(2027, 1, 1)),  # year end
    (D(2028, 2, 29), D(2028, 3, 1)),   # leap day
])
def test_chg5_monthly_downgrade_price_applies_first_of_next_month(today, expected):
    p = preview(Terms(BUSINESS, "monthly", 5, 1), Terms(TEAM, "monthly", 5, 1), today)
    assert p.ok and p.change == "downgrade"
    assert p.price_from == expected and p.renewal == expected
    assert p.due_now == 0 and not p.apply_now


def test_chg5_annual_downgrade_applies_at_the_renewal_date():
    p = preview(Terms(BUSINESS, "annual", 5, 1), Terms(TEAM, "annual", 5, 1), D(2026, 11, 23),
                npd=D(2027, 11, 1))
    assert p.ok and p.price_from == D(2027, 11, 1) and not p.late_notice


def test_chg5_annual_renewal_rolls_on_when_the_stored_date_is_past():
    assert next_payment_on("annual", D(2027, 11, 2), D(2027, 11, 1)) == D(2028, 11, 1)
    assert next_payment_on("annual", D(2027, 11, 1), D(2027, 11, 1)) == D(2028, 11, 1)
    assert next_payment_on("annual", D(2027, 10, 31), D(2027, 11, 1)) == D(2027, 11, 1)


# --- CHG-6: one month's notice for annual downgrades -----------------------------------------

@pytest.mark.parametrize("today, renewal, late", [
    (D(2026, 11, 23), D(2026, 12, 23), False),  # exactly one month away: in time
    (D(2026, 11, 23), D(2026, 12, 22), True),   # one day less: late
    (D(2027, 2, 28), D(2027, 3, 31), False),    # 31 Mar: the deadline clamps to 28 Feb
    (D(2027, 3, 1), D(2027, 3, 31), True),
    (D(2028, 1, 29), D(2028, 2, 29), False),    # leap-day renewal: deadline 29 Jan
    (D(2028, 1, 30), D(2028, 2, 29), True),
    (D(2027, 1, 28), D(2027, 2, 28), False),    # 28 Feb renewal: deadline 28 Jan
    (D(2027, 1, 31), D(2027, 2, 28), True),     # 31 Jan is already late for it
])
def test_chg6_annual_downgrade_notice_edges(today, renewal, late):
    deadline = notice_deadline(renewal)
    assert (today > deadline) is late
    p = preview(Terms(BUSINESS, "annual", 5, 1), Terms(TEAM, "annual", 5, 1), today,
                npd=renewal)
    assert p.ok and p.late_notice is late and p.deadline == deadline
    following = D(renewal.year + 1, renewal.month, 28 if renewal.day == 29 else renewal.day)
    assert p.price_from == (following if late else renewal)
    assert p.reduce_now is (not late)  # CHG-4 unless the whole change waits (CHG-6)


def test_chg6_deadline_clamps_to_month_end():
    assert notice_deadline(D(2027, 3, 31)) == D(2027, 2, 28)
    assert notice_deadline(D(2028, 3, 31)) == D(2028, 2, 29)
    assert notice_deadline(D(2027, 2, 28)) == D(2027, 1, 28)


def test_chg6_late_annual_cancellation_ends_after_the_following_year():
    p = preview(Terms(TEAM, "annual", 3, 1), Terms(TEAM, "annual", 3, 1), D(2027, 10, 15),
                npd=D(2027, 11, 1), cancel=True)
    assert p.change == "cancel" and p.late_notice
    assert p.price_from == D(2028, 11, 1) and p.ends_on == D(2028, 10, 31)
    assert p.recurring_after == 0 and p.lines_after == ()


def test_chg6_leaving_annual_billing_needs_notice_but_joining_does_not():
    late = preview(Terms(TEAM, "annual", 3, 1), Terms(TEAM, "monthly", 3, 1), D(2027, 10, 15),
                   npd=D(2027, 11, 1))
    assert late.change == "interval" and late.late_notice and late.price_from == D(2028, 11, 1)
    joining = preview(Terms(TEAM, "monthly", 3, 1), Terms(TEAM, "annual", 3, 1),
                      D(2027, 1, 31))
    assert joining.change == "interval" and not joining.late_notice
    assert joining.price_from == D(2027, 2, 1) and joining.deadline is None


def test_chg6_does_not_apply_to_monthly_plans_even_on_the_last_day():
    p = preview(Terms(BUSINESS, "monthly", 5, 1), Terms(TEAM, "monthly", 5, 1), D(2027, 1, 31))
    assert not p.late_notice and p.deadline is None and p.price_from == D(2027, 2, 1)


def test_chg5_monthly_cancellation_ends_on_the_last_day_of_the_month():
    p = preview(Terms(TEAM, "monthly", 3, 1), Terms(TEAM, "monthly", 3, 1), D(2028, 2, 10),
                cancel=True)
    assert p.ends_on == D(2028, 2, 29) and p.price_from == D(2028, 3, 1)


# --- CHG-3: the seat floor ----------------------------------------------------------------

def test_chg3_downgrade_cannot_go_below_active_users():
    below = preview(Terms(TEAM, "monthly", 5, 1), Terms(TEAM, "monthly", 2, 1),
                    D(2026, 11, 23), seats=3)
    assert below.errors["quantity"] == ("seat_floor", {"active": 3, "surplus": 1})
    assert below.surplus_seats == 1 and not below.ok
    at_floor = preview(Terms(TEAM, "monthly", 5, 1), Terms(TEAM, "monthly", 3, 1),
                       D(2026, 11, 23), seats=3)
    assert at_floor.ok and at_floor.change == "downgrade"


def test_chg3_addon_licenses_cannot_go_below_their_active_holders():
    p = preview(Terms(TEAM, "monthly", 5, 2), Terms(TEAM, "monthly", 5, 0), D(2026, 11, 23),
                addons=2)
    assert p.errors["addon_quantity"] == ("addon_floor", {"active": 2, "surplus": 2})
    assert p.surplus_addons == 2 and p.surplus_seats == 0


def test_chg3_floor_also_holds_when_a_higher_plan_lowers_the_seats():
    p = preview(Terms(TEAM, "monthly", 10, 0), Terms(BUSINESS, "monthly", 6, 0),
                D(2026, 11, 23), seats=8, addons=0)
    assert p.change == "upgrade" and p.errors["quantity"][0] == "seat_floor"


def test_chg3_an_over_allocated_subscription_may_still_grow():
    p = preview(Terms(TEAM, "monthly", 2, 0), Terms(TEAM, "monthly", 3, 0), D(2026, 11, 23),
                seats=5, addons=0)
    assert p.ok and p.change == "upgrade"


# --- CHG-8: proration by days ---------------------------------------------------------------

def test_chg8_upgrade_charges_the_difference_for_the_days_left_today_included():
    p = preview(Terms(TEAM, "monthly", 2, 1), Terms(BUSINESS, "monthly", 2, 1), D(2026, 11, 23))
    assert p.change == "upgrade" and p.apply_now and p.price_from == D(2026, 11, 23)
    assert (p.days_left, p.period_days) == (8, 30)
    assert p.recurring_before == Decimal("60.00") and p.recurring_after == Decimal("105.00")
    assert p.due_now == Decimal("12.00")  # 45 x 8 / 30


@pytest.mark.parametrize("today, start, end, difference, expected", [
    (D(2027, 1, 31), D(2027, 1, 1), D(2027, 2, 1), "20.00", "0.65"),   # last day: 1/31
    (D(2027, 2, 1), D(2027, 2, 1), D(2027, 3, 1), "20.00", "20.00"),   # first day: all
    (D(2027, 2, 15), D(2027, 2, 1), D(2027, 3, 1), "20.01", "10.01"),  # 10.005 half-up
    (D(2027, 2, 15), D(2027, 2, 1), D(2027, 3, 1), "0.01", "0.01"),    # 0.005 half-up
    (D(2027, 2, 15), D(2027, 2, 1), D(2027, 3, 1), "0.03", "0.02"),    # 0.015 half-up
    (D(2028, 2, 28), D(2028, 2, 1), D(2028, 3, 1), "29.00", "2.00"),   # leap February
    (D(2028, 10, 31), D(2027, 11, 1), D(2028, 11, 1), "366.00", "1.00"),  # 366-day year
    (D(2027, 10, 31), D(2026, 11, 1), D(2027, 11, 1), "365.00", "1.00"),
])
def test_chg8_prorate_rounds_once_half_up_to_the_cent(today, start, end, difference,
                                                      expected):
    assert prorate(Decimal(difference), today, start, end) == Decimal(expected)


def test_chg8_prorate_refuses_floats_and_days_outside_the_period():
    with pytest.raises(TypeError):
        prorate(1.5, D(2027, 2, 15), D(2027, 2, 1), D(2027, 3, 1))
    with pytest.raises(ValueError):
        prorate(Decimal("1"), D(2027, 3, 1), D(2027, 2, 1), D(2027, 3, 1))


def test_chg8_annual_period_spans_leap_day():
    assert current_period("annual", D(2028, 2, 29), D(2028, 11, 1)) == (D(2027, 11, 1),
                                                                         D(2028, 11, 1))
    p = preview(Terms(TEAM, "annual", 2, 0), Terms(TEAM, "annual", 3, 0), D(2028, 10, 31),
                npd=D(2028, 11, 1), seats=2, addons=0)
    assert (p.days_left, p.period_days) == (1, 366) and p.due_now == money("0.74")  # 270/366


# --- classification and bad input ----------------------------------------------------------

def test_chg4_downgrade_reduces_seats_and_licenses_now():
    p = preview(Terms(BUSINESS, "monthly", 6, 2), Terms(BUSINESS, "monthly", 4, 1),
                D(2026, 11, 23), seats=3, addons=1)
    assert p.change == "downgrade" and p.reduce_now and not p.apply_now


@pytest.mark.parametrize("wanted, field, code", [
    (Terms(TEAM, "monthly", 0, 0), "quantity", "quantity_range"),
    (Terms(TEAM, "monthly", -3, 0), "quantity", "quantity_range"),
    (Terms(TEAM, "monthly", 10_001, 0), "quantity", "quantity_range"),
    (Terms(TEAM, "monthly", 3, -1), "addon_quantity", "quantity_range"),
    (Terms(TEAM, "monthly", 3, 4), "addon_quantity", "addons_over_seats"),
    (Terms(TEAM, "weekly", 3, 0), "interval", "interval_unknown"),
    (Terms(DEVICES, "monthly", 3, 0), "plan", "plan_other_family"),
    (Terms(OLD, "monthly", 3, 0), "plan", "plan_unavailable"),
    (Terms(TEAM, "annual", 4, 1), "interval", "interval_alone"),
    (Terms(TEAM, "monthly", 3, 1), "form", "no_change"),
    (Terms(TEAM, "monthly", 2, 2), "form", "mixed_change"),  # cheaper, yet one more add-on
])
def test_refused_requests_say_which_field_and_why(wanted, field, code):
    p = preview(Terms(TEAM, "monthly", 3, 1), wanted, D(2026, 11, 23), seats=1, addons=0)
    assert not p.ok and p.errors[field][0] == code


def test_usage_plans_follow_the_platform_not_a_typed_quantity():
    p = preview(Terms(DEVICES, "monthly", 5, 0), Terms(LOCATIONS, "monthly", 999, 7),
                D(2026, 11, 23), devices=9, location_subscriptions=4)
    assert p.new.quantity == 4 and p.new.addon_quantity == 0  # LOC-2
    assert p.recurring_before == Decimal("135.00")  # 9 devices x $15
    assert p.recurring_after == Decimal("196.00") and p.change == "upgrade"
    assert p.usage_plan and p.due_now == money(Decimal("61.00") * 8 / 30)


def test_doc3_lines_sum_to_the_recurring_total_in_cents():
    p = preview(Terms(TEAM, "annual", 3, 1), Terms(BUSINESS, "annual", 7, 3), D(2026, 11, 23),
                npd=D(2027, 11, 1))
    assert [(line.key, line.quantity, line.unit_price, line.amount) for line in p.lines_after] \
        == [("plan", 7, Decimal("486.00"), Decimal("3402.00")),
            ("addon", 3, Decimal("162.00"), Decimal("486.00"))]
    assert total(p.lines_after) == p.recurring_after == Decimal("3888.00")
    for amount in (p.recurring_after, p.recurring_before, p.due_now):
        assert isinstance(amount, Decimal) and amount.as_tuple().exponent == -2


# --- quote validity (DOC-2) -----------------------------------------------------------------

def test_doc2_quote_valid_30_days_but_not_past_the_period_or_the_notice_deadline():
    monthly = preview(Terms(TEAM, "monthly", 2, 1), Terms(TEAM, "monthly", 4, 1),
                      D(2026, 11, 23))
    assert valid_until(monthly, D(2026, 11, 23)) == D(2026, 11, 30)
    last_day = preview(Terms(TEAM, "monthly", 2, 1), Terms(TEAM, "monthly", 4, 1),
                       D(2027, 1, 31))
    assert valid_until(last_day, D(2027, 1, 31)) == D(2027, 1, 31)
    annual_up = preview(Terms(TEAM, "annual", 2, 1), Terms(TEAM, "annual", 4, 1),
                        D(2026, 11, 23), npd=D(2027, 11, 1))
    assert valid_until(annual_up, D(2026, 11, 23)) == D(2026, 12, 23)
    in_time = preview(Terms(BUSINESS, "annual", 5, 1), Terms(TEAM, "annual", 5, 1),
                      D(2026, 11, 23), npd=D(2026, 12, 30))
    assert valid_until(in_time, D(2026, 11, 23)) == D(2026, 11, 30)  # the notice deadline
