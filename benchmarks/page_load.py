"""Load on the subscription page with wrk (issue #20): 100 connections for 30 s, then the
memory of every gunicorn worker.

Seeds the database of subscription_page.py (an account of 10,000 devices over 2,500
locations), serves the portal (wsgi:app) with gunicorn gthread (wrkload.GUNICORN: 2 workers
x 4 threads, the throughput runs' settings; ``--workers``/``--threads`` change it), logs in
through the real form, and runs ``wrk -t2 -c100 -d30s --latency`` on the 10,000-device
subscription page: every answer must be 200 and show the page's usage count
(``data-used="<n>"``), else it is an error. Then reads VmRSS of each worker from
/proc/<pid>/status.

Rows: errors (target 0) with p99 (target < 250 ms), and the RSS per worker (< 100 MB).
wrk keeps its 100 connections busy (a closed loop): each sends its next request when the
answer arrives, so the latency is what 100 requests in flight cost (Little's law: at N
requests/s, a request waits about 100/N seconds).

    .venv/bin/python benchmarks/page_load.py [--seconds 30] [--connections 100]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import wrkload  # noqa: E402
from subscription_page import BIG, Gunicorn, seed, server_env, session_cookie  # noqa: E402

P99_TARGET_MS, RSS_TARGET_MB = 250, 100


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn gthread workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="portal-load-")
    url = f"sqlite:///{tmp.name}/load.sqlite3"
    needed = seed(url)
    options = list(wrkload.GUNICORN)
    options[options.index("--workers") + 1] = str(args.workers)
    options[options.index("--threads") + 1] = str(args.threads)
    with Gunicorn("wsgi:app", server_env(url, tmp.name), *options) as portal:
        headers = {"Cookie": session_cookie(portal.port, BIG["email"])}
        page, marker = f"{portal.url}/subscription/", f'data-used="{needed[BIG["email"]]}"'
        wrkload.check(page, marker, headers)
        result = wrkload.measure(page, marker, headers, seconds=args.seconds,
                                 connections=args.connections, threads=2, timeout=30)
        rss = {pid: rss_mb(pid) for pid in portal.workers()}
    tmp.cleanup()

    print(f"\nwrk -t2 -c{args.connections} -d{args.seconds:g}s on the 10,000-device "
          f"subscription page; gunicorn {args.workers} gthread workers x {args.threads} "
          f"threads; SQLite; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    print(f"requests {result.requests:,} ({result.rps:.1f}/s); p50 {result.p50_ms:.0f} ms, "
          f"p90 {result.p90_ms:.0f} ms, p99 {result.p99_ms:.0f} ms, max {result.max_ms:.0f} ms; "
          f"errors: {result.non200} not 200, {result.missing} wrong page, "
          f"{result.socket_errors} socket errors/timeouts")
    print("RSS per worker after the run: " + ", ".join(f"{pid}: {mb:.1f} MB"
                                                       for pid, mb in sorted(rss.items())))
    print()
    wrkload.row(f"load: {args.connections} connections for {args.seconds:g} s on the "
                f"subscription page (10,000 devices), gunicorn gthread "
                f"{args.workers}x{args.threads}",
                f"{result.errors} errors of {result.requests:,}, p99 {result.p99_ms:.0f} ms "
                f"(p50 {result.p50_ms:.0f} ms, {result.rps:.0f} req/s)",
                f"0 errors, p99 < {P99_TARGET_MS} ms",
                result.errors == 0 and result.p99_ms < P99_TARGET_MS)
    most = max(rss.values()) if rss else 0.0
    wrkload.row("RSS per gunicorn worker after the load run",
                f"{min(rss.values()):.0f}-{most:.0f} MB ({len(rss)} workers)" if rss else "n/a",
                f"< {RSS_TARGET_MB} MB", bool(rss) and most < RSS_TARGET_MB)
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
