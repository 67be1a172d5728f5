"""Peewee migrations -- 020_change_stamp.py.

A scheduled change also renews its account's usage stamp (migration 010), in the same
transaction as any insert, update or delete of a pending change. The usage tab is cached
under that stamp (portal/fragments.py) and its over-allocation sentence states what the
next payment date bills (rules USE-3, SUB-4), which a scheduled plan change, interval
switch or cancellation changes: the cached tab must not outlive one.
"""

import peewee as pw
from peewee_migrate import Migrator

SQLITE_BUMP = ("UPDATE account SET usage_stamp = random() WHERE id IN "
               "(SELECT account_id FROM subscription WHERE id IN ({subs}))")
POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION portal_change_scheduled() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_sub bigint;
  new_sub bigint;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    old_sub := OLD.subscription_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    new_sub := NEW.subscription_id;
  END IF;
  UPDATE account SET usage_stamp = (random() * 9007199254740991)::bigint
   WHERE id IN (SELECT account_id FROM subscription WHERE id IN (old_sub, new_sub));
  RETURN NULL;
END $$"""


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql(POSTGRES_FUNCTION)
        migrator.sql('CREATE TRIGGER pending_change_changed AFTER INSERT OR UPDATE OR DELETE '
                     'ON "pending_change" FOR EACH ROW EXECUTE FUNCTION portal_change_scheduled()')
        return
    for op, subs in (("insert", "NEW.subscription_id"),
                     ("update", "OLD.subscription_id, NEW.subscription_id"),
                     ("delete", "OLD.subscription_id")):
        migrator.sql(f'CREATE TRIGGER pending_change_{op} AFTER {op.upper()} ON "pending_change" '
                     f"BEGIN {SQLITE_BUMP.format(subs=subs)}; END")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql('DROP TRIGGER IF EXISTS pending_change_changed ON "pending_change"')
        migrator.sql("DROP FUNCTION IF EXISTS portal_change_scheduled()")
    else:
        for op in ("insert", "update", "delete"):
            migrator.sql(f"DROP TRIGGER IF EXISTS pending_change_{op}")
