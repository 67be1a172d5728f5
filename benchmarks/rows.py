"""The row protocol of the benchmarks, and the one table benchmarks/run prints from it.

Every benchmark script prints each figure of issue #20's table it owns as one line::

    row: <figure> | <result> | <target> | <ok|MISSED|->

``collect(outputs)`` gathers those lines from every script's output, orders them as the
issue's table (``SECTIONS``, found from words of the figure) and adds a row ``n/a`` with
the reason for every section no script printed (a script skipped, missing or failed).
``render(rows)`` prints them as a Markdown table (for docs/performance.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ROW = re.compile(r"^row: (.+) \| (.*) \| (.*) \| (ok|MISSED|-)\s*$", re.M)


@dataclass(frozen=True)
class Section:
    """A row of the issue's table: what it measures, its target, the script that owns it,
    and how to recognise its figures (a function of the figure's text, lower case)."""
    figure: str
    target: str
    script: str
    matches: object  # Callable[[str], bool]


def _has(*words: str):
    return lambda text: all(word in text for word in words)


# The order. A figure belongs to the first section that recognises it, so the
# more specific come first in MATCH_ORDER below.
SECTIONS = [
    Section("subscription page, 10,000 and 10 devices / bare Flask endpoint", ">= 0.8x",
            "subscription_page", _has("subscription page")),
    Section("htmx tab partial; htmx usage partial / bare endpoint, payload / full page",
            ">= 0.8x, <= 1/5", "partials", _has("partial")),
    Section("wizard live price preview (priced), 10 and 10,000 devices / bare endpoint",
            ">= 0.7x, flat", "partials", _has("preview")),
    Section("operator accounts list (10,000 accounts) and metrics page / subscription page",
            ">= 0.5x, <= 10 queries, flat", "metrics_page",
            lambda t: "operator" in t or "accounts list" in t or "metrics" in t),
    Section("receipt PDF; 1-line and 20-line invoice PDF / WeasyPrint's one-line floor",
            "<= 1.5x; <= 2x and <= 3x", "pdfs", _has("pdf")),
    Section("billing run, 10,000 subscriptions, SQLite, one worker", "<= 15 s",
            "billing_run", _has("billing")),
    Section("billing run on PostgreSQL, 2 and 4 workers / one worker", ">= 1.8x and >= 3x",
            "billing_run", _has("billing", "postgres")),
    Section("billing run on PostgreSQL, one worker / the same run on SQLite", "<= 1.5x",
            "billing_run", _has("billing", "postgres", "sqlite")),
    Section("100 connections for 30 s on the subscription page, gunicorn gthread",
            "0 errors, p99 < 250 ms", "page_load",
            lambda t: "connections" in t or t.startswith("load")),
    Section("RSS per gunicorn worker after the load run", "< 100 MB", "page_load",
            _has("rss", "worker")),
    Section("accounting CSV of a year (10,000 accounts)", "peak RSS < 150 MB, streaming",
            "metrics_page", _has("csv")),
]
# most specific first: CSV, RSS, load, preview, partial, operator, PDF, billing (PG vs
# SQLite, PG workers, SQLite), the subscription page last (other figures name it too)
MATCH_ORDER = [10, 9, 8, 2, 1, 3, 4, 7, 6, 5, 0]
OTHER = len(SECTIONS)  # a figure no section recognises: kept, at the end


@dataclass(frozen=True)
class Row:
    figure: str
    result: str
    target: str
    verdict: str
    script: str = ""


def section_of(figure: str) -> int:
    text = figure.lower()
    for index in MATCH_ORDER:
        if SECTIONS[index].matches(text):
            return index
    return OTHER


def parse(output: str, script: str = "") -> list[Row]:
    """The ``row:`` lines of one script's output."""
    return [Row(*(part.strip() for part in match.groups()), script=script)
            for match in ROW.finditer(output)]


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("ok" if ok else "MISSED")


def billing_lines(output: str) -> list[Row]:
    """billing_run.py's figures from its own lines, for a version of it that prints no
    ``row:`` lines (before issue #20): the issue's targets beside them."""
    found = []

    def number(pattern: str) -> float | None:
        match = re.search(pattern, output, re.M)
        return float(match.group(1)) if match else None

    count = number(r"^Billing benchmark: (\d+) subscriptions")
    full = count == 10_000
    sqlite = number(r"^SQLite, 1 worker:\s+([\d.]+) s")
    if sqlite is not None:
        found.append(Row(f"billing run, {count or 0:,.0f} subscriptions, SQLite, one worker",
                         f"{sqlite:.1f} s", "<= 15 s",
                         _verdict(sqlite <= 15 if full else None), "billing_run"))
    pdf = re.search(r"^Receipt PDF:\s+([\d.]+) ms median; WeasyPrint one-line floor "
                    r"([\d.]+) ms \(ratio ([\d.]+)", output, re.M)
    if pdf:
        ms, floor, ratio = (float(x) for x in pdf.groups())
        found.append(Row("receipt PDF / WeasyPrint one-line floor",
                         f"{ratio:.2f}x ({ms:.0f} ms vs {floor:.0f} ms)", "<= 1.5x",
                         _verdict(ratio <= 1.5), "billing_run"))
    one = number(r"^PostgreSQL, 1 worker:\s+([\d.]+) s")
    two = number(r"^PostgreSQL, 2 workers:\s+([\d.]+) s")
    if one and two:
        found.append(Row("billing run on PostgreSQL, 2 workers / one worker",
                         f"{one / two:.2f}x ({one:.1f} s -> {two:.1f} s)", ">= 1.8x",
                         _verdict(one / two >= 1.8), "billing_run"))
    if one and sqlite:
        found.append(Row("billing run on PostgreSQL, one worker / the same run on SQLite",
                         f"{one / sqlite:.2f}x ({one:.1f} s vs {sqlite:.1f} s)", "<= 1.5x",
                         _verdict(one / sqlite <= 1.5), "billing_run"))
    return found


# scripts whose older versions print their figures in their own words, not as rows
LEGACY = {"billing_run": billing_lines}


def collect(outputs: dict[str, str], absent: dict[str, str] | None = None) -> list[Row]:
    """Every row of every script (``{script: output}``), in the issue's order; a section
    no script printed gets an ``n/a`` row with the reason: ``absent[script]`` (skipped,
    missing, its exit status) or that it printed no row for it."""
    absent = absent or {}
    rows = []
    for script, output in outputs.items():
        rows += parse(output, script) or (LEGACY[script](output) if script in LEGACY else [])
    entries = [(section_of(row.figure), order, row) for order, row in enumerate(rows)]
    found = {rank for rank, _, _ in entries}
    for index, section in enumerate(SECTIONS):
        if index in found:
            continue
        reason = absent.get(section.script) or (
            f"{section.script} printed no row for it" if section.script in outputs
            else f"{section.script} not run")
        entries.append((index, -1, Row(section.figure, f"n/a ({reason})", section.target,
                                       "-", section.script)))
    return [row for _, _, row in sorted(entries, key=lambda e: (e[0], e[1]))]


def render(rows: list[Row]) -> str:
    """A Markdown table: figure, result, target, verdict."""
    lines = ["| figure | result | target | |", "|---|---|---|---|"]
    lines += [f"| {r.figure} | {r.result} | {r.target} | {r.verdict} |" for r in rows]
    return "\n".join(lines)
