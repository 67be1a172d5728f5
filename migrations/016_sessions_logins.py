"""Peewee migrations -- 016_sessions_logins.py.

Issue 13, items 10 and 12. ``user.session_key``: a random number stored in every session
of the user and compared when the session is loaded; logout, a new password and
deactivation renew it, which ends every copy of the user's sessions (rule ACC-8). Each
existing user gets a key of its own. ``login_failure``: failed logins per client address
and per login (hashed keys), counted in the database every worker shares.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

SQLITE_RANDOM = "(random() & 4611686018427387903)"  # 62 bits, like new_session_key()
POSTGRES_RANDOM = "(random() * 4611686018427387903)::bigint"


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    # Plain ALTER TABLE on both databases: peewee's SQLite migrator would rebuild the
    # table for a NOT NULL column, which drops its usage-stamp triggers (migration 010).
    postgres = isinstance(database, pw.PostgresqlDatabase)
    migrator.sql(f'ALTER TABLE "user" ADD COLUMN session_key {"BIGINT" if postgres else "INTEGER"} '
                 "NOT NULL DEFAULT 0")
    random = POSTGRES_RANDOM if postgres else SQLITE_RANDOM
    migrator.sql(f'UPDATE "user" SET session_key = {random}')

    @migrator.create_model
    class LoginFailure(pw.Model):
        key = pw.CharField(max_length=64, primary_key=True)
        window_start = pw.BigIntegerField(index=True)
        count = pw.IntegerField(default=0)

        class Meta:
            table_name = "login_failure"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model('login_failure')
    migrator.sql('ALTER TABLE "user" DROP COLUMN session_key')
