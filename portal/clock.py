"""The one clock of the app and the billing engine: ``today()`` and ``now()``.

Pure Python (no Flask), so the billing engine and the models may use it. A day can be
pinned two ways, the first that answers wins:

1. ``with clock.pinned(day):`` pins it for the code inside (the demo loader, a script);
2. a *source*, a function installed once with ``clock.set_source(fn)`` that returns a
   pinned day or None. ``create_app`` installs one that reads the current app's ``TODAY``
   setting (a ``datetime.date``, deliberately not a PORTAL_* variable), so tests and
   demos pin an app with ``create_app({"TODAY": day})``.

Otherwise it is the real clock. ``now()`` follows the pinned day: it is the real UTC time
moved by whole days to that day, so time still flows (leases, retries, timeouts keep their
durations) and ``now().date() == today()``. Timestamps are naive UTC, as stored.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Callable, Iterator

_pinned: contextvars.ContextVar[dt.date | None] = contextvars.ContextVar("portal_clock",
                                                                         default=None)
_source: Callable[[], dt.date | None] = lambda: None  # noqa: E731


def _real_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def set_source(source: Callable[[], dt.date | None]) -> None:
    """Install the function that says which day is pinned (None: the real one)."""
    global _source
    _source = source


def pinned_day() -> dt.date | None:
    """The pinned day, or None when the real clock runs."""
    day = _pinned.get()
    if day is None:
        day = _source()
    if isinstance(day, dt.datetime):
        return day.date()
    return day if isinstance(day, dt.date) else None


@contextlib.contextmanager
def pinned(day: dt.date | None) -> Iterator[None]:
    """Pin ``today()`` to ``day`` for the code inside (None: leave the clock alone)."""
    token = _pinned.set(day) if day is not None else None
    try:
        yield
    finally:
        if token is not None:
            _pinned.reset(token)


def now() -> dt.datetime:
    """Naive UTC date and time, on the pinned day if one is pinned."""
    real = _real_now()
    day = pinned_day()
    if day is None:
        return real
    return real + (day - real.date())


def today() -> dt.date:
    """Today's date (UTC): the pinned day if one is pinned, else the real one."""
    return now().date()
