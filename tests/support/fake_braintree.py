"""A local fake Braintree gateway: a real HTTP server the real ``braintree`` SDK talks to.

No machine here reaches Braintree, so the tests point the SDK at this server
(``braintree.Environment`` on 127.0.0.1, a random port). It answers the endpoints listed
in ``/work/shared/notes/braintree-offline.md`` with the real gateway's XML shapes: 201
resources, 422 ``<api-error-response>`` documents for validation errors and processor
declines (``<verification>`` or ``<transaction>`` inside), 404 for unknown ids, 401 for
wrong keys, and the transaction search by ``order_id`` that reconciliation needs.

Usage::

    # the fixture comes through pytest_plugins (tests/conftest.py): just name it
    def test_x(fake_braintree, make_app):
        app = make_app(**fake_braintree.portal_config())
        fake_braintree.inject("500", rate=0.3, path="/transactions", after=True, seed=1)

Fault injection knobs (``inject``), each at a set ``rate`` (0..1, seeded) and optionally
limited to a path substring, an HTTP method and a number of ``times``:

- ``"500"``: answer HTTP 500 (the SDK raises ``ServerError``);
- ``"delay"``: answer normally after ``delay`` seconds (a slow gateway);
- ``"timeout"``: say nothing for ``delay`` seconds (default 5), then drop the connection:
  the client's read timeout fires first;
- ``"reset"``: reset the TCP connection (RST) without answering;
- ``"garbled"``: answer 200 with a body that is not XML (a broken proxy, say).

``after=True`` applies the operation first and then fails, so the client cannot know
the outcome (a sale that went through although the caller saw an error): this is what
reconciliation by ``order_id`` must handle. ``stop()`` closes the port, so the next call
gets "connection refused".
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import random
import re
import secrets
import socket
import struct
import threading
import traceback
import warnings
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

with warnings.catch_warnings():  # the SDK warns about its own names when imported
    warnings.simplefilter("ignore", DeprecationWarning)
    import braintree

# nonce -> (card type, bin, last 4, outcome of verify_card)
NONCES = {
    "fake-valid-nonce": ("Visa", "401288", "1881", "verified"),
    "fake-valid-visa-nonce": ("Visa", "411111", "1111", "verified"),
    "fake-valid-amex-nonce": ("American Express", "378282", "0005", "verified"),
    "fake-valid-mastercard-nonce": ("MasterCard", "555555", "4444", "verified"),
    "fake-valid-discover-nonce": ("Discover", "601111", "1117", "verified"),
    "fake-valid-jcb-nonce": ("JCB", "353011", "0000", "verified"),
    "fake-valid-debit-nonce": ("Visa", "400555", "0004", "verified"),
    "fake-valid-prepaid-nonce": ("Visa", "450060", "0009", "verified"),
    "fake-processor-declined-visa-nonce": ("Visa", "400011", "1115", "processor_declined"),
    "fake-processor-declined-mastercard-nonce": ("MasterCard", "510510", "5100",
                                                 "processor_declined"),
    "fake-processor-declined-amex-nonce": ("American Express", "378734", "1000",
                                           "processor_declined"),
    "fake-processor-declined-discover-nonce": ("Discover", "601100", "9424",
                                               "processor_declined"),
    "fake-processor-failure-jcb-nonce": ("JCB", "356600", "0505", "failed"),
    "fake-gateway-rejected-fraud-nonce": ("Visa", "400000", "0028", "gateway_rejected"),
}
CONSUMED_NONCE = "fake-consumed-nonce"
LUHN_INVALID_NONCE = "fake-luhn-invalid-nonce"
DECLINE_TEXT = {"2000": "Do Not Honor", "2001": "Insufficient Funds",
                "2002": "Limit Exceeded", "2004": "Expired Card"}
FAULT_KINDS = ("500", "delay", "timeout", "reset", "garbled")


# ---------------------------------------------------------------- XML both ways
def to_xml(tag: str, value) -> str:
    """One element in the gateway's style: dashed tags, ``type`` attributes, ``nil``."""
    tag = tag.replace("_", "-")
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(to_xml(k, v) for k, v in value.items()) + f"</{tag}>"
    if isinstance(value, tuple):  # (item tag, [items]): an array of resources
        item_tag, items = value
        return (f'<{tag} type="array">' + "".join(to_xml(item_tag, i) for i in items)
                + f"</{tag}>")
    if isinstance(value, list):
        return f'<{tag} type="array">' + "".join(to_xml("item", i) for i in value) + f"</{tag}>"
    if value is None:
        return f'<{tag} nil="true"/>'
    if isinstance(value, bool):
        return f'<{tag} type="boolean">{str(value).lower()}</{tag}>'
    if isinstance(value, int):
        return f'<{tag} type="integer">{value}</{tag}>'
    if isinstance(value, dt.datetime):
        return f'<{tag} type="datetime">{value.strftime("%Y-%m-%dT%H:%M:%SZ")}</{tag}>'
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<{tag}>{text}</{tag}>"


