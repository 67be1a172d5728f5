"""Every route of the app with who may call it, and what a refused call must leave as it was.

The authorization matrix (tests/test_authorization_matrix.py), the CSRF check of every route
(tests/test_csrf_all_routes.py) and the form fuzzer (tests/test_forms_fuzz.py) share it:

- ``ACCESS`` (endpoint or ``"blueprint.*"`` -> who may use it), ``rule_for(endpoint)``;
- ``ROLES`` (role -> the demo login that has it), ``OWN`` and ``FOREIGN`` accounts;
- ``make_objects(app)``: one object of every kind for both accounts;
- ``calls(app)``: one ``Call`` per route and method, with own and foreign ids, plus the
  routes that have no rule (the matrix fails on those);
- ``snapshot(app)``: every row of every table.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from portal.db import db
from portal.models import (MODELS, Account, ApiToken, ChangeOrder, Delivery, Device, Invoice,
                           Location, ManualMethodRequest, Membership, PaymentMethod,
                           PendingChange, Quote, Subscription, User)

PUBLIC, LOGGED_IN, ACCOUNT, ADMIN, OPERATOR, TOKEN, WEBHOOK = (
    "public", "logged-in", "account", "admin", "operator", "token", "webhook")
ADMIN_OR_OPERATOR = "admin-or-operator"
DEMO_ONLY = "demo-only"  # exists in demo mode only (PORTAL_DEMO=1): 404 in the matrix's app

# endpoint (or "blueprint.*") -> who may use it
ACCESS = {
    "static": PUBLIC,
    "branding.*": PUBLIC,
    "auth.root": LOGGED_IN,
    "auth.login": PUBLIC,
    "auth.logout": LOGGED_IN,
    "auth.demo_login": DEMO_ONLY,
    "auth.choose_account": LOGGED_IN,  # ACC-5: lists only the person's own accounts
    "auth.switch_account": LOGGED_IN,  # ACC-5: only to an account of an active membership
    "subscription.*": ACCOUNT,
    "admin.*": ADMIN,
    "cards.*": ADMIN,
    "changes.*": ADMIN,
    "documents.index": ADMIN,
    "documents.pay_now": ADMIN,
    "documents.pdf": ADMIN_OR_OPERATOR,
    "operator.*": OPERATOR,  # the whole console, /operator (views/operator/)
    "billing_details.*": ADMIN,
    "api.openapi_document": PUBLIC,
    "api.*": TOKEN,
    "webhooks.*": WEBHOOK,
    "language.choose": LOGGED_IN,
    "passwords.change": LOGGED_IN,
    "passwords.forgot": PUBLIC,
    "passwords.reset": PUBLIC,  # the signed link is the credential (ACC-8)
    # self-serve sign-up (issue #16 item 6): on in the matrix's app (PORTAL_SIGNUP=1)
    "signup.pricing_page": PUBLIC,
    "signup.start": PUBLIC,
    "signup.verify": PUBLIC,  # the signed, single-use link is the credential
    "signup.pay": ADMIN,  # the new account's first invoice, charged to its own card
}
# routes an operator may also use, on any account's object
ALSO_OPERATOR = {"changes.quote_pdf"}

# who logs in for each role; "own" objects belong to Northwind, "foreign" to Atelier
ROLES = {
    "anonymous": None,
    "member": "member@northwind.example",
    "admin": "admin@northwind.example",
    "operator": "operator@example.com",
}
OWN, FOREIGN = "Northwind Retail", "Atelier Space"


def rule_for(endpoint: str) -> str | None:
    if endpoint in ACCESS:
        return ACCESS[endpoint]
    return ACCESS.get(endpoint.split(".", 1)[0] + ".*")


def _first(model, account, *where):
    query = model.select(model.id).where(model.account == account, *where).order_by(model.id)
    row = query.first()
    assert row, f"the matrix fixture made no {model.__name__} for {account.name}"
    return row.id


# URL parameter -> function(account) returning the id of one object of that account
ID_OF = {
    "user_id": lambda a: Membership.select(Membership.user).where(
        (Membership.account == a) & (Membership.role == "member")).order_by(Membership.id)
    .first().user_id,
    "account_id": lambda a: a.id,
    "device_id": lambda a: _first(Device, a),
    "location_id": lambda a: _first(Location, a),
    "method_id": lambda a: _first(PaymentMethod, a),
    "request_id": lambda a: _first(ManualMethodRequest, a),
    "sid": lambda a: _first(Subscription, a),
    "qid": lambda a: _first(Quote, a),
    "oid": lambda a: _first(ChangeOrder, a),
    "change_id": lambda a: PendingChange.select(PendingChange.id).join(Subscription)
    .where(Subscription.account == a).get().id,
    "invoice_id": lambda a: _first(Invoice, a),
    "doc_id": lambda a: _first(Invoice, a),
    "token_id": lambda a: _first(ApiToken, a),
    "delivery_id": lambda a: _first(Delivery, a),
    # plans belong to no account: the one the account subscribes to
    "plan_id": lambda a: Subscription.get(Subscription.account == a).plan_id,
}
VALUES = {"what": "invoices", "action": "deactivate", "tab": "usage", "filename": "portal.css",
          "decision": "refuse", "gateway": "fake", "kind": "invoice",
          "serial": "NW-york-01", "external_id": "york", "email": "member@northwind.example",
          "token": "not-a-signed-token"}


def make_objects(app):
    """One object of every kind the routes name, for both accounts."""
    from portal.accounts.tokens import create_token
    from portal.billing.invoices import Line, issue_invoice

    with app.app_context(), db.connection_context():
        for name in (OWN, FOREIGN):
            acct = Account.get(Account.name == name)
            sub = Subscription.select().where(Subscription.account == acct).first()
            admin = User.select().join(Membership).where(
                (Membership.account == acct) & (Membership.role == "admin")).get()
            if not Device.select().where(Device.account == acct).exists():
                place = Location.create(account=acct, name="Matrix", external_id="matrix")
                Device.create(account=acct, location=place, serial="MATRIX-1")
            PaymentMethod.create(account=acct, gateway="fake", token=f"tok-{acct.id}",
                                 brand="Visa", last4="1881", exp_month=12, exp_year=2030,
                                 is_default=True)
            ManualMethodRequest.create(account=acct, requested_by=admin,
                                       period_amount="1200.00", pending_for=acct.id)
            # Still ahead whatever day the suite runs: withdrawing it must be allowed.
            change = PendingChange.create(subscription=sub,
                                          effective_on=dt.date.today() + dt.timedelta(days=60),
                                          quantity=sub.quantity + 1)
            terms = dict(account=acct, subscription=sub, change="upgrade", plan=sub.plan,
                         interval=sub.interval, quantity=sub.quantity + 1)
            quote = Quote.create(**terms, number=f"Q-{acct.id}", review_key=f"q{acct.id}",
                                 account_name=acct.name, effective_on=dt.date(2026, 12, 1),
                                 created_on=dt.date(2026, 11, 23),
                                 valid_until=dt.date(2026, 11, 30), fingerprint="x",
                                 recurring_before="10.00", recurring_after="20.00")
            ChangeOrder.create(**terms, review_key=f"o{acct.id}", old_plan=sub.plan,
                               old_interval=sub.interval, old_quantity=sub.quantity,
                               recurring_before="10.00", recurring_after="20.00",
                               effective_on=dt.date(2026, 12, 1), status="placed",
                               pending_change=change, quote=quote)
            issue_invoice(acct, [Line.priced("plan", "Matrix line", 1, Decimal("10.00"))],
                          day=dt.date(2026, 11, 1), subscription=sub)
            create_token(acct, "matrix")
            Delivery.create(account=acct, kind="test", channel="outbox", payload="{}")


@dataclass
class Call:
    endpoint: str
    method: str
    url: str
    owner: str  # OWN or FOREIGN: whose object the ids name


def calls(app):
    """One call per route and method, with own ids and, where ids appear, foreign ids."""
    with app.app_context():
        own, foreign = (Account.get(Account.name == n) for n in (OWN, FOREIGN))
        result, missing = [], []
        for rule in app.url_map.iter_rules():
            if rule_for(rule.endpoint) is None:
                missing.append(rule.endpoint)
                continue
            for owner, account in ((OWN, own), (FOREIGN, foreign)):
                values, has_ids = {}, False
                for arg in rule.arguments:
                    if arg in ID_OF:
                        values[arg], has_ids = ID_OF[arg](account), True
                    elif arg in VALUES:
                        values[arg] = VALUES[arg]
                    elif arg in (rule.defaults or {}):
                        continue
                    else:
                        missing.append(f"{rule.endpoint}: no value for <{arg}>")
                if owner == FOREIGN and not has_ids:
                    continue
                with app.test_request_context():
                    from flask import url_for

                    url = url_for(rule.endpoint, **values)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    result.append(Call(rule.endpoint, method, url, owner))
        return result, missing


def columns(model):
    """What a refused request must leave as it was: every column but a user's session key,
    which logging out renews on purpose (ACC-8), and the account's usage stamp, a cache
    key that any update of a user row renews (migration 010's trigger)."""
    return [f for f in model._meta.sorted_fields if f.name not in ("session_key", "usage_stamp")]


def snapshot(app):
    """Every row of every table: what a refused request must leave as it was."""
    with app.app_context(), db.connection_context():
        return {m.__name__: sorted(map(repr, m.select(*columns(m)).tuples())) for m in MODELS}
