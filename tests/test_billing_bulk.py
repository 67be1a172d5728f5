"""A billing batch's rows inserted with one prepared statement (portal/billing/bulk.py):
the same rows and defaults as peewee's insert_many, and a refusal raised as peewee's own
error, which the billing run and db.retrying handle."""
import datetime as dt
from decimal import Decimal

import peewee as pw
import pytest

from portal.billing.bulk import insert_rows
from portal.billing.invoices import Draft, Line, issue_many
from portal.db import db
from portal.models import Invoice, OutboxMessage
from portal.statuses import LineKind
from support.billing import DEC1, cards_for_demo, run


def test_rows_get_their_values_and_each_a_default_of_its_own(app_ctx):
    before = OutboxMessage.select().count()
    insert_rows(OutboxMessage, [{"kind": "a", "subject": "one", "body": "1"},
                                {"kind": "b", "subject": "two", "body": "2"}])
    rows = list(OutboxMessage.select().order_by(OutboxMessage.id))[before:]
    assert [(m.kind, m.subject, m.body, m.recipients) for m in rows] == [
        ("a", "one", "1", ""), ("b", "two", "2", "")]
    assert all(isinstance(m.created_at, dt.datetime) for m in rows)


def test_a_number_of_rows_that_takes_several_statements_inserts_each_row_once(app_ctx):
    """77 rows go as statements of 64, 8, 4 and 1 rows: every row once, with its values."""
    before = OutboxMessage.select().count()
    insert_rows(OutboxMessage, [{"kind": "k", "subject": f"s{i}", "body": str(i)}
                                for i in range(77)])
    rows = list(OutboxMessage.select().order_by(OutboxMessage.id))[before:]
    assert sorted((m.subject, m.body) for m in rows) == sorted(
        (f"s{i}", str(i)) for i in range(77))


def test_a_second_invoice_for_a_billed_period_is_refused_as_peewee_integrity_error(app_ctx):
    """The billing run claims one by one when a unique index refuses a batch: it catches
    peewee's IntegrityError, not the driver's."""
    cards_for_demo()
    run(app_ctx, DEC1)
    first = Invoice.select().where(Invoice.subscription.is_null(False)).first()
    line = Line(LineKind.PLAN, "again", 1, Decimal("1.00"), Decimal("1.00"))
    with pytest.raises(pw.IntegrityError), db.atomic():
        issue_many([Draft(first.account, [line], first.subscription,
                          (first.period_start, first.period_end))], day=DEC1)
