"""What the plan-change wizard offers, and what it calls things: intervals, survey
reasons, the plans a subscription may move to, the units a plan counts."""
from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

try:  # WTForms 3.3 deprecates (value, label) tuples as choices
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)

from ..billing.changes import family
from ..models import Plan
from ..sqlcache import Compiled, columns, model_of
from ..statuses import Interval, PlanKind

INTERVAL_CHOICES = ((Interval.MONTHLY, _l("Monthly")), (Interval.ANNUAL, _l("Annual")))


def choices(pairs):
    """WTForms choices of (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def reason_choices():
    """The survey's reasons (CHG-2 step 2), labelled in the request's language."""
    return (("price", _l("It costs too much")),
            ("team_size", _l("Our team changed size")),
            ("features", _l("Features: missing, or needed")),
            ("competitor", _l("We are moving to another product")),
            ("seasonal", _l("A seasonal or temporary need")),
            ("other", _l("Another reason (tell us below)")))


_PLAN = columns(Plan)
_OFFERED = Compiled(lambda plan_id: Plan.select(*_PLAN).where(Plan.available | (Plan.id == plan_id))
                    .order_by(Plan.rank, Plan.name), 1)  # compiled once (portal/sqlcache.py)


def offered_plans(sub) -> list:
    """Plans this subscription may move to: its own family, still offered (or its own).
    Read once per request (kept in ``g``): the form's choices, the plan asked for and the
    plan cards all come from it."""
    kept = g.get("portal_offered_plans")
    if kept is None or kept[0] != (sub.id, sub.plan_id):
        plans = [model_of(Plan, _PLAN, row) for row in _OFFERED.rows(sub.plan_id)]
        kept = g.portal_offered_plans = ((sub.id, sub.plan_id),
                                         [p for p in plans if family(p) == family(sub.plan)])
    return kept[1]


def plan_choices(sub):
    """The form's choices of ``offered_plans``."""
    return choices((p.code, p.name) for p in offered_plans(sub))


def unit_label(plan) -> str:
    """What a plan counts, in words."""
    return {PlanKind.SEAT: _("users"), PlanKind.DEVICE: _("devices"),
            PlanKind.LOCATION: _("location subscriptions")}[plan.kind]


def interval_label(interval: str) -> str:
    """An interval's label ("Monthly")."""
    return str(dict(INTERVAL_CHOICES)[interval])
