"""The offline ``fake`` gateway: Braintree's test nonces, no network (demo and tests).

It follows Braintree's sandbox behaviour: the nonce decides the card, amounts from
2000.00 to 2999.99 are processor-declined with the amount as code, and a charge is
found again by its idempotency key.

State lives in the memory of this process and is not persisted: the fake is for the
demo (one process) and tests. Under gunicorn with several workers each worker has its
own memory, so a charge made by one worker is not found by another's lookup; test
several processes against the fake Braintree server (tests/support/fake_braintree.py) instead.
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
    "fake-processor-declined-amex-nonce": (AMEX, "1000", True),
}
CONSUMED = "fake-consumed-nonce"
EXPIRY = (12, 2030)


class FakeGateway(Gateway):
    name = "fake"
    label = "Test cards (offline)"

    def __init__(self):
        self._lock = threading.Lock()
        self._cards: dict[str, Card] = {}
        self._charges: dict[str, Result] = {}
        #: every nonce ``vault`` was asked to store (tests: a refused brand never is)
        self.vaulted_nonces: list[str] = []

    def client_snippet(self, *, client_token=None, error=None) -> str:
        from flask import render_template

        return render_template("gateways/_fake_nonces.html", nonces=TEST_NONCES, error=error)

    def describe_nonce(self, nonce):
        if nonce == CONSUMED:
            return Result(Status.ERROR, "Cannot use a payment_method_nonce more than once.",
                          extra={"codes": ["93107"]})
        if nonce not in TEST_NONCES:
            return Result(Status.ERROR, "Unknown payment_method_nonce.",
                          extra={"codes": ["93108"]})
        brand, last4, _declined = TEST_NONCES[nonce]
        return Result(Status.APPROVED, "Described", card=Card("", brand, last4, *EXPIRY))

    def vault(self, customer_id, nonce, *, email="", make_default=False):
        with self._lock:
            self.vaulted_nonces.append(nonce)
            customer_id = customer_id or f"cust_{secrets.token_hex(6)}"
            if nonce == CONSUMED:
                return Result(Status.ERROR, "Cannot use a payment_method_nonce more than once.",
                              customer_id=customer_id, extra={"codes": ["93107"]})
            if nonce not in TEST_NONCES:
                return Result(Status.ERROR, "Unknown payment_method_nonce.",
                              customer_id=customer_id, extra={"codes": ["93108"]})
            brand, last4, declined = TEST_NONCES[nonce]
            if declined:
                return Result(Status.DECLINED, "Do Not Honor", customer_id=customer_id,
                              extra={"code": "2000"})
            card = Card(f"tok_{secrets.token_hex(8)}", brand, last4, *EXPIRY)
            self._cards[card.token] = card
            return Result(Status.APPROVED, "Approved", card=card, customer_id=customer_id)

    def remove(self, token):
        with self._lock:
            self._cards.pop(token, None)
        return Result(Status.APPROVED, "Removed")

    def stored_tokens(self) -> set[str]:
        """Tokens vaulted here and not removed (for tests: nothing must stay stored)."""
        with self._lock:
            return set(self._cards)

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
            found = self._charges.get(idempotency_key)
        if found is None:
            return Result(Status.UNKNOWN, "no such charge", extra={"found": False})
        return Result(found.status, found.message, transaction_id=found.transaction_id,
                      amount=found.amount, extra={**found.extra, "found": True})

    def refund(self, transaction_id, amount=None):
        return Result(Status.APPROVED, "Refunded", transaction_id=f"ref_{transaction_id}")

    def void(self, transaction_id):
        return Result(Status.APPROVED, "Voided", transaction_id=transaction_id)


_instance = FakeGateway()


@hookimpl(trylast=True)
def portal_register_gateways(register, config):
    register(_instance)
