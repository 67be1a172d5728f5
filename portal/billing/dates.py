"""Calendar rules for payment dates (rule CHG-5): pure functions on datetime.date."""
from __future__ import annotations

import calendar
import datetime as dt

from ..statuses import Interval


def first_of_next_month(day: dt.date) -> dt.date:
    """Monthly plans are billed on the first day of each month (rule CHG-5)."""
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def days_in_month(year: int, month: int) -> int:
    """28 to 31: the number of days of ``month`` in ``year``."""
    return calendar.monthrange(year, month)[1]


def last_of_month(year: int, month: int) -> dt.date:
    """The month's last day: a card that expires 02/2028 is good until 29 Feb 2028."""
    return dt.date(year, month, days_in_month(year, month))


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, days_in_month(year, month)))


def add_years(day: dt.date, years: int = 1) -> dt.date:
    """Annual renewal date: 29 Feb renews on 28 Feb in a common year."""
    return add_months(day, 12 * years)


def next_payment_date(interval: str, start: dt.date) -> dt.date:
    """First payment date after a subscription starts on ``start``."""
    return first_of_next_month(start) if interval == Interval.MONTHLY else add_years(start)
