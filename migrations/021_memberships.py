"""Peewee migrations -- 021_memberships.py.

Issue 15, item 1 (rule ACC-5): a person (``user``: one login, one email) belongs to any
number of accounts through a ``membership`` (role, active flag, add-on license per
account; one per person and account). Today's users move over:

- every user with an account gets one membership, **with the user's id as its id**, so
  user ids (and the admin URLs that carry them) stay the same;
- a deactivated user without an account (an operator switched off) keeps no way in: the
  operator flag is cleared, as nothing else says "deactivated" on a person any more;
- ``user.account_id``, ``role``, ``active`` and ``holds_addon_license`` are dropped, with
  the user's usage-stamp triggers (migration 010: they renewed the stamp on *every*
  update of a user, a logout's new session key included) and its role check (017);
- the membership gets the usage-stamp triggers instead, on insert, delete and an update
  of the columns the usage counts (account, active, role, add-on license), and the same
  role check as the user had.

SQLite cannot drop a column named in a table's FOREIGN KEY clause, and rebuilding
``user`` inside the migration's transaction (foreign keys on) would run the ON DELETE
actions of every table that points at it. So the FOREIGN KEY clause of ``account_id``
is removed first with SQLite's documented procedure for removing a constraint
(https://sqlite.org/lang_altertable.html, "making other kinds of table schema
changes": writable_schema, bump schema_version, integrity check), then the columns are
dropped with ALTER TABLE DROP COLUMN.
"""

import re

import peewee as pw
from peewee_migrate import Migrator

ROLES = "'admin', 'member'"
USAGE_COLUMNS = "account_id, active, role, holds_addon_license"
SQLITE_BUMP = "UPDATE account SET usage_stamp = random() WHERE id IN ({accounts})"
USER_FK = re.compile(r',\s*FOREIGN KEY \("account_id"\) REFERENCES "account" \("id"\)'
                     r"(\s+ON DELETE CASCADE)?", re.IGNORECASE)


def _strip_user_account_fk(database):
    """SQLite: remove the FOREIGN KEY clause of user.account_id (see the docstring)."""
    (sql,) = database.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'user'").fetchone()
    new_sql, found = USER_FK.subn("", sql)
    if not found:
        raise RuntimeError(f"user.account_id has no FOREIGN KEY clause this migration "
                           f"recognises: {sql}")
    (version,) = database.execute_sql("PRAGMA schema_version").fetchone()
    database.execute_sql("PRAGMA writable_schema = ON")
    database.execute_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'user'",
                         (new_sql,))
    database.execute_sql(f"PRAGMA schema_version = {version + 1}")
    database.execute_sql("PRAGMA writable_schema = OFF")
    (check,) = database.execute_sql("PRAGMA integrity_check").fetchone()
    if check != "ok":
        raise RuntimeError(f"integrity check after removing user.account_id's key: {check}")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    postgres = isinstance(database, pw.PostgresqlDatabase)

    @migrator.create_model
    class Membership(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(migrator.orm['user'], backref='memberships', column_name='user_id',
                                  field='id', on_delete='CASCADE')
        account = pw.ForeignKeyField(migrator.orm['account'], backref='memberships',
                                     column_name='account_id', field='id', on_delete='CASCADE')
        role = pw.CharField(max_length=16)
        active = pw.BooleanField()
        holds_addon_license = pw.BooleanField()
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "membership"
            indexes = [(('user', 'account'), True)]

    # Today's users move over, the membership's id being the user's.
    migrator.sql('INSERT INTO membership (id, user_id, account_id, role, active, '
                 'holds_addon_license, created_at) SELECT id, id, account_id, role, active, '
                 'holds_addon_license, created_at FROM "user" WHERE account_id IS NOT NULL')
    if postgres:
        migrator.sql("SELECT setval(pg_get_serial_sequence('membership', 'id'), "
                     "COALESCE((SELECT MAX(id) FROM membership), 0) + 1, false)")
    migrator.sql('UPDATE "user" SET is_operator = FALSE WHERE account_id IS NULL AND NOT active')

    # The user's triggers and check go; then its per-account columns.
    if postgres:
        migrator.sql('DROP TRIGGER IF EXISTS user_usage_changed ON "user"')
        migrator.sql('ALTER TABLE "user" DROP CONSTRAINT IF EXISTS user_role_check')
        migrator.sql('ALTER TABLE "user" DROP COLUMN account_id, DROP COLUMN role, '
                     'DROP COLUMN active, DROP COLUMN holds_addon_license')
    else:
        for op in ("insert", "update", "delete"):
            migrator.sql(f"DROP TRIGGER IF EXISTS user_usage_{op}")
        for op in ("insert", "update"):
            migrator.sql(f"DROP TRIGGER IF EXISTS user_role_check_{op}")
        migrator.sql('DROP INDEX IF EXISTS "user_account_id"')
        if not fake:
            migrator.run(_strip_user_account_fk, database)
        for column in ("account_id", "role", "active", "holds_addon_license"):
            migrator.sql(f'ALTER TABLE "user" DROP COLUMN "{column}"')

    # The membership's role check and usage-stamp triggers.
    if postgres:
        migrator.sql(f"ALTER TABLE membership ADD CONSTRAINT membership_role_check "
                     f"CHECK (role IN ({ROLES}))")
        migrator.sql(f"CREATE TRIGGER membership_usage_changed AFTER INSERT OR DELETE OR UPDATE "
                     f"OF {USAGE_COLUMNS} ON membership FOR EACH ROW "
                     f"EXECUTE FUNCTION portal_usage_changed()")
    else:
        refuse = (f"WHEN NEW.role NOT IN ({ROLES}) BEGIN "
                  f"SELECT RAISE(ABORT, 'CHECK constraint failed: membership.role'); END")
        migrator.sql(f"CREATE TRIGGER membership_role_check_insert BEFORE INSERT ON membership "
                     f"{refuse}")
        migrator.sql(f"CREATE TRIGGER membership_role_check_update BEFORE UPDATE OF role "
                     f"ON membership {refuse}")
        for op, when, accounts in (
                ("insert", "INSERT", "NEW.account_id"),
                ("update", f"UPDATE OF {USAGE_COLUMNS}", "OLD.account_id, NEW.account_id"),
                ("delete", "DELETE", "OLD.account_id")):
            migrator.sql(f"CREATE TRIGGER membership_usage_{op} AFTER {when} ON membership "
                         f"BEGIN {SQLITE_BUMP.format(accounts=accounts)}; END")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Not reversible: a person in several accounts has no single account to go back to."""

    raise RuntimeError("021_memberships cannot be rolled back; restore a backup instead")
