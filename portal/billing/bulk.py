"""Many rows of one table inserted with one prepared statement (``executemany``).

A billing batch inserts a hundred invoices (23 columns), their lines, charges and
receipts. Peewee's ``insert_many`` builds and converts the whole multi-row statement
anew each time: a fifth of a billing run's time went there (docs/performance.md,
"Billing"). Here the one-row INSERT is built once per table and set of columns by
peewee's public ``Query.sql()`` (named ``Value(..., converter=False)`` markers give the
order of its parameters, as notifications.attempt does), each value is converted by its
field's public ``db_value``, and the rows go to the driver's ``executemany`` on the
connection of the current transaction (``Database.cursor()``). A driver's error is
raised as peewee's own (IntegrityError, OperationalError...), which the billing run and
``db.retrying`` handle.
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


def _statement(database, model, names: tuple[str, ...]) -> tuple[str, list[pw.Field]]:
    cache = _STATEMENTS.setdefault(database, {})
    key = (model, names)
    if key not in cache:
        by_name = {f.name: f for f in fields_of(model)}
        fields = [by_name[name] for name in names]
        query = model.insert({f: pw.Value(f"<{f.name}>", converter=False) for f in fields})
        sql, params = query.sql()
        if sorted(params) != sorted(f"<{f.name}>" for f in fields):  # a default peewee added
            raise RuntimeError(f"insert into {model.__name__}: unexpected parameters {params!r}")
        cache[key] = (sql, [by_name[p[1:-1]] for p in params])  # in the statement's order
    return cache[key]


def insert_rows(model, rows: list[dict]) -> None:
    """INSERT ``rows`` (field name -> value) into ``model``'s table in one executemany.
    Fields left out take their default (called per row when it is callable), as
    ``insert_many`` would give them; the primary key is the database's."""
    if not rows:
        return
    given = set().union(*rows)
    names = tuple(f.name for f in fields_of(model)
                  if f.name in given or (f.default is not None and not f.primary_key))
    database = db.obj
    sql, fields = _statement(database, model, names)
    defaults = {f.name: f.default for f in fields if f.name not in given}
    params = []
    for row in rows:
        values = []
        for field in fields:
            if field.name in row:
                value = row[field.name]
            else:
                value = defaults.get(field.name)
                value = value() if callable(value) else value
            values.append(field.db_value(value))
        params.append(values)
    cursor = database.cursor()
    try:
        cursor.executemany(sql, params)
    except Exception as exc:  # the driver's own class: raised as peewee's
        for cls in type(exc).__mro__:
            if cls.__name__ in ERRORS:
                raise getattr(pw, cls.__name__)(*exc.args) from exc
        raise
    finally:
        cursor.close()
