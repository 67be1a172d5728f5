"""What stays fixed within a batch of mails of one language, looked up once per batch.

A billing batch renders a hundred receipts in one language. Through the app's own
template globals and filters each mail looked its language up again for every string
(``_``), amount (``money``) and date (``date``): Flask-Babel's ``get_locale()`` and
``get_translations()`` through Flask's context locals, then Babel's formatting, about a
quarter of a billing run (docs/decisions.md). ``render_mails`` renders a batch with:

- ``gettext`` / ``ngettext`` given in the template context (Jinja's i18n extension
  resolves ``_`` through the context, so these win over the app's globals), bound to the
  batch's one ``Translations`` object (each string looked up once per batch), with
  Jinja's "newstyle" semantics (autoescaped in HTML, ``%`` formatting always);
- the ``money`` and ``date`` filters of an overlay of the app's Jinja environment (its own
  template cache, so its templates use its filters): the same Babel calls as
  Flask-Babel's ``format_currency`` / ``format_date`` make, with the batch's ``Locale``,
  each distinct day formatted once per batch and each amount through the pages'
  per-process cache (``i18n.formatted_amount``). Anything else (a
  date with another format, a datetime, no currency) goes to the app's own filter.

The texts are the same as ``render_template`` gives (tests/test_notification_batches.py).
"""
from __future__ import annotations

import datetime as dt

from babel import dates
from jinja2 import pass_context
from markupsafe import Markup

from ..i18n import date_filter, formatted_amount, money_filter

FORMATS = "portal_mail_formats"  # the context's name for the batch's Formats


class Formats:
    """One batch's language: its babel ``Locale``, translations and formatted values."""

    def __init__(self, locale, translations):
        self.locale = locale
        self.translations = translations
        self.days: dict = {}

    def context(self) -> dict:
        """The template context entries that bind ``_`` to this batch's translations."""
        translations, said = self.translations, {}

        @pass_context
        def gettext(context, string, **variables):
            rv = said.get(string)
            if rv is None:  # each string of the batch's templates looked up once
                rv = said[string] = translations.ugettext(string)
            if context.eval_ctx.autoescape:
                rv = Markup(rv)
            return rv % variables

        @pass_context
        def ngettext(context, singular, plural, num, **variables):
            variables.setdefault("num", num)
            rv = translations.ungettext(singular, plural, num)
            if context.eval_ctx.autoescape:
                rv = Markup(rv)
            return rv % variables

        return {FORMATS: self, "gettext": gettext, "ngettext": ngettext}


@pass_context
def money(context, amount, currency=None):
    formats = context.get(FORMATS)
    if formats is None or not currency:
        return money_filter(amount, currency)
    try:  # the pages' per-process cache of formatted amounts, with the batch's Locale
        return formatted_amount(formats.locale, currency, str(amount), amount)
    except TypeError:  # an unhashable amount
        return money_filter(amount, currency)


@pass_context
def date(context, day, fmt="medium"):
    formats = context.get(FORMATS)
    if formats is None or fmt != "medium" or type(day) is not dt.date:
        return date_filter(day, fmt)
    found = formats.days.get(day)
    if found is None:  # what Flask-Babel's format_date(day, "medium") calls
        found = formats.days[day] = dates.format_date(day, "medium", locale=formats.locale)
    return found


def mail_environment(app):
    """The app's Jinja environment with the batch filters above: an overlay made once
    per app, with a template cache of its own."""
    overlay = app.extensions.get("portal_mail_environment")
    if overlay is None:
        overlay = app.jinja_env.overlay(cache_size=100)
        overlay.filters = {**app.jinja_env.filters, "money": money, "date": date}
        app.extensions["portal_mail_environment"] = overlay
    return overlay
