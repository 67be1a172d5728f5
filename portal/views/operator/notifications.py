"""The notifications: what the outbox channel kept, and every delivery per channel, sent,
pending or failed with its error (a failed one can be sent again)."""
import peewee as pw
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ... import notifications, pager
from ...models import Account, Delivery, OutboxMessage
from ...security import htmx
from ...statuses import DeliveryStatus
from . import PER_PAGE, bp


@bp.route("/outbox")
def outbox():
    """The notifications kept by the outbox channel, newest first, a page at a time."""
    page = pager.from_request(OutboxMessage.select()
                              .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()),
                              PER_PAGE)
    # every channel
    failed = Delivery.select().where(Delivery.status == DeliveryStatus.FAILED).count()
    return render_template("operator/outbox.html", messages=page.items, page=page,
                           failed_deliveries=failed)


@bp.route("/deliveries")
def deliveries():
    """Every notification delivery per channel: sent, pending or failed with its error."""
    status = request.args.get("status", "")
    query = Delivery.select(Delivery, Account).join(Account, pw.JOIN.LEFT_OUTER)
    if status in tuple(DeliveryStatus):
        query = query.where(Delivery.status == status)
    page = pager.from_request(query.order_by(Delivery.id.desc()), PER_PAGE)
    return render_template("operator_inventory/deliveries.html", deliveries=page.items,
                           status=status, statuses=tuple(DeliveryStatus), page=page)


@bp.route("/deliveries/<int:delivery_id>/retry", methods=["POST"])
def retry_delivery(delivery_id):
    """Send a failed delivery again, now (or through the queue when one runs)."""
    delivery = Delivery.get_or_none(Delivery.id == delivery_id) or abort(404)
    if notifications.retry(delivery.id):
        delivery = Delivery.get_by_id(delivery.id)
        if delivery.status == DeliveryStatus.SENT:
            flash(_("Delivery %(id)s sent.", id=delivery.id), "success")
        elif delivery.status == DeliveryStatus.FAILED:
            flash(_("Delivery %(id)s failed again: %(error)s", id=delivery.id,
                    error=delivery.last_error), "error")
        else:
            flash(_("Delivery %(id)s queued again.", id=delivery.id), "success")
    else:
        flash(_("Delivery %(id)s is not waiting for a retry.", id=delivery.id), "info")
    if htmx:
        return render_template("operator_inventory/_delivery_row.html",
                               d=Delivery.get_by_id(delivery.id), oob_flashes=True)
    return redirect(url_for(".deliveries", status=request.args.get("status", "")))
