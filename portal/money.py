"""Money as Decimal with two decimals (rule DOC-3): never floats. The currency is never
implied: it travels beside every amount (an account's, an invoice's or a price version's
``currency``; rule CAT-1).

The value type below both the tables (``models.MoneyField`` stores cents) and the billing
engine (``portal.billing.money`` re-exports it): pure Python, it imports nothing of the
portal."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value) -> Decimal:
    """Return ``value`` as a Decimal rounded half-up to the cent; floats are refused."""
    if isinstance(value, float):
        raise TypeError("money must not be a float (rule DOC-3); pass a str, int or Decimal")
    try:
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of money: {value!r}") from exc


def to_cents(value) -> int:
    """Integer cents for storage."""
    return int(money(value) * 100)


def from_cents(cents: int) -> Decimal:
    """A Decimal amount from stored integer minor units (cents)."""
    return (Decimal(int(cents)) / 100).quantize(CENT)


def currency_problem(value) -> tuple[str, str | None]:
    """(the ISO 4217 code upper-cased, None) or (as given, why it cannot be an account's or
    a price's currency): a known code with two decimals (CAT-1, DOC-3: amounts are stored
    in cents)."""
    from babel.numbers import get_currency_precision, is_currency

    code = str(value or "").strip().upper()
    if len(code) != 3 or not is_currency(code):
        return str(value or ""), f"{value!r} is not an ISO 4217 currency code"
    if get_currency_precision(code) != 2:
        return code, f"{code} does not have two decimals; not supported"
    return code, None
