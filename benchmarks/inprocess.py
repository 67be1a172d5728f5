"""The customer's hot paths measured in-process (issue #20), against a bare endpoint.

Seeds a temporary SQLite database like subscription_page.py (its own seeding: the demo,
an account of 10 devices and one of 10,000 devices over 2,500 locations), builds the
portal app and a bare Flask app (a session read, one query, a trivial template, the
portal's own pooled connection: ``portal.db``'s hooks) and times each hot path with
Flask's test client, the paths taking turns in alternating rounds: the median of each
round's per-request CPU times (the thread's: the machine is shared), then each round's
ratio bare / path, then the median ratio.
Also counts the SQL statements per request and each partial's payload against the
full page's. No HTTP server, no load generator: these are CPU costs of the code only,
printed as ``row:`` lines marked "(in-process)" so they are never taken for the wrk
figures of the other scripts.

    .venv/bin/python benchmarks/inprocess.py [--rounds 5] [--requests 60]
    .venv/bin/python benchmarks/inprocess.py --profile preview-10000 [--sort tottime]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from subscription_page import BIG, SMALL, seed  # noqa: E402

from portal import create_app, demo  # noqa: E402
from portal.db import connection_per_request, db  # noqa: E402
from portal.models import Membership, Subscription, User, Plan  # noqa: E402


def bare_app(secret: str):
    """benchmarks/bare_app.py with the session read and the portal's pooled connection
    (the database proxy is the portal's, already opened by create_app)."""
    from flask import Flask, render_template, session

    from portal.models import Account

    app = Flask("bare", template_folder=str(HERE / "templates"))
    app.secret_key = secret

    connection_per_request(app)

    @app.route("/seed")
    def seed_session():
        session["n"] = 1
        return "ok"

    @app.route("/bare")
    def bare():
        """A session read, one query, a trivial template."""
        session.get("n")
        account = Account.select().order_by(Account.id).get()
        return render_template("bare.html", account=account)

    return app


def login(client, email: str) -> None:
    """Log in through the real form, CSRF token included; read the welcome flash."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"email": email, "password": demo.PASSWORD,
                                         "csrf_token": token})
    assert answer.status_code == 302, f"login as {email}: {answer.status_code}"
    client.get("/subscription/")


def team_subscription(email: str) -> tuple[int, int]:
    """(id, quantity) of the seat ("team") subscription of ``email``'s account."""
    with db.connection_context():
        account = (Membership.select(Membership.account).join(User)
                   .where(User.email == email).scalar())
        sub = (Subscription.select().join(Plan)
               .where((Subscription.account == account) & (Plan.code == "team")).get())
        return sub.id, sub.quantity


def paths(portal, email: str, size: int) -> list[dict]:
    """The hot paths of one account: label, client, path, headers, marker."""
    client = portal.test_client()
    login(client, email)
    sid, quantity = team_subscription(email)
    hx = {"HX-Request": "true"}
    return [
        {"name": f"page-{size}", "label": f"subscription page, {size:,} devices",
         "client": client, "path": "/subscription/", "headers": {}, "check": 'data-used="',
         "target": 0.8},
        {"name": f"tab-{size}", "label": f"htmx tab partial (active), {size:,} devices",
         "client": client, "path": "/subscription/active",
         "headers": {**hx, "HX-Target": "tabs"}, "check": 'id="active-tab"', "target": 0.8},
        {"name": f"usage-{size}", "label": f"htmx usage partial, {size:,} devices",
         "client": client, "path": "/subscription/",  # /subscription/usage redirects here
         "headers": {**hx, "HX-Target": "tabs"},
         "check": 'id="usage-tab"', "target": 0.8},
        {"name": f"preview-{size}", "label": f"wizard price preview (priced), {size:,} devices",
         "client": client,
         "path": f"/admin/subscription/{sid}/change?plan=team&interval=monthly"
                 f"&quantity={quantity + 2}&addon_quantity=0",
         "headers": {**hx, "HX-Target": "preview"}, "check": 'data-change="upgrade"',
         "target": 0.7},
    ]


def get(target) -> bytes:
    answer = target["client"].get(target["path"], headers=target["headers"])
    body = answer.get_data()
    if answer.status_code != 200 or target["check"].encode() not in body:
        raise SystemExit(f"{target['label']}: GET {target['path']} answered "
                         f"{answer.status_code} without {target['check']!r}")
    return body


CLOCK = time.thread_time  # CPU seconds of this thread: a neighbour's load does not count


def time_one(target, n: int) -> float:
    """Median CPU seconds per request of ``n`` GETs (each checked). The CPU time of the
    thread, not the wall clock: on a shared machine another process's load would fall on
    whichever path ran then; everything here (SQLite included) runs in this thread."""
    times = []
    for _ in range(n):
        t0 = CLOCK()
        get(target)
        times.append(CLOCK() - t0)
    return statistics.median(times)


def statements(target, show: bool = False) -> int:
    """SQL statements of one steady-state request (wrapping the database's execute_sql)."""
    database = db.obj
    original = database.execute_sql
    seen = []

    def counting(sql, params=None, *args, **kwargs):
        seen.append(sql)
        return original(sql, params, *args, **kwargs)

    database.execute_sql = counting
    try:
        get(target)
    finally:
        del database.execute_sql
    if show:
        print(f"\n-- {target['label']}: {len(seen)} statements")
        print("\n".join(f"   {sql}" for sql in seen))
    return len(seen)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=60, help="per path per round")
    parser.add_argument("--profile", metavar="NAME",
                        help="profile one path (e.g. page-10000, tab-10, preview-10000)")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key")
    parser.add_argument("--lines", type=int, default=45)
    parser.add_argument("--callers", metavar="REGEX",
                        help="with --profile: who calls the functions matching REGEX")
    parser.add_argument("--show-sql", action="store_true", help="print each path's SQL")
    parser.add_argument("--only", help="comma list of path names to time")
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="portal-inprocess-")
    url = f"sqlite:///{tmp.name}/inprocess.sqlite3"
    seed(url)
    secret = secrets.token_hex(32)
    os.environ.pop("PORTAL_DATABASE_URL", None)
    portal = create_app({"DATABASE_URL": url, "SECRET_KEY": secret, "DEMO": True})
    bare = bare_app(secret)
    bare_client = bare.test_client()
    bare_client.get("/seed")
    yardstick = {"name": "bare", "label": "bare endpoint (session, 1 query, template)",
                 "client": bare_client, "path": "/bare", "headers": {}, "check": "<p>"}
    targets = paths(portal, SMALL["email"], SMALL["devices"]) + \
        paths(portal, BIG["email"], BIG["devices"])
    for target in [yardstick, *targets]:  # warm: templates compiled, caches filled
        for _ in range(3):
            target["bytes"] = len(get(target))

    if args.profile:
        target = next(t for t in [yardstick, *targets] if t["name"] == args.profile)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests * 3):
            get(target)
        profile.disable()
        stats = pstats.Stats(profile)
        stats.sort_stats(args.sort).print_stats(args.lines)
        if args.callers:
            stats.print_callers(args.callers)
        return 0

    if args.only:
        wanted = set(args.only.split(","))
        targets = [t for t in targets if t["name"] in wanted]
    counts = {t["name"]: statements(t, args.show_sql) for t in [yardstick, *targets]}
    rounds: dict[str, list[float]] = {t["name"]: [] for t in [yardstick, *targets]}
    ratios: dict[str, list[float]] = {t["name"]: [] for t in targets}
    for _ in range(args.rounds):
        for target in targets:  # the yardstick beside each path: pairs, side by side
            base = time_one(yardstick, args.requests // 2)
            spent = time_one(target, args.requests)
            base = (base + time_one(yardstick, args.requests // 2)) / 2
            rounds["bare"].append(base)
            rounds[target["name"]].append(spent)
            ratios[target["name"]].append(base / spent)
    tmp.cleanup()

    load = os.getloadavg()
    print(f"\nin-process (Flask test client, CPU time of the thread), {args.rounds} "
          f"alternating rounds of {args.requests} requests per path; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {time.strftime('%Y-%m-%d %H:%M')}\n")
    print(f"{'path':<48} {'ms':>7} {'ratio':>6} {'range':>11} {'SQL':>4} {'bytes':>8}")
    print(f"{yardstick['label']:<48} {1000 * statistics.median(rounds['bare']):>7.2f} "
          f"{'1.00':>6} {'':>11} {counts['bare']:>4} {yardstick['bytes']:>8}")
    for t in targets:
        r = ratios[t["name"]]
        print(f"{t['label']:<48} {1000 * statistics.median(rounds[t['name']]):>7.2f} "
              f"{statistics.median(r):>6.2f} {min(r):>5.2f}-{max(r):<5.2f} "
              f"{counts[t['name']]:>4} {t['bytes']:>8}")
    print()
    pages = {t["name"].split("-")[1]: t["bytes"] for t in targets if t["name"].startswith("page")}
    for t in targets:
        ratio = statistics.median(ratios[t["name"]])
        ok = "ok" if ratio >= t["target"] else "MISSED"
        print(f"row: {t['label']} (in-process) | {ratio:.2f}x "
              f"({1000 * statistics.median(rounds[t['name']]):.2f} ms vs "
              f"{1000 * statistics.median(rounds['bare']):.2f} ms, {counts[t['name']]} SQL) "
              f"| >= {t['target']}x | {ok}")
        size = t["name"].split("-")[1]
        if t["name"].startswith(("tab", "usage")) and size in pages:
            share = t["bytes"] / pages[size]
            print(f"row: {t['label']} payload / full page (in-process) | "
                  f"{share:.2f} ({t['bytes']:,} of {pages[size]:,} bytes) | <= 0.20 | "
                  f"{'ok' if share <= 0.2 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
