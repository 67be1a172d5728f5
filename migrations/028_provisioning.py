"""Peewee migrations -- 028_provisioning.py.

Issue #16 item 4, the provisioning API: operator-level API tokens (``operator_token``,
apart from the per-account ``api_token``: no account, a set of scopes; stored hashed like
them), and the answers kept for ``Idempotency-Key`` (``idempotency_key``: per token and
key, the hash of the request and the first answer, for 24 hours).
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    @migrator.create_model
    class OperatorToken(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=100)
        prefix = pw.CharField(max_length=16)
        token_hash = pw.CharField(max_length=64, unique=True)
        scopes = pw.CharField(max_length=300, default="")
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id",
                                        model=migrator.orm["user"], null=True,
                                        on_delete="SET NULL")
        created_at = pw.DateTimeField()
        last_used_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "operator_token"

    @migrator.create_model
    class IdempotencyKey(pw.Model):
        id = pw.AutoField()
        token = pw.ForeignKeyField(column_name="token_id", field="id",
                                   model=migrator.orm["operator_token"], on_delete="CASCADE")
        key = pw.CharField(max_length=255)
        request_hash = pw.CharField(max_length=64)
        status = pw.IntegerField()
        body = pw.TextField()
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "idempotency_key"
            indexes = [(("token", "key"), True)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    migrator.remove_model("idempotency_key")
    migrator.remove_model("operator_token")
