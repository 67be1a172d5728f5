"""A real gunicorn serving a WSGI app on 127.0.0.1, for load tests and benchmarks.

``with Gunicorn("wsgi:app", env, "--workers", "4") as server:`` starts it on a free
port, waits until a worker answers HTTP, and stops it (SIGTERM, then SIGKILL) on the way
out. ``server.log`` holds what it printed when a ``log`` path is given.
"""
from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent  # the source tree (wsgi.py)


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port: int) -> bool:
    """True once something on ``port`` answers an HTTP request (whatever the status)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


class Gunicorn:
    """gunicorn serving ``target`` with the extra ``options``, run from the source tree."""

    def __init__(self, target: str, env: dict, *options: str, log: Path | None = None,
                 start_within: float = 60):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log, self.start_within = log, start_within
        self.argv = [sys.executable, "-m", "gunicorn", *options,
                     "--bind", f"127.0.0.1:{self.port}", "--chdir", str(ROOT), target]
        self.env = env
        self.process = None

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log else ""

    def __enter__(self):
        output = self.log.open("w") if self.log else None
        self.process = subprocess.Popen(self.argv, env=self.env, stdout=output,
                                        stderr=subprocess.STDOUT if output else None)
        deadline = time.monotonic() + self.start_within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n"
                                   + self.log_tail())
            if answers(self.port):
                return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not answer within {self.start_within:.0f} s:\n"
                           + self.log_tail())

    def workers(self) -> list[int]:
        """Pids of the worker processes (children of the gunicorn master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
