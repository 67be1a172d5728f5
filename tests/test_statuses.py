"""Statuses, kinds, intervals and roles are enums (portal/statuses.py), and the database
itself refuses any other word in their columns (migration 017: CHECK constraints on
PostgreSQL, triggers on SQLite), whatever writes it: ORM, raw SQL or another program."""
import datetime as dt
import re

import peewee as pw
import pytest

from portal import statuses
from portal.db import db
from portal.models import (Account, BillingAdjustment, ChangeOrder, Charge, Delivery, Invoice,
                           InvoiceLine, ManualMethodRequest, Membership, PendingChange, Quote,
                           Subscription, SurveyAnswer, User)
from portal.statuses import InvoiceStatus, Role, SubscriptionStatus

DAY = dt.date(2026, 11, 23)


@pytest.fixture
def rows(app_ctx):
    """One row in every table with an enum column (the demo data fills only some)."""
    sub = Subscription.select().order_by(Subscription.id).first()
    acct, plan = sub.account, sub.plan
    invoice = Invoice.create(number="T-1", account=acct, subscription=sub, period_start=DAY,
                             issued_on=DAY, due_on=DAY, total=0, account_name=acct.name)
    InvoiceLine.create(invoice=invoice, position=1, kind="plan", description="x", unit_price=0,
                       amount=0)
    BillingAdjustment.create(account=acct, subscription=sub, description="x", amount=0)
    Charge.create(invoice=invoice, attempt=1, idempotency_key="k-1", amount=0, gateway="fake")
    PendingChange.create(subscription=sub, effective_on=DAY, interval="annual")
    Delivery.create(kind="x", channel="outbox", payload="{}")
    SurveyAnswer.create(account=acct, subscription=sub, draft_key="d-1", change="cancel")
    terms = dict(account=acct, subscription=sub, change="upgrade", plan=plan, interval="monthly",
                 quantity=1, recurring_before=0, recurring_after=0, effective_on=DAY)
    Quote.create(number="Q-1", review_key="r-1", account_name=acct.name, created_on=DAY,
                 valid_until=DAY, fingerprint="f", **terms)
    ChangeOrder.create(review_key="r-2", old_plan=plan, old_interval="monthly", old_quantity=1,
                       **terms)
    ManualMethodRequest.create(account=acct, period_amount=0)


def _update(table, column, value):
    if table == "invoice_line":  # append-only (an issued document): a new line, then
        return _insert_line(value)
    with db.atomic():
        db.execute_sql(f'UPDATE "{table}" SET "{column}" = {db.obj.param} '
                       f'WHERE id = (SELECT min(id) FROM "{table}")', (value,))


def _insert_line(kind):
    invoice = Invoice.get(Invoice.number == "T-1")
    position = InvoiceLine.select().where(InvoiceLine.invoice == invoice).count() + 1
    with db.atomic():
        InvoiceLine.insert(invoice=invoice, position=position, kind=pw.SQL(f"'{kind}'"),
                           description="x", unit_price=0, amount=0).execute()


def _refused(error, table, column) -> bool:
    """The database's own CHECK wording, naming the column (both databases)."""
    return bool(re.search(rf"check constraint.*{table}[._]{column}", str(error), re.I))


@pytest.mark.parametrize("table, column, enum", statuses.COLUMNS,
                         ids=[f"{t}.{c}" for t, c, _e in statuses.COLUMNS])
def test_the_database_refuses_a_word_outside_the_enum(rows, table, column, enum):
    with pytest.raises(pw.IntegrityError) as refused:
        _update(table, column, "bogus")
    assert _refused(refused.value, table, column), refused.value
    for member in enum:  # ...and accepts every word of the enum
        _update(table, column, member.value)
    assert db.execute_sql(f'SELECT count(*) FROM "{table}" WHERE "{column}" = {db.obj.param}',
                          (list(enum)[-1].value,)).fetchone()[0] >= 1


def test_an_insert_with_a_bad_word_is_refused_too(app_ctx):
    """Raw SQL through the ORM (SQL() skips the field's own check): the database refuses."""
    with pytest.raises(pw.IntegrityError) as refused, db.atomic():
        Account.insert(name="Bad", status=pw.SQL("'closed'")).execute()
    assert _refused(refused.value, "account", "status")
    with pytest.raises(pw.IntegrityError), db.atomic():
        Membership.insert(user=User.get(User.email == "operator@example.com").id,
                          account=Account.get(Account.name == "Northwind Retail").id,
                          role=pw.SQL("'owner'")).execute()
    assert not Account.select().where(Account.name == "Bad").exists()


def test_the_models_read_back_enum_members_that_are_their_words(rows):
    invoice = Invoice.get(Invoice.number == "T-1")
    assert invoice.status is InvoiceStatus.OPEN and invoice.status == "open"
    assert f"{invoice.status}" == "open" and str(invoice.status) == "open"
    admin = User.get_by_id(Membership.get(Membership.role == Role.ADMIN).user_id)
    admin.membership = Membership.get(Membership.user == admin.id)
    assert admin.membership.role is Role.ADMIN and admin.is_account_admin
    assert Subscription.select().where(Subscription.status == "active").count() \
        == Subscription.select().where(Subscription.status == SubscriptionStatus.ACTIVE).count()


def test_the_field_refuses_a_bad_word_before_the_database(rows):
    invoice = Invoice.get(Invoice.number == "T-1")
    invoice.status = "settled"
    with pytest.raises(ValueError):
        invoice.save()
    assert Invoice.get(Invoice.number == "T-1").status is InvoiceStatus.OPEN


def test_the_migration_states_the_same_words_as_the_enums():
    """Migration 017 writes its words out (it must not change with the code): they agree."""
    import importlib.util

    from portal.db import migrations_dir

    spec = importlib.util.spec_from_file_location(
        "m017", migrations_dir() / "017_status_checks.py")
    m017 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m017)
    spec = importlib.util.spec_from_file_location(
        "m021", migrations_dir() / "021_memberships.py")
    m021 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m021)
    # 021 moved the role from the user to the membership, with the same words
    moved = {("user", "role"): ("membership", "role", m021.ROLES)}
    spec = importlib.util.spec_from_file_location("m032", migrations_dir() / "032_trials.py")
    m032 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m032)
    # 032 (TRI-1) gave the subscription status a word, and added the trial outcome after it
    later = {(t, c): v for t, c, v in m032.COLUMNS}
    stated = []
    for t, c, v in m017.COLUMNS:
        stated.append(moved.get((t, c), (t, c, ", ".join(f"'{w}'" for w in later.get((t, c), v)))))
        if (t, c) == ("subscription", "status"):
            stated.append((t, "trial_outcome", ", ".join(
                f"'{w}'" for w in later[(t, "trial_outcome")])))
    assert stated == [(t, c, ", ".join(f"'{w.value}'" for w in e))
                      for t, c, e in statuses.COLUMNS]
