"""Stored document phrases, said again in the reader's language.

The billing engine writes an issued document's phrases once, in the account's language
(portal/billing/wording.py: "Card payment: Visa ending 1881", "Team, monthly (seats)"),
and the stored text is never changed. A person who downloads the document reads it in
their own language, so the renderer recognises each stored phrase (in any language we
have a catalogue for), takes its parts back out (the brand, the plan name, the days) and
says it again in the reader's language. Text that is no known phrase (a plan's own name,
an operator's reason for a credit note) is printed as written.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache

from babel.dates import format_date

from . import wording as w

LANGUAGES = ("en", "fr")
PARAM = re.compile(r"%\((\w+)\)s")
SPACES = re.compile(r"(?:\\?\s)+")  # a run of (escaped) spaces in an escaped text


@dataclass(frozen=True)
class Phrase:
    """A message id; ``slots`` name the phrases a parameter may itself be."""

    msgid: str
    slots: tuple = field(default=())  # ((param, (Phrase, ...)), ...)
    lower: bool = False  # written lower-cased (a label used inside a sentence)
    dates: tuple = ()  # parameters stored as ISO days, said as the reader's dates

    def text(self, locale: str, **params) -> str:
        said = w.say(locale, self.msgid, **params)
        return said.lower() if self.lower else said


def words(*msgids, lower=False) -> tuple[Phrase, ...]:
    return tuple(Phrase(m, lower=lower) for m in msgids)


UNITS = words(*w.UNITS.values())
QUOTE_UNITS = words("users", "devices", "location subscriptions")
INTERVALS = words("Monthly", "Annual", lower=True)  # change_forms.INTERVAL_CHOICES
LINES = tuple(Phrase(m, (("units", UNITS),)) for m in w.PLAN_LINE.values()) \
    + words(*w.ADDON_LINE.values())
CARDS = (Phrase(w.CARD), Phrase(w.CARD_WORD))
# Phrases that hold others come first: "Card payment: Visa ending 1881" is a card
# payment, not a card whose brand is "Card payment: Visa".
PHRASES = (
    Phrase(w.CARD_PAYMENT, (("card", CARDS),)),
    Phrase(w.PRO_RATA, (("line", LINES),)),
    Phrase(w.PRORATION_LINE, dates=("day",)), Phrase(w.CREDIT_NOTE_LINE), Phrase(w.CARRIED_FROM),
    Phrase(w.CARRIED_TO_NEXT), Phrase(w.RECORDED_BY_OPERATOR),
) + LINES + CARDS + (
    # Quote lines (portal/views/change_forms.describe_line), stored the same way.
    Phrase("%(plan)s, %(interval)s: %(unit)s", (("interval", INTERVALS),
                                                 ("unit", QUOTE_UNITS))),
    Phrase("Add-on licenses, %(interval)s", (("interval", INTERVALS),)),
)


@lru_cache(maxsize=256)
def _pattern(phrase: Phrase, locale: str) -> re.Pattern:
    """``phrase`` as said in ``locale``, its parameters as named groups."""
    template = w.say(locale, phrase.msgid)  # no parameters: the template itself
    slots = dict(phrase.slots)
    out, at = [], 0

    def literal(part):  # any space matches any space (French uses no-break ones)
        return SPACES.sub(r"\\s+", re.escape(part.lower() if phrase.lower else part))

    for found in PARAM.finditer(template):
        out.append(literal(template[at:found.start()]))
        name = found.group(1)
        options = slots.get(name, ())
        if options and not any(PARAM.search(o.msgid) for o in options):
            texts = sorted({o.text(locale) for o in options}, key=len, reverse=True)
            out.append(f"(?P<{name}>{'|'.join(literal(t) for t in texts)})")
        else:
            out.append(f"(?P<{name}>.+?)")
        at = found.end()
    out.append(literal(template[at:]))
    return re.compile("".join(out), re.S)


def _parse(text: str, phrases, locale: str):
    for phrase in phrases:
        found = _pattern(phrase, locale).fullmatch(text)
        if found:
            return phrase, found.groupdict()
    return None


def _say_again(text: str, phrases, source: str, target: str) -> str | None:
    parsed = _parse(text, phrases, source)
    if parsed is None:
        return None
    phrase, params = parsed
    for name, options in phrase.slots:
        again = _say_again(params[name], options, source, target)
        if again is not None:
            params[name] = again
    for name in phrase.dates:  # "2026-11-23" -> "Nov 23, 2026" / "23 nov. 2026"
        with contextlib.suppress(ValueError):
            params[name] = format_date(dt.date.fromisoformat(params[name].strip()),
                                       "medium", locale=target)
    return phrase.text(target, **params)


def reword(text: str | None, locale: str | None) -> str:
    """``text`` (a stored phrase, in whatever language it was issued) in ``locale``;
    text that is no known phrase comes back unchanged."""
    if not text or not locale:
        return text or ""
    target = str(locale).split("_")[0]
    for source in LANGUAGES:
        again = _say_again(text, PHRASES, source, target)
        if again is not None:
            return again
    return text
