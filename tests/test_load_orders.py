"""Fifty concurrent Place order requests of one review against a real gunicorn server
(issue 9, item 6; rules CHG-2, CHG-8): one order, one charge.

The twenty-thread test in test_changes_orders.py runs inside one process; here the POSTs go
over HTTP to gunicorn with four worker processes of four threads each, so they really run
at the same time in separate processes, each with its own database connection and its own
Braintree SDK client. The gateway is the real SDK against the fake Braintree server
(one HTTP server in this process, so every worker sees the same gateway state), and the
charges are counted there by our idempotency key (Braintree's ``order_id``).

Runs on a SQLite file, and on PostgreSQL when PORTAL_TEST_POSTGRES_URL (or
PORTAL_TEST_DATABASE_URL) points to a server: in a database of its own, made and dropped
here. Not timed: it checks outcomes only.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
from pathlib import Path

import pytest
import requests

from portal import demo
from portal.db import db, migrate, open_database
from portal.models import Account, ChangeOrder, Invoice, PaymentMethod, Plan, Subscription
from portal.plugins.gateway_braintree import COLLECTED, BraintreeGateway
from portal.testing.served import Gunicorn
from support.changes import ATELIER, DEMO_TODAY, Wizard
from support.fake_braintree import FakeBraintree

ROOT = Path(__file__).resolve().parent.parent
CONCURRENT = 50
SQLITE_PASS = not os.environ.get("PORTAL_TEST_DATABASE_URL")
PG_SERVER = (os.environ.get("PORTAL_TEST_POSTGRES_URL")
             or os.environ.get("PORTAL_TEST_DATABASE_URL", ""))


# --- the database: a SQLite copy of the demo, or a PostgreSQL database of our own ------------

@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """URL of a database holding the demo data, for this test alone."""
    if request.param == "sqlite":
        if not SQLITE_PASS:
            pytest.skip("runs in the SQLite pass")
        path = tmp_path / "portal.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    if not PG_SERVER.startswith("postgres"):
        pytest.skip("needs PORTAL_TEST_POSTGRES_URL (make test starts a PostgreSQL server)")
    if SQLITE_PASS is False and os.environ.get("PORTAL_TEST_POSTGRES_URL"):
        pytest.skip("ran on PostgreSQL in the SQLite pass already")
    import psycopg

    name = f"load_orders_{secrets.token_hex(4)}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
    database = open_database(url)
    with database.connection_context():
        migrate(database)
        demo.load(today=DEMO_TODAY)
    database.close()
    try:
        yield url
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def in_database(url: str, work):
    """Run ``work()`` with the portal's models bound to ``url``; return what it returns."""
    database = open_database(url)
    try:
        with database.connection_context():
            return work()
    finally:
        if not db.is_closed():
            db.close()


# --- gunicorn ---------------------------------------------------------------------------------

class Served(Gunicorn):
    """gunicorn serving the portal on ``url`` (4 workers x 4 threads, 127.0.0.1)."""

    def __init__(self, database_url: str, fake: FakeBraintree, folder: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env.update({f"PORTAL_{k}": v for k, v in fake.portal_config(timeout="5").items()})
        env.update(PORTAL_DATABASE_URL=database_url, PORTAL_SECRET_KEY=secrets.token_hex(32),
                   PORTAL_TEST_TODAY=DEMO_TODAY.isoformat(),
                   PORTAL_INSTANCE_PATH=str(folder / "instance"),
                   PORTAL_SUPPORT_EMAIL="success@portal.test", NO_PROXY="127.0.0.1")
        super().__init__("served_app:app", env, "--workers", "4", "--worker-class", "gthread",
                         "--threads", "4", "--pythonpath", str(ROOT / "tests"),
                         "--graceful-timeout", "5", log=folder / "gunicorn.log")


class HttpClient:
    """The part of Flask's test client that ``support.changes.Wizard`` uses, over HTTP."""

    class Answer:
        def __init__(self, response: requests.Response):
            self.status_code, self.headers = response.status_code, response.headers
            self._text = response.text

        def get_data(self, as_text=False):
            return self._text if as_text else self._text.encode()

    def __init__(self, base_url: str, cookies=None):
        self.base_url = base_url
        self.session = requests.Session()
        if cookies is not None:
            self.session.cookies.update(cookies)

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def get(self, path):
        return self.Answer(self.session.get(self._url(path), allow_redirects=False, timeout=30))

    def post(self, path, data):
        return self.Answer(self.session.post(self._url(path), data=data, allow_redirects=False,
                                             timeout=60))

    def login(self, email: str) -> None:
        page = self.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        answer = self.post("/login", {"email": email, "password": demo.PASSWORD,
                                      "csrf_token": token})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]


