"""Logging in and out, and choosing the account to work in (rule ACC-5)."""
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from .. import demo
from ..accounts import passwords
from ..forms import LoginForm
from ..accounts.login_limit import keys_for, login_limit
from ..models import Account, Membership, User
from ..security import ACCOUNT_KEY, enter

bp = Blueprint("auth", __name__)


def home_for(user) -> str:
    """Where a user lands after logging in."""
    if user.is_operator and user.account_id is None:
        return url_for("operator.index")
    if user.account_id is None and user.account_count:
        return url_for("auth.choose_account")
    return url_for("subscription.index")


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths may be followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def demo_logins() -> list[dict]:
    """The demo users of this database, for the login page's one-click buttons."""
    found = {u.email: u for u in User.select().where(
        User.email.in_([email for email, _what in demo.LOGINS]))}
    members: dict[int, list] = {}
    for m in (Membership.select(Membership, Account).join(Account)
              .where(Membership.user.in_([u.id for u in found.values()] or [0])
                     & (Membership.active == True))  # noqa: E712
              .order_by(Account.name)):
        members.setdefault(m.user_id, []).append(m)
    return [{"email": email, "what": what, "user": found[email],
             "memberships": members.get(found[email].id, [])}
            for email, what in demo.LOGINS
            if email in found and (found[email].is_operator or found[email].id in members)]


@bp.route("/")
def root():
    """Send visitors to their home page, or to the login form."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and log the user in; one message for any wrong credential.

    Failed attempts are limited per client address and per login, counted where every
    worker sees them (portal/accounts/login_limit.py); a successful login does not count.
    """
    form = LoginForm()
    error, keys, wait = None, (), 0
    if request.method == "POST":
        keys = keys_for(request.remote_addr, request.form.get("email", ""))
        wait = login_limit().wait(keys)
    if wait:
        error = ngettext("Too many attempts. Wait %(num)d second, then try again.",
                         "Too many attempts. Wait %(num)d seconds, then try again.", wait)
    elif form.validate_on_submit():
        user = User.get_or_none(User.email == form.email.data.strip().lower())
        # An unknown email costs the same hash check as a known one (ACC-6: no answer
        # tells which emails exist, not even its time).
        if not passwords.authenticate(user, form.password.data):
            error = _("Wrong email or password.")
        else:
            # A new session (ACC-8): nothing of the anonymous one survives, the CSRF
            # token stored in it included; Flask-WTF makes a fresh one.
            session.clear()
            login_user(user)
            enter(user)
            flash(_("Welcome, %(name)s.", name=user.name or user.email), "success")
            return redirect(safe_next(request.args.get("next")) or home_for(user))
    status = 429 if wait else 401 if error else 400 if form.errors else 200
    if status in (400, 401):
        login_limit().failed(keys)
    # Demo mode lists the demo logins, so a first visitor knows whom to log in as.
    logins = demo_logins() if current_app.config["DEMO"] else []
    response = current_app.make_response((render_template(
        "auth/login.html", form=form, error=error, demo_logins=logins,
        demo_password=demo.PASSWORD), status))
    if wait:
        response.headers["Retry-After"] = str(wait)
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out (POST only, CSRF-protected): ends this session and every copy of it, and
    the user's other sessions with them (ACC-8: a copied cookie is refused afterwards)."""
    current_user.end_sessions()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/login/demo", methods=["POST"])
def demo_login():
    """Demo mode only: log in as one of the demo users with one click (the login page's
    buttons; CSRF-protected like every POST). Outside demo mode the route does not exist."""
    if not current_app.config["DEMO"]:
        abort(404)
    email = request.form.get("email", "")
    user = (User.get_or_none(User.email == email)
            if email in {e for e, _what in demo.LOGINS} else None)
    if user is None or not user.can_log_in:
        flash(_("This demo user does not exist in this database."), "error")
        return redirect(url_for("auth.login"), 303)
    session.clear()  # a new session, as after a password login (ACC-8)
    login_user(user)
    enter(user)
    flash(_("Welcome, %(name)s.", name=user.name or user.email), "success")
    return redirect(home_for(user), 303)


@bp.route("/accounts")
@login_required
def choose_account():
    """The accounts the person belongs to, one button each (ACC-5: after login, a person
    in several accounts picks one; also reached from the header's switcher)."""
    memberships = list(current_user.active_memberships())
    return render_template("auth/choose_account.html", memberships=memberships)


@bp.route("/accounts/switch", methods=["POST"])
@login_required
def switch_account():
    """Work in another of the person's accounts (the picker's buttons and the header's
    switcher, a real form with CSRF). Only an active membership lets the person in."""
    raw = request.form.get("account_id", "")
    membership = (current_user.active_memberships()
                  .where(Membership.account == int(raw)).first()
                  if raw.isdigit() and len(raw) < 12 else None)
    if membership is None:
        flash(_("You are not a member of this account."), "error")
        return redirect(url_for("auth.choose_account"), 303)
    session[ACCOUNT_KEY] = membership.account_id
    flash(_("You are working in %(account)s.", account=membership.account.name), "success")
    return redirect(url_for("subscription.index"), 303)
