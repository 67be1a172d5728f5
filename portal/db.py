"""The database: one peewee proxy, initialised from PORTAL_DATABASE_URL.

The database is peewee's connection pool (``playhouse.pool``, chosen by the URL's
``+pool`` scheme, which ``open_database`` adds): a request takes a connection at its
start and gives it back at its end, so each worker thread reuses an open connection
instead of opening one (SQLite: the file and its pragmas; PostgreSQL: TCP, login and a
server process) and closing it for every request (docs/performance.md). Peewee hands
back a connection with no transaction left open (it rolls one back), checks a
PostgreSQL connection is alive before handing it out, and retires it after
``stale_timeout`` seconds.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from pathlib import Path

import peewee
from playhouse.db_url import connect, parse

db = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "synchronous": "normal",
}


# A PostgreSQL connection kept longer than this is closed on its return to the pool.
POOL_STALE_SECONDS = 300


def pooled_url(url: str) -> str:
    """``url`` with peewee's pooled scheme (``sqlite+pool``, ``postgresql+pool``), unless
    it names one already or is an in-memory SQLite database (one database per connection)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "+pool" in scheme or rest.endswith(":memory:") or rest in ("", "/"):
        return url
    return f"{scheme}+pool://{rest}"


def open_database(url: str, busy_timeout_ms: int = 5000) -> peewee.Database:
    """Bind the proxy to the pooled database at ``url`` (SQLite or PostgreSQL); return it.

    Options the URL sets itself (``?max_connections=6``) are kept."""
    url = pooled_url(url)
    options: dict = {}
    if "+pool" in url.partition("://")[0]:
        # No bound of our own: a connection is held only while a thread serves a request
        # or runs a job, so a process holds at most one per thread.
        options["max_connections"] = None
        if url.startswith("sqlite"):
            # a pooled connection may be taken by another thread of the worker later
            options["check_same_thread"] = False
        else:
            options["stale_timeout"] = POOL_STALE_SECONDS
        given = parse(url)
        options = {key: value for key, value in options.items() if key not in given}
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        options["pragmas"] = {**SQLITE_PRAGMAS, "busy_timeout": busy_timeout_ms}
    database = connect(url, **options)
    db.initialize(database)
    return database


def close_all(database=None) -> None:
    """Really close every connection of ``database`` (the proxy's by default), the ones
    idle in its pool too: before a SQLite file is copied (its WAL is folded back in) or a
    PostgreSQL database is used as a template (it must have no connection)."""
    database = database or db.obj
    if hasattr(database, "close_all"):  # peewee's pooled databases
        database.close_all()
    elif not database.is_closed():
        database.close()


def is_postgres() -> bool:
    """True when the app's database is PostgreSQL (row locks), False on SQLite."""
    return isinstance(db.obj, peewee.PostgresqlDatabase)


@contextmanager
def write_transaction(*, serialize_on=None):
    """The one way to open a transaction that writes (nested: a savepoint of the outer one).

    SQLite: ``BEGIN IMMEDIATE`` takes the database's single write lock at once, so
    concurrent writers queue (for up to the busy timeout) instead of failing when a read
    lock cannot be upgraded; writers are then serialised and nothing else is needed.
    PostgreSQL: an ordinary transaction (READ COMMITTED); rows are locked where they are
    read, with ``for_update`` or ``skip_locked``. ``serialize_on`` is a query whose rows
    are locked FOR UPDATE first, so writers of the same thing (one account's payment
    methods, PAY-5) wait for each other from the start of the transaction.
    """
    with db.atomic() if is_postgres() else db.atomic("IMMEDIATE"):
        if serialize_on is not None and is_postgres():
            list(serialize_on.for_update())
        yield


def retrying(fn, *args, attempts=4, **kwargs):
    """Run ``fn`` in a write transaction, again after a deadlock or a busy database
    (only at the outermost level: inside a transaction the error goes up)."""
    for i in range(attempts):
        try:
            with write_transaction():
                return fn(*args, **kwargs)
        except peewee.OperationalError:
            if i == attempts - 1 or db.transaction_depth():
                raise
            time.sleep(0.05 * (i + 1))


def for_update(query):
    """``query`` locking its rows until the transaction ends, waiting for rows another
    transaction holds (PostgreSQL; SQLite's write transaction already serialises)."""
    return query.for_update() if is_postgres() else query


def skip_locked(query):
    """``query`` locking its rows and passing over rows another transaction holds, so
    workers claim disjoint batches (PostgreSQL; on SQLite one writer runs at a time)."""
    return query.for_update("FOR UPDATE SKIP LOCKED") if is_postgres() else query


def rows(query) -> Iterator[tuple[Any, ...]]:
    """A query's rows as plain tuples, one per row: ``query.tuples()``, typed as what it
    is (peewee's own stubs type its rows as model instances)."""
    return iter(query.tuples())


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
    """Open the database for this app; take a connection from the pool before each
    request, give it back after it (peewee's documented pattern)."""
    url = app.config["DATABASE_URL"] or f"sqlite:///{Path(app.instance_path) / 'portal.sqlite3'}"
    app.config["DATABASE_URL"] = url
    open_database(url, busy_timeout_ms=int(app.config.get("SQLITE_BUSY_TIMEOUT_MS", 5000)))
    connection_per_request(app)


def connection_per_request(app) -> None:
    """Take a connection (from the pool) before each request of ``app``, give it back
    after it: the portal's hooks, also used by the benchmarks' bare endpoint."""

    @app.before_request
    def _connect():
        db.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def _close(exc):
        if not db.is_closed():
            db.close()
