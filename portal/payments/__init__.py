"""Payment methods: cards through the gateway, invoice payment on approval (PAY-1..PAY-5).

The views call these functions; each one either does its whole job (database, gateway,
audit event, notification) or raises ``PaymentError`` with a message for the person
and leaves the database as it was. Card data never reaches the portal (PAY-2): the
browser gives a one-time nonce, the gateway gives back a token, and only the token,
brand, last four digits and expiry are stored. Nonces are never logged or stored.
"""
from __future__ import annotations

import datetime as dt
import logging

import peewee as pw
from flask_babel import gettext as _

from ..billing import payment_terms
from ..billing.dates import last_of_month
from ..db import db, write_transaction
from ..events import ManualMethodDecided, PaymentMethodAdded, PaymentMethodRemoved, emit
from ..gateways import ACCEPTED_BRANDS, Gateway, Status
from ..models import (Account, AuditEvent, ManualMethodRequest, PaymentMethod, Subscription,
                     User, utcnow)
from ..plugins import plugin_manager
from ..sqlcache import Compiled, columns, model_of
from ..statuses import RequestStatus, SubscriptionStatus

log = logging.getLogger("portal.payments")

MANUAL = "manual"
EXPIRING_DAYS = 60  # a card expiring within this many days gets a warning


class PaymentError(Exception):
    """A refusal to show the person; ``field`` is the form field it belongs next to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


# ------------------------------------------------------------------ reading
def expiry_state(method: PaymentMethod, today: dt.date) -> str:
    """"expired", "expiring" (within EXPIRING_DAYS) or "ok"; "ok" for non-card methods."""
    if not (method.exp_month and method.exp_year):
        return "ok"
    month_end = last_of_month(method.exp_year, method.exp_month)
    if month_end < today:
        return "expired"
    return "expiring" if (month_end - today).days <= EXPIRING_DAYS else "ok"


def usable(method: PaymentMethod, today: dt.date) -> bool:
    """A method the billing run can use: an approved manual method or an unexpired card."""
    return expiry_state(method, today) != "expired"


def _methods_query(account_id):
    return (PaymentMethod.select().where(PaymentMethod.account == account_id)
            .order_by(PaymentMethod.is_default.desc(), PaymentMethod.id.desc()))


# Read by the subscription page on every view: compiled once per process (portal/sqlcache.py).
_METHODS, _METHOD_FIELDS = Compiled(_methods_query, 1), columns(PaymentMethod)


def methods_of(account_id) -> list[PaymentMethod]:
    """The account's methods, the default first, then the newest."""
    return [model_of(PaymentMethod, _METHOD_FIELDS, row)
            for row in _METHODS.rows(int(getattr(account_id, "id", account_id)))]


def has_active_subscription(account_id) -> bool:
    return (Subscription.select()
            .where((Subscription.account == account_id)
                   & (Subscription.status == SubscriptionStatus.ACTIVE)).exists())


def audit(account_id, actor, action: str, detail: str) -> AuditEvent:
    """Record who did what to the account's payment methods (shown to operators)."""
    return AuditEvent.create(account=account_id, actor=getattr(actor, "id", actor),
                             action=action, detail=detail)


def describe(method: PaymentMethod) -> str:
    """"Visa ending 1111, expires 12/2030" or the manual method's name."""
    if method.gateway == MANUAL:
        return _("Invoice (bank transfer)")
    return _("%(brand)s ending %(last4)s, expires %(month)02d/%(year)s", brand=method.brand,
             last4=method.last4, month=method.exp_month or 0, year=method.exp_year or "")


def audit_label(method: PaymentMethod) -> str:
    """The method as the audit log records it (not translated: one language for operators)."""
    if method.gateway == MANUAL:
        return "invoice (bank transfer)"
    return f"{method.brand} ending {method.last4}, expires {method.exp_month or 0:02d}/" \
           f"{method.exp_year or ''}"


def _emit(event) -> None:
    """Hand ``event`` to the ``portal_events`` listeners (the notifier mails the admins)."""
    emit(plugin_manager(), [event])


def _write_lock(account_id):
    """A write transaction that serialises changes to one account's methods (PAY-5)."""
    return write_transaction(serialize_on=Account.select(Account.id)
                             .where(Account.id == account_id))


