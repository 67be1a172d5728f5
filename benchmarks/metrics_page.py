"""The operator console on a large deployment (issues #18 "Performance" and #20): the
accounts list (filtered, and a search) and the metrics page against the customer's
subscription page, at 100 and at 10,000 accounts; the accounting CSV export of a year.

Seeds a temporary SQLite database (migrated, with the demo data), first with 100 accounts,
measures, then grows it to ``--accounts`` (default 10,000) and measures again. Each
account is on a seat plan (team or business, monthly) with a year of invoices (one plan
line each), the receipts of the paid ones, a credit note on one invoice in 25, a declined
charge in the last 30 days and an unpaid invoice past due on one account in 10, and a year
of month-end snapshots. The first ``SAMPLE`` accounts' subscriptions are started through
``portal.catalogue.start_subscription`` (ONB-1); the rest are bulk-inserted with the same
rows that service writes (the subscription, at the plan's newest price version, and its
``subscription.started`` audit entry) — 10,000 calls to the service would take minutes.
The history (invoices, lines, receipts, charges, credit notes, snapshots) is bulk-inserted.

Then, in-process with Flask's test client, in alternating rounds (the machine is shared:
noise falls on every path alike), per path: the SQL statements of one steady-state GET
(peewee logs each statement at DEBUG: a logging handler counts them), the median time, and
the ratio subscription page time / path time (the throughput ratio; target >= 0.5), at
both sizes (target: the same statement count, and a time that does not grow much: at most
1.5x). Finally a fresh process streams the year's three accounting CSVs (invoices, credit
notes, payments) and reports its peak RSS (VmHWM; target < 150 MB).

    .venv/bin/python benchmarks/metrics_page.py [--accounts 10000] [--rounds 15] [--quick]

Prints ``row:`` lines for benchmarks/run. Writes only to a temporary directory (about
200 MB at 10,000 accounts); seeding takes about a minute.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import multiprocessing
import re
import secrets
import shutil
import statistics
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
from portal.models import (Account, AccountSnapshot, AuditEvent, Charge, CreditNote,  # noqa: E402
                           Invoice, InvoiceLine, Plan, PriceVersion, Receipt, Subscription)

TODAY = dt.date(2026, 11, 23)
YEAR = ("2025-12-01", "2026-11-30")
CHUNK = 500
SAMPLE = 100  # accounts whose subscription is started through the service
SMALL = 100
MAX_QUERIES = 10
MIN_RATIO = 0.5
MAX_GROWTH = 1.5
MAX_RSS_MB = 150
EXPORTS = ("invoices", "credit-notes", "payments")


def make_app(url: str):
    return create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(32),
                       "DATABASE_URL": url, "TODAY": TODAY})


def _subscribe(by_service: list[int], rest: list[int], plans: dict[int, Plan],
               first: dt.date) -> None:
    """Each account's subscription: through the service for ``by_service``, the same rows
    in bulk for ``rest`` (see the module docstring)."""
    for account in Account.select().where(Account.id.in_(by_service)):
        start_subscription(account, plans[account.id], interval="monthly", quantity=3,
                           start=first)
    if not rest:
        return
    versions = {p.id: PriceVersion.select().where((PriceVersion.plan == p.id)
                                                  & (PriceVersion.currency == "USD")
                                                  & PriceVersion.account.is_null())
                .order_by(PriceVersion.number.desc()).first() for p in set(plans.values())}
    Subscription.insert_many([
        {"account": a, "plan": plans[a].id, "price_version": versions[plans[a].id].id,
         "interval": "monthly", "quantity": 3, "addon_quantity": 0, "started_on": first,
         "status": "active", "next_payment_date": add_months(first, 1)} for a in rest]).execute()
    AuditEvent.insert_many([
        {"account": a, "action": "subscription.started",
         "detail": f"{plans[a].code} monthly x3 at USD price version "
                   f"{versions[plans[a].id].number}"} for a in rest]).execute()


def grow(url: str, upto: int) -> None:
    """Add accounts (and their year of history) until there are ``upto`` bench accounts."""
    app = make_app(url)
    with app.app_context():
        db.connect(reuse_if_open=True)
        if not Plan.table_exists():
            migrate()
            demo.load(TODAY)
        have = Account.select().where(Account.name.startswith("Bench ")).count()
        team = Plan.get(Plan.code == "team")
        business = Plan.get(Plan.code == "business")
        first = add_months(TODAY.replace(day=1), -11)
        months = [add_months(first, k) for k in range(12)]
        number = Invoice.select().count() + 1
        for start in range(have, upto, CHUNK):
            with db.atomic():
                numbers = range(start, min(start + CHUNK, upto))
                ids = [Account.insert(name=f"Bench {i}", legal_name=f"Bench {i} Ltd",
                                      address_line1=f"{i} Bench St", postal_code="LS1 1AA",
                                      city="Leeds", country="GB",
                                      status="past_due" if i % 10 == 7 else "active").execute()
                       for i in numbers]
                plans = {a: business if a % 3 == 0 else team for a in ids}
                pairs = list(zip(numbers, ids, strict=True))
                _subscribe([a for i, a in pairs if i < SAMPLE],
                           [a for i, a in pairs if i >= SAMPLE], plans, first)
                (Subscription.update(next_payment_date=add_months(TODAY.replace(day=1), 1))
                 .where(Subscription.account.in_(ids)).execute())
                subs = dict(Subscription.select(Subscription.account, Subscription.id)
                            .where(Subscription.account.in_(ids)).tuples())
                invoices = []
                for a in ids:
                    price = "25.00" if plans[a] is team else "40.00"
                    unpaid = a % 10 == 7
                    for k, m in enumerate(months):
                        number += 1
                        last = k == len(months) - 1
                        invoices.append({
                            "number": f"B-{number:08d}", "account": a, "subscription": subs[a],
                            "period_start": m,
                            "period_end": add_months(m, 1) - dt.timedelta(days=1),
                            "issued_on": m, "due_on": m, "total": str(3 * float(price)),
                            "account_name": f"Bench {a}",
                            "status": "dunning" if unpaid and last else "paid",
                            "dunning_step": 1 if unpaid and last else 0,
                            "paid_at": None if unpaid and last else dt.datetime.combine(
                                m, dt.time(9))})
                Invoice.insert_many(invoices).execute()
                issued = list(Invoice.select(Invoice.id, Invoice.number, Invoice.total,
                                             Invoice.issued_on, Invoice.status,
                                             Invoice.account)
                              .where(Invoice.account.in_(ids)).order_by(Invoice.id).tuples())
                InvoiceLine.insert_many([
                    {"invoice": i, "position": 1, "kind": "plan", "description": "Seats",
                     "quantity": 3, "unit_price": str(total / 3), "amount": str(total)}
                    for i, _n, total, *_rest in issued]).execute()
                Receipt.insert_many([
                    {"number": f"R-{n[2:]}", "invoice": i, "amount": str(total),
                     "paid_on": issued_on, "method": "Visa ending 4242"}
                    for i, n, total, issued_on, status, _a in issued if status == "paid"]
                ).execute()
                CreditNote.insert_many([
                    {"number": f"C-{n[2:]}", "invoice": i, "amount": "5.00",
                     "reason": "Goodwill", "issued_on": issued_on}
                    for i, n, _t, issued_on, _s, _a in issued if i % 25 == 0]).execute()
                Charge.insert_many([
                    {"invoice": i, "attempt": 1, "idempotency_key": f"bench-{i}",
                     "amount": str(total), "gateway": "fake", "status": "declined",
                     "created_at": dt.datetime.combine(TODAY - dt.timedelta(days=20),
                                                       dt.time(9))}
                    for i, _n, total, _d, status, _a in issued if status != "paid"]).execute()
                AccountSnapshot.insert_many([
                    {"account": a, "day": add_months(m, 1) - dt.timedelta(days=1),
                     "devices": 0, "locations": 0, "seats": 3, "active_subscriptions": 1,
                     "taken_at": dt.datetime(2026, 11, 23)}
                    for a in ids for m in months[:-1]]).execute()
        db.execute_sql("ANALYZE")
        db.close()


def logged_in(app, email):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": email, "password": demo.PASSWORD, "csrf_token": token})
    return client


class Counter(logging.Handler):
    """Counts the statements peewee runs (it logs each one at DEBUG on "peewee" as a
    (sql, params) tuple)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        if isinstance(record.msg, tuple):  # (sql, params); not the pool's own messages
            self.count += 1


