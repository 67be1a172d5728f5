"""Migration 021 (rule ACC-5): today's users move to memberships on a copy of the demo's
people as they were stored before it, on SQLite and PostgreSQL alike."""
from __future__ import annotations

import datetime as dt

import pytest
from peewee_migrate import Router

from portal.billing import pricing
from portal.db import close_all, migrations_dir, open_database
from portal.models import Account, ApiToken, AuditEvent, Membership, User
from support.database import PG_URL, pg_admin, pg_url

# The demo's people as migration 020 stored them: (email, name, account, role, active,
# add-on license, operator); and an operator who had been switched off.
PEOPLE = (
    ("operator@example.com", "Olivia Operator", None, "member", True, False, True),
    ("admin@northwind.example", "Nora Admin", "Northwind Retail", "admin", True, False, False),
    ("member@northwind.example", "Mike Member", "Northwind Retail", "member", True, False,
     False),
    ("admin@corner.example", "Claire Admin", "Corner Bakeries", "admin", True, False, False),
    ("admin@atelier.example", "Ada Admin", "Atelier Space", "admin", True, True, False),
    ("ben@atelier.example", "Ben Architect", "Atelier Space", "member", True, True, False),
    ("cleo@atelier.example", "Cleo Architect", "Atelier Space", "member", True, False, False),
    ("dev@atelier.example", "Dev Architect", "Atelier Space", "member", True, False, False),
    ("eve@atelier.example", "Eve Architect", "Atelier Space", "member", False, False, False),
    ("finn@atelier.example", "Finn Architect", "Atelier Space", "member", False, False, False),
    ("gone@example.com", "Gone Operator", None, "member", False, False, True),
)


@pytest.fixture
def old_database(tmp_path):
    """A database at migration 020 holding the demo's accounts and people."""
    if PG_URL:
        pg_admin("DROP DATABASE IF EXISTS portal_m021 WITH (FORCE)", "CREATE DATABASE portal_m021")
        url = pg_url("portal_m021")
    else:
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    database = open_database(url)
    with database.connection_context():
        Router(database, migrate_dir=str(migrations_dir()), ignore=["basemodel"]).run(
            "020_change_stamp")
        accounts = {}
        for name in ("Northwind Retail", "Corner Bakeries", "Atelier Space"):
            accounts[name] = Account.create(name=name).id
        param = database.param
        for email, name, account, role, active, addon, operator in PEOPLE:
            database.execute_sql(
                'INSERT INTO "user" (email, name, password_hash, account_id, role, active, '
                "holds_addon_license, is_operator, language, created_at, session_key) VALUES "
                f"({', '.join([param] * 11)})",
                (email, name, "x", accounts.get(account), role, active, addon, operator, None,
                 dt.datetime(2026, 1, 1), 7))
        nora = database.execute_sql('SELECT id FROM "user" WHERE email = ' + param,
                                    ("admin@northwind.example",)).fetchone()[0]
        AuditEvent.create(account=accounts["Northwind Retail"], actor=nora, action="card.add")
        ApiToken.create(account=accounts["Northwind Retail"], name="t", prefix="ptk_x",
                        token_hash="h" * 64, created_by=nora)
    yield database, url
    close_all(database)
    if PG_URL:
        pg_admin("DROP DATABASE IF EXISTS portal_m021 WITH (FORCE)")


def test_acc5_migration_021_moves_every_user_to_a_membership(old_database):
    database, _url = old_database
    with database.connection_context():
        before = {row[1]: row for row in database.execute_sql(
            'SELECT id, email, account_id, role, active, holds_addon_license FROM "user"')}
        assert Router(database, migrate_dir=str(migrations_dir()),
                      ignore=["basemodel"]).run()[0] == "021_memberships"
        columns = {c.name for c in database.get_columns("user")}
        assert not columns & {"account_id", "role", "active", "holds_addon_license"}
        moved = {m.user.email: (m.id, m.user_id, m.account_id, m.role, m.active,
                                m.holds_addon_license)
                 for m in Membership.select(Membership, User).join(User)}
        # one membership per user of an account, its id the user's (URLs keep working)
        assert moved == {email: (uid, uid, account, role, bool(active), bool(addon))
                         for email, (uid, email, account, role, active, addon) in before.items()
                         if account is not None}
        # the switched-off operator keeps no way in; the other stays an operator
        assert User.get(User.email == "operator@example.com").is_operator
        gone = User.get(User.email == "gone@example.com")
        assert not gone.is_operator and not gone.can_log_in
        # no row pointing at a user lost it (no ON DELETE action ran)
        nora = User.get(User.email == "admin@northwind.example")
        assert AuditEvent.get().actor_id == nora.id and ApiToken.get().created_by_id == nora.id
        if not PG_URL:
            assert database.execute_sql("PRAGMA foreign_key_check").fetchall() == []
        # seats are active memberships; the add-on licenses too (ACC-4)
        atelier = Account.get(Account.name == "Atelier Space")
        usage = pricing.account_usage(atelier.id)
        assert (usage.seats, usage.addon_licenses) == (4, 2)
        # the usage stamp follows memberships, not a person's own columns
        stamp = lambda: Account.get_by_id(atelier.id).usage_stamp  # noqa: E731
        first = stamp()
        User.update(session_key=8, language="fr").execute()
        assert stamp() == first
        Membership.update(active=False).where(Membership.user == User.get(
            User.email == "ben@atelier.example").id).execute()
        assert stamp() != first
        # new memberships get new ids (PostgreSQL's sequence follows the copied ids)
        extra = Membership.create(user=gone, account=atelier)
        assert extra.id > max(mid for mid, *_ in moved.values())


def test_migration_021_refuses_to_roll_back(old_database):
    database, _url = old_database
    with database.connection_context():
        router = Router(database, migrate_dir=str(migrations_dir()), ignore=["basemodel"])
        router.run()
        with pytest.raises(RuntimeError, match="restore a backup"):
            router.rollback()
        assert "021_memberships" in router.done
