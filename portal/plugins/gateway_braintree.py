"""The ``braintree`` gateway on the real ``braintree`` SDK.

Customer created on the first card; a nonce is first looked up
(``payment_method_nonce.find``) so that a refused brand is never vaulted; cards vaulted
with ``payment_method.create`` (``verify_card``, ``make_default``); charges are
``transaction.sale`` with ``submit_for_settlement`` and our idempotency key as
``order_id``, so a charge whose outcome is unknown is found again with a transaction
search; refunds fall back to a void while the sale is not settled; webhooks are verified
by the SDK.

Settings (PORTAL_BRAINTREE_*): ENVIRONMENT is ``sandbox``, ``production`` or the URL of
a Braintree-compatible server (``http://127.0.0.1:8765``: the fake server of the test
suite); MERCHANT_ID, PUBLIC_KEY, PRIVATE_KEY; TIMEOUT in seconds. In sandbox and
production the add-card form is Braintree's Drop-in (the only outside script, allowed by
the CSP on that page alone); with a URL it is a list of Braintree's test nonces.
"""
from __future__ import annotations

import hashlib
import logging
import json
import re
import secrets
import warnings
from xml.parsers.expat import ExpatError
from decimal import Decimal
from urllib.parse import urlsplit

with warnings.catch_warnings():  # the SDK warns about its own names when imported
    warnings.simplefilter("ignore", DeprecationWarning)
    import braintree
from braintree.exceptions import (AuthenticationError, AuthorizationError,
                                  InvalidSignatureError, NotFoundError)
from braintree.exceptions.braintree_error import BraintreeError  # the base of them all
from braintree.exceptions.http import ConnectionError as BTConnectionError
from braintree.exceptions.http.timeout_error import ConnectTimeoutError

from ..billing.money import money
from ..gateways import (Card, ConfigurationError, Gateway, Result, Status, WebhookError,
                        WebhookEvent)
from ..hookspecs import hookimpl

log = logging.getLogger("portal.gateways.braintree")
NONCE_IN_PATH = re.compile(r"(/payment_method_nonces/)[^/?\s\"]+")


class _HideNonces(logging.Filter):
    """``payment_method_nonce.find`` puts the nonce in the URL path, which the HTTP
    client (urllib3) logs at DEBUG: rule PAY-2 keeps nonces out of the logs."""

    def filter(self, record):
        if isinstance(record.args, tuple):
            record.args = tuple(NONCE_IN_PATH.sub(r"\1[nonce]", a) if isinstance(a, str)
                                else a for a in record.args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_HideNonces())

CREDENTIALS = ("BRAINTREE_MERCHANT_ID", "BRAINTREE_PUBLIC_KEY", "BRAINTREE_PRIVATE_KEY")
DROPIN_VERSION = "1.46.0"
DROPIN_SCRIPT = f"https://js.braintreegateway.com/web/dropin/{DROPIN_VERSION}/js/dropin.min.js"
# Sale statuses that mean the money is (being) collected.
COLLECTED = {"authorized", "authorizing", "submitted_for_settlement", "settling", "settled",
             "settlement_pending", "settlement_confirmed"}
NOT_SETTLED = "91506"  # Cannot refund a transaction unless it is settled.
BAD_CUSTOMER = "93105"  # Customer ID is invalid.
# What a call to the gateway raises when the gateway fails: the SDK's own errors (with
# wrap_http_exceptions, every network failure of its HTTP client is one of them: timeouts,
# refused or reset connections) and an answer it cannot read (XML or JSON). Anything else
# is a bug of ours and is raised, not reported as an outage.
GATEWAY_FAILURES = (BraintreeError, ExpatError, json.JSONDecodeError)
# A webhook's payload is the gateway's base64 XML: undecodable or of the wrong shape.
UNREADABLE_PAYLOAD = GATEWAY_FAILURES + (ValueError, KeyError)


def parse_environment(value: str) -> tuple[braintree.Environment, str]:
    """``sandbox`` / ``production`` / a URL -> (SDK environment, mode name)."""
    value = (value or "").strip()
    if value in ("sandbox", "production"):
        return braintree.Environment.parse_environment(value), value
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        port = str(parts.port or (443 if parts.scheme == "https" else 80))
        base = f"{parts.scheme}://{parts.hostname}:{port}"
        return (braintree.Environment("custom", parts.hostname, port, base,
                                      parts.scheme == "https", None), "custom")
    raise ConfigurationError(
        f"PORTAL_BRAINTREE_ENVIRONMENT={value!r}: use sandbox, production or the URL of a "
        "Braintree-compatible server such as http://127.0.0.1:8765")


