"""Translations and locale-aware formatting of money and dates (Flask-Babel).

A page is in the user's chosen language (``User.language``), else the browser's
Accept-Language, else ``PORTAL_DEFAULT_LOCALE``; so is a document a person downloads.
Mail (and anything rendered without a reader) about an account is in the account's
language (``Account.language``, set by operators): code that renders it wraps the
rendering in ``in_account_language(account)``. The catalogues live in
portal/translations/ (``make translations``; docs/decisions.md, "Translations").
"""
from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel import Locale, numbers
from flask import current_app, g, has_request_context, request
from flask_babel import (Babel, force_locale, format_currency, format_date, format_datetime,
                         format_percent, get_locale, get_translations)
from flask_login import current_user

from .billing.rewording import reword

LANGUAGES = ("en", "fr")
# Each language by its own name, as a language menu shows it (never translated).
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}


def default_locale() -> str:
    """``PORTAL_DEFAULT_LOCALE`` if it is a language we have, else English."""
    chosen = current_app.config.get("DEFAULT_LOCALE") or "en"
    return chosen if chosen in LANGUAGES else "en"


def select_locale() -> str:
    """The user's choice, else the browser's Accept-Language, else the default."""
    chosen = getattr(current_user, "language", None) if current_user else None
    if chosen in LANGUAGES:
        return chosen
    browser = request.accept_languages.best_match(LANGUAGES) if has_request_context() else None
    return browser or default_locale()


def account_locale(account) -> str:
    """The language of an account's mail and documents (``Account.language``)."""
    chosen = getattr(account, "language", None)
    return chosen if chosen in LANGUAGES else default_locale()


def in_account_language(account):
    """``with in_account_language(account):`` renders gettext, dates and money in the
    account's language, whoever the reader of the current request is."""
    return force_locale(account_locale(account))


def page_currency() -> str:
    """The currency of amounts a page does not name one for: the one ``use_currency`` set
    for this request (the account shown), else the signed-in person's account's (CAT-1).
    Operator pages about no one account name the currency of each amount."""
    chosen = g.get("portal_currency")
    if chosen:
        return chosen
    account_id = getattr(current_user, "account_id", None) if current_user else None
    if account_id is not None:
        from .models import Account

        chosen = g.portal_currency = Account.select(Account.currency).where(
            Account.id == account_id).scalar()
    return chosen or "USD"


def use_currency(currency: str | None) -> None:
    """Amounts on this page are in ``currency`` (the account it shows) unless one says
    otherwise."""
    if currency:
        g.portal_currency = currency


def money_filter(amount, currency: str | None = None) -> str:
    """``{{ amount|money(currency) }}``: the amount in its currency, with that currency's
    symbol and decimals in the reader's locale (rules CAT-1, DOC-3): 1 234,50 € in
    French, €1,234.50 in English. Without a currency, the page's (``page_currency``).

    The same call Flask-Babel's ``format_currency`` makes (Babel's defaults), kept per
    process under everything its text comes from (``formatted_amount``)."""
    currency = currency or page_currency()
    locale = get_locale()
    if locale is None:  # outside a request: Flask-Babel's own answer
        return format_currency(amount, currency)
    try:
        return formatted_amount(locale, currency, str(amount), amount)
    except TypeError:  # an unhashable amount: formatted each time
        return numbers.format_currency(amount, currency, locale=locale)


@lru_cache(maxsize=8192)
def formatted_amount(locale: Locale, currency: str, text: str, amount) -> str:
    """``amount`` in ``currency`` as Babel writes it in ``locale``: a pure function of the
    locale, the currency and the amount, which its ``str()`` (``text``) names exactly
    (``Decimal('-0')`` prints "-0,00 €": equality alone would take it for ``0``). A page
    shows a few amounts: formatted once per worker, not on every request."""
    return numbers.format_currency(amount, currency, locale=locale)


def percent_filter(rate) -> str:
    """``{{ tax.rate|percent }}``: a rate in percent ("20 %", "5.5 %") in the reader's
    locale."""
    return format_percent(Decimal(rate) / 100, "#,##0.##%")


def country_name(code) -> str:
    """The name of the ISO country ``code`` in the reader's language (Babel's
    territories); the code itself if Babel does not know it."""
    if not code:
        return ""
    return (get_locale() or Locale("en")).territories.get(str(code).upper(), str(code))


def country_choices() -> list[tuple[str, str]]:
    """Every two-letter country Babel knows, by its name in the reader's language."""
    names = (get_locale() or Locale("en")).territories
    return sorted(((code, name) for code, name in names.items()
                   if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES),
                  key=lambda pair: pair[1].casefold())


NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "XK", "ZZ"}


def date_filter(day, fmt="medium") -> str:
    """``{{ day|date }}``: a date in the reader's locale."""
    return format_date(day, fmt) if day else ""


def datetime_filter(moment, fmt="medium") -> str:
    """``{{ moment|datetime }}``: a date and time in the reader's locale (UTC)."""
    return format_datetime(moment, fmt) if moment else ""


def reworded_filter(text) -> str:
    """``{{ line.description|reworded }}``: a phrase stored at issue (in the account's
    language then) said in the current locale (portal/billing/rewording.py)."""
    return reword(text, str(get_locale()))


def translations():
    """The translations of the current locale, looked up once per request and locale.

    Flask-Babel's ``get_translations()`` finds the domain, the locale and its cache for
    every string (``str()`` of the locale included); a page translates some thirty. The
    last answer is kept in ``g`` with the ``Locale`` object ``get_locale()`` returned:
    Flask-Babel gives a new one whenever the language can change within a request
    (``force_locale()`` on the way in and out, ``refresh()``), so a document forced into
    the account's language, or a page after a language change, never gets another
    language's strings (tests/test_page_caches.py, tests/test_i18n.py).
    """
    locale = get_locale()
    if locale is None:  # outside an app context: Flask-Babel's NullTranslations
        return get_translations()
    kept = g.get("portal_translations")
    if kept is None or kept[0] is not locale:
        kept = g.portal_translations = (locale, get_translations())
    return kept[1]


def init_app(app) -> None:
    """Register Babel, the template gettext and the ``money`` / ``date`` / ``datetime``
    template filters."""
    Babel(app, locale_selector=select_locale,
          default_locale=app.config.get("DEFAULT_LOCALE", "en"))
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.filters["money"] = money_filter
    app.jinja_env.filters["percent"] = percent_filter
    app.jinja_env.globals["country_name"] = country_name
    app.jinja_env.filters["date"] = date_filter
    app.jinja_env.filters["datetime"] = datetime_filter
    app.jinja_env.filters["reworded"] = reworded_filter
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["language_names"] = LANGUAGE_NAMES
