"""The billing engine's name for the money value type, which lives in ``portal.money``
(below the tables and the engine alike): Decimal, two decimals, its currency beside it
(rule DOC-3)."""
from ..money import CENT, ZERO, from_cents, money, to_cents

__all__ = ["CENT", "ZERO", "from_cents", "money", "to_cents"]
