"""The benchmarks' harness (issue #20), not their timings: benchmarks/run's table is built
from the scripts' ``row:`` lines in the order of the issue's table, with ``n/a`` and the
reason for a figure no script printed; and wrkload's check of every answer counts a wrong
status and a wrong page as errors (a refused path can never be measured by mistake)."""
from __future__ import annotations

import importlib.util
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded  # dataclasses look their module up
    spec.loader.exec_module(loaded)
    return loaded


rows = module("rows")
wrkload = module("wrkload")

PAGE_OUT = """Seeded 10,000 devices
endpoint   requests req/s
row: subscription page, 10,000 devices / bare Flask endpoint | 0.82x (rounds 0.8-0.9) | >= 0.8x | ok
row: subscription page, 10 devices / bare Flask endpoint | 0.79x | >= 0.8x | MISSED
row: subscription page SQL queries (usage tab), 10 / 10,000 devices | 7 / 7 | <= 10, equal | ok
"""
LOAD_OUT = """requests 1,000
row: load: 100 connections for 30 s on the subscription page (10,000 devices) | 0 errors \
| 0 errors, p99 < 250 ms | ok
row: RSS per gunicorn worker after the load run | 78-86 MB (2 workers) | < 100 MB | ok
"""
PARTIALS_OUT = """\
row: wizard live preview (priced, seat plan), 10 devices / bare endpoint | 0.71x | >= 0.7x | ok
row: htmx tab partial (active tab), 10,000 devices / bare Flask endpoint | 0.5x | >= 0.8x | MISSED
row: htmx usage partial payload / full page, 10 devices | 0.45 (4,321 bytes) | <= 1/5 | MISSED
"""
BILLING_OUT = """\
row: receipt PDF / WeasyPrint one-line floor | 1.42x (38 ms vs 27 ms) | <= 1.5x | ok
row: billing run on PostgreSQL, one worker / the same run on SQLite | 1.4x | <= 1.5x | ok
row: billing run, 10,000 subscriptions, SQLite, one worker | 14.2 s | <= 15 s | ok
row: billing run on PostgreSQL, 2 workers / 1 | 1.9x | >= 1.8x | ok
"""


def test_the_table_takes_every_row_in_the_order_of_the_issue():
    table = rows.collect({"page_load": LOAD_OUT, "billing_run": BILLING_OUT,
                          "partials": PARTIALS_OUT, "subscription_page": PAGE_OUT},
                         {"metrics_page": "skipped (--skip)"})
    figures = [row.figure for row in table]
    assert figures[:3] == [
        "subscription page, 10,000 devices / bare Flask endpoint",
        "subscription page, 10 devices / bare Flask endpoint",
        "subscription page SQL queries (usage tab), 10 / 10,000 devices"]
    order = [figures.index(f) for f in (
        "htmx tab partial (active tab), 10,000 devices / bare Flask endpoint",
        "htmx usage partial payload / full page, 10 devices",
        "wizard live preview (priced, seat plan), 10 devices / bare endpoint",
        rows.SECTIONS[3].figure,  # the operator pages: not printed, n/a
        "receipt PDF / WeasyPrint one-line floor",
        "billing run, 10,000 subscriptions, SQLite, one worker",
        "billing run on PostgreSQL, 2 workers / 1",
        "billing run on PostgreSQL, one worker / the same run on SQLite",
        "load: 100 connections for 30 s on the subscription page (10,000 devices)",
        "RSS per gunicorn worker after the load run",
        rows.SECTIONS[10].figure)]  # the CSV: not printed, n/a
    assert order == sorted(order) and len(table) == 3 + 3 + 4 + 2 + 2
    by_figure = {row.figure: row for row in table}
    first = by_figure["subscription page, 10,000 devices / bare Flask endpoint"]
    assert (first.result, first.target, first.verdict) == (
        "0.82x (rounds 0.8-0.9)", ">= 0.8x", "ok")
    assert by_figure["subscription page, 10 devices / bare Flask endpoint"].verdict == "MISSED"
    for section in (rows.SECTIONS[3], rows.SECTIONS[10]):
        missing = by_figure[section.figure]
        assert missing.result == "n/a (skipped (--skip))" and missing.target == section.target