def from_xml(body: bytes) -> dict:
    """The SDK's request body as ``{root: {...}}`` with underscore keys."""
    if not body.strip():
        return {}
    root = ET.fromstring(body)

    def value(el):
        kind = el.get("type")
        if kind == "array":
            return [value(child) for child in el]
        if len(el):
            return {child.tag.replace("-", "_"): value(child) for child in el}
        text = el.text or ""
        if kind == "boolean":
            return text == "true"
        if kind == "integer":
            return int(text)
        return text

    return {root.tag.replace("-", "_"): value(root)}


def error_response(message: str, errors: dict | None = None, **extra) -> str:
    """A 422 ``<api-error-response>``; ``errors`` is ``{object: [(attribute, code, msg)]}``."""
    inner = '<errors type="array"/>'
    for obj, items in (errors or {}).items():
        inner += (f"<{obj.replace('_', '-')}><errors type=\"array\">"
                  + "".join(to_xml("error", {"attribute": a, "code": c, "message": m})
                            for a, c, m in items)
                  + f"</errors></{obj.replace('_', '-')}>")
    body = f"<errors>{inner}</errors>" + to_xml("message", message)
    body += "".join(to_xml(k, v) for k, v in extra.items())
    return f"<api-error-response>{body}</api-error-response>"


