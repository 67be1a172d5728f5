"""Throughput with wrk (a C load generator): the measuring harness of the benchmarks.

``measure(url, marker, headers=..., seconds=..., connections=...)`` runs ``/usr/bin/wrk
--latency`` against one URL with a Lua script (written to a temporary file) whose
``response()`` checks EVERY answer: a status other than 200, or a body without ``marker``,
is counted as an error, so a refused or error path is never measured by mistake. Its
``done()`` prints one parseable line (requests, duration, latency percentiles, the counts);
``measure`` returns it as a :class:`WrkResult`.

``take_turns({label: measure, ...}, rounds)`` runs the measures in turn, round after round,
so that a neighbour's load on a shared machine falls on all of them alike; ``ratio(a, b)``
is the median of the rounds' ratios of requests/s. ``check(url, marker, headers)`` fetches
one answer (its status, marker and size: the payload row) before a run.

``row(figure, result, target, ok)`` prints a line of the row protocol that benchmarks/run
collects: ``row: <figure> | <result> | <target> | <ok|MISSED|->``.

wrk runs with one thread (``-t1``): one epoll loop in C serves a few thousand requests/s,
far more than the portal on two cores, and leaves the CPUs to the server it measures.
"""
from __future__ import annotations

import http.client
import os
import re
import statistics
import subprocess
import tempfile
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

WRK = os.environ.get("WRK", "/usr/bin/wrk")
USER_AGENT = "portal-benchmark/1"
# The gunicorn settings of every throughput run, identical for the portal and the bare
# endpoint (docs/decisions.md, "Throughput runs: wrk against gunicorn gthread"): threads
# keep wrk's keep-alive connections open; 2 x 4 = 8 requests in flight, wrk's 8 connections.
GUNICORN = ("--workers", "2", "--worker-class", "gthread", "--threads", "4",
            "--keep-alive", "10", "--log-level", "warning")
CONNECTIONS = 8
THREADS = 1

_LUA = r"""
local marker = "%(marker)s"
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  missing = 0
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  elseif body == nil or not string.find(body, marker, 1, true) then
    missing = missing + 1
  end
end

function done(summary, latency, requests)
  local non200, missing = 0, 0
  for _, t in ipairs(threads) do
    non200 = non200 + (t:get("non200") or 0)
    missing = missing + (t:get("missing") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "WRKLOAD requests=%%d duration_us=%%d bytes=%%d p50_us=%%d p90_us=%%d p99_us=%%d " ..
    "max_us=%%d mean_us=%%d non200=%%d missing=%%d connect=%%d read=%%d write=%%d " ..
    "timeout=%%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, non200, missing,
    e.connect, e.read, e.write, e.timeout))
end
"""


def lua_string(text: str) -> str:
    """``text`` as the inside of a Lua double-quoted string: every byte as a decimal
    escape, so quotes, backslashes, newlines and non-ASCII survive unchanged."""
    return "".join(f"\\{byte:03d}" for byte in text.encode())


def lua_script(marker: str) -> str:
    return _LUA % {"marker": lua_string(marker)}


@dataclass
class WrkResult:
    """One wrk run: counts, requests/s and latency percentiles in milliseconds."""
    requests: int
    seconds: float
    bytes: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    non200: int      # answers whose status was not 200
    missing: int     # 200 answers without the marker (the wrong page)
    socket_errors: int  # connect, read, write errors and timeouts
    output: str = ""

    @property
    def errors(self) -> int:
        return self.non200 + self.missing + self.socket_errors

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_LINE = re.compile(r"^WRKLOAD (.+)$", re.M)


