"""The operator console: every account, plugins and the notification outbox (rule ACC-2)."""
import peewee as pw
from flask import Blueprint, abort, render_template

from .. import pager, plugins
from ..models import Account, Delivery, OutboxMessage, Subscription
from ..security import operator_required
from ..statuses import DeliveryStatus
from .subscription import subscription_context

bp = Blueprint("operator", __name__, url_prefix="/operator")

PER_PAGE = 100


@bp.route("/")
@operator_required
def index():
    """Every account with its number of subscriptions, a page at a time."""
    accounts = (Account
                .select(Account, pw.fn.COUNT(Subscription.id).alias("n_subs"))
                .join(Subscription, pw.JOIN.LEFT_OUTER)
                .group_by(Account.id)
                .order_by(Account.name, Account.id))
    page = pager.from_request(accounts, PER_PAGE)
    return render_template("operator/index.html", accounts=page.items, page=page)


@bp.route("/accounts/<int:account_id>")
@operator_required
def account(account_id):
    """One account's usage and subscriptions, as its admin sees them."""
    acct = Account.get_or_none(Account.id == account_id) or abort(404)
    return render_template("operator/account.html",
                           **subscription_context(acct, with_locations=True))


@bp.route("/plugins")
@operator_required
def plugin_list():
    """Every active plugin, its version and the hooks it implements."""
    return render_template("operator/plugins.html",
                           plugins=plugins.describe(plugins.plugin_manager()))


@bp.route("/outbox")
@operator_required
def outbox():
    """The notifications kept by the outbox channel, newest first, a page at a time."""
    page = pager.from_request(OutboxMessage.select()
                              .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()),
                              PER_PAGE)
    failed = Delivery.select().where(Delivery.status == DeliveryStatus.FAILED).count()  # every channel
    return render_template("operator/outbox.html", messages=page.items, page=page,
                           failed_deliveries=failed)
