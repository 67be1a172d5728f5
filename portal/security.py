"""Login, CSRF, role decorators and security headers (rules ACC-2, ACC-3)."""
from __future__ import annotations

from functools import wraps

from flask import abort, redirect, request, session, url_for
from flask_htmx import HTMX
from flask_login import LoginManager, current_user, login_required
from flask_wtf.csrf import CSRFProtect
from peewee import JOIN, fn

from . import MAX_ID
from .accounts import login_limit
from .models import Account, Membership, User
from .sqlcache import Compiled, columns, model_of

login_manager = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()


ACCOUNT_KEY = "account_id"  # the session's chosen account (rule ACC-5)


def _active_count():
    return (Membership.select(fn.COUNT(Membership.id))
            .where((Membership.user == User.id) & (Membership.active == True)))  # noqa: E712


def _person_query(user_id, chosen=None):
    """The user, with the membership of the ``chosen`` account and that account (LEFT
    OUTER: none if the membership ended), and how many active memberships they have."""
    if chosen is None:
        return (User.select(*_USER, _active_count().alias("account_count"))
                .where(User.id == user_id).limit(1))
    return (User.select(*_USER, *_MEMBERSHIP, *_ACCOUNT, _active_count().alias("account_count"))
            .join(Membership, JOIN.LEFT_OUTER,
                  on=((Membership.user == User.id) & (Membership.account == chosen)
                      & (Membership.active == True)))  # noqa: E712
            .join(Account, JOIN.LEFT_OUTER, on=(Membership.account == Account.id))
            .where(User.id == user_id).limit(1))


_USER, _MEMBERSHIP, _ACCOUNT = columns(User), columns(Membership), columns(Account)
# Compiled once per process (portal/sqlcache.py): building this join's SQL cost more
# than running it, on every request.
_PERSON = Compiled(_person_query, 1)
_PERSON_IN_ACCOUNT = Compiled(_person_query, 2)


def _read_person(user_id: int, chosen: int | None) -> User | None:
    """``_person_query``'s row as a User with its ``membership`` (its ``account``
    attached) and ``account_count``; None if there is no such user."""
    found = (_PERSON_IN_ACCOUNT.rows(user_id, chosen) if chosen
             else _PERSON.rows(user_id))
    if not found:
        return None
    row = found[0]
    n_user, n_membership = len(_USER), len(_MEMBERSHIP)
    user = model_of(User, _USER, row[:n_user])
    user.account_count = row[-1]
    if chosen:
        membership_row = row[n_user:n_user + n_membership]
        if membership_row[0] is not None:
            membership = model_of(Membership, _MEMBERSHIP, membership_row)
            membership.account = model_of(Account, _ACCOUNT,
                                          row[n_user + n_membership:-1])
            user.membership = membership
    return user


@login_manager.user_loader
def load_user(session_id: str):
    """Flask-Login: the user of the session ("id:key", ``User.get_id``), if still there
    and the session not ended since (rule ACC-8: the key is renewed by logout, a new
    password, a deactivation), with the membership of the account the session works in
    (rule ACC-5), checked on every request: a membership deactivated or removed ends the
    access to its account at once. One query: the user, the membership, its account and
    how many active memberships the person has (for the account switcher)."""
    user_id, _sep, key = session_id.partition(":")
    if not (user_id.isdigit() and key.isdigit()) or int(user_id) > MAX_ID:
        return None
    chosen = session.get(ACCOUNT_KEY)
    chosen = chosen if isinstance(chosen, int) and 0 < chosen <= MAX_ID else None
    user = _read_person(int(user_id), chosen)
    if user is None or str(user.session_key) != key:
        return None
    if chosen and user.membership is None:
        session.pop(ACCOUNT_KEY, None)  # that membership ended: choose again
    elif not chosen and user.account_count == 1:
        enter(user)
    if not user.is_operator and not user.account_count:
        return None
    return user


def enter(user: User, membership: Membership | None = None) -> None:
    """Work in ``membership``'s account from now on (kept in the session), or, without
    one, in the person's only account if they have exactly one."""
    if membership is None:
        found = list(user.active_memberships().limit(2))
        user.account_count = len(found)
        membership = found[0] if len(found) == 1 else None
    if membership is not None:
        session[ACCOUNT_KEY] = membership.account_id
    user.membership = membership


def needs_account_choice() -> bool:
    """A person with accounts but none chosen for this session (ACC-5: the picker)."""
    return current_user.account_id is None and bool(current_user.account_count)


def account_member_required(view):
    """Logged in and working in an account, admin or member (rule ACC-2); a person in
    several accounts who has not chosen one is sent to choose."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.account_id is None:
            if needs_account_choice():
                return redirect(url_for("auth.choose_account"))
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def account_admin_required(view):
    """Logged in as an active admin of the account the session works in; everyone else
    gets 403 (rule ACC-3)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_account_admin:
            if needs_account_choice():
                return redirect(url_for("auth.choose_account"))
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def operator_only():
    """``before_request`` of the operator console (portal/views/operator/): logged in as an
    operator of this deployment (rule ACC-2), checked once for every route of the
    blueprint. Anonymous -> the login page, anyone else -> 403. OPTIONS is left to Flask's
    automatic answer, as ``login_required`` leaves it (no view runs)."""
    if request.method == "OPTIONS":  # flask_login.login_required exempts it too
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_operator:
        abort(403)
    return None


def content_security_policy(extra_script_sources=(), extra_sources=None) -> str:
    """No inline script, no outside origin, except a gateway's client where it needs one.

    ``extra_sources`` maps a directive (``"script-src"``, ``"connect-src"``, ...) to the
    outside origins a page adds to it (e.g. Braintree's Drop-in on the add-card page).
    """
    extra = {k: tuple(v) for k, v in (extra_sources or {}).items()}
    extra["script-src"] = tuple(extra_script_sources) + extra.get("script-src", ())
    own = "'self'"

    def allow(directive, *base):
        return " ".join(base + tuple(o for o in extra.get(directive, ()) if o not in base))

    return ("default-src 'self'; "
            f"script-src {allow('script-src', own)}; "
            f"style-src {allow('style-src', own)}; "
            f"img-src {allow('img-src', own, 'data:')}; "
            "font-src 'self'; "
            f"connect-src {allow('connect-src', own)}; "
            f"frame-src {allow('frame-src', own)}; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def init_app(app) -> None:
    """Wire Flask-Login, CSRF (forms and htmx's X-CSRFToken header), the failed-login limit
    and response headers."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    htmx.init_app(app)
    login_limit.init_app(app)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        elif response.headers.get("Content-Disposition", "").startswith("attachment"):
            # a download (documents, CSV exports, zips): one person's, never in a shared cache
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response
