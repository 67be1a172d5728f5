"""The billing run as separate ``portal billing run`` processes: two workers on one due set
(a real PostgreSQL server, and SQLite), and a run killed with SIGKILL half-way and
started again. The gateway is the ledger double (a file outside the processes, no
deduplication by key, like Braintree), so a double charge would show."""
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import time

import psycopg
import pytest
from playhouse.db_url import connect

from portal import create_app, demo
from portal.db import db, migrate
from portal.models import Charge, Invoice, Receipt, Subscription
from support.billing import DEC1, make_due

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "tests", "billing_cli.py")
PG_SERVER = os.environ.get("PORTAL_TEST_POSTGRES_URL", "")
SUMMARY = re.compile(r"Billing run for (\S+): (\d+) invoice\(s\) issued; (\d+) paid")


def portal_env(database_url, tmp_path, **extra):
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url,
           "PORTAL_SECRET_KEY": secrets.token_hex(32),
           "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"), "PORTAL_JOBS": "immediate",
           "LEDGER_PATH": str(tmp_path / "ledger.sqlite3")}
    env.pop("PORTAL_TEST_DATABASE_URL", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def billing_run(env, day=DEC1):
    return subprocess.Popen([sys.executable, CLI, "billing", "run", "--date", day.isoformat()],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def ledger_rows(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=30) as con:
        try:
            return con.execute("SELECT key, cents, status FROM charge ORDER BY id").fetchall()
        except sqlite3.OperationalError:  # the table is not there yet
            return []


def prepare(url, n):
    """A migrated database with the demo plans and ``n`` subscriptions due on DEC1."""
    app = create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": url})
    with app.app_context():
        migrate()
        demo.load(today=DEC1.replace(day=1, month=11))
        ids = make_due(n, DEC1, gateway="ledger")
        due = Subscription.select().where(Subscription.next_payment_date <= DEC1).count()
    db.close()
    return app, ids, due


def check_billed_once(app, ids, tmp_path):
    """Every subscription billed once for the period, paid, with one charge at the gateway."""
    with app.app_context():
        invoices = list(Invoice.select().where(Invoice.subscription.in_(ids)))
        assert sorted(i.subscription_id for i in invoices) == sorted(ids)  # none missed or twice
        assert all(i.status == "paid" for i in invoices)
        assert all(s.next_payment_date == DEC1.replace(year=2027, month=1)
                   for s in Subscription.select().where(Subscription.id.in_(ids)))
        numbers = sorted(int(n.split("-")[1]) for (n,) in
                         Invoice.select(Invoice.number).tuples())
        assert numbers == list(range(1, len(numbers) + 1))  # no gap, no duplicate
        by_number = {i.number: i for i in invoices}
        keys = {c.idempotency_key: c for c in Charge.select()}
        receipts = Receipt.select().where(Receipt.invoice.in_([i.id for i in invoices])).count()
    db.close()
    assert receipts == len(ids)
    approved = [row for row in ledger_rows(tmp_path) if row[2] == "approved"]
    charged = [key.rsplit("-", 2)[0] for key, _, _ in approved]
    assert sorted(charged) == sorted(by_number)  # exactly one gateway charge per invoice
    for key, cents, _ in approved:
        assert keys[key].status == "approved"
        assert cents == int(by_number[key.rsplit("-", 2)[0]].total * 100)


@pytest.fixture
def pg_database():
    """Our own database on the test server (scripts/test exports its URL), dropped after."""
    if not PG_SERVER:
        pytest.skip("PORTAL_TEST_POSTGRES_URL is not set (scripts/test starts a server)")
    base, _, _ = PG_SERVER.rpartition("/")
    name = f"billing_conc_{os.getpid()}"
    with psycopg.connect(PG_SERVER, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        con.execute(f"CREATE DATABASE {name}")
    yield f"{base}/{name}"
    db.close()
    with psycopg.connect(PG_SERVER, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["postgresql", "sqlite"])
def worker_database(request, tmp_path):
    """The database two workers share: a real PostgreSQL server, and a SQLite file."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'workers.sqlite3'}"
    return request.getfixturevalue("pg_database")


def test_two_workers_on_one_due_set_bill_each_subscription_once(worker_database, tmp_path):
    app, ids, due = prepare(worker_database, 150)
    env = portal_env(worker_database, tmp_path, LEDGER_DELAY=0.01,
                     BILLING_START_AT=time.time() + 2.5)
    workers = [billing_run(env), billing_run(env)]
    outputs = [w.communicate(timeout=240) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err[-3000:]
        assert "unique index refused" not in err  # the claims never overlapped
    issued = [int(SUMMARY.search(out).group(2)) for out, _ in outputs]
    assert sum(issued) == due  # together: everything due, once
    assert all(n > 0 for n in issued), issued  # and both did part of the work
    check_billed_once(app, ids, tmp_path)


def test_a_run_killed_half_way_and_started_again_charges_once_and_loses_nothing(
        database_url, tmp_path):
    app, ids, due = prepare(database_url, 40)
    env = portal_env(database_url, tmp_path, LEDGER_DELAY=0.02, LEDGER_DELAY_AFTER=0.05,
                     PORTAL_BILLING_BATCH=20)  # killed between two batches' charges
    worker = billing_run(env)
    watcher = connect(database_url)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # until a charge is made but not yet recorded
            rows = ledger_rows(tmp_path)
            if len(rows) >= 10:
                status = watcher.execute_sql(
                    f"SELECT status FROM charge WHERE idempotency_key = {watcher.param}",
                    (rows[-1][0],)).fetchone()
                if status and status[0] == "pending":
                    break
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        assert worker.returncode == -signal.SIGKILL
        pending = watcher.execute_sql(
            "SELECT COUNT(*) FROM charge WHERE status = 'pending'").fetchone()[0]
        invoiced = watcher.execute_sql("SELECT COUNT(*) FROM invoice").fetchone()[0]
    finally:
        watcher.close()
    assert pending >= 1 and 10 <= invoiced < due  # killed half-way, one charge in the air
    time.sleep(1.2)  # the charge left pending is older than the reconcile delay below
    again = billing_run(portal_env(database_url, tmp_path, PORTAL_BILLING_RECONCILE_AFTER=1))
    out, err = again.communicate(timeout=240)
    assert again.returncode == 0, err[-3000:]
    assert re.search(r"[1-9]\d* reconciled", out), out
    check_billed_once(app, ids, tmp_path)
