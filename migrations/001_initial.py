"""Peewee migrations -- 001_initial.py.

Some examples (model - class or model name)::

    > Model = migrator.orm['table_name']            # Return model in current state by name
    > Model = migrator.ModelClass                   # Return model in current state by name

    > migrator.sql(sql)                             # Run custom SQL
    > migrator.run(func, *args, **kwargs)           # Run python function with the given args
    > migrator.create_model(Model)                  # Create a model (could be used as decorator)
    > migrator.remove_model(model, cascade=True)    # Remove a model
    > migrator.add_fields(model, **fields)          # Add fields (allow_not_null=True skips default)
    > migrator.change_fields(model, **fields)       # Change fields
    > migrator.remove_fields(model, *field_names, cascade=True)
    > migrator.rename_field(model, old_field_name, new_field_name)
    > migrator.rename_table(model, new_table_name)
    > migrator.add_index(model, *col_names, unique=False)
    > migrator.add_not_null(model, *field_names)
    > migrator.add_default(model, field_name, default)
    > migrator.add_constraint(model, name, sql)
    > migrator.drop_index(model, *col_names)
    > migrator.drop_not_null(model, *field_names)
    > migrator.drop_constraints(model, *constraints)

"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    
    @migrator.create_model
    class Account(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=200)
        billing_address = pw.TextField(default='')
        language = pw.CharField(default='en', max_length=8)
        negotiated_contract = pw.BooleanField(default=False)
        grandfathered = pw.BooleanField(default=False)
        status = pw.CharField(default='active', max_length=16)
        gateway_customer_id = pw.CharField(max_length=64, null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "account"

    @migrator.create_model
    class User(pw.Model):
        id = pw.AutoField()
        email = pw.CharField(max_length=254, unique=True)
        name = pw.CharField(default='', max_length=200)
        password_hash = pw.CharField(max_length=255)
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], null=True, on_delete='CASCADE')
        role = pw.CharField(default='member', max_length=16)
        active = pw.BooleanField(default=True)
        holds_addon_license = pw.BooleanField(default=False)
        is_operator = pw.BooleanField(default=False)
        language = pw.CharField(max_length=8, null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "user"

    @migrator.create_model
    class AuditEvent(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], null=True, on_delete='CASCADE')
        actor = pw.ForeignKeyField(column_name='actor_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        action = pw.CharField(max_length=64)
        detail = pw.TextField(default='')
        created_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "audit_event"

    @migrator.create_model
    class Location(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        name = pw.CharField(max_length=200)
        external_id = pw.CharField(max_length=100, null=True)
        active = pw.BooleanField(default=True)
        created_at = pw.DateTimeField()
        removed_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "location"
            indexes = [(('account', 'external_id'), True)]

    @migrator.create_model
    class Device(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        location = pw.ForeignKeyField(column_name='location_id', field='id', model=migrator.orm['location'], on_delete='CASCADE')
        serial = pw.CharField(max_length=100)
        active = pw.BooleanField(default=True)
        rma_replacement_of = pw.ForeignKeyField(column_name='rma_replacement_of_id', field='id', model='self', null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()
        removed_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "device"
            indexes = [(('account', 'serial'), True)]

    @migrator.create_model
    class OutboxMessage(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], null=True, on_delete='CASCADE')
        kind = pw.CharField(max_length=64)
        recipients = pw.TextField(default='')
        subject = pw.CharField(default='', max_length=300)
        body = pw.TextField(default='')
        created_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "outbox_message"

    @migrator.create_model
    class PaymentMethod(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        gateway = pw.CharField(max_length=32)
        token = pw.CharField(max_length=128)
        brand = pw.CharField(default='', max_length=32)
        last4 = pw.CharField(default='', max_length=4)
        exp_month = pw.IntegerField(null=True)
        exp_year = pw.IntegerField(null=True)
        is_default = pw.BooleanField(default=False)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "payment_method"
            indexes = [(('gateway', 'token'), True)]

    @migrator.create_model
    class Plan(pw.Model):
        id = pw.AutoField()
        code = pw.CharField(max_length=50, unique=True)
        name = pw.CharField(max_length=200)
        kind = pw.CharField(max_length=16)
        monthly_price = pw.BigIntegerField()
        annual_price = pw.BigIntegerField()
        addon_monthly_price = pw.BigIntegerField(default=0)
        addon_annual_price = pw.BigIntegerField(default=0)
        rank = pw.IntegerField(default=0)
        available = pw.BooleanField(default=True)

        class Meta:
            table_name = "plan"

    @migrator.create_model
    class Subscription(pw.Model):
        id = pw.AutoField()
        account = pw.ForeignKeyField(column_name='account_id', field='id', model=migrator.orm['account'], on_delete='CASCADE')
        plan = pw.ForeignKeyField(column_name='plan_id', field='id', model=migrator.orm['plan'])
        interval = pw.CharField(default='monthly', max_length=8)
        quantity = pw.IntegerField(default=1)
        addon_quantity = pw.IntegerField(default=0)
        started_on = pw.DateField()
        next_payment_date = pw.DateField()
        status = pw.CharField(default='active', max_length=16)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "subscription"

    @migrator.create_model
    class PendingChange(pw.Model):
        id = pw.AutoField()
        subscription = pw.ForeignKeyField(column_name='subscription_id', field='id', model=migrator.orm['subscription'], on_delete='CASCADE')
        effective_on = pw.DateField(index=True)
        plan = pw.ForeignKeyField(column_name='plan_id', field='id', model=migrator.orm['plan'], null=True)
        interval = pw.CharField(max_length=8, null=True)
        quantity = pw.IntegerField(null=True)
        addon_quantity = pw.IntegerField(null=True)
        cancel = pw.BooleanField(default=False)
        reason = pw.TextField(default='')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()
        applied_at = pw.DateTimeField(null=True)
        withdrawn_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "pending_change"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('pending_change')

    migrator.remove_model('subscription')

    migrator.remove_model('plan')

    migrator.remove_model('payment_method')

    migrator.remove_model('outbox_message')

    migrator.remove_model('device')

    migrator.remove_model('location')

    migrator.remove_model('audit_event')

    migrator.remove_model('user')

    migrator.remove_model('account')
