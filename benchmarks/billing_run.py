"""Benchmark of the billing engine (issue #6). See benchmarks/README.md.

Prints:
1. seconds for a billing run of 10,000 due subscriptions with the ``fake`` gateway on
   SQLite (target <= 60 s on a 2-core machine);
2. the same on PostgreSQL (a throwaway cluster started here, as scripts/test does) with
   one worker, then with two workers at once, and the speed-up (target >= 1.6x);
3. the time to render one receipt PDF against WeasyPrint rendering a one-line document
   (target <= 2x that floor, and under 250 ms).

Every run is the real thing: ``portal.billing.renewals.run`` in separate worker processes
(the code path of ``portal billing run``), claims, invoices, gapless numbers, charges
with idempotency keys, receipts and their notifications (outbox channel).

    .venv/bin/python benchmarks/billing_run.py [--subscriptions 10000] [--skip-postgres]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pgcluster  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = dt.date(2026, 12, 1)
CHUNK = 500


def app_for(url):
    from portal import create_app

    return create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": url,
                       "SUPPORT_EMAIL": "support@bench.example"})


def seed(url: str, n: int) -> None:
    """Migrate, load the demo plans, and add ``n`` accounts, each with an admin, a shop
    with two devices, a default card and a monthly device subscription due on DAY."""
    from portal import demo
    from portal.accounts.memberships import add_membership
    from portal.catalogue import start_subscription
    from portal.db import db, migrate
    from portal.models import Account, Device, Location, PaymentMethod, Plan
    from portal.statuses import Role

    app = app_for(url)
    with app.app_context():
        migrate()
        demo.load(today=DAY.replace(month=11))
        plan = Plan.get(Plan.code == "devices")
        now = dt.datetime(2026, 11, 1)
        with db.atomic():
            first = (Account.select(Account.id).order_by(Account.id.desc()).scalar() or 0) + 1
            shift = (Location.select(Location.id).order_by(Location.id.desc()).scalar() or 0) + 1
            ids = range(first, first + n)

            def insert(model, rows):
                rows = list(rows)
                for start in range(0, len(rows), CHUNK):
                    model.insert_many(rows[start:start + CHUNK]).execute()

            insert(Account, ({"id": i, "name": f"Bench {i}", "legal_name": f"Bench {i} Ltd",
                              "address_line1": f"{i} Bench St", "postal_code": "LS1 1AA",
                              "city": "Leeds", "country": "GB", "created_at": now}
                             for i in ids))
            insert(Location, ({"id": shift + i, "account": i, "name": "Shop",
                               "external_id": "shop", "created_at": now} for i in ids))
            insert(Device, ({"account": i, "location": shift + i, "serial": f"D{i}-{d}",
                             "created_at": now} for i in ids for d in range(2)))
            insert(PaymentMethod, ({"account": i, "gateway": "fake", "token": f"tok_{i}",
                                    "brand": "Visa", "last4": "1881", "is_default": True,
                                    "created_at": now} for i in ids))
            # people and subscriptions through the app's own services (ACC-5, ONB-1: the
            # membership, and the price version in the account's currency, as the app does)
            for account in Account.select().where(Account.id.in_(list(ids))):
                add_membership(account, f"admin{account.id}@bench.example", name="Admin",
                               role=Role.ADMIN)
                sub = start_subscription(account, plan, interval="monthly", quantity=2,
                                         start=DAY.replace(month=11))
                assert sub.next_payment_date == DAY, sub.next_payment_date
        if url.startswith("postgres"):  # the explicit ids above: move the sequences on
            for table in ("account", "location"):
                db.execute_sql(f"SELECT setval('{table}_id_seq', (SELECT MAX(id) FROM {table}))")
            db.execute_sql("ANALYZE")
    db.close()


def worker(url: str, start_at: float) -> None:
    """One billing worker (a process of its own): wait for the common start, run, report."""
    from portal.billing.renewals import run
    from portal.db import db
    from portal.plugins import plugin_manager

    app = app_for(url)
    with app.app_context():
        db.connect(reuse_if_open=True)
        time.sleep(max(0.0, start_at - time.time()))
        began = time.perf_counter()
        report = run(DAY, pm=plugin_manager(app), config=app.config)
        elapsed = time.perf_counter() - began
    print(json.dumps({"seconds": elapsed, "invoiced": report.invoiced, "paid": report.paid,
                      "ended_at": time.time()}))


def run_workers(url: str, count: int) -> tuple[float, list[dict]]:
    """Start ``count`` worker processes together; wall seconds from start to the last end."""
    start_at = time.time() + 3.0  # after the imports of every worker
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", url, str(start_at)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(count)]
    results = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"worker failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return max(r["ended_at"] for r in results) - start_at, results


def check(url: str, n: int) -> str:
    """Every subscription billed once: invoices, receipts and gapless numbers."""
    from portal.db import db
    from portal.models import Invoice, Receipt

    app = app_for(url)
    with app.app_context():
        invoices = Invoice.select().count()
        paid = Invoice.select().where(Invoice.status == "paid").count()
        receipts = Receipt.select().count()
        numbers = sorted(int(x.split("-")[1]) for (x,) in Invoice.select(Invoice.number).tuples())
    db.close()
    gapless = numbers == list(range(1, len(numbers) + 1))
    ok = invoices >= n and paid >= n and receipts == paid and gapless
    return f"{invoices} invoices, {paid} paid, {receipts} receipts, gapless {gapless}" + (
        "" if ok else "  <-- CHECK FAILED")


# --- PostgreSQL: a throwaway cluster ----------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def Cluster():  # noqa: N802 - the shared cluster, durable like a production server
    return pgcluster.Cluster("portal-bench-pg.", durable=True)


# --- PDF --------------------------------------------------------------------------------

def paired_ms(first, second, repeat: int) -> tuple[float, float, float]:
    """Medians (ms) of ``first`` and ``second`` run in turns, and the median of their
    ratios: on a shared machine a slower moment then falls on both sides of a pair."""
    first(), second()  # warm: fonts, templates, stylesheets
    a, b, ratios = [], [], []
    for _ in range(repeat):
        began = time.perf_counter()
        first()
        middle = time.perf_counter()
        second()
        ended = time.perf_counter()
        a.append((middle - began) * 1000)
        b.append((ended - middle) * 1000)
        ratios.append((middle - began) / (ended - middle))
    return statistics.median(a), statistics.median(b), statistics.median(ratios)


def pdf_figures(url: str, repeat: int) -> tuple[float, float, float, float, float]:
    """One receipt through ``render_pdf`` (template + the renderer hook + WeasyPrint)
    against WeasyPrint's one-line floor as its plain API runs it, and against the same
    floor with the font configuration reused as the portal's renderer does, in turns:
    (receipt ms, floor ms, ratio, reused floor ms, ratio to it)."""
    from weasyprint import HTML

    from portal.models import Receipt
    from portal.plugins.render_weasyprint import font_configuration
    from portal.views.documents import document_pdf

    app = app_for(url)
    line = "<p>Receipt RCT-000001: $30.00</p>"
    with app.test_request_context():
        receipt = Receipt.select().order_by(Receipt.id).first()
        pdf, floor, ratio = paired_ms(lambda: document_pdf("receipt", receipt),
                                      lambda: HTML(string=line).write_pdf(), repeat)
        _, reused, reused_ratio = paired_ms(
            lambda: document_pdf("receipt", receipt),
            lambda: HTML(string=line).write_pdf(font_config=font_configuration()), repeat)
    return pdf, floor, ratio, reused, reused_ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--pdf-repeat", type=int, default=40)
    parser.add_argument("--worker", nargs=2, metavar=("URL", "START_AT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker[0], float(args.worker[1]))
    n = args.subscriptions
    print(f"Billing benchmark: {n} subscriptions due on {DAY}, fake gateway, "
          f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f} at start",
          flush=True)
    tmp = tempfile.mkdtemp(prefix="portal-bench-billing.")
    try:
        url = f"sqlite:///{tmp}/billing.sqlite3"
        seed(url, n)
        seconds, _ = run_workers(url, 1)
        print(f"SQLite, 1 worker:       {seconds:7.1f} s  ({n / seconds:6.0f} subscriptions/s)"
              f"   target <= 60 s {'ok' if seconds <= 60 else 'MISSED'}   [{check(url, n)}]",
              flush=True)
        pdf, floor, ratio, reused, reused_ratio = pdf_figures(url, args.pdf_repeat)
        print(f"Receipt PDF:            {pdf:7.1f} ms median; WeasyPrint one-line floor "
              f"{floor:.1f} ms (ratio {ratio:.2f}, median of {args.pdf_repeat} pairs; target "
              f"<= 2x {'ok' if ratio <= 2 else 'MISSED'}), {reused:.1f} ms with fonts reused "
              f"like the renderer (ratio {reused_ratio:.2f}); under 250 ms "
              f"{'ok' if pdf < 250 else 'MISSED'}", flush=True)
        if args.skip_postgres:
            return
        with Cluster() as cluster:
            one, two = cluster.create("bench_one"), cluster.create("bench_two")
            seed(one, n)
            seed(two, n)
            single, _ = run_workers(one, 1)
            print(f"PostgreSQL, 1 worker:   {single:7.1f} s  ({n / single:6.0f} subscriptions/s)"
                  f"   [{check(one, n)}]", flush=True)
            double, results = run_workers(two, 2)
            split = " + ".join(str(r["invoiced"]) for r in results)
            speedup = single / double
            print(f"PostgreSQL, 2 workers:  {double:7.1f} s  ({n / double:6.0f} subscriptions/s)"
                  f"   split {split}   [{check(two, n)}]")
            print(f"Two workers vs one:     {speedup:7.2f}x   target >= 1.6x "
                  f"{'ok' if speedup >= 1.6 else 'MISSED'}   (load average "
                  f"{os.getloadavg()[0]:.2f} at the end)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
