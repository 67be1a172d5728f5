"""The billing engine's name for the money value type, which lives in ``portal.money``
(below the tables and the engine alike): Decimal USD, two decimals (rule DOC-3)."""
from ..money import CENT, CURRENCY, ZERO, from_cents, money, to_cents

__all__ = ["CENT", "CURRENCY", "ZERO", "from_cents", "money", "to_cents"]
