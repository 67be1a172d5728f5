"""``portal import customers.csv`` (issue #16 item 5; rules ONB-1, BIL-1, PAY-4, CHG-7,
ACC-6): a dry run that names every error by line and column and writes nothing, a real run
committing each good row in its own transaction, idempotent on re-run; the admins are
invited (mailed with --url and mail configured, else resent from the console); the sample
in docs/ imports cleanly, and a reseller's import reaches a first paid invoice from an
empty database."""
from __future__ import annotations

import csv
import re
import secrets
from decimal import Decimal
from pathlib import Path

import pytest

from portal import create_app
from portal.catalogue import retire
from portal.db import db
from portal.models import (Account, AuditEvent, Invitation, Invoice, Membership,
                           PaymentMethod, Plan, PriceVersion, Subscription, User)
from portal.importing import COLUMNS
from support.api import csrf_token, parts
from support.billing import DEC1, add_card, invoices_of, run
from support.database import PG_URL, pg_admin, pg_url

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "docs" / "customers.csv"
OPERATOR = "operator@example.com"
GOOD = {"name": "Fjord Cafés", "external_ref": "CRM-1", "language": "en", "currency": "EUR",
        "legal_name": "Fjord Cafés AS", "country": "NO", "admin_emails": "ola@fjord.example",
        "plan": "team", "interval": "monthly", "quantity": "5", "start_date": "2026-11-01",
        "next_payment_date": "2026-12-01"}


def write_csv(path: Path, *rows: dict) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def import_(runner, path, *extra):
    return runner.invoke(args=["import", str(path), "--operator", OPERATOR, *extra])


def everything() -> tuple:
    """Counts of every table an import writes to."""
    return tuple(model.select().count() for model in (
        Account, AuditEvent, User, Membership, Subscription, PriceVersion, PaymentMethod,
        Invitation))


# One row per kind of error, each with the column the report must name.
BAD_ROWS = [
    ({"currency": "ZZZ"}, "currency"),
    ({"plan": "platinum"}, "plan"),
    ({"plan": "devices"}, "plan"),  # retired by the test (CAT-3)
    ({"country": "FR", "tax_id": "FR00000000000"}, "tax_id"),  # BIL-1: checksum
    ({"start_date": "01/11/2026"}, "start_date"),
    ({"next_payment_date": "2026-12-15"}, "next_payment_date"),  # CHG-5: the first
    ({"admin_emails": "ola@fjord.example;not-an-address"}, "admin_emails"),
    ({"negotiated_monthly": "1e2"}, "negotiated_monthly"),
    ({"negotiated_annual": "-200.00"}, "negotiated_annual"),
    ({"negotiated_addon_monthly": "9.999"}, "negotiated_addon_monthly"),
    ({"name": ""}, "name"),
    ({"grandfathered": "2020-01-01"}, "grandfathered"),  # PAY-4: before 2019-04-01 only
    ({"quantity": "five"}, "quantity"),
]


def bad_file(tmp_path) -> Path:
    rows = [{**GOOD, "name": f"Bad {i}", "external_ref": f"BAD-{i}", **change}
            for i, (change, _column) in enumerate(BAD_ROWS)]
    return write_csv(tmp_path / "bad.csv", *rows)


def test_onb1_dry_run_names_line_and_column_of_every_error_and_writes_nothing(app, runner,
                                                                               tmp_path):
    with app.app_context():
        retire(Plan.get(Plan.code == "devices"))
        before = everything()
    path = bad_file(tmp_path)
    result = import_(runner, path, "--dry-run")
    assert result.exit_code == 1, result.output
    for line, (_change, column) in enumerate(BAD_ROWS, start=2):
        assert f"line {line}, {column}: " in result.output, (line, column, result.output)
    assert "Dry run: nothing written" in result.output
    with app.app_context():
        assert everything() == before


