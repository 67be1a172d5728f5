"""Peewee migrations -- 033_pending_signups.py.

Issue #16 item 6: ``pending_signup``, a self-serve sign-up waiting for its e-mail address
to be verified (portal/accounts/signup.py). Nothing else is created until the mailed link
is followed; ``used_at`` makes the link single-use, and the password is kept as its hash.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    @migrator.create_model
    class PendingSignup(pw.Model):
        email = pw.CharField(max_length=254, index=True)
        person_name = pw.CharField(max_length=200)
        company = pw.CharField(max_length=200)
        password_hash = pw.CharField(max_length=255)
        country = pw.CharField(max_length=2, default="")
        currency = pw.CharField(max_length=3)
        language = pw.CharField(max_length=8, default="en")
        plan_code = pw.CharField(max_length=64)
        interval = pw.CharField(max_length=16)
        quantity = pw.IntegerField(default=1)
        nonce = pw.CharField(max_length=64)
        created_at = pw.DateTimeField(index=True)
        used_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "pending_signup"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model("pending_signup")
