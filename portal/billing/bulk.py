"""Many rows of one table inserted with a few multi-row statements built once.

A billing batch inserts a hundred invoices (23 columns), their lines, charges and
receipts. Peewee's ``insert_many`` builds and converts the whole multi-row statement
anew each time: a fifth of a billing run's time went there (docs/performance.md,
"Billing"). Here the INSERT is built once per table, set of columns and row count by
peewee's public ``Query.sql()`` (named ``Value(..., converter=False)`` markers give the
order of its parameters, as notifications.attempt does), each value is converted by its
field's public ``db_value``, and the statements go to the driver's cursor on the
connection of the current transaction (``Database.cursor()``). A driver's error is
raised as peewee's own (IntegrityError, OperationalError...), which the billing run and
``db.retrying`` handle.

The rows go as multi-row INSERTs of 64, 32, 16, 8, 4, 2 and 1 rows (the binary digits of
their number: at most seven statements, built once each per table and set of columns),
not one execution per row: PostgreSQL planned and ran each row of an ``executemany`` as
a statement of its own (about a fifth of a billing run's time on the server).
"""
from __future__ import annotations

import weakref

import peewee as pw

from ..db import db

_STATEMENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # database -> cache
_FIELDS: dict[type, list[pw.Field]] = {}
ERRORS = ("IntegrityError", "OperationalError", "DataError", "ProgrammingError",
          "InternalError", "NotSupportedError", "InterfaceError", "DatabaseError")


def fields_of(model) -> list[pw.Field]:
    """The model's columns (its class attributes that are fields), in a stable order."""
    found = _FIELDS.get(model)
    if found is None:
        seen: dict[int, pw.Field] = {}
        for name in dir(model):
            value = getattr(model, name, None)
            if isinstance(value, pw.Field) and value.model is model:
                seen.setdefault(id(value), value)
        found = _FIELDS[model] = sorted(seen.values(), key=lambda f: f.name)
    return found


SIZES = (64, 32, 16, 8, 4, 2, 1)  # rows per statement; 64 x 23 columns of an invoice:
# 1,472 parameters, far below SQLite's and PostgreSQL's limits


def _statement(database, model, names: tuple[str, ...],
               count: int) -> tuple[str, list[tuple[int, pw.Field]]]:
    """The INSERT of ``count`` rows of ``names`` into ``model``, and for each of its
    parameters, in order, the row and field it takes."""
    cache = _STATEMENTS.setdefault(database, {})
    key = (model, names, count)
    if key not in cache:
        by_name = {f.name: f for f in fields_of(model)}
        fields = [by_name[name] for name in names]
        query = model.insert_many([{f: pw.Value(f"<{i}:{f.name}>", converter=False)
                                    for f in fields} for i in range(count)])
        sql, params = query.sql()
        expected = sorted(f"<{i}:{f.name}>" for i in range(count) for f in fields)
        if sorted(params) != expected:  # a default peewee added
            raise RuntimeError(f"insert into {model.__name__}: unexpected parameters "
                               f"{params[:20]!r}")
        order = []
        for marker in params:  # in the statement's order
            row, name = marker[1:-1].split(":")
            order.append((int(row), by_name[name]))
        cache[key] = (sql, order)
    return cache[key]


def insert_rows(model, rows: list[dict]) -> None:
    """INSERT ``rows`` (field name -> value) into ``model``'s table in a few multi-row
    statements. Fields left out take their default (called per row when it is callable),
    as ``insert_many`` would give them; the primary key is the database's."""
    if not rows:
        return
    given = set().union(*rows)
    names = tuple(f.name for f in fields_of(model)
                  if f.name in given or (f.default is not None and not f.primary_key))
    fields = [f for f in fields_of(model) if f.name in names]
    defaults = {f.name: f.default for f in fields if f.name not in given}
    values = []
    for row in rows:
        converted = {}
        for field in fields:
            if field.name in row:
                value = row[field.name]
            else:
                value = defaults.get(field.name)
                value = value() if callable(value) else value
            converted[field.name] = field.db_value(value)
        values.append(converted)
    database = db.obj
    cursor = database.cursor()
    try:
        start = 0
        for size in SIZES:
            while len(values) - start >= size:
                sql, order = _statement(database, model, names, size)
                cursor.execute(sql, [values[start + i][f.name] for i, f in order])
                start += size
    except Exception as exc:  # the driver's own class: raised as peewee's
        for cls in type(exc).__mro__:
            if cls.__name__ in ERRORS:
                raise getattr(pw, cls.__name__)(*exc.args) from exc
        raise
    finally:
        cursor.close()