def test_onb1_real_run_commits_the_good_rows_only_and_fails(app, runner, tmp_path):
    with app.app_context():
        retire(Plan.get(Plan.code == "devices"))
        before = everything()
    rows = [{**GOOD, "name": f"Bad {i}", "external_ref": f"BAD-{i}", **change}
            for i, (change, _column) in enumerate(BAD_ROWS)]
    path = write_csv(tmp_path / "mixed.csv", rows[0], GOOD, *rows[1:])
    result = import_(runner, path)
    assert result.exit_code == 1, result.output
    assert "line 3: created account" in result.output
    assert f"1 created, 0 already imported, {len(BAD_ROWS)} refused" in result.output
    with app.app_context():
        fjord = Account.get(Account.external_ref == "CRM-1")
        assert not Account.select().where(Account.name.startswith("Bad ")).exists()
        accounts, audits, users, members, subs, versions, methods, invited = everything()
        assert (accounts, subs, members, users, invited) == (
            before[0] + 1, before[4] + 1, before[3], before[2], before[7] + 1)  # ACC-6
        sub = Subscription.get(Subscription.account == fjord.id)
        assert (sub.plan.code, sub.interval, sub.quantity) == ("team", "monthly", 5)
        assert sub.next_payment_date.isoformat() == "2026-12-01"
        assert sub.price_version.currency == "EUR" and sub.price_version.account_id is None


def test_onb1_bil1_an_imported_account_has_its_details_admin_and_audit(app, runner, tmp_path):
    row = {**GOOD, "country": "FR", "tax_id": "FR 403 032 650 45", "city": "Paris",
           "invoice_emails": "compta@fjord.example; ap@fjord.example", "po_reference": "PO-9"}
    assert import_(runner, write_csv(tmp_path / "one.csv", row)).exit_code == 0
    with app.app_context():
        fjord = Account.get(Account.external_ref == "CRM-1")
        assert (fjord.tax_id, fjord.country, fjord.po_reference) == ("FR40303265045", "FR",
                                                                     "PO-9")
        assert fjord.invoice_emails == "compta@fjord.example, ap@fjord.example"
        # ACC-6: the admin is invited; a member once they accept with the mailed link
        assert not Membership.select().where(Membership.account == fjord.id).exists()
        invited = Invitation.get(Invitation.account == fjord.id)
        assert (invited.email, invited.role, invited.via) == ("ola@fjord.example", "admin",
                                                              "import line 2")
        operator = User.get(User.email == OPERATOR)
        events = {e.action: e for e in AuditEvent.select().where(
            AuditEvent.account == fjord.id)}
        assert {"account.opened", "subscription.started", "invitation.send"} <= set(events)
        assert all(e.actor_id == operator.id for e in events.values())
        assert "via import line 2" in events["account.opened"].detail


def test_onb1_rerun_imports_nothing_twice(app, runner, tmp_path):
    by_name = {**GOOD, "name": "Northwind Retail", "external_ref": ""}  # a demo account
    path = write_csv(tmp_path / "again.csv", GOOD, by_name)
    first = import_(runner, path)
    assert first.exit_code == 0, first.output
    assert "line 2: created" in first.output and "line 3: already imported" in first.output
    with app.app_context():
        before = everything()
    again = import_(runner, path)
    assert again.exit_code == 0, again.output
    assert "0 created, 2 already imported, 0 refused" in again.output
    renamed = write_csv(tmp_path / "renamed.csv", {**GOOD, "name": "Fjord Cafés Oslo"})
    assert "already imported" in import_(runner, renamed).output  # the reference decides
    with app.app_context():
        assert everything() == before


def test_onb1_the_same_account_twice_in_a_file_is_refused_on_the_second_line(app, runner,
                                                                            tmp_path):
    path = write_csv(tmp_path / "twice.csv", GOOD, {**GOOD, "name": "Other name"})
    result = import_(runner, path, "--dry-run")
    assert result.exit_code == 1
    assert "line 2: would create account Fjord Cafés with team monthly x5" in result.output
    assert "line 3, external_ref: the same account as line 2" in result.output


