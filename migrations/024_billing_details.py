"""Peewee migrations -- 024_billing_details.py.

Issue 19 (rules BIL-1, TAX-1..3):
- an account's billing details (legal name, two address lines, postal code, city,
  country, tax ID, invoice e-mail addresses, purchase-order reference) replace the
  free-text ``account.billing_address``, whose lines move into the address lines (the
  first line, then the others joined by ", ");
- documents keep the details they were issued with: the buyer's and the seller's
  details (JSON), the currency and the tax lines (JSON) on invoices and quotes, the
  reversed tax lines on credit notes, an order's tax lines (what it charges on top of
  its net amount, the same as its quote's);
- the immutability triggers of migration 004 cover the new invoice and credit-note
  columns.
"""

import peewee as pw
from peewee_migrate import Migrator

INVOICE_FROZEN = ("number", "account_id", "subscription_id", "period_start", "period_end",
                  "issued_on", "due_on", "total", "account_name", "billing_address",
                  "description", "currency", "buyer", "seller", "taxes", "tax_total")
CREDIT_NOTE_FROZEN = ("number", "invoice_id", "amount", "reason", "issued_on", "taxes")
OLD_INVOICE_FROZEN = INVOICE_FROZEN[:11]
OLD_CREDIT_NOTE_FROZEN = CREDIT_NOTE_FROZEN[:5]
MESSAGE = "an issued document is immutable: issue a credit note instead"
ACCOUNT_FIELDS = {
    "legal_name": "VARCHAR(200)", "address_line1": "VARCHAR(200)",
    "address_line2": "VARCHAR(200)", "postal_code": "VARCHAR(20)", "city": "VARCHAR(100)",
    "country": "VARCHAR(2)", "tax_id": "VARCHAR(32)", "invoice_emails": "TEXT",
    "po_reference": "VARCHAR(100)",
}
DOCUMENT_FIELDS = {"currency": ("VARCHAR(3)", "'USD'"), "buyer": ("TEXT", "'{}'"),
                   "seller": ("TEXT", "'{}'"), "taxes": ("TEXT", "'[]'")}


def _add(migrator, table, name, kind, default="''"):
    """Plain SQL: peewee-migrate rebuilds an SQLite table to add a NOT NULL column or drop
    one, which the triggers of migrations 004 and 010 refuse mid-way."""
    migrator.sql(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {kind} NOT NULL DEFAULT {default}')


def _drop(migrator, table, *names):
    for name in names:
        migrator.sql(f'ALTER TABLE "{table}" DROP COLUMN "{name}"')


def _triggers(database, invoice_cols, note_cols):
    if isinstance(database, pw.PostgresqlDatabase):
        def changed(cols):
            return " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in cols)
        run = "EXECUTE FUNCTION portal_refuse_change()"
        return ["DROP TRIGGER IF EXISTS invoice_immutable ON invoice",
                "DROP TRIGGER IF EXISTS credit_note_immutable ON credit_note",
                f"CREATE TRIGGER invoice_immutable BEFORE UPDATE ON invoice FOR EACH ROW "
                f"WHEN ({changed(invoice_cols)}) {run}",
                f"CREATE TRIGGER credit_note_immutable BEFORE UPDATE ON credit_note "
                f"FOR EACH ROW WHEN ({changed(note_cols)}) {run}"]

    def changed(cols):
        return " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in cols)
    abort = f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    return ["DROP TRIGGER IF EXISTS invoice_immutable",
            "DROP TRIGGER IF EXISTS credit_note_immutable",
            f"CREATE TRIGGER invoice_immutable BEFORE UPDATE ON invoice "
            f"WHEN {changed(invoice_cols)} {abort}",
            f"CREATE TRIGGER credit_note_immutable BEFORE UPDATE ON credit_note "
            f"WHEN {changed(note_cols)} {abort}"]


def _move_addresses(database):
    """The free-text address's first line into line 1, the other lines into line 2."""
    rows = database.execute_sql(
        "SELECT id, billing_address FROM account WHERE billing_address <> ''").fetchall()
    for account_id, text in rows:
        lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
        if lines:
            database.execute_sql(
                "UPDATE account SET address_line1 = %s, address_line2 = %s WHERE id = %s"
                if isinstance(database, pw.PostgresqlDatabase) else
                "UPDATE account SET address_line1 = ?, address_line2 = ? WHERE id = ?",
                (lines[0][:200], ", ".join(lines[1:])[:200], account_id))


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""
    for name, kind in ACCOUNT_FIELDS.items():
        _add(migrator, "account", name, kind)
    migrator.run(_move_addresses, database)
    _drop(migrator, "account", "billing_address")
    for table in ("invoice", "quote"):
        for name, (kind, default) in DOCUMENT_FIELDS.items():
            if (table, name) != ("invoice", "currency"):  # migration 023 added it (CAT-1)
                _add(migrator, table, name, kind, default)
    _add(migrator, "invoice", "tax_total",  # cents, as peewee declares a BigIntegerField
         "BIGINT" if isinstance(database, pw.PostgresqlDatabase) else "INTEGER", "0")
    _add(migrator, "credit_note", "taxes", "TEXT", "'[]'")
    _add(migrator, "change_order", "taxes", "TEXT", "'[]'")
    for statement in _triggers(database, INVOICE_FROZEN, CREDIT_NOTE_FROZEN):
        migrator.sql(statement)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    for statement in _triggers(database, OLD_INVOICE_FROZEN, OLD_CREDIT_NOTE_FROZEN):
        migrator.sql(statement)
    _drop(migrator, "change_order", "taxes")
    _drop(migrator, "credit_note", "taxes")
    _drop(migrator, "quote", *DOCUMENT_FIELDS)
    _drop(migrator, "invoice", *(f for f in DOCUMENT_FIELDS if f != "currency"), "tax_total")
    _add(migrator, "account", "billing_address", "TEXT")
    _drop(migrator, "account", *ACCOUNT_FIELDS)
