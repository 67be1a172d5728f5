"""Benchmark of the Manage Subscription page (issue #3, item 11). See benchmarks/README.md.

Seeds a temporary SQLite database with the demo data, an account with 10,000 devices over
2,500 locations and an account with 10 devices; serves the portal (wsgi:app) and a bare
Flask endpoint (benchmarks/bare_app.py: one query, a trivial template) under the same
gunicorn settings on 127.0.0.1; loads each with a bounded Python keep-alive client on
loopback; and prints requests/s, their ratio (target >= 0.5) and the SQL queries per page at
10 and at 10,000 devices (target <= 10, and the same at both sizes).

    .venv/bin/python benchmarks/subscription_page.py [--duration 5] [--concurrency 4]
"""
from __future__ import annotations

import argparse
import datetime as dt
import functools
import http.client
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal import create_app, demo  # noqa: E402
from portal.accounts.memberships import add_membership  # noqa: E402
from portal.billing.pricing import location_subscriptions_total  # noqa: E402
from portal.catalogue import start_subscription  # noqa: E402
from portal.db import db, migrate, open_database  # noqa: E402
from portal.models import Account, Device, Location, Membership, Plan, User  # noqa: E402
from portal.statuses import Role  # noqa: E402
from portal.testing import served  # noqa: E402

BIG = {"email": "admin@bench-big.example", "devices": 10_000, "locations": 2_500}
SMALL = {"email": "admin@bench-small.example", "devices": 10, "locations": 3}
USER_AGENT = "portal-benchmark/1"
CHUNK = 500  # rows per INSERT: well under SQLite's bound-variable limit


# --- seeding -------------------------------------------------------------------------

def seed_account(spec: dict, name: str, password_hash: str, rng: random.Random) -> int:
    """An account with its admin, locations, devices (bulk inserts) and subscriptions;
    returns the location subscriptions it needs (rule LOC-1), to check the page against."""
    now = dt.datetime(2026, 11, 1)
    account = Account.create(name=name, legal_name=name, address_line1="1 Bench Street",
                             postal_code="LS1 1AA", city="Leeds", country="GB")
    # the login first (with a password), then its membership through the app's service
    User.create(email=spec["email"], name=f"{name} admin", password_hash=password_hash)
    add_membership(account, spec["email"], role=Role.ADMIN)
    rows = [{"account": account.id, "name": f"Shop {i + 1}", "external_id": f"shop-{i + 1:05d}",
             "active": True, "created_at": now} for i in range(spec["locations"])]
    for start in range(0, len(rows), CHUNK):
        Location.insert_many(rows[start:start + CHUNK]).execute()
    location_ids = [loc.id for loc in Location.select(Location.id)
                    .where(Location.account == account).order_by(Location.id)]
    per_location = dict.fromkeys(location_ids, 0)
    rows = []
    for i in range(spec["devices"]):
        location_id = rng.choice(location_ids)  # uneven: some shops have none, some many
        per_location[location_id] += 1
        rows.append({"account": account.id, "location": location_id,
                     "serial": f"SN-{account.id}-{i + 1:06d}", "active": True,
                     "created_at": now})
    for start in range(0, len(rows), CHUNK):
        Device.insert_many(rows[start:start + CHUNK]).execute()
    needed = location_subscriptions_total(per_location.values())
    start = dt.date(2026, 11, 1)
    for code, quantity in (("locations", needed - 1), ("team", 1)):  # one over, one full
        start_subscription(account, Plan.get(Plan.code == code), interval="monthly",
                           quantity=quantity, start=start)  # ONB-1: the one way
    return needed


def seed(url: str) -> dict[str, int]:
    """Migrate, load the demo, add the two benchmark accounts; {email: needed}."""
    from werkzeug.security import generate_password_hash

    database = open_database(url)
    rng = random.Random(20261123)
    with database.connection_context():
        migrate(database)
        demo.load(today=dt.date(2026, 11, 23))
        password_hash = generate_password_hash(demo.PASSWORD)
        with db.atomic():
            needed = {spec["email"]: seed_account(spec, name, password_hash, rng)
                      for spec, name in ((SMALL, "Bench Small Shop"),
                                         (BIG, "Bench Big Chain"))}
    database.close()
    return needed


