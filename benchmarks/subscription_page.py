"""Benchmark of the Manage Subscription page (issues #3 and #20). See benchmarks/README.md.

Seeds a temporary SQLite database with the demo data, an account with 10,000 devices over
2,500 locations and an account with 10 devices; counts the SQL queries per page at both
sizes (in-process); serves the portal (wsgi:app) and the bare Flask endpoint
(benchmarks/bare_app.py: the session read, one query, a trivial template) under the same
gunicorn settings on 127.0.0.1 (wrkload.GUNICORN: 2 gthread workers x 4 threads); loads
them with wrk in turns (benchmarks/wrkload.py: every answer checked for its status and a
marker of the right page) and prints the ratio of each page's requests/s to the bare
endpoint's (median of the rounds' ratios; target >= 0.8) as ``row:`` lines.

    .venv/bin/python benchmarks/subscription_page.py [--seconds 2] [--rounds 6]
"""
from __future__ import annotations

import argparse
import contextlib
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
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import wrkload  # noqa: E402

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
USER_AGENT = wrkload.USER_AGENT
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


# --- gunicorn, the login, and wrk --------------------------------------------------------

def server_env(url: str, folder: str) -> dict:
    """The environment of every server of a run: the seeded database, one secret key for
    all (the bare endpoint reads the portal's session cookie), demo mode."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
            "PORTAL_DATABASE_URL": url, "PORTAL_DEMO": "1", "PORTAL_INSTANCE_PATH": folder,
            "PORTAL_SECRET_KEY": secrets.token_hex(32), "PYTHONDONTWRITEBYTECODE": "1"}


class Gunicorn(served.Gunicorn):
    """gunicorn serving ``target`` on 127.0.0.1 with the throughput runs' settings
    (wrkload.GUNICORN, the same for the portal and the bare endpoint)."""

    def __init__(self, target: str, env: dict, *options: str):
        super().__init__(target, env, *(options or wrkload.GUNICORN),
                         "--pythonpath", str(ROOT / "benchmarks"), start_within=30)


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
class Target:
    """One endpoint of a run: what to GET, with which headers, and what every answer
    must contain."""
    label: str
    url: str
    marker: str
    headers: dict = field(default_factory=dict)

    def check(self) -> int:
        """One GET (200, the marker, no new cookie); the body's size in bytes."""
        return wrkload.check(self.url, self.marker, self.headers)

    def measure(self, seconds: float, connections: int) -> wrkload.WrkResult:
        return wrkload.measure(self.url, self.marker, self.headers, seconds=seconds,
                               connections=connections)


def compare(targets: list[Target], seconds: float, rounds: int,
            connections: int) -> dict[str, wrkload.Series]:
    """Check each target once and warm it up, then load them in turns (``rounds`` rounds
    of ``seconds`` each)."""
    for target in targets:
        target.check()
        target.measure(1, connections)  # warm-up: templates compiled, pools filled
    return wrkload.take_turns(
        {t.label: functools.partial(t.measure, seconds, connections) for t in targets},
        rounds)


def ratio_text(series: wrkload.Series, base: wrkload.Series) -> tuple[float, str]:
    """The median ratio and its text: "0.82x (rounds 0.75-0.90; 180 vs 220 req/s)"."""
    median, low, high = wrkload.ratio(series, base)
    return median, (f"{median:.2f}x (rounds {low:.2f}-{high:.2f}; {series.rps:.0f} vs "
                    f"{base.rps:.0f} req/s)")


def errors_of(series: dict[str, wrkload.Series]) -> int:
    """Say how many answers were wrong, if any: the exit status (1: figures unreliable)."""
    errors = sum(s.errors for s in series.values())
    if errors:
        print(f"\n{errors} answer(s) were errors or the wrong page: the figures above are "
              "not reliable.")
    return 1 if errors else 0


