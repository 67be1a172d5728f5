"""Peewee migrations -- 005_changes.py.

The plan-change wizard (issue 5): survey answers, numbered quotes with their lines, and
change orders (one per review key, a unique index, so a replayed POST never orders
twice). Triggers keep an accepted quote and its lines unchanged in the database itself
(rule DOC-2), whatever the code that touches them.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

# Columns of an accepted quote that never change (who created it may be deleted: SET NULL).
QUOTE_FROZEN = ("number", "account_id", "subscription_id", "review_key", "account_name",
                "billing_address", "change", "plan_id",
                "interval", "quantity", "addon_quantity", "recurring_before",
                "recurring_after", "due_now", "days_left", "period_days", "effective_on",
                "created_on", "valid_until", "fingerprint", "accepted_at")
MESSAGE = "an accepted quote is immutable (rule DOC-2)"


def _sqlite_triggers():
    changed = " OR ".join(f'NEW."{c}" IS NOT OLD."{c}"' for c in QUOTE_FROZEN)
    abort = f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    accepted = "(SELECT accepted_at FROM quote WHERE id = {}.quote_id) IS NOT NULL"
    return [
        f"CREATE TRIGGER quote_immutable BEFORE UPDATE ON quote "
        f"WHEN OLD.accepted_at IS NOT NULL AND ({changed}) {abort}",
        f"CREATE TRIGGER quote_no_delete BEFORE DELETE ON quote "
        f"WHEN OLD.accepted_at IS NOT NULL {abort}",
        f"CREATE TRIGGER quote_line_no_insert BEFORE INSERT ON quote_line "
        f"WHEN {accepted.format('NEW')} {abort}",
        f"CREATE TRIGGER quote_line_immutable BEFORE UPDATE ON quote_line "
        f"WHEN {accepted.format('OLD')} {abort}",
        f"CREATE TRIGGER quote_line_no_delete BEFORE DELETE ON quote_line "
        f"WHEN {accepted.format('OLD')} {abort}",
    ]


def _postgres_triggers():
    changed = " OR ".join(f'NEW."{c}" IS DISTINCT FROM OLD."{c}"' for c in QUOTE_FROZEN)
    return [
        "CREATE OR REPLACE FUNCTION portal_refuse_quote_change() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$",
        "CREATE OR REPLACE FUNCTION portal_refuse_quote_line_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ DECLARE qid integer; BEGIN "
        "IF TG_OP = 'INSERT' THEN qid := NEW.quote_id; ELSE qid := OLD.quote_id; END IF; "
        "IF EXISTS (SELECT 1 FROM quote WHERE id = qid AND accepted_at IS NOT NULL) THEN "
        f"RAISE EXCEPTION '{MESSAGE}'; END IF; "
        "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$",
        f"CREATE TRIGGER quote_immutable BEFORE UPDATE ON quote FOR EACH ROW "
        f"WHEN (OLD.accepted_at IS NOT NULL AND ({changed})) "
        "EXECUTE FUNCTION portal_refuse_quote_change()",
        "CREATE TRIGGER quote_no_delete BEFORE DELETE ON quote FOR EACH ROW "
        "WHEN (OLD.accepted_at IS NOT NULL) EXECUTE FUNCTION portal_refuse_quote_change()",
        "CREATE TRIGGER quote_line_immutable BEFORE INSERT OR UPDATE OR DELETE ON quote_line "
        "FOR EACH ROW EXECUTE FUNCTION portal_refuse_quote_line_change()",
    ]


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    @migrator.create_model
    class SurveyAnswer(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        subscription = pw.ForeignKeyField(column_name='subscription_id', field='id', model=migrator.orm['subscription'], on_delete='CASCADE')
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        draft_key = pw.CharField(max_length=64, unique=True)
        change = pw.CharField(max_length=16)
        reason = pw.CharField(default='', max_length=32)
        details = pw.TextField(default='')
        created_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "survey_answer"

    @migrator.create_model
    class Quote(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        subscription = pw.ForeignKeyField(column_name='subscription_id', field='id', model=migrator.orm['subscription'], on_delete='CASCADE')
        number = pw.CharField(max_length=32, unique=True)
        review_key = pw.CharField(max_length=64, unique=True)
        account_name = pw.CharField(max_length=200)
        billing_address = pw.TextField(default='')
        change = pw.CharField(max_length=16)
        plan = pw.ForeignKeyField(column_name='plan_id', field='id', model=migrator.orm['plan'])
        interval = pw.CharField(max_length=8)
        quantity = pw.IntegerField()
        addon_quantity = pw.IntegerField(default=0)
        recurring_before = pw.BigIntegerField()
        recurring_after = pw.BigIntegerField()
        due_now = pw.BigIntegerField(default=0)
        days_left = pw.IntegerField(default=0)
        period_days = pw.IntegerField(default=0)
        effective_on = pw.DateField()
        created_on = pw.DateField()
        valid_until = pw.DateField()
        fingerprint = pw.CharField(max_length=64)
        survey = pw.ForeignKeyField(column_name='survey_id', field='id', model=migrator.orm['survey_answer'], null=True, on_delete='SET NULL')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()
        accepted_at = pw.DateTimeField(null=True)
        accepted_by = pw.ForeignKeyField(column_name='accepted_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')

        class Meta:
            table_name = "quote"

    @migrator.create_model
    class QuoteLine(pw.Model):
        id = pw.AutoField()
        quote = pw.ForeignKeyField(column_name='quote_id', field='id', model=migrator.orm['quote'], on_delete='CASCADE')
        position = pw.IntegerField()
        description = pw.CharField(max_length=300)
        quantity = pw.IntegerField()
        unit_price = pw.BigIntegerField()
        amount = pw.BigIntegerField()

        class Meta:
            table_name = "quote_line"
            indexes = [(('quote', 'position'), True)]

    @migrator.create_model
    class ChangeOrder(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        subscription = pw.ForeignKeyField(column_name='subscription_id', field='id', model=migrator.orm['subscription'], on_delete='CASCADE')
        review_key = pw.CharField(max_length=64, unique=True)
        change = pw.CharField(max_length=16)
        plan = pw.ForeignKeyField(column_name='plan_id', field='id', model=migrator.orm['plan'])
        interval = pw.CharField(max_length=8)
        quantity = pw.IntegerField()
        addon_quantity = pw.IntegerField(default=0)
        old_plan = pw.ForeignKeyField(column_name='old_plan_id', field='id', model=migrator.orm['plan'])
        old_interval = pw.CharField(max_length=8)
        old_quantity = pw.IntegerField()
        old_addon_quantity = pw.IntegerField(default=0)
        recurring_before = pw.BigIntegerField()
        recurring_after = pw.BigIntegerField()
        due_now = pw.BigIntegerField(default=0)
        effective_on = pw.DateField()
        applied_now = pw.BooleanField(default=False)
        status = pw.CharField(default='charging', index=True, max_length=16)
        charge_key = pw.CharField(max_length=80, null=True, unique=True)
        payment_method = pw.ForeignKeyField(column_name='payment_method_id', field='id', model=migrator.orm['payment_method'], null=True, on_delete='SET NULL')
        transaction_id = pw.CharField(max_length=64, null=True)
        message = pw.TextField(default='')
        quote = pw.ForeignKeyField(column_name='quote_id', field='id', model=migrator.orm['quote'], null=True, on_delete='SET NULL')
        survey = pw.ForeignKeyField(column_name='survey_id', field='id', model=migrator.orm['survey_answer'], null=True, on_delete='SET NULL')
        pending_change = pw.ForeignKeyField(column_name='pending_change_id', field='id', model=migrator.orm['pending_change'], null=True, on_delete='SET NULL')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()
        placed_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "change_order"

    postgres = isinstance(database, pw.PostgresqlDatabase)
    for statement in (_postgres_triggers() if postgres else _sqlite_triggers()):
        migrator.sql(statement)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model('change_order')

    migrator.remove_model('quote_line')

    migrator.remove_model('quote')

    migrator.remove_model('survey_answer')

    if isinstance(database, pw.PostgresqlDatabase):
        migrator.sql("DROP FUNCTION IF EXISTS portal_refuse_quote_line_change()")
        migrator.sql("DROP FUNCTION IF EXISTS portal_refuse_quote_change()")
