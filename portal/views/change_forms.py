"""Forms, messages and small view helpers of the plan-change wizard (views/changes.py).

Validation happens twice: WTForms checks the shape of each field (whole numbers, known
plan codes, known reasons), then portal/billing checks the rules (CHG-3 seat floor,
CHG-6 notice, mixed changes); both kinds of error are shown next to their field.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from ..forms import Form
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField, RadioField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

try:  # WTForms 3.3 deprecates (value, label) tuples as choices
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)

from ..billing import orders
from ..billing.changes import MAX_UNITS, ONE_DAY, Terms, family
from ..i18n import date_filter, money_filter
from ..models import Plan, User

STEP_ONE_FIELDS = ("plan", "interval", "quantity", "addon_quantity")
INTERVAL_CHOICES = (("monthly", _l("Monthly")), ("annual", _l("Annual")))


def choices(pairs):
    return [SelectChoice(value, label) for value, label in pairs]


def reason_choices():
    return (("price", _l("It costs too much")),
            ("team_size", _l("Our team changed size")),
            ("features", _l("Features: missing, or needed")),
            ("competitor", _l("We are moving to another product")),
            ("seasonal", _l("A seasonal or temporary need")),
            ("other", _l("Another reason (tell us below)")))


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
    """Shape first, then the rule: a reason is required for downgrades and cancellations."""
    ok = form.validate()
    if required and not form.reason.data and not form.reason.errors:
        form.reason.errors.append(_("Choose a reason: we ask it for every downgrade and "
                                    "cancellation."))
        ok = False
    if form.reason.data == "other" and not (form.details.data or "").strip():
        form.details.errors.append(_("Tell us the reason in a few words."))
        ok = False
    return ok


RULE_ERRORS = {
    "plan_other_family": _l("This plan is not available for this subscription."),
    "plan_unavailable": _l("This plan is no longer offered."),
    "interval_unknown": _l("Choose monthly or annual."),
    "quantity_range": _l("Enter a whole number from %(low)s to %(high)s."),
    "addons_over_seats": _l("Add-on licenses cannot outnumber the users."),
    "interval_alone": _l("Switch between monthly and annual on its own; change the plan or "
                         "the numbers in a separate order."),
    "no_change": _l("This is your current subscription: change the plan, the users or the "
                    "licenses to see the new price."),
    "mixed_change": _l("A downgrade cannot add users, licenses or a higher plan at the same "
                       "time: place the increase as an order of its own first."),
    "seat_floor": _l("You have %(active)s active users: deactivate %(surplus)s of them first, "
                     "or keep at least %(active)s users."),
    "addon_floor": _l("%(active)s active users hold add-on licenses: deactivate %(surplus)s "
                      "of them first, or keep at least %(active)s licenses."),
}

REFUSALS = {
    "stale": _l("The prices or your subscription changed since this review, so nothing was "
                "ordered. Here are the new figures: check them and place the order again."),
    "ended": _l("This subscription has ended."),
    "scheduled": _l("A change is already scheduled for this subscription: undo it first."),
    "invalid": _l("This change is no longer possible: check the figures again."),
    "busy": _l("The payment of an earlier change of this subscription is still being "
               "confirmed. Try again in a few minutes."),
    "no_payment_method": _l("This change is charged today, but the account has no default "
                            "card. Add a card first: nothing was ordered."),
    "accepted": _l("This quote was already accepted."),
    "expired": _l("Quote %(number)s expired on %(date)s: get a new quote."),
    "changed": _l("The subscription or the prices changed since quote %(number)s was issued, "
                  "so it cannot be accepted: get a new quote."),
}


def rule_message(code: str, params: dict) -> str:
    return str(RULE_ERRORS[code]) % params if params else str(RULE_ERRORS[code])


def refusal_message(code: str, quote=None) -> str:
    params = {"number": quote.number, "date": format_day(quote.valid_until)} if quote else {}
    return str(REFUSALS.get(code, REFUSALS["invalid"])) % params


def format_day(day) -> str:
    return date_filter(day)


def plan_choices(sub):
    """Plans this subscription may move to: its own family, still offered (or its own)."""
    plans = (Plan.select().where(Plan.available | (Plan.id == sub.plan_id))
             .order_by(Plan.rank, Plan.name))
    return choices((p.code, p.name) for p in plans if family(p) == family(sub.plan))


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
    form.plan.choices = plan_choices(sub)
    seat = family(sub.plan) == "seat"
    if not seat:
        del form.quantity
        del form.addon_quantity
    if not form.validate() or formdata is None:
        return form, None
    plan = Plan.get(Plan.code == form.plan.data)
    wanted = Terms(plan, form.interval.data, form.quantity.data if seat else 0,
                   form.addon_quantity.data if seat else 0)
    preview, _digest = orders.review_state(sub, wanted, today=today)
    for name, (code, params) in preview.errors.items():
        if name in form:
            form[name].errors.append(rule_message(code, params))
    return form, preview


def preview_context(sub, form, preview) -> dict:
    """What step 1 and its live-preview partial show."""
    general = [rule_message(*preview.errors["form"])] if preview and "form" in preview.errors \
        else []
    field_errors = [(form[name].label.text, error) for name in STEP_ONE_FIELDS if name in form
                    for error in form[name].errors]
    candidates = []
    if preview and (preview.surplus_seats or preview.surplus_addons):
        query = User.select().where((User.account == sub.account_id)
                                    & (User.active == True))  # noqa: E712
        if not preview.surplus_seats:
            query = query.where(User.holds_addon_license == True)  # noqa: E712
        candidates = list(query.order_by(User.holds_addon_license, User.name, User.email))
    values = {name: (form[name].raw_data[0] if form[name].raw_data else form[name].data)
              for name in STEP_ONE_FIELDS if name in form}
    return {"sub": sub, "form": form, "preview": preview, "general_errors": general,
            "field_errors": field_errors, "candidates": candidates, "values": values,
            "me": current_user.id}


def draft_args(draft: dict) -> dict:
    """Step 1's query string for a draft (back links, and after a refusal)."""
    args = {"plan": draft["p"], "interval": draft["i"]}
    if family(Plan.get(Plan.code == draft["p"])) == "seat":
        args.update(quantity=draft["q"], addon_quantity=draft["a"])
    return args