# ------------------------------------------------------------------ cards
def _vault_refusal(result) -> PaymentError:
    field = "payment_method_nonce"
    codes = set(result.extra.get("codes") or ())
    if result.status is Status.DECLINED:
        return PaymentError(_("Your bank declined this card (%(reason)s). Nothing was saved: "
                              "try another card or contact your bank.",
                              reason=result.message or _("no reason given")), field)
    if codes & {"93107"}:
        return PaymentError(_("These card details were already used. Please enter the card "
                              "again."), field)
    if codes & {"93108", "91565", "93102", "93103", "81716", "81715"}:
        return PaymentError(_("The card details were not recognised. Please enter the card "
                              "again."), field)
    if codes:
        return PaymentError(_("The card could not be saved: %(message)s",
                              message=result.message), field)
    return PaymentError(_("The payment gateway is not answering. Nothing was saved; please "
                          "try again in a few minutes."), field)


def _remove_at_gateway(gateway: Gateway, account_id, actor, token: str, label: str) -> bool:
    """Delete a vaulted card, once more if the first try fails; audit a final failure."""
    for _attempt in range(2):
        if gateway.remove(token).ok:
            return True
    log.warning("could not delete %s at gateway %s", label, gateway.name)
    audit(account_id, actor, "card.gateway_delete_failed",
          f"{label}: the gateway did not confirm deleting token {token} at {gateway.name}; "
          "delete it there by hand")
    return False


def _refuse_brand(account: Account, actor: User, card, outcome: str) -> PaymentError:
    """Audit a refused brand (rule PAY-1) and say so next to the field."""
    label = f"{card.brand} ending {card.last4}" if card.last4 else card.brand
    audit(account.id, actor, "card.refused",
          f"{label} refused (accepted: American Express, Visa, Mastercard); {outcome}")
    return PaymentError(_("%(brand)s cards are not accepted: please use American Express, "
                          "Visa or Mastercard. The card was not kept.", brand=card.brand),
                        "payment_method_nonce")


def add_card(account: Account, actor: User, nonce: str, gateway: Gateway) -> PaymentMethod:
    """Vault the card behind ``nonce``, store what PAY-2 allows; a brand outside PAY-1 is
    refused from the gateway's description of the nonce, before anything is stored (no
    gateway customer, no vaulted card)."""
    nonce = (nonce or "").strip()
    if not nonce:
        raise PaymentError(_("Enter the card's details."), "payment_method_nonce")
    if not gateway.takes_cards:
        raise PaymentError(_("This payment gateway does not take cards."))
    described = gateway.describe_nonce(nonce)  # rule PAY-1: the brand before any storing
    if described.status is not Status.UNSUPPORTED:
        if not described.ok or described.card is None:
            raise _vault_refusal(described)
        if described.card.brand not in ACCEPTED_BRANDS:
            raise _refuse_brand(account, actor, described.card, "nothing stored")
    first = not PaymentMethod.select().where(PaymentMethod.account == account.id).exists()
    result = gateway.vault(account.gateway_customer_id, nonce, email=actor.email,
                           make_default=first)
    if result.customer_id and result.customer_id != account.gateway_customer_id:
        Account.update(gateway_customer_id=result.customer_id).where(
            Account.id == account.id).execute()
        account.gateway_customer_id = result.customer_id
    if not result.ok or result.card is None:
        raise _vault_refusal(result)
    card = result.card
    label = f"{card.brand} ending {card.last4}"
    if card.brand not in ACCEPTED_BRANDS:  # PAY-1 for a gateway that cannot describe nonces
        removed = _remove_at_gateway(gateway, account.id, actor, card.token, label)
        raise _refuse_brand(account, actor, card, "deleted at the gateway" if removed
                            else "gateway deletion pending")
    try:
        with _write_lock(account.id):
            has_default = (PaymentMethod.select().where(
                (PaymentMethod.account == account.id) & PaymentMethod.is_default).exists())
            method = PaymentMethod.create(
                account=account.id, gateway=gateway.name, token=card.token, brand=card.brand,
                last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year,
                is_default=not has_default)
            audit(account.id, actor, "card.added",
                  f"{label}, expires {card.exp_month:02d}/{card.exp_year}"
                  + (" (default)" if method.is_default else ""))
    except Exception:  # nothing half-stored: the gateway forgets the card too
        _remove_at_gateway(gateway, account.id, actor, card.token, label)
        raise
    _emit(PaymentMethodAdded(account.id, method.id, getattr(actor, "id", actor)))
    return method


