"""Logging in and out."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from .. import demo
from ..forms import LoginForm
from ..models import User
from ..security import limiter

bp = Blueprint("auth", __name__)


def home_for(user) -> str:
    """Where a user lands after logging in."""
    if user.is_operator:
        return url_for("operator.index")
    return url_for("subscription.index")


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths may be followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/")
def root():
    """Send visitors to their home page, or to the login form."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"],
               deduct_when=lambda response: response.status_code >= 400)
def login():
    """Show the login form and log the user in; one message for any wrong credential."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = User.get_or_none(User.email == form.email.data.strip().lower())
        if user is None or not user.check_password(form.password.data) or not user.active:
            error = _("Wrong email or password.")
        else:
            login_user(user)
            flash(_("Welcome, %(name)s.", name=user.name or user.email), "success")
            return redirect(safe_next(request.args.get("next")) or home_for(user))
    status = 401 if error else (400 if form.errors else 200)
    # Demo mode lists the demo logins, so a first visitor knows whom to log in as.
    logins = [email for email, _what in demo.LOGINS] if current_app.config["DEMO"] else []
    return render_template("auth/login.html", form=form, error=error,
                           demo_logins=logins, demo_password=demo.PASSWORD), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out (POST only, CSRF-protected)."""
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
