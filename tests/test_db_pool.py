"""Each worker thread keeps its database connection across requests (peewee's pool,
portal/db.py), and a request never hands the next one a transaction it left open."""
from __future__ import annotations

from portal.db import db, pooled_url
from portal.models import Account


def test_a_request_reuses_the_connection_of_the_one_before(app, client):
    # A temporary table lives as long as its connection, on SQLite as on PostgreSQL.
    @app.route("/test-temp/<action>")
    def temp(action):
        if action == "create":
            db.execute_sql("CREATE TEMPORARY TABLE kept_here (n INTEGER)")
            db.execute_sql("INSERT INTO kept_here (n) VALUES (7)")
        return str(db.execute_sql("SELECT n FROM kept_here").fetchone()[0])

    assert client.get("/test-temp/create").get_data(as_text=True) == "7"
    assert client.get("/test-temp/read").get_data(as_text=True) == "7"


def test_a_transaction_left_open_by_a_request_is_rolled_back(app, client):
    @app.route("/test-open-transaction")
    def left_open():
        db.begin()
        Account.update(name="Not committed").where(Account.id == 1).execute()
        return "left open"

    @app.route("/test-name")
    def name():
        return Account.get_by_id(1).name + (" (in a transaction)" if db.in_transaction() else "")

    with app.app_context():
        before = Account.get_by_id(1).name
    assert client.get("/test-open-transaction").status_code == 200
    assert client.get("/test-name").get_data(as_text=True) == before


def test_urls_get_the_pool_unless_they_name_it_or_are_in_memory():
    assert pooled_url("sqlite:////srv/portal.sqlite3") == "sqlite+pool:////srv/portal.sqlite3"
    assert pooled_url("postgresql://portal@db/portal") == "postgresql+pool://portal@db/portal"
    given = "postgresql+pool://portal@db/portal?max_connections=6"
    assert pooled_url(given) == given
    assert pooled_url("sqlite:///:memory:") == "sqlite:///:memory:"
