"""A person's password (rule ACC-8): change it, or reset it through a mailed link."""
from __future__ import annotations

import logging

from flask import (Blueprint, copy_current_request_context, current_app, flash, redirect,
                   render_template, request, session, url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user

from ..accounts import password_reset, passwords
from ..accounts.login_limit import keys_for, login_limit
from ..db import db
from ..forms import ChangePasswordForm, ForgotPasswordForm, NewPasswordForm
from ..models import User
from .auth import home_for

bp = Blueprint("passwords", __name__)
log = logging.getLogger("portal.passwords")


def _too_many(wait: int) -> str:
    return ngettext("Too many attempts. Wait %(num)d second, then try again.",
                    "Too many attempts. Wait %(num)d seconds, then try again.", wait)


def _page(template: str, status: int, wait: int = 0, **context):
    response = current_app.make_response((render_template(template, **context), status))
    if wait:
        response.headers["Retry-After"] = str(wait)
    return response


def _logged_in_again(user) -> None:
    """A new session for ``user`` after a new password: the old ones (this one included)
    were ended by the new session key; nothing of this one survives but the login."""
    session.clear()
    login_user(user)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change():
    """ACC-8: the current password, the new one twice; every other session of the person
    ends, this one stays logged in. A wrong current password counts as a failed login."""
    form = ChangePasswordForm()
    keys = keys_for(request.remote_addr, current_user.email)
    wait = login_limit().wait(keys) if request.method == "POST" else 0
    error = _too_many(wait) if wait else None
    if not wait and form.validate_on_submit():
        user = User.get_by_id(current_user.id)
        try:
            passwords.change_password(user, form.current_password.data, form.new_password.data)
        except passwords.WrongPassword:
            form.current_password.errors.append(_("This is not your current password."))
            login_limit().failed(keys)
        else:
            _logged_in_again(user)
            flash(_("Your password was changed. Every other session of yours was logged out."),
                  "success")
            return redirect(home_for(user), 303)
    status = 429 if wait else 400 if form.errors else 200
    return _page("passwords/change.html", status, wait, form=form, error=error)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot():
    """ACC-8: the same answer, status and work in the request whatever the address; the
    lookup and the mail happen after the answer is sent, for a known active person only.
    Limited like the login, per client address and per address asked for: each request
    that would mail counts (a malformed one mails nothing and writes nothing)."""
    form = ForgotPasswordForm()
    sent, error, wait = False, None, 0
    if request.method == "POST":
        keys = keys_for(request.remote_addr, request.form.get("email", ""), purpose="reset")
        wait = login_limit().wait(keys)
        if wait:
            error = _too_many(wait)
        elif form.validate_on_submit():
            login_limit().failed(keys)  # every request counts: none tells a known address
            sent = True
    status = 429 if wait else 400 if form.errors else 200
    response = _page("passwords/forgot.html", status, wait, form=form, sent=sent, error=error)
    if sent:
        response.call_on_close(_deferred_request(form.email.data))
    return response


def _deferred_request(email: str):
    """``request_reset`` for ``email``, to run once the answer has been sent."""
    placeholder = "TOKEN"
    template = url_for("passwords.reset", token=placeholder, _external=True)

    @copy_current_request_context
    def run():
        try:
            db.connect(reuse_if_open=True)
            password_reset.request_reset(email, lambda token: template.replace(placeholder,
                                                                                token))
        except Exception:  # noqa: BLE001 - the answer is gone; the log is the record
            log.exception("the password reset request could not be handled")

    return run


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """ACC-8: a live link sets a new password (the policy applies), ends every session of
    the person and logs them in here; a used, expired or forged link says so."""
    user = password_reset.user_for(token)
    if user is None:
        return _page("passwords/reset_invalid.html", 410)
    form = NewPasswordForm()
    if form.validate_on_submit():
        password_reset.reset_password(user, form.new_password.data)
        _logged_in_again(user)
        flash(_("Your new password is set. Every other session of yours was logged out."),
              "success")
        return redirect(home_for(user), 303)
    return _page("passwords/reset.html", 400 if form.errors else 200, form=form, user=user)


@bp.route("/password/welcome/<token>", methods=["GET", "POST"])
def welcome(token: str):
    """An operator made by ``portal operators create --invite`` chooses a password: the
    link works once (setting the password ends it), for 7 days; then logged in here."""
    user = password_reset.user_for(token, password_reset.WELCOME_SALT)
    if user is None:
        return _page("passwords/reset_invalid.html", 410)
    form = NewPasswordForm()
    if form.validate_on_submit():
        password_reset.reset_password(user, form.new_password.data)
        _logged_in_again(user)
        flash(_("Your password is set. Welcome."), "success")
        return redirect(home_for(user), 303)
    return _page("passwords/reset.html", 400 if form.errors else 200, form=form, user=user)