def set_default(account: Account, actor: User, method: PaymentMethod, gateways: dict,
                today: dt.date) -> PaymentMethod:
    """Make ``method`` the one the billing run charges."""
    if method.is_default:
        return method
    if not usable(method, today):
        raise PaymentError(_("An expired card cannot be the default: add a new card."))
    gateway = gateways.get(method.gateway)
    if gateway is not None and gateway.takes_cards and not gateway.make_default(method.token).ok:
        raise PaymentError(_("The payment gateway is not answering; the default card is "
                             "unchanged. Please try again in a few minutes."))
    with _write_lock(account.id):
        (PaymentMethod.update(is_default=(PaymentMethod.id == method.id))
         .where(PaymentMethod.account == account.id).execute())
        audit(account.id, actor, "card.default", audit_label(method))
    method.is_default = True
    return method


def _promote_default(account_id, today) -> PaymentMethod | None:
    """After the default is gone: the newest usable method becomes the default."""
    for candidate in methods_of(account_id):
        if usable(candidate, today):
            candidate.is_default = True
            candidate.save()
            return candidate
    return None


def last_usable(methods, account_id, today: dt.date) -> set[int]:
    """The ids among ``methods`` (all of one account's) that PAY-5 keeps: the only usable
    one while a subscription is active. Pages offer no Remove for them."""
    kept = [m for m in methods if usable(m, today)]
    if len(kept) != 1 or not has_active_subscription(account_id):
        return set()
    return {kept[0].id}


def remove_method(account: Account, actor: User | None, method: PaymentMethod, gateways: dict,
                  today: dt.date, *, check_last: bool = True) -> PaymentMethod | None:
    """Remove a method (rule PAY-5: never the last usable one while a subscription is
    active); return the new default if the default was removed."""
    promoted = None
    with _write_lock(account.id):
        others = [m for m in methods_of(account.id) if m.id != method.id]
        if (check_last and usable(method, today) and has_active_subscription(account.id)
                and not any(usable(m, today) for m in others)):
            raise PaymentError(_("This is your last usable payment method and your "
                                 "subscription is active: add another card first, then "
                                 "remove this one."))
        deleted = PaymentMethod.delete().where(PaymentMethod.id == method.id).execute()
        if not deleted:
            return None  # removed meanwhile (a double submit): nothing more to do
        if method.is_default:
            promoted = _promote_default(account.id, today)
        audit(account.id, actor, "card.removed" if method.gateway != MANUAL
              else "manual_method.removed", audit_label(method)
              + (f"; new default: {audit_label(promoted)}" if promoted else ""))
    gateway = gateways.get(method.gateway)
    if gateway is not None:
        _remove_at_gateway(gateway, account.id, actor, method.token, audit_label(method))
        if promoted is not None and promoted.gateway == gateway.name and gateway.takes_cards:
            gateway.make_default(promoted.token)
    _emit(PaymentMethodRemoved(account.id, method.id, method.gateway, method.brand or "",
                               method.last4 or "", method.exp_month, method.exp_year,
                               getattr(actor, "id", actor)))
    return promoted


# ------------------------------------------------------------------ invoice payment
def manual_method_of(account_id) -> PaymentMethod | None:
    return PaymentMethod.get_or_none((PaymentMethod.account == account_id)
                                     & (PaymentMethod.gateway == MANUAL))


def pending_request_of(account_id) -> ManualMethodRequest | None:
    return ManualMethodRequest.get_or_none(ManualMethodRequest.pending_for == account_id)


def _add_manual_method(account: Account) -> PaymentMethod:
    """The approved manual method; it becomes the default (the admin asked to pay so)."""
    method = manual_method_of(account.id)
    if method is None:
        PaymentMethod.update(is_default=False).where(
            PaymentMethod.account == account.id).execute()
        method = PaymentMethod.create(account=account.id, gateway=MANUAL,
                                      token=f"{MANUAL}-{account.id}", is_default=True)
    return method


