"""Everything that happened to one account, newest first (issue #18.2): audit events,
plan-change orders, invoices, payment attempts, payments received outside the gateway and
notification deliveries.

``entries(account_id)`` is one ``UNION ALL`` of (kind, id, when) that the pager pages in
the database, whatever the account's history; ``load(rows)`` then reads the rows of one
page, one query per kind: a page costs at most 1 + 6 queries.
"""
from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

from ..models import AuditEvent, Charge, ChangeOrder, Delivery, Invoice, Plan, Receipt, User

KINDS = ("audit", "order", "invoice", "charge", "receipt", "delivery")


def _source(kind: str, model, at, *where, join=None):
    query = model.select(pw.SQL(f"'{kind}'").alias("kind"), model.id.alias("ref"),
                         at.alias("at"))
    if join is not None:
        query = query.join(join)
    return query.where(*where)


def entries(account_id: int):
    """The account's timeline as one ordered compound query of (kind, ref, at) tuples."""
    parts = [
        _source("audit", AuditEvent, AuditEvent.created_at, AuditEvent.account == account_id),
        _source("order", ChangeOrder, ChangeOrder.created_at,
                ChangeOrder.account == account_id),
        _source("invoice", Invoice, Invoice.created_at, Invoice.account == account_id),
        _source("charge", Charge, Charge.created_at, Invoice.account == account_id,
                join=Invoice),
        # payments received outside the gateway (PAY-3); a gateway's payment is its charge
        _source("receipt", Receipt, Receipt.created_at,
                (Invoice.account == account_id) & Receipt.charge.is_null(), join=Invoice),
        _source("delivery", Delivery, Delivery.created_at, Delivery.account == account_id),
    ]
    union = parts[0]
    for part in parts[1:]:
        union = union.union_all(part)
    return union.order_by(pw.SQL("at").desc(), pw.SQL("kind"), pw.SQL("ref").desc()).tuples()


@dataclass(frozen=True)
class Entry:
    kind: str
    at: object
    row: object  # the model row the entry is about


def load(rows) -> list[Entry]:
    """The model rows behind one page of ``entries``, in its order (one query per kind)."""
    wanted: dict[str, list[int]] = {}
    for kind, ref, _at in rows:
        wanted.setdefault(kind, []).append(ref)
    found = {kind: {r.id: r for r in _read(kind, ids)} for kind, ids in wanted.items()}
    return [Entry(kind, getattr(found[kind][ref], "created_at", at), found[kind][ref])
            for kind, ref, at in rows if ref in found[kind]]


def _read(kind: str, ids: list[int]):
    if kind == "audit":
        return (AuditEvent.select(AuditEvent, User).join(User, pw.JOIN.LEFT_OUTER)
                .where(AuditEvent.id.in_(ids)))
    if kind == "order":
        old = Plan.alias()
        return (ChangeOrder.select(ChangeOrder, Plan, old)
                .join(Plan, on=(ChangeOrder.plan == Plan.id))
                .switch(ChangeOrder).join(old, on=(ChangeOrder.old_plan == old.id))
                .where(ChangeOrder.id.in_(ids)))
    if kind == "invoice":
        return Invoice.select().where(Invoice.id.in_(ids))
    if kind in ("charge", "receipt"):
        model = Charge if kind == "charge" else Receipt
        return model.select(model, Invoice).join(Invoice).where(model.id.in_(ids))
    return Delivery.select().where(Delivery.id.in_(ids))
