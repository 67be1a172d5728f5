"""Peewee migrations -- 017_status_checks.py.

Issue 14, item 5: statuses, kinds, intervals and roles are closed sets of words
(portal/statuses.py); the database itself refuses any other word, whatever writes it.

PostgreSQL: a CHECK constraint per column. SQLite cannot add a CHECK to an existing
column without rebuilding the table, and a rebuild drops the table's triggers (the
usage-stamp triggers of migration 010): there, two triggers per column (before insert,
before update of the column) abort the statement instead, with SQLite's own wording
("CHECK constraint failed: ..."). NULL passes both, as it passes a CHECK; whether a
column may be NULL is the column's own NOT NULL. The words are written out here, not
imported, so this migration means the same thing whatever the enums become later.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

ACCOUNT = ("active", "past_due")
ROLE = ("admin", "member")
PLAN_KIND = ("device", "location", "seat")
INTERVAL = ("monthly", "annual")
SUBSCRIPTION = ("active", "cancelled")
CHANGE = ("upgrade", "downgrade", "interval", "cancel")
ORDER = ("charging", "placed", "declined", "failed")
INVOICE = ("open", "paid", "dunning", "held", "credited")
LINE = ("plan", "addon", "proration", "credit", "carry")
CHARGE = ("pending", "approved", "declined", "failed", "unknown")
REQUEST = ("pending", "approved", "refused")
DELIVERY = ("pending", "sending", "sent", "failed")

COLUMNS = (
    ("account", "status", ACCOUNT),
    ("user", "role", ROLE),
    ("plan", "kind", PLAN_KIND),
    ("subscription", "interval", INTERVAL),
    ("subscription", "status", SUBSCRIPTION),
    ("pending_change", "interval", INTERVAL),
    ("delivery", "status", DELIVERY),
    ("invoice", "status", INVOICE),
    ("invoice_line", "kind", LINE),
    ("billing_adjustment", "kind", LINE),
    ("charge", "status", CHARGE),
    ("survey_answer", "change", CHANGE),
    ("quote", "change", CHANGE),
    ("quote", "interval", INTERVAL),
    ("change_order", "change", CHANGE),
    ("change_order", "interval", INTERVAL),
    ("change_order", "old_interval", INTERVAL),
    ("change_order", "status", ORDER),
    ("manual_method_request", "status", REQUEST),
)


def _words(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _name(table, column) -> str:
    return f"{table}_{column}_check"


def _postgres(table, column, values):
    return [f'ALTER TABLE "{table}" ADD CONSTRAINT {_name(table, column)} '
            f'CHECK ("{column}" IN ({_words(values)}))']


def _sqlite(table, column, values):
    refuse = (f'WHEN NEW."{column}" NOT IN ({_words(values)}) BEGIN '
              f"SELECT RAISE(ABORT, 'CHECK constraint failed: {table}.{column}'); END")
    return [f'CREATE TRIGGER {_name(table, column)}_insert BEFORE INSERT ON "{table}" {refuse}',
            f'CREATE TRIGGER {_name(table, column)}_update BEFORE UPDATE OF "{column}" '
            f'ON "{table}" {refuse}']


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    postgres = isinstance(database, pw.PostgresqlDatabase)
    if not fake and not postgres:  # PostgreSQL checks the existing rows itself
        for table, column, values in COLUMNS:
            bad = database.execute_sql(f'SELECT count(*) FROM "{table}" '
                                       f'WHERE "{column}" NOT IN ({_words(values)})').fetchone()
            if bad[0]:
                raise ValueError(f"{bad[0]} rows of {table} have a {column} outside "
                                 f"{values}: correct them, then migrate again")
    for table, column, values in COLUMNS:
        for statement in (_postgres if postgres else _sqlite)(table, column, values):
            migrator.sql(statement)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    postgres = isinstance(database, pw.PostgresqlDatabase)
    for table, column, _values in COLUMNS:
        if postgres:
            migrator.sql(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS {_name(table, column)}')
        else:
            for op in ("insert", "update"):
                migrator.sql(f"DROP TRIGGER IF EXISTS {_name(table, column)}_{op}")