def test_a_failed_or_absent_script_shows_its_figures_as_n_a_with_the_reason():
    table = rows.collect({"subscription_page": "Traceback ...\n"},
                         {"subscription_page": "subscription_page.py exit status 1",
                          "pdfs": "benchmarks/pdfs.py is missing"})
    assert len(table) == len(rows.SECTIONS)  # one n/a row per figure of the issue
    results = {row.figure: row.result for row in table}
    assert results[rows.SECTIONS[0].figure] == "n/a (subscription_page.py exit status 1)"
    assert results[rows.SECTIONS[4].figure] == "n/a (benchmarks/pdfs.py is missing)"
    assert results[rows.SECTIONS[8].figure] == "n/a (page_load not run)"
    assert all(row.verdict == "-" for row in table)
    text = rows.render(table)
    assert text.splitlines()[0] == "| figure | result | target | |"
    assert len(text.splitlines()) == 2 + len(rows.SECTIONS)


def test_only_well_formed_row_lines_count():
    out = ("row: a figure | 1 | >= 1 | ok\n"
           "a row: inside a sentence | 1 | 2 | ok\n"
           "row: no verdict | 1 | 2\n"
           "row: another | 2 | - | -\n")
    assert [(r.figure, r.verdict) for r in rows.parse(out)] == [("a figure", "ok"),
                                                                 ("another", "-")]


def test_the_marker_reaches_lua_byte_for_byte():
    marker = 'data-change="upgrade" \\ é\n'
    escaped = wrkload.lua_string(marker)
    assert set(escaped) <= set("\\0123456789")
    assert bytes(int(n) for n in escaped.split("\\")[1:]) == marker.encode()


class Pages(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server's name
        status, body = {"/right": (200, b'<p data-change="upgrade">'),
                        "/wrong": (200, b'<p data-change="">'),
                        "/refused": (403, b'<p data-change="upgrade">')}[self.path]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.skipif(not shutil.which(wrkload.WRK), reason="wrk is not installed "
                    "(scripts/system-packages bench)")
def test_wrk_counts_every_wrong_status_and_wrong_page_as_an_error():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    marker = 'data-change="upgrade"'
    try:
        right = wrkload.measure(f"{base}/right", marker, seconds=1, connections=2)
        wrong = wrkload.measure(f"{base}/wrong", marker, seconds=1, connections=2)
        refused = wrkload.measure(f"{base}/refused", marker, seconds=1, connections=2)
        assert wrkload.check(f"{base}/right", marker) == len(b'<p data-change="upgrade">')
        with pytest.raises(RuntimeError, match="answered 403"):
            wrkload.check(f"{base}/refused", marker)
    finally:
        server.shutdown()
        server.server_close()
    assert right.requests > 0 and right.errors == 0
    assert wrong.requests > 0 and wrong.missing == wrong.errors == wrong.requests
    assert refused.requests > 0 and refused.non200 == refused.errors == refused.requests


OLD_BILLING_OUT = """\
Billing benchmark: 10000 subscriptions due on 2026-12-01, fake gateway, 2 CPU(s)
SQLite, 1 worker:          33.5 s  (   299 subscriptions/s)   target <= 60 s ok   [ok]
Receipt PDF:               43.5 ms median; WeasyPrint one-line floor 25.2 ms (ratio 1.73, ...
PostgreSQL, 1 worker:     107.2 s  (    93 subscriptions/s)   [ok]
PostgreSQL, 2 workers:     53.6 s  (   187 subscriptions/s)   split 5000 + 5000   [ok]
Two workers vs one:        2.00x   target >= 1.6x ok
"""


def test_a_billing_run_without_rows_still_gives_its_figures_against_the_issues_targets():
    table = rows.collect({"billing_run": OLD_BILLING_OUT})
    got = {row.figure: (row.result, row.target, row.verdict) for row in table
           if row.script == "billing_run" and not row.result.startswith("n/a")}
    assert got == {
        "receipt PDF / WeasyPrint one-line floor": ("1.73x (44 ms vs 25 ms)", "<= 1.5x",
                                                    "MISSED"),
        "billing run, 10,000 subscriptions, SQLite, one worker": ("33.5 s", "<= 15 s",
                                                                  "MISSED"),
        "billing run on PostgreSQL, 2 workers / one worker": ("2.00x (107.2 s -> 53.6 s)",
                                                               ">= 1.8x", "ok"),
        "billing run on PostgreSQL, one worker / the same run on SQLite": (
            "3.20x (107.2 s vs 33.5 s)", "<= 1.5x", "MISSED")}
    # a version that prints rows: its rows only, nothing guessed from its words
    assert [r.figure for r in rows.collect({"billing_run": OLD_BILLING_OUT + BILLING_OUT})
            if r.script == "billing_run"] == [
        "receipt PDF / WeasyPrint one-line floor",
        "billing run, 10,000 subscriptions, SQLite, one worker",
        "billing run on PostgreSQL, 2 workers / 1",
        "billing run on PostgreSQL, one worker / the same run on SQLite"]
