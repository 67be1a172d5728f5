"""Peewee migrations -- 031_account_external_ref.py.

Issue #16 item 5: ``portal import customers.csv`` is idempotent on re-run. An account may
carry the reference another system knows it by (``account.external_ref``, e.g. the id in
the reseller's old billing tool); a row naming a reference that an account already has is
"already imported". Unique where set (NULLs do not collide, on SQLite and PostgreSQL).
Plain SQL (a nullable column), like migration 027, so SQLite does not rebuild the table.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    migrator.sql('ALTER TABLE "account" ADD COLUMN "external_ref" VARCHAR(100) NULL')
    migrator.sql('CREATE UNIQUE INDEX "account_external_ref" ON "account" ("external_ref")')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    migrator.sql('DROP INDEX "account_external_ref"')
    migrator.sql('ALTER TABLE "account" DROP COLUMN "external_ref"')