def test_pay4_chg7_grandfathered_and_negotiated_columns(app, runner, tmp_path):
    row = {**GOOD, "grandfathered": "2018-06-01", "negotiated_monthly": "19.50"}
    result = import_(runner, write_csv(tmp_path / "gf.csv", row))
    assert result.exit_code == 0, result.output
    assert "negotiated prices, grandfathered" in result.output
    with app.app_context():
        fjord = Account.get(Account.external_ref == "CRM-1")
        assert fjord.grandfathered and fjord.negotiated_contract
        assert PaymentMethod.get(PaymentMethod.account == fjord.id).gateway == "manual"
        version = Subscription.get(Subscription.account == fjord.id).price_version
        assert version.account_id == fjord.id and version.monthly_price == Decimal("19.50")
        assert version.annual_price == Decimal("248.00")  # empty cell: the catalogue's


@pytest.mark.parametrize("header,message", [
    ("name,currency,plan,interval,quantity,start_date,colour", "unknown column(s): colour"),
    ("name,currency,plan,interval,quantity", "missing column(s): start_date"),
])
def test_a_bad_header_refuses_the_file(app, runner, tmp_path, header, message):
    path = tmp_path / "header.csv"
    path.write_text(header + "\nX,USD,team,monthly,1,2026-11-01,red\n", encoding="utf-8")
    with app.app_context():
        before = everything()
    result = import_(runner, path)
    assert result.exit_code == 2 and message in result.output
    with app.app_context():
        assert everything() == before


# --- from an empty database to a first paid invoice (issue #16 "Done when") ---------------

