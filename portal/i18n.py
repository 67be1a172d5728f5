"""Translations and locale-aware formatting of money and dates (Flask-Babel)."""
from __future__ import annotations

from flask import request
from flask_babel import Babel, format_currency, format_date, get_locale
from flask_login import current_user

from .billing.money import CURRENCY

LANGUAGES = ("en", "fr")


def select_locale() -> str:
    """The user's choice, else the browser's Accept-Language, else the default."""
    chosen = getattr(current_user, "language", None) if current_user else None
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def money_filter(amount) -> str:
    """``{{ amount|money }}``: USD with two decimals in the reader's locale (rule DOC-3)."""
    return format_currency(amount, CURRENCY)


def date_filter(day, fmt="medium") -> str:
    """``{{ day|date }}``: a date in the reader's locale."""
    return format_date(day, fmt) if day else ""


def init_app(app) -> None:
    """Register Babel and the ``money`` / ``date`` template filters."""
    Babel(app, locale_selector=select_locale,
          default_locale=app.config.get("DEFAULT_LOCALE", "en"))
    app.jinja_env.filters["money"] = money_filter
    app.jinja_env.filters["date"] = date_filter
    app.jinja_env.globals["get_locale"] = get_locale
