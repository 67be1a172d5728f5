"""``portal demo`` on a fresh database leaves a year of history made by the real services,
and the README's billing example bills something on it (issue #13.5).

The demo is loaded the way ``make demo`` does it (the installed ``portal`` script, in a
subprocess, today's date), on SQLite, or on a fresh PostgreSQL database when
PORTAL_TEST_DATABASE_URL is set.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from portal import demo
from portal.accounts import passwords
from portal.billing import pricing, renewals
from portal.billing.dates import first_of_next_month
from portal.db import db, open_database
from portal.models import (Account, ChangeOrder, Charge, CreditNote, Invoice, InvoiceLine,
                           PaymentMethod, PendingChange, Plan, Quote, Receipt, Subscription,
                           User)
from support.people import membership
from support.database import PG_URL, pg_admin, pg_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SUMMARY = re.compile(r"Billing run for (\S+): (\d+) invoice\(s\) issued")


def readme_billing_example() -> str:
    """The one shell line of the README that runs a billing run."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    found = [line for block in blocks for line in block.splitlines()
             if "billing run" in line]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def fresh_url(tmp_path):
    """An empty database: SQLite, or a new PostgreSQL database on the test server."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path}/demo.sqlite3"
        return
    name = "portal_demo_history"
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    yield pg_url(name)
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def demo_env(fresh_url, tmp_path):
    """The environment of a newcomer's shell plus the test database."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "PORTAL_DATABASE_URL": fresh_url, "PORTAL_INSTANCE_PATH": str(tmp_path / "inst")}
    return env


def portal_demo(env) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "portal"), "demo"], env={**env, "PORTAL_DEMO": "1"},
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def assert_history(today: dt.date) -> None:
    """What the history leaves, whatever day the demo is loaded."""
    north, corner, atelier, harbour = (Account.get(Account.name == n) for n in (
        "Northwind Retail", "Corner Bakeries", "Atelier Space", "Harbour Coffee"))
    # twelve months of paid invoices for Northwind's two plans, each with its receipt
    paid = Invoice.select().where((Invoice.account == north.id) & (Invoice.status == "paid"))
    assert paid.count() == 24
    assert Receipt.select().join(Invoice).where(Invoice.account == north.id).count() == 24
    assert min(i.issued_on for i in paid) <= today - dt.timedelta(days=330)
    # a credit note, carried as a negative line onto the next invoice
    note = CreditNote.get()
    assert note.invoice.account_id == north.id and note.amount > 0
    assert InvoiceLine.select().where((InvoiceLine.kind == "credit")
                                      & (InvoiceLine.amount == -note.amount)).exists()
    # USE-3 to see on the first page: the year of billing made the location plan follow
    # what it billed, then a location opened today puts it one over, billed next month
    locations = Subscription.select().join(Plan).where(
        (Subscription.account == north.id) & (Plan.code == "locations")).get()
    charge = renewals.next_charges([locations], pricing.account_usage(north.id))[locations.id]
    over = renewals.overage(locations, charge)
    assert over is not None and over.units == 1 and over.due_on == first_of_next_month(today)
    # a quote that can still be accepted today
    quote = Quote.get()
    assert quote.account_id == north.id and quote.valid_until >= today
    # Corner: a first invoice that failed without a card, paid with "Pay now" later
    first = Invoice.select().where(Invoice.account == corner.id).order_by(Invoice.id)[0]
    assert first.status == "paid" and first.dunning_step >= 1
    # Atelier: its renewal declined by the gateway, in dunning, a retry to come
    declined = (Charge.select().join(Invoice)
                .where((Invoice.account == atelier.id) & (Charge.status == "declined")).get())
    assert declined.invoice.status == "dunning" and declined.invoice.next_attempt_on > today
    assert atelier.status == "active"
    # Harbour Coffee: past due (retries used up), with its own login
    assert harbour.status == "past_due"
    assert Invoice.select().where((Invoice.account == harbour.id)
                                  & (Invoice.status == "dunning")
                                  & Invoice.next_attempt_on.is_null()).exists()
    admin = User.get(User.email == "admin@harbour.example")
    assert membership(admin.email).account_id == harbour.id
    assert passwords.check(admin.password_hash, demo.PASSWORD)
    # the quote is waiting: valid, not accepted
    assert quote.accepted_at is None
    # a card on file for every account but the past-due one (issue #17.4)
    papillon = Account.get(Account.name == "Librairie Papillon")
    with_card = {m.account_id for m in PaymentMethod.select()}
    fjord, kiosk, maple = (Account.get(Account.name == n) for n in (
        "Fjord Studio", "Kiosk Nord", "Maple Pop-up"))
    assert with_card == {north.id, corner.id, atelier.id, papillon.id, fjord.id, kiosk.id}
    # TRI-1: one trial running, one converted and paid, one ended with nothing charged
    [trial] = Subscription.select().where(Subscription.account == fjord.id)
    assert trial.status == "trialing" and trial.trial_ends_on == today + dt.timedelta(days=9)
    [converted] = Subscription.select().where(Subscription.account == kiosk.id)
    assert converted.status == "active" and converted.trial_outcome == "converted"
    paid = {i.status for i in Invoice.select().where(Invoice.account == kiosk.id)}
    assert paid == {"paid"}
    [ended] = Subscription.select().where(Subscription.account == maple.id)
    assert ended.status == "cancelled" and ended.trial_outcome == "ended"
    assert not Invoice.select().where(Invoice.account == maple.id).exists()
    # a downgrade scheduled at Papillon's next payment date, nothing charged now (CHG-2)
    order = ChangeOrder.get(ChangeOrder.account == papillon.id)
    assert order.change == "downgrade" and order.plan.code == "team" and order.due_now == 0
    change = PendingChange.get(PendingChange.subscription == order.subscription_id)
    assert change.effective_on == order.subscription.next_payment_date > today
    # a French-speaking account with its own admin login, paid every month
    admin = User.get(User.email == "admin@papillon.example")
    assert papillon.language == "fr" and admin.language == "fr"
    assert membership(admin.email).account_id == papillon.id
    assert passwords.check(admin.password_hash, demo.PASSWORD)
    assert Invoice.select().where((Invoice.account == papillon.id)
                                  & (Invoice.status == "paid")).count() == 12


