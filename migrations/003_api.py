"""Peewee migrations -- 003_api.py.

The devices API and notification deliveries (issue 7): per-account API tokens, stored
hashed, and one delivery row per notification and channel (status, attempts, last error).
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    @migrator.create_model
    class ApiToken(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        name = pw.CharField(max_length=100)
        prefix = pw.CharField(max_length=16)
        token_hash = pw.CharField(max_length=64, unique=True)
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()
        last_used_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "api_token"

    @migrator.create_model
    class Delivery(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], null=True, on_delete='CASCADE')
        kind = pw.CharField(max_length=64)
        channel = pw.CharField(max_length=64)
        key = pw.CharField(max_length=200, null=True)
        payload = pw.TextField()
        status = pw.CharField(default='pending', index=True, max_length=16)
        attempts = pw.IntegerField(default=0)
        last_error = pw.TextField(default='')
        next_attempt_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        sent_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "delivery"
            indexes = [(('channel', 'key'), True)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model('delivery')

    migrator.remove_model('api_token')
