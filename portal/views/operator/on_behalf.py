"""Changing a subscription on its account's behalf (rule CHG-7): the admins of a
negotiated account cannot use the wizard (views/changes.py says so and gives the support
address); support makes the change for them here, through the very engine the wizard
uses: the same draft and signed review (change_draft.py), the same preview and proration
(portal/billing/changes.py, ``orders.review_state``), the same review partial
(changes/_macros.html) and ``orders.place_order`` with the operator as its actor. The
review's key makes a double submit place one order (the customer's idempotency); a note
for the audit log is required. Any account's subscription can be changed this way.
"""
from __future__ import annotations


from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ... import clock, payments
from ...billing import orders
from ...billing.changes import pending_changes
from ...db import write_transaction
from ...forms import Form
from ...models import Account, AuditEvent, ChangeOrder, Subscription
from ...statuses import SubscriptionStatus
from .. import change_forms
from ..change_draft import Draft, Review, load_review, sign
from ..change_messages import Scheduled, refusal_message
from ..changes import announce_order, gateway
from . import bp

NOTE_LIMIT = 500


class NoteForm(Form):
    """Why support placed this change, for the audit log (required)."""

    class Meta:
        csrf = False  # CSRFProtect guards every POST; the form carries the token

    note = TextAreaField(_l("Note for the audit log"), validators=[
        DataRequired(_l("Say why you place this change (e.g. the customer's request).")),
        Length(max=NOTE_LIMIT, message=_l("At most %(max)s characters, please."))],
        description=_l("Who asked for it and how; the account's timeline shows it."))


def _subscription(sid: int) -> Subscription:
    return Subscription.get_or_none(Subscription.id == sid) or abort(404)


def _page(sub, form, preview, *, token=None, note=None, error=None, status=200):
    """The change page: the wizard's step 1 fields and, once asked, its review."""
    account = Account.get_by_id(sub.account_id)
    context = change_forms.preview_context(sub, form, preview)
    blocked = None
    if sub.status != SubscriptionStatus.ACTIVE:
        blocked = _("This subscription has ended.")
    elif (scheduled := pending_changes(sub).first()) is not None:
        blocked = _("A change is already scheduled: %(what)s Withdraw it first.",
                    what=Scheduled.of(scheduled).describe())
    if preview is not None and preview.ok and blocked is None and token is None:
        draft = Draft(sub.id, form.plan.data, form.interval.data, preview.new.quantity,
                      preview.new.addon_quantity)
        preview, digest = orders.review_state(sub, draft.terms(), today=clock.today())
        token = sign(Review.of(draft, digest, preview.figures()))
    card = orders.default_payment_method(sub.account_id, gateway().name)
    return render_template("operator/change.html", **context, account=account,
                           blocked=blocked, token=token, note_form=note or NoteForm(),
                           error=error, card=card, card_text=card and payments.describe(card)
                           ), status


@bp.route("/subscriptions/<int:sid>/change")
def change_on_behalf(sid):
    """The new terms (plan, users, licenses, interval), then the review as the customer
    would see it, with its amounts and dates (CHG-2..CHG-8)."""
    sub = _subscription(sid)
    form, preview = change_forms.step_one(sub, clock.today())
    status = 400 if form.errors or (preview is not None and not preview.ok) else 200
    return _page(sub, form, preview, status=status)


def _review_again(sub, token, *, note=None, error=None, status=400, keep=True):
    """The page for a posted review: its terms, fresh figures, and the same signed review
    (so the same key) when ``keep`` (a missing note), or a new one (the figures moved)."""
    draft = token.draft
    form, preview = change_forms.step_one(sub, clock.today(),
                                          MultiDict(draft.step_one_args()))
    keep = keep and preview is not None and preview.ok and preview.figures() == token.figures
    return _page(sub, form, preview, token=request.form["review"] if keep else None, note=note,
                 error=error, status=status)


@bp.route("/subscriptions/<int:sid>/order", methods=["POST"])
def order_on_behalf(sid):
    """Place the reviewed change for the customer, once per review (CHG-7), with a note."""
    sub = _subscription(sid)
    token = load_review(request.form.get("review"))
    if token is None or token.draft.subscription_id != sub.id or \
            {k: request.form.get(k, "") for k in token.figures} != token.figures:
        abort(400)  # altered or not this subscription's review
    placed = ChangeOrder.get_or_none(ChangeOrder.review_key == token.review_key)
    if placed is not None:  # a double submit: the first one's order
        flash(_("This order was already placed; it was not placed again."), "info")
        return redirect(url_for(".account", account_id=sub.account_id, _anchor="subscriptions"),
                        303)
    note = NoteForm()
    if not note.validate():
        return _review_again(sub, token, note=note)
    terms = token.draft.terms() or abort(404)
    try:
        order, created = orders.place_order(
            sub.id, terms, review_key=token.review_key,
            expected={"fingerprint": token.fingerprint, **token.figures}, today=clock.today(),
            gateway=gateway(), cancel=False, actor_id=current_user.id)
    except orders.ChangeRefused as refused:
        return _review_again(sub, token, note=note, error=refusal_message(refused.code),
                             status=409, keep=False)
    if created:
        _note(order, " ".join(note.note.data.split()))
    return _after(order, created)


def _note(order: ChangeOrder, note: str) -> None:
    """The audit entry of a change placed on the customer's behalf: who, what, why."""
    with write_transaction():
        AuditEvent.create(account=order.account_id, actor=current_user.id,
                          action="subscription.on_behalf",
                          detail=f"order {order.id} ({order.change}, {order.status}) placed "
                                 f"by support for the account: {note}")


def _after(order: ChangeOrder, created: bool):
    """Tell the account's admins of a placed order, as the wizard does, and go back."""
    announce_order(order, created)
    return redirect(url_for(".account", account_id=order.account_id, _anchor="subscriptions"),
                    303)


