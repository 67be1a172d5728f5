"""The History tab of the subscription page (issue #18.4): the account's usage over the
last 12 months (its daily snapshots) and, for its admins, what it was invoiced each month
(ACC-2: invoices are theirs), as charts with their numbers in tables; and the account's
devices and locations as CSV (DEV-1: export before removing)."""
from __future__ import annotations

from flask import Response, stream_with_context
from flask_babel import format_currency, format_date, format_decimal
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..db import write_transaction
from ..metrics import exports, usage
from ..models import AuditEvent
from ..security import account_member_required
from . import charts


def history_context(account, is_admin: bool) -> dict:
    """The tab's charts and tables: a fixed number of queries whatever the account's size."""
    today = clock.today()
    currency = account.currency  # CAT-1
    used = usage.of_account(account.id, today)
    units = {"devices": _("Devices"), "locations": _("Locations"), "seats": _("Seats")}
    shown = [u for u in usage.UNITS if any(v[u] for _d, v in used)] or ["devices"]

    def whole(v):
        return format_decimal(v, "#,##0.#")

    usage_chart = charts.lines(_("Usage, month by month"),
                               [format_date(d, "MMM") for d, _v in used],
                               [(f"s-{u}", units[u], [v[u] for _d, v in used]) for u in shown],
                               whole) if used else None
    context = {"history_usage": used, "history_units": [(u, units[u]) for u in shown],
               "usage_chart": usage_chart,
               "usage_rows": [(format_date(d), *(v[u] for u in shown)) for d, v in used],
               "spend_chart": None, "currency": currency}
    if is_admin:
        spend = usage.spend_of_account(account.id, today)
        context.update(
            spend=spend,
            spend_chart=charts.bars(_("Invoiced per month (%(currency)s)", currency=currency),
                                    [format_date(m, "MMM") for m, _i, _c in spend],
                                    [i for _m, i, _c in spend], "s-spend", _("Invoiced"), whole),
            spend_rows=[(format_date(m, "MMMM y"), format_currency(i, currency),
                         format_currency(c, currency)) for m, i, c in spend])
    return context


def init_routes(bp) -> None:
    """Add the inventory export to the subscription blueprint."""

    @bp.route("/inventory.csv")
    @account_member_required
    def inventory_csv():
        """The account's locations and devices as CSV, streamed (DEV-1)."""
        account = current_user.account
        with write_transaction():
            AuditEvent.create(account=account.id, actor=current_user.id,
                              action="export.inventory", detail="devices and locations")
        return Response(stream_with_context(exports.inventory(account.id)), mimetype="text/csv",
                        headers={"Content-Disposition":
                                 'attachment; filename="devices-and-locations.csv"'})
