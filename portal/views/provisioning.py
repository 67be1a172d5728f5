"""The provisioning API under /api/v1/provisioning/ (issue #16 item 4), for the product
that owns devices and users: open accounts with their first subscriptions, start
subscriptions, list and read accounts, read the catalogue.

Operator tokens only (``pop_…``, portal/accounts/operator_tokens.py), each call within
the token's scopes (403 ``insufficient_scope``); an account's token is 403
``wrong_token``. Every POST takes an ``Idempotency-Key`` (portal/views/idempotency.py).
Accounts open through ``portal.accounts.onboarding`` and subscriptions start through
``portal.catalogue.start_subscription`` (rule ONB-1): the same checks as the console,
and a refusal creates nothing. Errors, schemas and the OpenAPI document are the account
API's (portal/views/api.py, portal/apispec.py).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import wraps

import peewee as pw
from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .. import clock, pager
from ..accounts import billing_details, onboarding, operator_tokens
from ..accounts import tokens
from ..accounts.tokens import TOKEN_PREFIX as ACCOUNT_TOKEN_PREFIX
from ..apispec import (MAX_BODY_BYTES, PROVISIONING_OPERATIONS, Invalid, Operation, parse_query,
                       ref, validate)
from ..apispec_provisioning import (ACCOUNT_BODY, ACCOUNT_ID, ACCOUNTS_PAGE, ACCOUNTS_QUERY,
                                    SUBSCRIPTION_BODY)
from ..catalogue import CatalogueError, Prices, start_subscription
from ..db import write_transaction
from ..models import Account, Plan, PriceVersion, Subscription
from ..security import csrf
from . import idempotency
from .api import ApiError, _http_error, error_response, json_body, stamp

bp = Blueprint("provisioning", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class Refused(Exception):
    """Fields a service refused: 422 with every field's sentence."""

    def __init__(self, code: str, errors: dict[str, str]):
        super().__init__(code)
        self.code, self.errors = code, errors


@bp.errorhandler(Refused)
def _refused(exc):
    name, message = next(iter(exc.errors.items()))
    response = error_response(422, exc.code, message, name)
    body = response.get_json()
    body["error"]["fields"] = exc.errors
    response.set_data(jsonify(body).get_data())
    return response


@bp.errorhandler(ApiError)
@bp.errorhandler(Invalid)
def _error(exc):
    return error_response(exc.status, exc.code, exc.message, exc.field)


bp.register_error_handler(HTTPException, _http_error)


@bp.before_request
def _limit_and_authenticate():
    """Cap the body size, then find the operator token."""
    request.max_content_length = MAX_BODY_BYTES
    header = request.headers.get("Authorization")
    if tokens.bearer(header).startswith(ACCOUNT_TOKEN_PREFIX):
        raise ApiError(403, "wrong_token", "This is an account's token: the provisioning API "
                                           "takes an operator token (pop_…), made by an "
                                           "operator under System > Provisioning tokens.")
    token = operator_tokens.authenticate(header)
    if token is None:
        raise ApiError(401, "unauthorized",
                       "Send a valid operator token: Authorization: Bearer pop_…. Unknown and "
                       "revoked tokens are refused.")
    g.operator_token = token


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def require(*scopes: str) -> None:
    """403 ``insufficient_scope`` unless the token has every scope named."""
    missing = [s for s in scopes if s not in g.operator_token.scope_set]
    if missing:
        raise ApiError(403, "insufficient_scope",
                       f"This token lacks the scope {missing[0]!r}: an operator can make a "
                       "token with it under System > Provisioning tokens.")


