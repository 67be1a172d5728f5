"""The plan-change wizard (rules CHG-1..CHG-8, DOC-2): step 1 the new subscription with a
live price preview, step 2 a short survey, step 3 the review, then Place order or Get a
quote; the quotes list (PDF, Accept), order pages, and undoing a scheduled change.

The wizard keeps no server-side state between steps: each step carries a signed draft
(``d``) of what was asked, and the review a signed token holding its idempotency key,
the fingerprint of what it was computed from and the figures it showed
(change_draft.py). Every step recomputes the change through portal/billing, so a
tampered or stale request is refused with the reason, and nothing is written.
"""
import datetime as dt

from peewee import JOIN
from flask import (Blueprint, abort, current_app, flash, make_response, redirect,
                   render_template, request, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import clock, pager, payments
from ..accounts import memberships
from ..accounts.memberships import MembershipError
from ..billing import orders, quotes
from ..billing.changes import Terms, family, pending_changes
from ..db import db
from ..documents import render_pdf
from ..events import OrderPlaced, QuoteReady, SurveyAnswered, emit
from ..gateways import active_gateway
from ..i18n import in_account_language, select_locale, use_currency
from ..models import (ChangeOrder, PendingChange, Plan, PriceVersion, Quote, QuoteLine,
                      Subscription, SurveyAnswer)
from ..plugins import plugin_manager
from ..security import account_admin_required, htmx
from ..sqlcache import Compiled, columns, model_of
from ..statuses import ChangeKind, OrderStatus, SubscriptionStatus
from . import change_forms as forms
from .admin import own_member_or_404
from .change_choices import reason_choices
from .change_draft import Draft, Review, load_draft, load_review, sign
from .subscription import with_plan_and_prices
from .change_messages import (Scheduled, describe_line, format_day, placed_message,
                              refusal_message)

bp = Blueprint("changes", __name__, url_prefix="/admin/subscription")



def today() -> dt.date:
    """Today's date from the app's one clock (tests and demos pin it with ``TODAY``)."""
    return clock.today()


# Read by every wizard request, the live preview on each keystroke: compiled once per
# process (portal/sqlcache.py).
_OWN_SUBSCRIPTION = Compiled(
    lambda sid, account_id: Subscription.select(*columns(Subscription), *columns(Plan),
                                                *columns(PriceVersion))
    .join(Plan).switch(Subscription).join(PriceVersion, JOIN.LEFT_OUTER)
    .where((Subscription.id == sid) & (Subscription.account == account_id)).limit(1), 2)
_FIRST_PENDING = Compiled(lambda sid: pending_changes(Subscription(id=sid)).limit(1), 1)


def own_subscription_or_404(sid: int) -> Subscription:
    """A subscription of the current account; another account's is 404 (no leak). Read
    with its plan and price version, and given the account the user loader read with the
    person, so that pricing it (the live preview on every keystroke) reads nothing more;
    the page's amounts are in that account's currency (CAT-1), as ``page_currency`` says."""
    found = _OWN_SUBSCRIPTION.rows(sid, current_user.account_id)
    if not found:
        abort(404)
    sub = with_plan_and_prices(found[0])
    account = current_user.account
    if account is not None and account.id == sub.account_id:
        sub.account = account
        use_currency(account.currency)
    return sub


def halt(body, status):
    """Stop the view here and answer ``body`` with ``status``."""
    abort(make_response(body, status))


def ensure_open(sub: Subscription) -> None:
    """Show why the wizard cannot run instead of a dead form (CHG-7 and the like)."""
    status = 200 if request.method == "GET" else 403
    if current_user.account.negotiated_contract:
        halt(render_template("changes/blocked.html", sub=sub, reason="negotiated"), status)
    if sub.status == SubscriptionStatus.TRIALING:  # TRI-1: nothing is charged in a trial
        halt(render_template("changes/blocked.html", sub=sub, reason="trial"), status)
    if sub.status != SubscriptionStatus.ACTIVE:
        halt(render_template("changes/blocked.html", sub=sub, reason="ended"), status)
    first = _FIRST_PENDING.rows(sub.id)  # pending_changes(sub).first(), compiled
    scheduled = model_of(PendingChange, columns(PendingChange), first[0]) if first else None
    if scheduled is not None:
        halt(render_template("changes/blocked.html", sub=sub, reason="scheduled",
                             scheduled=Scheduled.of(scheduled)),
             200 if status == 200 else 409)


def wanted_from(draft: Draft) -> Terms:
    """The terms a (verified) draft asks for; 404 if its plan is gone."""
    return draft.terms() or abort(404)


def draft_url(endpoint: str, sub: Subscription, draft: Draft) -> str:
    """A wizard step's URL carrying ``draft``, signed."""
    return url_for(endpoint, sid=sub.id, d=sign(draft))


def gateway():
    return active_gateway(plugin_manager(), current_app.config)


def bad_token():
    """Stop: the draft or review was altered, or it expired."""
    halt(render_template("changes/blocked.html", reason="bad_token", sub=None), 400)


# --- step 1 ---------------------------------------------------------------------------

@bp.route("/<int:sid>/change", methods=["GET", "POST"])
@account_admin_required
def start(sid):
    """Step 1: plan, users, add-on licenses and interval, with a live preview (htmx)."""
    sub = own_subscription_or_404(sid)
    ensure_open(sub)
    form, preview = forms.step_one(sub, today())
    if (request.method == "POST" and "recalculate" not in request.form and preview
            and preview.ok):
        draft = Draft(sub.id, form.plan.data, form.interval.data, preview.new.quantity,
                      preview.new.addon_quantity)
        # rule CHG-2: only a downgrade asks why first; other changes go to the review,
        # which offers the (optional) survey as a link (issue #17: fewer clicks)
        step = "changes.survey" if preview.change == ChangeKind.DOWNGRADE else "changes.review"
        return redirect(draft_url(step, sub, draft), 303)
    if htmx and htmx.target == "preview":  # the live preview alone (no plan cards)
        return render_template("changes/_preview.html",
                               **forms.preview_context(sub, form, preview, cards=False))
    context = forms.preview_context(sub, form, preview)
    status = 400 if request.method == "POST" and "recalculate" not in request.form and (
        form.errors or not preview or not preview.ok) else 200
    return render_template("changes/start.html", **context), status


@bp.route("/<int:sid>/change/members/<int:user_id>/deactivate", methods=["POST"])
@account_admin_required
def deactivate_member(sid, user_id):
    """Deactivate a surplus user from step 1 (CHG-3), then show step 1 again."""
    sub = own_subscription_or_404(sid)
    person = own_member_or_404(user_id)
    try:
        change = memberships.set_active(current_user.account, None, False, user_id=user_id,
                                        actor=current_user.id)
    except MembershipError as refusal:
        flash(refusal.message, "error")
    else:
        if change.result == "deactivated":
            flash(_("%(email)s is deactivated and no longer occupies a seat.",
                    email=person.email), "success")
    if htmx:
        form, preview = forms.step_one(sub, today(), request.form)
        return render_template("changes/_preview.html",
                               **forms.preview_context(sub, form, preview, cards=False))
    values = {k: request.form.get(k, "") for k in forms.STEP_ONE_FIELDS if k in request.form}
    return redirect(url_for("changes.start", sid=sub.id, **values), 303)


# --- step 2 ---------------------------------------------------------------------------

def _draft_preview(sid):
    """(sub, draft, preview, digest) of a step-2/3 request; stops on a bad draft."""
    sub = own_subscription_or_404(sid)
    ensure_open(sub)
    draft = load_draft(request.args.get("d"))
    if draft is None or draft.subscription_id != sub.id:
        bad_token()
    preview, digest = orders.review_state(sub, wanted_from(draft), today=today(),
                                          cancel=draft.cancel, stamp=forms.usage_stamp(sub))
    if not preview.ok:
        flash(_("Your subscription changed since: check the new figures."), "error")
        halt(redirect(url_for("changes.start", sid=sub.id, **draft.step_one_args())), 303)
    return sub, draft, preview, digest


@bp.route("/<int:sid>/survey", methods=["GET", "POST"])
@account_admin_required
def survey(sid):
    """Step 2: why (fixed reasons and free text), required for downgrades only (CHG-2)."""
    sub, draft, preview, _digest = _draft_preview(sid)
    required = preview.change == ChangeKind.DOWNGRADE  # rule CHG-2 (cancel: optional, #17)
    form = forms.SurveyForm()
    if request.method == "POST" and forms.validate_survey(form, required):
        answer = None
        if form.reason.data:
            answer = _store_answer(sub, draft, preview.change, form)
        flash(_("Thank you. Now review your order."), "success")
        draft = draft.with_survey(answer.id if answer else None)
        return redirect(draft_url("changes.review", sub, draft), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("changes/survey.html", sub=sub, preview=preview, form=form,
                           required=required, draft=draft), status


def _store_answer(sub, draft, change, form) -> SurveyAnswer:
    """Save the answer of this wizard run (once per run) and tell the operators."""
    values = {"reason": form.reason.data, "details": (form.details.data or "").strip(),
              "change": change}
    with db.atomic():
        answer = SurveyAnswer.get_or_none(SurveyAnswer.draft_key == draft.key)
        if answer is None:
            answer = SurveyAnswer.create(account=sub.account_id, subscription=sub,
                                         user=current_user.id, draft_key=draft.key, **values)
        else:
            SurveyAnswer.update(**values).where(SurveyAnswer.id == answer.id).execute()
    emit(plugin_manager(), [SurveyAnswered(sub.account_id, answer.id, current_user.id)])
    return answer


# --- step 3 ---------------------------------------------------------------------------

def _review_page(sub, draft, preview, digest, *, error=None, error_code=None, status=200):
    token = sign(Review.of(draft, digest, preview.figures()))
    # the card Place order charges (issue #17.3), and a way back here once one is added
    card = orders.default_payment_method(sub.account_id, gateway().name)
    add_card_url = url_for("cards.new", next=draft_url("changes.review", sub, draft))
    return render_template("changes/review.html", sub=sub, preview=preview, token=token,
                           draft=draft, error=error, error_code=error_code,
                           card=card, card_text=card and payments.describe(card),
                           taxes=forms.preview_taxes(sub, preview),
                           add_card_url=add_card_url,
                           survey_url=draft_url("changes.survey", sub, draft),
                           back_url=(draft_url("changes.survey", sub, draft)
                                     if preview.change == ChangeKind.DOWNGRADE
                                     else url_for("changes.start", sid=sub.id,
                                                  **draft.step_one_args()))), status


@bp.route("/<int:sid>/review")
@account_admin_required
def review(sid):
    """Step 3: every line and amount, the effective date and why; Place order or quote."""
    sub, draft, preview, digest = _draft_preview(sid)
    if preview.change == ChangeKind.DOWNGRADE and not draft.survey_id:  # rule CHG-2
        return redirect(draft_url("changes.survey", sub, draft), 303)
    return _review_page(sub, draft, preview, digest)


def _posted_review(sid, made):
    """(sub, review, what it made) of a Place order / Get a quote POST: ``made`` is the
    ChangeOrder or Quote already made from this review (a replay), or None. Stops on an
    altered review.

    The caller answers a replay before it calls ``ensure_open``: the first POST may well
    have scheduled a change since.
    """
    sub = own_subscription_or_404(sid)
    token = load_review(request.form.get("review"))
    if token is None or token.draft.subscription_id != sub.id:
        bad_token()
    shown = {k: request.form.get(k, "") for k in token.figures}
    if shown != token.figures:  # the hidden figures were edited
        bad_token()
    return sub, token, made.get_or_none(made.review_key == token.review_key)


def _stale(sub, token, code):
    """The review again with fresh figures and why nothing was ordered."""
    draft = token.draft
    fresh_preview, digest = orders.review_state(sub, wanted_from(draft), today=today(),
                                                cancel=draft.cancel, stamp=forms.usage_stamp(sub))
    if not fresh_preview.ok:
        flash(refusal_message(code), "error")
        return redirect(url_for("changes.start", sid=sub.id, **draft.step_one_args()), 303)
    return _review_page(sub, draft, fresh_preview, digest, error=refusal_message(code),
                        error_code=code, status=409)


@bp.route("/<int:sid>/order", methods=["POST"])
@account_admin_required
def place_order(sid):
    """Place order: once per review, whatever the clicks (CHG-2, CHG-4, CHG-8)."""
    sub, token, placed = _posted_review(sid, ChangeOrder)
    if placed is not None:
        return _after_order(orders.settle(placed, gateway()), created=False)
    ensure_open(sub)
    draft = token.draft
    try:
        order, created = orders.place_order(
            sub.id, wanted_from(draft), review_key=token.review_key,
            expected={"fingerprint": token.fingerprint, **token.figures}, today=today(),
            gateway=gateway(), cancel=draft.cancel, actor_id=current_user.id,
            survey_id=draft.survey_id)
    except orders.ChangeRefused as exc:
        return _stale(sub, token, exc.code)
    return _after_order(order, created)


def _after_order(order, created):
    """Tell the admins about a new order and show it; a repeat shows the first one."""
    announce_order(order, created)
    return redirect(url_for("changes.order", oid=order.id), 303)


def announce_order(order, created) -> None:
    """Say what became of an order (flash) and tell the account's admins of a new one
    (the OrderPlaced event): the wizard's and the operator's on-behalf orders alike."""
    if not created:
        flash(_("This order was already placed; it was not placed again."), "info")
    elif order.status == OrderStatus.PLACED:
        flash(placed_message(order), "success")
        emit(plugin_manager(), [OrderPlaced(order.account_id, order.id)])
    elif order.status in (OrderStatus.DECLINED, OrderStatus.FAILED):
        flash(_("The payment was refused (%(message)s). Nothing was changed.",
                message=order.message), "error")


@bp.route("/<int:sid>/quote", methods=["POST"])
@account_admin_required
def get_quote(sid):
    """Get a quote: a numbered PDF of the review, once per review (DOC-2)."""
    sub, token, issued = _posted_review(sid, Quote)
    if issued is not None:
        flash(_("Quote %(number)s was already issued for this review.", number=issued.number),
              "info")
        return redirect(url_for("changes.quote_list", _anchor=f"quote-{issued.id}"), 303)
    ensure_open(sub)
    draft = token.draft
    preview, digest = orders.review_state(sub, wanted_from(draft), today=today(),
                                          cancel=draft.cancel, stamp=forms.usage_stamp(sub))
    if digest != token.fingerprint or preview.figures() != token.figures or not preview.ok:
        return _stale(sub, token, "stale")
    with in_account_language(sub.account):  # the quote's stored line texts, like its PDF
        quote, created = quotes.create_quote(sub, preview, review_key=token.review_key,
                                             digest=digest, today=today(),
                                             describe=describe_line, survey_id=draft.survey_id,
                                             actor_id=current_user.id)
    if created:
        flash(_("Quote %(number)s is ready, valid until %(date)s.", number=quote.number,
                date=format_day(quote.valid_until)), "success")
        emit(plugin_manager(), [QuoteReady(quote.account_id, quote.id)])
    else:
        flash(_("Quote %(number)s was already issued for this review.", number=quote.number),
              "info")
    return redirect(url_for("changes.quote_list", _anchor=f"quote-{quote.id}"), 303)


# --- orders, quotes, scheduled changes ----------------------------------------------------

@bp.route("/orders/<int:oid>")
@account_admin_required
def order(oid):
    """One order: what was changed, charged and scheduled; or why the payment failed."""
    found = (ChangeOrder.get_or_none((ChangeOrder.id == oid)
                                     & (ChangeOrder.account == current_user.account_id))
             or abort(404))
    found = orders.settle(found, gateway())
    retry_url = None
    if found.status in (OrderStatus.DECLINED, OrderStatus.FAILED) and not found.quote_id:
        draft = Draft.of(found.subscription_id, Terms.of(found),
                         cancel=found.change == ChangeKind.CANCEL, survey_id=found.survey_id)
        retry_url = draft_url("changes.review", found.subscription, draft)
    return render_template("changes/order.html", order=found, retry_url=retry_url)


QUOTES_PAGE = 50


def _quotes_page(error=None, status=200):
    page = pager.from_request(Quote.select().where(Quote.account == current_user.account_id)
                              .order_by(Quote.id.desc()), QUOTES_PAGE)
    rows = [(q, quotes.refusal(q, today())) for q in page]
    return render_template("changes/quotes.html", rows=rows, page=page, error=error), status


@bp.route("/quotes")
@account_admin_required
def quote_list():
    """The account's quotes: PDF download, and Accept while valid."""
    return _quotes_page()


def _quote_or_404(qid) -> Quote:
    """A quote of the current account (call after the role check); operators may read
    any (PDF downloads, ACC-2). Another account's quote is 404 (no leak)."""
    quote = Quote.get_or_none(Quote.id == qid) or abort(404)
    if not current_user.is_operator and quote.account_id != current_user.account_id:
        abort(404)
    return quote


@bp.route("/quotes/<int:qid>.pdf")
@login_required
def quote_pdf(qid):
    """The quote as a PDF through the document renderer (DOC-2, DOC-3)."""
    if not (current_user.is_operator or current_user.is_account_admin):
        abort(403)
    quote = _quote_or_404(qid)
    pdf = render_pdf("quote", locale=select_locale(),  # the reader's language
                     quote=quote, lines=list(quote.lines.order_by(QuoteLine.position)),
                     account=quote.account, subscription=quote.subscription)
    return current_app.response_class(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{quote.number}.pdf"',
        "Cache-Control": "private, no-store"})


@bp.route("/quotes/<int:qid>/accept", methods=["POST"])
@account_admin_required
def accept_quote(qid):
    """Accept a quote: the same order, while valid and nothing changed since (CHG-2)."""
    quote = _quote_or_404(qid)
    if quote.accepted_at is not None:
        placed = quote.orders.where(ChangeOrder.status == OrderStatus.PLACED).first()
        if placed:
            flash(_("Quote %(number)s was already accepted.", number=quote.number), "info")
            return redirect(url_for("changes.order", oid=placed.id), 303)
    try:
        order_, created = quotes.accept_quote(quote, today=today(), gateway=gateway(),
                                              actor_id=current_user.id)
    except orders.ChangeRefused as exc:
        return _quotes_page(error=refusal_message(exc.code, quote=quote), status=409)
    return _after_order(order_, created)


@bp.route("/<int:sid>/scheduled/<int:change_id>/withdraw", methods=["POST"])
@account_admin_required
def withdraw(sid, change_id):
    """Undo a scheduled change (e.g. a cancellation) until the day it takes effect."""
    sub = own_subscription_or_404(sid)
    change = orders.withdraw(sub, change_id, today=today(), actor_id=current_user.id)
    if change is None:
        abort(404)
    if change.cancel:
        flash(_("The cancellation is undone: your subscription renews as before."), "success")
    else:
        flash(_("The scheduled change is withdrawn."), "success")
    return redirect(url_for("subscription.index"), 303)


@bp.app_template_global()
def change_history(account_id, limit=20):
    """Recent survey answers, quotes and orders of an account, for operators."""
    old_plan = Plan.alias()  # each list one query: the plans it names read in it (issue #18.2)
    return {"answers": list(SurveyAnswer.select().where(SurveyAnswer.account == account_id)
                            .order_by(SurveyAnswer.id.desc()).limit(limit)),
            "quotes": list(Quote.select(Quote, Plan).join(Plan)
                           .where(Quote.account == account_id)
                           .order_by(Quote.id.desc()).limit(limit)),
            "orders": list(ChangeOrder.select(ChangeOrder, Plan, old_plan)
                           .join(Plan, on=(ChangeOrder.plan == Plan.id))
                           .switch(ChangeOrder)
                           .join(old_plan, on=(ChangeOrder.old_plan == old_plan.id))
                           .where(ChangeOrder.account == account_id)
                           .order_by(ChangeOrder.id.desc()).limit(limit))}


@bp.app_template_global()
def change_line(line):
    """The text of a preview line (quotes store theirs)."""
    return describe_line(line)


@bp.app_template_global("placed_message")
def placed_order_message(order):
    """What a placed order did, in words."""
    return placed_message(order)


@bp.app_template_global()
def survey_reason(code):
    """A survey reason's label."""
    return dict(reason_choices()).get(code, code)


@bp.app_template_global()
def change_family(plan):
    """"seat" or "usage": which wizard fields a plan has."""
    return family(plan)


from . import change_cancel  # noqa: E402,F401  (registers the cancel page on ``bp``)
