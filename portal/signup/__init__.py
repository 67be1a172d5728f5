"""Self-serve sign-up (issue #16 item 6, rule ONB-1): a pending sign-up, its mailed
verification link, and what following the link creates.

Nothing but a ``PendingSignup`` row exists until the e-mail address is verified: the
link carries the row's id and a random nonce, signed (itsdangerous, its own salt) and
dated by the portal's clock; it is valid 24 hours and works once (``used_at``, set by one
conditional UPDATE, so two clicks at once cannot both create an account). Following it
opens the account (``accounts.onboarding.open_account``), makes the person its admin
(``accounts.memberships.add_membership``) with the password they chose, and starts the
subscription (``catalogue.start_subscription``): the same services and validation as
every other path, in one transaction (a refusal creates nothing).

``request_signup`` runs after the form's answer is sent (the view defers it), so the
answer is the same for an address that already has a login: that address is mailed
"you already have a login" instead of a link (no user enumeration, as ACC-6 and ACC-8).
"""
from __future__ import annotations

import datetime as dt
import hmac
import secrets

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .. import clock
from ..accounts import memberships, onboarding, passwords
from ..accounts.password_reset import ClockSigner
from ..catalogue import CatalogueError, start_subscription
from ..db import write_transaction
from ..events import SignupRequested, emit
from ..models import AuditEvent, PendingSignup, Plan, Subscription, User
from ..statuses import Role

MAX_AGE_SECONDS = 24 * 3600
SALT = "portal.signup"


class SignupRefused(ValueError):
    """The link cannot open an account: ``code`` is ``"invalid"`` (forged, expired, used)
    or ``"refused"`` (``errors``: what the services refused, by field)."""

    def __init__(self, code: str, errors: dict[str, str] | None = None):
        super().__init__(code)
        self.code, self.errors = code, errors or {}


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT,
                                  signer=ClockSigner)


def make_token(pending: PendingSignup) -> str:
    return _serializer().dumps({"s": pending.id, "n": pending.nonce})


def check_fields(company: str, *, country: str, currency: str, language: str) -> dict:
    """The account's fields as ``open_account`` would refuse them, by form field (a dry
    run: nothing is written); empty when they pass."""
    try:
        onboarding.check(company, language=language, currency=currency,
                         details={"legal_name": company, "country": country})
    except onboarding.AccountRefused as refused:
        return {"company" if k in ("name", "legal_name") else k: v
                for k, v in refused.errors.items()}
    return {}


def request_signup(*, email: str, person_name: str, company: str, password: str,
                   country: str, currency: str, language: str, plan_code: str,
                   interval: str, quantity: int, link_for, login_url: str) -> None:
    """Store the pending sign-up and mail its link; for an address that already has a
    login, mail that instead (and store nothing). ``link_for(token)`` makes the absolute
    link. Runs after the answer was sent: nothing here changes what the form answered."""
    email = email.strip().lower()
    now = clock.now().isoformat()
    if User.select().where(User.email == email).exists():
        emit_events([SignupRequested(None, email, login_url, True, language, now)])
        return
    with write_transaction():
        pending = PendingSignup.create(
            email=email, person_name=person_name.strip(), company=company.strip(),
            password_hash=passwords.hash_password(password), country=country.upper(),
            currency=currency, language=language, plan_code=plan_code, interval=interval,
            quantity=quantity, nonce=secrets.token_urlsafe(24))
    emit_events([SignupRequested(None, email, link_for(make_token(pending)), False, language,
                                 now)])


def pending_for(token: str) -> PendingSignup | None:
    """The unused pending sign-up a live link names, else None (forged, expired, used)."""
    try:
        data = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        return None
    pending = PendingSignup.get_or_none(PendingSignup.id == data["s"])
    if pending is None or pending.used_at is not None \
            or not hmac.compare_digest(str(data.get("n", "")), pending.nonce):
        return None
    return pending


def complete(pending: PendingSignup, *, today: dt.date) -> tuple[User, Subscription]:
    """Verify the address and create what the sign-up asked for, in one transaction:
    the account, its admin (with the chosen password), the subscription. A plan with a
    trial starts it (TRI-1); one without is due today (``renewals.bill_now`` bills it once
    a card is on file). Raise ``SignupRefused`` having created nothing."""
    with write_transaction():
        used = (PendingSignup.update(used_at=clock.now())
                .where((PendingSignup.id == pending.id) & PendingSignup.used_at.is_null())
                .execute())
        if not used or User.select().where(User.email == pending.email).exists():
            raise SignupRefused("invalid")
        plan = Plan.get_or_none(Plan.code == pending.plan_code)
        try:
            account = onboarding.open_account(
                pending.company, language=pending.language, currency=pending.currency,
                details={"legal_name": pending.company, "country": pending.country},
                via="sign-up")
            person = memberships.add_membership(account, pending.email,
                                                name=pending.person_name, role=Role.ADMIN,
                                                via="sign-up").obj.user
            person.password_hash = pending.password_hash
            person.save()
            if plan is None:
                raise CatalogueError("plan", f"plan {pending.plan_code} does not exist")
            trial = int(plan.trial_days or 0)  # TRI-1: nothing is charged until its last day
            sub = start_subscription(account, plan, interval=pending.interval,
                                     quantity=pending.quantity, start=today,
                                     first_payment=None if trial else today,
                                     trial_days=trial or None, actor=person)
            AuditEvent.create(account=account.id, actor=person.id, action="signup.verified",
                              detail=f"{pending.email} verified; {plan.code} "
                                     f"{pending.interval}")
        except onboarding.AccountRefused as refused:
            raise _rolled_back(refused.errors) from None
        except CatalogueError as refused:
            raise _rolled_back({refused.field: refused.message}) from None
    return person, sub


def _rolled_back(errors: dict) -> SignupRefused:
    """A refusal raised inside the transaction, which rolls back as it leaves it."""
    return SignupRefused("refused", errors)


def emit_events(events) -> None:
    """Hand the events to the listeners (the notifier mails the address)."""
    from ..plugins import plugin_manager  # the plugins import the services: not at the top

    emit(plugin_manager(), events)
