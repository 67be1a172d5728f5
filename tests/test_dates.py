"""Payment dates: rule CHG-5 (monthly on the 1st, annual on the renewal date)."""
import datetime as dt

import pytest

from portal.billing.dates import (add_months, add_years, first_of_next_month, last_of_month,
                                  next_payment_date)


@pytest.mark.parametrize("day, expected", [
    (dt.date(2026, 1, 31), dt.date(2026, 2, 1)),
    (dt.date(2026, 12, 31), dt.date(2027, 1, 1)),
    (dt.date(2028, 2, 29), dt.date(2028, 3, 1)),
    (dt.date(2026, 3, 1), dt.date(2026, 4, 1)),
])
def test_chg5_monthly_plans_pay_on_first_of_next_month(day, expected):
    assert first_of_next_month(day) == expected
    assert next_payment_date("monthly", day) == expected


def test_chg5_annual_renewal_from_leap_day_clamps_to_28_feb():
    assert add_years(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)
    assert next_payment_date("annual", dt.date(2026, 11, 1)) == dt.date(2027, 11, 1)


def test_add_months_clamps_to_month_end():
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2027, 12, 15), -12) == dt.date(2026, 12, 15)


@pytest.mark.parametrize("year, month, last", [(2028, 2, 29), (2027, 2, 28), (2026, 12, 31),
                                               (2026, 11, 30)])
def test_last_of_month_is_the_day_a_card_expiring_that_month_still_works(year, month, last):
    assert last_of_month(year, month) == dt.date(year, month, last)
