"""Hot read queries compiled to SQL once per process, by public means (issue #20).

Peewee builds a query's SQL text from its expression tree on every execution: for the
user loader's three-table join that costs more than SQLite takes to run it, on every
request (docs/performance.md). ``Compiled`` builds the query once per database type with
marker values in place of its arguments, keeps the SQL text that peewee's public
``Query.sql()`` returns and where each marker sits among its parameters, then runs that
text with the request's values (``Database.execute_sql``) and turns each row into models
with each field's own ``python_value`` (the conversion peewee applies when it reads a
row). The SQL is peewee's own, so it is the same statement on SQLite and PostgreSQL.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import peewee

from .db import db

# Arguments are compiled as these values, then replaced by the real ones: integers no
# id, quantity or flag of the portal takes (each must appear once among the parameters).
MARKERS = tuple(-7_319_000_000_001 - i for i in range(8))


class Compiled:
    """``build(*args)`` -> a peewee query, compiled once per kind of database.

    ``rows(*args)`` runs it with ``args`` (integers) and returns its rows as tuples of
    raw database values; ``fields`` converts them (``convert``)."""

    def __init__(self, build: Callable[..., peewee.Query], arity: int):
        self.build, self.arity = build, arity
        self._compiled: dict = {}
        self._lock = threading.Lock()

    def _sql(self, database) -> tuple[str, list, list[int]]:
        key = (type(database), database.param)
        found = self._compiled.get(key)
        if found is None:
            markers = MARKERS[:self.arity]
            sql, params = self.build(*markers).sql()
            slots = [params.index(m) for m in markers]
            if any(params.count(m) != 1 for m in markers):
                raise ValueError(f"each argument must appear once in {sql!r}")
            found = (sql, list(params), slots)
            with self._lock:
                self._compiled[key] = found
        return found

    def rows(self, *args: int) -> list[tuple]:
        sql, params, slots = self._sql(db.obj)
        params = list(params)
        for slot, value in zip(slots, args, strict=True):
            params[slot] = value
        return list(db.execute_sql(sql, params).fetchall())


def model_of(model: type[peewee.Model], fields: Sequence[peewee.Field], values) -> peewee.Model:
    """An instance of ``model`` from ``values``, the raw columns of ``fields`` in order."""
    return model(**{f.name: (None if v is None else f.python_value(v))
                    for f, v in zip(fields, values, strict=True)})


def columns(model: type[peewee.Model]) -> list[peewee.Field]:
    """Every field of ``model`` in declaration order (what ``Model.select()`` reads)."""
    return list(model._meta.sorted_fields)
