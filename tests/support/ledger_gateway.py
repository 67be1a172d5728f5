"""A gateway double for billing tests: charges go into a ledger *outside* the process.

It stands for a card gateway (something outside this machine) the way Braintree
behaves: a charge is recorded under the caller's key (Braintree's ``order_id``), the
key is NOT deduplicated (sending a key twice charges twice, so a blind retry shows up
as a double charge), and ``find_by_idempotency_key`` searches the ledger by key. The
ledger is a SQLite file, so it survives a ``kill -9`` of the billing process and is
shared by several worker processes.

Faults, at a seeded rate: ``before`` (the call times out and nothing is charged),
``after`` (the charge is made, then the connection resets: the caller cannot know),
``unknown`` (the charge is made and the gateway answers UNKNOWN), and failing lookups.
Amounts from 2000.00 to 2999.99 are declined, as in Braintree's sandbox.

In-process: ``LedgerGateway(path, ...)`` registered through a plugin object for one
test. In a subprocess: ``tests/billing_cli.py`` loads this module as a plugin, which
registers a gateway configured from the LEDGER_* environment variables.
"""
from __future__ import annotations

import os
import random
import secrets
import sqlite3
import threading
import time
from decimal import Decimal

from portal.gateways import Gateway, Result, Status
from portal.hookspecs import hookimpl

SCHEMA = """CREATE TABLE IF NOT EXISTS charge (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL, cents INTEGER NOT NULL, token TEXT NOT NULL,
    txn TEXT NOT NULL, status TEXT NOT NULL, pid INTEGER NOT NULL, at REAL NOT NULL)"""


class LedgerGateway(Gateway):
    name = "ledger"
    label = "Ledger (test double)"

    def __init__(self, path, *, fault_rate=0.0, faults=("before", "after", "unknown"),
                 lookup_fault_rate=0.0, delay=0.0, delay_after=0.0, seed=0):
        self.path = str(path)
        self.fault_rate, self.faults = fault_rate, tuple(faults)
        self.lookup_fault_rate, self.delay, self.delay_after = lookup_fault_rate, delay, delay_after
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        with self._db() as con:
            con.execute("PRAGMA journal_mode=wal")
            con.execute(SCHEMA)

    def _db(self):
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def _roll(self, rate):
        with self._lock:
            return self._random.random() < rate, self._random.choice(self.faults)

    def charge(self, token, amount: Decimal, idempotency_key: str):
        if self.delay:
            time.sleep(self.delay)
        faulty, kind = self._roll(self.fault_rate)
        if faulty and kind == "before":
            raise TimeoutError("read timed out (the request never reached the gateway)")
        declined = Decimal("2000") <= amount < Decimal("3000")
        txn = f"lg_{secrets.token_hex(5)}"
        status = "declined" if declined else "approved"
        with self._db() as con:
            con.execute("INSERT INTO charge (key, cents, token, txn, status, pid, at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (idempotency_key, int(amount * 100), token, txn, status, os.getpid(),
                         time.time()))
        if self.delay_after:
            time.sleep(self.delay_after)
        if faulty and kind == "after":
            raise ConnectionResetError("connection reset by peer (after the charge was made)")
        if faulty and kind == "unknown":
            return Result(Status.UNKNOWN, "gateway timeout (504)")
        if declined:
            return Result(Status.DECLINED, "Do Not Honor", transaction_id=txn, amount=amount)
        return Result(Status.APPROVED, "Approved", transaction_id=txn, amount=amount)

    def find_by_idempotency_key(self, idempotency_key):
        faulty, _ = self._roll(self.lookup_fault_rate)
        if faulty:
            raise ConnectionError("search failed: connection refused")
        with self._db() as con:
            rows = con.execute("SELECT txn, status, cents FROM charge WHERE key = ? ORDER BY id",
                               (idempotency_key,)).fetchall()
        if not rows:
            return Result(Status.UNKNOWN, "no charge with this key", extra={"found": False})
        txn, status, cents = rows[0]
        return Result(Status.APPROVED if status == "approved" else Status.DECLINED, status,
                      transaction_id=txn, amount=Decimal(cents) / 100,
                      extra={"found": True, "count": len(rows)})

    # --- for assertions ---
    def rows(self):
        with self._db() as con:
            return con.execute("SELECT key, cents, status, pid FROM charge ORDER BY id").fetchall()


class GatewayPlugin:
    """Registers one gateway, a LedgerGateway or any other (for a test, through
    ``billing_support.registered``)."""

    def __init__(self, gateway):
        self.gateway = gateway

    @hookimpl
    def portal_register_gateways(self, register, config):
        register(self.gateway)


LedgerPlugin = GatewayPlugin


_from_env = []


@hookimpl
def portal_register_gateways(register, config):
    """As a module plugin (subprocesses): configured from LEDGER_* variables."""
    if not os.environ.get("LEDGER_PATH"):
        return
    if not _from_env:
        _from_env.append(LedgerGateway(
            os.environ["LEDGER_PATH"], delay=float(os.environ.get("LEDGER_DELAY", "0")),
            delay_after=float(os.environ.get("LEDGER_DELAY_AFTER", "0")),
            fault_rate=float(os.environ.get("LEDGER_FAULT_RATE", "0")),
            seed=int(os.environ.get("LEDGER_SEED", "0"))))
    register(_from_env[0])
