"""Benchmark of the PDF documents (issue #20): a receipt, a 1-line and a 20-line invoice
against WeasyPrint rendering a one-line document through its plain public API.

Each document is rendered through the portal's real path, as an operator's download does:
``portal.views.documents.document_pdf`` (the stored rows read as the view reads them, the
template, its stylesheet, the renderer hook, WeasyPrint). Each is timed **in turns** with
the floor: pairs after a warm-up, the figure being the median of the pairs' ratios, so a
slower moment of a shared machine falls on both sides of a pair. Every PDF is read back
(pypdf) for its markers (number, every line's description) before it is timed, so a wrong
document is never measured. It also counts the SQL statements of each render.

Prints one ``row:`` line per figure of issue #20's table (read by benchmarks/run), the
median of the pairs' ratios of CPU time (this process's; WeasyPrint runs in it), with the
wall-clock ratio beside it:

    .venv/bin/python benchmarks/pdfs.py [--pairs 40] [--quick] [--no-taxes] [--profile invoice20]
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import os
import pstats
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = dt.date(2026, 11, 23)
ACCOUNT = "Corner Bakeries"  # a demo account in Lyon, made a French business below
FLOOR_HTML = "<p>Invoice INV-000001: $30.00</p>"
# A French seller charging EU VAT (rule TAX-2): the documents carry a tax line, the legal
# mentions and the seller's registrations, as a taxed deployment prints them.
TAXED = dict(TAXES="eu_vat", SELLER_LEGAL_NAME="Comptoir Portail SAS",
             SELLER_ADDRESS="12 avenue de l'Opéra", SELLER_POSTAL_CODE="75001",
             SELLER_CITY="Paris", SELLER_COUNTRY="FR", SELLER_TAX_ID="FR40303265045",
             SELLER_REGISTRATIONS=("SIREN=303265045", "SIRET=30326504500020"))
TARGETS = {"receipt": 1.5, "invoice1": 2.0, "invoice20": 3.0}
FIGURES = {"receipt": "receipt PDF / WeasyPrint one-line floor",
           "invoice1": "invoice PDF, 1 line / WeasyPrint one-line floor",
           "invoice20": "invoice PDF, 20 lines / WeasyPrint one-line floor"}


def app_for(url: str, taxes: bool):
    from portal import create_app

    config = {"TESTING": True, "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": url,
              "SUPPORT_EMAIL": "support@bench.example", "TODAY": DAY}
    return create_app({**config, **(TAXED if taxes else {})})


def seed(app) -> dict[str, int]:
    """Migrate, load the demo data, and issue through the billing services a paid 1-line
    invoice with its receipt and a 20-line invoice: {"receipt": id, "invoice1": id, ...}."""
    from portal import demo
    from portal.billing.invoices import Line, issue_invoice, issue_receipt
    from portal.db import db, migrate
    from portal.models import Account

    with app.app_context():
        migrate()
        demo.load(today=DAY)
        Account.update(tax_id="FR40303265045", po_reference="BC-2026-117").where(
            Account.name == ACCOUNT).execute()
        account = Account.get(Account.name == ACCOUNT)
        with db.atomic():
            one = issue_invoice(account, [Line.priced("plan", "Team plan, monthly: 5 users", 5,
                                                      Decimal("12.00"))],
                                day=DAY, period=(DAY, DAY + dt.timedelta(days=30)))
            receipt = issue_receipt(one, day=DAY, amount=one.total, method="Visa •••• 1881",
                                    reference="fake-ch-000123")
            twenty = issue_invoice(account, [Line.priced("addon" if n % 3 else "plan",
                                                         f"Line {n:02d}: location plan, shop {n}",
                                                         n, Decimal("7.50"))
                                             for n in range(1, 21)],
                                   day=DAY, period=(DAY, DAY + dt.timedelta(days=30)))
        ids = {"receipt": receipt.id, "invoice1": one.id, "invoice20": twenty.id}
    db.close()
    return ids


def markers(kind: str, doc) -> list[str]:
    """Text the right PDF must contain."""
    from portal.models import InvoiceLine

    if kind == "receipt":
        return [doc.number, "RECEIPT"]
    lines = InvoiceLine.select().where(InvoiceLine.invoice == doc.id)
    return [doc.number, "INVOICE", *(line.description for line in lines)]


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    assert data.startswith(b"%PDF-"), data[:40]
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def counted(render) -> int:
    """SQL statements one ``render()`` runs (the portal's database's execute_sql wrapped
    on this instance only, as subscription_page.py counts a page's)."""
    from portal.db import db

    database = db.obj
    original, statements = database.execute_sql, []

    def counting(sql, params=None, *args, **kwargs):
        statements.append(sql)
        return original(sql, params, *args, **kwargs)

    database.execute_sql = counting
    try:
        render()
    finally:
        del database.execute_sql
    return len(statements)


def own_garbage(render):
    """``render`` then a garbage collection: each side pays for freeing what it made.

    The floor drops a FontConfiguration (fontconfig and Pango objects held in reference
    cycles) on every call; without this, whichever call next triggers the collector, most
    often the larger document, would pay for it."""
    def collected():
        render()
        gc.collect()
    return collected


def quartiles(values: list[float]) -> str:
    """The middle half of ``values``: how much the pairs agree."""
    q = statistics.quantiles(values, n=4)
    return f"{q[0]:.2f}-{q[2]:.2f}"


def paired(first, second, pairs: int) -> dict[str, float]:
    """``first`` and ``second`` run in turns, each with its own garbage collection: the
    medians (ms) of each and of the pairs' ratios, by the wall clock and by this process's
    CPU time (which other processes on a shared machine disturb less)."""
    first, second = own_garbage(first), own_garbage(second)
    for _ in range(3):  # warm: fonts, templates, parsed stylesheets
        first(), second()
    gc.collect()
    gc.freeze()  # what lives on (app, caches) out of the collections: each frees its own
    wall: list[tuple[float, float]] = []
    cpu: list[tuple[float, float]] = []
    for _ in range(pairs):
        began, began_cpu = time.perf_counter(), time.process_time()
        first()
        middle, middle_cpu = time.perf_counter(), time.process_time()
        second()
        ended, ended_cpu = time.perf_counter(), time.process_time()
        wall.append((middle - began, ended - middle))
        cpu.append((middle_cpu - began_cpu, ended_cpu - middle_cpu))
    gc.unfreeze()
    return {"ms": statistics.median(a for a, _ in wall) * 1000,
            "floor_ms": statistics.median(b for _, b in wall) * 1000,
            "ratio": statistics.median(a / b for a, b in wall),
            "spread": quartiles([a / b for a, b in wall]),
            "cpu_ms": statistics.median(a for a, _ in cpu) * 1000,
            "cpu_floor_ms": statistics.median(b for _, b in cpu) * 1000,
            "cpu_ratio": statistics.median(a / b for a, b in cpu if b)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="10 pairs (a smoke check)")
    parser.add_argument("--no-taxes", action="store_true",
                        help="no tax plugin (TAX-1): documents without tax lines")
    parser.add_argument("--only", choices=sorted(FIGURES), action="append")
    parser.add_argument("--profile", choices=sorted(FIGURES),
                        help="cProfile --pairs renders of one document and print the top")
    args = parser.parse_args()
    if args.quick:
        args.pairs = min(args.pairs, 10)
    from weasyprint import HTML

    from portal.db import db
    from portal.models import Invoice, Receipt
    from portal.plugins.render_weasyprint import font_configuration
    from portal.views.documents import document_pdf

    print(f"PDF benchmark: {os.cpu_count()} CPU(s), load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at start, "
          f"{'no taxes' if args.no_taxes else 'EU VAT, French seller'}, "
          f"{args.pairs} pairs per figure, {dt.datetime.now():%Y-%m-%d %H:%M}", flush=True)
    tmp = tempfile.mkdtemp(prefix="portal-bench-pdfs.")
    try:
        app = app_for(f"sqlite:///{tmp}/pdfs.sqlite3", not args.no_taxes)
        ids = seed(app)

        def floor():
            return HTML(string=FLOOR_HTML).write_pdf()

        with app.test_request_context():
            db.connect(reuse_if_open=True)
            for name in args.only or FIGURES:
                kind = "receipt" if name == "receipt" else "invoice"
                model = Receipt if kind == "receipt" else Invoice

                def render(kind=kind, model=model, doc_id=ids[name]):
                    # what the download view does: read the document, render it in English
                    return document_pdf(kind, model.get_by_id(doc_id), "en")

                doc = model.get_by_id(ids[name])
                text = pdf_text(render())
                missing = [m for m in markers(kind, doc) if m not in text]
                assert not missing, f"{name}: the PDF lacks {missing}"
                assert "INV-000001" in pdf_text(floor())
                queries = counted(render)
                if args.profile == name:
                    profile = cProfile.Profile()
                    profile.runcall(lambda: [render() for _ in range(args.pairs)])
                    pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
                    pstats.Stats(profile).sort_stats("tottime").print_stats(30)
                    continue
                m = paired(render, floor, args.pairs)
                target, ratio = TARGETS[name], m["ratio"]
                print(f"{FIGURES[name]}: {m['ms']:.1f} ms vs {m['floor_ms']:.1f} ms, ratio "
                      f"{ratio:.2f} (median of {args.pairs} pairs, middle half {m['spread']}); "
                      f"CPU time {m['cpu_ms']:.1f} "
                      f"vs {m['cpu_floor_ms']:.1f} ms, ratio {m['cpu_ratio']:.2f}; {queries} SQL "
                      f"statements, {len(pdf_text(render()).splitlines())} text lines, "
                      f"{len(render())} bytes", flush=True)
                # The row gives the CPU-time ratio: on a shared machine the wall clock also
                # counts the time either side waited for a core (both are printed above).
                cpu = m["cpu_ratio"]
                print(f"row: {FIGURES[name]} | {cpu:.2f}x CPU time ({m['cpu_ms']:.0f} ms vs "
                      f"{m['cpu_floor_ms']:.0f} ms; wall clock {ratio:.2f}x) | <= {target:g}x | "
                      f"{'ok' if cpu <= target else 'MISSED'}", flush=True)
            db.close()
        reused = paired(lambda: HTML(string=FLOOR_HTML).write_pdf(font_config=font_configuration()),
                        floor, args.pairs)
        print(f"The floor with the font configuration reused, as the portal's renderer does: "
              f"{reused['cpu_ms']:.1f} ms CPU against {reused['cpu_floor_ms']:.1f} ms for the "
              f"plain API (a FontConfiguration built per call)", flush=True)
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
