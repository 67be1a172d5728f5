"""Peewee migrations -- 032_trials.py.

Issue #16 item 6 (rule TRI-1): a subscription may start in a trial. Its status is then
``trialing`` (a word the checks of migration 017 did not know: they are replaced), its
``trial_ends_on`` the last day of the trial (kept afterwards, as history) and its
``trial_outcome`` how the trial finished on that day: ``converted`` or ``ended``.

Plain SQL (nullable columns), like migrations 024 and 027, so SQLite does not rebuild
the table. The words are written out here, as in 017, so this migration means the same
thing whatever the enums become later.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

SUBSCRIPTION = ("active", "cancelled", "trialing")
SUBSCRIPTION_BEFORE = ("active", "cancelled")
TRIAL_OUTCOME = ("converted", "ended")

COLUMNS = (  # what this migration changes in 017's list, and what it adds to it
    ("subscription", "status", SUBSCRIPTION),
    ("subscription", "trial_outcome", TRIAL_OUTCOME),
)


def _words(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _name(table, column) -> str:
    return f"{table}_{column}_check"


def _check(postgres, table, column, values) -> list[str]:
    if postgres:
        return [f'ALTER TABLE "{table}" ADD CONSTRAINT {_name(table, column)} '
                f'CHECK ("{column}" IN ({_words(values)}))']
    refuse = (f'WHEN NEW."{column}" NOT IN ({_words(values)}) BEGIN '
              f"SELECT RAISE(ABORT, 'CHECK constraint failed: {table}.{column}'); END")
    return [f'CREATE TRIGGER {_name(table, column)}_insert BEFORE INSERT ON "{table}" {refuse}',
            f'CREATE TRIGGER {_name(table, column)}_update BEFORE UPDATE OF "{column}" '
            f'ON "{table}" {refuse}']


def _drop_check(postgres, table, column) -> list[str]:
    if postgres:
        return [f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS {_name(table, column)}']
    return [f"DROP TRIGGER IF EXISTS {_name(table, column)}_{op}" for op in ("insert", "update")]


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    postgres = isinstance(database, pw.PostgresqlDatabase)
    migrator.sql('ALTER TABLE "subscription" ADD COLUMN "trial_ends_on" DATE NULL')
    migrator.sql('ALTER TABLE "subscription" ADD COLUMN "trial_outcome" VARCHAR(16) NULL')
    migrator.sql('CREATE INDEX "subscription_trial_ends_on" ON "subscription" ("trial_ends_on")')
    for statement in (_drop_check(postgres, "subscription", "status")
                      + _check(postgres, "subscription", "status", SUBSCRIPTION)
                      + _check(postgres, "subscription", "trial_outcome", TRIAL_OUTCOME)):
        migrator.sql(statement)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    postgres = isinstance(database, pw.PostgresqlDatabase)
    migrator.sql("UPDATE subscription SET status = 'cancelled' WHERE status = 'trialing'")
    for statement in (_drop_check(postgres, "subscription", "trial_outcome")
                      + _drop_check(postgres, "subscription", "status")
                      + _check(postgres, "subscription", "status", SUBSCRIPTION_BEFORE)):
        migrator.sql(statement)
    migrator.sql('DROP INDEX "subscription_trial_ends_on"')
    migrator.sql('ALTER TABLE "subscription" DROP COLUMN "trial_outcome"')
    migrator.sql('ALTER TABLE "subscription" DROP COLUMN "trial_ends_on"')
