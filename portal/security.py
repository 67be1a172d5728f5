"""Login, CSRF, role decorators and security headers (rules ACC-2, ACC-3)."""
from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_htmx import HTMX
from flask_login import LoginManager, current_user, login_required
from flask_wtf.csrf import CSRFProtect
from peewee import JOIN

from . import MAX_ID
from .accounts import login_limit
from .models import Account, User

login_manager = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()


@login_manager.user_loader
def load_user(session_id: str):
    """Flask-Login: the user of the session ("id:key", ``User.get_id``), if still there,
    still active and the session not ended since (rule ACC-8: the key is renewed by
    logout, a new password, deactivation). The account comes in the same query: every
    account page needs it, and the key check costs no query of its own."""
    user_id, _sep, key = session_id.partition(":")
    if not (user_id.isdigit() and key.isdigit()) or int(user_id) > MAX_ID:
        return None
    user = (User.select(User, Account).join(Account, JOIN.LEFT_OUTER)
            .where(User.id == int(user_id)).first())
    if user is None or str(user.session_key) != key or not user.active:
        return None
    return user


def account_member_required(view):
    """Logged in and belonging to an account, admin or member (rule ACC-2)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.account_id is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def account_admin_required(view):
    """Logged in as an active admin of an account; everyone else gets 403 (rule ACC-3)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_account_admin:
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
        return response
