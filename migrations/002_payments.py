"""Peewee migrations -- 002_payments.py.

Payment methods (issue 4): manual-method requests and their decisions (rules PAY-3,
PAY-4), and the received gateway webhooks whose unique key refuses a replay.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    @migrator.create_model
    class ManualMethodRequest(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        requested_by = pw.ForeignKeyField(column_name='requested_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        note = pw.TextField(default='')
        period_amount = pw.BigIntegerField()
        status = pw.CharField(default='pending', index=True, max_length=16)
        pending_for = pw.IntegerField(null=True, unique=True)
        decided_by = pw.ForeignKeyField(column_name='decided_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        decided_at = pw.DateTimeField(null=True)
        decision_note = pw.TextField(default='')
        created_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "manual_method_request"

    @migrator.create_model
    class WebhookReceipt(pw.Model):
        id = pw.AutoField()
        gateway = pw.CharField(max_length=32)
        key = pw.CharField(max_length=128)
        kind = pw.CharField(max_length=64)
        subject_id = pw.CharField(default='', max_length=128)
        outcome = pw.CharField(default='', max_length=200)
        received_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "webhook_receipt"
            indexes = [(('gateway', 'key'), True)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model('webhook_receipt')

    migrator.remove_model('manual_method_request')