def request_manual_method(account: Account, actor: User, note: str) -> ManualMethodRequest:
    """An admin asks to pay by invoice (PAY-3: one period at least the minimum of the
    account's currency, or PAY-4)."""
    if manual_method_of(account.id) is not None:
        raise PaymentError(_("Payment by invoice is already approved for this account."))
    amount = payment_terms.billing_period_amount(account.id)
    minimum = manual_minimum(account)
    if not payment_terms.manual_method_allowed(amount, account.grandfathered, minimum):
        raise PaymentError(_(
            "Payment by invoice is possible from %(minimum)s per billing period; this "
            "account's is %(amount)s.", minimum=_money(minimum, account), amount=_money(
                amount, account)) if minimum is not None else _(
            "Payment by invoice is not offered in this account's currency."))
    try:
        with db.atomic():
            request = ManualMethodRequest.create(account=account.id, requested_by=actor.id,
                                                 note=note.strip(), period_amount=amount,
                                                 pending_for=account.id)
            audit(account.id, actor, "manual_method.requested",
                  f"invoice payment requested; one billing period: {amount} {account.currency}")
    except pw.IntegrityError:
        raise PaymentError(_("A request is already waiting for an operator's approval.")) from None
    return request


def decide_manual_request(request: ManualMethodRequest, operator: User, approve: bool,
                          note: str) -> ManualMethodRequest:
    """An operator approves (PAY-3 checked again today) or refuses (with a reason)."""
    account = Account.get_by_id(request.account_id)
    note = note.strip()
    if request.status != RequestStatus.PENDING:
        raise PaymentError(_("This request was already decided."))
    if approve:
        amount = payment_terms.billing_period_amount(account.id)
        minimum = manual_minimum(account)
        if not payment_terms.manual_method_allowed(amount, account.grandfathered, minimum):
            raise PaymentError(_(
                "Cannot approve: one billing period is now %(amount)s, under %(minimum)s, "
                "and the account is not grandfathered. Refuse it with a reason instead.",
                amount=_money(amount, account),
                minimum=_money(minimum, account) if minimum is not None else "—"))
    elif not note:
        raise PaymentError(_("Say why the request is refused: the account admin reads it."),
                           "note")
    with _write_lock(account.id):
        changed = (ManualMethodRequest
                   .update(status=RequestStatus.APPROVED if approve else RequestStatus.REFUSED,
                           pending_for=None, decided_by=operator.id, decided_at=utcnow(),
                           decision_note=note)
                   .where((ManualMethodRequest.id == request.id)
                          & (ManualMethodRequest.status == RequestStatus.PENDING)).execute())
        if not changed:
            raise PaymentError(_("This request was already decided."))
        if approve:
            _add_manual_method(account)
        audit(account.id, operator, "manual_method.approved" if approve
              else "manual_method.refused", note or "approved")
    _emit(ManualMethodDecided(account.id, request.id, bool(approve)))
    return ManualMethodRequest.get_by_id(request.id)


def grandfather(account: Account, operator: User, first_used_on: dt.date, note: str) -> None:
    """PAY-4: the account paid another way before 2019-04-01 and keeps it, whatever the
    amount: record it, approve any pending request and add the manual method."""
    if not payment_terms.may_be_grandfathered(first_used_on):
        raise PaymentError(_("Only a method used before %(day)s is grandfathered.",
                             day=payment_terms.GRANDFATHER_CUTOFF.isoformat()),
                           "first_used_on")
    detail = f"grandfathered (PAY-4): paid by invoice since {first_used_on.isoformat()}"
    if note.strip():
        detail += f"; {note.strip()}"
    with _write_lock(account.id):
        Account.update(grandfathered=True).where(Account.id == account.id).execute()
        amount = payment_terms.billing_period_amount(account.id)
        pending = pending_request_of(account.id)
        if pending is not None:
            pending.status, pending.pending_for = RequestStatus.APPROVED, None
            pending.decided_by, pending.decided_at, pending.decision_note = (
                operator.id, utcnow(), detail)
            pending.save()
        else:
            ManualMethodRequest.create(account=account.id, requested_by=None, note="",
                                       period_amount=amount, status=RequestStatus.APPROVED,
                                       decided_by=operator.id, decided_at=utcnow(),
                                       decision_note=detail)
        _add_manual_method(account)
        audit(account.id, operator, "account.grandfathered", detail)
    account.grandfathered = True


def manual_minimum(account: Account):
    """PAY-3: the threshold of the account's currency (PORTAL_MANUAL_MINIMUMS), or None."""
    from flask import current_app

    return payment_terms.manual_minimum(account.currency,
                                        current_app.config.get("MANUAL_MINIMUMS"))


def _money(amount, account: Account) -> str:
    from ..i18n import money_filter

    return money_filter(amount, account.currency)
