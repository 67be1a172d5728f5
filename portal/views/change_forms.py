"""The forms of the plan-change wizard (views/changes.py) and step 1 bound to a request.

Validation happens twice: WTForms checks the shape of each field (whole numbers, known
plan codes, known reasons), then portal/billing checks the rules (CHG-3 seat floor,
CHG-6 notice, mixed changes); both kinds of error are shown next to their field. What
the forms offer is in change_choices.py, what the wizard says in change_messages.py, and
its signed state in change_draft.py.
"""
from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField, RadioField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from .. import clock, fragments
from ..billing import gross, orders
from ..billing.changes import MAX_UNITS, Terms, family
from ..forms import Form
from ..billing.catalogue import NoPrice, PriceBook, book_state
from ..models import Account, Membership, User
from .change_choices import (INTERVAL_CHOICES, choices, offered_plans, plan_choices,
                             reason_choices, unit_label)
from .change_messages import rule_message

STEP_ONE_FIELDS = ("plan", "interval", "quantity", "addon_quantity")


class ChangeForm(Form):
    class Meta:
        csrf = False  # CSRFProtect already guards every POST; step 1 also validates GETs

    plan = SelectField(_l("Plan"))
    interval = RadioField(_l("Billing interval"), choices=choices(INTERVAL_CHOICES))
    quantity = IntegerField(_l("Users"), validators=[
        InputRequired(_l("Enter the number of users.")),
        NumberRange(1, MAX_UNITS, _l("Enter a whole number from %(min)s to %(max)s."))])
    addon_quantity = IntegerField(_l("Add-on licenses"), validators=[
        InputRequired(_l("Enter the number of add-on licenses (0 for none).")),
        NumberRange(0, MAX_UNITS, _l("Enter a whole number from %(min)s to %(max)s."))])


class SurveyForm(Form):
    class Meta:
        csrf = False  # CSRFProtect already guards every POST

    reason = RadioField(_l("Main reason"), choices=choices(reason_choices()),
                        validators=[Optional()])
    details = TextAreaField(_l("In your own words"), validators=[
        Length(max=1000, message=_l("At most %(max)s characters, please."))])


def validate_survey(form: SurveyForm, required: bool) -> bool:
    """Shape first, then the rule: a reason is required for downgrades only (CHG-2; a
    cancellation's is optional, click-to-cancel, issue #17)."""
    ok = form.validate()
    if required and not form.reason.data and not form.reason.errors:
        form.reason.errors.append(_("Choose a reason: we ask it for every downgrade."))
        ok = False
    if form.reason.data == "other" and not (form.details.data or "").strip():
        form.details.errors.append(_("Tell us the reason in a few words."))
        ok = False
    return ok


def usage_stamp(sub) -> int:
    """The usage stamp of ``sub``'s account as it is now: previews reuse the usage counted
    under it (orders.review_state), flat with the account's size. A GET in the person's
    own account takes the one the user loader read at the start of this request (nothing
    was written since); otherwise one primary-key read (a POST may have just changed a
    membership, and an operator has no account of their own)."""
    account = getattr(current_user, "account", None)
    if (request.method == "GET" and account is not None
            and account.id == sub.account_id and account.usage_stamp is not None):
        return account.usage_stamp
    return (Account.select(Account.usage_stamp)
            .where(Account.id == sub.account_id).scalar())