def get(client, url: str, marker: str) -> None:
    """One GET that must answer 200 with the page's marker (never measure an error)."""
    response = client.get(url)
    body = response.get_data(as_text=True)
    if response.status_code != 200 or marker not in body:
        raise SystemExit(f"{url}: {response.status_code}, marker {marker!r} missing")


def statements(client, url: str, marker: str) -> int:
    get(client, url, marker)  # warm: the count is a steady-state request's
    handler, logger = Counter(), logging.getLogger("peewee")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        get(client, url, marker)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    return handler.count


def measure(url: str, rounds: int) -> dict:
    """Path name -> (statements, median seconds) in alternating rounds."""
    app = make_app(url)
    with app.app_context():
        team = Plan.get(Plan.code == "team").id
    operator = logged_in(app, "operator@example.com")
    admin = logged_in(app, "admin@northwind.example")
    paths = {  # name -> (client, url, marker of the expected content)
        "subscription page": (admin, "/subscription/", "data-used="),
        "accounts list, plan + status filter":
            (operator, f"/operator/?plan={team}&status=active", 'data-account="'),
        "accounts list, plan + status filter, by MRR":
            (operator, f"/operator/?plan={team}&status=active&sort=mrr", 'data-account="'),
        "accounts list, search": (operator, "/operator/?q=Bench+42", 'data-account="'),
        "metrics page": (operator, "/operator/metrics", 'data-metric="mrr"'),
    }
    counts = {name: statements(c, u, m) for name, (c, u, m) in paths.items()}
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, (client, path, marker) in paths.items():
            started = time.perf_counter()
            get(client, path, marker)
            times[name].append(time.perf_counter() - started)
    return {name: (counts[name], statistics.median(times[name])) for name in paths}


