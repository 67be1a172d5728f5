"""Benchmark of the operator's metrics page and the accounting export (issue #18,
"Performance"). See benchmarks/README.md.

Seeds a temporary SQLite database (migrated, with the demo data) with ``--accounts``
accounts, each on a monthly seat plan with a year of invoices (one plan line each) and a
year of daily account snapshots, by bulk inserts; then, in-process with Flask's test
client:

1. counts the SQL queries of the metrics page (target: the same at any number of
   accounts) and times it against the Manage Subscription page, as a ratio;
2. streams the year's invoice export (one row per line) in a child process and prints
   that process's peak RSS before and after (target: the export adds about nothing,
   whatever the number of rows).

    .venv/bin/python benchmarks/metrics_page.py [--accounts 10000] [--rounds 3]

It writes only to a temporary directory. Do not run it on a shared machine at 10,000
accounts without asking: seeding takes a minute and a few hundred MB.
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import re
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal import create_app, demo  # noqa: E402
from portal.billing.dates import add_months  # noqa: E402
from portal.catalogue import start_subscription  # noqa: E402
from portal.db import db, migrate  # noqa: E402
from portal.models import (Account, AccountSnapshot, Invoice, InvoiceLine, Plan,  # noqa: E402
                           Subscription)

TODAY = dt.date(2026, 11, 23)
CHUNK = 500


def seed(url: str, accounts: int) -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(32),
                      "DATABASE_URL": url, "TODAY": TODAY})
    with app.app_context():
        db.connect(reuse_if_open=True)
        migrate()
        demo.load(TODAY)
        plan = Plan.get(Plan.code == "team")
        first = add_months(TODAY.replace(day=1), -11)
        months = [add_months(first, k) for k in range(12)]
        number = 0
        for start in range(0, accounts, CHUNK):
            with db.atomic():
                ids = [Account.insert(name=f"Bench {i}", legal_name=f"Bench {i} Ltd",
                                      address_line1=f"{i} Bench St", postal_code="LS1 1AA",
                                      city="Leeds", country="GB").execute()
                       for i in range(start, min(start + CHUNK, accounts))]
                for account in Account.select().where(Account.id.in_(ids)):
                    # ONB-1: started as the app starts one (its price version, its audit)
                    start_subscription(account, plan, interval="monthly", quantity=3,
                                       start=first)
                # the year of invoices below has been billed: next due at the next month
                (Subscription.update(next_payment_date=add_months(TODAY.replace(day=1), 1))
                 .where(Subscription.account.in_(ids)).execute())
                invoices = []
                for a in ids:
                    for m in months:
                        number += 1
                        invoices.append({"number": f"B-{number:08d}", "account": a,
                                         "period_start": m,
                                         "period_end": add_months(m, 1) - dt.timedelta(days=1),
                                         "issued_on": m, "due_on": m, "total": "75.00",
                                         "account_name": f"Bench {a}", "status": "paid"})
                Invoice.insert_many(invoices).execute()
                rows = (Invoice.select(Invoice.id).where(Invoice.account.in_(ids)).tuples())
                InvoiceLine.insert_many([
                    {"invoice": i, "position": 1, "kind": "plan", "description": "Team",
                     "quantity": 3, "unit_price": "25.00", "amount": "75.00"}
                    for (i,) in rows]).execute()
                AccountSnapshot.insert_many([
                    {"account": a, "day": add_months(m, 1) - dt.timedelta(days=1), "devices": 0,
                     "locations": 0, "seats": 3, "active_subscriptions": 1,
                     "taken_at": dt.datetime(2026, 11, 23)}
                    for a in ids for m in months[:-1]]).execute()
        db.close()


def logged_in(app, email):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": email, "password": demo.PASSWORD, "csrf_token": token})
    return client


def timed(client, url, rounds):
    best = None
    for _ in range(rounds):
        started = time.perf_counter()
        assert client.get(url).status_code == 200, url
        spent = time.perf_counter() - started
        best = spent if best is None else min(best, spent)
    return best


def count_queries(app, client, url) -> int:
    count = [0]
    database = db.obj
    original = database.execute_sql

    def counting(*args, **kwargs):
        count[0] += 1
        return original(*args, **kwargs)

    database.execute_sql = counting
    try:
        client.get(url)
    finally:
        database.execute_sql = original
    return count[0]


def export_rss(url: str, queue) -> None:
    """In a fresh process: peak RSS before and after streaming the year's export."""
    app = create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(32),
                      "DATABASE_URL": url, "TODAY": TODAY})
    client = logged_in(app, "operator@example.com")
    client.get("/operator/metrics")  # everything imported and warmed up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    response = client.get("/operator/exports/invoices.csv",
                          query_string={"start": "2025-12-01", "end": "2026-11-30"},
                          buffered=False)
    rows = sum(chunk.count(b"\n") for chunk in response.response) - 1
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((rows, before, after))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="portal-metrics-bench-"))
    url = f"sqlite:///{folder / 'portal.sqlite3'}"
    started = time.perf_counter()
    seed(url, args.accounts)
    print(f"seeded {args.accounts} accounts with a year of invoices and snapshots "
          f"in {time.perf_counter() - started:.1f} s")
    app = create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(32),
                      "DATABASE_URL": url, "TODAY": TODAY})
    operator = logged_in(app, "operator@example.com")
    admin = logged_in(app, "admin@northwind.example")
    queries = count_queries(app, operator, "/operator/metrics")
    metrics = timed(operator, "/operator/metrics", args.rounds)
    page = timed(admin, "/subscription/", args.rounds)
    print(f"metrics page: {queries} SQL queries, {metrics * 1000:.0f} ms "
          f"(subscription page {page * 1000:.0f} ms; ratio {metrics / page:.1f})")
    queue = multiprocessing.get_context("spawn").Queue()
    child = multiprocessing.get_context("spawn").Process(target=export_rss, args=(url, queue))
    child.start()
    rows, before, after = queue.get()
    child.join()
    print(f"invoice export: {rows} rows; peak RSS {before / 1024:.0f} MB before, "
          f"{after / 1024:.0f} MB after ({(after - before) / 1024:+.0f} MB)")


if __name__ == "__main__":
    main()
