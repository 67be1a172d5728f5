"""Cancelling in one page (issue #17, click-to-cancel as the FTC and EU rules expect): the
consequences (the last day, what is kept, what is charged or refunded), an optional reason
and the confirm button on the same page; the POST places the cancellation and lands on the
home page, where the flash says what happened and the undo button stays until the end date.

It places the same order as the wizard (portal/billing/orders, review token, idempotency
key), so a double click or a replay cancels once.
"""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..billing import orders
from ..billing.changes import Terms
from ..events import OrderPlaced, emit
from ..models import ChangeOrder
from ..plugins import plugin_manager
from ..security import account_admin_required
from ..statuses import ChangeKind, OrderStatus
from . import change_forms as forms
from .change_draft import Draft, Review, load_review, sign
from .change_messages import placed_message, refusal_message
from .changes import (_after_order, _store_answer, bad_token, bp, ensure_open, gateway,
                      own_subscription_or_404, today)


def _page(sub, form, *, error=None, status=200):
    """The cancel page with a fresh review token (its own idempotency key)."""
    current = Terms.of(sub)
    preview, digest = orders.review_state(sub, current, today=today(), cancel=True,
                                          stamp=forms.usage_stamp(sub))
    token = sign(Review.of(Draft.of(sub.id, current, cancel=True), digest, preview.figures()))
    return render_template("changes/cancel.html", sub=sub, preview=preview, form=form,
                           token=token, error=error), status


@bp.route("/<int:sid>/cancel", methods=["GET", "POST"])
@account_admin_required
def cancel(sid):
    """Cancel at the end of the period: what happens, an optional reason, and confirm."""
    sub = own_subscription_or_404(sid)
    form = forms.SurveyForm(request.form if request.method == "POST" else None)
    if request.method == "GET":
        ensure_open(sub)
        return _page(sub, form)
    token = load_review(request.form.get("review"))
    if token is None or token.draft.subscription_id != sub.id or not token.draft.cancel:
        bad_token()
    placed = ChangeOrder.get_or_none(ChangeOrder.review_key == token.review_key)
    if placed is not None:  # a double click: the first POST already cancelled
        return _home(sub, orders.settle(placed, gateway()), created=False)
    ensure_open(sub)
    if not forms.validate_survey(form, required=False):  # optional here (issue #17, CHG-2)
        return _page(sub, form, status=400)
    draft = token.draft
    answer = _store_answer(sub, draft, ChangeKind.CANCEL, form) if form.reason.data else None
    try:
        order, _created = orders.place_order(
            sub.id, draft.terms(), review_key=token.review_key,
            expected={"fingerprint": token.fingerprint, **token.figures}, today=today(),
            gateway=gateway(), cancel=True, actor_id=current_user.id,
            survey_id=answer.id if answer else None)
    except orders.ChangeRefused as exc:
        return _page(sub, form, error=refusal_message(exc.code), status=409)
    return _home(sub, order, created=True)


def _home(sub, order, created):
    """Back home, where the flash says what happened and the undo button waits."""
    if order.status != OrderStatus.PLACED:  # a cancellation charges nothing; be safe
        return _after_order(order, created)
    if created:
        flash(placed_message(order), "success")
        emit(plugin_manager(), [OrderPlaced(order.account_id, order.id)])
    else:
        flash(_("This cancellation was already placed; it was not placed again."), "info")
    return redirect(url_for("subscription.index", _anchor=f"plan-{sub.id}"), 303)
