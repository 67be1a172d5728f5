"""The payment-gateway protocol that gateway plugins implement (rules PAY-1, PAY-2).

A gateway never sees card numbers: the browser tokenises the card with the gateway's
own client and the portal receives a one-time nonce, which ``vault`` exchanges for a
stored token. Every operation returns a small ``Result``; an operation a gateway does
not offer answers ``Status.UNSUPPORTED`` instead of raising.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

# Brand names as Braintree spells them (braintree.CreditCard.CardType).
VISA, AMEX, MASTERCARD = "Visa", "American Express", "MasterCard"
ACCEPTED_BRANDS = (VISA, AMEX, MASTERCARD)  # rule PAY-1


class Status(str, enum.Enum):
    APPROVED = "approved"
    DECLINED = "declined"
    ERROR = "error"
    UNKNOWN = "unknown"  # outcome not known (timeout, reset): reconcile, never retry blindly
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Card:
    """What the portal may store about a card (rule PAY-2)."""

    token: str
    brand: str
    last4: str
    exp_month: int | None = None
    exp_year: int | None = None


@dataclass(frozen=True)
class Result:
    """The outcome of one gateway operation."""

    status: Status
    message: str = ""
    transaction_id: str | None = None
    card: Card | None = None
    customer_id: str | None = None
    amount: Decimal | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is Status.APPROVED


@dataclass(frozen=True)
class WebhookEvent:
    """A verified notification from the gateway.

    ``id`` identifies the notification itself (Braintree: a digest of the signed
    payload); the portal refuses a second notification with the same id as a replay.
    """

    kind: str
    subject_id: str
    timestamp: str
    data: dict = field(default_factory=dict)
    id: str = ""

    @property
    def replay_key(self) -> str:
        return self.id or f"{self.kind}:{self.subject_id}:{self.timestamp}"


class WebhookError(ValueError):
    """A webhook that is forged, malformed or replayed."""


class ConfigurationError(RuntimeError):
    """A gateway setting is missing; the message names the variable to set."""


def unsupported(operation: str) -> Result:
    return Result(Status.UNSUPPORTED, f"this gateway does not support {operation}")


class Gateway:
    """Base class: override what your gateway offers; the rest answers UNSUPPORTED.

    Contract (checked by ``portal.testing.gateway_contract``, which any gateway's tests
    can reuse): no method raises for a gateway-side failure, each returns a ``Result``;
    ``APPROVED`` means done, ``DECLINED`` a refusal by the bank or gateway, ``ERROR`` a
    failure that changed nothing, ``UNKNOWN`` a failure after which the outcome is not
    known (a charge may have gone through: look it up with ``find_by_idempotency_key``
    before trying again). ``charge`` need not be idempotent at the gateway itself: the
    caller stores the key first and reconciles.
    """

    name: str = ""
    label: str = ""
    #: Brands the gateway can vault; the portal itself accepts only ACCEPTED_BRANDS (PAY-1).
    accepted_brands: tuple[str, ...] = ACCEPTED_BRANDS
    #: True for gateways that take card nonces (false for invoice / bank transfer).
    takes_cards: bool = True

    def client_snippet(self, *, client_token: str | None = None, error: str | None = None) -> str:
        """HTML placed inside the add-card form: the gateway's tokenising client, which
        posts the nonce as ``payment_method_nonce``; ``error`` is shown next to it."""
        return ""

    def client_token(self, customer_id: str | None = None) -> str | None:
        """A token for the client-side snippet, or None if the gateway needs none."""
        return None

    def script_sources(self) -> tuple[str, ...]:
        """Outside script origins the page must allow in its CSP (empty: none).

        A gateway with outside scripts gets its add-card form as a page of its own
        (htmx does not run scripts it swaps in).
        """
        return ()

    def csp_sources(self) -> dict[str, tuple[str, ...]]:
        """Outside origins per CSP directive for the add-card page (``script-src`` etc.)."""
        scripts = self.script_sources()
        return {"script-src": scripts} if scripts else {}

    def describe_nonce(self, nonce: str) -> Result:
        """What card is behind ``nonce``, without storing anything (rule PAY-1).

        APPROVED with ``result.card`` (``token`` empty; ``brand`` as Braintree spells it,
        ``last4`` if known) so the portal can refuse a brand before ``vault``; an unknown
        or used nonce is an ERROR with the gateway's ``extra["codes"]``. A gateway that
        cannot tell answers UNSUPPORTED: the portal then vaults, checks the brand and
        deletes a refused card at once.
        """
        return unsupported("describing cards")

    def vault(self, customer_id: str | None, nonce: str, *, email: str = "",
              make_default: bool = False) -> Result:
        """Store the card behind ``nonce``; ``result.card`` and ``result.customer_id``.

        ``customer_id`` None: create the gateway's customer first. A refusal still
        carries ``result.customer_id`` when a customer was created, so it is kept.
        """
        return unsupported("storing cards")

    def remove(self, token: str) -> Result:
        """Delete a stored card; a token the gateway no longer knows is APPROVED."""
        return unsupported("removing cards")

    def make_default(self, token: str) -> Result:
        return Result(Status.APPROVED)

    def charge(self, token: str, amount: Decimal, idempotency_key: str) -> Result:
        return unsupported("charges")

    def find_by_idempotency_key(self, idempotency_key: str) -> Result:
        """Look a charge up by our key (reconciliation after an UNKNOWN charge).

        Found: the charge's status (APPROVED, DECLINED...) with ``extra["found"]`` True;
        not found: UNKNOWN with ``extra["found"]`` False (nothing was charged, so the
        same key may be sent again); the lookup itself failed: ERROR.
        """
        return unsupported("looking up charges")

    def refund(self, transaction_id: str, amount: Decimal | None = None) -> Result:
        """Give money back: the whole charge (``amount`` None) or part of it."""
        return unsupported("refunds")

    def void(self, transaction_id: str) -> Result:
        return unsupported("voids")

    def parse_webhook(self, form) -> list[WebhookEvent]:
        """Verify and parse a webhook POST; raise WebhookError if it is not genuine."""
        raise WebhookError("this gateway does not send webhooks")


def registered_gateways(pm, config) -> dict[str, Gateway]:
    """Every gateway the plugins register, by name."""
    found: dict[str, Gateway] = {}
    pm.hook.portal_register_gateways(register=lambda g: found.setdefault(g.name, g),
                                     config=config)
    return found


def active_gateway(pm, config) -> Gateway:
    """The gateway PORTAL_GATEWAY names; a clear error if no plugin provides it."""
    gateways = registered_gateways(pm, config)
    name = config.get("GATEWAY", "fake")
    try:
        return gateways[name]
    except KeyError:
        raise ConfigurationError(
            f"PORTAL_GATEWAY={name!r} but no enabled plugin provides it; "
            f"available: {', '.join(sorted(gateways)) or 'none'}") from None
