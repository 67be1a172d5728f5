"""The operator console: every account, plugins and the notification outbox (rule ACC-2)."""
import peewee as pw
from flask import Blueprint, abort, render_template

from .. import plugins
from ..models import Account, OutboxMessage, Subscription
from ..security import operator_required
from .subscription import subscription_context

bp = Blueprint("operator", __name__, url_prefix="/operator")


@bp.route("/")
@operator_required
def index():
    """Every account with its number of subscriptions."""
    accounts = (Account
                .select(Account, pw.fn.COUNT(Subscription.id).alias("n_subs"))
                .join(Subscription, pw.JOIN.LEFT_OUTER)
                .group_by(Account.id)
                .order_by(Account.name))
    return render_template("operator/index.html", accounts=accounts)


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
    """The latest notifications kept by the outbox channel."""
    messages = OutboxMessage.select().order_by(OutboxMessage.created_at.desc()).limit(200)
    from ..models import Delivery  # failed deliveries of every channel (issue 7)

    failed = Delivery.select().where(Delivery.status == "failed").count()
    return render_template("operator/outbox.html", messages=messages, failed_deliveries=failed)
