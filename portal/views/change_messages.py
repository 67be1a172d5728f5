"""What the plan-change wizard says: the rule errors of portal/billing and the refusals
of an order or quote in words, a placed order, a quote line, a scheduled change."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l

from ..billing.changes import ONE_DAY, family
from ..i18n import date_filter, money_filter
from ..statuses import ChangeKind
from .change_choices import interval_label, unit_label

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


def describe_line(line) -> str:
    """A quote line's text, stored with the quote (it never changes afterwards)."""
    if line.key == "addon":
        return _("Add-on licenses, %(interval)s", interval=interval_label(line.interval).lower())
    return _("%(plan)s, %(interval)s: %(unit)s", plan=line.plan.name,
             interval=interval_label(line.interval).lower(), unit=unit_label(line.plan))


def placed_message(order) -> str:
    """What the flash and the admins' notification say about a placed order."""
    day = format_day(order.effective_on)
    if order.change == ChangeKind.UPGRADE:
        return _("Your change to %(plan)s is active now; %(amount)s was charged.",
                 plan=order.plan.name, amount=money_filter(order.due_now))
    if order.change == ChangeKind.DOWNGRADE and order.applied_now:
        return _("Your users and add-on licenses are reduced now; the new price applies "
                 "from %(date)s.", date=day)
    if order.change == ChangeKind.DOWNGRADE:
        return _("Your downgrade takes effect at the renewal on %(date)s.", date=day)
    if order.change == ChangeKind.INTERVAL:
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