def vm_hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def export_rss(url: str, queue) -> None:
    """In a fresh process: peak RSS before and after streaming the year's CSVs."""
    app = make_app(url)
    client = logged_in(app, "operator@example.com")
    client.get("/operator/exports")  # everything imported and warmed up
    before, rows = vm_hwm_kb(), {}
    for what in EXPORTS:
        response = client.get(f"/operator/exports/{what}.csv",
                              query_string={"start": YEAR[0], "end": YEAR[1]}, buffered=False)
        assert response.status_code == 200 and response.mimetype == "text/csv", what
        rows[what] = sum(chunk.count(b"\n") for chunk in response.response) - 1
        response.close()
    queue.put((rows, before, vm_hwm_kb()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true",
                        help="2,000 accounts and 5 rounds: checks the script, rough figures")
    args = parser.parse_args()
    if args.quick:
        args.accounts, args.rounds = min(args.accounts, 2_000), 5
    folder = Path(tempfile.mkdtemp(prefix="portal-metrics-bench-"))
    url = f"sqlite:///{folder / 'portal.sqlite3'}"
    try:
        results = {}
        for size in (SMALL, args.accounts):
            started = time.perf_counter()
            grow(url, size)
            print(f"seeded {size} accounts with a year of invoices, receipts, credit notes "
                  f"and snapshots ({time.perf_counter() - started:.1f} s)")
            results[size] = measure(url, args.rounds)
            for name, (n, t) in results[size].items():
                print(f"  {size:>6} accounts  {name:<45} {n:>3} statements  "
                      f"{t * 1000:7.1f} ms (median of {args.rounds})")
        report(results, SMALL, args.accounts)
        queue = multiprocessing.get_context("spawn").Queue()
        child = multiprocessing.get_context("spawn").Process(target=export_rss,
                                                             args=(url, queue))
        child.start()
        rows, before, after = queue.get()
        child.join()
        print(f"accounting CSVs of {YEAR[0]}..{YEAR[1]}: "
              + ", ".join(f"{what} {n} rows" for what, n in rows.items())
              + f"; peak RSS {before / 1024:.0f} MB before, {after / 1024:.0f} MB after")
        ok = after / 1024 < MAX_RSS_MB and all(rows.values())
        print(f"row: accounting CSV of a year, {args.accounts:,} accounts: peak RSS | "
              f"{after / 1024:.0f} MB ({sum(rows.values()):,} rows) | < {MAX_RSS_MB} MB | "
              f"{'ok' if ok else 'MISSED'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report(results: dict, small: int, large: int) -> None:
    yard_small = results[small]["subscription page"][1]
    yard_large = results[large]["subscription page"][1]
    for name in results[large]:
        if name == "subscription page":
            continue
        n_small, t_small = results[small][name]
        n_large, t_large = results[large][name]
        ratio = yard_large / t_large
        growth = (t_large / yard_large) / (t_small / yard_small)
        ok = (ratio >= MIN_RATIO and n_large <= MAX_QUERIES and n_large == n_small
              and growth <= MAX_GROWTH)
        print(f"row: operator {name}, {large:,} accounts / subscription page (in-process) | "
              f"{ratio:.2f}x ({t_large * 1000:.0f} vs {yard_large * 1000:.0f} ms), "
              f"{n_large} queries ({n_small} at {small}), time x{growth:.2f} from {small} | "
              f">= {MIN_RATIO}x, <= {MAX_QUERIES} queries, flat | {'ok' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