def add_options(parser: argparse.ArgumentParser, seconds: float = 2.0, rounds: int = 6):
    parser.add_argument("--seconds", type=float, default=seconds,
                        help="seconds of wrk per endpoint and round")
    parser.add_argument("--rounds", type=int, default=rounds,
                        help="the endpoints take turns this many times")
    parser.add_argument("--connections", type=int, default=wrkload.CONNECTIONS,
                        help="wrk's keep-alive connections")


def describe(args) -> str:
    return (f"gunicorn {' '.join(wrkload.GUNICORN[:6])} on 127.0.0.1; wrk -t{wrkload.THREADS} "
            f"-c{args.connections}, {args.seconds:g} s per endpoint x {args.rounds} rounds in "
            f"turns; SQLite; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; load "
            f"average {os.getloadavg()[0]:.2f}")


# --- the report -------------------------------------------------------------------------

PAGE_TARGET = 0.8


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_options(parser)
    parser.add_argument("--uncached", action="store_true",
                        help="also the 10,000-device page with the usage cache off")
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

    env = server_env(url, tmp.name)
    with contextlib.ExitStack() as stack:
        # Both servers run side by side (an idle one costs nothing) and the endpoints take
        # turns in short rounds, so a neighbour's load on the machine falls on all of them.
        bare = stack.enter_context(Gunicorn("bare_app:app", env))
        portal = stack.enter_context(Gunicorn("wsgi:app", env))
        cookies = {spec["email"]: session_cookie(portal.port, spec["email"])
                   for spec in (SMALL, BIG)}
        big_cookie = {"Cookie": cookies[BIG["email"]]}
        targets = [Target("bare Flask endpoint (session, 1 query)", f"{bare.url}/bare",
                          "<p>Bench Big Chain</p>", big_cookie)]
        for spec in (SMALL, BIG):
            targets.append(Target(f"subscription page, {spec['devices']:,} devices",
                                  f"{portal.url}/subscription/",
                                  f'data-used="{needed[spec["email"]]}"',
                                  {"Cookie": cookies[spec["email"]]}))
        if args.uncached:
            nocache = stack.enter_context(Gunicorn("uncached_app:app", env))
            targets.append(Target("  the same, usage count not cached",
                                  f"{nocache.url}/subscription/",
                                  f'data-used="{needed[BIG["email"]]}"',
                                  {"Cookie": session_cookie(nocache.port, BIG["email"])}))
        series = compare(targets, args.seconds, args.rounds, args.connections)
    tmp.cleanup()

    print(f"\n{describe(args)}\n")
    print(wrkload.table(series, base=targets[0].label))
    print(f"\n{'SQL queries per page':<40} {'10 devices':>11} {'10,000 devices':>15}")
    for path in ("/subscription/", "/subscription/active"):
        for label, table in (("", queries), (" (uncached count)", uncached)):
            print(f"{path + label:<40} {table[SMALL['devices'], path]:>11} "
                  f"{table[BIG['devices'], path]:>15}")
    print(f"\nAn uncached usage count (the first page after the account's devices, locations "
          f"or users change,\nonce per worker) takes {fresh[SMALL['devices']]:.1f} ms at "
          f"10 devices and {fresh[BIG['devices']]:.1f} ms at 10,000 (median, in-process).\n")

    base = series[targets[0].label]
    for spec in (BIG, SMALL):
        value, text = ratio_text(series[f"subscription page, {spec['devices']:,} devices"], base)
        wrkload.row(f"subscription page, {spec['devices']:,} devices / bare Flask endpoint",
                    text, f">= {PAGE_TARGET}x", value >= PAGE_TARGET)
    for path, tab in (("/subscription/", "usage tab"), ("/subscription/active", "active tab")):
        small_n, big_n = queries[SMALL["devices"], path], queries[BIG["devices"], path]
        cold = max(uncached[SMALL["devices"], path], uncached[BIG["devices"], path])
        wrkload.row(f"subscription page SQL queries ({tab}), 10 / 10,000 devices",
                    f"{small_n} / {big_n} (uncached {cold})", "<= 10, equal",
                    max(small_n, big_n, cold) <= 10 and small_n == big_n)
    return errors_of(series)


if __name__ == "__main__":
    sys.exit(main())
