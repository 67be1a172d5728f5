"""Throughput of the htmx partials against a bare Flask endpoint (issue #9, item 8).

The companion of subscription_page.py (which measures the full page the same way): seeds
a temporary SQLite database (the demo and a few shops of benchmarks/load.py), serves the
portal (wsgi:app) and the bare endpoint (bare_app.py: one query, a trivial template) under
the same gunicorn settings (2 sync workers, 127.0.0.1), logs in through the real form,
and loads, in alternating rounds with 4 client threads and no pause:

- the subscription page's tab switch (``GET /subscription/active`` with ``HX-Request``:
  the tab partial alone);
- the wizard's live price preview (``GET /admin/subscription/<id>/change?...`` with
  ``HX-Target: preview``: the preview partial, priced through portal/billing);
- the full subscription page, for comparison.

Prints requests/s, p50/p95 and each one's ratio to the bare endpoint (median of the
rounds). Every answer must be 200 and the expected partial, else it is an error.

    .venv/bin/python benchmarks/partials.py [--duration 12] [--rounds 6] [--json PATH]
"""
from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from load import seed  # noqa: E402
from subscription_page import (USER_AGENT, Gunicorn, Run, failures, hammer,  # noqa: E402
                               session_cookie, take_turns)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=12.0,
                        help="seconds per endpoint, in all rounds")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="portal-partials-")
    url = f"sqlite:///{tmp.name}/partials.sqlite3"
    shop = seed(url, 5, dt.date.today())[0]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
           "PORTAL_DATABASE_URL": url, "PORTAL_DEMO": "1", "PORTAL_INSTANCE_PATH": tmp.name,
           "PYTHONDONTWRITEBYTECODE": "1"}
    change = f"/admin/subscription/{shop.seat_sub}/change"
    per_round = dict(duration=args.duration / args.rounds, concurrency=args.concurrency,
                     max_requests=args.max_requests // args.rounds)
    with Gunicorn("bare_app:app", env, args.workers) as bare, \
            Gunicorn("wsgi:app", env, args.workers) as portal:
        cookie = session_cookie(portal.port, shop.email)
        base = {"User-Agent": USER_AGENT}
        logged = {**base, "Cookie": cookie}
        hx = {**logged, "HX-Request": "true"}
        targets = [
            ("bare Flask endpoint (1 query)", bare.port, "/bare", base, "<p>"),
            ("tab switch partial (htmx)", portal.port, "/subscription/active",
             {**hx, "HX-Target": "tabs"}, 'id="tabs"'),
            ("wizard live preview partial (htmx)", portal.port,
             f"{change}?plan=business&interval=annual&quantity=6&addon_quantity=2",
             {**hx, "HX-Target": "preview"}, 'id="preview"'),
            ("subscription page (full)", portal.port, "/subscription/", logged,
             'data-used="'),
        ]
        for label, port, path, headers, check in targets:  # warm up, and check once
            warm = hammer(port, path, headers, check, 0.5, 1, 30, label)
            if warm.errors or not warm.latencies:
                raise SystemExit(f"{label}: GET {path} did not answer the expected page")
        runs = [Run(label) for label, *_ in targets]
        take_turns(runs, [functools.partial(hammer, port, path, headers, check, label=label,
                                            **per_round)
                          for label, port, path, headers, check in targets], args.rounds)
    tmp.cleanup()

    print(f"gunicorn {args.workers} sync workers on 127.0.0.1, {args.concurrency} client "
          f"threads, {args.duration:g} s per endpoint in {args.rounds} rounds, SQLite, "
          f"{os.cpu_count()} CPUs\n")
    print(f"{'endpoint':<38} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'errors':>7} {'ratio':>6}")
    figures = []
    for run in runs:
        ratios = [r / b for r, b in zip(run.rounds, runs[0].rounds, strict=True) if b]
        ratio = statistics.median(ratios) if ratios else 0.0
        print(f"{run.label:<38} {len(run.latencies):>9} {run.rps:>8.1f} {run.ms(.5):>8.2f} "
              f"{run.ms(.95):>8.2f} {run.errors:>7} {ratio:>6.2f}")
        figures.append({"endpoint": run.label, "requests": len(run.latencies),
                        "rps": run.rps, "p50_ms": run.ms(.5), "p95_ms": run.ms(.95),
                        "errors": run.errors, "ratio": ratio,
                        "ratio_range": [min(ratios), max(ratios)] if ratios else []})
    print("(ratio: requests/s over the bare endpoint's, median of the rounds)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return failures(runs)


if __name__ == "__main__":
    sys.exit(main())
