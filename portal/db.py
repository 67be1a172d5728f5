"""The database: one peewee proxy, initialised from PORTAL_DATABASE_URL, opened per request."""
from __future__ import annotations

import weakref
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


class Prepared:
    """A SELECT compiled to SQL once per database, then run with new parameters.

    peewee builds a query's SQL afresh on every execution: for a join that takes longer
    than SQLite takes to run it (0.3-0.6 ms against 0.02 ms). The queries behind every
    page (the logged-in user with its account, the account's subscriptions with their
    plans) keep their SQL. ``build(*params)`` returns the query; its bound parameters must
    be exactly ``params`` in order, which is checked when the SQL is compiled, so the SQL
    can run with any other values. Rows come back as the query itself would give them
    (models, with the joined models attached). Constants a query binds are parameters
    too: ``build`` takes them in the order peewee binds them, which the check enforces.
    """

    def __init__(self, build):
        self.build = build
        self._compiled = weakref.WeakKeyDictionary()  # database -> (query, sql)

    def compiled(self, database, params):
        entry = self._compiled.get(database)
        if entry is None:
            query = self.build(*params)
            sql, bound = query.sql()
            if list(bound) != list(params):
                raise ValueError(f"{self.build.__qualname__}: the query binds {bound!r}, "
                                 f"not its parameters {list(params)!r}")
            entry = self._compiled[database] = (query, sql)
        return entry

    def __call__(self, *params) -> list:
        database = db.obj
        query, sql = self.compiled(database, params)
        return list(query._get_cursor_wrapper(database.execute_sql(sql, params)))

    def execute(self, *params) -> int:
        """Run a prepared UPDATE, INSERT or DELETE; the number of rows it changed."""
        database = db.obj
        _query, sql = self.compiled(database, params)
        return database.execute_sql(sql, params).rowcount

    def values(self, *params) -> list[tuple]:
        """The rows as the database driver returns them, unconverted: the cheapest read,
        for rows that only need comparing (e.g. as a cache key)."""
        database = db.obj
        _query, sql = self.compiled(database, params)
        return database.execute_sql(sql, params).fetchall()


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