@pytest.fixture
def empty_app(tmp_path):
    """The app on an empty database: SQLite, or a new PostgreSQL database."""
    if PG_URL:
        name = "portal_import_empty"
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
        url = pg_url(name)
    else:
        url = f"sqlite:///{tmp_path}/empty.sqlite3"
    app = create_app({"TESTING": True, "SECRET_KEY": secrets.token_hex(32),
                      "DATABASE_URL": url, "SUPPORT_EMAIL": "success@portal.test"})
    yield app
    if not db.is_closed():
        db.close()
    if PG_URL:
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_onb1_sample_csv_from_empty_database_to_a_first_paid_invoice(empty_app):
    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["init"]).exit_code == 0
    made = runner.invoke(args=["operators", "create", "ops@reseller.example",
                               "--password", "a long reseller passphrase"])
    assert made.exit_code == 0, made.output
    applied = runner.invoke(args=["catalogue", "apply", str(ROOT / "docs" / "catalogue.toml")])
    assert applied.exit_code == 0, applied.output

    dry = runner.invoke(args=["import", str(SAMPLE), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.count("would create account") == 3
    with empty_app.app_context():
        assert Account.select().count() == 0 and Subscription.select().count() == 0
    real = runner.invoke(args=["import", str(SAMPLE)])
    assert real.exit_code == 0, real.output
    assert "3 created, 0 already imported, 0 refused" in real.output
    again = runner.invoke(args=["import", str(SAMPLE)])
    assert "0 created, 3 already imported, 0 refused" in again.output

    with empty_app.app_context():
        assert Account.select().count() == 3
        dupont = Account.get(Account.external_ref == "OLD-0001")
        assert (dupont.currency, dupont.tax_id) == ("EUR", "FR40303265045")
        assert Account.get(Account.external_ref == "OLD-0003").grandfathered
        harbour = Subscription.get(Subscription.account == Account.get(
            Account.external_ref == "OLD-0002"))
        assert harbour.price_version.annual_price == Decimal("4800.00")  # negotiated
        add_card(dupont)  # the test gateway's card, as the payment-methods page stores it
        sub = Subscription.get(Subscription.account == dupont.id)
        assert sub.next_payment_date == DEC1
        run(empty_app, DEC1)
        [invoice] = invoices_of(dupont)
        assert invoice.status == "paid" and invoice.currency == "EUR" and invoice.total > 0
        assert Invoice.select().where(Invoice.account == dupont.id).count() == 1


FAULT = {
    "sqlite": ["CREATE TRIGGER import_fault BEFORE INSERT ON subscription "
               "WHEN NEW.quantity = 999 BEGIN SELECT RAISE(ABORT, 'fault injected'); END"],
    "postgres": ["CREATE FUNCTION import_fault() RETURNS trigger AS $$ BEGIN "
                 "IF NEW.quantity = 999 THEN RAISE EXCEPTION 'fault injected'; END IF; "
                 "RETURN NEW; END $$ LANGUAGE plpgsql",
                 "CREATE TRIGGER import_fault BEFORE INSERT ON subscription FOR EACH ROW "
                 "EXECUTE FUNCTION import_fault()"],
}


def test_onb1_a_row_the_database_refuses_midway_leaves_nothing_and_the_next_lands(
        app, runner, tmp_path):
    """One transaction per row: the account opened before the refused subscription
    insert is rolled back with it; the next row is imported."""
    with app.app_context():
        for statement in FAULT["postgres" if PG_URL else "sqlite"]:
            db.execute_sql(statement)
        before = everything()
    doomed = {**GOOD, "name": "Doomed", "external_ref": "CRM-0", "quantity": "999"}
    result = import_(runner, write_csv(tmp_path / "fault.csv", doomed, GOOD))
    assert result.exit_code == 1, result.output
    assert "line 2, row: the database refused the row" in result.output
    assert "line 3: created account" in result.output
    with app.app_context():
        assert not Account.select().where(Account.name == "Doomed").exists()
        assert everything()[:5] == (before[0] + 1, before[1] + 3, before[2],
                                    before[3], before[4] + 1)


# --- the admins are invited (ACC-6, ONB-1) ---------------------------------------------------

NEW_PASSWORD = "Copper-Meadow-8052"


def test_acc6_onb1_imported_admins_are_mailed_an_invitation_with_url(
        make_app, smtp_server, tmp_path):
    mail_app = make_app(**smtp_server.config())
    runner = mail_app.test_cli_runner()
    result = import_(runner, write_csv(tmp_path / "one.csv", GOOD),
                     "--url", "https://portal.example.com/")
    assert result.exit_code == 0, result.output
    assert "1 admin invitation(s) mailed" in result.output
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "ola@fjord.example"
    path = re.search(r"https://portal\.example\.com(/invitations/\S+)",
                     parts(mail)["text/plain"]).group(1)
    client = mail_app.test_client()
    done = client.post(path, data={"csrf_token": csrf_token(client, path), "name": "Ola",
                                   "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303, done.get_data(as_text=True)
    with mail_app.app_context():
        admin = Membership.get(Membership.account == Account.get(
            Account.external_ref == "CRM-1").id)
        assert (admin.user.email, admin.role, admin.active) == ("ola@fjord.example", "admin",
                                                                True)


def test_acc6_onb1_without_url_the_invitations_wait_for_a_resend_from_the_console(
        app, runner, client, auth, tmp_path):
    result = import_(runner, write_csv(tmp_path / "one.csv", GOOD))
    assert result.exit_code == 0, result.output
    assert "1 admin invitation(s) made but not mailed (no --url given)" in result.output
    with app.app_context():
        fjord = Account.get(Account.external_ref == "CRM-1").id
        pending = Invitation.get(Invitation.account == fjord)
    auth.login(as_=OPERATOR)
    page = f"/operator/accounts/{fjord}"
    assert "ola@fjord.example" in client.get(page).get_data(as_text=True)
    resent = client.post(f"{page}/invitations/{pending.id}/resend",
                         data={"csrf_token": csrf_token(client, page)})
    resent.close()
    assert resent.status_code == 303
    with app.app_context():
        assert Invitation.get_by_id(pending.id).sent_count == 2  # a new link, mailed now


def test_acc6_a_bad_url_refuses_the_import(app, runner, tmp_path):
    with app.app_context():
        before = everything()
    result = import_(runner, write_csv(tmp_path / "one.csv", GOOD), "--url", "portal.example")
    assert result.exit_code == 2 and "--url" in result.output
    with app.app_context():
        assert everything() == before


def test_acc6_chg1_more_admins_than_seats_refuse_the_row(app, runner, tmp_path):
    row = {**GOOD, "quantity": "1", "admin_emails": "ola@fjord.example;kari@fjord.example"}
    with app.app_context():
        before = everything()
    result = import_(runner, write_csv(tmp_path / "crowded.csv", row))
    assert result.exit_code == 1, result.output
    assert "line 2, admin_emails: more admins than users subscribed" in result.output
    with app.app_context():
        assert everything() == before
