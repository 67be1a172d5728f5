"""Peewee migrations -- 034_account_list_indexes.py.

Issue #20: the operators' accounts list (portal/accounts/directory.py) pages accounts by
name (the default) or by creation, newest first. With these indexes a page walks the index
and stops after its rows, whatever the number of accounts, instead of sorting them all.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    migrator.sql('CREATE INDEX "account_name_id" ON "account" ("name", "id")')
    migrator.sql('CREATE INDEX "account_created_at_id" ON "account" ("created_at", "id")')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    migrator.sql('DROP INDEX "account_created_at_id"')
    migrator.sql('DROP INDEX "account_name_id"')