def parse(output: str) -> WrkResult:
    """The figures of the line the Lua ``done()`` printed."""
    match = _LINE.search(output)
    if not match:
        raise RuntimeError(f"wrk printed no WRKLOAD line:\n{output[-2000:]}")
    f = {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    return WrkResult(
        requests=f["requests"], seconds=f["duration_us"] / 1e6, bytes=f["bytes"],
        p50_ms=f["p50_us"] / 1000, p90_ms=f["p90_us"] / 1000, p99_ms=f["p99_us"] / 1000,
        max_ms=f["max_us"] / 1000, mean_ms=f["mean_us"] / 1000, non200=f["non200"],
        missing=f["missing"],
        socket_errors=f["connect"] + f["read"] + f["write"] + f["timeout"], output=output)


def measure(url: str, marker: str, headers: dict[str, str] | None = None,
            seconds: float = 2.0, connections: int = CONNECTIONS, threads: int = THREADS,
            timeout: float = 10.0) -> WrkResult:
    """Load ``url`` with wrk for ``seconds`` over ``connections`` keep-alive connections;
    every answer must be 200 and contain ``marker``."""
    headers = {"User-Agent": USER_AGENT, **(headers or {})}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="wrkload-") as script:
        script.write(lua_script(marker))
        script.flush()
        argv = [WRK, "--latency", f"-t{threads}", f"-c{max(connections, threads)}",
                f"-d{max(1, round(seconds))}s", f"--timeout={timeout:g}s", "-s", script.name]
        for name, value in headers.items():
            argv += ["-H", f"{name}: {value}"]
        argv.append(url)
        done = subprocess.run(argv, capture_output=True, text=True,
                              timeout=seconds + timeout + 30)
    if done.returncode:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr or done.stdout}")
    return parse(done.stdout)


def check(url: str, marker: str, headers: dict[str, str] | None = None) -> int:
    """GET ``url`` once: it must answer 200 with ``marker`` and leave the session alone
    (a Set-Cookie on every request would measure a changing session). Returns the body's
    size in bytes (the payload row)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, **(headers or {})})
        answer = conn.getresponse()
        body = answer.read()
    finally:
        conn.close()
    if answer.status != 200 or marker.encode() not in body:
        raise RuntimeError(f"GET {url} answered {answer.status} without {marker!r}: "
                           f"{body[:300]!r}")
    if answer.getheader("Set-Cookie"):
        raise RuntimeError(f"GET {url}: the session changes on every request")
    return len(body)


@dataclass
class Series:
    """The rounds of one endpoint."""
    label: str
    rounds: list[WrkResult] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def rps(self) -> float:
        seconds = sum(r.seconds for r in self.rounds)
        return self.requests / seconds if seconds else 0.0

    def p(self, name: str) -> float:
        """The median over the rounds of a percentile (``"p50_ms"``, ``"p99_ms"``)."""
        return statistics.median(getattr(r, name) for r in self.rounds) if self.rounds else 0.0


def take_turns(measures: dict[str, Callable[[], WrkResult]], rounds: int) -> dict[str, Series]:
    """Each round, every measure once in turn: a neighbour's load that comes and goes
    falls on all of them alike. Every other round runs them in the reverse order, so
    that the first (the yardstick) is not always the furthest from the last."""
    series = {label: Series(label) for label in measures}
    for n in range(rounds):
        order = list(measures.items())
        for label, run in order if n % 2 == 0 else reversed(order):
            series[label].rounds.append(run())
    return series


def ratios(series: Series, base: Series) -> list[float]:
    """requests/s of each round over the base's in the same round."""
    return [s.rps / b.rps for s, b in zip(series.rounds, base.rounds, strict=True) if b.rps]


def ratio(series: Series, base: Series) -> tuple[float, float, float]:
    """(median, lowest, highest) of the rounds' ratios."""
    values = ratios(series, base) or [0.0]
    return statistics.median(values), min(values), max(values)


def table(series: dict[str, Series], base: str | None = None) -> str:
    """The detailed per-endpoint table a script prints before its rows."""
    lines = [f"{'endpoint':<46} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} "
             f"{'p99 ms':>7} {'errors':>6}" + (f" {'ratio':>6}" if base else "")]
    for label, s in series.items():
        line = (f"{label:<46} {s.requests:>9} {s.rps:>8.1f} {s.p('p50_ms'):>7.1f} "
                f"{s.p('p90_ms'):>7.1f} {s.p('p99_ms'):>7.1f} {s.errors:>6}")
        if base:
            line += f" {ratio(s, series[base])[0]:>6.2f}"
        lines.append(line)
    return "\n".join(lines)


def row(figure: str, result: str, target: str = "-", ok: bool | None = None) -> str:
    """Print (and return) one line of the row protocol benchmarks/run collects."""
    verdict = "-" if ok is None else ("ok" if ok else "MISSED")
    line = f"row: {figure} | {result} | {target} | {verdict}"
    print(line, flush=True)
    return line
