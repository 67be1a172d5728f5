"""A throwaway PostgreSQL cluster for the benchmarks: initdb (as the postgres user when run
as root) in a temporary folder on a free port; stopped and deleted on exit."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """``with Cluster(prefix, durable=...) as c: c.url()``; ``durable=False`` turns fsync
    and full-page writes off (load tests), ``True`` keeps them (billing figures)."""

    def __init__(self, prefix: str = "portal-bench-pg.", durable: bool = True):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                      key=lambda p: [int(x) for x in p.split("/")[4].split(".")])
        if not bins:
            raise SystemExit("PostgreSQL is not installed: apt-get install -y postgresql")
        self.bin, self.port, self.durable = bins[-1], free_port(), durable
        self.data = tempfile.mkdtemp(prefix=prefix)
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")

    def _run(self, command: str) -> None:
        argv = (["su", "postgres", "-s", "/bin/sh", "-c", command] if os.geteuid() == 0
                else ["/bin/sh", "-c", command])
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)

    def __enter__(self):
        fast = "" if self.durable else " -c fsync=off -c full_page_writes=off"
        self._run(f"{self.bin}/initdb -D {self.data} -A trust -U portal")
        self._run(f"{self.bin}/pg_ctl -D {self.data} -w -l {self.data}/log -o '-k /tmp "
                  f"-p {self.port} -c listen_addresses=127.0.0.1{fast}' start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://portal@127.0.0.1:{self.port}/{database}"

    def create(self, database: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {database}")
        return self.url(database)

    def __exit__(self, *exc):
        try:
            self._run(f"{self.bin}/pg_ctl -D {self.data} -m fast stop")
        finally:
            shutil.rmtree(self.data, ignore_errors=True)
