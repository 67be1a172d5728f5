"""The operator console's plans page (rules CAT-1..CAT-3): the catalogue, a new plan, a
plan's details, a new price version (its reach on existing subscriptions chosen by the
operator) and retiring. Every change goes through portal.catalogue, as the file does."""
from __future__ import annotations

import peewee as pw
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField, DecimalField, IntegerField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ... import clock
from ...catalogue import CURRENCIES, CatalogueError, Prices, add_price_version, save_plan
from ...forms import Form
from ...models import Plan, PriceVersion, Subscription
from ...statuses import PlanKind, SubscriptionStatus
from ..change_choices import choices
from . import bp

KIND_CHOICES = ((PlanKind.SEAT.value, _l("Users (seats)")),
                (PlanKind.DEVICE.value, _l("Devices")),
                (PlanKind.LOCATION.value, _l("Locations")))
REACH_CHOICES = (("notice", _l("Existing subscriptions at their first renewal after a notice")),
                 ("date", _l("Existing subscriptions at their first renewal from a date")),
                 ("never", _l("Never for existing subscriptions (grandfathered)")))
PRICE = dict(places=2, validators=[InputRequired(), NumberRange(min=0, max=1_000_000)])


class PlanForm(Form):
    """A plan's details (its code only when it is created)."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=50),
                                               Regexp(r"^[a-z0-9][a-z0-9_-]*$", message=_l(
                                                   "Lower-case letters, digits, - and _ only."))])
    plan_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    counts = SelectField(_l("What it counts"), choices=choices(KIND_CHOICES))
    rank = IntegerField(_l("Rank (higher is an upgrade)"), default=1,
                        validators=[InputRequired(), NumberRange(min=0, max=1000)])
    trial_days = IntegerField(_l("Trial days"), default=0,
                              validators=[InputRequired(), NumberRange(min=0, max=365)])


class PriceForm(Form):
    """One currency's prices; a change is a new version (CAT-2)."""

    currency = SelectField(_l("Currency"), choices=choices((c, c) for c in CURRENCIES))
    monthly = DecimalField(_l("Monthly price per unit"), **PRICE)
    annual = DecimalField(_l("Annual price per unit"), **PRICE)
    addon_monthly = DecimalField(_l("Monthly price per add-on license"), default=0, **PRICE)
    addon_annual = DecimalField(_l("Annual price per add-on license"), default=0, **PRICE)
    reach = RadioField(_l("Existing subscriptions"), choices=choices(REACH_CHOICES),
                       default="notice")
    notice_days = IntegerField(_l("Notice (days)"), default=30,
                               validators=[Optional(), NumberRange(min=0, max=730)])
    existing_from = DateField(_l("From"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        """The fields, then a date when "from a date" is chosen (Optional() would stop a
        field validator on an empty date)."""
        ok = super().validate(extra_validators)
        if self.reach.data == "date" and not self.existing_from.data \
                and not self.existing_from.errors:
            self.existing_from.errors = [*self.existing_from.errors, _("Give the date.")]
            ok = False
        return ok

    def prices(self) -> Prices:
        return Prices(self.currency.data, self.monthly.data, self.annual.data,
                      self.addon_monthly.data, self.addon_annual.data)

    def reaches_existing_from(self):
        """CAT-2: when the new version reaches existing subscriptions; None: never."""
        import datetime as dt

        if self.reach.data == "never":
            return None
        if self.reach.data == "date":
            return self.existing_from.data
        return clock.today() + dt.timedelta(days=self.notice_days.data or 0)


def plan_rows():
    """Every plan with its active subscriptions and its newest version per currency."""
    counts = dict(Subscription.select(Subscription.plan, pw.fn.COUNT(Subscription.id))
                  .where(Subscription.status == SubscriptionStatus.ACTIVE)
                  .group_by(Subscription.plan).tuples())
    newest: dict[int, dict[str, PriceVersion]] = {}
    for v in PriceVersion.select().order_by(PriceVersion.number):
        newest.setdefault(v.plan_id, {})[v.currency] = v
    return [{"plan": p, "subscribers": counts.get(p.id, 0),
             "prices": sorted(newest.get(p.id, {}).values(), key=lambda v: v.currency)}
            for p in Plan.select().order_by(Plan.available.desc(), Plan.rank, Plan.code)]


@bp.route("/plans/")
def plans():
    """The catalogue: every plan, what it counts, its prices and subscribers."""
    return render_template("operator/plans.html", rows=plan_rows())


@bp.route("/plans/new", methods=["GET", "POST"])
def new_plan():
    """A new plan with its first prices in one currency."""
    form, price = PlanForm(), PriceForm(prefix="price")
    if request.method == "POST" and form.validate() & price.validate():
        if Plan.select().where(Plan.code == form.code.data).exists():
            form.code.errors.append(_("A plan already has this code."))
        else:
            with Plan._meta.database.atomic():
                plan, _said = save_plan(form.code.data, name=form.plan_name.data,
                                        kind=form.counts.data, rank=form.rank.data,
                                        trial_days=form.trial_days.data, actor=current_user)
                add_price_version(plan, price.prices(), existing_from=None, actor=current_user)
            flash(_("Plan %(code)s created.", code=plan.code), "success")
            return redirect(url_for(".plan", plan_id=plan.id))
    return render_template("operator/plan_new.html", form=form, price=price), \
        422 if request.method == "POST" else 200


@bp.route("/plans/<int:plan_id>", methods=["GET", "POST"])
def plan(plan_id):
    """A plan: its details, its price versions, a new price, retire or offer again."""
    plan = Plan.get_or_none(Plan.id == plan_id) or abort(404)
    form = PlanForm(prefix="plan", obj=None, data={
        "code": plan.code, "plan_name": plan.name, "counts": plan.kind, "rank": plan.rank,
        "trial_days": plan.trial_days}) if request.method == "GET" else PlanForm(prefix="plan")
    price = PriceForm(prefix="price")
    status = 200
    if request.method == "POST":
        form.code.data = plan.code  # never changes
        if form.validate():
            try:
                save_plan(plan.code, name=form.plan_name.data, kind=form.counts.data,
                          rank=form.rank.data, trial_days=form.trial_days.data,
                          available=plan.available, actor=current_user)
                flash(_("Plan %(code)s saved.", code=plan.code), "success")
                return redirect(url_for(".plan", plan_id=plan.id))
            except CatalogueError:
                form.counts.errors.append(_("This plan has subscriptions: what it counts "
                                            "cannot change. Make a new plan."))
        status = 422
    return plan_page(plan, form, price, status)


def plan_page(plan, form, price, status=200):
    versions = list(PriceVersion.select().where(PriceVersion.plan == plan)
                    .order_by(PriceVersion.currency, PriceVersion.number.desc()))
    return render_template("operator/plan.html", plan=plan, form=form, price=price,
                           versions=versions, today=clock.today()), status


@bp.route("/plans/<int:plan_id>/prices", methods=["POST"])
def plan_prices(plan_id):
    """A new price version (CAT-2): new subscriptions at once, existing ones as chosen."""
    plan = Plan.get_or_none(Plan.id == plan_id) or abort(404)
    price = PriceForm(prefix="price")
    if price.validate():
        version = add_price_version(plan, price.prices(),
                                    existing_from=price.reaches_existing_from(),
                                    actor=current_user)
        flash(_("%(currency)s prices: version %(number)s.", currency=version.currency,
                number=version.number), "success")
        return redirect(url_for(".plan", plan_id=plan.id))
    form = PlanForm(prefix="plan", data={"code": plan.code, "plan_name": plan.name,
                                         "counts": plan.kind, "rank": plan.rank,
                                         "trial_days": plan.trial_days})
    return plan_page(plan, form, price, 422)


@bp.route("/plans/<int:plan_id>/availability", methods=["POST"])
def plan_availability(plan_id):
    """Retire a plan (CAT-3: it keeps its subscribers, takes no new ones) or offer it again."""
    plan = Plan.get_or_none(Plan.id == plan_id) or abort(404)
    offer = request.form.get("available") == "1"
    save_plan(plan.code, name=plan.name, kind=plan.kind, rank=plan.rank,
              trial_days=plan.trial_days, available=offer, actor=current_user)
    flash(_("Plan %(code)s is offered again.", code=plan.code) if offer else
          _("Plan %(code)s is retired: its subscribers keep it.", code=plan.code), "success")
    return redirect(url_for(".plan", plan_id=plan.id))
