"""Load benchmark (issue #9, item 6): 200 simulated users browse for 60 s. See benchmarks/README.md.

For each database (a SQLite file; PostgreSQL on a throwaway cluster started here the way
scripts/test starts one, with a connection per request as ``postgresql://`` URLs give;
and the same with peewee's connection pool, ``postgresql+pool://``), seeds the demo data
plus ``--accounts`` shops, serves the
portal's own ``wsgi:app`` with gunicorn (``--workers 4 --worker-class gthread --threads 4``
by default, 127.0.0.1 only), logs every virtual user in through the real form (CSRF
token, session cookie), and lets them browse: the Manage Subscription page and both of its
tabs (full pages and htmx tab switches), and the plan-change wizard's step 1 with its live
price preview (the htmx partial that follows each keystroke). Each user has one keep-alive
connection (200 connections in all: the bound of the pool) and pauses between requests like
a person (``--think``, mean seconds; a third of it between two previews, like typing).

Prints, per database and endpoint: requests, errors (any answer that is not 2xx, or not the
expected page, or no answer: must be 0), and latency p50 / p90 / p99; then the resident
memory (VmRSS) of every gunicorn worker after the run. Bounded: ``--seconds`` of browsing
(60), at most ``--max-requests``; everything it starts is stopped and deleted at the end.

    .venv/bin/python benchmarks/load.py [--seconds 60] [--users 200] [--databases sqlite,postgresql]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pgcluster  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.testing import served  # noqa: E402

USER_AGENT = "portal-load/1"
POOLED = "postgresql+pool"
# What a virtual user does, by endpoint label (the order of the report).
PAGE_USAGE = "subscription page, usage tab"
PAGE_ACTIVE = "subscription page, active tab"
TAB_SWITCH = "tab switch (htmx partial)"
STEP_ONE = "wizard step 1"
PREVIEW = "wizard live preview (htmx partial)"
ENDPOINTS = (PAGE_USAGE, PAGE_ACTIVE, TAB_SWITCH, STEP_ONE, PREVIEW)
# Something each answer must contain: a 200 with the wrong page is an error too.
EXPECT = {PAGE_USAGE: 'data-used="', PAGE_ACTIVE: 'id="active-tab"', TAB_SWITCH: 'id="tabs"',
          STEP_ONE: 'id="change-form"', PREVIEW: 'id="preview"'}


# --- seeding ------------------------------------------------------------------------------

@dataclass
class Shop:
    email: str
    seat_sub: int  # Team, monthly: 4 users + 1 add-on license
    usage_sub: int  # locations, monthly


def seed(url: str, accounts: int, today: dt.date) -> list[Shop]:
    """Migrate, load the demo data, and add ``accounts`` shops: an admin and three members
    (four seats, all taken), four locations with 12 devices (5 location subscriptions by
    rule LOC-1) on a location plan, and a Team seat plan."""
    from werkzeug.security import generate_password_hash

    from portal import demo
    from portal.accounts.memberships import add_membership
    from portal.catalogue import start_subscription
    from portal.db import db, migrate, open_database
    from portal.models import Account, Device, Location, Plan, User
    from portal.statuses import Role

    database = open_database(url)
    shops = []
    with database.connection_context():
        migrate(database)
        demo.load(today=today)
        password_hash = generate_password_hash(demo.PASSWORD)
        plans = {p.code: p for p in Plan.select()}
        start = today.replace(day=1)
        with db.atomic():
            for i in range(1, accounts + 1):
                account = Account.create(name=f"Load Shop {i:03d}",
                                         legal_name=f"Load Shop {i:03d} Ltd",
                                         address_line1=f"{i} Load Street",
                                         postal_code="LS1 1AA", city="Leeds", country="GB")
                email = f"admin@load-{i:03d}.example"
                people = [(email, f"Admin {i}", Role.ADMIN, True)] + [
                    (f"member{m}@load-{i:03d}.example", f"Member {m}", Role.MEMBER, False)
                    for m in range(1, 4)]
                for address, name, role, addon in people:
                    # the login (with a password), then the membership through the service
                    User.create(email=address, name=name, password_hash=password_hash)
                    add_membership(account, address, role=role, addon=addon)
                for n, devices in enumerate((5, 4, 2, 1), start=1):
                    location = Location.create(account=account, name=f"Shop {n}",
                                               external_id=f"shop-{n}")
                    Device.insert_many([{"account": account.id, "location": location.id,
                                         "serial": f"LD-{i}-{n}-{d}"}
                                        for d in range(devices)]).execute()
                subs = {}
                for code, quantity, addons in (("locations", 5, 0), ("team", 4, 1)):
                    subs[code] = start_subscription(  # ONB-1: the one way
                        account, plans[code], interval="monthly", quantity=quantity,
                        addons=addons, start=start).id
                shops.append(Shop(email, subs["team"], subs["locations"]))
    database.close()
    return shops


# --- PostgreSQL: a throwaway cluster, as scripts/test starts one ----------------------------

def Cluster():  # noqa: N802 - the shared cluster, fsync off for a load test
    return pgcluster.Cluster("portal-load-pg.", durable=False)


# --- gunicorn -------------------------------------------------------------------------------

class Gunicorn(served.Gunicorn):
    """gunicorn serving wsgi:app on 127.0.0.1 (gthread workers); its log in ``log``."""

    def __init__(self, url: str, folder: str, workers: int, threads: int):
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
               "PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": secrets.token_hex(32),
               "PORTAL_INSTANCE_PATH": folder, "PYTHONDONTWRITEBYTECODE": "1"}
        super().__init__("wsgi:app", env, "--workers", str(workers), "--worker-class",
                         "gthread", "--threads", str(threads), "--keep-alive", "10",
                         "--backlog", "2048", "--log-level", "warning",
                         log=Path(folder) / "gunicorn.log")

    def rss_mb(self) -> dict[int, float]:
        """VmRSS of each worker process, in MiB (from /proc/<pid>/status)."""
        sizes = {}
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            kib = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))
            sizes[pid] = kib / 1024
        return sizes

    def problems(self) -> list[str]:
        """Lines of the server log that tell of an error (tracebacks, worker timeouts)."""
        return [line for line in self.log.read_text(errors="replace").splitlines()
                if "Traceback" in line or "[ERROR]" in line or "CRITICAL" in line
                or "WORKER TIMEOUT" in line]


# --- a small HTTP/1.1 keep-alive client on asyncio --------------------------------------------

class HttpError(Exception):
    pass


@dataclass
class Answer:
    status: int
    headers: dict
    body: str


class Browser:
    """One virtual user: one keep-alive connection to 127.0.0.1 and a cookie jar."""

    def __init__(self, port: int, stats: Stats):
        self.port, self.stats = port, stats
        self.cookies: dict[str, str] = {}
        self.reader = self.writer = None

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method, path, *, headers=None, form=None, timeout=60.0) -> Answer:
        body = urllib.parse.urlencode(form).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                 f"User-Agent: {USER_AGENT}", "Accept: text/html"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded",
                      f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        for attempt in (1, 2):
            reused = self.writer is not None
            try:
                if not reused:
                    self.reader, self.writer = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", self.port), timeout)
                self.writer.write(raw)
                await self.writer.drain()
                status_line = await asyncio.wait_for(self.reader.readline(), timeout)
                if not status_line:
                    raise ConnectionResetError("closed before answering")
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self.close()
                if reused and attempt == 1:
                    # The server closed an idle keep-alive connection as we sent: browsers
                    # send again on a new connection (safe: nothing was answered).
                    self.stats.resent += 1
                    continue
                raise HttpError(f"{type(exc).__name__}: {exc}") from None
            return await asyncio.wait_for(self._read(status_line), timeout)
        raise HttpError("unreachable")

    async def _read(self, status_line: bytes) -> Answer:
        parts = status_line.decode("latin-1").split(" ", 2)
        status = int(parts[1])
        headers, cookies = {}, []
        while True:
            line = (await self.reader.readline()).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookies.append(value)
            headers[name] = value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            body = b"".join(chunks)
        elif "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:
            body = await self.reader.read()
            headers["connection"] = "close"
        for cookie in cookies:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            if value and "expires=thu, 01 jan 1970" not in cookie.lower():
                self.cookies[name.strip()] = value.strip()
            else:
                self.cookies.pop(name.strip(), None)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Answer(status, headers, body.decode("utf-8", errors="replace"))


# --- the virtual users --------------------------------------------------------------------------

@dataclass
class Stats:
    latencies: dict = field(default_factory=lambda: {label: [] for label in ENDPOINTS})
    errors: dict = field(default_factory=lambda: {label: 0 for label in ENDPOINTS})
    examples: list = field(default_factory=list)  # the first few errors, to print
    logins: list = field(default_factory=list)
    login_errors: int = 0
    resent: int = 0
    client_cpu: float = 0.0  # CPU seconds this client used per second of browsing
    requests: int = 0

    def error(self, label: str, what: str) -> None:
        self.errors[label] = self.errors.get(label, 0) + 1
        if len(self.examples) < 10:
            self.examples.append(f"{label}: {what}")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, in ms."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def log_in(browser: Browser, email: str, stats: Stats) -> bool:
    """The real login form: GET it (cookie + CSRF token), POST it, follow to the page."""
    from portal import demo

    began = time.perf_counter()
    try:
        page = await browser.request("GET", "/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.body)
        if page.status != 200 or not token:
            raise HttpError(f"GET /login answered {page.status}")
        answer = await browser.request("POST", "/login", form={
            "email": email, "password": demo.PASSWORD, "csrf_token": token.group(1)})
        if answer.status != 302 or "session" not in browser.cookies:
            raise HttpError(f"POST /login answered {answer.status}")
        landing = await browser.request("GET", urllib.parse.urlsplit(
            answer.headers["location"]).path)  # reads the "Welcome" flash, as a browser does
        if landing.status != 200:
            raise HttpError(f"the page after login answered {landing.status}")
    except (TimeoutError, HttpError, OSError) as exc:
        stats.login_errors += 1
        if len(stats.examples) < 10:
            stats.examples.append(f"login {email}: {exc}")
        return False
    stats.logins.append(time.perf_counter() - began)
    return True


class User:
    """A person browsing: the subscription page and its tabs, then the wizard's step 1 and
    a few live previews while typing, again and again until the deadline."""

    def __init__(self, browser: Browser, shop: Shop, rng: random.Random, think: float,
                 stats: Stats, budget: list):
        self.browser, self.shop, self.rng, self.think = browser, shop, rng, think
        self.stats, self.budget = stats, budget

    async def pause(self, share=1.0):
        await asyncio.sleep(self.think * share * self.rng.uniform(0.5, 1.5))

    async def get(self, label: str, path: str, htmx_target: str | None = None,
                  current: str = "/subscription/") -> bool:
        if time.monotonic() >= self.deadline or self.budget[0] <= 0:
            return False
        self.budget[0] -= 1
        headers = {}
        if htmx_target:
            headers = {"HX-Request": "true", "HX-Target": htmx_target,
                       "HX-Current-URL": f"http://127.0.0.1:{self.browser.port}{current}"}
        began = time.perf_counter()
        try:
            answer = await self.browser.request("GET", path, headers=headers)
        except (TimeoutError, HttpError, OSError) as exc:
            self.stats.error(label, f"GET {path}: {type(exc).__name__} {exc}")
            return True
        elapsed = time.perf_counter() - began
        self.stats.requests += 1
        if not 200 <= answer.status < 300:
            self.stats.error(label, f"GET {path} answered {answer.status}")
        elif EXPECT[label] not in answer.body or (htmx_target and "<html" in answer.body):
            self.stats.error(label, f"GET {path}: not the expected page")
        else:
            self.stats.latencies[label].append(elapsed)
        return True

    def preview_query(self, sid: int) -> str:
        rng = self.rng
        if sid == self.shop.seat_sub:
            values = {"plan": rng.choice(("team", "business")),
                      "interval": rng.choice(("monthly", "annual")),
                      "quantity": rng.randint(3, 12), "addon_quantity": rng.randint(0, 4)}
        else:
            values = {"plan": rng.choice(("locations", "devices")),
                      "interval": rng.choice(("monthly", "annual"))}
        return urllib.parse.urlencode(values)

    async def run(self, deadline: float) -> None:
        self.deadline = deadline
        await asyncio.sleep(self.rng.uniform(0, self.think))  # not all at the same instant
        while True:
            steps = [
                (PAGE_USAGE, "/subscription/", None),
                (TAB_SWITCH, "/subscription/active", "tabs"),
                (TAB_SWITCH, "/subscription/", "tabs"),  # the usage tab (url_for gives /)
                (PAGE_ACTIVE, "/subscription/active", None),
            ]
            for label, path, target in steps:
                if not await self.get(label, path, target):
                    return
                await self.pause()
            sid = self.rng.choice((self.shop.seat_sub, self.shop.usage_sub))
            change = f"/admin/subscription/{sid}/change"
            if not await self.get(STEP_ONE, change):
                return
            for _ in range(self.rng.randint(2, 5)):  # typing: previews come close together
                await self.pause(0.3)
                if not await self.get(PREVIEW, f"{change}?{self.preview_query(sid)}",
                                      "preview", current=change):
                    return
            await self.pause()


async def browse(port: int, shops: list[Shop], users: int, seconds: float, think: float,
                 max_requests: int, seed: int) -> tuple[Stats, float]:
    stats = Stats()
    rng = random.Random(seed)
    browsers = [Browser(port, stats) for _ in range(users)]
    assigned = [shops[i % len(shops)] for i in range(users)]
    gate = asyncio.Semaphore(16)  # logins: hashing is slow on purpose; don't queue 200 at once

    async def login(browser, shop):
        async with gate:
            return await log_in(browser, shop.email, stats)

    logged = await asyncio.gather(*(login(b, s) for b, s in zip(browsers, assigned, strict=True)))
    for browser in browsers:  # idle while the others logged in: start on fresh connections
        browser.close()
    budget = [max_requests]
    people = [User(b, s, random.Random(rng.random()), think, stats, budget)
              for b, s, ok in zip(browsers, assigned, logged, strict=True) if ok]
    began, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(person.run(began + seconds) for person in people))
    elapsed = time.monotonic() - began
    stats.client_cpu = (time.process_time() - cpu) / elapsed if elapsed else 0.0
    for browser in browsers:
        browser.close()
    return stats, elapsed


# --- one database ---------------------------------------------------------------------------------

def run_one(name: str, url: str, args, folder: str) -> dict:
    t0 = time.perf_counter()
    shops = seed(url, args.accounts, dt.date.today())
    print(f"[{name}] seeded the demo and {len(shops)} shops in {time.perf_counter() - t0:.1f} s;"
          f" gunicorn --workers {args.workers} --worker-class gthread --threads {args.threads}",
          flush=True)
    with Gunicorn(url, folder, args.workers, args.threads) as server:
        stats, elapsed = asyncio.run(browse(server.port, shops, args.users, args.seconds,
                                            args.think, args.max_requests, args.seed))
        rss = server.rss_mb()
        problems = server.problems()
    result = {"database": name, "seconds": elapsed, "users": args.users,
              "logged_in": len(stats.logins), "login_errors": stats.login_errors,
              "login_p50_ms": percentile(stats.logins, 0.5), "resent": stats.resent,
              "client_cpu": stats.client_cpu,
              "server_log_problems": problems[:20], "examples": stats.examples,
              "rss_mb": sorted(rss.values()), "endpoints": {}}
    for label in ENDPOINTS:
        values = stats.latencies[label]
        result["endpoints"][label] = {
            "requests": len(values) + stats.errors[label], "errors": stats.errors[label],
            "p50_ms": percentile(values, .5), "p90_ms": percentile(values, .9),
            "p99_ms": percentile(values, .99), "max_ms": percentile(values, 1.0)}
    every = [v for label in ENDPOINTS for v in stats.latencies[label]]
    result["total"] = {"requests": len(every) + sum(stats.errors.values()),
                       "errors": sum(stats.errors.values()) + stats.login_errors,
                       "p50_ms": percentile(every, .5), "p90_ms": percentile(every, .9),
                       "p99_ms": percentile(every, .99), "max_ms": percentile(every, 1.0),
                       "rps": len(every) / elapsed if elapsed else 0.0}
    report(result)
    return result


def report(r: dict) -> None:
    print(f"\n[{r['database']}] {r['users']} users ({r['logged_in']} logged in, login p50 "
          f"{r['login_p50_ms']:.0f} ms), {r['seconds']:.1f} s of browsing, "
          f"{r['total']['rps']:.1f} requests/s; the client itself used "
          f"{100 * r['client_cpu']:.0f}% of one CPU")
    print(f"{'endpoint':<38} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p90 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8}")
    rows = list(r["endpoints"].items()) + [("all", r["total"])]
    for label, e in rows:
        print(f"{label:<38} {e['requests']:>9} {e['errors']:>7} {e['p50_ms']:>8.1f} "
              f"{e['p90_ms']:>8.1f} {e['p99_ms']:>8.1f} {e['max_ms']:>8.1f}")
    rss = r["rss_mb"]
    print(f"RSS per gunicorn worker after the run: "
          f"{', '.join(f'{x:.0f}' for x in rss)} MiB (VmRSS)")
    if r["resent"]:
        print(f"{r['resent']} request(s) sent again on a new connection after the server "
              f"closed an idle keep-alive one (not errors: nothing had been answered)")
    for line in r["examples"]:
        print(f"  error: {line}")
    for line in r["server_log_problems"]:
        print(f"  server log: {line}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of browsing")
    parser.add_argument("--users", type=int, default=200, help="concurrent virtual users")
    parser.add_argument("--accounts", type=int, default=50,
                        help="seeded shops (each user logs in as one shop's admin)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean pause between two requests of a user, in seconds")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--databases", default=f"sqlite,postgresql,{POOLED}",
                        help="comma list: sqlite, postgresql (a connection per request, "
                             f"as PORTAL_DATABASE_URL=postgresql://... gives), {POOLED} "
                             "(PORTAL_DATABASE_URL=postgresql+pool://...: peewee's pool)")
    parser.add_argument("--max-requests", type=int, default=200_000,
                        help="upper bound of requests per database")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.databases.split(",") if n.strip()]
    unknown = set(names) - {"sqlite", "postgresql", POOLED}
    if unknown:
        parser.error(f"unknown database(s): {', '.join(sorted(unknown))}")

    print(f"Load: {args.users} users, {args.seconds:g} s per database, think {args.think:g} s, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    results = []
    for name in names:
        folder = tempfile.mkdtemp(prefix=f"portal-load-{name}.")
        try:
            if name == "sqlite":
                results.append(run_one(name, f"sqlite:///{folder}/load.sqlite3", args, folder))
                continue
            with Cluster() as cluster:
                url = cluster.url()
                if name == POOLED:  # peewee's connection pool, chosen by the URL alone
                    url = (url.replace("postgresql://", "postgresql+pool://")
                           + f"?max_connections={args.threads + 2}&stale_timeout=300")
                results.append(run_one(name, url, args, folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    errors = sum(r["total"]["errors"] for r in results)
    problems = sum(len(r["server_log_problems"]) for r in results)
    print(f"\nErrors: {errors} (target 0: {'ok' if errors == 0 else 'MISSED'}); server log "
          f"problems: {problems}; load average {os.getloadavg()[0]:.2f} at the end")
    return 1 if errors or problems else 0


if __name__ == "__main__":
    sys.exit(main())
