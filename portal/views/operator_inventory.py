"""Operator screens for an account's inventory and integration: its locations and devices
(with RMA marks, rule DEV-3), its API tokens, and every notification delivery."""
import peewee as pw
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from ..forms import Form
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from .. import inventory, notifications, pager
from ..accounts import tokens as api_tokens
from ..billing import pricing
from ..models import Account, ApiToken, Delivery, Device, Location
from ..security import htmx, operator_required
from ..statuses import DeliveryStatus
from .api import _counts, _device_rows

bp = Blueprint("operator_inventory", __name__, url_prefix="/operator")

PER_PAGE = 100


@bp.context_processor
def _formatting():
    return {"format_datetime": format_datetime}


class TokenForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("Who or what uses it, e.g. “Counting product, EU”."))


def account_or_404(account_id: int) -> Account:
    return Account.get_or_none(Account.id == account_id) or abort(404)


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
@operator_required
def devices(account_id):
    """The account's locations (LOC-1 subscriptions each) and devices, a page at a time."""
    return _devices_page(account_or_404(account_id),
                         show_removed=request.args.get("removed") == "1")


@bp.route("/accounts/<int:account_id>/devices/<int:device_id>/rma", methods=["POST"])
@operator_required
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


def _tokens_page(acct, form, status=200):
    return render_template("operator_inventory/tokens.html", account=acct, form=form,
                           tokens=list(api_tokens.tokens_of(acct.id))), status


@bp.route("/accounts/<int:account_id>/tokens", methods=["GET", "POST"])
@operator_required
def tokens(account_id):
    """The account's API tokens; POST makes a new one and shows it once."""
    acct = account_or_404(account_id)
    form = TokenForm()
    if request.method == "GET":
        return _tokens_page(acct, form)
    if not form.validate_on_submit():
        flash(_("The token was not created: see the form."), "error")
        return _tokens_page(acct, form, 400)
    token, plain = api_tokens.create_token(acct, form.name.data, created_by=current_user.id)
    flash(_("Token “%(name)s” created. Copy it now: it is not shown again.", name=token.name),
          "success")
    return render_template("operator_inventory/token_created.html", account=acct,
                           token=token, plain=plain), 201


def token_or_404(token_id: int) -> ApiToken:
    return ApiToken.get_or_none(ApiToken.id == token_id) or abort(404)


@bp.route("/tokens/<int:token_id>/rotate", methods=["POST"])
@operator_required
def rotate_token(token_id):
    """Revoke a token and make its successor with the same name, shown once."""
    token = token_or_404(token_id)
    acct = Account.get_by_id(token.account_id)
    try:
        new, plain = api_tokens.rotate_token(token, by=current_user.id)
    except ValueError:
        flash(_("This token is already revoked: create a new one instead."), "error")
        return redirect(url_for(".tokens", account_id=acct.id))
    flash(_("Token “%(name)s” rotated: the old one no longer works. Copy the new one now: it "
            "is not shown again.", name=new.name), "success")
    return render_template("operator_inventory/token_created.html", account=acct, token=new,
                           plain=plain), 201


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@operator_required
def revoke_token(token_id):
    """Revoke a token for good."""
    token = token_or_404(token_id)
    if api_tokens.revoke_token(token, by=current_user.id):
        flash(_("Token “%(name)s” revoked: calls with it are refused from now on.",
                name=token.name), "success")
    else:
        flash(_("Token “%(name)s” was already revoked.", name=token.name), "info")
    if htmx:
        return render_template("operator_inventory/_token_row.html",
                               t=ApiToken.get_by_id(token.id), oob_flashes=True)
    return redirect(url_for(".tokens", account_id=token.account_id))


@bp.route("/deliveries")
@operator_required
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
@operator_required
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
