"""An account's locations and devices, with RMA marks (rule DEV-3)."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ... import inventory, pager
from ...billing import pricing
from ...models import Device, Location
from ...security import htmx
from ..api import _counts, _device_rows
from . import PER_PAGE, bp
from .accounts import account_or_404


def device_row(device_id: int):
    return _device_rows(Device.select().where(Device.id == device_id)).get()


def _devices_page(acct, *, show_removed=False, errors=None, status=200):
    locations = list(Location.select().where(Location.account == acct.id)
                     .order_by(Location.active.desc(), Location.name))
    query = Device.select().where(Device.account == acct.id)
    if not show_removed:
        query = query.where(Device.active == True)  # noqa: E712
    page = pager.from_request(_device_rows(query).order_by(Location.name, Device.serial,
                                                           Device.id), PER_PAGE)
    return render_template("operator_inventory/devices.html", account=acct,
                           locations=locations, counts=_counts(acct.id), devices=page.items,
                           page=page, show_removed=show_removed,
                           usage=pricing.account_usage(acct.id),
                           subs_for=pricing.location_subscriptions_for,
                           errors=errors or {}), status


@bp.route("/accounts/<int:account_id>/devices")
def devices(account_id):
    """The account's locations (LOC-1 subscriptions each) and devices, a page at a time."""
    return _devices_page(account_or_404(account_id),
                         show_removed=request.args.get("removed") == "1")


@bp.route("/accounts/<int:account_id>/devices/<int:device_id>/rma", methods=["POST"])
def mark_rma(account_id, device_id):
    """Mark a device as the RMA replacement of another by serial, or clear the mark (DEV-3)."""
    acct = account_or_404(account_id)
    device = Device.get_or_none((Device.id == device_id) & (Device.account == acct.id))
    if device is None:
        abort(404)
    replaces = request.form.get("replaces", "").strip()
    error = change = None
    if len(replaces) > 100:
        error = _("A serial has at most 100 characters.")
    else:
        try:
            change = inventory.mark_rma(acct, device.serial, replaces or None,
                                        actor=current_user.id)
        except inventory.InventoryError as exc:
            error = exc.message
    if error:
        flash(_("Nothing was changed: %(reason)s", reason=error), "error")
    elif change.result == "unchanged":
        flash(_("Nothing to change for %(serial)s.", serial=device.serial), "info")
    elif replaces:
        flash(_("%(serial)s is now the RMA replacement of %(other)s: it sends no new-device "
                "notice and is not billed on top of it.", serial=device.serial, other=replaces),
              "success")
    else:
        flash(_("%(serial)s is no longer marked as an RMA replacement.", serial=device.serial),
              "success")
    if htmx:
        return render_template("operator_inventory/_device_row.html", account=acct,
                               d=device_row(device.id), error=error, value=replaces,
                               oob_flashes=True)  # 200: htmx swaps only 2xx answers
    if error:
        return _devices_page(acct, show_removed=not device.active,
                             errors={device.id: (error, replaces)}, status=422)
    return redirect(url_for(".devices", account_id=acct.id, _anchor=f"device-{device.id}"))
