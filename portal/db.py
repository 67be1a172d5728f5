"""The database: one peewee proxy, initialised from PORTAL_DATABASE_URL, opened per request."""
from __future__ import annotations

from pathlib import Path

import peewee
from playhouse.db_url import connect

db = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "synchronous": "normal",
}


def open_database(url: str, busy_timeout_ms: int = 5000) -> peewee.Database:
    """Bind the proxy to the database at ``url`` (SQLite or PostgreSQL) and return it."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        database = connect(url, pragmas={**SQLITE_PRAGMAS, "busy_timeout": busy_timeout_ms})
    else:
        database = connect(url)
    db.initialize(database)
    return database


def migrations_dir() -> Path:
    """The peewee-migrate folder at the top of the source tree."""
    return Path(__file__).resolve().parent.parent / "migrations"


def migrate(database=None) -> list[str]:
    """Apply every pending migration; return the names applied."""
    from peewee_migrate import Router

    router = Router(database or db.obj, migrate_dir=str(migrations_dir()), ignore=["basemodel"])
    done_before = set(router.done)
    router.run()
    return [name for name in router.done if name not in done_before]


def init_app(app) -> None:
    """Open the database for this app; connect before each request, close after it."""
    url = app.config["DATABASE_URL"] or f"sqlite:///{Path(app.instance_path) / 'portal.sqlite3'}"
    app.config["DATABASE_URL"] = url
    open_database(url, busy_timeout_ms=int(app.config.get("SQLITE_BUSY_TIMEOUT_MS", 5000)))

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def _close(exc):
        if not db.is_closed():
            db.close()
