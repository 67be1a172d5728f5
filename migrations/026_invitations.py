"""Peewee migrations -- 026_invitations.py.

Issue #15 item 2 (rule ACC-6): ``invitation``, a person invited by email into an account
with a role and an add-on license. The mailed link is signed and bound to the row's
state (``sent_count``, ``accepted_at``, ``revoked_at``): a resend, an acceptance or a
revocation ends every link sent before (portal/accounts/invitations.py).
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    @migrator.create_model
    class Invitation(pw.Model):
        account = pw.ForeignKeyField(migrator.orm["account"], on_delete="CASCADE")
        email = pw.CharField(max_length=254)
        name = pw.CharField(max_length=200, default="")
        role = pw.CharField(max_length=16, default="member")
        holds_addon_license = pw.BooleanField(default=False)
        invited_by = pw.ForeignKeyField(migrator.orm["user"], null=True, on_delete="SET NULL")
        via = pw.CharField(max_length=200, default="")
        created_at = pw.DateTimeField()
        sent_count = pw.IntegerField(default=1)
        last_sent_at = pw.DateTimeField()
        accepted_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "invitation"
            indexes = ((("account", "email"), False),)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model("invitation")