# --- SQL queries per page, counted in-process ----------------------------------------

def count_queries(url: str, email: str, path: str) -> tuple[int, int, list[str], str]:
    """SQL statements one GET of ``path`` runs for ``email``, counted by wrapping the peewee
    database's execute_sql: (uncached count, cached count, the cached page's statements,
    the page). "Uncached" is the first page after the account's data changed."""
    from portal.billing import pricing

    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": secrets.token_hex(32),
                      "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": demo.PASSWORD})
    assert response.status_code == 302, f"login as {email} failed: {response.status_code}"
    client.get(path)  # the welcome flash, templates compiled: count steady-state requests
    database = db.obj
    original = database.execute_sql
    counts, statements = [], []

    def counting(sql, params=None, *args, **kwargs):
        statements.append(sql)
        return original(sql, params, *args, **kwargs)

    database.execute_sql = counting
    try:
        pricing._USAGE_CACHE.clear()  # as after a change: the stamp is new to every worker
        for _ in range(2):
            statements.clear()
            response = client.get(path)
            assert response.status_code == 200, f"{path} answered {response.status_code}"
            counts.append(len(statements))
    finally:
        del database.execute_sql
        if not db.is_closed():
            db.close()
    return counts[0], counts[1], list(statements), response.get_data(as_text=True)


def time_fresh_count(url: str, email: str, repeat: int = 15) -> float:
    """Median milliseconds of one uncached usage count (what the first page after a change
    to the account's devices, locations or users pays), in-process."""
    from portal.billing import pricing

    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": secrets.token_hex(32)})
    with app.app_context():
        db.connect(reuse_if_open=True)
        # the account of the person's membership (User.account_id is the session's,
        # None outside a request: it would count an empty account)
        account_id = (Membership.select(Membership.account).join(User)
                      .where(User.email == email).scalar())
        assert account_id is not None, email
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            pricing.account_usage(account_id)  # no stamp: always counted afresh
            times.append(time.perf_counter() - t0)
        db.close()
    return 1000 * statistics.median(times)


# --- gunicorn and the load generator ---------------------------------------------------

class Gunicorn(served.Gunicorn):
    """gunicorn serving ``target`` on 127.0.0.1 with the benchmark's settings."""

    def __init__(self, target: str, env: dict, workers: int):
        super().__init__(target, env, "--workers", str(workers), "--worker-class", "sync",
                         "--pythonpath", str(ROOT / "benchmarks"), "--log-level", "warning",
                         start_within=30)


def request(port: int, method: str, path: str, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"User-Agent": USER_AGENT,
                                                       **(headers or {})})
        response = conn.getresponse()
        return response, response.read().decode()
    finally:
        conn.close()