def operation(method: str, rule: str, summary: str, response: dict, *, scopes, **spec):
    """Register a view as a provisioning operation: route, OpenAPI entry, scopes, input
    checks, and for a POST its Idempotency-Key."""
    op = Operation(method, rule, summary, response, scopes=tuple(scopes),
                   security="operator_token", **spec)
    PROVISIONING_OPERATIONS.append(op)

    def decorate(view):
        @wraps(view)
        def checked(**path):
            require(*op.scopes)
            for name, value in path.items():
                validate(op.path[name], value, name)
            g.query = parse_query(request.args, op.query)
            if method != "POST":
                g.body = json_body(op.body)
                return view(**path)
            key = idempotency.key_of(request.headers)
            g.body = json_body(op.body)
            digest = idempotency.request_hash(method, request.path, g.body)
            return idempotency.once(g.operator_token, key, digest, lambda: view(**path))

        bp.add_url_rule(rule, view_func=checked, methods=[method])
        return checked

    return decorate


def _via() -> str:
    return f"operator token {g.operator_token.name}"


def day(value) -> str | None:
    return value.isoformat() if value else None


# --- reading ---

def subscription_json(s: Subscription, version: PriceVersion) -> dict:
    return {"id": s.id, "plan": s.plan.code, "interval": str(s.interval), "quantity": s.quantity,
            "addon_quantity": s.addon_quantity, "status": str(s.status),
            "currency": version.currency, "price_version": version.number,
            "negotiated": version.account_id is not None, "started_on": day(s.started_on),
            "next_payment_date": day(s.next_payment_date)}


def summary_json(a: Account) -> dict:
    return {"id": a.id, "name": a.name, "external_ref": a.external_ref,
            "language": a.language, "currency": a.currency,
            "negotiated": bool(a.negotiated_contract), "status": str(a.status),
            "created_at": stamp(a.created_at)}


def account_json(a: Account) -> dict:
    subs = (Subscription.select(Subscription, Plan, PriceVersion).join(Plan)
            .switch(Subscription).join(PriceVersion)
            .where(Subscription.account == a.id).order_by(Subscription.id))
    return {**summary_json(a), "billing_details": billing_details.details_of(a),
            "subscriptions": [subscription_json(s, s.price_version) for s in subs]}


def account_or_404(account_id: int) -> Account:
    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        raise ApiError(404, "not_found", "No account with this id.")
    return account


@operation("GET", "/provisioning/accounts", "List accounts, by id, a page at a time",
           ACCOUNTS_PAGE, scopes=("accounts:read",), query=ACCOUNTS_QUERY)
def list_accounts():
    """Accounts by id; ``name`` keeps those whose name contains it (any case),
    ``external_ref`` the one with that reference."""
    q = g.query
    query = Account.select().order_by(Account.id)
    if q["name"]:
        query = query.where(pw.fn.LOWER(Account.name).contains(q["name"].lower()))
    if q["external_ref"]:
        query = query.where(Account.external_ref == " ".join(q["external_ref"].split()))
    page = pager.Page(query, q["page"], q["per_page"])
    if not page.exists:
        raise ApiError(404, "no_such_page", "This page is past the last one.")
    return jsonify(accounts=[summary_json(a) for a in page],
                   page=page.number, next_page=page.number + 1 if page.has_next else None)


@operation("GET", "/provisioning/accounts/<int:account_id>",
           "One account with its billing details and subscriptions",
           ref("ProvisionedAccount"), scopes=("accounts:read",),
           path={"account_id": ACCOUNT_ID})
def get_account(account_id):
    """One account by id."""
    return jsonify(account_json(account_or_404(account_id)))


@operation("GET", "/provisioning/catalogue",
           "The plans, available and retired (CAT-3), with their public prices per currency "
           "and version (CAT-1, CAT-2)",
           {"type": "object", "required": ["plans"],
            "properties": {"plans": {"type": "array", "items": ref("Plan")}}},
           scopes=("catalogue:read",))