def _params(data: dict, key: str) -> dict:
    """``data[key]`` as a dict (an empty element parses to "")."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


class _Fault:
    def __init__(self, kind, rate, path, method, after, delay, times):
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        self.kind, self.rate, self.path, self.method = kind, rate, path, method
        self.after, self.delay, self.times = after, delay, times

    def matches(self, method, path):
        return ((not self.method or self.method == method) and self.path in path
                and (self.times is None or self.times > 0))


class FakeBraintree:
    """The fake gateway's state and its HTTP server (start with ``start()`` or ``with``)."""

    def __init__(self, merchant_id="portal_merchant", public_key="fake_public_key",
                 private_key="fake_private_key", card_expiry=("12", "2030")):
        self.merchant_id, self.public_key, self.private_key = merchant_id, public_key, private_key
        self.card_expiry = card_expiry
        self.customers: dict[str, dict] = {}
        self.payment_methods: dict[str, dict] = {}  # token -> card (customer_id inside)
        self.transactions: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path): never bodies
        self.injected: list[tuple[str, str, str]] = []  # (kind, method, path)
        self._faults: list[_Fault] = []
        self._random = random.Random(0)
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._server = None
        self._thread = None
        self._port = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> FakeBraintree:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._port = self._server.server_address[1]
        self._closing.clear()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name="fake-braintree")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port: further calls get "connection refused"."""
        if self._server is not None:
            self._closing.set()
            self._server.shutdown()
            self._server.server_close()
            self._server.drop_connections()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # ------------------------------------------------------------ for tests
    def environment(self) -> braintree.Environment:
        return braintree.Environment("fake", "127.0.0.1", str(self.port), self.url, False, None)

    def gateway(self, timeout=5) -> braintree.BraintreeGateway:
        """A real SDK gateway pointed at this server."""
        return braintree.BraintreeGateway(braintree.Configuration(
            environment=self.environment(), merchant_id=self.merchant_id,
            public_key=self.public_key, private_key=self.private_key, timeout=timeout,
            wrap_http_exceptions=True))

    def portal_config(self, timeout="2") -> dict:
        """The portal settings (app.config keys) that select this server."""
        return {"GATEWAY": "braintree", "BRAINTREE_ENVIRONMENT": self.url,
                "BRAINTREE_MERCHANT_ID": self.merchant_id,
                "BRAINTREE_PUBLIC_KEY": self.public_key,
                "BRAINTREE_PRIVATE_KEY": self.private_key, "BRAINTREE_TIMEOUT": timeout}

    def webhook(self, kind: str, subject_id: str) -> dict:
        """A genuinely signed notification (``bt_signature``, ``bt_payload``) from the SDK."""
        return self.gateway().webhook_testing.sample_notification(kind, subject_id)

    def inject(self, kind: str, rate: float = 1.0, *, path: str = "", method: str | None = None,
               after: bool = False, delay: float | None = None, times: int | None = None,
               seed: int | None = None) -> None:
        """Fail a share of the matching requests (see the module docstring)."""
        if delay is None:
            delay = 5.0 if kind == "timeout" else 0.5
        with self._lock:
            if seed is not None:
                self._random = random.Random(seed)
            self._faults.append(_Fault(kind, rate, path, method, after, delay, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def settle(self, transaction_id: str) -> None:
        with self._lock:
            self.transactions[transaction_id]["status"] = "settled"

    def transactions_with_order_id(self, order_id: str) -> list[dict]:
        with self._lock:
            return [t for t in self.transactions.values() if t.get("order_id") == order_id]

    def _pick_fault(self, method, path):
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path) and self._random.random() < fault.rate:
                    if fault.times is not None:
                        fault.times -= 1
                    self.injected.append((fault.kind, method, path))
                    return fault
        return None

    # ------------------------------------------------------------ resources
    def _card(self, token):
        card = self.payment_methods[token]
        return {"token": token, "customer_id": card["customer_id"], "card_type": card["card_type"],
                "bin": card["bin"], "last_4": card["last_4"],
                "expiration_month": card["expiration_month"],
                "expiration_year": card["expiration_year"], "expired": False,
                "default": card["default"], "unique_number_identifier": card["unique"],
                "created_at": card["created_at"]}

    def _customer(self, customer_id):
        customer = self.customers[customer_id]
        cards = [self._card(t) for t, c in self.payment_methods.items()
                 if c["customer_id"] == customer_id]
        return {"id": customer_id, "first_name": customer.get("first_name"),
                "last_name": customer.get("last_name"), "email": customer.get("email"),
                "created_at": customer["created_at"], "credit_cards": ("credit-card", cards),
                "addresses": ("address", [])}

    def _transaction(self, txn):
        body = {k: v for k, v in txn.items() if k not in ("card_token", "customer_id")}
        if txn.get("card_token") in self.payment_methods:
            body["credit_card"] = self._card(txn["card_token"])
        else:
            body["credit_card"] = txn.get("card_snapshot") or {"expired": False}
        body["customer"] = {"id": txn.get("customer_id")}
        return body

    def _new_card(self, customer_id, nonce_facts, make_default, token=None):
        card_type, bin_, last4, _ = nonce_facts
        token = token or secrets.token_hex(4)
        has_cards = any(c["customer_id"] == customer_id for c in self.payment_methods.values())
        if make_default or not has_cards:
            for other in self.payment_methods.values():
                if other["customer_id"] == customer_id:
                    other["default"] = False
        self.payment_methods[token] = {
            "customer_id": customer_id, "card_type": card_type, "bin": bin_, "last_4": last4,
            "expiration_month": self.card_expiry[0], "expiration_year": self.card_expiry[1],
            "default": bool(make_default or not has_cards), "unique": secrets.token_hex(8),
            "created_at": dt.datetime.utcnow()}
        return token

    def _verification(self, facts, status):
        card_type, bin_, last4, _ = facts
        code, text = {"processor_declined": ("2000", "Do Not Honor"),
                      "failed": ("3000", "Processor Network Unavailable - Try Again"),
                      "gateway_rejected": ("", "")}[status]
        return {"id": secrets.token_hex(4), "status": status, "amount": "0.00",
                "currency_iso_code": "USD",
                "processor_response_code": code or None, "processor_response_text": text or None,
                "gateway_rejection_reason": "fraud" if status == "gateway_rejected" else None,
                "credit_card": {"card_type": card_type, "bin": bin_, "last_4": last4,
                                "expiration_month": self.card_expiry[0],
                                "expiration_year": self.card_expiry[1]},
                "created_at": dt.datetime.utcnow()}

    # ------------------------------------------------------------ endpoints
    def handle(self, method: str, path: str, data: dict):
        """Route one request; return (status, xml text)."""
        routes = (
            ("POST", r"/client_token", self.client_token),
            ("POST", r"/customers", self.create_customer),
            ("GET", r"/customers/([^/]+)", self.find_customer),
            ("DELETE", r"/customers/([^/]+)", self.delete_customer),
            ("GET", r"/payment_method_nonces/([^/?]+)", self.find_nonce),
            ("POST", r"/payment_methods", self.create_payment_method),
            ("GET", r"/payment_methods/(?:any|credit_card)/([^/?]+)", self.find_payment_method),
            ("PUT", r"/payment_methods/(?:any|credit_card)/([^/?]+)",
             self.update_payment_method),
            ("DELETE", r"/payment_methods/(?:any|credit_card)/([^/?]+)",
             self.delete_payment_method),
            ("POST", r"/transactions", self.sale),
            ("POST", r"/transactions/advanced_search_ids", self.search_ids),
            ("POST", r"/transactions/advanced_search", self.search),
            ("GET", r"/transactions/([^/]+)", self.find_transaction),
            ("PUT", r"/transactions/([^/]+)/void", self.void),
            ("PUT", r"/transactions/([^/]+)/submit_for_settlement", self.submit),
            ("PUT", r"/transactions/([^/]+)/settle", self.settle_endpoint),
            ("POST", r"/transactions/([^/]+)/refund", self.refund),
        )
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path.split("?")[0])
            if verb == method and match:
                with self._lock:
                    return handler(data, *match.groups())
        return 404, ""

    def client_token(self, data):
        token = base64.b64encode(json.dumps({
            "version": 2, "authorizationFingerprint": secrets.token_hex(16),
            "configUrl": f"{self.url}/merchants/{self.merchant_id}/client_api/v1/configuration",
        }).encode()).decode()
        return 201, to_xml("client_token", {"value": token})

    def create_customer(self, data):
        params = _params(data, "customer")
        customer_id = str(self._random.randrange(10**8, 10**9))
        self.customers[customer_id] = {k: params.get(k) for k in ("first_name", "last_name",
                                                                  "email")}
        self.customers[customer_id]["created_at"] = dt.datetime.utcnow()
        return 201, to_xml("customer", self._customer(customer_id))

    def find_customer(self, data, customer_id):
        if customer_id not in self.customers:
            return 404, ""
        return 200, to_xml("customer", self._customer(customer_id))

    def delete_customer(self, data, customer_id):
        if self.customers.pop(customer_id, None) is None:
            return 404, ""
        for token in [t for t, c in self.payment_methods.items()
                      if c["customer_id"] == customer_id]:
            del self.payment_methods[token]
        return 200, ""

    def find_nonce(self, data, nonce):
        """``payment_method_nonce.find``: what the nonce carries (``details.card_type``),
        without storing anything. A used nonce says ``consumed``; an unknown one is 404."""
        if nonce == CONSUMED_NONCE:
            return 200, to_xml("payment_method_nonce", {
                "nonce": nonce, "type": "CreditCard", "consumed": True, "default": False,
                "details": {"card_type": "Visa", "last_two": "81", "last_four": "1881"}})
        facts = NONCES.get(nonce) or (("Visa", "411111", "1112", "verified")
                                      if nonce == LUHN_INVALID_NONCE else None)
        if facts is None:
            return 404, ""
        card_type, bin_, last4, _ = facts
        return 200, to_xml("payment_method_nonce", {
            "nonce": nonce, "type": "CreditCard", "consumed": False, "default": False,
            "details": {"card_type": card_type, "bin": bin_, "last_two": last4[-2:],
                        "last_four": last4, "expiration_month": self.card_expiry[0],
                        "expiration_year": self.card_expiry[1]}})

    def vault_requests(self) -> list[tuple[str, str]]:
        """Requests that would store something: customers and payment methods created."""
        return [(m, p) for m, p in self.requests if m == "POST" and
                p.split("?")[0].endswith(("/payment_methods", "/customers"))]

    def create_payment_method(self, data):
        params = _params(data, "payment_method")
        nonce = params.get("payment_method_nonce", "")
        options = _params(params, "options")
        customer_id = params.get("customer_id", "")
        if customer_id not in self.customers:
            return 422, error_response("Customer ID is invalid.", {
                "payment_method": [("customer_id", "93105", "Customer ID is invalid.")]})
        if not nonce:
            return 422, error_response("Nonce is required.", {
                "payment_method": [("payment_method_nonce", "93103", "Nonce is required.")]})
        if params.get("token") in self.payment_methods:
            return 422, error_response("Token is in use.", {
                "credit_card": [("token", "91719", "Token is in use.")]})
        if nonce == CONSUMED_NONCE:
            msg = "Cannot use a payment_method_nonce more than once."
            return 422, error_response(msg, {
                "payment_method": [("payment_method_nonce", "93107", msg)]})
        if nonce == LUHN_INVALID_NONCE:
            msg = "Credit card number must be 12-19 digits."
            return 422, error_response(msg, {"credit_card": [("number", "81716", msg)]})
        if nonce not in NONCES:
            msg = "Unknown payment_method_nonce."
            return 422, error_response(msg, {
                "payment_method": [("payment_method_nonce", "93108", msg)]})
        facts = NONCES[nonce]
        if facts[3] != "verified" and options.get("verify_card"):
            verification = self._verification(facts, facts[3])
            message = verification["processor_response_text"] or "Gateway Rejected: fraud"
            return 422, error_response(message, verification=verification)
        token = self._new_card(customer_id, facts, bool(options.get("make_default")),
                               params.get("token"))
        return 201, to_xml("credit_card", self._card(token))

    def find_payment_method(self, data, token):
        if token not in self.payment_methods:
            return 404, ""
        return 200, to_xml("credit_card", self._card(token))

    def update_payment_method(self, data, token):
        if token not in self.payment_methods:
            return 404, ""
        options = _params(_params(data, "payment_method"), "options")
        if options.get("make_default"):
            card = self.payment_methods[token]
            for other in self.payment_methods.values():
                if other["customer_id"] == card["customer_id"]:
                    other["default"] = False
            card["default"] = True
        return 200, to_xml("credit_card", self._card(token))

    def delete_payment_method(self, data, token):
        if self.payment_methods.pop(token, None) is None:
            return 404, ""
        return 200, ""

    def sale(self, data):
        params = _params(data, "transaction")
        try:
            amount = Decimal(params.get("amount") or "x").quantize(Decimal("0.01"))
        except InvalidOperation:
            msg = "Amount is required."
            return 422, error_response(msg, {"transaction": [("amount", "81502", msg)]})
        token = params.get("payment_method_token")
        if token and token not in self.payment_methods:
            msg = "Payment method token is invalid."
            return 422, error_response(msg, {
                "transaction": [("payment_method_token", "91518", msg)]})
        if not token:
            msg = "Payment method token or nonce is required."
            return 422, error_response(msg, {
                "transaction": [("base", "91508", msg)]})
        card = self.payment_methods[token]
        submit = bool(_params(params, "options").get("submit_for_settlement"))
        txn = {"id": secrets.token_hex(4), "type": "sale", "amount": str(amount),
               "currency_iso_code": "USD", "order_id": params.get("order_id"),
               "merchant_account_id": self.merchant_id, "payment_instrument_type": "credit_card",
               "created_at": dt.datetime.utcnow(), "updated_at": dt.datetime.utcnow(),
               "card_token": token, "customer_id": card["customer_id"],
               "refund_ids": [], "refunded_transaction_id": None,
               "gateway_rejection_reason": None}
        code = int(amount)
        if 2000 <= code <= 2999:
            text = DECLINE_TEXT.get(str(code), "Processor Declined")
            txn.update(status="processor_declined", processor_response_code=str(code),
                       processor_response_text=text, processor_response_type="soft_declined")
        elif code == 3000:
            text = "Processor Network Unavailable - Try Again"
            txn.update(status="failed", processor_response_code="3000",
                       processor_response_text=text, processor_response_type="soft_declined")
        elif amount == Decimal("5001.00"):
            text = "Gateway Rejected: application_incomplete"
            txn.update(status="gateway_rejected", processor_response_code=None,
                       processor_response_text=None, processor_response_type=None,
                       gateway_rejection_reason="application_incomplete")
        else:
            txn.update(status="submitted_for_settlement" if submit else "authorized",
                       processor_response_code="1000", processor_response_text="Approved",
                       processor_response_type="approved")
            self.transactions[txn["id"]] = txn
            return 201, to_xml("transaction", self._transaction(txn))
        self.transactions[txn["id"]] = txn
        return 422, error_response(text, transaction=self._transaction(txn))

    def _criteria_match(self, txn, criteria):
        for name, condition in criteria.items():
            value = txn.get(name) if name != "ids" else txn["id"]
            if isinstance(condition, list):  # ids / status: membership
                if value not in condition:
                    return False
            elif isinstance(condition, dict):
                value = value or ""
                tests = {"is": lambda v, x: v == x, "is_not": lambda v, x: v != x,
                         "starts_with": lambda v, x: v.startswith(x),
                         "ends_with": lambda v, x: v.endswith(x),
                         "contains": lambda v, x: x in v}
                for op, expected in condition.items():
                    if op in tests and not tests[op](value, expected):
                        return False
        return True

    def search_ids(self, data):
        criteria = _params(data, "search")
        ids = [t["id"] for t in self.transactions.values() if self._criteria_match(t, criteria)]
        return 200, to_xml("search_results", {"page_size": 50, "ids": ids})

    def search(self, data):
        criteria = _params(data, "search")
        found = [self._transaction(t) for t in self.transactions.values()
                 if self._criteria_match(t, criteria)]
        inner = "".join(to_xml("transaction", t) for t in found)
        return 200, ('<credit-card-transactions type="collection">'
                     f'<current-page-number type="integer">1</current-page-number>'
                     f'<page-size type="integer">50</page-size>'
                     f'<total-items type="integer">{len(found)}</total-items>'
                     f"{inner}</credit-card-transactions>")

    def find_transaction(self, data, txn_id):
        if txn_id not in self.transactions:
            return 404, ""
        return 200, to_xml("transaction", self._transaction(self.transactions[txn_id]))

    def void(self, data, txn_id):
        txn = self.transactions.get(txn_id)
        if txn is None:
            return 404, ""
        if txn["status"] not in ("authorized", "submitted_for_settlement", "settlement_pending"):
            msg = ("Transaction can only be voided if status is authorized, "
                   "submitted_for_settlement, or - for PayPal - settlement_pending.")
            return 422, error_response(msg, {"transaction": [("base", "91504", msg)]})
        txn["status"] = "voided"
        return 200, to_xml("transaction", self._transaction(txn))

    def submit(self, data, txn_id):
        txn = self.transactions.get(txn_id)
        if txn is None:
            return 404, ""
        if txn["status"] != "authorized":
            msg = "Cannot submit for settlement unless status is authorized."
            return 422, error_response(msg, {"transaction": [("base", "91507", msg)]})
        txn["status"] = "submitted_for_settlement"
        return 200, to_xml("transaction", self._transaction(txn))

    def settle_endpoint(self, data, txn_id):
        txn = self.transactions.get(txn_id)
        if txn is None:
            return 404, ""
        txn["status"] = "settled"
        return 200, to_xml("transaction", self._transaction(txn))

    def refund(self, data, txn_id):
        txn = self.transactions.get(txn_id)
        if txn is None:
            return 404, ""
        if txn["status"] not in ("settled", "settling"):
            msg = "Cannot refund a transaction unless it is settled."
            return 422, error_response(msg, {"transaction": [("base", "91506", msg)]})
        params = _params(data, "transaction")
        amount = Decimal(params.get("amount") or txn["amount"]).quantize(Decimal("0.01"))
        refunded = sum((Decimal(self.transactions[r]["amount"]) for r in txn["refund_ids"]),
                       Decimal("0"))
        if refunded + amount > Decimal(txn["amount"]):
            msg = "Refund amount is too large."
            return 422, error_response(msg, {"transaction": [("amount", "91521", msg)]})
        credit = dict(txn, id=secrets.token_hex(4), type="credit", amount=str(amount),
                      status="submitted_for_settlement", refunded_transaction_id=txn_id,
                      refund_ids=[], order_id=params.get("order_id") or txn.get("order_id"),
                      created_at=dt.datetime.utcnow())
        self.transactions[credit["id"]] = credit
        txn["refund_ids"] = txn["refund_ids"] + [credit["id"]]
        return 201, to_xml("transaction", self._transaction(credit))


class _Server(ThreadingHTTPServer):
    """Remembers its open connections, so ``stop()`` also ends keep-alive ones."""

    daemon_threads = True

    def __init__(self, *args):
        super().__init__(*args)
        self.connections: set[socket.socket] = set()

    def get_request(self):
        sock, addr = super().get_request()
        self.connections.add(sock)
        return sock, addr

    def shutdown_request(self, request):
        self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self):
        for sock in list(self.connections):
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass
        self.connections.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's requests.Session expects

    def log_message(self, fmt, *args):  # quiet: tests read the app's logs, not ours
        pass

    def _reply(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _serve(self, method):
        fake: FakeBraintree = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        prefix = f"/merchants/{fake.merchant_id}"
        path = self.path
        fake.requests.append((method, path))
        expected = "Basic " + base64.b64encode(
            f"{fake.public_key}:{fake.private_key}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._reply(401, "")
        if not path.startswith(prefix + "/"):
            return self._reply(404, "")
        path = path[len(prefix):]
        fault = fake._pick_fault(method, path)
        if fault and fault.kind == "delay":  # slow, then a normal answer
            fake._closing.wait(fault.delay)
            fault = None
        if fault and not fault.after:
            return self._fail(fault)
        try:
            status, text = fake.handle(method, path, from_xml(raw))
        except ET.ParseError:
            status, text = 400, ""
        except Exception:  # a bug in the fake: say so loudly, answer like the gateway would
            traceback.print_exc()
            status, text = 500, ""
        if fault:  # applied, but the client never learns the outcome
            return self._fail(fault)
        self._reply(status, text)

    def _fail(self, fault):
        if fault.kind == "500":
            return self._reply(500, "<html><body>Internal Server Error</body></html>")
        if fault.kind == "reset":
            return self._reset()
        if fault.kind == "garbled":
            return self._reply(200, "<html><body>Gateway Maintenance")
        self.server.fake._closing.wait(fault.delay)  # "timeout": silence, then hang up
        self.close_connection = True
        return None

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


@pytest.fixture
def fake_braintree():
    """A fake Braintree server on 127.0.0.1 (random port) for this test; stopped after."""
    with FakeBraintree() as fake:
        yield fake
