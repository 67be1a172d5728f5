"""Peewee migrations -- 010_usage_stamp.py.

The usage stamp (issue 3, benchmark): ``account.usage_stamp`` is a random number that
triggers renew in the same transaction as any insert, update or delete of the account's
devices, locations or users (and of the devices that are RMA replacements of a changed
device). portal.billing.pricing caches an account's usage under (account, stamp), so the
subscription page does not recount 10,000 devices on every request, and a cached figure
can never outlive the data it was counted from, whatever code (or SQL) changed the data.
Random rather than a counter, so two databases (a restored backup, a fresh test copy) never
share a stamp for different data.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

TABLES = ("device", "location", "user")
SQLITE_RANDOM = "random()"
POSTGRES_RANDOM = "(random() * 9007199254740991)::bigint"  # 53 random bits


def _sqlite_triggers():
    statements = []
    for table in TABLES:
        replacements = ("" if table != "device" else
                        " OR id IN (SELECT account_id FROM device "
                        "WHERE rma_replacement_of_id = {row}.id)")
        bump = ("UPDATE account SET usage_stamp = random() WHERE id IN ({accounts})"
                + replacements)
        statements += [
            f'CREATE TRIGGER {table}_usage_insert AFTER INSERT ON "{table}" BEGIN '
            f"{bump.format(accounts='NEW.account_id', row='NEW')}; END",
            f'CREATE TRIGGER {table}_usage_update AFTER UPDATE ON "{table}" BEGIN '
            f"{bump.format(accounts='OLD.account_id, NEW.account_id', row='OLD')}; END",
            f'CREATE TRIGGER {table}_usage_delete AFTER DELETE ON "{table}" BEGIN '
            f"{bump.format(accounts='OLD.account_id', row='OLD')}; END",
        ]
    return statements


def _postgres_triggers():
    function = f"""
CREATE OR REPLACE FUNCTION portal_usage_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_account bigint;
  new_account bigint;
  row_id bigint;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    old_account := OLD.account_id;
    row_id := OLD.id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    new_account := NEW.account_id;
  END IF;
  UPDATE account SET usage_stamp = {POSTGRES_RANDOM}
   WHERE id IN (old_account, new_account)
      OR (TG_TABLE_NAME = 'device' AND row_id IS NOT NULL AND id IN (
          SELECT d.account_id FROM device d WHERE d.rma_replacement_of_id = row_id));
  RETURN NULL;
END $$"""
    return [function] + [
        f'CREATE TRIGGER {table}_usage_changed AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
        "FOR EACH ROW EXECUTE FUNCTION portal_usage_changed()"
        for table in TABLES
    ]


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    migrator.add_fields('account', usage_stamp=pw.BigIntegerField(default=0))
    postgres = isinstance(database, pw.PostgresqlDatabase)
    # Existing accounts get a stamp of their own: 0 means "never had a device, location
    # or user since the triggers exist", which the cache may trust.
    migrator.sql(f"UPDATE account SET usage_stamp = "
                 f"{POSTGRES_RANDOM if postgres else SQLITE_RANDOM}")
    for statement in (_postgres_triggers() if postgres else _sqlite_triggers()):
        migrator.sql(statement)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    if isinstance(database, pw.PostgresqlDatabase):
        for table in TABLES:
            migrator.sql(f'DROP TRIGGER IF EXISTS {table}_usage_changed ON "{table}"')
        migrator.sql("DROP FUNCTION IF EXISTS portal_usage_changed()")
    else:
        for table in TABLES:
            for op in ("insert", "update", "delete"):
                migrator.sql(f"DROP TRIGGER IF EXISTS {table}_usage_{op}")
    migrator.remove_fields('account', 'usage_stamp')
