"""Benchmark of the billing run (issues #6, #20). See benchmarks/README.md.

Measures the ``portal billing run --date 2026-12-01`` command as processes, from the
outside (wall time from the start of the processes to the end of the last one), on a
database seeded with N subscriptions due that day (10,000 by default, ``fake`` gateway):

1. SQLite, one worker (target <= 15 s for 10,000);
2. PostgreSQL (a throwaway cluster started here, with PostgreSQL's default durability),
   one worker, then 2 and 4 workers started at the same instant, each run on its own
   freshly seeded copy of the database: the speed-ups (targets >= 1.8x and >= 3x) and
   one PostgreSQL worker against one SQLite worker (target <= 1.5x).

Every run is the real thing: claims, invoices, gapless numbers, charges with idempotency
keys, receipts and their mails (outbox channel, PORTAL_JOBS=immediate). Each run is
checked: every subscription billed once and paid, a receipt each, no number gap, and the
workers' summaries add up. Beside each wall time the script prints the CPU time of the
worker processes and how busy the machine's CPUs were, so a floor set by two cores shows.
Each figure of issue #20's table is printed as one ``row:`` line (benchmarks/run).

    .venv/bin/python benchmarks/billing_run.py [--subscriptions 10000] [--skip-postgres]
                                               [--workers 1,2,4] [--rounds 1]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import resource
import secrets
import shutil
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
PORTAL = Path(sys.executable).with_name("portal")  # the console script of this virtualenv
SUMMARY = re.compile(r"(\d+) invoice\(s\) issued; (\d+) paid")
SECRET = secrets.token_hex(32)


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


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine (/proc/stat): how busy every CPU was."""
    with open("/proc/stat") as stat:
        values = [int(x) for x in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def server_cpu(cluster) -> float:
    """CPU seconds the PostgreSQL server has used so far: its postmaster's own and those of
    its children once ended (/proc/<pid>/stat utime, stime, cutime, cstime): each
    connection's backend ends with the ``portal billing run`` that opened it."""
    if cluster is None:
        return 0.0
    pid = Path(cluster.data, "postmaster.pid").read_text().split()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def billing_processes(url: str, count: int, cluster=None) -> dict:
    """``count`` ``portal billing run`` processes started at the same instant on ``url``;
    wall seconds from their start to the end of the last one, their CPU seconds (user +
    system, summed), the machine's CPU use meanwhile, and what each one billed."""
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": SECRET,
           "PORTAL_JOBS": "immediate", "PORTAL_SUPPORT_EMAIL": "support@bench.example"}
    argv = [str(PORTAL), "billing", "run", "--date", DAY.isoformat()]
    before_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, total0 = cpu_ticks()
    server0 = server_cpu(cluster)
    began = time.perf_counter()
    procs = [subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(count)]
    outputs = [proc.communicate() for proc in procs]
    wall = time.perf_counter() - began
    time.sleep(0.2)  # the backends end once their client has gone
    server = server_cpu(cluster) - server0
    busy1, total1 = cpu_ticks()
    after_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    for proc, (out, err) in zip(procs, outputs, strict=True):
        if proc.returncode:
            raise SystemExit(f"portal billing run failed:\n{out[-2000:]}\n{err[-3000:]}")
    found = [SUMMARY.search(out) for out, _ in outputs]
    if not all(found):
        raise SystemExit(f"no billing summary in {[out for out, _ in outputs]}")
    cpu = (after_cpu.ru_utime - before_cpu.ru_utime) + (after_cpu.ru_stime - before_cpu.ru_stime)
    machine = (busy1 - busy0) / max(1, total1 - total0)
    return {"wall": wall, "cpu": cpu, "server": server, "machine": machine,
            "invoiced": [int(m.group(1)) for m in found if m],
            "paid": [int(m.group(2)) for m in found if m]}


def check(url: str, n: int, result: dict) -> str:
    """Every subscription billed once and paid, a receipt each, gapless numbers, and the
    workers' summaries adding up to what the database holds."""
    from portal.db import close_all
    from portal.models import Invoice, Receipt

    app = app_for(url)
    with app.app_context():
        invoices = Invoice.select().count()
        paid = Invoice.select().where(Invoice.status == "paid").count()
        receipts = Receipt.select().count()
        billed = Invoice.select(Invoice.subscription).distinct().count()
        numbers = sorted(int(x.split("-")[1]) for (x,) in Invoice.select(Invoice.number).tuples())
        receipt_numbers = sorted(int(x.split("-")[1])
                                 for (x,) in Receipt.select(Receipt.number).tuples())
        close_all()
    gapless = (numbers == list(range(1, len(numbers) + 1))
               and receipt_numbers == list(range(1, len(receipt_numbers) + 1)))
    ok = (billed == invoices >= n and paid >= n and receipts == paid and gapless
          and sum(result["invoiced"]) == invoices and sum(result["paid"]) == paid)
    if not ok:
        raise SystemExit(f"CHECK FAILED: {invoices} invoices for {billed} subscriptions, "
                         f"{paid} paid, {receipts} receipts, gapless {gapless}, workers "
                         f"{result['invoiced']} invoiced / {result['paid']} paid")
    return f"{invoices} invoices, {paid} paid, {receipts} receipts, gapless numbers"


