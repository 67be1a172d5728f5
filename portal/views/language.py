"""Choosing languages: a user's own pages; the choices and the form of an account's mail and
documents (the operator console sets it: ``operator.account_language``)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from ..forms import Form
from wtforms import HiddenField, SelectField

from ..db import db
from ..i18n import LANGUAGE_NAMES, LANGUAGES, account_locale, select_locale
from ..models import User
from .auth import home_for, safe_next

bp = Blueprint("language", __name__)

AUTOMATIC = ""  # User.language NULL: the browser's Accept-Language decides


def language_choices(automatic: bool) -> list[tuple[str, str]]:
    choices = [(code, name) for code, name in LANGUAGE_NAMES.items() if code in LANGUAGES]
    return ([(AUTOMATIC, _("Automatic (browser)"))] if automatic else []) + choices


class UserLanguageForm(Form):
    language = SelectField(_l("Language"))
    next = HiddenField()


class AccountLanguageForm(Form):
    language = SelectField(_l("Language of mail and documents"))


@bp.route("/language", methods=["GET", "POST"])
@login_required
def choose():
    """Pick the language of one's own pages, or "Automatic" to follow the browser."""
    form = UserLanguageForm()
    form.language.choices = language_choices(automatic=True)
    if request.method == "GET":
        form.language.data = current_user.language or AUTOMATIC
        form.next.data = safe_next(request.args.get("next")) or ""
    elif form.validate():
        chosen = form.language.data or None
        with db.atomic():
            User.update(language=chosen).where(User.id == current_user.id).execute()
        current_user.language = chosen
        with force_locale(select_locale()):  # say it in the language just chosen
            if chosen:
                flash(_("Language saved: %(language)s.", language=LANGUAGE_NAMES[chosen]),
                      "success")
            else:
                flash(_("Your pages now follow your browser's language."), "success")
        return redirect(safe_next(form.next.data) or home_for(current_user), 303)
    status = 400 if form.errors else 200
    return render_template("language/choose.html", form=form), status


def account_language_form(account) -> AccountLanguageForm:
    """The operator's account-language form, filled with the account's language."""
    form = AccountLanguageForm(formdata=None, language=account_locale(account))
    form.language.choices = language_choices(automatic=False)
    return form


@bp.app_context_processor
def language_menu():
    """What the header's language menu and the account page's language form need."""
    return {"language_choices": language_choices, "account_language_form": account_language_form}
