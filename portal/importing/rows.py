"""Reading a ``portal import`` file (issue #16 item 5; rules ONB-1, BIL-1): its columns,
each row turned into what the services take, and every error of a row with its column.
Nothing is written here: the account's fields are checked by ``onboarding.check`` and the
subscription's by ``catalogue.check_start``, the very checks the writing services run.

The columns are documented in docs/importing.md; docs/customers.csv is a sample.
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import IO
from collections.abc import Iterator

from email_validator import EmailNotValidError, validate_email

from ..accounts import billing_details, onboarding
from ..billing import payment_terms
from ..billing.catalogue import NoPrice, latest_price
from ..catalogue import CatalogueError, Prices, amount, check_start
from ..models import Plan

NEGOTIATED = {"negotiated_monthly": "monthly", "negotiated_annual": "annual",
              "negotiated_addon_monthly": "addon_monthly",
              "negotiated_addon_annual": "addon_annual"}
COLUMNS = ("name", "external_ref", "language", "currency", *billing_details.FIELDS,
           "admin_emails", "plan", "interval", "quantity", "addons", "start_date",
           "next_payment_date", "grandfathered", *NEGOTIATED)
REQUIRED = ("name", "currency", "plan", "interval", "quantity", "start_date")
# The column of each field a service names in its refusal.
COLUMN_OF = {"first_payment": "next_payment_date"}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
WHOLE = re.compile(r"\d{1,9}")
# An amount as people write it in a spreadsheet's text cell: digits, a dot, at most two
# decimals. No sign, no exponent ("1e2"), no comma: a float-ish cell is refused, never read.
AMOUNT = re.compile(r"\d{1,9}(\.\d{1,2})?")
NOT_GRANDFATHERED = ("", "no", "false", "0")


class FileRefused(ValueError):
    """The file as a whole cannot be read (its header): nothing is imported."""


@dataclass
class Row:
    """One data row: ``line`` its line number in the file (the header is line 1)."""

    line: int
    name: str
    external_ref: str | None
    account: dict = field(default_factory=dict)  # language, currency, details
    admins: list[str] = field(default_factory=list)
    plan: Plan | None = None
    interval: str = ""
    quantity: int = 0
    addons: int = 0
    start: dt.date | None = None
    first_payment: dt.date | None = None
    grandfathered_since: dt.date | None = None
    negotiated: Prices | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """"team monthly x5, 2 add-on licenses, negotiated prices", for the report."""
        text = f"{self.plan.code if self.plan else '?'} {self.interval} x{self.quantity}"
        if self.addons:
            text += f", {self.addons} add-on license(s)"
        if self.negotiated is not None:
            text += ", negotiated prices"
        if self.grandfathered_since is not None:
            text += f", grandfathered (pays by invoice since {self.grandfathered_since})"
        return text


def read(stream: IO[str]) -> Iterator[Row]:
    """The rows of a CSV file with a header row; FileRefused if the header is wrong."""
    reader = csv.DictReader(stream)
    header = [name.strip() for name in reader.fieldnames or ()]
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise FileRefused("; ".join(filter(None, [
            unknown and f"unknown column(s): {', '.join(unknown)}",
            missing and f"missing column(s): {', '.join(missing)}",
            len(set(header)) != len(header) and "a column is named twice"]))
            + f" (the columns: {', '.join(COLUMNS)})")
    reader.fieldnames = header
    for record in reader:
        yield parse(reader.line_num, record)


def parse(line: int, record: dict) -> Row:
    """One record (column -> text) checked field by field; its errors in ``Row.errors``."""
    values = {k: (v or "").strip() for k, v in record.items() if k is not None}
    errors: dict[str, str] = {}
    if record.get(None):
        errors["row"] = "the row has more cells than the header has columns"
    row = Row(line, " ".join(values.get("name", "").split()),
              " ".join(values.get("external_ref", "").split()) or None)
    row.account = {"language": values.get("language") or "en",
                   "currency": values.get("currency", ""),
                   "details": {f: values.get(f, "") for f in billing_details.FIELDS}}
    try:
        fields = onboarding.check(row.name, external_ref=row.external_ref, **row.account)
        row.account["currency"] = fields["currency"]
    except onboarding.AccountRefused as refused:
        errors.update(refused.errors)
    row.admins = _emails(values.get("admin_emails", ""), errors)
    row.interval = values.get("interval", "").lower()
    row.quantity = _whole(values, "quantity", errors, default=None)
    row.addons = _whole(values, "addons", errors, default=0)
    row.start = _date(values, "start_date", errors, required=True)
    row.first_payment = _date(values, "next_payment_date", errors, required=False)
    row.grandfathered_since = _grandfathered(values.get("grandfathered", ""), errors)
    code = values.get("plan", "")
    row.plan = Plan.get_or_none(Plan.code == code) if code else None
    if row.plan is None:
        errors["plan"] = (f"no plan has the code {code!r} (see `portal catalogue export`)"
                          if code else "give the plan's code")
    elif "currency" not in errors:
        row.negotiated = _negotiated(values, row.plan, row.account["currency"], errors)
        if not errors.keys() & {"quantity", "addons", "start_date", "next_payment_date"}:
            try:
                check_start(row.account["currency"], row.plan, interval=row.interval,
                            quantity=row.quantity, addons=row.addons, start=row.start,
                            first_payment=row.first_payment)
            except CatalogueError as refused:
                errors.setdefault(COLUMN_OF.get(refused.field, refused.field), refused.message)
    row.errors = errors
    return row


def _emails(cell: str, errors: dict) -> list[str]:
    emails = [e.strip().lower() for e in cell.split(";") if e.strip()]
    for email in emails:
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            errors["admin_emails"] = f"{email} is not an e-mail address (separate them by ;)"
            return []
    return list(dict.fromkeys(emails))


def _whole(values: dict, name: str, errors: dict, *, default):
    cell = values.get(name, "")
    if not cell and default is not None:
        return default
    if not WHOLE.fullmatch(cell):
        errors[name] = f"{cell!r} is not a whole number (0 or more)" if cell else \
            "give a whole number (0 or more)"
        return 0
    return int(cell)


def _date(values: dict, name: str, errors: dict, *, required: bool) -> dt.date | None:
    cell = values.get(name, "")
    if not cell and not required:
        return None
    try:
        if not ISO_DATE.fullmatch(cell):
            raise ValueError(cell)
        return dt.date.fromisoformat(cell)
    except ValueError:
        errors[name] = f"{cell!r} is not a date: write it YYYY-MM-DD" if cell else \
            "give the date, YYYY-MM-DD"
        return None


def _grandfathered(cell: str, errors: dict) -> dt.date | None:
    """PAY-4: empty (or "no") for an account that is not; else the day it first paid by
    invoice, which must be before 2019-04-01."""
    if cell.lower() in NOT_GRANDFATHERED:
        return None
    day = _date({"grandfathered": cell}, "grandfathered", errors, required=True)
    if day is not None and not payment_terms.may_be_grandfathered(day):
        errors["grandfathered"] = (f"only an account that paid by invoice before "
                                   f"{payment_terms.GRANDFATHER_CUTOFF} is grandfathered (PAY-4)")
        return None
    return day


def _negotiated(values: dict, plan: Plan, currency: str, errors: dict) -> Prices | None:
    """CHG-7: the negotiated prices given; an empty cell keeps the catalogue's price. None
    when every negotiated cell is empty (the account pays the catalogue)."""
    given = {column: values.get(column, "") for column in NEGOTIATED if values.get(column)}
    if not given:
        return None
    amounts = {}
    for column, cell in given.items():
        try:
            if not AMOUNT.fullmatch(cell):
                raise CatalogueError(column, "")
            amounts[NEGOTIATED[column]] = amount(cell, column)
        except CatalogueError:
            errors[column] = (f"{cell!r} is not an amount: write digits with at most two "
                              f"decimals after a dot, e.g. 25.00 (no sign, no exponent)")
    if len(amounts) != len(given):
        return None
    try:
        base = latest_price(plan, currency)
    except NoPrice:
        return None  # check_start says the plan has no price in this currency
    catalogue = dict(zip(("monthly", "annual", "addon_monthly", "addon_annual"),
                         base.amounts(), strict=True))
    return Prices(currency, **{**catalogue, **amounts})
