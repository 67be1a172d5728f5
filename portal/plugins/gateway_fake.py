"""The offline ``fake`` gateway: Braintree's test nonces, no network (demo and tests).

It follows Braintree's sandbox behaviour: the nonce decides the card, amounts from
2000.00 to 2999.99 are processor-declined with the amount as code, and a charge is
found again by its idempotency key. State lives in memory of this process.
"""
from __future__ import annotations

import secrets
import threading
from decimal import Decimal

from ..gateways import AMEX, MASTERCARD, VISA, Card, Gateway, Result, Status
from ..hookspecs import hookimpl

# nonce -> (brand, last four, declined on verification)
TEST_NONCES = {
    "fake-valid-visa-nonce": (VISA, "1881", False),
    "fake-valid-nonce": (VISA, "1881", False),
    "fake-valid-amex-nonce": (AMEX, "0005", False),
    "fake-valid-mastercard-nonce": (MASTERCARD, "4444", False),
    "fake-valid-discover-nonce": ("Discover", "1117", False),
    "fake-valid-jcb-nonce": ("JCB", "0000", False),
    "fake-processor-declined-visa-nonce": (VISA, "0115", True),
    "fake-processor-declined-mastercard-nonce": (MASTERCARD, "5100", True),
}
CONSUMED = "fake-consumed-nonce"


class FakeGateway(Gateway):
    name = "fake"
    label = "Test cards (offline)"

    def __init__(self):
        self._lock = threading.Lock()
        self._cards: dict[str, Card] = {}
        self._charges: dict[str, Result] = {}

    def client_snippet(self, *, client_token=None) -> str:
        from flask import render_template

        return render_template("gateways/_fake_nonces.html", nonces=TEST_NONCES)

    def vault(self, customer_id, nonce, *, email=""):
        with self._lock:
            if nonce == CONSUMED:
                return Result(Status.ERROR, "Cannot use a payment_method_nonce more than once.")
            if nonce not in TEST_NONCES:
                return Result(Status.ERROR, "Unknown payment_method_nonce.")
            brand, last4, declined = TEST_NONCES[nonce]
            if declined:
                return Result(Status.DECLINED, "Do Not Honor")
            customer_id = customer_id or f"cust_{secrets.token_hex(6)}"
            card = Card(f"tok_{secrets.token_hex(8)}", brand, last4, 12, 2030)
            self._cards[card.token] = card
            return Result(Status.APPROVED, "Approved", card=card, customer_id=customer_id)

    def remove(self, token):
        with self._lock:
            self._cards.pop(token, None)
        return Result(Status.APPROVED, "Removed")

    def charge(self, token, amount: Decimal, idempotency_key: str):
        with self._lock:
            if idempotency_key in self._charges:
                return self._charges[idempotency_key]
            if Decimal("2000") <= amount < Decimal("3000"):
                result = Result(Status.DECLINED, "Do Not Honor", amount=amount,
                                extra={"code": str(int(amount))})
            else:
                result = Result(Status.APPROVED, "Approved", amount=amount,
                                transaction_id=f"txn_{secrets.token_hex(6)}")
            self._charges[idempotency_key] = result
            return result

    def find_by_idempotency_key(self, idempotency_key):
        with self._lock:
            return self._charges.get(idempotency_key) or Result(Status.UNKNOWN, "no such charge")

    def refund(self, transaction_id, amount=None):
        return Result(Status.APPROVED, "Refunded", transaction_id=f"ref_{transaction_id}")

    def void(self, transaction_id):
        return Result(Status.APPROVED, "Voided", transaction_id=transaction_id)


_instance = FakeGateway()


@hookimpl(trylast=True)
def portal_register_gateways(register, config):
    register(_instance)
