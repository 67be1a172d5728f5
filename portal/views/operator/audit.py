"""The audit log: every recorded change (cards, payment methods, members...), newest first."""
import peewee as pw
from flask import render_template, request

from ... import pager
from ...models import Account, AuditEvent, User
from . import bp

AUDIT_PAGE_SIZE = 50


@bp.route("/audit")
def audit_log():
    """Every recorded change (cards, payment methods, members...), newest first."""
    account_id = request.args.get("account", type=int)
    query = (AuditEvent.select(AuditEvent, Account, User)
             .join(Account, pw.JOIN.LEFT_OUTER).switch(AuditEvent)
             .join(User, pw.JOIN.LEFT_OUTER, on=(AuditEvent.actor == User.id))
             .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()))
    if account_id:
        query = query.where(AuditEvent.account == account_id)
    page = pager.from_request(query, AUDIT_PAGE_SIZE)
    return render_template("operator_payments/audit.html", events=page.items, page=page,
                           account_id=account_id,
                           accounts=Account.select().order_by(Account.name))
