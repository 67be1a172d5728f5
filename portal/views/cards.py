"""The Cards tab of the admin dashboard: list, add, make default, remove (PAY-1..PAY-5).

Account admins only: members and operators get 403 (members see no card data). The
page is one self-updating widget (``#payment-methods``): every verb returns it whole
to htmx, and without JavaScript every form posts and redirects back to the page.
"""

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from ..forms import Form
from wtforms import TextAreaField
from wtforms.validators import Length

from .. import clock, payments, plugins
from ..billing import payment_terms
from ..gateways import ConfigurationError, active_gateway, registered_gateways
from ..models import ManualMethodRequest, PaymentMethod
from ..security import account_admin_required, content_security_policy, htmx

bp = Blueprint("cards", __name__, url_prefix="/admin/cards")


class ManualRequestForm(Form):
    note = TextAreaField(_l("Note for our staff (optional: purchase order, billing contact)"),
                         validators=[Length(max=500)])


def card_gateway():
    """The deployment's card gateway (PORTAL_GATEWAY)."""
    return active_gateway(plugins.plugin_manager(), current_app.config)


def all_gateways() -> dict:
    return registered_gateways(plugins.plugin_manager(), current_app.config)


def own_method_or_404(method_id: int) -> PaymentMethod:
    """A payment method of the current account; another account's is 404 (no leak)."""
    method = PaymentMethod.get_or_none((PaymentMethod.id == method_id)
                                       & (PaymentMethod.account == current_user.account_id))
    if method is None:
        abort(404)
    return method


def return_to() -> str | None:
    """Where to go back to once a card is saved (the review page, Pay now): a same-site
    path from ``?next=`` or the add form's hidden field, else None."""
    from .auth import safe_next

    return safe_next(request.values.get("next"))


def widget(*, form_open=False, error=None, manual_form=None, status=200):
    """The page, or the ``#payment-methods`` widget alone for htmx."""
    account = current_user.account
    today = clock.today()
    gateway = card_gateway()
    methods = payments.methods_of(account.id)
    inline = not gateway.script_sources()  # outside scripts need a page of their own
    snippet, headers = "", {}
    if form_open:
        token = gateway.client_token(account.gateway_customer_id) if not inline else None
        if not inline and token is None:
            error = error or _("The card form could not be loaded: the payment gateway is not "
                               "answering. Please try again in a few minutes.")
        else:
            snippet = gateway.client_snippet(client_token=token, error=error)
        if not inline:
            headers["Content-Security-Policy"] = content_security_policy(
                extra_sources=gateway.csp_sources())
    last_request = (ManualMethodRequest.select()
                    .where(ManualMethodRequest.account == account.id)
                    .order_by(ManualMethodRequest.id.desc()).first())
    amount = payment_terms.billing_period_amount(account.id)
    context = dict(
        account=account, methods=methods, gateway=gateway, inline_form=inline,
        states={m.id: payments.expiry_state(m, today) for m in methods},
        labels={m.id: payments.describe(m) for m in methods},
        kept=payments.last_usable(methods, account.id, today),  # PAY-5: no Remove offered
        form_open=form_open, snippet=snippet, error=error, next_url=return_to(),
        manual_method=payments.manual_method_of(account.id), last_request=last_request,
        period_amount=amount, manual_minimum=payments.manual_minimum(account),
        currency=account.currency,
        manual_allowed=payment_terms.manual_method_allowed(
            amount, account.grandfathered, payments.manual_minimum(account)),
        manual_form=manual_form or ManualRequestForm(formdata=None))
    template = "cards/_widget.html" if htmx and not htmx.boosted else "cards/index.html"
    return render_template(template, **context), status, headers


def done(message: str, category: str = "success"):
    """After an action: flash, then the widget for htmx or a redirect to the page."""
    flash(message, category)
    if htmx:
        return widget()
    return redirect(url_for("cards.index"), code=303)


@bp.errorhandler(ConfigurationError)
def gateway_misconfigured(exc):
    """PORTAL_GATEWAY names no enabled plugin: say so (503), the operator must fix it."""
    current_app.logger.error("card gateway misconfigured: %s", exc)
    return render_template("errors/error.html", status=503, message=_(
        "Payment methods are unavailable: the payment gateway is not configured. Please "
        "contact %(address)s.", address=current_app.config["SUPPORT_EMAIL"])), 503


@bp.route("/")
@account_admin_required
def index():
    """The account's payment methods."""
    return widget()


@bp.route("/new")
@account_admin_required
def new():
    """The add-card form: swapped into the widget by htmx, or on the page without JS."""
    return widget(form_open=True)


@bp.route("/", methods=["POST"])
@account_admin_required
def add():
    """Vault a card through the gateway; errors appear next to the card field."""
    try:
        method = payments.add_card(current_user.account, current_user,
                                   request.form.get("payment_method_nonce", ""), card_gateway())
    except payments.PaymentError as exc:
        return widget(form_open=True, error=exc.message, status=200 if htmx else 422)
    message = _("%(card)s is saved.", card=payments.describe(method))
    if method.is_default:
        message += " " + _("It is your default payment method.")
    back = return_to()
    if back:  # back where the card was missing (the review page, the invoices)
        flash(message, "success")
        if htmx:
            return "", 204, {"HX-Redirect": back}
        return redirect(back, 303)
    return done(message)


@bp.route("/<int:method_id>/default", methods=["POST"])
@account_admin_required
def make_default(method_id):
    """Make a method the one the billing run charges."""
    method = own_method_or_404(method_id)
    try:
        payments.set_default(current_user.account, current_user, method, all_gateways(),
                             clock.today())
    except payments.PaymentError as exc:
        return done(exc.message, "error")
    return done(_("%(method)s is now your default payment method.",
                  method=payments.describe(method)))


@bp.route("/<int:method_id>/remove", methods=["POST"])
@account_admin_required
def remove(method_id):
    """Remove a method, never the last usable one of an active subscription (PAY-5)."""
    method = own_method_or_404(method_id)
    try:
        promoted = payments.remove_method(current_user.account, current_user, method,
                                          all_gateways(), clock.today())
    except payments.PaymentError as exc:
        return done(exc.message, "error")
    message = _("%(method)s is removed.", method=payments.describe(method))
    if promoted is not None:
        message += " " + _("%(method)s is now your default payment method.",
                           method=payments.describe(promoted))
    return done(message)


@bp.route("/manual", methods=["POST"])
@account_admin_required
def request_manual():
    """Ask to pay by invoice (PAY-3); an operator approves or refuses."""
    form = ManualRequestForm()
    if not form.validate():
        return widget(manual_form=form, status=200 if htmx else 422)
    try:
        payments.request_manual_method(current_user.account, current_user, form.note.data or "")
    except payments.PaymentError as exc:
        return done(exc.message, "error")
    return done(_("Your request to pay by invoice is sent; an operator will approve it "
                  "shortly."))
