"""One pager for every list of the portal (issue #13 item 7), and the ``pager`` macro of
templates/_macros.html that draws its links.

``Page(query, number, per_page)`` reads one page of an ordered peewee query: rows
``(number - 1) * per_page`` up to ``number * per_page``, plus one more row that only says
whether a next page exists (it is never shown, and never skipped: the next page starts
with it). With ``count=True`` it also counts the rows (one COUNT query) for "Page 2 of 5".

``from_request(query, per_page)`` takes the number from ``?page=``: a missing one is page
1; one that is not a whole number from 1 up, or a page past the last one, is 404 (a link
to a page that does not exist), never a silent jump to another page.

A list whose reader picks its page size offers ``PER_PAGE_CHOICES`` (the first one by
default, as Stripe's dashboard lists 20-25 rows): ``per_page_choices()`` for its form's
select, ``per_page(raw)`` to read the choice (``?per_page=``, kept in the query string
with the filters, so the pager's links keep it).
"""
from __future__ import annotations

from flask import abort, request

MAX_PAGE = 1_000_000  # beyond any real list; keeps OFFSET within what every database takes
PER_PAGE_CHOICES = (25, 50, 100)  # rows per page a reader may pick; the first is the default


class Page:
    """One page of an ordered query: ``items``, ``number``, ``has_prev``, ``has_next``,
    and with ``count=True`` also ``total`` and ``pages``."""

    def __init__(self, query, number: int, per_page: int, *, count: bool = False):
        self.number, self.per_page = number, per_page
        self.total = query.count() if count else None
        rows = list(query.offset((number - 1) * per_page).limit(per_page + 1))
        self.items = rows[:per_page]
        self.has_prev = number > 1
        self.has_next = len(rows) > per_page
        self.pages = max(1, -(-self.total // per_page)) if count else None

    @property
    def exists(self) -> bool:
        """Page 1 always exists (an empty list); a later page only with rows on it."""
        return self.number == 1 or bool(self.items)

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def page_number(arg: str = "page") -> int:
    """The page asked for in the query string: 1 when missing, 404 when not 1..MAX_PAGE."""
    raw = request.args.get(arg)
    if raw is None or raw == "":
        return 1
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        abort(404)
    return int(raw)


def from_request(query, per_page: int, *, count: bool = False) -> Page:
    """The page of ``query`` that ``?page=`` asks for; 404 past the last page."""
    page = Page(query, page_number(), per_page, count=count)
    if not page.exists:
        abort(404)
    return page


def per_page_choices(choices=PER_PAGE_CHOICES) -> list[tuple[str, str]]:
    """(value, label) pairs for a form's page-size select, the default first."""
    return [(str(n), str(n)) for n in choices]


def per_page(raw: str | None, choices=PER_PAGE_CHOICES) -> int:
    """The page size ``raw`` asks for: the default (the first choice) when missing; a
    value that is not a choice is the caller's form error, and reads as the default."""
    return int(raw) if raw in {str(n) for n in choices} else choices[0]