def show(label: str, n: int, result: dict, checked: str) -> None:
    split = " + ".join(str(x) for x in result["invoiced"])
    server = f", PostgreSQL server {result['server']:5.1f} s" if result["server"] else ""
    cores = (result["cpu"] + result["server"]) / result["wall"]
    print(f"{label:<24} {result['wall']:7.1f} s ({n / result['wall']:5.0f}/s)  CPU: workers "
          f"{result['cpu']:5.1f} s{server} ({cores:.2f} cores); machine CPUs "
          f"{result['machine']:4.0%} busy  split {split}  [{checked}]", flush=True)


def row(figure: str, result: str, target: str, ok: bool | None) -> None:
    verdict = "-" if ok is None else "ok" if ok else "MISSED"
    print(f"row: {figure} | {result} | {target} | {verdict}", flush=True)


def sqlite_copy(seeded: str, folder: str, name: str) -> str:
    path = Path(folder) / f"{name}.sqlite3"
    shutil.copy(seeded, path)
    return f"sqlite:///{path}"


def pg_copy(cluster, name: str) -> str:
    """A fresh copy of the seeded PostgreSQL database (CREATE DATABASE ... TEMPLATE)."""
    import psycopg

    with psycopg.connect(cluster.url(), autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name} TEMPLATE bench_seed")
    return cluster.url(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--workers", default="1,2,4",
                        help="PostgreSQL worker counts, comma-separated (1 is always run)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds of every run, in turns; the figures are medians")
    args = parser.parse_args()
    n, size = args.subscriptions, f"{args.subscriptions:,} subscriptions"
    counts = sorted({1, *(int(x) for x in args.workers.split(",") if x.strip())})
    print(f"Billing benchmark: {n} subscriptions due on {DAY}, `portal billing run` measured "
          f"from outside, fake gateway, {os.cpu_count()} CPU(s), load average "
          f"{os.getloadavg()[0]:.2f} at start, {dt.datetime.now():%Y-%m-%d %H:%M}", flush=True)
    tmp = tempfile.mkdtemp(prefix="portal-bench-billing.")
    cluster = None
    try:
        from portal.db import close_all

        seeded = f"{tmp}/seeded.sqlite3"
        began = time.perf_counter()
        seed(f"sqlite:///{seeded}", n)
        close_all()  # the WAL folded back in: the file is complete on its own
        print(f"seeded SQLite in {time.perf_counter() - began:.0f} s", flush=True)
        if not args.skip_postgres:
            cluster = pgcluster.Cluster("portal-bench-pg.", durable=True).__enter__()
            began = time.perf_counter()
            seed(cluster.create("bench_seed"), n)
            close_all()  # a template database must have no connection
            print(f"seeded PostgreSQL in {time.perf_counter() - began:.0f} s", flush=True)
        results: dict[str, list[dict]] = {}
        for round_ in range(args.rounds):
            runs = [("SQLite", 1)] + ([] if args.skip_postgres else
                                      [("PostgreSQL", c) for c in counts])
            for engine, count in runs:
                name = f"r{round_}_{engine.lower()}_{count}"
                if engine == "SQLite":
                    url = sqlite_copy(seeded, tmp, name)
                else:
                    url = pg_copy(cluster, name)
                result = billing_processes(url, count, cluster if engine != "SQLite" else None)
                show(f"{engine}, {count} worker{'s' if count > 1 else ''}:", n, result,
                     check(url, n, result))
                results.setdefault(f"{engine} {count}", []).append(result)
        wall = {key: statistics.median(r["wall"] for r in runs_)
                for key, runs_ in results.items()}
        sqlite = wall["SQLite 1"]
        limit = 15 * n / 10_000  # 15 s for 10,000 (issue #20), in proportion otherwise
        row(f"billing run, {size}, SQLite, 1 worker (portal billing run)", f"{sqlite:.1f} s",
            f"<= {limit:g} s", sqlite <= limit)
        if args.skip_postgres:
            return
        single = wall["PostgreSQL 1"]
        for count, target in ((2, 1.8), (4, 3.0)):
            if f"PostgreSQL {count}" in wall:
                speedup = single / wall[f"PostgreSQL {count}"]
                row(f"billing run, {size}, PostgreSQL, {count} workers vs 1",
                    f"{speedup:.2f}x ({single:.1f} s -> {wall[f'PostgreSQL {count}']:.1f} s)",
                    f">= {target:g}x", speedup >= target)
        ratio = single / sqlite
        row(f"billing run, {size}, PostgreSQL 1 worker vs SQLite 1 worker",
            f"{ratio:.2f}x ({single:.1f} s vs {sqlite:.1f} s)", "<= 1.5x", ratio <= 1.5)
        print(f"load average {os.getloadavg()[0]:.2f} at the end", flush=True)
    finally:
        if cluster is not None:
            cluster.__exit__(None, None, None)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
