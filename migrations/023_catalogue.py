"""Peewee migrations -- 023_catalogue.py.

The plan catalogue (issue #16, rules CAT-1..CAT-3): an account bills in one currency
(existing accounts: USD); a plan's prices become versions per currency (``price_version``),
the plan's old USD prices version 1, which every existing subscription pays; a plan has
trial days; an invoice records its currency.
"""

import peewee as pw
from peewee_migrate import Migrator

PRICES = ("monthly_price", "annual_price", "addon_monthly_price", "addon_annual_price")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    Plan = migrator.orm["plan"]
    Subscription = migrator.orm["subscription"]

    # Plain ALTERs: peewee's NOT NULL step would rebuild the SQLite tables, which the
    # usage-stamp triggers (migration 010) refer to.
    for table, column in (("account", "currency VARCHAR(3) NOT NULL DEFAULT 'USD'"),
                          ("plan", "trial_days INTEGER NOT NULL DEFAULT 0"),
                          ("invoice", "currency VARCHAR(3) NOT NULL DEFAULT 'USD'")):
        migrator.sql(f'ALTER TABLE "{table}" ADD COLUMN {column}')

    @migrator.create_model
    class PriceVersion(pw.Model):
        id = pw.AutoField()
        plan = pw.ForeignKeyField(Plan, backref="price_versions", on_delete="CASCADE")
        currency = pw.CharField(max_length=3)
        number = pw.IntegerField()
        monthly_price = pw.BigIntegerField()
        annual_price = pw.BigIntegerField()
        addon_monthly_price = pw.BigIntegerField(default=0)
        addon_annual_price = pw.BigIntegerField(default=0)
        existing_from = pw.DateField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "price_version"
            indexes = ((("plan", "currency", "number"), True),)

    migrator.add_fields(Subscription, price_version=pw.ForeignKeyField(
        PriceVersion, null=True, backref="subscriptions", field="id"))
    migrator.sql(f"INSERT INTO price_version (plan_id, currency, number, {', '.join(PRICES)}, "
                 f"existing_from, created_at) SELECT id, 'USD', 1, {', '.join(PRICES)}, NULL, "
                 "CURRENT_TIMESTAMP FROM plan")
    migrator.sql("UPDATE subscription SET price_version_id = (SELECT pv.id FROM price_version pv "
                 "WHERE pv.plan_id = subscription.plan_id AND pv.currency = 'USD' "
                 "AND pv.number = 1)")
    migrator.remove_fields(Plan, *PRICES)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    Plan = migrator.orm["plan"]
    migrator.add_fields(Plan, **{name: pw.BigIntegerField(default=0) for name in PRICES})
    migrator.sql("UPDATE plan SET " + ", ".join(
        f"{p} = (SELECT pv.{p} FROM price_version pv WHERE pv.plan_id = plan.id "
        "AND pv.currency = 'USD' ORDER BY pv.number DESC LIMIT 1)" for p in PRICES))
    migrator.remove_fields("subscription", "price_version")
    migrator.remove_model("price_version")
    migrator.remove_fields("invoice", "currency")
    migrator.remove_fields("plan", "trial_days")
    migrator.remove_fields("account", "currency")
