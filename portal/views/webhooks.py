"""Gateway webhooks: ``POST /webhooks/<gateway>``, verified by the gateway plugin.

No session and no CSRF token (the gateway's signature is the proof). A forged or
malformed notification is refused with 400 and logged; so is a replay (the same
notification twice: a unique key in ``WebhookReceipt``). Each verified event is
handled in the transaction that records it, so handling is idempotent: a handler that
fails rolls the receipt back and the gateway's retry is handled afresh.

Handlers are registered per event kind with ``@on("kind")``; the billing engine can
register its own for transaction events (a settlement declined after a receipt, ...).
"""
import logging

import peewee as pw
from flask import Blueprint, abort, current_app, jsonify, request

from .. import clock, payments, plugins
from ..db import db
from ..gateways import WebhookError, WebhookEvent, registered_gateways
from ..models import Account, PaymentMethod, WebhookReceipt
from ..security import csrf

log = logging.getLogger("portal.webhooks")

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)

HANDLERS = {}


def on(*kinds):
    """Register ``fn(gateway_name, event) -> outcome text`` for these event kinds."""

    def register(fn):
        for kind in kinds:
            HANDLERS[kind] = fn
        return fn

    return register


@on("payment_method_revoked_by_customer", "granted_payment_method_revoked")
def card_revoked(gateway_name: str, event: WebhookEvent) -> str:
    """The customer revoked a stored method at the gateway: it is gone here too."""
    method = PaymentMethod.get_or_none((PaymentMethod.gateway == gateway_name)
                                       & (PaymentMethod.token == event.subject_id))
    if method is None:
        return "no such method here"
    account = Account.get_by_id(method.account_id)
    payments.remove_method(account, None, method, {}, clock.today(), check_last=False)
    payments.audit(account.id, None, "card.revoked",
                   f"{payments.audit_label(method)} revoked at {gateway_name} ({event.kind})")
    return "method removed"


@on("transaction_settled", "transaction_settlement_declined", "transaction_disbursed")
def transaction_event(gateway_name: str, event: WebhookEvent) -> str:
    """Recorded for operators; a settlement declined is an audit event they see."""
    if event.kind == "transaction_settlement_declined":
        payments.audit(None, None, "payment.settlement_declined",
                       f"{gateway_name} transaction {event.subject_id}: settlement declined "
                       f"(amount {event.data.get('amount')}, key {event.data.get('order_id')})")
    return "recorded"


def handle(gateway_name: str, event: WebhookEvent) -> str:
    """Record the event (a replay raises ``WebhookError``) and run its handler, atomically."""
    try:
        with db.atomic():
            receipt = WebhookReceipt.create(gateway=gateway_name, key=event.replay_key[:128],
                                            kind=event.kind[:64],
                                            subject_id=(event.subject_id or "")[:128])
            handler = HANDLERS.get(event.kind)
            receipt.outcome = (handler(gateway_name, event) if handler else "ignored")[:200]
            receipt.save()
    except pw.IntegrityError:
        raise WebhookError("replayed notification") from None
    return receipt.outcome


@bp.route("/<gateway>", methods=["POST"])
def receive(gateway):
    """Verify a gateway's notification and handle it; 400 for forgeries and replays."""
    found = registered_gateways(plugins.plugin_manager(), current_app.config).get(gateway)
    if found is None:
        abort(404)
    try:
        events = found.parse_webhook(request.form)
        outcomes = [handle(found.name, event) for event in events]
    except WebhookError as exc:
        log.warning("webhook refused: gateway=%s from=%s reason=%s", gateway,
                    request.remote_addr, exc)
        return jsonify(error={"code": "webhook_refused", "message": str(exc)}), 400
    return jsonify(received=len(outcomes), outcomes=outcomes)
