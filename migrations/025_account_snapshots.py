"""Peewee migrations -- 025_account_snapshots.py.

Issue #18.5: ``account_snapshot``, each account's usage and subscription state once a
day (portal/metrics/snapshots.py), the history the usage charts stand on. One row per
(day, account): the unique index is what makes taking a day's snapshots idempotent.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    @migrator.create_model
    class AccountSnapshot(pw.Model):
        account = pw.ForeignKeyField(migrator.orm["account"], on_delete="CASCADE")
        day = pw.DateField()
        devices = pw.IntegerField(default=0)
        locations = pw.IntegerField(default=0)
        location_subscriptions = pw.IntegerField(default=0)
        seats = pw.IntegerField(default=0)
        addon_licenses = pw.IntegerField(default=0)
        active_subscriptions = pw.IntegerField(default=0)
        past_due = pw.BooleanField(default=False)
        plans = pw.TextField(default="")
        taken_at = pw.DateTimeField()

        class Meta:
            table_name = "account_snapshot"
            indexes = ((("day", "account"), True),)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model("account_snapshot")