# --- the test -------------------------------------------------------------------------------

def test_fifty_concurrent_place_order_posts_to_gunicorn_make_one_order_one_charge(
        database, tmp_path):
    with FakeBraintree() as fake:
        gateway = BraintreeGateway.from_config(fake.portal_config())
        vaulted = gateway.vault(None, "fake-valid-visa-nonce", email="ada@atelier.example",
                                make_default=True)
        assert vaulted.ok, vaulted.message
        card = vaulted.card

        def setup():
            PaymentMethod.create(account=Account.get(Account.name == "Atelier Space"),
                                 gateway="braintree", token=card.token, brand=card.brand,
                                 last4=card.last4, exp_month=card.exp_month,
                                 exp_year=card.exp_year, is_default=True)
            return (Subscription.select().join(Plan).switch(Subscription).join(Account)
                    .where((Account.name == "Atelier Space") & (Plan.code == "business"))
                    .get().id)

        sid = in_database(database, setup)
        with Served(database, fake, tmp_path) as server:
            assert len(server.workers()) == 4
            admin = HttpClient(server.url)
            admin.login(ATELIER)
            wizard = Wizard(admin)
            form = wizard.review_form(wizard.to_review(
                sid, reason="", plan="business", interval="annual", quantity=8,
                addon_quantity=3))
            clients = [HttpClient(server.url, admin.session.cookies) for _ in range(CONCURRENT)]
            for client in clients:  # connected before the start, so all POSTs leave together
                client.get("/login")
            barrier = threading.Barrier(CONCURRENT)
            answers: list = [None] * CONCURRENT

            def post(i):
                barrier.wait(timeout=30)
                try:
                    answers[i] = clients[i].post(f"/admin/subscription/{sid}/order", form)
                except requests.RequestException as exc:
                    answers[i] = exc

            threads = [threading.Thread(target=post, args=(i,)) for i in range(CONCURRENT)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            statuses = [getattr(a, "status_code", repr(a)) for a in answers]
            assert statuses == [303] * CONCURRENT, (statuses, server.log.read_text()[-3000:])
            locations = {a.headers["Location"] for a in answers}
            assert len(locations) == 1, locations
            assert re.search(r"/orders/\d+$", locations.pop())
            assert "Traceback" not in server.log.read_text()

        def outcome():
            orders = list(ChangeOrder.select())
            sub = Subscription.get_by_id(sid)
            invoices = Invoice.select().where(Invoice.description.startswith("Plan change"))
            return orders, (sub.quantity, sub.addon_quantity), invoices.count()

        orders, terms, invoices = in_database(database, outcome)
        assert len(orders) == 1 and orders[0].status == "placed"
        order = orders[0]
        assert terms == (8, 3) and invoices == 1
        charged = [t for t in fake.transactions_with_order_id(order.charge_key)
                   if t["type"] == "sale" and t["status"] in COLLECTED]
        assert len(charged) == 1 and order.transaction_id == charged[0]["id"]
        assert str(order.due_now) == charged[0]["amount"]
        every_sale = [t for t in fake.transactions.values() if t["type"] == "sale"]
        assert len(every_sale) == 1  # no other charge under any key either
        sale_posts = [r for r in fake.requests if r == ("POST", f"/merchants/"
                                                               f"{fake.merchant_id}/transactions")]
        assert len(sale_posts) == 1  # one charge attempt reached the gateway at all