def session_cookie(port: int, email: str) -> str:
    """Log in through the real form (CSRF on) and return the Cookie header to send."""
    response, page = request(port, "GET", "/login")
    jar = SimpleCookie(response.getheader("Set-Cookie"))
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"email": email, "password": demo.PASSWORD,
                                   "csrf_token": token})
    response, _ = request(port, "POST", "/login", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{k}={v.value}" for k, v in jar.items())})
    assert response.status == 302, f"login as {email} answered {response.status}"
    jar.load(response.getheader("Set-Cookie"))
    cookie = "; ".join(f"{k}={v.value}" for k, v in jar.items())
    # Read the "Welcome" flash once, as a browser would; then the session stops changing.
    response, _ = request(port, "GET", response.getheader("Location"), {"Cookie": cookie})
    if response.getheader("Set-Cookie"):
        jar.load(response.getheader("Set-Cookie"))
    return "; ".join(f"{k}={v.value}" for k, v in jar.items())


@dataclass
class Run:
    label: str
    latencies: list = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    rounds: list = field(default_factory=list)  # requests/s of each round

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0


def failures(runs: list[Run]) -> int:
    """Say how many requests failed, if any: the exit status (1 when the figures are not
    reliable)."""
    errors = sum(run.errors for run in runs)
    if errors:
        print(f"\n{errors} request(s) failed: the figures above are not reliable.")
    return 1 if errors else 0


def take_turns(runs: list[Run], measures, rounds: int) -> None:
    """Each round, every measure once in turn, its figures added to its run: a neighbour's
    load on the machine that comes and goes falls on all of them alike."""
    for _ in range(rounds):
        for run, measure in zip(runs, measures, strict=True):
            part = measure()
            run.latencies += part.latencies
            run.errors += part.errors
            run.seconds += part.seconds
            run.rounds.append(part.rps)


def load(port: int, path: str, label: str, check: str, cookie: str | None, duration: float,
         concurrency: int, max_requests: int) -> Run:
    """GET ``path`` from ``concurrency`` keep-alive clients for ``duration`` seconds (or
    ``max_requests`` in all); every answer must be 200 and contain ``check``."""
    headers = {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    response, body = request(port, "GET", path, headers)  # the check, and a warm-up
    if response.status != 200 or check not in body:
        raise RuntimeError(f"{label}: GET {path} answered {response.status} without {check!r}")
    if response.getheader("Set-Cookie"):
        raise RuntimeError(f"{label}: the session changes on every request")
    for _ in range(20):
        request(port, "GET", path, headers)
    return hammer(port, path, headers, None, duration, concurrency, max_requests, label)


def hammer(port: int, path: str, headers: dict, check: str | None, duration: float,
           concurrency: int, max_requests: int, label: str) -> Run:
    """GET ``path`` from ``concurrency`` keep-alive clients for ``duration`` seconds (at
    most ``max_requests`` in all); each answer must be 200 (and contain ``check``, if
    given: reading the body as text costs time, so the full page checks once, above)."""
    run, lock = Run(label), threading.Lock()
    budget = [max_requests]
    start = time.perf_counter()
    deadline = start + duration

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, errors = [], 0
        while time.perf_counter() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            t0 = time.perf_counter()
            try:  # sync workers close after each answer: http.client reconnects by itself
                conn.request("GET", path, headers=headers)
                answer = conn.getresponse()
                body = answer.read()
                ok = answer.status == 200 and (check is None or check in body.decode())
            except (OSError, http.client.HTTPException):
                conn.close()
                ok = False
            if ok:
                mine.append(time.perf_counter() - t0)
            else:
                errors += 1
        conn.close()
        with lock:
            run.latencies.extend(mine)
            run.errors += errors

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - start
    return run


# --- the report -------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=12.0,
                        help="seconds per endpoint, in all rounds")
    parser.add_argument("--rounds", type=int, default=6,
                        help="the endpoints take turns this many times")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--max-requests", type=int, default=50_000,
                        help="upper bound of requests per endpoint")
    parser.add_argument("--show-sql", action="store_true", help="print each page's SQL")
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="portal-bench-")
    url = f"sqlite:///{tmp.name}/bench.sqlite3"
    t0 = time.perf_counter()
    needed = seed(url)
    print(f"Seeded {BIG['devices']:,} devices over {BIG['locations']:,} locations and a "
          f"{SMALL['devices']}-device account in {time.perf_counter() - t0:.1f} s ({url})")

    queries, uncached = {}, {}
    for spec in (SMALL, BIG):
        for path in ("/subscription/", "/subscription/active"):
            cold, n, statements, page = count_queries(url, spec["email"], path)
            queries[spec["devices"], path] = n
            uncached[spec["devices"], path] = cold
            if path == "/subscription/":  # the page must show the right count (LOC-1)
                shown = re.search(r'data-used="(\d+)"', page).group(1)
                assert int(shown) == needed[spec["email"]], (shown, needed[spec["email"]])
            if args.show_sql:
                print(f"\n-- {path} at {spec['devices']:,} devices: {n} queries")
                print("\n".join(f"   {s}" for s in statements))

    fresh = {spec["devices"]: time_fresh_count(url, spec["email"]) for spec in (SMALL, BIG)}

    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_DEMO": "1",
           "PORTAL_INSTANCE_PATH": tmp.name, "PYTHONDONTWRITEBYTECODE": "1"}
    per_round = {"duration": args.duration / args.rounds, "concurrency": args.concurrency,
                 "max_requests": args.max_requests // args.rounds}
    labels = ("bare Flask endpoint (1 query)",
              f"subscription page, {SMALL['devices']:,} devices",
              f"subscription page, {BIG['devices']:,} devices",
              "  the same, usage count not cached")
    runs = [Run(label) for label in labels]
    # Both servers run side by side (an idle one costs nothing) and the endpoints take
    # turns in short rounds, so a neighbour's load on the machine falls on all of them.
    with Gunicorn("bare_app:app", env, args.workers) as bare, \
            Gunicorn("wsgi:app", env, args.workers) as portal, \
            Gunicorn("uncached_app:app", env, args.workers) as nocache:
        targets = [(bare.port, "/bare", "<p>", None)]
        for server, spec in ((portal, SMALL), (portal, BIG), (nocache, BIG)):
            targets.append((server.port, "/subscription/",
                            f'data-used="{needed[spec["email"]]}"',
                            session_cookie(server.port, spec["email"])))
        take_turns(runs, [functools.partial(load, port, path, run.label, check, cookie,
                                            **per_round)
                          for run, (port, path, check, cookie) in zip(runs, targets, strict=True)],
                   args.rounds)
    tmp.cleanup()

    print(f"\ngunicorn {args.workers} sync workers on 127.0.0.1, {args.concurrency} client "
          f"threads, {args.duration:g} s per endpoint in {args.rounds} rounds, SQLite, Python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print(f"{'endpoint':<40} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'errors':>7}")
    for run in runs:
        print(f"{run.label:<40} {len(run.latencies):>9} {run.rps:>8.1f} {run.ms(.5):>8.2f} "
              f"{run.ms(.95):>8.2f} {run.errors:>7}")
    # The ratio of each round (the endpoints ran one after the other, seconds apart), then
    # the median: a neighbour's load that comes and goes moves both sides of a round.
    def ratios(page: Run) -> list[float]:
        return [p / b for p, b in zip(page.rounds, runs[0].rounds, strict=True) if b]

    big, small = ratios(runs[2]), ratios(runs[1])
    ratio = statistics.median(big)
    print(f"\nratio, 10,000-device page / bare endpoint: {ratio:.2f} (median of {len(big)} "
          f"rounds, {min(big):.2f}-{max(big):.2f})   target >= 0.5: {verdict(ratio >= 0.5)}")
    print(f"ratio, 10-device page / bare endpoint:      {statistics.median(small):.2f} "
          f"({min(small):.2f}-{max(small):.2f})")
    print(f"\n{'SQL queries per page':<40} {'10 devices':>11} {'10,000 devices':>15}")
    for path in ("/subscription/", "/subscription/active"):
        for label, table in (("", queries), (" (uncached count)", uncached)):
            print(f"{path + label:<40} {table[SMALL['devices'], path]:>11} "
                  f"{table[BIG['devices'], path]:>15}")
    same = all(t[SMALL["devices"], p] == t[BIG["devices"], p] for t in (queries, uncached)
               for p in ("/subscription/", "/subscription/active"))
    most = max(max(queries.values()), max(uncached.values()))
    print(f"(target <= 10 and the same at both sizes: {verdict(most <= 10 and same)})")
    print(f"\nAn uncached usage count (the first page after the account's devices, locations "
          f"or users change,\nonce per worker) takes {fresh[SMALL['devices']]:.1f} ms at "
          f"10 devices and {fresh[BIG['devices']]:.1f} ms at 10,000 (median, in-process).")
    return failures(runs)


if __name__ == "__main__":
    sys.exit(main())