def step_one(sub, today, formdata=None):
    """Step 1's form bound to the request (defaults: the current terms) and its preview.

    The preview is None until the admin asks for something (typing, Recalculate).
    """
    if formdata is None:
        source = request.form if request.method == "POST" else request.args
        formdata = source if any(k in source for k in STEP_ONE_FIELDS) else None
    values = {"plan": sub.plan.code, "interval": sub.interval, "quantity": str(sub.quantity),
              "addon_quantity": str(sub.addon_quantity)}
    if formdata is not None:
        values.update({k: formdata.get(k, "") for k in STEP_ONE_FIELDS if k in formdata})
    form = ChangeForm(formdata=MultiDict(values))
    offered = offered_plans(sub)
    form.plan.choices = plan_choices(sub)
    seat = family(sub.plan) == "seat"
    if not seat:
        del form.quantity
        del form.addon_quantity
    if not form.validate() or formdata is None:
        return form, None
    plan = next(p for p in offered if p.code == form.plan.data)  # a choice: validated
    wanted = Terms(plan, form.interval.data, form.quantity.data if seat else 0,
                   form.addon_quantity.data if seat else 0)
    preview = orders.live_preview(sub, wanted, today=today, stamp=usage_stamp(sub))
    for name, (code, params) in preview.errors.items():
        if name in form:
            form[name].errors.append(rule_message(code, params))
    return form, preview


def preview_context(sub, form, preview, cards: bool = True) -> dict:
    """What step 1 and its live-preview partial show; the partial (``cards`` false) has
    no plan cards, so it reads no prices for them."""
    general = [rule_message(*preview.errors["form"])] if preview and "form" in preview.errors \
        else []
    field_errors = [(form[name].label.text, error) for name in STEP_ONE_FIELDS if name in form
                    for error in form[name].errors]
    candidates = []
    if preview and (preview.surplus_seats or preview.surplus_addons):
        query = (Membership.select(Membership, User).join(User)
                 .where((Membership.account == sub.account_id)
                        & (Membership.active == True)))  # noqa: E712
        if not preview.surplus_seats:
            query = query.where(Membership.holds_addon_license == True)  # noqa: E712
        candidates = list(query.order_by(Membership.holds_addon_license, User.name, User.email))
    values = {name: (form[name].raw_data[0] if form[name].raw_data else form[name].data)
              for name in STEP_ONE_FIELDS if name in form}
    return {"sub": sub, "form": form, "preview": preview, "general_errors": general,
            "field_errors": field_errors, "candidates": candidates, "values": values,
            "me": current_user.id, "plan_cards": plan_cards(sub) if cards else [],
            "taxes": preview_taxes(sub, preview)}


def preview_taxes(sub, preview):
    """The preview's figures taxed as their documents will be (TAX-3); None until there
    is a change to price."""
    if not preview or not preview.ok or preview.errors:
        return None
    return gross.of_preview(sub.account, preview, clock.today())


def price_book() -> PriceBook:
    """The whole price book, kept per worker (portal.fragments) under its state: one cheap
    statement instead of reading the versions on every keystroke of the live preview
    (versions are only ever added, CAT-2: ``book_state`` changes with any change)."""
    return fragments.cache().get_or_render(("price-book", book_state()), PriceBook.load)


def plan_cards(sub) -> list[dict]:
    """Step 1's plan cards (issue #17.3): each plan the subscription may move to, its
    prices per unit for both intervals (the page shows the chosen one), what it counts and
    what annual billing saves per unit a year; one query."""
    offered = offered_plans(sub)
    codes = [p.code for p in offered]
    plans = {p.code: p for p in offered}
    book = price_book()
    currency = sub.price_version.currency
    cards = []
    for code in codes:
        plan = plans.get(code)
        if plan is None:
            continue
        # CAT-1/CAT-2: its own plan at the version it pays; another at its newest version
        # in the account's currency (none there: not offered).
        try:
            prices = sub.price_version if plan.id == sub.plan_id else book.latest(plan.id,
                                                                                    currency)
        except NoPrice:
            continue
        cards.append({"plan": plan, "prices": prices, "currency": currency,
                      "current": code == sub.plan.code, "counts": unit_label(plan),
                      "saving": max(prices.monthly_price * 12 - prices.annual_price, 0),
                      "addon_saving": max(prices.addon_monthly_price * 12
                                          - prices.addon_annual_price, 0)})
    return cards
