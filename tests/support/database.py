"""The test databases' shared facts and helpers.

- ``DEMO_TODAY``: the day the demo data is loaded as of, so dates in assertions are stable.
- ``PG_URL``: PORTAL_TEST_DATABASE_URL (empty on SQLite); ``pg_url(name)`` the same server
  with another database; ``pg_admin(*statements)`` runs statements that cannot run in a
  transaction (CREATE/DROP DATABASE) on the server's own database.
- ``database_text(app)``: the whole database as bytes, to search it for a secret.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from portal.db import db

DEMO_TODAY = dt.date(2026, 11, 23)
PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")


def pg_url(name: str) -> str:
    """PG_URL with its database name replaced by ``name``."""
    return PG_URL.rsplit("/", 1)[0] + f"/{name}"


def pg_admin(*statements: str) -> None:
    """Run statements that cannot run in a transaction, on the server's own database."""
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def database_text(app) -> bytes:
    """The whole database as bytes: SQLite files (freed pages included) and every row."""
    chunks = []
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        for file in path.parent.glob(path.name + "*"):  # the file, -wal and -shm
            chunks.append(file.read_bytes())
    with app.app_context():
        db.connect(reuse_if_open=True)
        for table in db.get_tables():
            cursor = db.execute_sql(f'SELECT * FROM "{table}"')
            chunks.append(repr(cursor.fetchall()).encode())
    return b"\n".join(chunks)