class BraintreeGateway(Gateway):
    name = "braintree"
    label = "Card (Braintree)"

    def __init__(self, environment: str, merchant_id: str, public_key: str, private_key: str,
                 timeout: float = 20.0, dropin: bool | None = None):
        env, self.mode = parse_environment(environment)
        self.dropin = self.mode != "custom" if dropin is None else dropin
        self.sdk = braintree.BraintreeGateway(braintree.Configuration(
            environment=env, merchant_id=merchant_id, public_key=public_key,
            private_key=private_key, timeout=timeout, wrap_http_exceptions=True))

    @classmethod
    def from_config(cls, config) -> BraintreeGateway:
        """Build from PORTAL_BRAINTREE_* settings; a missing one is named in the error."""
        missing = [f"PORTAL_{name}" for name in CREDENTIALS if not config.get(name)]
        if missing:
            raise ConfigurationError(
                f"the braintree gateway needs {', '.join(missing)}: set "
                f"{'it' if len(missing) == 1 else 'them'} (see README, Configuration)")
        try:
            timeout = float(config.get("BRAINTREE_TIMEOUT") or 20)
        except ValueError:
            raise ConfigurationError("PORTAL_BRAINTREE_TIMEOUT must be a number of "
                                     "seconds") from None
        return cls(config.get("BRAINTREE_ENVIRONMENT") or "sandbox",
                   config["BRAINTREE_MERCHANT_ID"], config["BRAINTREE_PUBLIC_KEY"],
                   config["BRAINTREE_PRIVATE_KEY"], timeout=timeout)

    # ------------------------------------------------------------ failures
    def _failure(self, exc: BaseException, operation: str, *, may_have_happened: bool) -> Result:
        """A Result for an exception from the SDK; never the request body in the log."""
        if isinstance(exc, (AuthenticationError, AuthorizationError)):
            log.error("braintree refused our credentials during %s: %s", operation,
                      type(exc).__name__)
            return Result(Status.ERROR, "the gateway refused the portal's API keys")
        not_sent = isinstance(exc, ConnectTimeoutError) or (
            isinstance(exc, BTConnectionError) and "NewConnectionError" in repr(exc))
        log.warning("braintree %s failed: %s", operation, type(exc).__name__)
        if may_have_happened and not not_sent:
            return Result(Status.UNKNOWN, f"no answer from the gateway ({type(exc).__name__})")
        return Result(Status.ERROR, f"the gateway is unavailable ({type(exc).__name__})")

    @staticmethod
    def _codes(result) -> list[str]:
        return [e.code for e in result.errors.deep_errors]

    # ------------------------------------------------------------ client side
    def client_token(self, customer_id=None):
        try:
            return self.sdk.client_token.generate({"customer_id": customer_id}
                                                  if customer_id else {})
        except GATEWAY_FAILURES as exc:  # the page says the form cannot load; no crash
            self._failure(exc, "client token", may_have_happened=False)
            return None

    def client_snippet(self, *, client_token=None, error=None) -> str:
        from flask import render_template

        if self.dropin:
            return render_template("gateways/_braintree_dropin.html", client_token=client_token,
                                   error=error)
        from .gateway_fake import TEST_NONCES

        return render_template("gateways/_fake_nonces.html", nonces=TEST_NONCES, error=error)

    def script_sources(self):
        return ("https://js.braintreegateway.com",) if self.dropin else ()

    def csp_sources(self):
        if not self.dropin:
            return {}
        sandbox = ".sandbox" if self.mode != "production" else ""
        assets = "https://assets.braintreegateway.com"
        return {"script-src": self.script_sources(), "style-src": (assets,),
                "img-src": (assets,), "frame-src": (assets,),
                "connect-src": (f"https://api{sandbox}.braintreegateway.com",
                                f"https://client-analytics{sandbox}.braintreegateway.com",
                                f"https://payments{sandbox}.braintree-api.com")}

    # ------------------------------------------------------------ cards
    def describe_nonce(self, nonce):
        """The card behind a nonce from ``payment_method_nonce.find`` (its ``details``
        carry the card type): the portal refuses a brand before anything is vaulted."""
        try:
            found = self.sdk.payment_method_nonce.find(nonce)
        except NotFoundError:
            return Result(Status.ERROR, "Unknown payment_method_nonce.",
                          extra={"codes": ["93108"]})
        except GATEWAY_FAILURES as exc:
            return self._failure(exc, "nonce lookup", may_have_happened=False)
        if getattr(found, "consumed", False):
            return Result(Status.ERROR, "Cannot use a payment_method_nonce more than once.",
                          extra={"codes": ["93107"]})
        details = getattr(found, "details", None)
        details = details if isinstance(details, dict) else {}
        # A card says its type; anything else (PayPal, Venmo...) is named by its kind.
        brand = details.get("card_type") or getattr(found, "type", None) or "unknown"
        last4 = str(details.get("last_four") or "")
        card = Card("", brand, last4, _int(details.get("expiration_month")),
                    _int(details.get("expiration_year")))
        return Result(Status.APPROVED, "Described", card=card)

    def vault(self, customer_id, nonce, *, email="", make_default=False):
        try:
            if not customer_id:
                created = self.sdk.customer.create({"email": email} if email else {})
                if not created.is_success:
                    return Result(Status.ERROR, created.message,
                                  extra={"codes": self._codes(created)})
                customer_id = created.customer.id
        except GATEWAY_FAILURES as exc:
            return self._failure(exc, "vault", may_have_happened=False)
        # Our own token: if the answer is lost, the card that may exist can be deleted.
        token = f"pm{secrets.token_hex(12)}"
        try:
            result = self.sdk.payment_method.create({
                "customer_id": customer_id, "payment_method_nonce": nonce, "token": token,
                "options": {"verify_card": True, "make_default": bool(make_default)}})
        except GATEWAY_FAILURES as exc:
            failure = self._failure(exc, "vault", may_have_happened=True)
            if failure.status is Status.UNKNOWN and not self.remove(token).ok:
                log.warning("a card may remain vaulted at braintree under token %s", token)
            return Result(Status.ERROR, failure.message, customer_id=customer_id)
        if not result.is_success and BAD_CUSTOMER in self._codes(result):
            # The customer was deleted at Braintree: start a new one, once.
            return self.vault(None, nonce, email=email, make_default=make_default)
        if result.is_success:
            method = result.payment_method
            brand = getattr(method, "card_type", None) or type(method).__name__
            card = Card(method.token, brand, getattr(method, "last_4", "") or "",
                        _int(getattr(method, "expiration_month", None)),
                        _int(getattr(method, "expiration_year", None)))
            return Result(Status.APPROVED, "Approved", card=card, customer_id=customer_id)
        verification = result.credit_card_verification
        if verification is not None:
            return Result(Status.DECLINED,
                          verification.processor_response_text or result.message,
                          customer_id=customer_id,
                          extra={"code": verification.processor_response_code
                                 or verification.gateway_rejection_reason,
                                 "verification_status": verification.status})
        return Result(Status.ERROR, result.message, customer_id=customer_id,
                      extra={"codes": self._codes(result)})

    def remove(self, token):
        try:
            self.sdk.payment_method.delete(token)
        except NotFoundError:
            return Result(Status.APPROVED, "already removed at the gateway")
        except GATEWAY_FAILURES as exc:
            return self._failure(exc, "remove", may_have_happened=False)
        return Result(Status.APPROVED, "Removed")

    def make_default(self, token):
        try:
            result = self.sdk.payment_method.update(token, {"options": {"make_default": True}})
        except GATEWAY_FAILURES as exc:
            return self._failure(exc, "make default", may_have_happened=False)
        if result.is_success:
            return Result(Status.APPROVED, "Default")
        return Result(Status.ERROR, result.message, extra={"codes": self._codes(result)})

    # ------------------------------------------------------------ money
    def _transaction_result(self, txn, message="") -> Result:
        status = (Status.APPROVED if txn.status in COLLECTED
                  else Status.ERROR if txn.status == "failed" else Status.DECLINED)
        return Result(status, message or txn.processor_response_text or txn.status,
                      transaction_id=txn.id, amount=Decimal(txn.amount),
                      extra={"gateway_status": txn.status,
                             "code": txn.processor_response_code
                             or getattr(txn, "gateway_rejection_reason", None)})

    def charge(self, token, amount, idempotency_key):
        try:
            result = self.sdk.transaction.sale({
                "amount": str(money(amount)), "payment_method_token": token,
                "order_id": idempotency_key, "options": {"submit_for_settlement": True}})
        except GATEWAY_FAILURES as exc:
            return self._failure(exc, "charge", may_have_happened=True)
        if result.is_success:
            return self._transaction_result(result.transaction)
        if result.transaction is not None:
            return self._transaction_result(result.transaction, result.message)
        return Result(Status.ERROR, result.message, extra={"codes": self._codes(result)})

    def find_by_idempotency_key(self, idempotency_key):
        try:
            found = [t for t in self.sdk.transaction.search(
                braintree.TransactionSearch.order_id == idempotency_key) if t.type == "sale"]
        except GATEWAY_FAILURES as exc:
            return self._failure(exc, "lookup", may_have_happened=False)
        if not found:
            return Result(Status.UNKNOWN, "no charge with this key", extra={"found": False})
        found.sort(key=lambda t: t.status not in COLLECTED)  # a collected one first
        result = self._transaction_result(found[0])
        return Result(result.status, result.message, transaction_id=result.transaction_id,
                      amount=result.amount,
                      extra={**result.extra, "found": True,
                             "transaction_ids": [t.id for t in found]})

    def refund(self, transaction_id, amount=None):
        try:
            result = (self.sdk.transaction.refund(transaction_id, str(money(amount)))
                      if amount is not None else self.sdk.transaction.refund(transaction_id))
        except NotFoundError:
            return Result(Status.ERROR, "no such transaction")
        except GATEWAY_FAILURES as exc:
            return self._failure(exc, "refund", may_have_happened=True)
        if result.is_success:
            return Result(Status.APPROVED, "Refunded", transaction_id=result.transaction.id,
                          amount=Decimal(result.transaction.amount))
        if NOT_SETTLED in self._codes(result) and amount is None:
            voided = self.void(transaction_id)  # not settled yet: cancel it instead
            return Result(voided.status, voided.message, transaction_id=voided.transaction_id,
                          extra={**voided.extra, "voided_instead": True})
        return Result(Status.DECLINED, result.message, extra={"codes": self._codes(result)})

    def void(self, transaction_id):
        try:
            result = self.sdk.transaction.void(transaction_id)
        except NotFoundError:
            return Result(Status.ERROR, "no such transaction")
        except GATEWAY_FAILURES as exc:
            return self._failure(exc, "void", may_have_happened=True)
        if result.is_success:
            return Result(Status.APPROVED, "Voided", transaction_id=result.transaction.id)
        return Result(Status.DECLINED, result.message, extra={"codes": self._codes(result)})

    # ------------------------------------------------------------ webhooks
    def parse_webhook(self, form):
        signature, payload = form.get("bt_signature"), form.get("bt_payload")
        if not signature or not payload:
            raise WebhookError("bt_signature and bt_payload are required")
        try:
            notification = self.sdk.webhook_notification.parse(signature, payload)
        except InvalidSignatureError as exc:
            raise WebhookError(f"signature refused: {exc}") from None
        except UNREADABLE_PAYLOAD as exc:
            raise WebhookError(f"unreadable notification: {type(exc).__name__}") from None
        subject_id, data = "", {}
        if getattr(notification, "transaction", None) is not None:
            txn = notification.transaction
            subject_id = txn.id
            data = {"status": txn.status, "amount": str(txn.amount),
                    "order_id": getattr(txn, "order_id", None)}
        elif getattr(notification, "revoked_payment_method_metadata", None) is not None:
            meta = notification.revoked_payment_method_metadata
            subject_id, data = meta.token, {"customer_id": meta.customer_id}
        raw = payload if isinstance(payload, bytes) else payload.encode()
        digest = hashlib.sha256(raw.strip()).hexdigest()
        return [WebhookEvent(notification.kind, subject_id,
                             notification.timestamp.isoformat(), data, id=digest)]


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_instances: dict[tuple, BraintreeGateway] = {}


def gateway_for(config) -> BraintreeGateway:
    """One gateway (and HTTP connection pool) per distinct settings, built once."""
    key = tuple(config.get(n) for n in ("BRAINTREE_ENVIRONMENT", *CREDENTIALS,
                                        "BRAINTREE_TIMEOUT"))
    if key not in _instances:
        if len(_instances) > 32:  # tests build many; a deployment has one
            _instances.clear()
        _instances[key] = BraintreeGateway.from_config(config)
    return _instances[key]


def wanted(config) -> bool:
    """Register only when chosen, or configured: the demo runs without Braintree."""
    return config.get("GATEWAY") == "braintree" or any(config.get(n) for n in CREDENTIALS)


@hookimpl(trylast=True)
def portal_register_gateways(register, config):
    if wanted(config):
        register(gateway_for(config))


@hookimpl
def portal_startup(app):
    """Fail at start, naming the missing setting, rather than on the first card."""
    if wanted(app.config):
        gateway_for(app.config)