def test_fresh_demo_has_a_year_of_history_and_the_readme_example_bills_it(demo_env,
                                                                           fresh_url):
    today = dt.date.today()
    result = portal_demo(demo_env)
    assert result.returncode == 0, result.stderr
    assert "admin@harbour.example" in result.stdout
    next_day = first_of_next_month(today)
    assert f"portal billing run --date {next_day}" in result.stdout  # ready to paste

    database = open_database(fresh_url)
    try:
        with database.connection_context():
            assert_history(today)
    finally:
        if not db.is_closed():
            db.close()

    command = readme_billing_example()
    assert command.startswith("PORTAL_DEMO=1 .venv/bin/portal billing run")
    command = command.replace(".venv/bin/", f"{BIN}/", 1)  # this run's environment
    billed = subprocess.run(["bash", "-c", command], env=demo_env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert billed.returncode == 0, billed.stderr
    day, issued = SUMMARY.search(billed.stdout).groups()
    assert day == next_day.isoformat() and int(issued) > 0, billed.stdout

    # The README's line bills as the demo's server sells: from France, with EU VAT, so the
    # French account's next invoice is like the year before it (it used to go out without
    # VAT and from a seller with no address: the seller lived in the Makefile alone).
    database = open_database(fresh_url)
    try:
        with database.connection_context():
            papillon = Account.get(Account.name == "Librairie Papillon")
            invoices = list(Invoice.select().where(Invoice.account == papillon.id)
                            .order_by(Invoice.issued_on))
            assert invoices[-1].issued_on == next_day
            for invoice in (invoices[0], invoices[-1]):
                assert json.loads(invoice.seller)["legal_name"] == "Portal Demo SAS"
                assert invoice.tax_total > 0 and invoice.taxes != "[]", invoice.number
            # the pop-up opened today is billed: the location plan is full, no longer over
            north = Account.get(Account.name == "Northwind Retail")
            locations = Subscription.select().join(Plan).where(
                (Subscription.account == north.id) & (Plan.code == "locations")).get()
            assert locations.quantity == pricing.account_usage(north.id).location_subscriptions
    finally:
        if not db.is_closed():
            db.close()


def test_fixture_demo_has_no_history(app_ctx):
    """The suite's base data stays as its tests expect: no invoice, no Harbour Coffee."""
    assert Invoice.select().count() == 0
    assert not Account.select().where(Account.name == "Harbour Coffee").exists()


def test_history_is_never_added_to_existing_demo_data(app_ctx):
    accounts = Account.select().count()
    assert demo.load(dt.date(2026, 11, 23), history=True) is False
    assert Invoice.select().count() == 0 and Account.select().count() == accounts