def catalogue():
    """Every plan by rank; negotiated prices (CHG-7) are private and not listed."""
    versions: dict[int, list[PriceVersion]] = {}
    for v in (PriceVersion.select().where(PriceVersion.account.is_null())
              .order_by(PriceVersion.currency, PriceVersion.number)):
        versions.setdefault(v.plan_id, []).append(v)
    plans = []
    for p in Plan.select().order_by(Plan.kind, Plan.rank, Plan.code):
        mine = versions.get(p.id, [])
        newest = {v.currency: v.number for v in mine}
        plans.append({
            "code": p.code, "name": p.name, "kind": str(p.kind), "rank": p.rank,
            "trial_days": p.trial_days, "available": bool(p.available),
            "prices": [{"currency": v.currency, "version": v.number,
                        "monthly": f"{v.monthly_price:.2f}", "annual": f"{v.annual_price:.2f}",
                        "addon_monthly": f"{v.addon_monthly_price:.2f}",
                        "addon_annual": f"{v.addon_annual_price:.2f}",
                        "current": newest[v.currency] == v.number,
                        "existing_from": day(v.existing_from)} for v in mine]})
    return jsonify(plans=plans)


# --- writing (ONB-1: through the services; one transaction per request) ---

def _start(account: Account, spec: dict, where: str) -> Subscription:
    """Start one subscription as ``spec`` says; a refusal names ``where``.field."""
    plan = Plan.get_or_none(Plan.code == spec["plan"])
    if plan is None:
        raise Refused("invalid_subscription",
                      {f"{where}plan": f"There is no plan {spec['plan']!r} in the catalogue."})
    prices = spec.get("negotiated_prices")
    negotiated = None if prices is None else Prices(
        account.currency, Decimal(prices["monthly"]), Decimal(prices["annual"]),
        Decimal(prices.get("addon_monthly", "0.00")), Decimal(prices.get("addon_annual", "0.00")))
    start = dt.date.fromisoformat(spec["start"]) if "start" in spec else clock.today()
    first = dt.date.fromisoformat(spec["first_payment"]) if "first_payment" in spec else None
    try:
        return start_subscription(account, plan, interval=spec["interval"],
                                  quantity=spec["quantity"], addons=spec.get("addons", 0),
                                  start=start, first_payment=first, negotiated=negotiated,
                                  actor=g.operator_token.created_by_id, via=_via())
    except CatalogueError as refused:
        raise Refused("invalid_subscription", {f"{where}{refused.field}": refused.message}) \
            from None


@operation("POST", "/provisioning/accounts",
           "Open an account with its billing details and, in the same transaction, its "
           "first subscriptions (ONB-1: nothing is created if anything is refused)",
           ref("ProvisionedAccount"), scopes=("accounts:write",), body=ACCOUNT_BODY,
           created=True, refusals=(409, 422))
def create_account():
    """Open the account, then start each subscription; all or nothing."""
    body = g.body
    subscriptions = body.get("subscriptions", [])
    if subscriptions:
        require("subscriptions:write")
    try:
        with write_transaction():
            account = onboarding.open_account(
                body["name"], language=body.get("language", "en"),
                currency=body.get("currency", "USD"), details=body.get("billing_details"),
                negotiated=body.get("negotiated", False),
                external_ref=body.get("external_ref"),
                actor=g.operator_token.created_by_id, via=_via())
            for i, spec in enumerate(subscriptions):
                _start(account, spec, f"subscriptions[{i}].")
    except onboarding.AccountRefused as refused:
        details = set(billing_details.FIELDS)
        raise Refused("invalid_account", {
            (f"billing_details.{k}" if k in details else k): v
            for k, v in refused.errors.items()}) from None
    except pw.IntegrityError:  # another request took the reference meanwhile
        raise Refused("invalid_account", {
            "external_ref": "Another account already has this reference."}) from None
    return jsonify(account_json(account)), 201


@operation("POST", "/provisioning/accounts/<int:account_id>/subscriptions",
           "Start a subscription on an account (ONB-1, CAT-1, CAT-3, CHG-5, CHG-7)",
           ref("ProvisionedSubscription"), scopes=("subscriptions:write",),
           path={"account_id": ACCOUNT_ID}, body=SUBSCRIPTION_BODY, created=True,
           refusals=(409, 422))
def create_subscription(account_id):
    """Start one subscription on the account."""
    account = account_or_404(account_id)
    sub = _start(account, g.body, "")
    return jsonify(subscription_json(sub, sub.price_version)), 201


from . import provisioning_invitations  # noqa: E402,F401  (registers its operation here)
