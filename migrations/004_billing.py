"""Peewee migrations -- 004_billing.py.

The billing engine (issue 6): gapless document counters, invoices (one per subscription
and period, a unique index) with their lines, billing adjustments, charge attempts with
their idempotency keys, receipts and credit notes; an index on the subscriptions' next
payment date for the billing run. Triggers make issued documents immutable in the
database itself, whatever the code that touches them.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

SERIES = ("invoice", "receipt", "credit_note")

# Columns of an issued invoice that never change (collection state may).
INVOICE_FROZEN = ("number", "account_id", "subscription_id", "period_start", "period_end",
                  "issued_on", "due_on", "total", "account_name", "billing_address",
                  "description")
CREDIT_NOTE_FROZEN = ("number", "invoice_id", "amount", "reason", "issued_on")
RECEIPT_FROZEN = ("number", "invoice_id", "charge_id", "amount", "paid_on", "method",
                  "reference")
MESSAGE = "an issued document is immutable: issue a credit note instead"


def _sqlite_triggers():
    def changed(columns):
        return " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)

    abort = f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    return [
        f"CREATE TRIGGER invoice_immutable BEFORE UPDATE ON invoice "
        f"WHEN {changed(INVOICE_FROZEN)} {abort}",
        f"CREATE TRIGGER invoice_no_delete BEFORE DELETE ON invoice {abort}",
        f"CREATE TRIGGER invoice_line_immutable BEFORE UPDATE ON invoice_line {abort}",
        f"CREATE TRIGGER invoice_line_no_delete BEFORE DELETE ON invoice_line {abort}",
        f"CREATE TRIGGER credit_note_immutable BEFORE UPDATE ON credit_note "
        f"WHEN {changed(CREDIT_NOTE_FROZEN)} {abort}",
        f"CREATE TRIGGER credit_note_no_delete BEFORE DELETE ON credit_note {abort}",
        f"CREATE TRIGGER receipt_immutable BEFORE UPDATE ON receipt "
        f"WHEN {changed(RECEIPT_FROZEN)} {abort}",
        f"CREATE TRIGGER receipt_no_delete BEFORE DELETE ON receipt {abort}",
    ]


def _postgres_triggers():
    def changed(columns):
        return " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)

    run = "FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()"
    return [
        "CREATE OR REPLACE FUNCTION portal_refuse_change() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$",
        f"CREATE TRIGGER invoice_immutable BEFORE UPDATE ON invoice "
        f"FOR EACH ROW WHEN ({changed(INVOICE_FROZEN)}) EXECUTE FUNCTION portal_refuse_change()",
        f"CREATE TRIGGER invoice_no_delete BEFORE DELETE ON invoice {run}",
        f"CREATE TRIGGER invoice_line_immutable BEFORE UPDATE OR DELETE ON invoice_line {run}",
        f"CREATE TRIGGER credit_note_immutable BEFORE UPDATE ON credit_note "
        f"FOR EACH ROW WHEN ({changed(CREDIT_NOTE_FROZEN)}) "
        "EXECUTE FUNCTION portal_refuse_change()",
        f"CREATE TRIGGER credit_note_no_delete BEFORE DELETE ON credit_note {run}",
        f"CREATE TRIGGER receipt_immutable BEFORE UPDATE ON receipt "
        f"FOR EACH ROW WHEN ({changed(RECEIPT_FROZEN)}) EXECUTE FUNCTION portal_refuse_change()",
        f"CREATE TRIGGER receipt_no_delete BEFORE DELETE ON receipt {run}",
    ]


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    migrator.add_index('subscription', 'next_payment_date')

    @migrator.create_model
    class DocumentCounter(pw.Model):
        series = pw.CharField(max_length=16, primary_key=True)
        last = pw.BigIntegerField(default=0)

        class Meta:
            table_name = "document_counter"

    @migrator.create_model
    class Invoice(pw.Model):
        id = pw.AutoField()
        number = pw.CharField(max_length=32, unique=True)
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'])
        subscription = pw.ForeignKeyField(column_name='subscription_id', field='id', model=migrator.orm['subscription'], null=True)
        period_start = pw.DateField(null=True)
        period_end = pw.DateField(null=True)
        issued_on = pw.DateField(index=True)
        due_on = pw.DateField()
        total = pw.BigIntegerField()
        account_name = pw.CharField(max_length=200)
        billing_address = pw.TextField(default='')
        description = pw.CharField(default='', max_length=300)
        status = pw.CharField(default='open', index=True, max_length=16)
        hold_reason = pw.TextField(default='')
        dunning_step = pw.IntegerField(default=0)
        next_attempt_on = pw.DateField(index=True, null=True)
        paid_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "invoice"
            indexes = [(('subscription', 'period_start'), True)]

    @migrator.create_model
    class InvoiceLine(pw.Model):
        id = pw.AutoField()
        invoice = pw.ForeignKeyField(column_name='invoice_id', field='id', model=migrator.orm['invoice'])
        position = pw.IntegerField()
        kind = pw.CharField(max_length=16)
        description = pw.CharField(max_length=300)
        quantity = pw.IntegerField(default=1)
        unit_price = pw.BigIntegerField()
        amount = pw.BigIntegerField()

        class Meta:
            table_name = "invoice_line"
            indexes = [(('invoice', 'position'), True)]

    @migrator.create_model
    class BillingAdjustment(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'])
        subscription = pw.ForeignKeyField(column_name='subscription_id', field='id', model=migrator.orm['subscription'], null=True)
        kind = pw.CharField(default='proration', max_length=16)
        description = pw.CharField(max_length=300)
        amount = pw.BigIntegerField()
        invoice = pw.ForeignKeyField(column_name='invoice_id', field='id', model=migrator.orm['invoice'], null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "billing_adjustment"

    @migrator.create_model
    class Charge(pw.Model):
        id = pw.AutoField()
        invoice = pw.ForeignKeyField(column_name='invoice_id', field='id', model=migrator.orm['invoice'])
        attempt = pw.IntegerField()
        idempotency_key = pw.CharField(max_length=64, unique=True)
        amount = pw.BigIntegerField()
        gateway = pw.CharField(max_length=32)
        payment_method = pw.ForeignKeyField(column_name='payment_method_id', field='id', model=migrator.orm['payment_method'], null=True, on_delete='SET NULL')
        status = pw.CharField(default='pending', index=True, max_length=16)
        transaction_id = pw.CharField(max_length=64, null=True)
        message = pw.TextField(default='')
        calls = pw.IntegerField(default=0)
        created_at = pw.DateTimeField()
        last_call_at = pw.DateTimeField(null=True)
        finished_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "charge"
            indexes = [(('invoice', 'attempt'), True)]

    @migrator.create_model
    class Receipt(pw.Model):
        id = pw.AutoField()
        number = pw.CharField(max_length=32, unique=True)
        invoice = pw.ForeignKeyField(column_name='invoice_id', field='id', model=migrator.orm['invoice'], unique=True)
        charge = pw.ForeignKeyField(column_name='charge_id', field='id', model=migrator.orm['charge'], null=True)
        amount = pw.BigIntegerField()
        paid_on = pw.DateField()
        method = pw.CharField(max_length=200)
        reference = pw.CharField(default='', max_length=200)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "receipt"

    @migrator.create_model
    class CreditNote(pw.Model):
        id = pw.AutoField()
        number = pw.CharField(max_length=32, unique=True)
        invoice = pw.ForeignKeyField(column_name='invoice_id', field='id', model=migrator.orm['invoice'])
        amount = pw.BigIntegerField()
        reason = pw.TextField()
        issued_on = pw.DateField()
        issued_by = pw.ForeignKeyField(column_name='issued_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "credit_note"

    for series in SERIES:  # constants, no user input
        migrator.sql(f"INSERT INTO document_counter (series, last) VALUES ('{series}', 0)")
    postgres = isinstance(database, pw.PostgresqlDatabase)
    for statement in (_postgres_triggers() if postgres else _sqlite_triggers()):
        migrator.sql(statement)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model('credit_note')

    migrator.remove_model('receipt')

    migrator.remove_model('charge')

    migrator.remove_model('billing_adjustment')

    migrator.remove_model('invoice_line')

    migrator.remove_model('invoice')

    migrator.remove_model('document_counter')

    migrator.drop_index('subscription', 'next_payment_date')

    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql("DROP FUNCTION IF EXISTS portal_refuse_change()")
