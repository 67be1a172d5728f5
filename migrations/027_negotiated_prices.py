"""Peewee migrations -- 027_negotiated_prices.py.

Issue #16 item 3 (rule CHG-7): a negotiated price is a price version private to one
account (``price_version.account_id``): it takes the next number of its plan and
currency, only that account's subscriptions point at it, and no public version ever
replaces it at a renewal. Public versions have no account. Plain SQL (a nullable column
with a foreign key), like migration 024, so SQLite does not rebuild the table.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    migrator.sql('ALTER TABLE "price_version" ADD COLUMN "account_id" INTEGER NULL '
                 'REFERENCES "account" ("id") ON DELETE CASCADE')
    migrator.sql('CREATE INDEX "price_version_account_id" ON "price_version" ("account_id")')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    migrator.sql('DROP INDEX "price_version_account_id"')
    migrator.sql('ALTER TABLE "price_version" DROP COLUMN "account_id"')
