"""Payment methods: requests to pay by invoice (approve or refuse) and grandfathered
accounts (rules PAY-3, PAY-4)."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from ... import payments
from ...billing import payment_terms
from ...i18n import money_filter
from ...forms import Form
from ...models import Account, ManualMethodRequest, User
from ...statuses import RequestStatus
from . import bp


class DecisionForm(Form):
    note = TextAreaField(_l("Note for the account admin (required to refuse)"),
                         validators=[Length(max=500)])


class GrandfatherForm(Form):
    account = SelectField(_l("Account"), coerce=int, validators=[InputRequired()])
    first_used_on = DateField(_l("Paid by invoice since (before 2019-04-01)"),
                              validators=[DataRequired()])
    note = TextAreaField(_l("Note (contract, reference)"), validators=[Length(max=500)])


def _grandfather_form(formdata=None) -> GrandfatherForm:
    form = GrandfatherForm(formdata=formdata)
    form.account.choices = [(a.id, a.name) for a in Account.select().where(
        Account.grandfathered == False).order_by(Account.name)]  # noqa: E712
    return form


def _approvals_page(grandfather_form=None, status=200):
    pending = (ManualMethodRequest.select(ManualMethodRequest, Account)
               .join(Account).where(ManualMethodRequest.status == RequestStatus.PENDING)
               .order_by(ManualMethodRequest.created_at))
    decided = (ManualMethodRequest.select(ManualMethodRequest, Account)
               .join(Account).where(ManualMethodRequest.status != RequestStatus.PENDING)
               .order_by(ManualMethodRequest.decided_at.desc()).limit(20))
    grandfathered = Account.select().where(Account.grandfathered == True).order_by(  # noqa: E712
        Account.name)
    requesters = {u.id: u.email for u in User.select(User.id, User.email).where(
        User.id.in_([r.requested_by_id for r in pending if r.requested_by_id] or [0]))}
    minimums = payment_terms.manual_minimums(current_app.config.get("MANUAL_MINIMUMS"))
    return render_template(
        "operator_payments/approvals.html", pending=pending, decided=decided,
        requesters=requesters, grandfathered=grandfathered,
        minimums=minimums,
        minimums_text=", ".join(money_filter(amount, code) for code, amount in minimums.items()),
        current={r.id: payment_terms.billing_period_amount(r.account_id) for r in pending},
        decision_form=DecisionForm(formdata=None),
        grandfather_form=grandfather_form or _grandfather_form()), status


@bp.route("/payment-methods")
def approvals():
    """Pending requests to pay by invoice, recent decisions and grandfathered accounts."""
    return _approvals_page()


@bp.route("/payment-methods/<int:request_id>/<any(approve, refuse):decision>",
          methods=["POST"])
def decide(request_id, decision):
    """Approve (PAY-3 checked again) or refuse (with a reason) one request."""
    pending = ManualMethodRequest.get_or_none(ManualMethodRequest.id == request_id) or abort(404)
    form = DecisionForm()
    if not form.validate():
        flash(_("The note is too long (500 characters at most)."), "error")
        return redirect(url_for(".approvals"), code=303)
    try:
        payments.decide_manual_request(pending, current_user, decision == "approve",
                                       form.note.data or "")
    except payments.PaymentError as exc:
        flash(exc.message, "error")
    else:
        account = Account.get_by_id(pending.account_id)
        flash(_("Payment by invoice approved for %(account)s.", account=account.name)
              if decision == "approve" else
              _("Request of %(account)s refused.", account=account.name), "success")
    return redirect(url_for(".approvals"), code=303)


@bp.route("/payment-methods/grandfather", methods=["POST"])
def grandfather():
    """Mark an account grandfathered (PAY-4): it keeps payment by invoice whatever the amount."""
    form = _grandfather_form(request.form)
    if form.validate():
        account = Account.get_or_none(Account.id == form.account.data) or abort(404)
        try:
            payments.grandfather(account, current_user, form.first_used_on.data,
                                 form.note.data or "")
        except payments.PaymentError as exc:
            form[exc.field or "account"].errors = [exc.message]
        else:
            flash(_("%(account)s is grandfathered: it keeps payment by invoice.",
                    account=account.name), "success")
            return redirect(url_for(".approvals"), code=303)
    return _approvals_page(grandfather_form=form, status=422)
