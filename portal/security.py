"""Login, CSRF, role decorators and security headers (rules ACC-2, ACC-3)."""
from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_required
from flask_wtf.csrf import CSRFProtect
from peewee import JOIN

from . import MAX_ID
from .db import Prepared
from .models import Account, User

login_manager = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()
limiter = Limiter(key_func=get_remote_address)


_user_with_account = Prepared(lambda user_id: User.select(User, Account)
                              .join(Account, JOIN.LEFT_OUTER).where(User.id == user_id))


@login_manager.user_loader
def load_user(user_id: str):
    """Flask-Login: the user stored in the session, if still there (with the account:
    every account page needs it, so it comes in the same query, compiled once)."""
    if not user_id.isdigit() or int(user_id) > MAX_ID:
        return None
    rows = _user_with_account(int(user_id))
    return rows[0] if rows else None


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


def operator_required(view):
    """Logged in as an operator of this deployment (rule ACC-2)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_operator:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


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
    """Wire Flask-Login, CSRF (forms and htmx's X-CSRFToken header) and response headers."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    # Flask-Limiter also checks every request in a before_request hook, for default,
    # application and blueprint limits. We set none: the one limit (failed logins) is a
    # decorator, which checks in the view itself. The hook would only cost (0.2 ms a page).
    app.before_request_funcs[None].remove(limiter._check_request_limit)

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