def unit_label(plan) -> str:
    return {"seat": _("users"), "device": _("devices"),
            "location": _("location subscriptions")}[plan.kind]


def interval_label(interval: str) -> str:
    return str(dict(INTERVAL_CHOICES)[interval])


def describe_line(line) -> str:
    """A quote line's text, stored with the quote (it never changes afterwards)."""
    if line.key == "addon":
        return _("Add-on licenses, %(interval)s", interval=interval_label(line.interval).lower())
    return _("%(plan)s, %(interval)s: %(unit)s", plan=line.plan.name,
             interval=interval_label(line.interval).lower(), unit=unit_label(line.plan))


def placed_message(order) -> str:
    """What the flash and the admins' notification say about a placed order."""
    day = format_day(order.effective_on)
    if order.change == "upgrade":
        return _("Your change to %(plan)s is active now; %(amount)s was charged.",
                 plan=order.plan.name, amount=money_filter(order.due_now))
    if order.change == "downgrade" and order.applied_now:
        return _("Your users and add-on licenses are reduced now; the new price applies "
                 "from %(date)s.", date=day)
    if order.change == "downgrade":
        return _("Your downgrade takes effect at the renewal on %(date)s.", date=day)
    if order.change == "interval":
        return _("Your switch to %(interval)s billing takes effect on %(date)s.",
                 interval=interval_label(order.interval).lower(), date=day)
    return _("Your subscription is cancelled: it ends on %(date)s. You can undo this "
             "until then.", date=format_day(order.effective_on - ONE_DAY))


@dataclass(frozen=True)
class Scheduled:
    """A scheduled change as the subscription pages show it ("ends on ...")."""

    change: object
    effective_on: object
    ends_on: object

    @classmethod
    def of(cls, change):
        if change is None:
            return None
        return cls(change, change.effective_on, change.effective_on - ONE_DAY)

    @property
    def cancel(self) -> bool:
        return bool(self.change.cancel)

    def describe(self) -> str:
        c = self.change
        if c.cancel:
            return _("Ends on %(date)s: it will not renew.", date=format_day(self.ends_on))
        parts = []
        if c.plan_id:
            parts.append(c.plan.name)
        if c.interval:
            parts.append(interval_label(c.interval))
        seat = family(c.plan if c.plan_id else c.subscription.plan) == "seat"
        if seat and c.quantity is not None:
            parts.append(ngettext("%(num)s user", "%(num)s users", c.quantity))
        if seat and c.addon_quantity is not None:
            parts.append(ngettext("%(num)s add-on license", "%(num)s add-on licenses",
                                  c.addon_quantity))
        return _("From %(date)s: %(what)s.", date=format_day(self.effective_on),
                 what=", ".join(str(p) for p in parts))
